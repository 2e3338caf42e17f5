//! The weekly digest in Slack: its Block Kit message (within Slack's limits, checked by
//! [`super::check_limits`]) and the chart shared with the external upload Slack requires since
//! `files.upload` was retired: `files.getUploadURLExternal` (form `filename`, `length`) →
//! `POST` the bytes to the `upload_url` → `files.completeUploadExternal` (JSON `files: [{id,
//! title}]`, `channel_id`, `initial_comment`). Scopes `chat:write` and `files:write`.

use super::{escape, fit, SlackApi, SlackMessage, MAX_HEADER_TEXT, MAX_SECTION_TEXT, MAX_TEXT};
use crate::adapters::http::{network_error, retry_after_seconds, snippet, status_error};
use crate::app::ports::delivery::{one_line, truncate, Delivered, DeliveryError};
use crate::app::ports::portfolio::DigestSlack;
use crate::domain::digest::{Digest, DigestAccount, Section};
use crate::domain::kpi::{Kpis, Month};
use crate::domain::money;
use async_trait::async_trait;
use serde_json::{json, Value};

fn amount(minor: i64, currency: &str) -> String {
    money::format(minor, Some(currency))
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

fn month_name(key: &str) -> String {
    Month::parse(key)
        .and_then(|m| chrono::NaiveDate::from_ymd_opt(m.year, m.month, 1))
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_else(|| key.to_owned())
}

fn kpi_lines(title: &str, k: &Kpis) -> String {
    let c = k.currency.as_str();
    format!(
        "*{title}: {}*\nMRR {} (from {}): new +{}, expansion +{}, reactivation +{}, contraction −{}, churn −{}\n\
         Customers {} (from {}): {} new, {} reactivated, {} churned · logo churn {} · net MRR churn {}\n\
         NRR {} · GRR {} · ARPA {} · LTV {}",
        month_name(&k.month),
        amount(k.mrr.end, c),
        amount(k.mrr.start, c),
        amount(k.mrr.new, c),
        amount(k.mrr.expansion, c),
        amount(k.mrr.reactivation, c),
        amount(k.mrr.contraction, c),
        amount(k.mrr.churn, c),
        k.customers.end,
        k.customers.start,
        k.customers.new,
        k.customers.reactivated,
        k.customers.churned,
        percent(k.logo_churn_rate),
        percent(k.net_mrr_churn_rate),
        percent(k.nrr_12m),
        percent(k.grr_12m),
        amount(k.arpa, c),
        amount(k.ltv, c),
    )
}

fn section_title(section: Section) -> &'static str {
    match section {
        Section::AtRisk => "At risk",
        Section::HealthDrop => "Biggest health drops",
        Section::Expansion => "Ready to grow",
        Section::Watch => "Worth a look",
    }
}

fn account_text(a: &DigestAccount, currency: &str) -> String {
    let name = a.name.as_deref().map(one_line).filter(|n| !n.is_empty()).unwrap_or_else(|| a.account_id.clone());
    let mut facts = Vec::new();
    match (a.band, a.score) {
        (Some(band), Some(score)) => facts.push(format!("{band} {score}")),
        _ => facts.push("not scored yet".to_owned()),
    }
    if let Some(change) = a.change_7d.filter(|c| *c != 0) {
        facts.push(format!("{change:+} in 7 days"));
    }
    facts.push(format!("MRR {}", amount(a.mrr, currency)));
    if let Some(renewal) = a.renewal_at {
        facts.push(format!("renews {}", renewal.format("%Y-%m-%d")));
    }
    facts.push(format!("owner {}", a.owner.as_deref().map(one_line).unwrap_or_else(|| "unassigned".into())));
    let mut text = format!("*{}* · {}", escape(&name), escape(&facts.join(" · ")));
    if let Some(reason) = &a.reason {
        text.push_str(&format!("\n_{}_", escape(&one_line(reason))));
    }
    text.push_str(&format!("\n→ {}", escape(&a.next_step)));
    text
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": fit(text, MAX_SECTION_TEXT)}})
}

