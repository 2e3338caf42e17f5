//! GDPR export and erasure against DynamoDB Local, through the runner's routes: an account built
//! from every source (Stripe, Zendesk, analytics, links, alerts in the outbox, the MRR ledger,
//! the weekly digest) is exported — the export lists exactly the items a scan of every table
//! finds for it — then erased: afterwards a scan finds no item and no attribute value holding
//! the account id or its external ids, the other accounts are untouched, the audit record
//! exists without personal data, and a redelivered old event does not bring the data back.

use foresight::privacy::PrivacyState;
use foresight::server::{self, AppState, NotificationsBackend};
use foresight_e2e::{
    analytics_config, sample_events, sample_stripe_events, Runner, SECRET, SEGMENT_SECRET, TYPEFORM_SECRET,
    ZENDESK_SECRET,
};
use foresight_shared::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use foresight_shared::adapters::memory::MemoryQueue;
use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ingest::typeform::TypeformWebhook;
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::domain::privacy::{ErasureConfig, ErasureKey};
use foresight_shared::sources::stripe::signature::StripeSecrets;
use foresight_shared::testkit::{dynamodb_local_client, dynamodb_local_outbox, dynamodb_local_store, scan_table_json};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

const KEY: &str = "fs_privacy_test_key";
const ACCOUNT: &str = "acct_globex";
const CUSTOMER: &str = "cus_globex";
const ORGANIZATION: &str = "8201";

async fn runner(store: DynamoStore, outbox: DynamoOutbox, block: bool) -> Runner {
    runner_with(store, outbox, block, false).await
}

async fn runner_with(store: DynamoStore, outbox: DynamoOutbox, block: bool, erase_on_deleted: bool) -> Runner {
    let key = ErasureKey::new(KEY).unwrap();
    let store = Arc::new(store.with_erasure(ErasureConfig { key: key.clone(), block }));
    let outbox = Arc::new(outbox);
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let state = AppState::new(store.clone(), stripe)
        .with_zendesk(ZendeskWebhook::new(Some(ZENDESK_SECRET.to_owned())))
        .with_analytics(AnalyticsWebhook::new(Some(SEGMENT_SECRET.to_owned()), None, emailed_admins()))
        .with_typeform(TypeformWebhook::new(Some(TYPEFORM_SECRET.to_owned()), "account_id"))
        .with_alerting(outbox.clone(), NotificationsBackend::Memory(Arc::new(MemoryQueue::new())))
        .with_privacy(PrivacyState::new(store, outbox, Some(key)).erase_on_customer_deleted(erase_on_deleted));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    Runner::attach(url, tokio::spawn(server::serve(listener, state)))
}

/// The analytics settings of a deployment whose playbooks email admins: their contacts are kept.
fn emailed_admins() -> foresight_shared::domain::usage::AnalyticsConfig {
    let mut config = analytics_config();
    config.contact_roles = [foresight_shared::domain::playbook::Role::Admin].into_iter().collect();
    config
}

/// The items of both tables whose text holds one of `needles` (a plain substring: stricter than
/// the adapter's whole-token match).
async fn holding(tables: &[(&str, &str)], needles: &[&str]) -> BTreeSet<(String, String, String)> {
    let mut found = BTreeSet::new();
    for (role, table) in tables {
        for ((pk, sk), text) in scan_table_json(table).await {
            if needles.iter().any(|n| text.contains(n)) {
                found.insert((role.to_string(), pk, sk));
            }
        }
    }
    found
}

/// Zendesk organization ids are numbers: matched as a whole JSON string or key part only.
fn organization_needles() -> Vec<String> {
    vec![format!("\"{ORGANIZATION}\""), format!("#{ORGANIZATION}\""), format!(":{ORGANIZATION}\"")]
}

