//! `foresight calibrate`: how good is the judgement? Replays the labelled portfolio
//! (`events/portfolio/`, written by `events/generate_portfolio.py`) day by day through the same
//! webhooks and sweeps a deployment runs — every event signed and delivered at its own time, a
//! health and a renewal sweep once a day — then compares what Foresight said with the labels.
//!
//! "At risk" is what a CSM would act on: a band that is not green at the end, or a risk alert
//! raised during the replay. Printed: precision and recall of that against the `at_risk` labels,
//! which healthy accounts were alerted, alerts per 100 accounts per week, the lead time from the
//! first risk alert to each slow decliner's cancellation, and whether a second sweep at the same
//! time is silent.

use crate::signing::{stripe_header, zendesk_headers};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use foresight_shared::adapters::memory::{MemoryOutbox, MemoryQueue, MemoryStore};
use foresight_shared::app::health_sweep::{self, SweepPorts};
use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::app::ingest::stripe::{EventAlerting, StripeStores, StripeWebhook};
use foresight_shared::app::ingest::typeform::TypeformWebhook;
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::app::ingest::IngestError;
use foresight_shared::app::ports::outbox::Outbox;
use foresight_shared::app::ports::store::AccountLister;
use foresight_shared::app::renewal_sweep::{self, RenewalPorts};
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account;
use foresight_shared::domain::alert::Severity;
use foresight_shared::domain::time::{self, DAY};
use foresight_shared::sources::segment::signature as segment_signature;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use foresight_shared::sources::typeform::signature as typeform_signature;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The portfolio's "now": every time in it is relative to this.
pub const PORTFOLIO_NOW: &str = "2026-11-09T12:00:00Z";
/// Days replayed before [`PORTFOLIO_NOW`] by default: the slow decliners' six weeks, and one
/// more to warm up.
pub const DEFAULT_DAYS: i64 = 49;

/// The targets of issue 13, checked by `--check` and by `tests/calibrate.rs`.
pub const MIN_PRECISION: f64 = 0.90;
pub const MIN_RECALL: f64 = 1.0;
pub const MIN_LEAD_DAYS: f64 = 21.0;

const STRIPE_SECRET: &str = "whsec_calibrate";
const ZENDESK_SECRET: &str = "zendesk_calibrate";
const SEGMENT_SECRET: &str = "segment_calibrate";
const TYPEFORM_SECRET: &str = "typeform_calibrate";

/// One account's label (`events/portfolio/labels.json`).
#[derive(Clone, Debug, Deserialize)]
pub struct Label {
    /// `at_risk`, `healthy` or `expansion`.
    pub label: String,
    pub archetype: String,
    /// When a slow decliner cancels (RFC 3339).
    #[serde(default)]
    pub cancels_at: Option<String>,
}

impl Label {
    fn at_risk(&self) -> bool {
        self.label == "at_risk"
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Sender {
    Stripe,
    Zendesk,
    Segment,
    Typeform,
}

/// One webhook delivery of the replay, at the time the source would send it.
struct Delivery {
    at: i64,
    sender: Sender,
    name: String,
    body: Vec<u8>,
}

/// An alert raised during the replay, as the outbox recorded it.
#[derive(Clone, Debug)]
pub struct Raised {
    pub account_id: String,
    pub kind: String,
    pub severity: Severity,
    pub at: i64,
    pub headline: String,
    /// The account's band when the alert was raised.
    pub band: Option<String>,
}

/// A slow decliner's lead time: days from its first risk alert to its cancellation.
#[derive(Clone, Debug)]
pub struct LeadTime {
    pub account_id: String,
    pub cancels_at: i64,
    pub first_alert: Option<Raised>,
    pub days: Option<f64>,
}

/// What the replay found.
#[derive(Clone, Debug)]
pub struct Report {
    pub now: i64,
    pub days: i64,
    pub accounts: usize,
    pub labelled: BTreeMap<String, usize>,
    pub true_positives: usize,
    pub flagged: usize,
    pub at_risk: usize,
    /// Labelled at risk, not flagged.
    pub missed: Vec<String>,
    /// Flagged, labelled healthy or expansion (with why).
    pub false_alarms: Vec<String>,
    /// Labelled healthy or expansion, with a risk alert in the replay.
    pub healthy_alerted: Vec<String>,
    /// Opportunity alerts raised for an account at risk at that moment: not green, or with a
    /// risk alert in the 30 days before.
    pub opportunities_at_risk: Vec<String>,
    /// Every alert raised, in time order.
    pub alerts: Vec<Raised>,
    /// Alerts raised after the first (warm-up) sweep, by kind.
    pub by_kind: BTreeMap<String, usize>,
    pub risk_alerts: usize,
    pub opportunity_alerts: usize,
    pub lead_times: Vec<LeadTime>,
    /// Alerts a second sweep at the last `now` raised (should be none).
    pub repeated: Vec<String>,
}

impl Report {
    pub fn precision(&self) -> f64 {
        if self.flagged == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.flagged as f64
        }
    }

    pub fn recall(&self) -> f64 {
        if self.at_risk == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.at_risk as f64
        }
    }

