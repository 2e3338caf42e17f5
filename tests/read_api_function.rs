//! The read-api Lambda function's handler (`runtime::read_api`) against DynamoDB Local, fed API
//! Gateway HTTP API events as the JWT authorizer passes them: on a portfolio posted as signed
//! Stripe events through the runner, every data route answers exactly the runner's bytes when
//! the request context carries the authorizer's claims, and 401 (no data) when it carries none;
//! the page and its config are public.

use foresight_e2e::{sample_stripe_events, start, SECRET};
use foresight_shared::app::read_api::SignIn;
use foresight_shared::app::settings::Settings;
use foresight_shared::runtime::read_api::ReadApiFunction;
use foresight_shared::testkit::dynamodb_local_store;
use lambda_http::Body;
use serde_json::{json, Value};
use std::sync::Arc;

const NOW: &str = "2026-11-09T12:00:00Z";

/// An API Gateway HTTP API (payload 2.0) event for `GET path?query`, with the JWT authorizer's
/// claims in its request context when `claims` is set.
fn api_event(path: &str, query: &str, claims: Option<Value>) -> lambda_http::Request {
    let mut context = json!({
        "accountId": "123456789012", "apiId": "dash123", "domainName": "dash123.execute-api.eu-west-1.amazonaws.com",
        "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
        "requestId": "req-1", "routeKey": format!("GET {path}"), "stage": "$default",
        "time": "09/Nov/2026:12:00:00 +0000", "timeEpoch": 1_794_139_200_000_i64,
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let event = json!({
        "version": "2.0", "routeKey": format!("GET {path}"), "rawPath": path, "rawQueryString": query,
        "headers": {"host": "dash123.execute-api.eu-west-1.amazonaws.com", "authorization": "Bearer x.y.z"},
        "requestContext": context, "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event")
}

async fn call(function: &ReadApiFunction, path: &str, query: &str, claims: Option<Value>) -> (u16, String, String) {
    let response = function.respond(&api_event(path, query, claims), foresight_e2e::now()).await;
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        other => panic!("expected a text body, got {other:?}"),
    };
    (response.status().as_u16(), content_type, body)
}

#[tokio::test]
async fn the_function_answers_the_runners_json_to_a_signed_in_reader_and_401_without_claims() {
    let store = Arc::new(dynamodb_local_store("read-api-function").await);
    let runner = start(store.clone(), Some(SECRET)).await;
    for (name, body) in sample_stripe_events() {
        let (status, answer) = runner.post_stripe(&body).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    let swept = runner.client.post(format!("{}/sweeps/health?now={NOW}", runner.url)).send().await.unwrap();
    assert_eq!(swept.status().as_u16(), 200);
    let accounts = runner.accounts().await;
    let account_id = accounts[0]["account_id"].as_str().expect("a seeded account").to_owned();

    let sign_in = SignIn {
        issuer: "https://issuer.example".into(),
        audience: "foresight-dashboard".into(),
        client_id: "page-client".into(),
    };
    let function = ReadApiFunction::new((*store).clone(), Settings::default(), Some(sign_in));
    let claims = json!({"sub": "leader-1", "iss": "https://issuer.example", "aud": "foresight-dashboard"});
    let now = format!("now={NOW}");
    let data_routes = [
        (format!("/accounts/{account_id}"), now.clone()),
        (format!("/accounts/{account_id}/history"), String::new()),
        ("/accounts".to_owned(), now.clone()),
        ("/accounts".to_owned(), format!("{now}&band=green")),
        ("/kpis".to_owned(), format!("{now}&month=2026-11&detail=accounts")),
    ];
    for (path, query) in &data_routes {
        let from_runner = runner.client.get(format!("{}{path}?{query}", runner.url)).send().await.unwrap();
        assert_eq!(from_runner.status().as_u16(), 200, "runner {path}?{query}");
        let expected = from_runner.text().await.unwrap();

        let (status, content_type, body) = call(&function, path, query, Some(claims.clone())).await;
        assert_eq!((status, content_type.as_str()), (200, "application/json"), "{path}?{query}: {body}");
        assert_eq!(body, expected, "{path}?{query}: the function's JSON differs from the runner's");

        let (status, _, refused) = call(&function, path, query, None).await;
        assert_eq!(status, 401, "{path}?{query} without claims: {refused}");
        assert!(!refused.contains(&account_id), "a refusal carries no customer data: {refused}");
        let (status, _, _) = call(&function, path, query, Some(json!({}))).await;
        assert_eq!(status, 401, "{path}?{query} with empty claims");
    }
    let single: Value =
        serde_json::from_str(&call(&function, &format!("/accounts/{account_id}"), &now, Some(claims.clone())).await.2)
            .unwrap();
    assert_eq!(single["account_id"], account_id.as_str(), "the seeded account itself: {single}");

    // Errors are the runner's too.
    let (status, _, body) = call(&function, "/accounts/acct_nobody", "", Some(claims.clone())).await;
    assert_eq!((status, body.as_str()), (404, r#"{"error":"no account \"acct_nobody\""}"#));
    let (status, _, body) = call(&function, "/kpis", "month=November", Some(claims.clone())).await;
    assert_eq!(status, 400, "{body}");

    // The page and its config need no token and hold no customer data.
    let (status, content_type, page) = call(&function, "/", "", None).await;
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert_eq!(page, foresight_shared::app::read_api::INDEX_HTML);
    assert!(!page.contains(&account_id));
    let (status, content_type, _) = call(&function, "/dashboard.js", "", None).await;
    assert_eq!((status, content_type.as_str()), (200, "text/javascript; charset=utf-8"));
    let (status, _, config) = call(&function, "/dashboard/config", "", None).await;
    assert_eq!(status, 200);
    let config: Value = serde_json::from_str(&config).unwrap();
    assert_eq!(
        config,
        json!({"auth": {"issuer": "https://issuer.example", "audience": "foresight-dashboard", "client_id": "page-client"}})
    );
    let (status, _, _) = call(&function, "/outbox", "", Some(claims)).await;
    assert_eq!(status, 404, "the function serves the read API only");
}