async fn post_every_source(runner: &Runner) {
    for (name, body) in sample_stripe_events() {
        let (status, answer) = runner.post_stripe(&body).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    for (i, (name, body)) in sample_events("zendesk").into_iter().enumerate() {
        let (status, answer) = runner.post_zendesk(&body, &format!("inv-{i}")).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    for (name, body) in sample_events("segment") {
        let (status, answer) = runner.post_segment(&body).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    // Globex's Zendesk organization names no account: kept provisionally until linked.
    runner.link("zendesk", ORGANIZATION, ACCOUNT).await;
    let (status, body) = runner
        .client
        .post(format!("{}/sweeps/health", runner.url))
        .send()
        .await
        .map(|r| {
            let s = r.status().as_u16();
            (s, r)
        })
        .unwrap();
    assert_eq!(status, 200, "{:?}", body.text().await);
    let response = runner.client.post(format!("{}/reports/weekly", runner.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.text().await);
}

#[tokio::test]
async fn export_lists_every_item_and_erasure_leaves_nothing_but_hashes() {
    let store = dynamodb_local_store("privacy").await;
    let outbox = dynamodb_local_outbox("privacy-outbox").await;
    let (accounts_table, outbox_table) = (store.table().to_owned(), outbox.table().to_owned());
    let tables = [("accounts", accounts_table.as_str()), ("outbox", outbox_table.as_str())];
    let runner = runner(store, outbox, true).await;
    post_every_source(&runner).await;

    let organization = organization_needles();
    let mut needles: Vec<&str> = vec![ACCOUNT, CUSTOMER];
    needles.extend(organization.iter().map(String::as_str));
    let before = holding(&tables, &needles).await;
    let kinds = |set: &BTreeSet<(String, String, String)>| -> BTreeSet<String> {
        set.iter().map(|(_, pk, _)| pk.split('#').next().unwrap_or_default().to_owned()).collect()
    };
    // The account is held in many shapes: the record, usage days, ledger months, links, alerts.
    for prefix in ["ACCOUNT", "LINK", "NOTIFICATION"] {
        assert!(kinds(&before).contains(prefix), "no {prefix} item for {ACCOUNT}: {before:?}");
    }
    let sks: BTreeSet<&str> = before.iter().map(|(_, _, sk)| sk.split('#').next().unwrap_or_default()).collect();
    for sk in ["ACCOUNT", "USAGE", "MRR"] {
        assert!(sks.contains(sk), "no {sk} item in {ACCOUNT}'s partition: {before:?}");
    }
    let others_before = holding(&tables, &["acct_acme", "cus_acme", "acct_initech"]).await;

    // Export: exactly the items the scan finds.
    let (status, export) = runner.get(&format!("/accounts/{ACCOUNT}/export")).await;
    assert_eq!(status, 200, "{export}");
    let exported: BTreeSet<(String, String, String)> = export["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (i["table"].as_str().unwrap().into(), i["pk"].as_str().unwrap().into(), i["sk"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(exported, before, "the export lists every item the scan finds, and only those");
    assert_eq!(export["record"]["account_id"], ACCOUNT, "{}", export["record"]);
    let inventory = export["inventory"].as_array().unwrap();
    let listed: usize = inventory.iter().map(|line| line["items"].as_u64().unwrap() as usize).sum();
    assert_eq!(listed, exported.len(), "every exported item is counted in the inventory: {inventory:?}");
    for line in inventory {
        for field in ["kind", "table", "what", "source", "retention"] {
            assert!(line[field].is_string(), "{line}");
        }
    }

    // Erasure.
    let response = runner
        .client
        .delete(format!("{}/accounts/{ACCOUNT}", runner.url))
        .header("x-foresight-actor", "dpo-ticket-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    let erased: u64 = answer["erased"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(erased as usize, before.len(), "{answer}");
    assert!(answer["erased"]["account"].as_u64().unwrap() >= 1, "{answer}");

    let after = holding(&tables, &needles).await;
    assert!(after.is_empty(), "items still holding the account or its ids: {after:?}");
    assert_eq!(runner.get(&format!("/accounts/{ACCOUNT}")).await.0, 404);
    // Other accounts keep every item; only the weekly digest, which named the erased account
    // among others, went with it (a derived report: `POST /reports/weekly` builds it again).
    let digest = |(_, pk, _): &(String, String, String)| pk.starts_with("REPORT#");
    let others_kept: BTreeSet<_> = others_before.iter().filter(|i| !digest(i)).cloned().collect();
    assert_eq!(holding(&tables, &["acct_acme", "cus_acme", "acct_initech"]).await, others_kept, "others untouched");

    // The audit record: when, by whom, counts; the account only as a keyed hash.
    let audits: Vec<String> = scan_table_json(&accounts_table)
        .await
        .into_iter()
        .filter(|((pk, _), _)| pk.starts_with("ERASURE#"))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(audits.len(), 1, "{audits:?}");
    let audit: Value = serde_json::from_str(&audits[0]).unwrap();
    assert_eq!(audit["actor"], "dpo-ticket-4711");
    assert_eq!(audit["subject"], ErasureKey::new(KEY).unwrap().hash("account", ACCOUNT));
    assert_eq!(audit["erased"], answer["erased"]);

    // A redelivered old event for the erased customer does not bring the data back.
    for (name, body) in sample_stripe_events().into_iter().filter(|(name, _)| name.contains("globex")) {
        let (status, answer) = runner.post_stripe(&body).await;
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["outcome"], "ignored", "{name}: {answer}");
    }
    for (i, (name, body)) in sample_events("zendesk").into_iter().enumerate().filter(|(_, (n, _))| n.contains("globex"))
    {
        let (status, answer) = runner.post_zendesk(&body, &format!("again-{i}")).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    // Analytics for the erased group (the sample batches name `acct_globex` as their group).
    for (name, body) in sample_events("segment") {
        let (status, answer) = runner.post_segment(&body).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    // A survey answer naming the erased account.
    let answer = serde_json::json!({"event_id": "tf_after_erasure", "event_type": "form_response", "form_response": {
        "form_id": "nps", "token": "tok-after", "submitted_at": "2026-11-20T10:00:00Z",
        "hidden": {"account_id": ACCOUNT},
        "answers": [{"type": "number", "number": 3, "field": {"id": "q1", "type": "nps", "ref": "nps"}}]}});
    let (status, answer) = runner.post_typeform(&serde_json::to_vec(&answer).unwrap()).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")), "{answer}");
    let again = holding(&tables, &needles).await;
    assert!(again.is_empty(), "an old event re-created data silently: {again:?}");
    assert_eq!(runner.get(&format!("/accounts/{ACCOUNT}")).await.0, 404);
    assert_eq!(runner.get(&format!("/accounts/{CUSTOMER}")).await.0, 404);

    // Erasing again finds nothing.
    let response = runner.client.delete(format!("{}/accounts/{ACCOUNT}", runner.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // Linking the customer again on purpose lifts the tombstone: its events apply again.
    runner.link("stripe", CUSTOMER, ACCOUNT).await;
    let (_, body) = sample_stripe_events().into_iter().find(|(name, _)| name.contains("globex-002")).unwrap();
    let (status, answer) = runner.post_stripe(&body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["account_id"], ACCOUNT, "{answer}");
    assert_eq!(runner.get(&format!("/accounts/{ACCOUNT}")).await.0, 200);
}

#[tokio::test]
async fn with_fresh_an_erased_customer_starts_a_new_account() {
    let store = dynamodb_local_store("privacy-fresh").await;
    let outbox = dynamodb_local_outbox("privacy-fresh-outbox").await;
    let runner = runner(store, outbox, false).await;
    let (_, created) = sample_stripe_events().into_iter().find(|(name, _)| name.contains("globex-001")).unwrap();
    let (_, subscribed) = sample_stripe_events().into_iter().find(|(name, _)| name.contains("globex-002")).unwrap();
    assert_eq!(runner.post_stripe(&created).await.0, 200);
    assert_eq!(runner.post_stripe(&subscribed).await.0, 200);
    let response = runner.client.delete(format!("{}/accounts/{ACCOUNT}", runner.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (status, answer) = runner.post_stripe(&subscribed).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "applied", "a fresh account starts: {answer}");
    let fresh = answer["account_id"].as_str().unwrap();
    assert_eq!(runner.get(&format!("/accounts/{fresh}")).await.0, 200);
}

/// Retention: a usage day expires (DynamoDB TTL on `expires_at`, a number) its retention after
/// the day, unless it holds a first-value time (a string there, which TTL ignores, whatever the
/// order of the day's writes); outbox records expire after the configured time.
#[tokio::test]
async fn usage_days_and_outbox_records_carry_their_ttl() {
    use foresight_shared::app::ports::outbox::{SegmentProgress, SweepProgressStore};
    use foresight_shared::app::ports::store::UsageStore;
    use foresight_shared::domain::usage::UsageDay;

    let store = dynamodb_local_store("retention").await.with_usage_retention(10 * 86_400);
    let outbox = dynamodb_local_outbox("retention-outbox").await.with_retention(7 * 86_400);
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let plain = UsageDay { message_ids: ["m1".to_owned()].into(), ..Default::default() };
    let first_value = UsageDay {
        message_ids: ["m2".to_owned()].into(),
        first_value_at: [1_793_700_000].into(),
        ..Default::default()
    };
    store.add_usage("acct_ttl", day("2026-11-01"), &plain).await.unwrap();
    store.add_usage("acct_ttl", day("2026-11-02"), &plain).await.unwrap();
    store.add_usage("acct_ttl", day("2026-11-02"), &first_value).await.unwrap();
    store.add_usage("acct_ttl", day("2026-11-02"), &plain).await.unwrap();
    outbox.save("sweep-1", 0, &SegmentProgress::default(), 1_800_000_000).await.unwrap();

    let items = scan_table_json(store.table()).await;
    let expires = |sk: &str| -> Value {
        let text = &items[&("ACCOUNT#acct_ttl".to_owned(), sk.to_owned())];
        serde_json::from_str::<Value>(text).unwrap()["expires_at"].clone()
    };
    // 2026-11-01T00:00:00Z is 1793491200.
    assert_eq!(expires("USAGE#2026-11-01"), 1_793_491_200 + 10 * 86_400);
    assert!(expires("USAGE#2026-11-02").is_string(), "a first-value day is kept: {}", expires("USAGE#2026-11-02"));
    let client = dynamodb_local_client().await;
    let key = HashMap::from([
        ("pk".to_owned(), aws_sdk_dynamodb::types::AttributeValue::S("SWEEP#sweep-1".into())),
        ("sk".to_owned(), aws_sdk_dynamodb::types::AttributeValue::S("SEGMENT#0".into())),
    ]);
    let item = client.get_item().table_name(outbox.table()).set_key(Some(key)).send().await.unwrap();
    let ttl = item.item().and_then(|i| i.get("expires_at")).and_then(|v| v.as_n().ok()).cloned();
    assert_eq!(ttl.as_deref(), Some("1800604800"), "now + 7 days");
}

/// Configured so, Stripe's `customer.deleted` erases the customer's account.
#[tokio::test]
async fn customer_deleted_erases_the_account_when_configured() {
    let store = dynamodb_local_store("privacy-deleted").await;
    let outbox = dynamodb_local_outbox("privacy-deleted-outbox").await;
    let table = store.table().to_owned();
    let runner = runner_with(store, outbox, true, true).await;
    let events = sample_stripe_events();
    let (_, created) = events.iter().find(|(name, _)| name.contains("globex-001")).unwrap();
    let (_, subscribed) = events.iter().find(|(name, _)| name.contains("globex-002")).unwrap();
    assert_eq!(runner.post_stripe(created).await.0, 200);
    assert_eq!(runner.post_stripe(subscribed).await.0, 200);
    let mut deleted: Value = serde_json::from_slice(created).unwrap();
    deleted["id"] = "evt_globex_deleted".into();
    deleted["type"] = "customer.deleted".into();
    deleted["created"] = (deleted["created"].as_i64().unwrap() + 86_400).into();
    let (status, answer) = runner.post_stripe(&serde_json::to_vec(&deleted).unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(runner.get(&format!("/accounts/{ACCOUNT}")).await.0, 404);
    let items = scan_table_json(&table).await;
    assert!(items.values().all(|text| !text.contains(ACCOUNT) && !text.contains(CUSTOMER)), "{items:?}");
    let audit = items.iter().find(|((pk, _), _)| pk.starts_with("ERASURE#")).map(|(_, text)| text).expect("audit");
    assert!(audit.contains("stripe customer.deleted evt_globex_deleted"), "{audit}");
}

/// The memory store (`foresight dev`'s default) exports and erases alike: the same item shapes,
/// tombstones and audit.
#[tokio::test]
async fn the_memory_store_exports_and_erases_alike() {
    use foresight_shared::adapters::memory::{MemoryOutbox, MemoryStore};
    let key = ErasureKey::new(KEY).unwrap();
    let store = Arc::new(MemoryStore::new().with_erasure(ErasureConfig { key: key.clone(), block: true }));
    let outbox = Arc::new(MemoryOutbox::new());
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let state = AppState::new(store.clone(), stripe)
        .with_zendesk(ZendeskWebhook::new(Some(ZENDESK_SECRET.to_owned())))
        .with_analytics(AnalyticsWebhook::new(Some(SEGMENT_SECRET.to_owned()), None, analytics_config()))
        .with_alerting(outbox.clone(), NotificationsBackend::Memory(Arc::new(MemoryQueue::new())))
        .with_privacy(PrivacyState::new(store.clone(), outbox, Some(key.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let runner = Runner::attach(url, tokio::spawn(server::serve(listener, state)));
    post_every_source(&runner).await;

    let (status, export) = runner.get(&format!("/accounts/{ACCOUNT}/export")).await;
    assert_eq!(status, 200, "{export}");
    let kinds: BTreeSet<&str> =
        export["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    for kind in ["account", "usage", "mrr_month", "link", "notification"] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
    let response = runner.client.delete(format!("{}/accounts/{ACCOUNT}", runner.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(runner.get(&format!("/accounts/{ACCOUNT}")).await.0, 404);
    assert_eq!(runner.get(&format!("/accounts/{ACCOUNT}/export")).await.0, 404, "nothing is held any more");
    let (_, body) = sample_stripe_events().into_iter().find(|(name, _)| name.contains("globex-002")).unwrap();
    let (status, answer) = runner.post_stripe(&body).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")), "{answer}");
    let audits = store.erasure_audits();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].subject, key.hash("account", ACCOUNT));
    let (_, accounts) = runner.get("/accounts").await;
    assert!(!accounts.to_string().contains(ACCOUNT) && !accounts.to_string().contains(CUSTOMER), "{accounts}");
}

/// `DELETE /contacts?email=`: an analytics user identified by their address loses the link
/// keyed by it and their contact on the account record (the record stays); items of the
/// account that still name the address are listed, not deleted.
#[tokio::test]
async fn one_person_is_erased_by_address() {
    let store = dynamodb_local_store("privacy-person").await;
    let outbox = dynamodb_local_outbox("privacy-person-outbox").await;
    let table = store.table().to_owned();
    let runner = runner(store, outbox, true).await;
    let address = "ann@globex.example";
    let batch = serde_json::json!([
        {"type": "group", "userId": address, "groupId": ACCOUNT, "messageId": "p1", "timestamp": "2026-11-20T10:00:00Z"},
        {"type": "identify", "userId": address, "traits": {"email": address, "role": "admin"}, "messageId": "p0",
         "timestamp": "2026-11-20T10:01:00Z"},
        {"type": "track", "userId": address, "event": "Report Exported", "messageId": "p2",
         "timestamp": "2026-11-20T10:05:00Z", "context": {"groupId": ACCOUNT}},
    ]);
    let (status, answer) = runner.post_segment(&serde_json::to_vec(&batch).unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    let named = |items: &HashMap<(String, String), String>| -> Vec<(String, String)> {
        items.iter().filter(|(_, text)| text.contains(address)).map(|(k, _)| k.clone()).collect()
    };
    assert!(!named(&scan_table_json(&table).await).is_empty(), "the address is held before");
    let contact_attribute = format!("ct#{}", foresight_shared::domain::contact::Contact::key_of(address));
    let record = |items: &HashMap<(String, String), String>| {
        items.get(&(format!("ACCOUNT#{ACCOUNT}"), "ACCOUNT".to_owned())).cloned().unwrap_or_default()
    };
    assert!(record(&scan_table_json(&table).await).contains(&contact_attribute), "the contact is held before");
    let url = format!("{}/contacts?email={address}", runner.url);
    let response = runner.client.delete(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["erased"]["link"], 1, "{answer}");
    assert_eq!(answer["erased"]["contact"], 1, "{answer}");
    let after = scan_table_json(&table).await;
    assert!(!record(&after).is_empty(), "the account record stays");
    assert!(!record(&after).contains(&contact_attribute), "the contact attribute is gone: {}", record(&after));
    let left = named(&after);
    let listed: Vec<(String, String)> = answer["still_named_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["pk"].as_str().unwrap().to_owned(), r["sk"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(left.into_iter().collect::<BTreeSet<_>>(), listed.into_iter().collect::<BTreeSet<_>>(), "{answer}");
    assert_eq!(
        runner.client.delete(format!("{}/contacts?email=nobody", runner.url)).send().await.unwrap().status().as_u16(),
        400
    );
}

/// Deployed, the Stripe webhook may not scan the tables: on `customer.deleted` it records an
/// erasure request, and the privacy function's hourly run (`{"foresight": "erase_requested"}`)
/// erases the account, the request with it.
#[tokio::test]
async fn deployed_customer_deleted_is_erased_by_the_privacy_function() {
    use foresight::signing::stripe_header;
    use foresight_shared::app::ingest::stripe::StripeStores;
    use foresight_shared::app::ports::privacy::ErasureRequests;
    use foresight_shared::app::privacy::{erase_requested, PrivacyPorts};
    use foresight_shared::runtime::privacy::request_erasure_after;
    let store = dynamodb_local_store("privacy-requested").await;
    let outbox = dynamodb_local_outbox("privacy-requested-outbox").await;
    let table = store.table().to_owned();
    let key = ErasureKey::new(KEY).unwrap();
    let store = store.with_erasure(ErasureConfig { key: key.clone(), block: true });
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let stores = StripeStores { accounts: &store, links: &store, ledger: Some(&store) };
    let now = foresight_e2e::now();
    let events = sample_stripe_events();
    let signed = |body: &[u8]| stripe_header(SECRET, now, body);
    for (name, body) in events.iter().filter(|(name, _)| name.contains("globex-00")) {
        let answer = stripe.respond(&stores, None, Some(&signed(body)), body, now).await;
        let answer = request_erasure_after(&store, answer, now).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
    }
    assert!(store.pending_erasures().await.unwrap().is_empty(), "other events request nothing");
    let (_, created) = events.iter().find(|(name, _)| name.contains("globex-001")).unwrap();
    let mut deleted: Value = serde_json::from_slice(created).unwrap();
    deleted["id"] = "evt_globex_deleted".into();
    deleted["type"] = "customer.deleted".into();
    deleted["created"] = (deleted["created"].as_i64().unwrap() + 86_400).into();
    let body = serde_json::to_vec(&deleted).unwrap();
    let answer = stripe.respond(&stores, None, Some(&signed(&body)), &body, now).await;
    let answer = request_erasure_after(&store, answer, now).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let pending = store.pending_erasures().await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let request = (pending[0].account_id.as_str(), pending[0].actor.as_str());
    assert_eq!(request, (ACCOUNT, "stripe customer.deleted evt_globex_deleted"));
    // A request that cannot be recorded (here: a table that does not exist) answers 503 with
    // Retry-After, so Stripe delivers the event again.
    let missing = DynamoStore::new(dynamodb_local_client().await, "foresight-no-such-table".to_owned());
    let again = stripe.respond(&stores, None, Some(&signed(&body)), &body, now).await;
    let refused = request_erasure_after(&missing, again, now).await;
    assert_eq!((refused.status, refused.retry_after), (503, Some(10)), "{}", refused.body);

    let ports = PrivacyPorts { tables: vec![&store, &outbox], ledger: &store, tombstones: &store, log: &store };
    let audits = erase_requested(&ports, &store, Some(&key), now).await.unwrap();
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert_eq!(audits[0].actor, "stripe customer.deleted evt_globex_deleted");
    assert!(store.pending_erasures().await.unwrap().is_empty(), "the erasure took its request");
    let items = scan_table_json(&table).await;
    assert!(items.values().all(|text| !text.contains(ACCOUNT) && !text.contains(CUSTOMER)), "{items:?}");
    assert!(erase_requested(&ports, &store, Some(&key), now).await.unwrap().is_empty(), "nothing left to do");
}
