//! The health sweep end to end over a portfolio of 53 accounts built from signed sample events of
//! all three sources (`events/portfolio/`, written by `events/generate_portfolio.py`), through
//! the local runner: every account scored with the band, reasons and missing inputs its cohort
//! calls for; the outbox holding exactly the alerts the cohorts call for, each once, the billing
//! ones raised by the Stripe webhook in real time and not again by the sweep; a second sweep at
//! the same `now` raising nothing; and a day later, only the new conditions alerting.

use foresight::server::{self, AppState};
use foresight::signing::{stripe_header, zendesk_headers};
use foresight_e2e::{now, RunnerStore, SECRET, SEGMENT_SECRET, TYPEFORM_SECRET, ZENDESK_SECRET};
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ingest::typeform::TypeformWebhook;
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::app::settings::Settings;
use foresight_shared::sources::segment::signature;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use foresight_shared::testkit::dynamodb_local_store;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The sample events' "now": every time in them is relative to it.
const NOW: &str = "2026-11-09T12:00:00Z";
const NEXT_DAY: &str = "2026-11-10T12:00:00Z";

/// The configuration the portfolio is written for.
const SETTINGS: &str = foresight_e2e::PORTFOLIO_SETTINGS;

/// Alert kinds the Stripe webhook raises as the event arrives; the sweep must not raise them again.
const WEBHOOK_KINDS: [&str; 2] = ["payment_failed", "cancel_at_period_end"];

/// One cohort of `events/portfolio` (accounts `acct_<name>_<NN>`, NN from 01) and what the first
/// sweep at [`NOW`] must find for each of its accounts.
struct Cohort {
    name: &'static str,
    count: usize,
    band: &'static str,
    /// Alert kinds raised for each account, by the webhook or the sweep.
    alerts: &'static [&'static str],
    /// (component, text its reason contains).
    reasons: &'static [(&'static str, &'static str)],
    /// Components left out for lack of data (`None`: checked per account below).
    missing: Option<&'static [&'static str]>,
    lifecycles: &'static [&'static str],
    /// The touch tier (`None`: low or tech touch, by ARR).
    segment: Option<&'static str>,
}

