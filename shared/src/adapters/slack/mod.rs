//! Slack: the Block Kit message for an alert, and the two ways to post it: the Web API's
//! `chat.postMessage` (a bot token, any channel the bot is in, returns the message `ts`) and an
//! incoming webhook (one fixed channel, returns `ok`).
//!
//! Spec: `../shared/integrations.md`, section Slack. The traps: `chat.postMessage` reports errors
//! as HTTP 200 with `{"ok": false, "error": ...}`; incoming webhooks report them as plain text with
//! 400/403/404/410; both rate-limit with 429 and `Retry-After`.

pub mod chart;
pub mod digest;

use super::http::{network_error, retry_after_seconds, snippet, status_error, trim_base};
use crate::app::ports::delivery::{one_line, truncate, Delivered, DeliveryError, SlackPort};
use crate::domain::alert::{Alert, Severity};
use crate::domain::money;
use async_trait::async_trait;
use serde_json::{json, Value};

/// Block Kit limits (`integrations.md`); [`check_limits`] enforces them, [`message`] respects them.
pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_TEXT: usize = 3_000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_TEXT: usize = 2_000;
pub const MAX_HEADER_TEXT: usize = 150;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_ACTIONS_ELEMENTS: usize = 25;
/// A context element's text: Slack's general text-object limit.
pub const MAX_CONTEXT_TEXT: usize = 3_000;
/// A button's label and URL.
pub const MAX_BUTTON_TEXT: usize = 75;
pub const MAX_BUTTON_URL: usize = 3_000;
/// The top-level `text`: Slack truncates past 40,000 characters and recommends at most 4,000.
pub const MAX_TEXT: usize = 4_000;
/// The text of all blocks together. Slack refuses more with `msg_blocks_too_long`, a limit the
/// Block Kit reference does not state: messages of markdown blocks failed from 13,297
/// characters, and from 13,172 with a divider among them (slackapi/bolt-js#2509), so the limit
/// counts more than the text. 12,000 keeps a margin under both.
pub const MAX_BLOCKS_TEXT: usize = 12_000;
/// How many health reasons a message lists.
const MAX_REASONS: usize = 5;

/// A message: `text` is the plain fallback (notifications, screen readers), `blocks` the layout.
#[derive(Clone, Debug, PartialEq)]
pub struct SlackMessage {
    pub text: String,
    pub blocks: Vec<Value>,
}

/// Where CRM records open, when the deployment says. Without them a message names the record ids
/// as text (a HubSpot record URL needs the portal id, a Salesforce one the org's domain).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordUrls {
    /// HubSpot portal (hub) id: companies open at `https://app.hubspot.com/contacts/{portal}/record/0-2/{id}`.
    pub hubspot_portal_id: Option<String>,
    /// Salesforce Lightning base (`https://acme.lightning.force.com`): accounts open at
    /// `{base}/lightning/r/Account/{id}/view`.
    pub salesforce_base_url: Option<String>,
}

/// The message for an alert, with record ids as text (see [`message_with`]).
pub fn message(alert: &Alert) -> SlackMessage {
    message_with(alert, &RecordUrls::default())
}

