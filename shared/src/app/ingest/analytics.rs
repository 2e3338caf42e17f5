//! Product-analytics webhook (Segment spec): verify, parse, aggregate the batch per
//! (account, day), write one usage item per pair — shared by `functions/analytics-webhook` and
//! `foresight dev`.

use super::{check_id, identity, IngestError, IngestReport, SourceMark, WebhookResponse, WEBHOOK_DEADLINE};
use crate::app::ports::store::{AccountStore, LinkSource, LinkStore, SourceRegistry, StoreError, UsageStore};
use crate::app::ports::usage_backlog::{HeldUsage, UsageBuffer};
use crate::domain::account::attr;
use crate::domain::change::AccountChange;
use crate::domain::connection::Source;
use crate::domain::survey::SurveyResponse;
use crate::domain::usage::{AnalyticsConfig, UsageDay};
use crate::sources::segment::{self, signature, Aggregate, GroupCall, Message, UsageDelta};
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
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
    marks: ConnectionMarks,
    /// Set: usage is held for the usage fold instead of written now.
    usage_buffer: Option<Arc<dyn UsageBuffer>>,
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
    /// The batch's usage was held for the usage fold (`accounts` is then empty).
    pub held: bool,
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
            marks: ConnectionMarks::default(),
            usage_buffer: None,
        }
    }

    /// Holds each batch's usage in `buffer` for the usage fold instead of writing it.
    pub fn with_usage_buffer(mut self, buffer: Arc<dyn UsageBuffer>) -> Self {
        self.usage_buffer = Some(buffer);
        self
    }

    /// Marks product analytics (and surveys, for the NPS event) connected in this deployment's
    /// registry on the first batch of the process.
    pub fn with_registry(mut self, registry: Arc<dyn SourceRegistry>) -> Self {
        self.marks = ConnectionMarks::new(registry);
        self
    }

    /// Whether a shared secret or a bearer token is set (without either, 503).
    pub fn is_configured(&self) -> bool {
        self.secret.is_some() || self.bearer_token.is_some()
    }

    fn authenticate(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), IngestError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match (&self.bearer_token, header("authorization"), &self.secret) {
            (Some(token), Some(auth), _) => {
                let given = auth.strip_prefix("Bearer ").unwrap_or("");
                let matches = given.len() == token.len()
                    && bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), token.as_bytes()));
                return if matches { Ok(()) } else { Err(IngestError::Unauthorized("bearer token rejected".into())) };
            }
            // Bearer-only: a request without the header is the sender's mistake, not a missing
            // secret of ours (a 503 would have it retried forever).
            (Some(_), None, None) => {
                return Err(IngestError::Unauthorized("missing Authorization: Bearer <token>".into()));
            }
            _ => {}
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
        let usage = usage_writes(usage, self.usage_buffer.as_deref());
        ingest(accounts, links, usage, &messages, &self.config, &self.marks, now).await
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
        let work = async {
            let handled = self.handle(accounts, links, usage, headers, body, now).await;
            respond_batch(
                SOURCE,
                handled,
                |o| json!({"received": true, "messages": o.messages, "ignored": o.ignored, "accounts": o.accounts}),
            )
        };
        super::within_deadline(SOURCE, WEBHOOK_DEADLINE, work).await
    }
}

/// Held in `buffer` when there is one, else written to `store` now.
pub fn usage_writes<'a>(store: &'a dyn UsageStore, buffer: Option<&'a dyn UsageBuffer>) -> UsageWrites<'a> {
    buffer.map_or(UsageWrites::Now(store), UsageWrites::Held)
}

/// The name the analytics webhook is logged and counted under.
const SOURCE: &str = "segment";

/// Logs a batch's result and encodes the answer, the body of a 200 made by `body`.
pub fn respond_batch(
    source: &'static str,
    handled: Result<BatchOutcome, IngestError>,
    body: impl FnOnce(&BatchOutcome) -> serde_json::Value,
) -> WebhookResponse {
    match handled {
        Ok(o) => {
            tracing::info!(source, messages = o.messages, accounts = o.accounts.len(), held = o.held, "batch accepted");
            let report = IngestReport {
                source,
                event_type: "batch".into(),
                events: (o.messages - o.ignored) as u64,
                ..Default::default()
            };
            let mut answer = body(&o);
            if o.held {
                answer["usage"] = json!("held for the usage fold");
            }
            WebhookResponse::ok(answer, report)
        }
        Err(err) => super::respond(source, Err(err)),
    }
}