const COHORTS: [Cohort; 18] = [
    Cohort {
        name: "healthy",
        count: 20,
        band: "green",
        alerts: &[],
        reasons: &[
            ("usage", "vs 30-day rhythm"),
            ("adoption", "3 of 3 key features used in 30 days"),
            ("support", "no open tickets (1 in 30 days)"),
            ("sentiment", "CSAT 1 good / 0 bad in 30 days"),
            ("billing", "payments in good standing"),
        ],
        missing: Some(&[]),
        // Monthly plans (and one yearly plan) renew inside the 90-day window.
        lifecycles: &["adoption", "renewal"],
        segment: None,
    },
    Cohort {
        name: "hightouch",
        count: 3,
        band: "green",
        alerts: &[],
        reasons: &[("usage", "events +0% vs 30-day rhythm, 8 active users"), ("billing", "payments in good standing")],
        missing: Some(&[]),
        lifecycles: &["adoption"],
        segment: Some("high_touch"),
    },
    Cohort {
        name: "expansion",
        count: 4,
        band: "green",
        alerts: &["expansion"],
        reasons: &[("adoption", "3 of 3 key features used in 30 days"), ("billing", "payments in good standing")],
        missing: Some(&[]),
        lifecycles: &["expansion"],
        segment: None,
    },
    Cohort {
        name: "pastdue",
        count: 4,
        band: "yellow",
        alerts: &["payment_failed"],
        reasons: &[
            ("billing", "owed since 2026-11-03, payment failed 2×"),
            ("sentiment", "CSAT 1 good / 1 bad in 30 days"),
        ],
        missing: Some(&[]),
        lifecycles: &["renewal"],
        segment: None,
    },
    Cohort {
        name: "cancel",
        count: 4,
        band: "yellow",
        alerts: &["cancel_at_period_end"],
        reasons: &[("billing", "set to cancel at period end")],
        missing: Some(&[]),
        lifecycles: &["renewal"],
        segment: None,
    },
    Cohort {
        name: "urgent",
        count: 4,
        band: "yellow",
        alerts: &["urgent_tickets"],
        reasons: &[("support", "2 urgent tickets open"), ("billing", "payments in good standing")],
        missing: Some(&[]),
        lifecycles: &["adoption"],
        segment: None,
    },
    Cohort {
        name: "usagedrop",
        count: 4,
        band: "yellow",
        alerts: &["usage_drop"],
        reasons: &[("usage", "events -61% vs 30-day rhythm, 2 active users"), ("billing", "payments in good standing")],
        missing: Some(&[]),
        lifecycles: &["adoption"],
        segment: None,
    },
    Cohort {
        name: "stalled",
        count: 4,
        band: "yellow",
        alerts: &["onboarding_stalled"],
        reasons: &[("adoption", "0 of 3 key features used in 30 days"), ("billing", "payments in good standing")],
        missing: Some(&["support", "sentiment"]),
        lifecycles: &["onboarding"],
        segment: Some("tech_touch"),
    },
    Cohort {
        name: "nousage",
        count: 3,
        band: "green",
        alerts: &[],
        reasons: &[("billing", "payments in good standing"), ("renewal", "renewal in 22 days")],
        missing: None,
        lifecycles: &["onboarding"],
        segment: None,
    },
    Cohort {
        name: "churned",
        count: 2,
        band: "red",
        alerts: &[],
        reasons: &[("billing", "subscription ended"), ("usage", "no activity for 21 days")],
        missing: Some(&["renewal"]),
        lifecycles: &["churned"],
        segment: Some("tech_touch"),
    },
    Cohort {
        name: "atrisk",
        count: 1,
        band: "red",
        alerts: &["payment_failed", "urgent_tickets", "usage_drop"],
        reasons: &[
            ("billing", "owed since 2026-11-03, payment failed 2×"),
            ("support", "2 urgent tickets open"),
            ("usage", "events -53% vs 30-day rhythm, 2 active users"),
        ],
        missing: Some(&[]),
        lifecycles: &["renewal"],
        segment: Some("high_touch"),
    },
    // The archetypes of the labelled portfolio (`events/portfolio/labels.json`, `foresight
    // calibrate`): risks a CSM must hear about, and healthy shapes that must stay quiet.
    Cohort {
        name: "silent",
        count: 3,
        band: "yellow",
        alerts: &["onboarding_stalled"],
        reasons: &[("usage", "no product activity in"), ("adoption", "0 of 3 key features used in 30 days")],
        missing: None,
        lifecycles: &["onboarding"],
        segment: Some("tech_touch"),
    },
    Cohort {
        name: "neveronboarded",
        count: 2,
        band: "green",
        alerts: &["onboarding_stalled"],
        reasons: &[("billing", "payments in good standing")],
        missing: Some(&["usage", "adoption", "support", "sentiment"]),
        lifecycles: &["onboarding"],
        segment: Some("tech_touch"),
    },
    Cohort {
        name: "failedonly",
        count: 2,
        band: "yellow",
        alerts: &["payment_failed"],
        reasons: &[("billing", "past due: 240.00 USD owed since 2026-11-05, payment failed 1×")],
        missing: Some(&[]),
        lifecycles: &["adoption"],
        segment: Some("tech_touch"),
    },
    Cohort {
        name: "detractor",
        count: 2,
        band: "green",
        alerts: &["nps_detractor"],
        reasons: &[("sentiment", "NPS -100 (1 response in 90 days)")],
        missing: Some(&[]),
        lifecycles: &["adoption"],
        segment: None,
    },
    Cohort {
        name: "decline",
        count: 3,
        band: "yellow",
        alerts: &["usage_drop", "cancel_at_period_end"],
        reasons: &[("billing", "set to cancel at period end")],
        missing: Some(&[]),
        lifecycles: &["adoption", "renewal"],
        segment: Some("tech_touch"),
    },
    Cohort {
        name: "seasonal",
        count: 2,
        band: "green",
        alerts: &[],
        reasons: &[("billing", "payments in good standing")],
        missing: Some(&[]),
        lifecycles: &["adoption"],
        segment: Some("tech_touch"),
    },
    Cohort {
        name: "bigtickets",
        count: 1,
        band: "green",
        alerts: &[],
        reasons: &[("support", "2 open tickets")],
        missing: Some(&[]),
        lifecycles: &["adoption"],
        segment: Some("high_touch"),
    },
];