/// The message for an alert: a header (the account), the headline and health with key facts as
/// fields, the top reasons, link buttons (account, Stripe, HubSpot, Salesforce when their URLs are
/// known) and a context line (who raised it, when, record ids, the dedupe key). Every piece is
/// cut to its Block Kit limit, so the result always passes [`check_limits`].
pub fn message_with(alert: &Alert, urls: &RecordUrls) -> SlackMessage {
    let account = alert.account_name.as_deref().map(one_line).filter(|n| !n.is_empty());
    let account = account.unwrap_or_else(|| one_line(&alert.account_id));
    let (icon, severity) = match alert.severity {
        Severity::Risk => (":warning:", "risk"),
        Severity::Opportunity => (":seedling:", "opportunity"),
    };
    let mut blocks = Vec::new();

    let header = truncate(&format!("{icon} {account}"), MAX_HEADER_TEXT);
    blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": true}}));

    let trend = match (alert.score, alert.band, alert.change_7d) {
        (Some(s), band, change) => {
            let band = band.map(|b| format!(" ({b})")).unwrap_or_default();
            let change = match change {
                Some(c) if c < 0 => format!(", down {} this week", -c),
                Some(c) if c > 0 => format!(", up {c} this week"),
                _ => String::new(),
            };
            format!("health {s}{band}{change}")
        }
        (None, _, _) => "not scored yet".to_owned(),
    };
    let headline = format!("*{}*\n{}", escape(&one_line(&alert.headline)), escape(&trend));
    let mut fields = vec![
        field("Alert", &format!("{} ({severity})", alert.kind.as_str().replace('_', " "))),
        field("MRR", &money::format(alert.mrr, alert.currency.as_deref())),
        field("Tier", &alert.tier.as_str().replace('_', " ")),
        field("Lifecycle", alert.lifecycle.as_str()),
    ];
    if let Some(owner) = alert.owner.as_deref().filter(|o| !o.trim().is_empty()) {
        fields.push(field("Owner", owner));
    }
    fields.truncate(MAX_FIELDS);
    blocks.push(json!({"type": "section", "text": mrkdwn(&headline, MAX_SECTION_TEXT), "fields": fields}));

    let reasons: Vec<String> =
        alert.reasons.iter().take(MAX_REASONS).map(|r| format!("• {}", escape(&one_line(r)))).collect();
    if !reasons.is_empty() {
        let why = format!("*Why*\n{}", reasons.join("\n"));
        blocks.push(json!({"type": "section", "text": mrkdwn(&why, MAX_SECTION_TEXT)}));
    }

    let mut buttons = Vec::new();
    let mut ids = Vec::new();
    let mut link = |label: &str, action: &str, url: Option<String>, id_text: Option<String>| match url
        .filter(|u| is_web_url(u) && u.chars().count() <= MAX_BUTTON_URL)
    {
        Some(url) => buttons.push(json!({
            "type": "button",
            "text": {"type": "plain_text", "text": truncate(label, MAX_BUTTON_TEXT), "emoji": true},
            "url": url,
            "action_id": action,
        })),
        None => ids.extend(id_text),
    };
    let account_link = alert.links.account.trim();
    link("Open account", "open_account", Some(account_link.to_owned()), {
        (!account_link.is_empty()).then(|| format!("account {}", escape(account_link)))
    });
    link("Stripe customer", "open_stripe", alert.links.stripe.clone(), None);
    if let Some(id) = alert.links.hubspot_company_id.as_deref().filter(|id| !id.trim().is_empty()) {
        let url = urls.hubspot_portal_id.as_deref().map(|portal| {
            format!("https://app.hubspot.com/contacts/{}/record/0-2/{}", path_part(portal), path_part(id))
        });
        link("HubSpot company", "open_hubspot", url, Some(format!("HubSpot company `{}`", escape(id))));
    }
    if let Some(id) = alert.links.salesforce_account_id.as_deref().filter(|id| !id.trim().is_empty()) {
        let url = urls
            .salesforce_base_url
            .as_deref()
            .map(|base| format!("{}/lightning/r/Account/{}/view", trim_base(base), path_part(id)));
        link("Salesforce account", "open_salesforce", url, Some(format!("Salesforce account `{}`", escape(id))));
    }
    if let Some(id) = alert.links.zendesk_organization_id.as_deref().filter(|id| !id.trim().is_empty()) {
        ids.push(format!("Zendesk organization `{}`", escape(id)));
    }
    buttons.truncate(MAX_ACTIONS_ELEMENTS);
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }

    let mut context = vec![json!({
        "type": "mrkdwn",
        "text": fit(&format!("raised by {} at {}", escape(&alert.raised_by), escape(&crate::domain::time::rfc3339(alert.raised_at.timestamp()))), MAX_CONTEXT_TEXT),
    })];
    if !ids.is_empty() {
        context.push(json!({"type": "mrkdwn", "text": fit(&ids.join(" · "), MAX_CONTEXT_TEXT)}));
    }
    context.push(
        json!({"type": "mrkdwn", "text": fit(&format!("key `{}`", escape(&alert.dedupe_key)), MAX_CONTEXT_TEXT)}),
    );
    context.truncate(MAX_CONTEXT_ELEMENTS);
    blocks.push(json!({"type": "context", "elements": context}));

    blocks.truncate(MAX_BLOCKS);
    fit_blocks_text(&mut blocks, MAX_BLOCKS_TEXT);
    let text =
        if alert.summary.trim().is_empty() { format!("{account}: {}", alert.headline) } else { alert.summary.clone() };
    SlackMessage { text: fit(&escape(&text), MAX_TEXT), blocks }
}