/// Refuses a batch whose ids would not fit a storage key, before anything is written.
fn check_ids(batch: &Aggregate) -> Result<(), IngestError> {
    for call in &batch.group_calls {
        check_id("groupId", Some(&call.group))?;
        check_id("userId", call.user.as_deref())?;
        check_id("a group trait naming a Stripe customer", call.stripe_customer_id.as_deref())?;
        check_id("a group trait naming a Zendesk organization", call.zendesk_organization_id.as_deref())?;
    }
    for (group, _) in batch.usage.keys() {
        check_id("context.groupId", group.as_deref())?;
    }
    for (user, _) in batch.ungrouped_users.keys() {
        check_id("userId", Some(user))?;
    }
    Ok(())
}

/// Where a batch's usage goes.
#[derive(Clone, Copy)]
pub enum UsageWrites<'a> {
    /// Written now: one write per (account, day) of the batch.
    Now(&'a dyn UsageStore),
    /// Held for the usage fold (`usage_fold`), which writes each (account, day) once a fold.
    Held(&'a dyn UsageBuffer),
}

/// Ingests parsed messages, from the webhook or the HTTP Tracking API alike: the links that
/// `group` calls establish, contacts and survey answers, and the usage — at most one write per
/// (account, day) of the batch, or held whole for the usage fold.
pub async fn ingest(
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    usage: UsageWrites<'_>,
    messages: &[Message<'_>],
    config: &AnalyticsConfig,
    marks: &ConnectionMarks,
    now: i64,
) -> Result<BatchOutcome, IngestError> {
    let mut batch = segment::aggregate(messages, config, now);
    check_ids(&batch)?;

    // Group calls first: later messages of the same batch may rely on them. One user's calls in
    // order (the last one names their group), different users' a few at a time.
    let mut by_user: BTreeMap<Option<&String>, Vec<&GroupCall>> = BTreeMap::new();
    for call in &batch.group_calls {
        by_user.entry(call.user.as_ref()).or_default().push(call);
    }
    futures::stream::iter(by_user.into_values().map(Ok::<_, StoreError>))
        .try_for_each_concurrent(CONCURRENT_STORE_CALLS, |calls| async move {
            for call in calls {
                apply_group_call(accounts, links, call).await?;
            }
            Ok(())
        })
        .await?;
    // Each group's account learns that analytics knows it (a group call creates no usage day),
    // so its silence then scores as silence: one write per group of the batch.
    let called: BTreeSet<&String> = batch.group_calls.iter().map(|call| &call.group).collect();
    futures::stream::iter(called.into_iter().map(Ok::<_, StoreError>))
        .try_for_each_concurrent(CONCURRENT_STORE_CALLS, |group| async move {
            let Some(account) = account_of_group(links, group).await? else { return Ok(()) };
            let fact = serde_json::Value::String(group.clone());
            accounts.apply(&AccountChange::new(account).with_fact(attr::ANALYTICS_GROUP, fact)).await?;
            Ok(())
        })
        .await?;

    // Contacts (identify traits of a role a playbook emails) join the user's account, or wait
    // on the user's provisional record until a group call links it.
    let mut provisional_users: BTreeSet<String> = BTreeSet::new();
    for call in &batch.identify_calls {
        // An erased account (its tombstone stands) records nothing.
        let (_, Some(account)) = user_account(links, call.user.clone()).await? else { continue };
        if account == identity::provisional_account_id(LinkSource::AnalyticsUser, &call.user) {
            provisional_users.insert(call.user.clone());
        }
        if let Some((name, value)) = crate::domain::playbook::contact_fact(&call.contact) {
            accounts.apply(&AccountChange::new(account).with_fact(name, value)).await?;
        }
    }

    // Usage: written now, one write per (account, day), or held whole for the usage fold.
    let held = !batch.usage.is_empty() || !batch.ungrouped_users.is_empty();
    let per_account = match usage {
        UsageWrites::Now(usage) => {
            let grouped = batch.usage.iter().filter_map(|((group, day), delta)| Some((group.as_deref()?, *day, delta)));
            let ungrouped = batch.ungrouped_users.iter().map(|((user, day), delta)| (user.as_str(), *day, delta));
            write_usage(links, usage, grouped.collect(), ungrouped.collect(), &mut provisional_users, now).await?
        }
        UsageWrites::Held(buffer) => {
            let usage = HeldUsage {
                grouped: std::mem::take(&mut batch.usage)
                    .into_iter()
                    .filter_map(|((group, day), delta)| Some((group?, day, delta)))
                    .collect(),
                ungrouped: std::mem::take(&mut batch.ungrouped_users)
                    .into_iter()
                    .map(|((user, day), delta)| (user, day, delta))
                    .collect(),
                resolved: Vec::new(),
            };
            if !usage.is_empty() {
                buffer.hold(&usage).await?;
            }
            BTreeMap::new()
        }
    };
    let mut outcome = BatchOutcome {
        messages: messages.len(),
        ignored: batch.ignored,
        accounts: BTreeMap::new(),
        surveys: Vec::new(),
        held: held && matches!(usage, UsageWrites::Held(_)),
    };
    for (account, day) in per_account.keys() {
        outcome.accounts.entry(account.clone()).or_default().push(*day);
    }
    // NPS answers of the survey convention: one fact per response on its account (rare).
    for answer in &batch.surveys {
        let account = match (&answer.group, &answer.user) {
            (Some(group), _) => account_of_group(links, group).await?,
            (None, Some(user)) => {
                let account = user_account(links, user.clone()).await?.1;
                if account == Some(identity::provisional_account_id(LinkSource::AnalyticsUser, user)) {
                    provisional_users.insert(user.clone());
                }
                account
            }
            (None, None) => continue,
        };
        let Some(account) = account else { continue };
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
    settle_provisional(accounts, links, &provisional_users).await?;
    if let Some(since) = batch.earliest.filter(|_| held || !per_account.is_empty() || !batch.group_calls.is_empty()) {
        marks.analytics.mark(Source::Analytics, since).await;
    }
    if let Some(since) = batch.surveys.iter().map(|a| a.at).min() {
        marks.surveys.mark(Source::Surveys, since).await;
    }
    Ok(outcome)
}

/// Marks product analytics (and surveys, for the NPS event) connected in the deployment's
/// registry, once per process; the webhook and the HTTP Tracking API share the convention.
#[derive(Clone, Debug, Default)]
pub struct ConnectionMarks {
    analytics: SourceMark,
    surveys: SourceMark,
}

impl ConnectionMarks {
    pub fn new(registry: Arc<dyn SourceRegistry>) -> Self {
        ConnectionMarks { analytics: SourceMark::new(registry.clone()), surveys: SourceMark::new(registry) }
    }
}

/// Reads and usage writes of one batch in flight at once.
const CONCURRENT_STORE_CALLS: usize = 16;

/// A `group` call: the user belongs to the group's account (what they did before joins it),
/// and the group's traits link other sources' ids to it.
async fn apply_group_call(
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    call: &GroupCall,
) -> Result<(), StoreError> {
    let Some(account) = account_of_group(links, &call.group).await? else { return Ok(()) };
    if let Some(user) = &call.user {
        if links.resolve(LinkSource::AnalyticsUser, user).await?.as_deref() != Some(&call.group) {
            links.link(LinkSource::AnalyticsUser, user, &call.group).await?;
            // Usage the user had before anyone knew their group joins the account.
            let provisional = identity::provisional_account_id(LinkSource::AnalyticsUser, user);
            accounts.merge(&provisional, &account).await?;
        }
    }
    if let Some(tz) = &call.timezone {
        let change = AccountChange::new(account.clone()).with_fact(crate::domain::playbook::attr::TIME_ZONE, json!(tz));
        accounts.apply(&change).await?;
    }
    let traits = [(LinkSource::Stripe, &call.stripe_customer_id), (LinkSource::Zendesk, &call.zendesk_organization_id)];
    for (source, external) in traits {
        if let Some(external) = external {
            if links.resolve(source, external).await?.as_deref() != Some(&account) {
                identity::link_and_merge(accounts, links, source, external, &account).await?;
            }
        }
    }
    Ok(())
}

/// Resolves each (group or user, day) of usage to an account, merges the deltas per (account,
/// day) and writes each pair once, as added at `now`: the webhook's writes for one batch (the
/// first failure fails the batch, which the sender retries). Users resolved to their
/// provisional record join `provisional_users`.
pub(crate) async fn write_usage(
    links: &dyn LinkStore,
    usage: &dyn UsageStore,
    grouped: Vec<(&str, NaiveDate, &UsageDelta)>,
    ungrouped: Vec<(&str, NaiveDate, &UsageDelta)>,
    provisional_users: &mut BTreeSet<String>,
    now: i64,
) -> Result<BTreeMap<(String, NaiveDate), UsageDay>, StoreError> {
    let mut per_account = resolve_usage(links, grouped, ungrouped, provisional_users).await?;
    added_at(&mut per_account, now);
    // The writes are independent (one item each) and idempotent: a few at a time, so that a
    // batch of a few hundred (account, day) pairs answers well inside the webhook deadline.
    futures::stream::iter(per_account.iter().map(Ok::<_, StoreError>))
        .try_for_each_concurrent(CONCURRENT_STORE_CALLS, |((account, day), day_usage)| {
            usage.add_usage(account, *day, day_usage)
        })
        .await?;
    Ok(per_account)
}

/// Stamps each (account, day) as added at `now`: its fingerprints are kept for
/// [`crate::domain::usage::FINGERPRINT_DAYS`] after that.
pub(crate) fn added_at(per_account: &mut BTreeMap<(String, NaiveDate), UsageDay>, now: i64) {
    for day in per_account.values_mut() {
        day.last_added_at = Some(now);
    }
}

/// Writes each (account, day) of `per_account`, a few at a time, all of them whatever fails:
/// the pairs that could not be written, with why (the usage fold holds them again).
pub(crate) async fn write_each(
    usage: &dyn UsageStore,
    per_account: &BTreeMap<(String, NaiveDate), UsageDay>,
) -> Vec<((String, NaiveDate), StoreError)> {
    // The (lazy) futures made first: a stream mapping borrowed pairs by a closure makes a
    // future the compiler cannot prove `Send` for every lifetime, which the Lambda runtime needs.
    let writes: Vec<_> = per_account.iter().map(|(key, day_usage)| write_one(usage, key, day_usage)).collect();
    futures::stream::iter(writes)
        .buffer_unordered(CONCURRENT_STORE_CALLS)
        .filter_map(std::future::ready)
        .collect()
        .await
}

async fn write_one<'a>(
    usage: &'a dyn UsageStore,
    (account, day): &'a (String, NaiveDate),
    day_usage: &'a UsageDay,
) -> Option<((String, NaiveDate), StoreError)> {
    usage.add_usage(account, *day, day_usage).await.err().map(|e| ((account.clone(), *day), e))
}

/// Each (group or user, day) of usage resolved to its account (reading each group's and user's
/// link once, a few at a time) and merged per (account, day); erased accounts' usage dropped.
pub(crate) async fn resolve_usage(
    links: &dyn LinkStore,
    grouped: Vec<(&str, NaiveDate, &UsageDelta)>,
    ungrouped: Vec<(&str, NaiveDate, &UsageDelta)>,
    provisional_users: &mut BTreeSet<String>,
) -> Result<BTreeMap<(String, NaiveDate), UsageDay>, StoreError> {
    let group_ids: BTreeSet<String> = grouped.iter().map(|(group, _, _)| (*group).to_owned()).collect();
    let groups: BTreeMap<String, Option<String>> = futures::stream::iter(group_ids)
        .map(|group| group_account(links, group))
        .buffer_unordered(CONCURRENT_STORE_CALLS)
        .try_collect()
        .await?;
    let user_ids: BTreeSet<String> = ungrouped.iter().map(|(user, _, _)| (*user).to_owned()).collect();
    let users: BTreeMap<String, Option<String>> = futures::stream::iter(user_ids)
        .map(|user| user_account(links, user))
        .buffer_unordered(CONCURRENT_STORE_CALLS)
        .try_collect()
        .await?;
    let mut per_account: BTreeMap<(String, NaiveDate), UsageDay> = BTreeMap::new();
    for (group, day, delta) in grouped {
        // A group of an erased account (its tombstone stands) records nothing.
        let Some(account) = &groups[group] else { continue };
        absorb(per_account.entry((account.clone(), day)).or_default(), delta);
    }
    for (user, day, delta) in ungrouped {
        let Some(account) = &users[user] else { continue };
        if *account == identity::provisional_account_id(LinkSource::AnalyticsUser, user) {
            provisional_users.insert(user.to_owned());
        }
        absorb(per_account.entry((account.clone(), day)).or_default(), delta);
    }
    Ok(per_account)
}

/// What went to a user's provisional record while a concurrent batch's group call linked them
/// joins their account now (the race `identity::settle_provisional` describes).
pub(crate) async fn settle_provisional(
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    users: &BTreeSet<String>,
) -> Result<(), StoreError> {
    futures::stream::iter(users.iter().map(Ok::<_, StoreError>))
        .try_for_each_concurrent(CONCURRENT_STORE_CALLS, |user| async move {
            let provisional = identity::provisional_account_id(LinkSource::AnalyticsUser, user);
            match user_account(links, user.clone()).await? {
                (_, Some(account)) if account != provisional => accounts.merge(&provisional, &account).await.map(drop),
                _ => Ok(()),
            }
        })
        .await
}

/// A response id fit for an attribute name and a dedupe key (no `/` or `#`).
pub fn response_key(id: &str) -> String {
    id.chars().map(|c| if c == '/' || c == '#' { '_' } else { c }).collect()
}

pub(crate) fn absorb(day: &mut UsageDay, delta: &UsageDelta) {
    day.message_ids.extend(delta.message_ids.iter().cloned());
    day.users.extend(delta.users.iter().cloned());
    day.features.extend(delta.features.iter().cloned());
    day.first_value_at.extend(delta.first_value_at.iter().copied());
    // The delta's first and last times: a day's first use and last seen are read from them.
    day.seen_at.extend([delta.first_seen_at, delta.last_seen_at].into_iter().filter(|t| *t > 0));
}

/// `(group, its account)`.
async fn group_account(links: &dyn LinkStore, group: String) -> Result<(String, Option<String>), StoreError> {
    let account = account_of_group(links, &group).await?;
    Ok((group, account))
}

/// `(user, their account)`: their last group's, else (no group call seen yet) the provisional
/// record kept under the user until one links it.
async fn user_account(links: &dyn LinkStore, user: String) -> Result<(String, Option<String>), StoreError> {
    let account = match links.resolve(LinkSource::AnalyticsUser, &user).await? {
        Some(group) => account_of_group(links, &group).await?,
        // An erased user (their account was erased, their tombstone stands) records nothing:
        // usage held from before the erasure must not come back as a provisional record.
        None if links.erased(Some(LinkSource::AnalyticsUser), &user).await? => None,
        None => Some(identity::provisional_account_id(LinkSource::AnalyticsUser, &user)),
    };
    Ok((user, account))
}

/// A group's account: its link, else the group id itself (the product's account id) — unless
/// that account was erased (`None`: its tombstone stands, nothing is recorded for it).
async fn account_of_group(links: &dyn LinkStore, group: &str) -> Result<Option<String>, StoreError> {
    if let Some(account) = links.resolve(LinkSource::Analytics, group).await? {
        return Ok(Some(account));
    }
    let erased = links.erased(Some(LinkSource::Analytics), group).await? || links.erased(None, group).await?;
    if erased {
        tracing::warn!("analytics for an erased account ignored: POST /links to link the group again on purpose");
    }
    Ok((!erased).then(|| group.to_owned()))
}
