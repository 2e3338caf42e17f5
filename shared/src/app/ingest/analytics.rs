//! Product-analytics webhook (Segment spec): verify, parse, aggregate the batch per
//! (account, day), write one usage item per pair — shared by `functions/analytics-webhook` and
//! `foresight dev`.

use super::{identity, IngestError, IngestReport, SourceMark, WebhookResponse};
use crate::app::ports::store::{AccountStore, LinkSource, LinkStore, SourceRegistry, StoreError, UsageStore};
use crate::domain::account::attr;
use crate::domain::change::AccountChange;
use crate::domain::connection::Source;
use crate::domain::survey::SurveyResponse;
use crate::domain::usage::{AnalyticsConfig, UsageDay};
use crate::sources::segment::{self, signature, UsageDelta};
use chrono::NaiveDate;
use http::HeaderMap;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub const SECRET_VAR: &str = "SEGMENT_SHARED_SECRET";
pub const TOKEN_VAR: &str = "SEGMENT_BEARER_TOKEN";
/// Batches of up to 4000 messages: a larger limit than single events.
pub const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;

/// The analytics webhook's configuration, loaded once per cold start.
#[derive(Clone)]
pub struct AnalyticsWebhook {
    secret: Option<String>,
    /// RudderStack cannot sign: a static `Authorization: Bearer <token>` instead, when set.
    bearer_token: Option<String>,
    config: AnalyticsConfig,
    connected: SourceMark,
    surveys_connected: SourceMark,
}

impl std::fmt::Debug for AnalyticsWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsWebhook")
            .field("signed", &self.secret.is_some())
            .field("bearer", &self.bearer_token.is_some())
            .finish_non_exhaustive()
    }
}