    /// Weeks the alert rate is measured over (after the warm-up sweep).
    pub fn weeks(&self) -> f64 {
        (self.days as f64 / 7.0).max(1.0 / 7.0)
    }

    /// Alerts per 100 accounts per week (`risk` and opportunity alike when `None`).
    pub fn per_100_per_week(&self, severity: Option<Severity>) -> f64 {
        let n = match severity {
            None => self.risk_alerts + self.opportunity_alerts,
            Some(Severity::Risk) => self.risk_alerts,
            Some(Severity::Opportunity) => self.opportunity_alerts,
        };
        n as f64 * 100.0 / self.accounts.max(1) as f64 / self.weeks()
    }

    /// The targets this run misses, in words (empty: all met).
    pub fn missed_targets(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if self.recall() < MIN_RECALL {
            missed.push(format!(
                "recall {:.1}% < {:.0}%: {:?}",
                self.recall() * 100.0,
                MIN_RECALL * 100.0,
                self.missed
            ));
        }
        if self.precision() < MIN_PRECISION {
            missed.push(format!("precision {:.1}% < {:.0}%", self.precision() * 100.0, MIN_PRECISION * 100.0));
        }
        if !self.healthy_alerted.is_empty() {
            missed.push(format!("healthy accounts alerted: {:?}", self.healthy_alerted));
        }
        if !self.repeated.is_empty() {
            missed.push(format!("a repeated sweep raised {:?}", self.repeated));
        }
        for lead in &self.lead_times {
            if lead.days.is_none_or(|d| d < MIN_LEAD_DAYS) {
                missed.push(format!("lead time of {} is {:?} days (< {MIN_LEAD_DAYS})", lead.account_id, lead.days));
            }
        }
        if !self.opportunities_at_risk.is_empty() {
            missed.push(format!("opportunities for accounts at risk: {:?}", self.opportunities_at_risk));
        }
        missed
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

fn time_at(value: &Value, pointer: &str) -> Option<i64> {
    match value.pointer(pointer)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => time::parse(s),
        _ => None,
    }
}

/// Every delivery of the portfolio, each at the time its source sends it; analytics as one batch
/// per UTC day (sent at the day's last message), as a batching destination does.
fn deliveries(portfolio: &Path) -> Result<Vec<Delivery>, String> {
    let mut out = Vec::new();
    let name_of = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for path in json_files(&portfolio.join("stripe"))? {
        let body = std::fs::read(&path).map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| format!("{}: {e}", path.display()))?;
        let at = time_at(&value, "/created").ok_or_else(|| format!("{}: no created", path.display()))?;
        out.push(Delivery { at, sender: Sender::Stripe, name: name_of(&path), body });
    }
    for path in json_files(&portfolio.join("zendesk"))? {
        let body = std::fs::read(&path).map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| format!("{}: {e}", path.display()))?;
        let at = time_at(&value, "/time")
            .or_else(|| time_at(&value, "/updated_at"))
            .ok_or_else(|| format!("{}: no time", path.display()))?;
        out.push(Delivery { at, sender: Sender::Zendesk, name: name_of(&path), body });
    }
    let mut days: BTreeMap<String, Vec<(i64, Value)>> = BTreeMap::new();
    for path in json_files(&portfolio.join("segment"))? {
        let batch = read_json(&path)?;
        for message in batch.as_array().cloned().unwrap_or_default() {
            let at = time_at(&message, "/timestamp")
                .ok_or_else(|| format!("{}: a message has no timestamp", path.display()))?;
            days.entry(time::day_key(at)).or_default().push((at, message));
        }
    }
    for (day, messages) in days {
        let at = messages.iter().map(|(t, _)| *t).max().unwrap_or_default();
        let batch: Vec<Value> = messages.into_iter().map(|(_, m)| m).collect();
        let body = serde_json::to_vec(&batch).map_err(|e| e.to_string())?;
        out.push(Delivery { at, sender: Sender::Segment, name: format!("segment {day}"), body });
    }
    for path in json_files(&portfolio.join("typeform"))? {
        let body = std::fs::read(&path).map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| format!("{}: {e}", path.display()))?;
        let at = time_at(&value, "/form_response/submitted_at")
            .ok_or_else(|| format!("{}: no submitted_at", path.display()))?;
        out.push(Delivery { at, sender: Sender::Typeform, name: name_of(&path), body });
    }
    out.sort_by(|a, b| (a.at, a.sender, &a.name).cmp(&(b.at, b.sender, &b.name)));
    Ok(out)
}

