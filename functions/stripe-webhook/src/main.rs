//! Stripe billing webhook: API Gateway HTTP API (or function URL) → account record in DynamoDB.
//! Decode, call the shared use case, encode; nothing else lives here.

use foresight_shared::ingest::stripe::{EventAlerting, StripeWebhook};
use foresight_shared::ingest::unix_now;
use foresight_shared::secrets::{self, SecretBound, SecretSource};
use foresight_shared::sources::stripe::StripeSecrets;
use foresight_shared::store::{AccountStore, LinkStore};
use foresight_shared::{aws, config, telemetry};
use lambda_http::{run, service_fn, Body, Error, Request, Response};

async fn handle<S: AccountStore + LinkStore>(
    webhook: &StripeWebhook,
    store: &S,
    alerting: Option<&EventAlerting<'_>>,
    request: Request,
) -> Result<Response<Body>, Error> {
    let signature = request.headers().get("stripe-signature").and_then(|v| v.to_str().ok());
    let answer = webhook.respond(store, store, alerting, signature, request.body().as_ref(), unix_now()).await;
    Ok(answer.into_http().map(Body::Text))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json();
    let store = aws::dynamo_store().await;
    let metadata_key = config::stripe_metadata_key();
    let webhook = SecretBound::load(
        SecretSource::configured().await,
        &[config::STRIPE_SECRET_VAR, config::STRIPE_PREVIOUS_SECRET_VAR],
        move |secrets| {
            let signing = secrets
                .get(config::STRIPE_SECRET_VAR)
                .map(|current| StripeSecrets::new(current, secrets.get(config::STRIPE_PREVIOUS_SECRET_VAR)));
            StripeWebhook::new(signing, metadata_key.clone())
        },
        StripeWebhook::is_configured,
        secrets::RELOAD_MISSING_AFTER,
    )
    .await?;
    let settings = config::settings()?;
    let (outbox, queue) = (aws::outbox().await, config::queue_url(config::NOTIFICATIONS_QUEUE_VAR));
    let queue = match queue {
        Some(url) => Some(aws::sqs_queue(url).await),
        None => None,
    };
    let alerting = queue.as_ref().map(|queue| EventAlerting { outbox: &outbox, queue, settings: &settings });
    run(service_fn(|request| async { handle(&*webhook.current().await, &store, alerting.as_ref(), request).await }))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use foresight_shared::sources::stripe::{signature::compute_signature, StripeSecrets};
    use foresight_shared::store::MemoryStore;
    use serde_json::json;

    /// An API Gateway HTTP API (payload v2) event, as Lambda delivers it.
    fn apigw_event(body: &str, signature: &str, base64_encoded: bool) -> Request {
        let body =
            if base64_encoded { base64::engine::general_purpose::STANDARD.encode(body) } else { body.to_owned() };
        let event = json!({
            "version": "2.0", "routeKey": "POST /webhooks/stripe", "rawPath": "/webhooks/stripe", "rawQueryString": "",
            "headers": {"content-type": "application/json; charset=utf-8", "stripe-signature": signature,
                        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
            "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "abc123", "http": {"method": "POST", "path": "/webhooks/stripe", "protocol": "HTTP/1.1",
                "sourceIp": "3.18.12.63", "userAgent": "Stripe/1.0"}, "requestId": "id", "routeKey": "POST /webhooks/stripe",
                "stage": "$default", "time": "22/Nov/2026:23:00:00 +0000", "timeEpoch": 1_795_388_400_000_i64},
            "body": body, "isBase64Encoded": base64_encoded
        });
        lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
    }

    #[tokio::test]
    async fn decodes_api_gateway_events_and_answers_json() {
        let webhook = StripeWebhook::new(Some(StripeSecrets::new("whsec_fn", None)), "account_id");
        let store = MemoryStore::new();
        let body = r#"{"id":"evt_fn","type":"customer.created","created":1800000000,"data":{"object":{"id":"cus_fn","name":"Fn Ltd","metadata":{"account_id":"acct_fn"}}}}"#;
        let t = unix_now();
        let signature = format!("t={t},v1={}", compute_signature("whsec_fn", t, body.as_bytes()));
        for base64_encoded in [false, true] {
            let response = handle(&webhook, &store, None, apigw_event(body, &signature, base64_encoded)).await.unwrap();
            assert_eq!(response.status(), 200, "base64 {base64_encoded}");
            assert_eq!(response.headers()["content-type"], "application/json");
        }
        assert!(store.get("acct_fn").await.unwrap().is_some());
        let rejected = handle(&webhook, &store, None, apigw_event(body, "t=1,v1=00", false)).await.unwrap();
        assert_eq!(rejected.status(), 400);
        let Body::Text(text) = rejected.body() else { panic!("a JSON text body") };
        assert!(text.contains("\"error\""), "{text}");
    }
}
