//! The playbook sweep (`POST /sweeps/playbooks?now=`, the `playbooks` function's schedule): for
//! every account and every playbook whose audience it is in, the trigger's due episode (time
//! triggers, and alerts raised within the catch-up window) becomes its actions, each exactly once
//! through the outbox (the report records of the outbox table, keys `playbook/…`).
//!
//! An email, per contact: skipped for good when the contact unsubscribed or SES suppresses the
//! address (recorded `skipped` with the reason); deferred — not recorded, so a later sweep sends
//! it — in quiet hours (the account's time zone) or over the frequency cap; else recorded, the
//! cap mark written on the account, then sent through SES and recorded `sent` with SES's message
//! id. Crash window, as for Slack: after SES accepted the message and before the `sent` write, a
//! retry finds the effect `attempting` and sends again (SES has no lookup by our reference) — one
//! duplicate at most, in the window of one DynamoDB write. The cap mark written before the send
//! keeps even that retry inside the cap's arithmetic. A transient SES error leaves the record
//! pending: the next sweep tries again. Dry run: the record says what would be sent, nothing is.
//!
//! An in-app webhook: recorded, then queued; the queue's consumer delivers it with retries
//! ([`super::inapp`]). Slack and CRM-task actions are the trigger alert's own note and task,
//! delivered by the dispatcher: the record names the alert.

use super::templates::{self, LOCALES};
use super::unsubscribe::UnsubscribeTokens;
use crate::app::ports::delivery::DeliveryError;
use crate::app::ports::email::{EmailPort, InAppMessage, InAppQueue, OutgoingEmail};
use crate::app::ports::outbox::{EffectState, EffectStatus, NotificationStatus};
use crate::app::ports::portfolio::{ReportOutbox, ReportRecord};
use crate::app::ports::queue::QueueError;
use crate::app::ports::store::{AccountLister, AccountStore, StoreError};
use crate::app::settings::Settings;
use crate::domain::account::{AccountRecord, StoredAccount};
use crate::domain::change::AccountChange;
use crate::domain::playbook::{self, attr, Action, Episode, Playbook};
use crate::domain::time;
use serde::Serialize;
use serde_json::{json, Value};

/// Outbox keys of playbook actions start with this.
pub const KEY_PREFIX: &str = "playbook/";

#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// What the sweep works with.
pub struct PlaybookPorts<'a> {
    pub lister: &'a dyn AccountLister,
    pub accounts: &'a dyn AccountStore,
    pub outbox: &'a dyn ReportOutbox,
    /// SES; without it emails stay pending in the outbox.
    pub email: Option<&'a dyn EmailPort>,
    pub inapp: &'a dyn InAppQueue,
    pub tokens: &'a UnsubscribeTokens,
    /// `FORESIGHT_PUBLIC_URL`: the base of unsubscribe links.
    pub public_url: &'a str,
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlaybookSummary {
    pub accounts: u64,
    pub episodes: u64,
    pub emails_sent: u64,
    pub emails_kept: u64,
    pub dry_run: u64,
    pub skipped: u64,
    pub deferred_quiet_hours: u64,
    pub deferred_cap: u64,
    pub failed: u64,
    pub retry_later: u64,
    pub webhooks_queued: u64,
    pub via_alert: u64,
    pub already_done: u64,
}

/// Runs every playbook over every account as of `now`.
pub async fn sweep(ports: &PlaybookPorts<'_>, settings: &Settings, now: i64) -> Result<PlaybookSummary, PlaybookError> {
    let mut summary = PlaybookSummary::default();
    if settings.playbooks.playbooks.is_empty() {
        return Ok(summary);
    }
    for mut stored in ports.lister.list().await? {
        summary.accounts += 1;
        let record = settings.record(&stored, now);
        for playbook in &settings.playbooks.playbooks {
            if !playbook.applies_to(&record) {
                continue;
            }
            let Some(episode) = playbook.due_episode(&stored, &record, now) else { continue };
            summary.episodes += 1;
            for (index, action) in playbook.actions.iter().enumerate() {
                let step = Step { playbook, episode: &episode, index, record: &record };
                act(ports, settings, &mut stored, &step, action, now, &mut summary).await?;
            }
        }
    }
    tracing::info!(?summary, "playbook sweep");
    Ok(summary)
}

/// One action of one episode of one playbook for one account.
struct Step<'a> {
    playbook: &'a Playbook,
    episode: &'a Episode,
    index: usize,
    record: &'a AccountRecord,
}

impl Step<'_> {
    fn key(&self) -> String {
        format!("{KEY_PREFIX}{}/{}/{}/{}", self.record.account_id, self.playbook.name, self.episode.key, self.index)
    }

    fn view(&self, action: &Action) -> Value {
        json!({
            "channel": action.kind(),
            "account_id": self.record.account_id,
            "playbook": self.playbook.name,
            "episode": self.episode.key,
            "dry_run": self.playbook.dry_run,
        })
    }
}