fn header_map(pairs: &[(&str, String)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.insert(name, value);
        }
    }
    headers
}

/// The in-process deployment the replay drives: the memory store and outbox, and every webhook
/// configured as `foresight dev` configures it.
struct Deployment {
    store: Arc<MemoryStore>,
    outbox: MemoryOutbox,
    queue: MemoryQueue,
    settings: Settings,
    stripe: StripeWebhook,
    zendesk: ZendeskWebhook,
    analytics: AnalyticsWebhook,
    typeform: TypeformWebhook,
}

impl Deployment {
    fn new(settings: Settings) -> Self {
        let store = Arc::new(MemoryStore::new());
        Deployment {
            stripe: StripeWebhook::new(Some(StripeSecrets::new(STRIPE_SECRET, None)), "account_id")
                .with_registry(store.clone()),
            zendesk: ZendeskWebhook::new(Some(ZENDESK_SECRET.into())).with_registry(store.clone()),
            analytics: AnalyticsWebhook::new(Some(SEGMENT_SECRET.into()), None, settings.analytics.clone())
                .with_registry(store.clone()),
            typeform: TypeformWebhook::new(Some(TYPEFORM_SECRET.into()), settings.surveys.hidden_field.clone())
                .with_registry(store.clone()),
            store,
            outbox: MemoryOutbox::new(),
            queue: MemoryQueue::new(),
            settings,
        }
    }

    /// Delivers one event as its source would, signed at its own time and received then.
    async fn deliver(&self, d: &Delivery) -> Result<(), String> {
        let alerting = EventAlerting { outbox: &self.outbox, queue: &self.queue, settings: &self.settings };
        let store = self.store.as_ref();
        let failed = |e: IngestError| format!("{} ({:?}) was refused: {e}", d.name, d.sender);
        match d.sender {
            Sender::Stripe => {
                let header = stripe_header(STRIPE_SECRET, d.at, &d.body);
                let stores = StripeStores { accounts: store, links: store, ledger: Some(store) };
                self.stripe.handle(&stores, Some(&alerting), Some(&header), &d.body, d.at).await.map_err(failed)?;
            }
            Sender::Zendesk => {
                let headers = header_map(&zendesk_headers(ZENDESK_SECRET, d.at, &d.name, &d.body));
                self.zendesk.handle(store, store, &headers, &d.body, d.at).await.map_err(failed)?;
            }
            Sender::Segment => {
                let signed = segment_signature::signed_bytes(&d.body).unwrap_or(&d.body);
                let signature = segment_signature::compute_signature(SEGMENT_SECRET, signed);
                let headers = header_map(&[("x-signature", signature)]);
                self.analytics.handle(store, store, store, &headers, &d.body, d.at).await.map_err(failed)?;
            }
            Sender::Typeform => {
                let signature = typeform_signature::compute_signature(TYPEFORM_SECRET, &d.body);
                self.typeform
                    .handle(store, store, Some(&alerting), Some(&signature), &d.body, d.at)
                    .await
                    .map_err(failed)?;
            }
        }
        Ok(())
    }