/// The accounts without analytics, and what their breakdown leaves out.
const NO_USAGE_MISSING: [(&str, &[&str]); 6] = [
    ("acct_nousage_01", &["usage", "adoption"]),
    ("acct_nousage_02", &["usage", "adoption", "sentiment"]),
    ("acct_nousage_03", &["usage", "adoption", "support", "sentiment"]),
    ("acct_silent_01", &[]),
    ("acct_silent_02", &[]),
    ("acct_silent_03", &[]),
];

/// Accounts of a mixed cohort whose contract value makes them high touch.
const HIGH_TOUCH_BY_ARR: [&str; 1] = ["acct_detractor_02"];

/// The survey answer behind each detractor alert, and who raised it: the sweep, for an answer
/// sent as the analytics convention and for a Typeform answer delivered weeks after it was given
/// (the webhook alerts at once only on a recent answer).
const DETRACTOR_EPISODES: [(&str, &str, &str); 2] = [
    ("acct_detractor_01", "tf-01TFDETRACTOR_01098", "health-sweep"),
    ("acct_detractor_02", "seg-nps-detractor_02-099", "health-sweep"),
];

fn account_ids(cohort: &Cohort) -> Vec<String> {
    (1..=cohort.count).map(|n| format!("acct_{}_{n:02}", cohort.name)).collect()
}

fn cohort_of(account_id: &str) -> &'static Cohort {
    COHORTS
        .iter()
        .find(|c| {
            account_id.strip_prefix("acct_").and_then(|r| r.strip_prefix(c.name)).is_some_and(|r| r.starts_with('_'))
        })
        .unwrap_or_else(|| panic!("{account_id} is in no cohort"))
}

// ------------------------------------------------------------------------------------ the runner

