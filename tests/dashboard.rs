//! The dashboard (`GET /`) in a real headless browser, Debian's Chromium driven by
//! playwright-core, on the labelled portfolio built from signed events (`events/portfolio/`):
//! the figures on the page equal `GET /kpis`, the at-risk list is exactly the red accounts, and
//! a click on an account opens its breakdown with each component's reason. A screenshot is kept
//! under `target/dashboard/`.
//!
//! Sign-in (`--auth oidc`) against a local OIDC issuer (npm `oauth2-mock-server`): no token → 401
//! on every read route and no data on the page; a valid token → 200; an expired, wrong-audience,
//! wrong-issuer or foreign-key token → 401; webhooks keep their own signatures; the page signs
//! in with authorization code + PKCE and then shows the portfolio.

use foresight::auth::OidcVerifier;
use foresight::demo::{self, SigningSecrets};
use foresight_e2e::browser::{self, Issuer};
use foresight_e2e::{Runner, SECRET, SEGMENT_SECRET, TYPEFORM_SECRET, ZENDESK_SECRET};
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::settings::Settings;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The portfolio's "now" (its events are written relative to it).
const NOW: &str = "2026-11-09T12:00:00Z";
const WEEK_BEFORE: &str = "2026-11-02T12:00:00Z";
const MONTH: &str = "2026-11";
const AUDIENCE: &str = "foresight-dashboard";

/// The configuration the portfolio is written for.
const SETTINGS: &str = foresight_e2e::PORTFOLIO_SETTINGS;

fn secrets() -> SigningSecrets {
    SigningSecrets {
        stripe: Some(SECRET.into()),
        zendesk: Some(ZENDESK_SECRET.into()),
        segment: Some(SEGMENT_SECRET.into()),
        typeform: Some(TYPEFORM_SECRET.into()),
    }
}

async fn runner(auth: Option<OidcVerifier>) -> Runner {
    let settings = Settings::parse(SETTINGS, "portfolio.toml").expect("valid settings");
    let state = foresight_e2e::state(Arc::new(MemoryStore::new()), Some(SECRET))
        .with_settings(settings)
        .with_auth(auth.map(Arc::new));
    foresight_e2e::serve(state).await
}

