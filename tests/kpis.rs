//! `GET /kpis` through the runner, from signed Stripe events posted in a shuffled order and each
//! twice, in memory and on DynamoDB Local: exactly the numbers worked out by hand in
//! `shared/tests/kpi_rules.rs` (the same portfolio: an annual plan, an upgrade, a downgrade, a
//! cancel at period end, a churn and a reactivation, a trial converting, a 100% discount, a
//! refund, EUR with a rate and JPY without).

use foresight::server::{self, AppState};
use foresight_e2e::{RunnerStore, SECRET, TYPEFORM_SECRET};
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ingest::typeform::TypeformWebhook;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::time;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use foresight_shared::testkit::dynamodb_local_store;
use serde_json::{json, Value};
use std::sync::Arc;

fn t(text: &str) -> i64 {
    time::parse(text).unwrap()
}

/// One subscription event as Stripe sends it (current API shape: period dates on the items).
struct Sub<'a> {
    account: &'a str,
    sub: &'a str,
    status: &'a str,
    amount: i64,
    interval: &'a str,
    currency: &'a str,
    percent_off: Option<f64>,
    cancel_at_period_end: bool,
    ended_at: Option<&'a str>,
    period_end: &'a str,
}

fn sub<'a>(account: &'a str, sub: &'a str, amount: i64) -> Sub<'a> {
    Sub {
        account,
        sub,
        status: "active",
        amount,
        interval: "month",
        currency: "usd",
        percent_off: None,
        cancel_at_period_end: false,
        ended_at: None,
        period_end: "2026-11-30T00:00:00Z",
    }
}

/// When each subscription started (the same on all its events).
fn start_of(sub: &str) -> &'static str {
    match sub {
        "sub_acme" => "2025-09-10T10:00:00Z",
        "sub_globex" => "2024-12-01T00:00:00Z",
        "sub_initech" => "2025-08-01T00:00:00Z",
        "sub_hooli" => "2025-07-01T00:00:00Z",
        "sub_umbrella" => "2025-05-01T00:00:00Z",
        "sub_umbrella2" => "2026-10-20T00:00:00Z",
        "sub_vandelay" => "2026-10-02T00:00:00Z",
        "sub_soylent" => "2026-01-10T00:00:00Z",
        "sub_stark" => "2026-02-01T00:00:00Z",
        _ => "2025-12-01T00:00:00Z",
    }
}

fn event(id: &str, kind: &str, created: &str, s: &Sub, previous: Option<Value>) -> Vec<u8> {
    let discounts: Vec<Value> = s
        .percent_off
        .map(|p| json!({"id": "di_1", "source": {"type": "coupon", "coupon": {"id": "partner", "percent_off": p, "duration": "forever"}}}))
        .into_iter()
        .collect();
    let mut data = json!({"object": {
        "id": s.sub, "object": "subscription", "customer": format!("cus_{}", s.account), "status": s.status,
        "currency": s.currency, "metadata": {"account_id": s.account}, "cancel_at_period_end": s.cancel_at_period_end,
        "start_date": t(start_of(s.sub)), "ended_at": s.ended_at.map(t), "discounts": discounts,
        "items": {"object": "list", "data": [{"id": format!("si_{}", s.sub), "quantity": 1,
            "current_period_end": t(s.period_end),
            "price": {"id": format!("price_{}", s.sub), "unit_amount": s.amount, "currency": s.currency,
                      "recurring": {"interval": s.interval, "interval_count": 1, "usage_type": "licensed"}}}]},
    }});
    if let Some(previous) = previous {
        data["previous_attributes"] = previous;
    }
    serde_json::to_vec(&json!({"id": id, "object": "event", "type": kind, "created": t(created), "livemode": false,
                               "api_version": "2025-03-31.basil", "data": data}))
    .unwrap()
}

