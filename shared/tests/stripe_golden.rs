//! The Stripe parser's output, pinned: every sample event under `events/` (the sample week and
//! the portfolio's Stripe events) and Stripe's own example objects (`testdata/
//! stripe-fixtures3-subset.json`) wrapped as every event type, with the shape variants the unit
//! tests use, normalised by `parse_event` and written as JSON (the update, or the error an
//! answer of 400 would carry) into `testdata/stripe-golden.jsonl`, one case per line.
//!
//! The file was recorded before the parser was rewritten for speed; any change to the
//! normalised output of any case fails here, naming the case. A deliberate change of output
//! (a new field, a new event type) re-records it, and the diff of the file is the review:
//!
//!   FORESIGHT_UPDATE_GOLDEN=1 cargo test -p foresight-shared --test stripe_golden

use foresight_shared::sources::stripe::{parse_event, StripeUpdate};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const GOLDEN: &str = "testdata/stripe-golden.jsonl";
const UPDATE_VAR: &str = "FORESIGHT_UPDATE_GOLDEN";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The update as plain JSON: every field of the update and of its account change.
fn normalised(update: &StripeUpdate) -> Value {
    let change = update.change.as_ref().map(|c| {
        json!({
            "account_id": c.account_id,
            "guarded": c.guarded.as_ref().map(|g| json!({
                "attribute": g.attribute,
                "version": g.version.as_str(),
                "value": g.value,
            })),
            "facts": c.facts.iter().map(|(name, value)| json!([name, value])).collect::<Vec<_>>(),
            "expired": c.expired,
        })
    });
    json!({
        "event_id": update.event_id,
        "event_type": update.event_type,
        "created": update.created,
        "livemode": update.livemode,
        "identity": {
            "customer_id": update.identity.customer_id,
            "account_id": update.identity.account_id,
            "fallback_id": update.identity.fallback_id,
        },
        "change": change,
    })
}

fn output(body: &[u8], metadata_key: &str) -> Value {
    match parse_event(body, metadata_key) {
        Ok(update) => json!({ "ok": normalised(&update) }),
        Err(error) => json!({ "error": error.to_string() }),
    }
}