/// The local runner in-process, configured with [`SETTINGS`] for the sweep and the webhooks alike
/// (`foresight_e2e::start` uses the default settings, with no key features for the sweep).
struct Runner {
    url: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start<S: RunnerStore>(store: Arc<S>) -> Runner {
    let settings = Settings::parse(SETTINGS, "portfolio.toml").expect("valid settings");
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let zendesk = ZendeskWebhook::new(Some(ZENDESK_SECRET.to_owned()));
    let analytics = AnalyticsWebhook::new(Some(SEGMENT_SECRET.to_owned()), None, settings.analytics.clone());
    let typeform = TypeformWebhook::new(Some(TYPEFORM_SECRET.to_owned()), "account_id");
    let state = AppState::new(store, stripe)
        .with_zendesk(zendesk)
        .with_analytics(analytics)
        .with_typeform(typeform)
        .with_settings(settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(server::serve(listener, state));
    Runner { url, client: reqwest::Client::new(), task }
}

impl Runner {
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("runner answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs as Stripe does, at the current time (the verifier checks freshness), and posts.
    async fn post_stripe(&self, body: &[u8]) -> (u16, Value) {
        let request = self
            .client
            .post(format!("{}/webhooks/stripe", self.url))
            .header("stripe-signature", stripe_header(SECRET, now(), body))
            .body(body.to_vec());
        self.send(request).await
    }

    async fn post_zendesk(&self, body: &[u8], invocation_id: &str) -> (u16, Value) {
        let mut request = self.client.post(format!("{}/webhooks/zendesk", self.url)).body(body.to_vec());
        for (name, value) in zendesk_headers(ZENDESK_SECRET, now(), invocation_id, body) {
            request = request.header(name, value);
        }
        self.send(request).await
    }

    /// Signs a batch over its first element's bytes as sent, as Segment does.
    async fn post_segment(&self, body: &[u8]) -> (u16, Value) {
        let signed = signature::signed_bytes(body).unwrap_or(body);
        let request = self
            .client
            .post(format!("{}/webhooks/segment", self.url))
            .header("x-signature", signature::compute_signature(SEGMENT_SECRET, signed))
            .body(body.to_vec());
        self.send(request).await
    }

    async fn post_typeform(&self, body: &[u8]) -> (u16, Value) {
        let signature = foresight_shared::sources::typeform::signature::compute_signature(TYPEFORM_SECRET, body);
        let request = self
            .client
            .post(format!("{}/webhooks/typeform", self.url))
            .header("typeform-signature", signature)
            .body(body.to_vec());
        self.send(request).await
    }

    async fn sweep(&self, now: &str) -> Value {
        let (status, body) = self.send(self.client.post(format!("{}/sweeps/health?now={now}", self.url))).await;
        assert_eq!(status, 200, "sweep at {now}: {body}");
        body["summary"].clone()
    }

    /// Every record as of `now`, by account id.
    async fn records(&self, now: &str) -> BTreeMap<String, Value> {
        let (status, body) = self.send(self.client.get(format!("{}/accounts?now={now}", self.url))).await;
        assert_eq!(status, 200, "{body}");
        let accounts = body["accounts"].as_array().expect("an account list").clone();
        accounts.into_iter().map(|a| (a["account_id"].as_str().unwrap().to_owned(), a)).collect()
    }

    async fn outbox(&self) -> Vec<Value> {
        let (status, body) = self.send(self.client.get(format!("{}/outbox", self.url))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], body["notifications"].as_array().unwrap().len(), "{body}");
        body["notifications"].as_array().unwrap().clone()
    }
}

// ------------------------------------------------------------------------------------ the events

fn portfolio_dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/portfolio").join(sub)
}

/// The `*.json` files of a folder, in name (time) order.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run events/generate_portfolio.py)", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no events in {}", dir.display());
    paths
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Posts the Stripe events of `sub` and returns the alerts each answer reports, by dedupe key.
async fn post_stripe_folder(runner: &Runner, sub: &str) -> Vec<String> {
    let mut alerts = Vec::new();
    for (name, body) in files(&portfolio_dir(sub)) {
        let (status, answer) = runner.post_stripe(&body).await;
        assert_eq!(status, 200, "{sub}/{name}: {answer}");
        assert_eq!(answer["outcome"], "applied", "{sub}/{name}: {answer}");
        alerts.extend(answer["alerts"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()));
    }
    alerts
}

async fn post_zendesk_folder(runner: &Runner, sub: &str) {
    for (name, body) in files(&portfolio_dir(sub)) {
        let (status, answer) = runner.post_zendesk(&body, &format!("inv-{name}")).await;
        assert_eq!(status, 200, "{sub}/{name}: {answer}");
        assert_eq!(answer["outcome"], "applied", "{sub}/{name}: {answer}");
    }
}

// ------------------------------------------------------------------------------------ reading

fn component<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    record["health"]["components"].as_array()?.iter().find(|c| c["name"] == name)
}

fn reason<'a>(record: &'a Value, name: &str) -> &'a str {
    component(record, name)
        .and_then(|c| c["reason"].as_str())
        .unwrap_or_else(|| panic!("{}: no {name} component in {}", record["account_id"], record["health"]))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn day(rfc3339: &Value) -> String {
    rfc3339.as_str().unwrap_or_else(|| panic!("not a time: {rfc3339}"))[..10].to_owned()
}

/// The dedupe key an alert of `kind` has on `record` when raised by a sweep (or a webhook) at NOW.
fn expected_key(record: &Value, kind: &str) -> String {
    let id = record["account_id"].as_str().unwrap();
    let billing = &record["billing"];
    let episode = match kind {
        "payment_failed" => billing["failed_invoice"].as_str().expect("a failed invoice").to_owned(),
        "cancel_at_period_end" => {
            let sub = &billing["subscriptions"][0];
            format!("{}/{}", sub["id"].as_str().unwrap(), day(&sub["renewal_at"]))
        }
        "onboarding_stalled" => day(&billing["subscriptions"][0]["started_at"]),
        // A spike is one episode from the day its oldest open urgent ticket was created.
        "urgent_tickets" => day(&record["support"]["urgent_since"]),
        "usage_drop" | "expansion" => NOW[..10].to_owned(),
        "nps_detractor" => {
            DETRACTOR_EPISODES.iter().find(|(a, _, _)| *a == id).map(|(_, e, _)| e.to_string()).expect("listed")
        }
        other => panic!("no episode rule for {other}"),
    };
    format!("{id}/{kind}/{episode}")
}