    /// The daily health sweep then the renewal sweep at `now`; returns the alerts they raised.
    async fn sweep(&self, id: &str, now: i64) -> Result<Vec<String>, String> {
        let store = self.store.as_ref();
        let ports = SweepPorts {
            scanner: store,
            accounts: store,
            usage: store,
            outbox: &self.outbox,
            notifications: &self.queue,
            progress: &self.outbox,
            sources: store,
        };
        let health = health_sweep::run(&ports, &self.settings, id, now, 4).await.map_err(|e| e.to_string())?;
        let renewal_ports =
            RenewalPorts { index: store, accounts: store, outbox: &self.outbox, notifications: &self.queue };
        let renewal = renewal_sweep::run(&renewal_ports, &self.settings, now).await.map_err(|e| e.to_string())?;
        Ok(health.alerts.into_iter().chain(renewal.alerts).collect())
    }
}

/// Replays `days` days of the portfolio up to its "now" and judges the outcome against its labels.
pub async fn run(portfolio: &Path, settings: Settings, days: i64) -> Result<Report, String> {
    let labels: BTreeMap<String, Label> =
        serde_json::from_value(read_json(&portfolio.join("labels.json"))?).map_err(|e| format!("labels.json: {e}"))?;
    let now = time::parse(PORTFOLIO_NOW).expect("a valid time");
    let start = now - days.max(1) * DAY;
    let deployment = Deployment::new(settings);
    let all = deliveries(portfolio)?;
    let mut next = 0;
    for k in 0..=days.max(1) {
        let sweep_at = start + k * DAY;
        while next < all.len() && all[next].at <= sweep_at {
            deployment.deliver(&all[next]).await?;
            next += 1;
        }
        deployment.sweep(&format!("calibrate-{k}"), sweep_at).await?;
        if let Ok(id) = std::env::var("CALIBRATE_DEBUG") {
            use foresight_shared::app::ports::store::AccountStore;
            if let Some(st) = deployment.store.get(&id).await.unwrap() {
                let h = deployment.settings.record(&st, sweep_at).health.unwrap_or_default();
                let comps: Vec<String> = h["components"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        format!(
                            "{}={}:{}",
                            c["name"].as_str().unwrap_or(""),
                            c["score"],
                            c["reason"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                eprintln!("DEBUG {} {} {} {}", time::day_key(sweep_at), h["score"], h["band"], comps.join(" | "));
            }
        }
    }
    let repeated = deployment.sweep("calibrate-again", now).await?;

    // What Foresight said: every alert it raised (webhooks and sweeps), and each band at "now".
    let raised: Vec<Raised> = deployment
        .outbox
        .entries()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|e| Raised {
            account_id: e.alert.account_id.clone(),
            kind: e.alert.kind.as_str().to_owned(),
            severity: e.alert.severity,
            at: e.alert.raised_at.timestamp(),
            headline: e.alert.headline.clone(),
            band: e.alert.band.map(|b| b.as_str().to_owned()),
        })
        .collect();
    let mut raised = raised;
    raised.sort_by(|a, b| (a.at, &a.account_id, &a.kind).cmp(&(b.at, &b.account_id, &b.kind)));
    let mut bands: BTreeMap<String, String> = BTreeMap::new();
    for stored in deployment.store.list().await.map_err(|e| e.to_string())? {
        if account::is_unlinked_holder(&stored.account_id) {
            continue;
        }
        if !labels.contains_key(&stored.account_id) {
            return Err(format!("{} has no label in labels.json", stored.account_id));
        }
        let record = deployment.settings.record(&stored, now);
        let band = record.health.as_ref().and_then(|h| h.get("band")?.as_str().map(str::to_owned));
        bands.insert(stored.account_id, band.unwrap_or_else(|| "unscored".into()));
    }

    let risk_by_account: BTreeMap<&str, Vec<&Raised>> =
        raised.iter().filter(|r| r.severity == Severity::Risk).fold(BTreeMap::new(), |mut map, r| {
            map.entry(r.account_id.as_str()).or_default().push(r);
            map
        });
    let mut report = Report {
        now,
        days: days.max(1),
        accounts: labels.len(),
        labelled: labels.values().fold(BTreeMap::new(), |mut m, l| {
            *m.entry(l.label.clone()).or_default() += 1;
            m
        }),
        true_positives: 0,
        flagged: 0,
        at_risk: labels.values().filter(|l| l.at_risk()).count(),
        missed: Vec::new(),
        false_alarms: Vec::new(),
        healthy_alerted: Vec::new(),
        opportunities_at_risk: Vec::new(),
        alerts: Vec::new(),
        by_kind: BTreeMap::new(),
        risk_alerts: 0,
        opportunity_alerts: 0,
        lead_times: Vec::new(),
        repeated,
    };
    for (id, label) in &labels {
        let band = bands.get(id).map(String::as_str).unwrap_or("missing");
        let alerts = risk_by_account.get(id.as_str()).cloned().unwrap_or_default();
        let flagged = band != "green" || !alerts.is_empty();
        let why = match (band != "green", alerts.first()) {
            (true, _) => format!("{id} ({}): band {band}", label.archetype),
            (false, Some(a)) => format!("{id} ({}): {} \"{}\"", label.archetype, a.kind, a.headline),
            (false, None) => String::new(),
        };
        match (flagged, label.at_risk()) {
            (true, true) => report.true_positives += 1,
            (true, false) => report.false_alarms.push(why),
            (false, true) => report.missed.push(format!("{id} ({}): band {band}, no risk alert", label.archetype)),
            (false, false) => {}
        }
        report.flagged += usize::from(flagged);
        if !label.at_risk() && !alerts.is_empty() {
            report
                .healthy_alerted
                .push(format!("{id}: {}", alerts.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>().join(", ")));
        }
        if let Some(cancels_at) = label.cancels_at.as_deref().and_then(time::parse) {
            let first_alert = alerts.iter().filter(|a| a.at <= cancels_at).min_by_key(|a| a.at).map(|a| (*a).clone());
            let days = first_alert.as_ref().map(|a| ((cancels_at - a.at) as f64 / DAY as f64 * 10.0).round() / 10.0);
            report.lead_times.push(LeadTime { account_id: id.clone(), cancels_at, first_alert, days });
        }
    }
    for r in raised.iter().filter(|r| r.at > start) {
        *report.by_kind.entry(r.kind.clone()).or_default() += 1;
        match r.severity {
            Severity::Risk => report.risk_alerts += 1,
            Severity::Opportunity => report.opportunity_alerts += 1,
        }
    }
    for r in raised.iter().filter(|r| r.severity == Severity::Opportunity) {
        let not_green = r.band.as_deref().is_some_and(|b| b != "green");
        let risk_before = risk_by_account
            .get(r.account_id.as_str())
            .is_some_and(|alerts| alerts.iter().any(|a| a.at <= r.at && r.at - a.at <= 30 * DAY));
        if not_green || risk_before {
            report.opportunities_at_risk.push(format!("{}: {} on {}", r.account_id, r.kind, time::day_key(r.at)));
        }
    }
    report.alerts = raised;
    Ok(report)
}

/// The report, as `foresight calibrate` prints it.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let labelled: Vec<String> = r.labelled.iter().map(|(l, n)| format!("{n} {l}")).collect();
    out.push_str(&format!(
        "Calibration on the labelled portfolio: {} accounts ({}), replayed {} days to {} with one health and one renewal sweep a day\n",
        r.accounts,
        labelled.join(", "),
        r.days,
        time::rfc3339(r.now)
    ));
    out.push_str("\"At risk\" = band not green at the end, or a risk alert during the replay:\n");
    out.push_str(&format!(
        "  precision {:.1}% ({} of {} flagged are labelled at risk)\n  recall    {:.1}% ({} of {} at risk flagged)\n",
        r.precision() * 100.0,
        r.true_positives,
        r.flagged,
        r.recall() * 100.0,
        r.true_positives,
        r.at_risk
    ));
    let list =
        |items: &[String]| if items.is_empty() { "none".to_owned() } else { format!("\n    {}", items.join("\n    ")) };
    out.push_str(&format!("  missed: {}\n", list(&r.missed)));
    out.push_str(&format!("  false alarms: {}\n", list(&r.false_alarms)));
    out.push_str(&format!("  healthy or expansion accounts with a risk alert: {}\n", list(&r.healthy_alerted)));
    out.push_str(&format!("  opportunities raised for accounts at risk: {}\n", list(&r.opportunities_at_risk)));
    let kinds: Vec<String> = r.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    out.push_str(&format!(
        "Alerts after the first sweep: {} in {} days = {:.1} per 100 accounts per week (risk {:.1}, opportunity {:.1})\n  by kind: {}\n",
        r.risk_alerts + r.opportunity_alerts,
        r.days,
        r.per_100_per_week(None),
        r.per_100_per_week(Some(Severity::Risk)),
        r.per_100_per_week(Some(Severity::Opportunity)),
        kinds.join(", ")
    ));
    out.push_str("Lead time of the slow decliners (first risk alert -> cancellation):\n");
    for lead in &r.lead_times {
        match (&lead.first_alert, lead.days) {
            (Some(a), Some(days)) => out.push_str(&format!(
                "  {:<18} {days:>5.1} days  ({} on {}: \"{}\"; cancels {})\n",
                lead.account_id,
                a.kind,
                time::day_key(a.at),
                a.headline,
                time::day_key(lead.cancels_at)
            )),
            _ => out.push_str(&format!("  {:<18} no risk alert before it cancelled\n", lead.account_id)),
        }
    }
    out.push_str(&format!(
        "Repeated sweep at {}: {}\n",
        time::rfc3339(r.now),
        if r.repeated.is_empty() { "silent (no alert)".to_owned() } else { format!("raised {:?}", r.repeated) }
    ));
    let missed = r.missed_targets();
    out.push_str(&format!(
        "Targets (recall 100%, precision >= 90%, no healthy account alerted, repeated sweeps silent, lead time >= 21 days): {}\n",
        if missed.is_empty() { "met".to_owned() } else { format!("MISSED\n  {}", missed.join("\n  ")) }
    ));
    out
}

fn repository_path(relative: &str) -> PathBuf {
    let here = PathBuf::from(relative);
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

/// The repository's portfolio and the configuration it is written for.
pub fn default_portfolio() -> PathBuf {
    repository_path("events/portfolio")
}

/// The configuration the portfolio is written for (`foresight.example.toml`), no overrides: the
/// replay must not depend on the caller's environment.
pub fn settings_from(config: Option<&Path>) -> Result<Settings, String> {
    let path = config.map(Path::to_path_buf).unwrap_or_else(|| repository_path("foresight.example.toml"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Settings::parse(&text, &path.display().to_string()).map_err(|e| format!("invalid configuration: {e}"))
}

/// Every alert of the replay, one line each.
pub fn render_alerts(r: &Report) -> String {
    r.alerts
        .iter()
        .map(|a| {
            format!(
                "  {} {:<20} {:<20} {:<11} {:<7} {}\n",
                time::rfc3339(a.at),
                a.account_id,
                a.kind,
                a.severity.to_string(),
                a.band.as_deref().unwrap_or("-"),
                a.headline
            )
        })
        .collect()
}

/// `foresight calibrate`.
pub async fn command(
    portfolio: Option<PathBuf>,
    config: Option<PathBuf>,
    days: i64,
    check: bool,
    alerts: bool,
) -> Result<(), String> {
    let settings = settings_from(config.as_deref())?;
    let portfolio = portfolio.unwrap_or_else(default_portfolio);
    let report = run(&portfolio, settings, days).await?;
    if alerts {
        println!("Every alert of the replay (raised at, account, kind, severity, band, headline):");
        print!("{}", render_alerts(&report));
    }
    print!("{}", render(&report));
    let missed = report.missed_targets();
    if check && !missed.is_empty() {
        return Err(format!("{} calibration target(s) missed", missed.len()));
    }
    Ok(())
}