/// What a batch did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchOutcome {
    pub messages: usize,
    pub ignored: usize,
    /// Accounts whose usage was written, with the days.
    pub accounts: BTreeMap<String, Vec<NaiveDate>>,
    /// Survey answers (the NPS event) stored, and the accounts they went to.
    pub surveys: Vec<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl AnalyticsWebhook {
    pub fn new(secret: Option<String>, bearer_token: Option<String>, config: AnalyticsConfig) -> Self {
        AnalyticsWebhook {
            secret: non_empty(secret),
            bearer_token: non_empty(bearer_token),
            config,
            connected: SourceMark::default(),
            surveys_connected: SourceMark::default(),
        }
    }

    /// Marks product analytics (and surveys, for the NPS event) connected in this deployment's
    /// registry on the first batch of the process.
    pub fn with_registry(mut self, registry: Arc<dyn SourceRegistry>) -> Self {
        self.connected = SourceMark::new(registry.clone());
        self.surveys_connected = SourceMark::new(registry);
        self
    }

    /// Whether a shared secret or a bearer token is set (without either, 503).
    pub fn is_configured(&self) -> bool {
        self.secret.is_some() || self.bearer_token.is_some()
    }

    fn authenticate(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), IngestError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let (Some(token), Some(auth)) = (&self.bearer_token, header("authorization")) {
            let given = auth.strip_prefix("Bearer ").unwrap_or("");
            let matches = given.len() == token.len()
                && bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), token.as_bytes()));
            return if matches { Ok(()) } else { Err(IngestError::Payload("bearer token rejected".into())) };
        }
        let secret = self.secret.as_deref().ok_or(IngestError::MissingSecret(SECRET_VAR))?;
        signature::verify(header("x-signature"), body, secret).map_err(|e| IngestError::Signature(Box::new(e)))
    }

    /// Handles one delivery: at most one usage write per (account, day) of the batch, plus the
    /// links that `group` calls establish.
    pub async fn handle(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        usage: &dyn UsageStore,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<BatchOutcome, IngestError> {
        if body.len() > MAX_BATCH_BYTES {
            return Err(IngestError::TooLarge(body.len()));
        }
        self.authenticate(headers, body)?;
        let messages = segment::parse(body).map_err(|e| IngestError::Payload(e.to_string()))?;
        let batch = segment::aggregate(&messages, &self.config, now);

        // Group calls first: later messages of the same batch may rely on them. Each group's
        // account learns that analytics knows it (one write per group call's account; a group
        // call creates no usage day), so its silence then scores as silence.
        let mut known: BTreeSet<(String, String)> = BTreeSet::new();
        for call in &batch.group_calls {
            let account = account_of_group(links, &call.group).await?;
            if known.insert((account.clone(), call.group.clone())) {
                let change = AccountChange::new(account.clone())
                    .with_fact(attr::ANALYTICS_GROUP, serde_json::Value::String(call.group.clone()));
                accounts.apply(&change).await?;
            }
            if let Some(user) = &call.user {
                if links.resolve(LinkSource::AnalyticsUser, user).await?.as_deref() != Some(&call.group) {
                    links.link(LinkSource::AnalyticsUser, user, &call.group).await?;
                    // Usage the user had before anyone knew their group joins the account.
                    let provisional = identity::provisional_account_id(LinkSource::AnalyticsUser, user);
                    accounts.merge(&provisional, &account).await?;
                }
            }
            let traits =
                [(LinkSource::Stripe, &call.stripe_customer_id), (LinkSource::Zendesk, &call.zendesk_organization_id)];
            for (source, external) in traits {
                if let Some(external) = external {
                    if links.resolve(source, external).await?.as_deref() != Some(&account) {
                        identity::link_and_merge(accounts, links, source, external, &account).await?;
                    }
                }
            }
        }

        // Resolve each (group or user, day) to an account and merge the deltas per (account, day).
        let mut per_account: BTreeMap<(String, NaiveDate), UsageDay> = BTreeMap::new();
        let mut groups: BTreeMap<String, String> = BTreeMap::new();
        for ((group, day), delta) in &batch.usage {
            let Some(group) = group else { continue };
            if !groups.contains_key(group) {
                groups.insert(group.clone(), account_of_group(links, group).await?);
            }
            absorb(per_account.entry((groups[group].clone(), *day)).or_default(), delta);
        }
        for ((user, day), delta) in &batch.ungrouped_users {
            let account = match links.resolve(LinkSource::AnalyticsUser, user).await? {
                Some(group) => account_of_group(links, &group).await?,
                // No group call seen yet: kept under the user until one links it.
                None => identity::provisional_account_id(LinkSource::AnalyticsUser, user),
            };
            absorb(per_account.entry((account, *day)).or_default(), delta);
        }
        let mut outcome = BatchOutcome {
            messages: messages.len(),
            ignored: batch.ignored,
            accounts: BTreeMap::new(),
            surveys: Vec::new(),
        };
        for ((account, day), day_usage) in &per_account {
            usage.add_usage(account, *day, day_usage).await?;
            outcome.accounts.entry(account.clone()).or_default().push(*day);
        }
        // NPS answers of the survey convention: one fact per response on its account (rare).
        for answer in &batch.surveys {
            let account = match (&answer.group, &answer.user) {
                (Some(group), _) => account_of_group(links, group).await?,
                (None, Some(user)) => match links.resolve(LinkSource::AnalyticsUser, user).await? {
                    Some(group) => account_of_group(links, &group).await?,
                    None => identity::provisional_account_id(LinkSource::AnalyticsUser, user),
                },
                (None, None) => continue,
            };
            let response = SurveyResponse {
                at: answer.at,
                score: answer.score,
                comment: answer.comment.clone(),
                via: "segment".into(),
                form: None,
            };
            let fact = format!("{}seg-{}", attr::SURVEY_RESPONSE, response_key(&answer.id));
            let value = serde_json::to_value(&response).unwrap_or_default();
            accounts.apply(&AccountChange::new(account.clone()).with_fact(fact, value)).await?;
            outcome.surveys.push(account);
        }
        if let Some(since) = batch.earliest.filter(|_| !per_account.is_empty() || !batch.group_calls.is_empty()) {
            self.connected.mark(Source::Analytics, since).await;
        }
        if let Some(since) = batch.surveys.iter().map(|a| a.at).min() {
            self.surveys_connected.mark(Source::Surveys, since).await;
        }
        Ok(outcome)
    }

    pub async fn respond(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        usage: &dyn UsageStore,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> WebhookResponse {
        match self.handle(accounts, links, usage, headers, body, now).await {
            Ok(o) => {
                tracing::info!(
                    source = "segment",
                    messages = o.messages,
                    accounts = o.accounts.len(),
                    "batch accepted"
                );
                let report = IngestReport {
                    source: "segment",
                    event_type: "batch".into(),
                    events: (o.messages - o.ignored) as u64,
                    ..Default::default()
                };
                WebhookResponse {
                    status: 200,
                    body: json!({"received": true, "messages": o.messages, "ignored": o.ignored, "accounts": o.accounts}),
                    report,
                }
            }
            Err(err) => super::respond("segment", Err(err)),
        }
    }
}

/// A response id fit for an attribute name and a dedupe key (no `/` or `#`).
pub fn response_key(id: &str) -> String {
    id.chars().map(|c| if c == '/' || c == '#' { '_' } else { c }).collect()
}

fn absorb(day: &mut UsageDay, delta: &UsageDelta) {
    day.message_ids.extend(delta.message_ids.iter().cloned());
    day.users.extend(delta.users.iter().cloned());
    day.features.extend(delta.features.iter().cloned());
    day.first_value_at.extend(delta.first_value_at.iter().copied());
    if delta.last_seen_at > 0 {
        day.seen_at.insert(delta.last_seen_at);
    }
}

/// A group's account: its link, else the group id itself (the product's account id).
async fn account_of_group(links: &dyn LinkStore, group: &str) -> Result<String, StoreError> {
    Ok(links.resolve(LinkSource::Analytics, group).await?.unwrap_or_else(|| group.to_owned()))
}
