//! Page weight and time to first render of the dashboard with 1,000 accounts, measured in
//! Debian's headless Chromium (playwright-core): the bytes of the HTML, CSS and script the page
//! loads, and from navigation start the first contentful paint and the moment every panel is
//! drawn with data (the page's `foresight-rendered` mark). Prints figures; asserts nothing about
//! time. Run: `cargo bench -p foresight-e2e --bench dashboard_render`.

use foresight_e2e::browser;
use foresight_shared::adapters::memory::MemoryStore;
use serde_json::{json, Value};
use std::sync::Arc;

const ACCOUNTS: usize = 1_000;
const RUNS: usize = 5;

/// A subscription of account `i`, created a few months ago; some cancel at period end, some
/// are past due, so that every band shows.
fn subscription_event(i: usize, now: i64) -> Vec<u8> {
    let day = 86_400;
    let status = if i.is_multiple_of(13) { "past_due" } else { "active" };
    let amount = 2_000 + (i * 7_919) % 60_000;
    let start = now - (30 + (i % 300) as i64) * day;
    serde_json::to_vec(&json!({
        "id": format!("evt_bench_{i}"), "object": "event", "type": "customer.subscription.created",
        "created": start, "livemode": false, "api_version": "2025-03-31.basil",
        "data": {"object": {
            "id": format!("sub_bench_{i}"), "object": "subscription", "customer": format!("cus_bench_{i}"),
            "status": status, "currency": "usd", "metadata": {"account_id": format!("acct_bench_{i:04}")},
            "cancel_at_period_end": i.is_multiple_of(9), "start_date": start, "ended_at": null, "discounts": [],
            "items": {"object": "list", "data": [{"id": format!("si_bench_{i}"), "quantity": 1,
                "current_period_end": now + ((i % 120) as i64 + 1) * day,
                "price": {"id": "price_bench", "unit_amount": amount, "currency": "usd",
                          "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}}]},
        }},
    }))
    .unwrap()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    browser::install();
    let runner = foresight_e2e::start(Arc::new(MemoryStore::new()), Some(foresight_e2e::SECRET)).await;
    let now = foresight_e2e::now();
    for i in 0..ACCOUNTS {
        let (status, answer) = runner.post_stripe(&subscription_event(i, now)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let sweep: Value =
        runner.client.post(format!("{}/sweeps/health", runner.url)).send().await.unwrap().json().await.unwrap();
    println!("portfolio: {ACCOUNTS} accounts, sweep {}", sweep["summary"]["bands"]);
    let (_, listed) = runner.get("/accounts?view=summary").await;
    let accounts_json = listed.to_string().len();
    let (_, records) = runner.get("/accounts").await;
    assert!(records.get("next").is_none(), "the whole records of {ACCOUNTS} accounts fit one page");
    let records_json = records.to_string().len();
    // What the page waits for on the server side (this build's profile, on this machine); the
    // page reads the summary view, the whole records are for comparison.
    for path in ["/accounts?view=summary", "/accounts", "/kpis"] {
        let started = std::time::Instant::now();
        let (status, _) = runner.get(path).await;
        assert_eq!(status, 200);
        println!("GET {path}: {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
    }

    let mut paints = Vec::new();
    let mut figures = Vec::new();
    let mut rendered = Vec::new();
    let mut weight = Value::Null;
    for run in 0..RUNS {
        let url = format!("{}/", runner.url);
        let shot = (run == 0).then(|| browser::artifacts().join("dashboard-1000.png"));
        let seen = tokio::task::spawn_blocking(move || browser::check_page(&url, shot, None, false)).await.unwrap();
        assert_eq!(seen["errors"], json!([]));
        paints.push(seen["timing"]["first_contentful_paint_ms"].as_f64().unwrap_or(f64::NAN));
        figures.push(seen["timing"]["figures_rendered_ms"].as_f64().unwrap());
        rendered.push(seen["timing"]["data_rendered_ms"].as_f64().unwrap());
        weight = seen["weight"].clone();
    }
    let total: u64 = ["html", "css", "js"].iter().map(|k| weight[k].as_u64().unwrap()).sum();
    println!(
        "page weight: {total} bytes (html {}, css {}, js {}), uncompressed",
        weight["html"], weight["css"], weight["js"]
    );
    println!(
        "data read by the page: GET /accounts?view=summary {accounts_json} bytes (the whole records: {records_json}) + 6 x GET /kpis"
    );
    println!("first contentful paint: median {:.0} ms of {RUNS} loads ({paints:?})", median(paints.clone()));
    println!(
        "KPI figures and charts drawn: median {:.0} ms from navigation start ({figures:?})",
        median(figures.clone())
    );
    println!(
        "every panel drawn with {ACCOUNTS} accounts: median {:.0} ms from navigation start ({rendered:?})",
        median(rendered.clone())
    );
}
