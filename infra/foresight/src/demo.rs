//! `foresight demo`, `send` and `link`: drive a runner over HTTP, as a user or a source would.

use crate::server;
use crate::signing::{stripe_header, zendesk_headers};
use crate::StoreKind;
use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ingest::typeform::TypeformWebhook;
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account::UNLINKED_SURVEYS;
use foresight_shared::domain::alert;
use foresight_shared::domain::health::HealthScore;
use foresight_shared::domain::usage::AnalyticsConfig;
use foresight_shared::runtime::clock::unix_now;
use foresight_shared::sources::segment::signature as segment_signature;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use foresight_shared::sources::typeform::signature as typeform_signature;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The demo's sweeps run as of this time, a day after the sample week, so its output does not
/// change with the calendar.
pub const DEMO_NOW: &str = "2026-11-09T12:00:00Z";

/// The signing secrets the demo configures and signs with (never real ones).
pub const DEMO_STRIPE_SECRET: &str = "whsec_foresight_demo_secret";
pub const DEMO_ZENDESK_SECRET: &str = "zendesk_foresight_demo_secret";
pub const DEMO_SEGMENT_SECRET: &str = "segment_foresight_demo_secret";
pub const DEMO_TYPEFORM_SECRET: &str = "typeform_foresight_demo_secret";

/// The secrets `send` signs with, per source.
#[derive(Clone, Debug, Default)]
pub struct SigningSecrets {
    pub stripe: Option<String>,
    pub zendesk: Option<String>,
    pub segment: Option<String>,
    pub typeform: Option<String>,
}

impl SigningSecrets {
    pub fn demo() -> Self {
        SigningSecrets {
            stripe: Some(DEMO_STRIPE_SECRET.into()),
            zendesk: Some(DEMO_ZENDESK_SECRET.into()),
            segment: Some(DEMO_SEGMENT_SECRET.into()),
            typeform: Some(DEMO_TYPEFORM_SECRET.into()),
        }
    }
}