/// The digest's message: a header, last month's and this month's KPIs, the week's movements, the
/// accounts by section (one block each, with its next step), a context line on the health
/// distribution and what was left out. At most 15 accounts, so far below 50 blocks.
pub fn digest_message(d: &Digest) -> SlackMessage {
    let c = d.currency.as_str();
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text",
        "text": truncate(&format!("Weekly portfolio digest · {}", d.week), MAX_HEADER_TEXT), "emoji": true}})];
    blocks.push(section(&kpi_lines("Last month", &d.last_month)));
    blocks.push(section(&kpi_lines("Month to date", &d.month_to_date)));
    let w = &d.week_movements;
    let mut week = format!(
        "*This week*: new +{}, expansion +{}, reactivation +{}, contraction −{}, churn −{}",
        amount(w.totals.new, c),
        amount(w.totals.expansion, c),
        amount(w.totals.reactivation, c),
        amount(w.totals.contraction, c),
        amount(w.totals.churn, c),
    );
    if w.movements.is_empty() {
        week.push_str("\nNo MRR moved this week.");
    }
    for m in w.movements.iter().take(8) {
        let name = m.name.as_deref().map(one_line).unwrap_or_else(|| m.account_id.clone());
        let sign = if m.mrr_delta >= 0 { "+" } else { "" };
        week.push_str(&format!(
            "\n• {} {} {sign}{} ({})",
            escape(&name),
            m.kind,
            amount(m.mrr_delta, c),
            m.at.format("%a %d %b")
        ));
    }
    if w.movements.len() > 8 {
        week.push_str(&format!("\n…and {} more", w.movements.len() - 8));
    }
    blocks.push(section(&week));
    blocks.push(json!({"type": "divider"}));
    let mut current = None;
    for a in &d.accounts {
        if current != Some(a.section) {
            current = Some(a.section);
            blocks.push(section(&format!("*{}*", section_title(a.section))));
        }
        blocks.push(section(&account_text(a, c)));
    }
    if d.accounts.is_empty() {
        blocks.push(section("*Nobody needs a call this week.*"));
    }
    let h = &d.month_to_date.health;
    let mut context = format!(
        "Health by MRR: green {} ({}), yellow {} ({}), red {} ({}), unscored {} ({})",
        amount(h.green.mrr, c),
        h.green.accounts,
        amount(h.yellow.mrr, c),
        h.yellow.accounts,
        amount(h.red.mrr, c),
        h.red.accounts,
        amount(h.unscored.mrr, c),
        h.unscored.accounts,
    );
    let excluded = &d.month_to_date.excluded;
    if !excluded.is_empty() {
        context.push_str(&format!(" · {} account(s) left out: no exchange rate", excluded.len()));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": fit(&escape(&context), 3_000)}]}));
    let text = format!(
        "Weekly portfolio digest {}: MRR {}, {} account(s) need someone",
        d.week,
        amount(d.month_to_date.mrr.end, c),
        d.accounts.len()
    );
    SlackMessage { text: fit(&escape(&text), MAX_TEXT), blocks }
}

/// The chart's file name and title.
pub fn chart_name(d: &Digest) -> (String, String) {
    (format!("foresight-{}.png", d.week), format!("MRR movements and health, {}", d.week))
}

impl SlackApi {
    /// A Web API method's JSON answer: `ok: true` → the answer; else the error classified.
    async fn api_answer(
        &self,
        what: &str,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Value, DeliveryError> {
        let response = response.map_err(|e| network_error(what, e))?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let seconds = retry_after_seconds(response.headers()).unwrap_or(1);
            return Err(DeliveryError::RetryAfter { seconds, reason: format!("{what}: HTTP 429") });
        }
        let body = response.text().await.map_err(|e| network_error(what, e))?;
        if !status.is_success() {
            return Err(status_error(what, status, &body));
        }
        let answer: Value = serde_json::from_str(&body)
            .map_err(|_| DeliveryError::Transient(format!("{what}: answer is not JSON: {}", snippet(&body))))?;
        if answer.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(answer);
        }
        let error = answer.get("error").and_then(Value::as_str).unwrap_or("unknown_error");
        Err(super::classify_api_error(error, &format!("{what}: {error}")))
    }

    /// Shares `bytes` as a file in `channel` with the three-call external upload: the file id.
    pub async fn upload_file(
        &self,
        channel: &str,
        filename: &str,
        title: &str,
        comment: &str,
        bytes: Vec<u8>,
    ) -> Result<Delivered, DeliveryError> {
        let what = "slack files.getUploadURLExternal";
        let length = bytes.len().to_string();
        let sent = self
            .client
            .post(format!("{}/files.getUploadURLExternal", self.base_url))
            .bearer_auth(&self.token)
            .form(&[("filename", filename), ("length", length.as_str())])
            .send()
            .await;
        let answer = self.api_answer(what, sent).await?;
        let (Some(upload_url), Some(file_id)) =
            (answer.get("upload_url").and_then(Value::as_str), answer.get("file_id").and_then(Value::as_str))
        else {
            return Err(DeliveryError::Transient(format!(
                "{what}: no upload_url or file_id: {}",
                snippet(&answer.to_string())
            )));
        };
        let what = "slack file upload";
        let uploaded = self
            .client
            .post(upload_url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .map_err(|e| network_error(what, e))?;
        if !uploaded.status().is_success() {
            let status = uploaded.status();
            let body = uploaded.text().await.unwrap_or_default();
            return Err(status_error(what, status, &body));
        }
        let what = "slack files.completeUploadExternal";
        let body =
            json!({"files": [{"id": file_id, "title": title}], "channel_id": channel, "initial_comment": comment});
        let sent = self
            .client
            .post(format!("{}/files.completeUploadExternal", self.base_url))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body.to_string())
            .send()
            .await;
        self.api_answer(what, sent).await?;
        Ok(Delivered::new(file_id))
    }
}

#[async_trait]
impl DigestSlack for SlackApi {
    async fn post_digest(&self, channel: &str, digest: &Digest) -> Result<Delivered, DeliveryError> {
        self.post_message(channel, &digest_message(digest)).await
    }

    async fn upload_chart(&self, channel: &str, digest: &Digest) -> Result<Delivered, DeliveryError> {
        let png = super::chart::render(&digest.chart).map_err(DeliveryError::Permanent)?;
        let (filename, title) = chart_name(digest);
        let comment = format!("MRR movements per month for 12 months and health by MRR, {}", digest.week);
        self.upload_file(channel, &filename, &title, &comment, png).await
    }
}