fn portfolio_events() -> Vec<Vec<u8>> {
    let items = Some(json!({"items": {}}));
    let mut globex = sub("globex", "sub_globex", 1_200_000);
    globex.interval = "year";
    globex.period_end = "2026-12-01T00:00:00Z";
    let mut hooli_cancel = sub("hooli", "sub_hooli", 20_000);
    hooli_cancel.cancel_at_period_end = true;
    hooli_cancel.period_end = "2026-10-01T00:00:00Z";
    let mut hooli_end = sub("hooli", "sub_hooli", 20_000);
    hooli_end.status = "canceled";
    hooli_end.ended_at = Some("2026-10-01T00:00:00Z");
    let mut umbrella_end = sub("umbrella", "sub_umbrella", 30_000);
    umbrella_end.status = "canceled";
    umbrella_end.ended_at = Some("2026-03-15T00:00:00Z");
    let mut trial = sub("vandelay", "sub_vandelay", 8_000);
    trial.status = "trialing";
    let mut soylent = sub("soylent", "sub_soylent", 9_900);
    soylent.percent_off = Some(100.0);
    let mut stark = sub("stark", "sub_stark", 40_000);
    stark.currency = "eur";
    let mut stark_up = sub("stark", "sub_stark", 50_000);
    stark_up.currency = "eur";
    let mut nakatomi = sub("nakatomi", "sub_nakatomi", 50_000);
    nakatomi.currency = "jpy";
    let created = "customer.subscription.created";
    let updated = "customer.subscription.updated";
    let refund = json!({"id": "evt_refund", "object": "event", "type": "charge.refunded", "created": t("2026-10-20T00:00:00Z"),
        "livemode": false, "data": {"object": {"id": "ch_acme", "object": "charge", "customer": "cus_acme", "amount_refunded": 5_000}}});
    vec![
        event("evt_acme_1", created, "2025-09-10T10:00:00Z", &sub("acme", "sub_acme", 10_000), None),
        event("evt_acme_2", updated, "2026-10-05T10:00:00Z", &sub("acme", "sub_acme", 15_000), items.clone()),
        serde_json::to_vec(&refund).unwrap(),
        event("evt_globex_1", created, "2024-12-01T00:00:00Z", &globex, None),
        event("evt_initech_1", created, "2025-08-01T00:00:00Z", &sub("initech", "sub_initech", 50_000), None),
        event("evt_initech_2", updated, "2026-10-12T00:00:00Z", &sub("initech", "sub_initech", 30_000), items.clone()),
        event("evt_hooli_1", created, "2025-07-01T00:00:00Z", &sub("hooli", "sub_hooli", 20_000), None),
        event(
            "evt_hooli_2",
            updated,
            "2026-09-20T00:00:00Z",
            &hooli_cancel,
            Some(json!({"cancel_at_period_end": false})),
        ),
        event("evt_hooli_3", "customer.subscription.deleted", "2026-10-01T00:00:09Z", &hooli_end, None),
        event("evt_umbrella_1", created, "2025-05-01T00:00:00Z", &sub("umbrella", "sub_umbrella", 30_000), None),
        event("evt_umbrella_2", "customer.subscription.deleted", "2026-03-15T00:00:05Z", &umbrella_end, None),
        event("evt_umbrella_3", created, "2026-10-20T00:00:00Z", &sub("umbrella", "sub_umbrella2", 25_000), None),
        event("evt_vandelay_1", created, "2026-10-02T00:00:00Z", &trial, None),
        event(
            "evt_vandelay_2",
            updated,
            "2026-10-16T00:00:00Z",
            &sub("vandelay", "sub_vandelay", 8_000),
            Some(json!({"status": "trialing"})),
        ),
        event("evt_soylent_1", created, "2026-01-10T00:00:00Z", &soylent, None),
        event("evt_stark_1", created, "2026-02-01T00:00:00Z", &stark, None),
        event("evt_stark_2", updated, "2026-10-15T00:00:00Z", &stark_up, items),
        event("evt_nakatomi_1", created, "2025-12-01T00:00:00Z", &nakatomi, None),
    ]
}

/// A fixed shuffle (linear congruential), so a failure reproduces.
fn shuffled<T: Clone>(items: &[T]) -> Vec<T> {
    let mut out = items.to_vec();
    let mut state: u64 = 0xfeed;
    for i in (1..out.len()).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.swap(i, (state >> 33) as usize % (i + 1));
    }
    out
}