fn keys(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| e["dedupe_key"].as_str().unwrap().to_owned()).collect()
}

fn by_key(entries: &[Value]) -> BTreeMap<String, &Value> {
    entries.iter().map(|e| (e["dedupe_key"].as_str().unwrap().to_owned(), e)).collect()
}

// ------------------------------------------------------------------------------------ the test

/// Posts the portfolio: billing first, then support, then analytics (whose group calls link the
/// Stripe customers and Zendesk organizations that named no account, merging what waited for
/// them), then the Typeform survey answers. Returns the alerts the Stripe webhook answered with,
/// and the Typeform webhook's.
async fn load(runner: &Runner) -> Vec<String> {
    let mut webhook_alerts = post_stripe_folder(runner, "stripe").await;
    post_zendesk_folder(runner, "zendesk").await;
    for (name, body) in files(&portfolio_dir("segment")) {
        let (status, answer) = runner.post_segment(&body).await;
        assert_eq!(status, 200, "segment/{name}: {answer}");
        assert_eq!(answer["ignored"], 0, "segment/{name}: {answer}");
    }
    for (name, body) in files(&portfolio_dir("typeform")) {
        let (status, answer) = runner.post_typeform(&body).await;
        assert_eq!(status, 200, "typeform/{name}: {answer}");
        webhook_alerts.extend(strings(&answer["alerts"]));
    }
    webhook_alerts
}