/// Checks a message against Slack's Block Kit limits; the error names the first one broken.
pub fn check_limits(m: &SlackMessage) -> Result<(), String> {
    if m.text.trim().is_empty() {
        return Err("text (the fallback) is empty".into());
    }
    if chars(&m.text) > MAX_TEXT {
        return Err(format!("text has {} characters, more than {MAX_TEXT}", chars(&m.text)));
    }
    if m.blocks.len() > MAX_BLOCKS {
        return Err(format!("{} blocks, more than {MAX_BLOCKS}", m.blocks.len()));
    }
    let total: usize = m.blocks.iter().map(blocks_text_chars).sum();
    if total > MAX_BLOCKS_TEXT {
        return Err(format!(
            "the blocks hold {total} characters of text, more than {MAX_BLOCKS_TEXT} (Slack: msg_blocks_too_long)"
        ));
    }
    for (i, block) in m.blocks.iter().enumerate() {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        let at = |what: String| format!("block {i} ({kind}): {what}");
        match kind {
            "header" => {
                let text = block.get("text");
                if text.and_then(|t| t.get("type")).and_then(Value::as_str) != Some("plain_text") {
                    return Err(at("header text must be plain_text".into()));
                }
                let n = text_len(text);
                if n == 0 || n > MAX_HEADER_TEXT {
                    return Err(at(format!("header text has {n} characters, allowed 1 to {MAX_HEADER_TEXT}")));
                }
            }
            "section" => {
                let text = block.get("text");
                let fields = block.get("fields").and_then(Value::as_array);
                if text.is_none() && fields.is_none_or(|f| f.is_empty()) {
                    return Err(at("a section needs text or fields".into()));
                }
                let n = text_len(text);
                if text.is_some() && (n == 0 || n > MAX_SECTION_TEXT) {
                    return Err(at(format!("text has {n} characters, allowed 1 to {MAX_SECTION_TEXT}")));
                }
                if let Some(fields) = fields {
                    if fields.len() > MAX_FIELDS {
                        return Err(at(format!("{} fields, more than {MAX_FIELDS}", fields.len())));
                    }
                    for (j, f) in fields.iter().enumerate() {
                        let n = text_len(Some(f));
                        if n == 0 || n > MAX_FIELD_TEXT {
                            return Err(at(format!("field {j} has {n} characters, allowed 1 to {MAX_FIELD_TEXT}")));
                        }
                    }
                }
            }
            "context" => {
                let elements = block.get("elements").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
                if elements.is_empty() || elements.len() > MAX_CONTEXT_ELEMENTS {
                    return Err(at(format!("{} elements, allowed 1 to {MAX_CONTEXT_ELEMENTS}", elements.len())));
                }
                if let Some(n) = elements.iter().map(|e| text_len(Some(e))).find(|n| *n > MAX_CONTEXT_TEXT) {
                    return Err(at(format!("an element has {n} characters, more than {MAX_CONTEXT_TEXT}")));
                }
            }
            "actions" => {
                let elements = block.get("elements").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
                if elements.is_empty() || elements.len() > MAX_ACTIONS_ELEMENTS {
                    return Err(at(format!("{} elements, allowed 1 to {MAX_ACTIONS_ELEMENTS}", elements.len())));
                }
                for e in elements {
                    let n = text_len(e.get("text"));
                    if n > MAX_BUTTON_TEXT {
                        return Err(at(format!("a button label has {n} characters, more than {MAX_BUTTON_TEXT}")));
                    }
                    if let Some(url) = e.get("url").and_then(Value::as_str) {
                        if chars(url) > MAX_BUTTON_URL || !is_web_url(url) {
                            return Err(at(format!(
                                "button url {:?} is not an http(s) URL of at most {MAX_BUTTON_URL} characters",
                                truncate(url, 80)
                            )));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The Web API client: `chat.postMessage` with a bot token (`xoxb-…`, scope `chat:write`).
#[derive(Clone)]
pub struct SlackApi {
    /// `https://slack.com/api` unless a test or the local runner points elsewhere.
    pub base_url: String,
    pub(super) token: String,
    pub(super) client: reqwest::Client,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi").field("base_url", &self.base_url).field("token", &"<redacted>").finish()
    }
}

/// The Web API base (`SLACK_API_URL` in the local runner overrides it).
pub const SLACK_BASE_URL: &str = "https://slack.com/api";

impl SlackApi {
    pub fn new(client: reqwest::Client, token: impl Into<String>) -> Self {
        SlackApi { base_url: SLACK_BASE_URL.to_owned(), token: token.into(), client }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = trim_base(base_url);
        self
    }

    /// Posts `m` to `channel` (an id like `C0123…`, or a name). `ok: true` → the message `ts`.
    pub async fn post_message(&self, channel: &str, m: &SlackMessage) -> Result<Delivered, DeliveryError> {
        let url = format!("{}/chat.postMessage", self.base_url);
        let response = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(json!({"channel": channel, "text": m.text, "blocks": m.blocks}).to_string())
            .send()
            .await
            .map_err(|e| network_error("slack chat.postMessage", e))?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let seconds = retry_after_seconds(response.headers()).unwrap_or(1);
            return Err(DeliveryError::RetryAfter { seconds, reason: "slack chat.postMessage: HTTP 429".into() });
        }
        let body = response.text().await.map_err(|e| network_error("slack chat.postMessage: reading the answer", e))?;
        if !status.is_success() {
            return Err(status_error("slack chat.postMessage", status, &body));
        }
        let answer: Value = serde_json::from_str(&body).map_err(|_| {
            DeliveryError::Transient(format!(
                "slack chat.postMessage: HTTP {status} with a body that is not JSON: {}",
                snippet(&body)
            ))
        })?;
        if answer.get("ok").and_then(Value::as_bool) == Some(true) {
            if let Some(warning) = answer.pointer("/response_metadata/warnings").or(answer.get("warning")) {
                tracing::debug!(%warning, "slack chat.postMessage warning");
            }
            // Posted: never report an error now (a retry would post twice), even without a ts.
            let ts = answer.get("ts").and_then(Value::as_str).unwrap_or_default();
            if ts.is_empty() {
                tracing::warn!(channel, "slack chat.postMessage answered ok without a ts");
            }
            return Ok(Delivered::new(ts));
        }
        let error = answer.get("error").and_then(Value::as_str).unwrap_or("unknown_error");
        let detail = answer
            .pointer("/response_metadata/messages")
            .map(|m| format!("{error} {}", snippet(&m.to_string())))
            .unwrap_or_else(|| error.to_owned());
        Err(classify_api_error(error, &format!("slack chat.postMessage: {detail}")))
    }
}

/// `ok: false` errors of `chat.postMessage`. Permanent: the request, the channel or the token is
/// wrong and stays wrong until someone changes the configuration. Transient: Slack's own trouble
/// and rate limiting. An error not listed is treated as transient: retrying a new permanent
/// error costs a few attempts before the dispatcher dead-letters it, while dead-lettering a new
/// transient one would lose an alert.
pub fn classify_api_error(error: &str, reason: &str) -> DeliveryError {
    const PERMANENT: &[&str] = &[
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "access_denied",
        "ekm_access_denied",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "msg_too_long",
        "msg_blocks_too_long",
        "too_many_attachments",
        "no_text",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_array_arg",
        "invalid_charset",
        "invalid_form_data",
        "invalid_post_type",
        "missing_post_type",
        "invalid_json",
        "json_not_object",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "cannot_reply_to_message",
        "as_user_not_supported",
        "slack_connect_file_link_sharing_blocked",
        "team_access_not_granted",
        "two_factor_setup_required",
        "enterprise_is_restricted",
        "org_login_required",
        "method_deprecated",
        "deprecated_endpoint",
        "duplicate_channel_not_found",
        "duplicate_message_not_found",
    ];
    if PERMANENT.contains(&error) {
        DeliveryError::Permanent(reason.to_owned())
    } else {
        // ratelimited, rate_limited, internal_error, fatal_error, service_unavailable,
        // request_timeout, team_added_to_org, and anything new.
        DeliveryError::Transient(reason.to_owned())
    }
}

/// An incoming webhook (`https://hooks.slack.com/services/…`): one channel, no token.
#[derive(Clone)]
pub struct SlackWebhook {
    /// The hook URL is a secret: it is never logged or shown by `Debug`.
    url: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for SlackWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackWebhook").field("url", &"<redacted>").finish()
    }
}

impl SlackWebhook {
    pub fn new(client: reqwest::Client, url: impl Into<String>) -> Self {
        SlackWebhook { url: url.into(), client }
    }

    /// Posts `m`. 200 (body `ok`) → `Delivered { remote_id: "webhook" }`; 400/403/404/410 (and any
    /// other 4xx) → permanent with Slack's text (`invalid_payload`, `action_prohibited`,
    /// `no_service`, `channel_is_archived`, …); 429 → retry after `Retry-After`; 5xx → transient.
    pub async fn post(&self, m: &SlackMessage) -> Result<Delivered, DeliveryError> {
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(json!({"text": m.text, "blocks": m.blocks}).to_string())
            .send()
            .await
            // The error text of reqwest names the URL: keep the secret out of the reason.
            .map_err(|e| network_error("slack webhook", e.without_url()))?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let seconds = retry_after_seconds(response.headers()).unwrap_or(1);
            return Err(DeliveryError::RetryAfter { seconds, reason: "slack webhook: HTTP 429".into() });
        }
        let body =
            response.text().await.map_err(|e| network_error("slack webhook: reading the answer", e.without_url()))?;
        if status.is_success() {
            if body.trim() != "ok" {
                tracing::warn!(status = status.as_u16(), body = %snippet(&body), "slack webhook answered success without `ok`");
            }
            return Ok(Delivered::new("webhook"));
        }
        Err(status_error("slack webhook", status, &body))
    }
}

#[async_trait]
impl SlackPort for SlackApi {
    async fn post_alert(&self, channel: &str, alert: &Alert) -> Result<Delivered, DeliveryError> {
        self.post_message(channel, &message(alert)).await
    }
}

#[async_trait]
impl SlackPort for SlackWebhook {
    async fn post_alert(&self, _channel: &str, alert: &Alert) -> Result<Delivered, DeliveryError> {
        self.post(&message(alert)).await
    }
}

fn field(label: &str, value: &str) -> Value {
    mrkdwn(&format!("*{label}*\n{}", escape(&one_line(value))), MAX_FIELD_TEXT)
}

fn mrkdwn(text: &str, max: usize) -> Value {
    json!({"type": "mrkdwn", "text": fit(text, max)})
}

/// `high_touch` → `high touch`.
/// Slack's three control characters in mrkdwn and the fallback text.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Escaped text cut to `max` characters without splitting an `&…;` entity.
pub(super) fn fit(escaped: &str, max: usize) -> String {
    let cut = truncate(escaped, max);
    if cut == escaped {
        return cut;
    }
    // The cut kept `max - 1` characters and added `…`: drop a dangling partial entity.
    let body = cut.trim_end_matches('…');
    match body.rfind('&') {
        Some(amp) if !body[amp..].contains(';') => format!("{}…", &body[..amp]),
        _ => cut,
    }
}

/// The characters of every text in a block (texts, fields, context elements, button labels).
fn blocks_text_chars(block: &Value) -> usize {
    match block {
        Value::Object(map) => map
            .iter()
            .map(|(key, v)| match v {
                Value::String(text) if key == "text" => chars(text),
                other => blocks_text_chars(other),
            })
            .sum(),
        Value::Array(items) => items.iter().map(blocks_text_chars).sum(),
        _ => 0,
    }
}

/// Every text string of a block, for cutting.
fn texts_mut<'a>(value: &'a mut Value, out: &mut Vec<&'a mut String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "text" && v.is_string() {
                    if let Value::String(text) = v {
                        out.push(text);
                    }
                } else {
                    texts_mut(v, out);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| texts_mut(v, out)),
        _ => {}
    }
}