fn default_events_dir() -> PathBuf {
    let here = PathBuf::from("events");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// Event files under `paths`, folders expanded and sorted by name.
fn event_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Signs each file as its source does (named by its folder: `stripe/`, `zendesk/`, `segment/` or
/// `typeform/`) and posts it. Returns how many were accepted (2xx).
pub async fn send(url: &str, paths: &[PathBuf], secrets: &SigningSecrets) -> Result<usize, String> {
    let client = reqwest::Client::new();
    let files = event_files(paths)?;
    let mut accepted = 0;
    for file in &files {
        let body = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let source = file.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let missing = |var: &str| format!("{name}: no secret to sign it with (set {var})");
        let request = match source.as_deref() {
            Some("stripe") => {
                let secret = secrets.stripe.as_deref().ok_or_else(|| missing("STRIPE_WEBHOOK_SECRET"))?;
                client
                    .post(format!("{url}/webhooks/stripe"))
                    .header("stripe-signature", stripe_header(secret, unix_now(), &body))
            }
            Some("zendesk") => {
                let secret = secrets.zendesk.as_deref().ok_or_else(|| missing("ZENDESK_WEBHOOK_SECRET"))?;
                let invocation = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let mut request = client.post(format!("{url}/webhooks/zendesk"));
                for (header, value) in zendesk_headers(secret, unix_now(), &invocation, &body) {
                    request = request.header(header, value);
                }
                request
            }
            Some("segment") => {
                let secret = secrets.segment.as_deref().ok_or_else(|| missing("SEGMENT_SHARED_SECRET"))?;
                let signed = segment_signature::signed_bytes(&body).unwrap_or(&body);
                let signature = segment_signature::compute_signature(secret, signed);
                client.post(format!("{url}/webhooks/segment")).header("x-signature", signature)
            }
            Some("typeform") => {
                let secret = secrets.typeform.as_deref().ok_or_else(|| missing("TYPEFORM_WEBHOOK_SECRET"))?;
                client
                    .post(format!("{url}/webhooks/typeform"))
                    .header("typeform-signature", typeform_signature::compute_signature(secret, &body))
            }
            other => {
                return Err(format!(
                    "{}: put event files in a stripe/, zendesk/, segment/ or typeform/ folder (found {other:?})",
                    file.display()
                ))
            }
        };
        let response = request
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot post to {url}: {e}"))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let detail = answer
            .get("outcome")
            .map(|o| format!("{} -> {}", o.as_str().unwrap_or("?"), answer["account_id"].as_str().unwrap_or("-")))
            .or_else(|| {
                let accounts = answer.get("accounts")?.as_object()?.keys().cloned().collect::<Vec<_>>().join(", ");
                Some(format!("{} messages -> {accounts}", answer["messages"]))
            })
            .or_else(|| answer.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        println!("  {} {name:<48} {detail}", status.as_u16());
        if status.is_success() {
            accepted += 1;
        }
    }
    Ok(accepted)
}

/// The key features and first-value event the sample analytics events are written for.
pub fn demo_analytics_config() -> AnalyticsConfig {
    AnalyticsConfig {
        key_features: ["Report Exported", "Dashboard Shared", "Integration Connected"].map(String::from).into(),
        first_value_event: Some("Report Exported".into()),
        ..Default::default()
    }
}

/// Sends a request and reads its JSON answer; any failure as a message.
async fn json_of(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let response = request.send().await.and_then(|r| r.error_for_status()).map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

pub async fn run(store: StoreKind, events: Option<PathBuf>) -> Result<(), String> {
    let events = events.unwrap_or_else(default_events_dir);
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(DEMO_STRIPE_SECRET, None)), "account_id");
    let zendesk = ZendeskWebhook::new(Some(DEMO_ZENDESK_SECRET.into()));
    let analytics = AnalyticsWebhook::new(Some(DEMO_SEGMENT_SECRET.into()), None, demo_analytics_config());
    let settings = Settings::default().with_analytics(demo_analytics_config());
    let typeform = TypeformWebhook::new(Some(DEMO_TYPEFORM_SECRET.into()), settings.surveys.hidden_field.clone());
    let state = server::state(store, stripe)
        .await?
        .with_zendesk(zendesk)
        .with_analytics(analytics)
        .with_typeform(typeform)
        .with_settings(settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let server = tokio::spawn(server::serve(listener, state));

    let folders = [events.join("stripe"), events.join("zendesk"), events.join("segment"), events.join("typeform")];
    println!("\nPosting the signed sample events from {}:", events.display());
    let files = event_files(&folders)?;
    let accepted = send(&url, &folders, &SigningSecrets::demo()).await?;
    println!("\nLinking Zendesk organization 8201 to acct_globex (its tickets arrived before the link):");
    link(&url, "zendesk", "8201", "acct_globex").await?;

    println!("\nHealth sweep as of {DEMO_NOW} (POST /sweeps/health?now=...):");
    let client = reqwest::Client::new();
    let sweep = json_of(client.post(format!("{url}/sweeps/health?now={DEMO_NOW}"))).await?;
    println!("  {}", sweep["summary"]);

    let accounts = json_of(client.get(format!("{url}/accounts?now={DEMO_NOW}"))).await?;
    println!("\nAccount records (GET {url}/accounts?now={DEMO_NOW}):");
    println!("{}", serde_json::to_string_pretty(&accounts).unwrap_or_default());
    println!("\nSummary:");
    for a in accounts["accounts"].as_array().into_iter().flatten() {
        // The holder of survey answers that named no account is no account: say what it holds.
        if a["account_id"] == UNLINKED_SURVEYS {
            let answers = a["surveys"]["nps_responses_90d"].as_i64().unwrap_or(0);
            println!("  ({UNLINKED_SURVEYS}: {answers} survey answer(s) that named no account, kept for the 90-day NPS window)");
            continue;
        }
        let h = &a["health"];
        // The rule of the dashboard's "top reason" (billing cap, costliest weak components,
        // else what is missing), two of them.
        let top = serde_json::from_value::<HealthScore>(h.clone())
            .map(|scored| alert::list_reasons(&scored, 2))
            .unwrap_or_default();
        println!(
            "  {:<16} health {:>3} {:<6} {}",
            a["account_id"].as_str().unwrap_or("?"),
            h["score"],
            h["band"].as_str().unwrap_or("-"),
            top.join("; ")
        );
        let b = &a["billing"];
        println!(
            "  {:<16} {:<11} {:<10} status {:<9} MRR {:>8.2} {}  renews {}  failed payments {}  open tickets {} (urgent {})  events 30d {}  features {}",
            a["account_id"].as_str().unwrap_or("?"),
            a["segment"].as_str().unwrap_or("?"),
            a["lifecycle"].as_str().unwrap_or("?"),
            b["status"].as_str().unwrap_or("-"),
            b["mrr"].as_i64().unwrap_or(0) as f64 / 100.0,
            b["currency"].as_str().unwrap_or(""),
            b["renewal_at"].as_str().unwrap_or("-"),
            b["failed_payments"],
            a["support"]["open_tickets"],
            a["support"]["urgent_open_tickets"],
            a["usage"]["events_30d"],
            a["usage"]["features_used_30d"].as_array().map_or(0, Vec::len),
        );
    }
    server.abort();
    if accepted != files.len() {
        return Err(format!("{} of {} sample events were refused", files.len() - accepted, files.len()));
    }
    Ok(())
}

pub async fn link(url: &str, source: &str, external_id: &str, account_id: &str) -> Result<(), String> {
    let response = reqwest::Client::new()
        .post(format!("{url}/links"))
        .json(&json!({ "source": source, "external_id": external_id, "account_id": account_id }))
        .send()
        .await
        .map_err(|e| format!("cannot reach the runner at {url}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{status}: {}", body["error"].as_str().unwrap_or("")));
    }
    println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    Ok(())
}