async fn portfolio_sweep<S: RunnerStore>(store: Arc<S>) {
    let runner = start(store).await;
    let total: usize = COHORTS.iter().map(|c| c.count).sum();
    assert_eq!(total, 68);
    let webhook_alerts = load(&runner).await;

    // ---- 1. a sweep at NOW scores every account, as its cohort calls for.
    let first = runner.sweep(NOW).await;
    assert_eq!(first["scored"], total, "{first}");
    let records = runner.records(NOW).await;
    let expected_ids: BTreeSet<String> = COHORTS.iter().flat_map(account_ids).collect();
    assert_eq!(
        records.keys().cloned().collect::<BTreeSet<_>>(),
        expected_ids,
        "one record per account, no provisional record left over"
    );
    let mut expected_bands: BTreeMap<String, usize> = BTreeMap::new();
    for cohort in &COHORTS {
        *expected_bands.entry(cohort.band.to_owned()).or_default() += cohort.count;
    }
    assert_eq!(
        serde_json::from_value::<BTreeMap<String, usize>>(first["bands"].clone()).unwrap(),
        expected_bands,
        "{first}"
    );
    let mut problems = Vec::new();
    for (id, record) in &records {
        let cohort = cohort_of(id);
        let health = &record["health"];
        let mut check = |ok: bool, what: String| {
            if !ok {
                problems.push(format!("{id}: {what}\n    health: {health}"));
            }
        };
        check(health["scored_at"] == NOW, format!("scored_at {}", health["scored_at"]));
        check(health["band"] == cohort.band, format!("band {} (expected {})", health["band"], cohort.band));
        let score = health["score"].as_i64().unwrap_or(-1);
        let points: i64 =
            health["components"].as_array().map_or(-1, |c| c.iter().map(|c| c["points"].as_i64().unwrap()).sum());
        check(points == score, format!("points add up to {points}, score {score}"));
        let weights: f64 =
            health["components"].as_array().map_or(0.0, |c| c.iter().map(|c| c["weight"].as_f64().unwrap()).sum());
        check((weights - 1.0).abs() < 0.01, format!("weights sum to {weights}"));
        // A monthly plan has no contract renewal: the renewal component is missing, and the stage
        // is never "renewal" at its month end.
        let monthly = record["billing"]["contract_renewal_at"].is_null();
        for (name, text) in cohort.reasons.iter().filter(|(name, _)| !(monthly && *name == "renewal")) {
            let found = component(record, name).and_then(|c| c["reason"].as_str()).unwrap_or("(no component)");
            check(found.contains(text), format!("{name} reason {found:?} should contain {text:?}"));
        }
        let mut missing: Vec<&str> = match cohort.missing {
            Some(missing) => missing.to_vec(),
            None => NO_USAGE_MISSING.iter().find(|(a, _)| a == id).map(|(_, m)| m.to_vec()).expect("listed"),
        };
        if monthly && !missing.contains(&"renewal") {
            missing.push("renewal");
        }
        check(
            health["missing"] == serde_json::json!(missing),
            format!("missing {} (expected {missing:?})", health["missing"]),
        );
        let named: BTreeSet<String> = health["components"]
            .as_array()
            .map_or(BTreeSet::new(), |c| c.iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect());
        check(
            missing.iter().all(|m| !named.contains(*m)) && named.len() + missing.len() == 6,
            format!("components {named:?}"),
        );
        let lifecycle = health["lifecycle"].as_str().unwrap_or("");
        let lifecycles: Vec<&str> = cohort
            .lifecycles
            .iter()
            .map(|stage| if monthly && *stage == "renewal" { "adoption" } else { stage })
            .collect();
        check(lifecycles.contains(&lifecycle), format!("lifecycle {lifecycle} (expected one of {lifecycles:?})"));
        match cohort.segment {
            Some(segment) => check(health["segment"] == segment, format!("segment {}", health["segment"])),
            None if HIGH_TOUCH_BY_ARR.contains(&id.as_str()) => {
                check(health["segment"] == "high_touch", format!("segment {}", health["segment"]))
            }
            None => check(health["segment"] != "high_touch", format!("segment {}", health["segment"])),
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));

    // ---- 2. the outbox holds exactly the cohorts' alerts, once each.
    let expected: BTreeSet<String> = records
        .iter()
        .flat_map(|(id, record)| cohort_of(id).alerts.iter().map(move |kind| expected_key(record, kind)))
        .collect();
    let outbox = runner.outbox().await;
    let outbox_keys = keys(&outbox);
    let unique: BTreeSet<String> = outbox_keys.iter().cloned().collect();
    assert_eq!(unique.len(), outbox_keys.len(), "a dedupe key twice in the outbox: {outbox_keys:?}");
    let missing: Vec<_> = expected.difference(&unique).collect();
    let unexpected: Vec<_> = unique.difference(&expected).collect();
    assert!(missing.is_empty() && unexpected.is_empty(), "outbox: missing {missing:?}, unexpected {unexpected:?}");
    let raised_by_webhook = |key: &str| {
        WEBHOOK_KINDS.iter().any(|k| key.contains(&format!("/{k}/")))
            || DETRACTOR_EPISODES
                .iter()
                .any(|(a, e, by)| *by != "health-sweep" && key == format!("{a}/nps_detractor/{e}"))
    };
    let is_webhook_kind = raised_by_webhook;
    for entry in &outbox {
        let key = entry["dedupe_key"].as_str().unwrap();
        let alert = &entry["alert"];
        assert_eq!(alert["dedupe_key"], key);
        assert_eq!(entry["status"], "pending", "nothing delivers in this runner: {entry}");
        let by = match DETRACTOR_EPISODES.iter().find(|(a, e, _)| key == format!("{a}/nps_detractor/{e}")) {
            Some((_, _, by)) => *by,
            None if is_webhook_kind(key) => "stripe-webhook",
            None => "health-sweep",
        };
        assert_eq!(alert["raised_by"], by, "{key}: {alert}");
        let prefix = format!("{}/{}/", alert["account_id"].as_str().unwrap(), alert["kind"].as_str().unwrap());
        assert!(key.starts_with(&prefix), "{key}: {alert}");
        let severity = if alert["kind"] == "expansion" { "opportunity" } else { "risk" };
        assert_eq!(alert["severity"], severity, "{alert}");
    }
    // The webhook answered with the billing alerts as they arrived...
    let webhook_expected: BTreeSet<String> = expected.iter().filter(|k| is_webhook_kind(k)).cloned().collect();
    assert_eq!(webhook_alerts.len(), webhook_expected.len(), "each raised once: {webhook_alerts:?}");
    assert_eq!(webhook_alerts.iter().cloned().collect::<BTreeSet<_>>(), webhook_expected);
    // ...and the sweep raised the rest, and none of those.
    let sweep_expected: Vec<String> = expected.iter().filter(|k| !is_webhook_kind(k)).cloned().collect();
    assert_eq!(strings(&first["alerts"]), sweep_expected, "the first sweep's alerts");
    // Sweep alerts carry the score they were raised with; the high-touch one names its tier.
    let entries = by_key(&outbox);
    let atrisk_usage = entries["acct_atrisk_01/usage_drop/2026-11-09"];
    assert_eq!(atrisk_usage["alert"]["score"], records["acct_atrisk_01"]["health"]["score"]);
    assert_eq!(atrisk_usage["alert"]["tier"], "high_touch");
    assert_eq!(atrisk_usage["alert"]["headline"], "usage -60% week over week");
    assert_eq!(entries["acct_usagedrop_01/usage_drop/2026-11-09"]["alert"]["headline"], "usage -67% week over week");
    assert_eq!(
        entries["acct_expansion_03/expansion/2026-11-09"]["alert"]["headline"],
        "9 of 10 seats active this week (90%)"
    );
    let urgent_key = expected_key(&records["acct_urgent_01"], "urgent_tickets");
    assert_eq!(entries[urgent_key.as_str()]["alert"]["headline"], "2 urgent tickets open");
    assert_eq!(
        entries["acct_stalled_01/onboarding_stalled/2026-10-20"]["alert"]["headline"],
        "no first value 20 days after the start"
    );

    // ---- 3. a second sweep at the same NOW scores everything again and raises nothing.
    let again = runner.sweep(NOW).await;
    assert_eq!(again["scored"], total, "{again}");
    assert_eq!(again["alerts"], serde_json::json!([]), "{again}");
    assert_eq!(again["bands"], first["bands"]);
    assert_eq!(runner.outbox().await.len(), outbox.len(), "the outbox is unchanged");
    assert_eq!(runner.records(NOW).await, records, "a second sweep at the same now changes no record");

    // ---- 4. a day later: only the new conditions alert.
    let later_webhook_alerts = post_stripe_folder(&runner, "next-day/stripe").await;
    assert_eq!(
        later_webhook_alerts,
        ["acct_healthy_05/payment_failed/in_healthy_05_seats", "acct_pastdue_01/payment_failed/in_pastdue_01_addon"],
        "a new failed invoice is a new dunning episode, raised by the webhook at once"
    );
    post_zendesk_folder(&runner, "next-day/zendesk").await;
    let next = runner.sweep(NEXT_DAY).await;
    assert_eq!(next["scored"], total, "{next}");
    assert_eq!(
        strings(&next["alerts"]),
        ["acct_healthy_07/urgent_tickets/2026-11-09"],
        "only the new urgent-ticket spike (named by its oldest open ticket): acct_urgent_01 is the same spike, the failed invoices were raised by the webhook"
    );
    // One account changed band overnight: acct_healthy_05 owes a failed invoice now (past due caps
    // at yellow), and its payment_failed alert is the one alert of that cause (no band_drop).
    let mut bands_after = first["bands"].clone();
    bands_after["green"] = (first["bands"]["green"].as_i64().unwrap() - 1).into();
    bands_after["yellow"] = (first["bands"]["yellow"].as_i64().unwrap() + 1).into();
    assert_eq!(next["bands"], bands_after, "{next}");
    let after = runner.outbox().await;
    assert_eq!(after.len(), outbox.len() + 3, "{:?}", keys(&after));
    let new_keys: BTreeSet<String> = keys(&after).into_iter().filter(|k| !unique.contains(k)).collect();
    assert_eq!(
        new_keys,
        [
            "acct_healthy_05/payment_failed/in_healthy_05_seats",
            "acct_healthy_07/urgent_tickets/2026-11-09",
            "acct_pastdue_01/payment_failed/in_pastdue_01_addon",
        ]
        .map(String::from)
        .into()
    );
    let later = by_key(&after);
    assert_eq!(later["acct_healthy_05/payment_failed/in_healthy_05_seats"]["alert"]["raised_by"], "stripe-webhook");
    assert_eq!(later["acct_pastdue_01/payment_failed/in_pastdue_01_addon"]["alert"]["raised_by"], "stripe-webhook");
    assert_eq!(later["acct_healthy_07/urgent_tickets/2026-11-09"]["alert"]["raised_by"], "health-sweep");
    // Raised between sweeps, the webhook's alert carries the score computed at that moment (the
    // second failed invoice counted), lower than the last stored one, with its band.
    let addon = &later["acct_pastdue_01/payment_failed/in_pastdue_01_addon"]["alert"];
    let score = addon["score"].as_i64().expect("scored at once");
    assert!(score < records["acct_pastdue_01"]["health"]["score"].as_i64().unwrap(), "{addon}");
    let band = match score {
        ..40 => "red",
        40..70 => "yellow",
        _ => "green",
    };
    assert_eq!(addon["band"], band, "{addon}");
    let next_records = runner.records(NEXT_DAY).await;
    let healthy_05 = reason(&next_records["acct_healthy_05"], "billing");
    assert!(healthy_05.starts_with("past due: ") && healthy_05.ends_with("payment failed 1×"), "{healthy_05}");
    assert_eq!(reason(&next_records["acct_healthy_07"], "support"), "2 urgent tickets open");
    assert_eq!(reason(&next_records["acct_urgent_01"], "support"), "3 urgent tickets open");
    assert!(reason(&next_records["acct_pastdue_01"], "billing").ends_with("payment failed 3×"));
    for (id, record) in &next_records {
        assert_eq!(record["health"]["scored_at"], NEXT_DAY, "{id}");
        if id != "acct_healthy_05" {
            assert_eq!(record["health"]["band"], records[id]["health"]["band"], "{id}: no band drop");
        }
    }
    assert_eq!(next_records["acct_healthy_05"]["health"]["band"], "yellow");
}

