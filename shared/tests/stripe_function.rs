//! The Stripe function as its `main` wires it, from the environment, against DynamoDB Local:
//! a signed `customer.deleted` is applied and, with `FORESIGHT_ERASE_ON_CUSTOMER_DELETED=true`,
//! leaves the erasure request the privacy function carries out. Its own test binary: it sets
//! process-wide environment variables.

use foresight_shared::app::ports::privacy::ErasureRequests;
use foresight_shared::runtime::webhooks::StripeFunction;
use foresight_shared::sources::stripe::signature::compute_signature;
use foresight_shared::testkit::dynamodb_local_store;
use serde_json::Value;

const SECRET: &str = "whsec_stripe_function_test";

#[tokio::test]
async fn a_customer_deleted_leaves_an_erasure_request() {
    let store = dynamodb_local_store("stripe-function").await;
    std::env::set_var("FORESIGHT_TABLE", store.table());
    std::env::set_var("STRIPE_WEBHOOK_SECRET", SECRET);
    std::env::set_var("FORESIGHT_ERASE_ON_CUSTOMER_DELETED", "true");
    std::env::remove_var("FORESIGHT_SECRETS_PATH");
    std::env::remove_var("FORESIGHT_NOTIFICATIONS_QUEUE_URL");
    let function = StripeFunction::from_env().await.expect("the function from the environment");

    let sample =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/stripe/05-globex-001-customer-created.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(sample).unwrap()).unwrap();
    let now = foresight_shared::runtime::clock::unix_now();
    let signed = |body: &[u8]| format!("t={now},v1={}", compute_signature(SECRET, now, body));
    let created = serde_json::to_vec(&event).unwrap();
    let answer = function.respond(Some(&signed(&created)), &created, now).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(store.pending_erasures().await.unwrap().is_empty(), "a created customer requests nothing");

    event["id"] = "evt_function_deleted".into();
    event["type"] = "customer.deleted".into();
    let deleted = serde_json::to_vec(&event).unwrap();
    let answer = function.respond(Some(&signed(&deleted)), &deleted, now).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let pending = store.pending_erasures().await.unwrap();
    let requested: Vec<(&str, &str)> = pending.iter().map(|r| (r.account_id.as_str(), r.actor.as_str())).collect();
    assert_eq!(requested, [("acct_globex", "stripe customer.deleted evt_function_deleted")]);

    let unsigned = function.respond(Some("t=1,v1=00"), &deleted, now).await;
    assert_eq!(unsigned.status, 400, "a bad signature is refused: {}", unsigned.body);
}