/// Cuts the longest texts until all of them together hold at most `max` characters: the long
/// free text (a headline, reasons, ids) gives way, the short facts stay whole.
fn fit_blocks_text(blocks: &mut [Value], max: usize) {
    loop {
        let mut texts = Vec::new();
        blocks.iter_mut().for_each(|b| texts_mut(b, &mut texts));
        let total: usize = texts.iter().map(|t| chars(t)).sum();
        let Some(longest) = texts.into_iter().max_by_key(|t| chars(t)) else { return };
        if total <= max {
            return;
        }
        let len = chars(longest);
        // At least one character goes each round, and a text keeps at least one.
        let keep = len.saturating_sub(total - max).clamp(1, len.saturating_sub(1).max(1));
        if keep >= len {
            return; // every text is one character: nothing left to cut
        }
        *longest = fit(longest, keep);
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn text_len(text: Option<&Value>) -> usize {
    text.and_then(|t| t.get("text")).and_then(Value::as_str).map(chars).unwrap_or(0)
}

fn is_web_url(url: &str) -> bool {
    let url = url.trim();
    (url.starts_with("https://") || url.starts_with("http://")) && !url.contains(char::is_whitespace)
}

/// A remote id as one URL path segment (ids are alphanumeric; anything else is percent-encoded).
fn path_part(s: &str) -> String {
    s.trim()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