/// Every `*.json` in every folder named `stripe` under `dir`, sorted by path.
fn stripe_samples(dir: &Path, inside_stripe: bool, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let is_stripe = path.file_name().is_some_and(|n| n == "stripe");
            stripe_samples(&path, is_stripe, out);
        } else if inside_stripe && path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn fixtures() -> Value {
    let text = std::fs::read_to_string(manifest_dir().join("testdata/stripe-fixtures3-subset.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Stripe's example event with `object` as its data, as Stripe would send it (sorted keys).
fn envelope(fixtures: &Value, kind: &str, object: Value, previous: Option<Value>) -> Vec<u8> {
    let mut e = fixtures["event"].clone();
    e["id"] = json!("evt_golden");
    e["type"] = json!(kind);
    e["created"] = json!(1_800_000_000);
    e["data"] = json!({ "object": object });
    if let Some(previous) = previous {
        e["data"]["previous_attributes"] = previous;
    }
    serde_json::to_vec(&e).unwrap()
}

/// Every event type `parse_event` treats differently, and two it ignores.
const EVENT_TYPES: [&str; 17] = [
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.trial_will_end",
    "customer.subscription.pending_update_applied",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "invoice.upcoming",
    "charge.refunded",
    "charge.dispute.created",
    "plan.created",
    "payment_intent.succeeded",
];

/// The fixture subscription made coherent (one monthly item of 20.00, no package transform),
/// as the unit tests use it.
fn coherent_subscription(f: &Value) -> Value {
    let mut s = f["subscription"].clone();
    let item = &mut s["items"]["data"][0];
    item["price"]["transform_quantity"] = Value::Null;
    item["current_period_end"] = json!(1_802_592_000);
    s["cancel_at_period_end"] = json!(false);
    s
}

fn with_price(mut s: Value, unit_amount: i64, interval: &str, quantity: u64) -> Value {
    let item = &mut s["items"]["data"][0];
    item["price"]["unit_amount"] = json!(unit_amount);
    item["price"]["unit_amount_decimal"] = json!(unit_amount.to_string());
    item["price"]["recurring"]["interval"] = json!(interval);
    item["quantity"] = json!(quantity);
    s
}

fn coupon_discount(f: &Value, coupon: Value) -> Value {
    let mut d = f["customer"]["discount"].clone();
    d["source"]["coupon"] = coupon;
    d
}

/// Shape variants: older API versions, discounts, previous attributes, metadata, odd values,
/// and bodies that must be refused.
fn variants(f: &Value) -> Vec<(String, Vec<u8>, &'static str)> {
    let sub = coherent_subscription(f);
    let mut cases: Vec<(String, Vec<u8>, &'static str)> = Vec::new();
    let mut add = |name: &str, kind: &str, object: Value, previous: Option<Value>| {
        cases.push((format!("variant/{name}"), envelope(f, kind, object, previous), "account_id"));
    };
    let updated = "customer.subscription.updated";
    add("coherent", updated, sub.clone(), None);
    add("yearly-3", "customer.subscription.created", with_price(sub.clone(), 120_000, "year", 3), None);
    for interval in ["day", "week", "month", "year", "fortnight"] {
        add(&format!("interval-{interval}"), updated, with_price(sub.clone(), 700, interval, 2), None);
    }
    let priced = with_price(sub.clone(), 5000, "month", 2);
    for percent in [100.0, 20.0, 33.3] {
        let mut s = priced.clone();
        let coupon =
            json!({"id": "C", "object": "coupon", "percent_off": percent, "amount_off": null, "duration": "forever"});
        s["discounts"] = json!([coupon_discount(f, coupon)]);
        add(&format!("discounts-percent-{percent}"), updated, s, None);
    }
    let mut s = priced.clone();
    let coupon = json!({"id": "A", "object": "coupon", "percent_off": null, "amount_off": 1500, "duration": "once"});
    s["discounts"] = json!([coupon_discount(f, coupon), "di_unexpanded"]);
    add("discounts-amount-once-and-id", updated, s, None);
    let mut s = priced.clone();
    s["discount"] = json!({"coupon": {"id": "OLD20", "percent_off": 20.0, "duration": "repeating"}, "end": null});
    add("legacy-discount", updated, s.clone(), None);
    s["discount"]["end"] = json!(1_700_000_000);
    add("legacy-discount-expired", updated, s.clone(), None);
    s["discount"] = json!({"coupon": "OLD20"});
    add("legacy-discount-coupon-id", updated, s, None);
    let mut s = priced.clone();
    s["items"]["data"][0]["discounts"] = json!([{"coupon": {"percent_off": 50, "duration": "forever"}}]);
    add("item-discount", updated, s, None);
    let mut s = sub.clone();
    let item = &mut s["items"]["data"][0];
    item.as_object_mut().unwrap().remove("current_period_end");
    item.as_object_mut().unwrap().remove("price");
    item["plan"] = json!({"id": "gold", "nickname": "Gold", "amount": 9900, "interval": "month",
        "interval_count": 1, "usage_type": "licensed", "currency": "usd"});
    item["quantity"] = json!(2);
    s["current_period_end"] = json!(1_802_592_000);
    add("older-api-plan-on-item", updated, s, None);
    let mut s = sub.clone();
    s["items"] = json!({"object": "list", "data": []});
    s["plan"] = json!({"id": "legacy", "amount_decimal": "1250.5", "interval": "year", "interval_count": 2});
    s["quantity"] = json!(4);
    s["current_period_end"] = json!(1_802_592_000);
    add("older-api-single-plan", updated, s, None);
    let mut s = sub.clone();
    let item = s["items"]["data"][0].clone();
    let mut metered = item.clone();
    metered["price"]["recurring"]["usage_type"] = json!("metered");
    metered["price"]["nickname"] = json!("API calls");
    let mut tiered = item.clone();
    tiered["price"]["unit_amount"] = Value::Null;
    tiered["price"]["unit_amount_decimal"] = Value::Null;
    tiered["current_period_end"] = json!(1_801_000_000);
    let mut package = item;
    package["price"]["transform_quantity"] = json!({"divide_by": 10, "round": "up"});
    package["quantity"] = json!(25);
    s["items"]["data"] = json!([metered, tiered, package]);
    add("metered-tiered-package-items", updated, s, None);
    for status in [
        "trialing",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "paused",
        "some_future_status",
    ] {
        let mut s = sub.clone();
        s["status"] = json!(status);
        add(&format!("status-{status}"), updated, s, None);
    }
    for (name, previous) in [
        ("cancel", json!({"cancel_at_period_end": false})),
        ("quantity", json!({"quantity": 3})),
        ("items", json!({"items": {"data": []}})),
        ("plan", json!({"plan": null})),
        ("status", json!({"status": "trialing"})),
        ("discount", json!({"discount": null})),
        ("discounts", json!({"discounts": []})),
        ("pause", json!({"pause_collection": null})),
        ("latest-invoice", json!({"latest_invoice": "in_1"})),
        ("empty", json!({})),
    ] {
        add(&format!("previous-{name}"), updated, sub.clone(), Some(previous));
    }
    let mut s = sub.clone();
    s["metadata"] = json!({"account_id": "  acct_42  ", "other": "x", "n": 7});
    add("metadata-account", "customer.subscription.created", s.clone(), None);
    s["metadata"] = json!({"account_id": ""});
    add("metadata-empty", "customer.subscription.created", s.clone(), None);
    s["metadata"] = json!({"account_id": 42});
    add("metadata-not-a-string", "customer.subscription.created", s, None);
    let mut s = sub.clone();
    s["customer"] = json!({"id": "cus_expanded", "object": "customer", "name": "Expanded"});
    add("customer-expanded", updated, s, None);
    let mut c = f["customer"].clone();
    c["metadata"] = json!({"account_id": "acct_7"});
    c["name"] = json!("");
    c["delinquent"] = json!(true);
    add("customer-metadata-delinquent", "customer.updated", c.clone(), None);
    c["deleted"] = json!(true);
    add("customer-deleted-flag", "customer.updated", c, None);
    let mut inv = f["invoice"].clone();
    inv["parent"] = json!({"subscription_details": {"subscription": "sub_1", "metadata": {"account_id": "acct_9"}}});
    add("invoice-parent-metadata", "invoice.paid", inv.clone(), None);
    inv["metadata"] = json!({"account_id": "acct_own"});
    add("invoice-own-metadata-wins", "invoice.paid", inv, None);
    let mut inv = f["invoice"].clone();
    inv["attempt_count"] = json!(3);
    inv["next_payment_attempt"] = json!(1_800_086_400);
    add("invoice-third-attempt", "invoice.payment_failed", inv.clone(), None);
    inv["attempt_count"] = json!(0);
    add("invoice-attempt-zero", "invoice.payment_failed", inv, None);
    let mut upcoming = f["invoice"].clone();
    upcoming.as_object_mut().unwrap().remove("id");
    upcoming["next_payment_attempt"] = Value::Null;
    add("invoice-upcoming-no-id", "invoice.upcoming", upcoming, None);
    let mut ch = f["charge"].clone();
    ch["customer"] = json!("cus_1");
    ch["amount_refunded"] = json!(40);
    add("charge-refunded-with-customer", "charge.refunded", ch, None);
    let mut d = f["dispute"].clone();
    d["metadata"] = json!({"account_id": "acct_dispute"});
    add("dispute-with-metadata", "charge.dispute.created", d.clone(), None);
    d["charge"] = json!({"id": "ch_expanded", "object": "charge"});
    add("dispute-charge-expanded", "charge.dispute.created", d, None);

    // Refused (400) and ignored shapes.
    let mut s = sub.clone();
    s["status"] = json!(42);
    add("bad-status-type", updated, s, None);
    let mut s = sub.clone();
    s.as_object_mut().unwrap().remove("status");
    add("missing-status", updated, s, None);
    let mut s = sub.clone();
    s.as_object_mut().unwrap().remove("id");
    add("missing-id", updated, s, None);
    let mut s = sub.clone();
    s["items"]["data"][0]["quantity"] = json!(-1);
    add("negative-quantity", updated, s, None);
    let mut s = sub.clone();
    s["items"]["data"][0]["price"]["transform_quantity"] = json!({"round": "up"});
    add("transform-without-divide-by", updated, s, None);
    let mut s = sub.clone();
    s["customer"] = json!({"object": "customer"});
    add("expanded-customer-without-id", updated, s, None);
    let mut c = f["customer"].clone();
    c.as_object_mut().unwrap().remove("id");
    add("customer-without-id", "customer.created", c, None);
    let mut ch = f["charge"].clone();
    ch["amount"] = json!("12");
    add("ignored-type-bad-shape", "payment_intent.succeeded", ch.clone(), None);
    add("handled-type-bad-shape", "charge.refunded", ch, None);
    let raw = |name: &str, body: &[u8]| (format!("raw/{name}"), body.to_vec(), "account_id");
    cases.push(raw("not-json", b"{not json"));
    cases.push(raw("array", b"[]"));
    cases.push(raw("empty", b""));
    cases.push(raw("no-data", br#"{"id":"evt_1","type":"customer.created","created":1}"#));
    cases.push(raw("no-type", br#"{"id":"evt_1","created":1,"data":{"object":{}}}"#));
    cases.push(raw("created-string", br#"{"id":"evt_1","type":"invoice.paid","created":"1","data":{"object":{}}}"#));
    cases.push(raw("ignored-minimal", br#"{"id":"evt_1","type":"plan.created","created":1,"data":{"object":{}}}"#));
    cases.push(raw("trailing", br#"{"id":"evt_1","type":"plan.created","created":1,"data":{"object":{}}} x"#));
    cases.push(raw(
        "escapes",
        br#"{"id":"evt_\u0031","type":"customer.created","created":1,"livemode":true,"data":{"object":{"id":"cus_\"q\"","name":"Caf\u00e9 \ud83d\ude00","metadata":{"account_id":"a\/b"}}}}"#,
    ));
    cases.push(raw(
        "duplicate-key",
        br#"{"id":"evt_1","type":"customer.created","created":1,"data":{"object":{"id":"cus_1","id":"cus_2"}}}"#,
    ));
    cases.push(raw(
        "duplicate-metadata-key",
        br#"{"id":"evt_1","type":"customer.created","created":1,"data":{"object":{"id":"cus_1","metadata":{"account_id":"first","account_id":"second"}}}}"#,
    ));
    cases.push(raw(
        "float-created",
        br#"{"id":"evt_1","type":"customer.created","created":1.5,"data":{"object":{"id":"cus_1"}}}"#,
    ));
    cases.push(raw(
        "custom-metadata-key",
        br#"{"id":"evt_1","type":"customer.created","created":1,"data":{"object":{"id":"cus_1","metadata":{"account_id":"a","tenant":"t_9"}}}}"#,
    ));
    cases.last_mut().unwrap().2 = "tenant";
    cases
}

/// Every case, named, in a fixed order.
fn cases() -> Vec<(String, Vec<u8>, &'static str)> {
    let root = manifest_dir().join("..");
    let mut samples = Vec::new();
    stripe_samples(&root.join("events"), false, &mut samples);
    samples.sort();
    assert!(samples.len() >= 200, "the sample events: {} found under events/", samples.len());
    let mut cases: Vec<(String, Vec<u8>, &'static str)> = samples
        .iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(p).unwrap(), "account_id")
        })
        .collect();
    let f = fixtures();
    let objects = f.as_object().unwrap();
    for (name, object) in objects {
        for kind in EVENT_TYPES {
            cases.push((format!("fixture/{name}/{kind}"), envelope(&f, kind, object.clone(), None), "account_id"));
        }
    }
    cases.extend(variants(&f));
    cases
}

#[test]
fn normalised_output_matches_the_golden_file() {
    let path = manifest_dir().join(GOLDEN);
    let actual: Vec<(String, Value)> =
        cases().into_iter().map(|(name, body, key)| (name, output(&body, key))).collect();
    if std::env::var_os(UPDATE_VAR).is_some() {
        let lines: Vec<String> =
            actual.iter().map(|(name, out)| json!({"case": name, "output": out}).to_string()).collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        eprintln!("recorded {} cases into {}", lines.len(), path.display());
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (record it with {UPDATE_VAR}=1)", path.display()));
    let golden: Vec<(String, Value)> = text
        .lines()
        .map(|line| {
            let mut case: Value = serde_json::from_str(line).unwrap();
            (case["case"].as_str().unwrap().to_owned(), case["output"].take())
        })
        .collect();
    let names = |cases: &[(String, Value)]| cases.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&actual), names(&golden), "the set of cases changed: re-record with {UPDATE_VAR}=1 and review");
    let differing: Vec<String> = actual
        .iter()
        .zip(&golden)
        .filter(|((_, a), (_, g))| a != g)
        .map(|((name, a), (_, g))| format!("{name}:\n  now:    {a}\n  golden: {g}"))
        .collect();
    assert!(differing.is_empty(), "{} of {} cases differ:\n{}", differing.len(), actual.len(), differing.join("\n"));
    // The golden file holds real updates, not only errors.
    let updates = golden.iter().filter(|(_, out)| out["ok"]["change"].is_object()).count();
    assert!(updates >= 200, "only {updates} cases produce a change");
}

/// The cases above would pass even if the skipping reader gave up on every body (serde_json
/// then parses it): this checks that it reads each body serde_json reads, to the same event,
/// and refuses each one serde_json refuses.
#[test]
fn the_skipping_reader_reads_every_case_itself() {
    use foresight_shared::sources::{skipping_json, stripe::event::Envelope};
    let mut read = 0;
    for (name, body, _) in cases() {
        let expected = serde_json::from_slice::<Envelope>(&body).map(|e| format!("{e:?}"));
        let ours = skipping_json::read::<Envelope>(&body).map(|e| format!("{e:?}"));
        match (expected, ours) {
            (Ok(expected), Ok(ours)) => {
                assert_eq!(ours, expected, "{name}");
                read += 1;
            }
            (Err(_), Err(_)) => {}
            (expected, ours) => panic!("{name}: serde_json {expected:?}, the skipping reader {ours:?}"),
        }
    }
    assert!(read >= 250, "only {read} cases read");
}