/// Posts the signed portfolio (billing, support, analytics, surveys) and sweeps a week before
/// `NOW` and at `NOW` (so scores have a 7-day change).
async fn load_portfolio(runner: &Runner) {
    let dir = browser::root().join("events/portfolio");
    let folders: Vec<_> = ["stripe", "zendesk", "segment", "typeform"].iter().map(|f| dir.join(f)).collect();
    let files: usize = folders.iter().map(|f| std::fs::read_dir(f).unwrap().count()).sum();
    let accepted = demo::send(&runner.url, &folders, &secrets()).await.expect("the portfolio posts");
    assert_eq!(accepted, files, "every signed event of the portfolio is accepted");
    for now in [WEEK_BEFORE, NOW] {
        let response = runner.client.post(format!("{}/sweeps/health?now={now}", runner.url)).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// Numbers equal whatever their JSON spelling (the page writes 1 where the API wrote 1.0).
fn same_figure(page: &Value, api: &Value) -> bool {
    match (page.as_f64(), api.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-12,
        _ => page == api,
    }
}

fn at(value: &Value, path: &str) -> Value {
    path.split('.').fold(value.clone(), |v, key| v[key].clone())
}

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_the_portfolio_the_api_reports() {
    browser::install();
    let runner = runner(None).await;
    load_portfolio(&runner).await;
    let (status, kpis) = runner.get(&format!("/kpis?month={MONTH}&now={NOW}")).await;
    assert_eq!(status, 200, "{kpis}");
    let (_, red) = runner.get(&format!("/accounts?band=red&now={NOW}")).await;
    let red_ids: BTreeSet<String> =
        red["accounts"].as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap().to_owned()).collect();
    assert!(red_ids.len() >= 3, "the portfolio has red accounts: {red_ids:?}");

    let artifacts = browser::artifacts();
    let (shot, account_shot) = (artifacts.join("dashboard.png"), artifacts.join("dashboard-account.png"));
    let url = format!("{}/?now={NOW}", runner.url);
    let seen = tokio::task::spawn_blocking(move || browser::check_page(&url, Some(shot), Some(account_shot), false))
        .await
        .unwrap();

    assert_eq!(seen["errors"], serde_json::json!([]), "no script error, no blocked request");
    // Every figure on the page is the API's, and the headline ones are there.
    let figures = seen["kpis"].as_object().expect("figures on the page");
    for path in ["mrr.end", "customers.end", "nrr_12m", "grr_12m", "logo_churn_rate", "nps.score"] {
        assert!(figures.contains_key(path), "the page shows {path}: {figures:?}");
    }
    assert!(figures.contains_key("onboarding_completion_rate") && figures.contains_key("health.red.mrr"));
    for (path, shown) in figures {
        assert!(same_figure(shown, &at(&kpis, path)), "{path}: page {shown}, GET /kpis {}", at(&kpis, path));
    }
    assert!(kpis["mrr"]["end"].as_i64().unwrap() > 0, "a portfolio with MRR: {kpis}");
    // The at-risk list is exactly the red accounts, each with the top reason the API gives
    // (`domain::alert::list_reasons`, the alerts' rule: the page has no rule of its own).
    assert_eq!(ids(&seen["at_risk"]), red_ids, "at-risk = red accounts");
    let (status, summaries) = runner.get(&format!("/accounts?view=summary&band=red&now={NOW}")).await;
    assert_eq!(status, 200, "{summaries}");
    let summaries = summaries["accounts"].as_array().unwrap();
    assert_eq!(summaries.len(), red_ids.len(), "the summary view filters like the records");
    for summary in summaries {
        let id = summary["account_id"].as_str().unwrap();
        let reason = summary["top_reason"].as_str().expect("a red account has a top reason");
        assert_eq!(seen["at_risk_reasons"][id], reason, "the page's top reason of {id}");
    }
    // Pages (`limit`, `after`, `next`) walk the same list in account id order, none twice.
    let (_, whole) = runner.get(&format!("/accounts?view=summary&now={NOW}")).await;
    assert!(whole.get("next").is_none(), "one page holds a small portfolio: {}", whole["count"]);
    let whole: Vec<String> =
        whole["accounts"].as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap().to_owned()).collect();
    let mut sorted = whole.clone();
    sorted.sort();
    assert_eq!(whole, sorted, "account id order");
    let (mut paged, mut after, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let (status, page) = runner.get(&format!("/accounts?view=summary&now={NOW}&limit=3&after={after}")).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let ids = page["accounts"].as_array().unwrap();
        assert!(ids.len() <= 3 && page["count"] == ids.len());
        paged.extend(ids.iter().map(|a| a["account_id"].as_str().unwrap().to_owned()));
        match page.get("next").and_then(|n| n.as_str()) {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(paged, whole);
    assert_eq!(pages, whole.len().div_ceil(3).max(1));
    for bad in ["limit=0", "limit=1001", "limit=ten"] {
        let (status, body) = runner.get(&format!("/accounts?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].as_str().unwrap().contains("limit must be"), "{body}");
    }
    // A query the decoder refuses is the same JSON 400 as the deployed function's.
    let (status, body) = runner.get("/accounts?band=red&band=green").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("bad query string"), "{body}");
    let renewals: BTreeSet<String> =
        kpis["renewals_90d"].as_array().unwrap().iter().map(|r| r["account_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids(&seen["renewals"]), renewals);
    assert!(!seen["changes"].as_array().unwrap().is_empty(), "a week of sweeps moves some scores");

    // A click opened the first red account: each component's reason as `GET /accounts/{id}` has it.
    let account = &seen["account"];
    let id = account["id"].as_str().expect("an account was opened");
    let (_, record) = runner.get(&format!("/accounts/{id}?now={NOW}")).await;
    assert_eq!(account["title"], record["name"]);
    let components = record["health"]["components"].as_array().unwrap();
    assert!(!components.is_empty());
    for component in components {
        let name = component["name"].as_str().unwrap();
        assert_eq!(account["reasons"][name], component["reason"], "{name} of {id}");
    }
    assert_eq!(account["history_points"], 1, "two daily scores draw the history line");
    for section in ["Health breakdown", "History", "Billing", "Support", "Usage"] {
        assert!(account["sections"].as_array().unwrap().iter().any(|s| s == section), "{section}: {account}");
    }
    let text = account["text"].as_str().unwrap();
    assert!(!text.contains("[object") && !text.contains("undefined"), "the record reads as text: {text}");
    assert!(text.contains(record["billing"]["status"].as_str().unwrap()), "billing shown: {text}");
    assert_eq!(account["focused"], "account-close", "focus moves into the opened record");
    assert_eq!(account["closed_by_escape"], true, "Escape closes it");
    assert!(browser::artifacts().join("dashboard.png").exists());
    assert_eq!(seen["phone"]["overflow"], false, "readable at a phone's width (390 px): {}", seen["phone"]);
}

/// Reads `path` with an optional bearer token; the status.
async fn status_of(runner: &Runner, method: &str, path: &str, token: Option<&str>) -> u16 {
    let url = format!("{}{path}", runner.url);
    let mut request = match method {
        "DELETE" => runner.client.delete(url),
        _ => runner.client.get(url),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("runner answers").status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn read_routes_need_a_valid_token_of_the_issuer() {
    browser::install();
    let issuer = tokio::task::spawn_blocking(|| Issuer::start(AUDIENCE)).await.unwrap();
    let verifier = OidcVerifier::discover(&issuer.url, AUDIENCE, None).await.expect("the issuer's discovery and JWKS");
    let runner = runner(Some(verifier)).await;
    // The webhooks need no token: their own signatures.
    let stripe = std::fs::read_dir(browser::root().join("events/portfolio/stripe")).unwrap().next().unwrap().unwrap();
    let (status, answer) = runner.post_stripe(&std::fs::read(stripe.path()).unwrap()).await;
    assert_eq!(status, 200, "a signed webhook without a token: {answer}");
    let account = answer["account_id"].as_str().expect("the event names its account").to_owned();

    let reads = [
        "/kpis".to_owned(),
        format!("/kpis?month={MONTH}&detail=accounts"),
        "/accounts".to_owned(),
        "/accounts?band=red".to_owned(),
        format!("/accounts/{account}"),
        format!("/accounts/{account}/history"),
        "/outbox".to_owned(),
    ];
    let valid = issuer.token("valid");
    for path in &reads {
        assert_eq!(status_of(&runner, "GET", path, None).await, 401, "{path} without a token");
        assert_eq!(status_of(&runner, "GET", path, Some("not-a-jwt")).await, 401, "{path} with garbage");
        for refused in ["expired", "wrong_audience", "wrong_issuer", "foreign_key"] {
            let token = issuer.token(refused);
            assert_eq!(status_of(&runner, "GET", path, Some(&token)).await, 401, "{path} with a {refused} token");
        }
        assert_eq!(status_of(&runner, "GET", path, Some(&valid)).await, 200, "{path} with a valid token");
        let listed = issuer.token("valid_list_audience");
        assert_eq!(status_of(&runner, "GET", path, Some(&listed)).await, 200, "{path}: aud as a list");
    }
    for (method, path) in [("GET", format!("/accounts/{account}/export")), ("DELETE", format!("/accounts/{account}"))] {
        assert_eq!(status_of(&runner, method, &path, None).await, 401, "{method} {path} without a token");
    }
    let response = runner.client.get(format!("{}/kpis", runner.url)).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");

    // The page shell is public and holds no customer data; its config names the issuer.
    let (status, config) = runner.get("/dashboard/config").await;
    assert_eq!(status, 200);
    assert_eq!(config["auth"]["issuer"], issuer.url.as_str());
    assert_eq!(config["auth"]["client_id"], AUDIENCE);
    let shell = runner.client.get(format!("{}/", runner.url)).send().await.unwrap().text().await.unwrap();
    assert!(shell.contains("<main") && !shell.contains(&account), "the shell names no account");

    // In the browser: signed out, nothing; sign-in (code + PKCE at the issuer), then the portfolio.
    let url = format!("{}/", runner.url);
    let seen = tokio::task::spawn_blocking(move || browser::check_page(&url, None, None, true)).await.unwrap();
    assert_eq!(seen["signed_out"]["kpis"], 0, "no figure before sign-in: {seen}");
    assert_eq!(seen["signed_out"]["accounts"], 0, "no account before sign-in");
    assert_eq!(seen["signed_out"]["overview_hidden"], true);
    assert!(seen["kpis"]["mrr.end"].is_number(), "figures after sign-in: {seen}");
    assert!(!seen["url"].as_str().unwrap().contains("code="), "the code is not left in the address");
    assert_eq!(seen["errors"], serde_json::json!([]), "no script error, no blocked request");
}

/// A provider whose access tokens are for another API (Entra ID's are for Microsoft Graph): the
/// page signs in and sends the ID token, which is for the client, the API's audience here.
#[tokio::test(flavor = "multi_thread")]
async fn the_page_sends_the_id_token_when_the_access_token_is_for_another_api() {
    browser::install();
    let issuer =
        tokio::task::spawn_blocking(|| Issuer::start_with(AUDIENCE, "https://graph.microsoft.com")).await.unwrap();
    let verifier = OidcVerifier::discover(&issuer.url, AUDIENCE, None).await.expect("the issuer's discovery and JWKS");
    let runner = runner(Some(verifier)).await;
    load_portfolio(&runner).await;
    let url = format!("{}/", runner.url);
    let seen = tokio::task::spawn_blocking(move || browser::check_page(&url, None, None, true)).await.unwrap();
    assert_eq!(seen["signed_out"]["kpis"], 0, "no figure before sign-in: {seen}");
    assert!(seen["kpis"]["mrr.end"].is_number(), "figures after sign-in with the ID token: {seen}");
    assert_eq!(seen["errors"], serde_json::json!([]), "no script error, no refused read");
}