async fn act(
    ports: &PlaybookPorts<'_>,
    settings: &Settings,
    stored: &mut StoredAccount,
    step: &Step<'_>,
    action: &Action,
    now: i64,
    summary: &mut PlaybookSummary,
) -> Result<(), PlaybookError> {
    match action {
        Action::Email { to, template } => {
            let contacts = playbook::contacts(&stored.attributes);
            for contact in playbook::recipients(&contacts, *to) {
                email(ports, settings, stored, step, template, contact, now, summary).await?;
            }
        }
        Action::Webhook { url } => {
            let key = step.key();
            let body = json!({
                "type": "playbook.action",
                "account_id": step.record.account_id,
                "playbook": step.playbook.name,
                "episode": step.episode.key,
                "account": {
                    "name": step.record.name,
                    "segment": step.record.segment,
                    "lifecycle": step.record.lifecycle,
                    "band": playbook::band_of(step.record),
                },
            })
            .to_string();
            let mut view = step.view(action);
            view["url"] = json!(url);
            view["body"] = json!(body);
            let recorded = ports.outbox.record_report(&key, &view, now).await?;
            if step.playbook.dry_run {
                ports.outbox.finish_report(&key, NotificationStatus::Sent).await?;
                summary.dry_run += 1;
            } else if recorded.status.is_done() {
                summary.already_done += 1;
            } else {
                ports.inapp.enqueue_inapp(&InAppMessage { key, url: url.clone(), body }).await?;
                summary.webhooks_queued += 1;
            }
        }
        Action::Slack | Action::CrmTask => {
            let mut view = step.view(action);
            view["via_alert"] = json!(format!("{}/{}", step.record.account_id, step.episode.key));
            let key = step.key();
            let recorded = ports.outbox.record_report(&key, &view, now).await?;
            if !recorded.status.is_done() {
                ports.outbox.finish_report(&key, NotificationStatus::Sent).await?;
            }
            summary.via_alert += 1;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn email(
    ports: &PlaybookPorts<'_>,
    settings: &Settings,
    stored: &mut StoredAccount,
    step: &Step<'_>,
    template: &str,
    contact: &playbook::ContactView,
    now: i64,
    summary: &mut PlaybookSummary,
) -> Result<(), PlaybookError> {
    let email_settings = &settings.playbooks.email;
    let key = format!("{}/{}", step.key(), contact.key);
    let locale = playbook::locale_for(&contact.contact, &LOCALES, &email_settings.locale_default).to_owned();
    let mut view = step.view(&Action::Email { to: playbook::Recipients::All, template: template.into() });
    view["to"] = json!(contact.contact.email);
    view["role"] = json!(contact.contact.role);
    view["template"] = json!(template);
    view["locale"] = json!(locale);

    // Consent first: an unsubscribed contact is never mailed again, whatever else holds.
    let suppressed = match (contact.unsubscribed_at.is_some(), ports.email) {
        (true, _) => Some("unsubscribed"),
        (false, Some(port)) if !step.playbook.dry_run => match port.is_suppressed(&contact.contact.email).await {
            Ok(true) => Some("on the SES suppression list (bounced or complained)"),
            Ok(false) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the SES suppression list; SES still drops suppressed addresses");
                None
            }
        },
        _ => None,
    };
    if let Some(reason) = suppressed {
        view["skipped"] = json!(reason);
        let recorded = ports.outbox.record_report(&key, &view, now).await?;
        if !recorded.status.is_done() && recorded.report.get("skipped").is_some() {
            ports.outbox.finish_report(&key, NotificationStatus::Sent).await?;
            summary.skipped += 1;
        } else if !recorded.status.is_done() {
            // Recorded for sending earlier and not sent yet: the contact left meanwhile.
            let state = effect(EffectStatus::Failed, 1, None, Some(reason.to_owned()), now);
            ports.outbox.record_report_effect(&key, "email", &state).await?;
            ports.outbox.finish_report(&key, NotificationStatus::Failed).await?;
            summary.skipped += 1;
        } else {
            summary.already_done += 1;
        }
        return Ok(());
    }
    let tz = playbook::time_zone(stored);
    if email_settings.quiet_hours.is_some_and(|q| q.is_quiet(tz, now)) {
        summary.deferred_quiet_hours += 1;
        return Ok(());
    }
    if !email_settings.caps.allow(stored, &contact.key, now) {
        summary.deferred_cap += 1;
        return Ok(());
    }
    let unsubscribe_url = format!(
        "{}/unsubscribe?token={}",
        ports.public_url.trim_end_matches('/'),
        ports.tokens.token(&step.record.account_id, &contact.key)
    );
    let context =
        templates::context(step.record, &contact.contact, &email_settings.product_name, &unsubscribe_url, now);
    let rendered = email_settings.templates.render(template, &locale, &context);
    if let Ok(r) = &rendered {
        view["subject"] = json!(r.subject);
    }
    let recorded = ports.outbox.record_report(&key, &view, now).await?;
    if recorded.status.is_done() {
        summary.already_done += 1;
        return Ok(());
    }
    if step.playbook.dry_run {
        ports.outbox.finish_report(&key, NotificationStatus::Sent).await?;
        summary.dry_run += 1;
        return Ok(());
    }
    let Some(port) = ports.email else {
        summary.emails_kept += 1;
        return Ok(());
    };
    let before = recorded.effects.get("email");
    if before.is_some_and(EffectState::is_sent) {
        ports.outbox.finish_report(&key, NotificationStatus::Sent).await?;
        summary.already_done += 1;
        return Ok(());
    }
    let attempts = before.map_or(0, |s| s.attempts) + 1;
    let rendered = match rendered {
        Ok(rendered) => rendered,
        Err(reason) => {
            ports
                .outbox
                .record_report_effect(&key, "email", &effect(EffectStatus::Failed, attempts, None, Some(reason), now))
                .await?;
            ports.outbox.finish_report(&key, NotificationStatus::Failed).await?;
            summary.failed += 1;
            return Ok(());
        }
    };
    // The cap mark before the send: a crash after it errs on sending less, never more.
    if before.is_none() {
        let mark = format!("{}{}#{now}", attr::EMAILED, contact.key);
        ports.accounts.apply(&AccountChange::new(&stored.account_id).with_fact(mark.clone(), json!(1))).await?;
        stored.attributes.insert(mark, json!(1));
    }
    if !ports
        .outbox
        .record_report_effect(&key, "email", &effect(EffectStatus::Attempting, attempts, None, None, now))
        .await?
    {
        summary.already_done += 1;
        return Ok(());
    }
    let message = OutgoingEmail {
        from: email_settings.from.clone().unwrap_or_default(),
        to: contact.contact.email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        locale,
        unsubscribe_url,
        reference: key.clone(),
    };
    match port.send(&message).await {
        Ok(done) => {
            let state = effect(EffectStatus::Sent, attempts, Some(done.remote_id), None, now);
            ports.outbox.record_report_effect(&key, "email", &state).await?;
            ports.outbox.finish_report(&key, NotificationStatus::Sent).await?;
            summary.emails_sent += 1;
        }
        Err(DeliveryError::Permanent(reason)) => {
            ports
                .outbox
                .record_report_effect(&key, "email", &effect(EffectStatus::Failed, attempts, None, Some(reason), now))
                .await?;
            ports.outbox.finish_report(&key, NotificationStatus::Failed).await?;
            summary.failed += 1;
        }
        Err(other) => {
            let state = effect(EffectStatus::Attempting, attempts, None, Some(other.to_string()), now);
            ports.outbox.record_report_effect(&key, "email", &state).await?;
            summary.retry_later += 1;
        }
    }
    Ok(())
}

fn effect(
    status: EffectStatus,
    attempts: u32,
    remote_id: Option<String>,
    reason: Option<String>,
    now: i64,
) -> EffectState {
    EffectState { status, remote_id, attempts, reason, at: time::at(now) }
}

/// A playbook action as `GET /outbox` shows it: what was done (`channel`, `to`, `template`, ...)
/// with its `status` (`pending`, `sent`, `failed`, `skipped` with the reason, `dry_run`,
/// `via_alert`), the provider's `remote_id` and the last `reason`.
pub fn action_view(record: &ReportRecord) -> Value {
    let mut view = record.report.clone();
    let channel_effect = record.effects.values().next();
    let status = if view.get("skipped").is_some() {
        "skipped".to_owned()
    } else if view.get("via_alert").is_some() {
        "via_alert".to_owned()
    } else if view.get("dry_run").and_then(Value::as_bool) == Some(true) && record.status.is_done() {
        "dry_run".to_owned()
    } else {
        record.status.as_str().to_owned()
    };
    // A report is an object; one that is not (an item written by hand) is shown, not indexed.
    if !view.is_object() {
        view = json!({ "report": view });
    }
    view["key"] = json!(record.key);
    view["status"] = json!(status);
    view["created_at"] = json!(record.created_at);
    if let Some(state) = channel_effect {
        view["remote_id"] = json!(state.remote_id);
        view["attempts"] = json!(state.attempts);
        view["reason"] = json!(state.reason);
    }
    if let Some(reason) = view.get("skipped").cloned() {
        view["reason"] = reason;
    }
    view
}

/// Unsubscribes a contact for good (`un#<contact key>` on the account). False when the account
/// or the contact is unknown.
pub async fn unsubscribe(
    accounts: &dyn AccountStore,
    account_id: &str,
    contact_key: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(stored) = accounts.get(account_id).await? else { return Ok(false) };
    if !stored.attributes.contains_key(&format!("{}{contact_key}", attr::CONTACT)) {
        return Ok(false);
    }
    if playbook::unsubscribed_at(&stored.attributes, contact_key).is_none() {
        let change =
            AccountChange::new(account_id).with_fact(format!("{}{contact_key}", attr::UNSUBSCRIBED), json!(now));
        accounts.apply(&change).await?;
    }
    Ok(true)
}