#[tokio::test]
async fn portfolio_sweep_in_memory() {
    portfolio_sweep(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn portfolio_sweep_on_dynamodb_local() {
    portfolio_sweep(Arc::new(dynamodb_local_store("portfolio-sweep").await)).await;
}

/// The record `GET /accounts` serves says which lifecycle stage the account is in, and the list
/// filters by it; the runner is configured with a first-value event, so an account that has not
/// reached first value is onboarding there as in its health breakdown.
#[tokio::test]
async fn records_show_the_configured_lifecycle() {
    let runner = start(Arc::new(MemoryStore::new())).await;
    load(&runner).await;
    runner.sweep(NOW).await;
    let records = runner.records(NOW).await;
    let disagree: Vec<String> = records
        .iter()
        .filter(|(_, r)| r["lifecycle"] != r["health"]["lifecycle"])
        .map(|(id, r)| format!("{id}: record {}, health {}", r["lifecycle"], r["health"]["lifecycle"]))
        .collect();
    assert!(disagree.is_empty(), "{disagree:#?}");
    let (status, body) =
        runner.send(runner.client.get(format!("{}/accounts?lifecycle=onboarding&now={NOW}", runner.url))).await;
    assert_eq!(status, 200, "{body}");
    let onboarding: BTreeSet<String> =
        body["accounts"].as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap().to_owned()).collect();
    let expected: BTreeSet<String> =
        COHORTS.iter().filter(|c| c.lifecycles == ["onboarding"]).flat_map(account_ids).collect();
    assert_eq!(onboarding, expected);
}

/// An account that has used the product the same way every day since it started 20 days ago
/// is steady: "events +0%" and the steady value 70, not "+50%" and 100 because its 30-day
/// rhythm is averaged over 30 days it did not exist for.
#[tokio::test]
async fn a_young_accounts_steady_usage_scores_steady() {
    let runner = start(Arc::new(MemoryStore::new())).await;
    load(&runner).await;
    runner.sweep(NOW).await;
    let records = runner.records(NOW).await;
    // acct_stalled_01: 6 events a day from 2 users every day since its trial began 20 days ago.
    let usage = component(&records["acct_stalled_01"], "usage").expect("a usage component").clone();
    assert_eq!(records["acct_stalled_01"]["usage"]["events_30d"], 120);
    assert_eq!(records["acct_stalled_01"]["usage"]["events_7d"], 42);
    assert_eq!(usage["reason"], "events +0% vs 30-day rhythm, 2 active users", "{usage}");
    assert_eq!(usage["score"], 70, "{usage}");
}