async fn kpis_after_events<S: RunnerStore>(store: Arc<S>) -> (Value, Value, foresight_e2e::Runner) {
    let settings = Settings::parse("[portfolio]\ncurrency = \"usd\"\nrates = { eur = 1.10 }\n", "test").unwrap();
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let typeform = TypeformWebhook::new(Some(TYPEFORM_SECRET.to_owned()), "account_id");
    let state = AppState::new(store, stripe).with_settings(settings).with_typeform(typeform);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(server::serve(listener, state));
    let runner = foresight_e2e::Runner::attach(url, task);
    let events = portfolio_events();
    for body in shuffled(&[events.clone(), events].concat()) {
        let (status, answer) = runner.post_stripe(&body).await;
        assert_eq!(status, 200, "{answer}");
    }
    // Three NPS answers in October (two promoters, one detractor) and one in September.
    for (id, account, score, at) in [
        ("nps_acme", "acme", 10, "2026-10-06T09:00:00Z"),
        ("nps_stark", "stark", 9, "2026-10-16T09:00:00Z"),
        ("nps_initech", "initech", 3, "2026-10-13T09:00:00Z"),
        ("nps_acme_sep", "acme", 2, "2026-09-20T09:00:00Z"),
    ] {
        let (status, answer) = runner.post_typeform(&nps_answer(id, account, score, at)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, october) = runner.get("/kpis?month=2026-10&now=2026-11-05T00:00:00Z").await;
    assert_eq!(status, 200, "{october}");
    let (status, detail) = runner.get("/kpis?month=2026-10&now=2026-11-05T00:00:00Z&detail=accounts").await;
    assert_eq!(status, 200, "{detail}");
    (october, detail, runner)
}

/// A Typeform `form_response` with an NPS answer, submitted at `at`.
fn nps_answer(event_id: &str, account: &str, score: u8, at: &str) -> Vec<u8> {
    let answers = [json!({"type": "number", "number": score, "field": {"id": "q1", "type": "nps", "ref": "nps"}})];
    serde_json::to_vec(&json!({"event_id": event_id, "event_type": "form_response", "form_response": {
        "form_id": "nps", "token": format!("tok-{event_id}"), "submitted_at": at,
        "hidden": {"account_id": account}, "answers": answers}}))
    .unwrap()
}

/// The October NPS once a sweep has put the answers on the cards: 2 promoters, 1 detractor.
fn october_nps() -> Value {
    json!({"score": 33, "responses": 3, "promoters": 2, "passives": 0, "detractors": 1})
}

fn no_nps() -> Value {
    json!({"score": 0, "responses": 0, "promoters": 0, "passives": 0, "detractors": 0})
}

fn assert_hand_computed(k: &Value, nps: Value) {
    assert_eq!(k["month"], "2026-10");
    assert_eq!(k["currency"], "usd");
    assert_eq!(
        k["mrr"],
        json!({"start": 224_000, "end": 233_000, "new": 8_000, "expansion": 16_000, "contraction": 20_000,
               "churn": 20_000, "reactivation": 25_000})
    );
    assert_eq!(k["customers"], json!({"start": 5, "end": 6, "new": 1, "churned": 1, "reactivated": 1}));
    assert_eq!(k["logo_churn_rate"], 0.2);
    assert_eq!(k["gross_mrr_churn_rate"], 40_000.0 / 224_000.0);
    assert_eq!(k["net_mrr_churn_rate"], -1_000.0 / 224_000.0);
    assert_eq!(k["nrr_12m"], 170_000.0 / 210_000.0);
    assert_eq!(k["grr_12m"], 165_000.0 / 210_000.0);
    assert_eq!((k["arpa"].as_i64(), k["ltv"].as_i64()), (Some(38_833), Some(1_164_990)));
    assert_eq!(k["expansion_rate"], 2.0 / 7.0);
    assert_eq!(k["nps"], nps, "NPS of the month's survey answers");
    assert_eq!(k["onboarding_completion_rate"], 0.0, "vandelay started in October, no first value recorded");
    assert_eq!(k["excluded"], json!([{"account_id": "nakatomi", "reason": "no exchange rate for jpy"}]));
}

async fn the_portfolio_gives_the_hand_computed_kpis<S: RunnerStore>(store: Arc<S>) {
    let (october, detail, runner) = kpis_after_events(store).await;
    // The answers reach the portfolio with the sweep that scores them.
    assert_hand_computed(&october, no_nps());
    // Nobody is scored before a health sweep: all of MRR is unscored, no renewal known yet.
    assert_eq!(october["health"]["unscored"], json!({"accounts": 6, "mrr": 233_000}));
    assert_eq!(october["renewals_90d"], json!([]));
    let moves: Vec<(String, String, i64, String)> = detail["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_owned();
            (s("account_id"), s("kind"), m["mrr_delta"].as_i64().unwrap(), s("at"))
        })
        .collect();
    let expected = [
        ("acme", "expansion", 5_000, "2026-10-05T10:00:00Z"),
        ("hooli", "churn", -20_000, "2026-10-01T00:00:00Z"),
        ("initech", "contraction", -20_000, "2026-10-12T00:00:00Z"),
        ("stark", "expansion", 11_000, "2026-10-15T00:00:00Z"),
        ("umbrella", "reactivation", 25_000, "2026-10-20T00:00:00Z"),
        ("vandelay", "new", 8_000, "2026-10-16T00:00:00Z"),
    ]
    .map(|(a, k, d, at)| (a.to_owned(), k.to_owned(), d, at.to_owned()));
    assert_eq!(moves, expected, "cancel at period end churns at the period end, dated by ended_at");

    // After a health sweep: the distribution covers all of MRR, and the annual plan renews.
    let response =
        runner.client.post(format!("{}/sweeps/health?now=2026-11-05T00:00:00Z", runner.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (_, swept) = runner.get("/kpis?month=2026-10&now=2026-11-05T00:00:00Z").await;
    assert_hand_computed(&swept, october_nps());
    let h = &swept["health"];
    let bands = ["green", "yellow", "red", "unscored"];
    let total: i64 = bands.iter().map(|b| h[b]["mrr"].as_i64().unwrap()).sum();
    let accounts: i64 = bands.iter().map(|b| h[b]["accounts"].as_i64().unwrap()).sum();
    assert_eq!((total, accounts, h["unscored"]["accounts"].as_i64()), (233_000, 6, Some(0)), "{h}");
    assert_eq!(
        swept["renewals_90d"][0]["account_id"], "globex",
        "the yearly contract renews 2026-12-01: {}",
        swept["renewals_90d"]
    );
    assert_eq!(
        (swept["renewals_90d"][0]["mrr"].as_i64(), swept["renewals_90d"][0]["renewal_at"].as_str()),
        (Some(100_000), Some("2026-12-01T00:00:00Z"))
    );

    // The weekly digest without Slack: recorded once for the week, kept in the outbox.
    for _ in 0..2 {
        let response =
            runner.client.post(format!("{}/reports/weekly?now=2026-11-09T08:00:00Z", runner.url)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let run: Value = response.json().await.unwrap();
        assert_eq!((run["key"].as_str(), run["status"].as_str()), (Some("weekly-digest/2026-W46"), Some("pending")));
        assert_eq!(run["digest"]["last_month"]["mrr"]["end"], 233_000, "{run}");
        let listed = run["digest"]["accounts"].as_array().unwrap().len();
        assert!((5..=15).contains(&listed), "{listed} accounts");
    }
    let (_, outbox) = runner.get("/outbox").await;
    assert_eq!(outbox["reports"].as_array().map(Vec::len), Some(1), "{outbox}");
    let response = runner.client.post(format!("{}/sweeps/crm", runner.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "no CRM linked or configured: nothing to write");

    // Bad requests are named.
    assert_eq!(runner.get("/kpis?month=2026-13").await.0, 400);
    assert_eq!(runner.get("/kpis?month=2026-10&detail=everything").await.0, 400);
    assert_eq!(runner.get("/kpis?month=2026-10&now=yesterday").await.0, 400);
}

#[tokio::test]
async fn kpis_from_shuffled_redelivered_events_in_memory() {
    the_portfolio_gives_the_hand_computed_kpis(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn kpis_from_shuffled_redelivered_events_in_dynamodb() {
    the_portfolio_gives_the_hand_computed_kpis(Arc::new(dynamodb_local_store("kpis").await)).await;
}
