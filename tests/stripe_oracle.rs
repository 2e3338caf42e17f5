//! Our Stripe-Signature verifier accepts exactly what the official library (stripe-node,
//! pinned in tests/stripe-oracle) accepts: spec vectors, rotation, `v0`, 300 s vs 301 s, future
//! timestamps, tampering, wrong secrets, malformed headers, and headers the library generated.

use foresight_shared::sources::stripe::signature::compute_signature;
use foresight_shared::sources::stripe::{verify, StripeSecrets};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const SECRET: &str = "whsec_test_secret";
const T: i64 = 1_700_000_000;
const BODY: &str = r#"{"id":"evt_test_webhook","object":"event"}"#;

fn oracle_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stripe-oracle");
    assert!(
        dir.join("node_modules/stripe").is_dir(),
        "the official stripe library is not installed: run `npm ci` in {} (infra/test.sh does)",
        dir.display()
    );
    dir
}

fn node(args: &[&str], input: &Value) -> Value {
    let mut child = Command::new("node")
        .args(args)
        .current_dir(oracle_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node is installed");
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Case {
    name: String,
    body: String,
    header: String,
    secret: &'static str,
    now: i64,
}

fn case(name: &str, body: &str, header: String, secret: &'static str, now: i64) -> Case {
    Case { name: name.into(), body: body.into(), header, secret, now }
}

#[test]
fn verifier_agrees_with_the_official_library() {
    let sig = compute_signature(SECRET, T, BODY.as_bytes());
    assert_eq!(sig, "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990", "spec sheet vector");
    let old = compute_signature("whsec_old_secret", T, BODY.as_bytes());
    let mut cases = vec![
        case("spec vector", BODY, format!("t={T},v1={sig}"), SECRET, T),
        case("spec rotation vector", BODY, format!("t={T},v1=deadbeef,v1={sig},v0=abc"), SECRET, T),
        case("rotation: old and new v1", BODY, format!("t={T},v1={old},v1={sig}"), SECRET, T),
        case("rotation: only the old secret's v1", BODY, format!("t={T},v1={old}"), SECRET, T),
        case("v0 only", BODY, format!("t={T},v0={sig}"), SECRET, T),
        case("v0 before v1", BODY, format!("t={T},v0=abc,v1={sig}"), SECRET, T),
        case("age 300 s", BODY, format!("t={T},v1={sig}"), SECRET, T + 300),
        case("age 301 s", BODY, format!("t={T},v1={sig}"), SECRET, T + 301),
        case("future timestamp", BODY, format!("t={T},v1={sig}"), SECRET, T - 86_400),
        case("tampered body", r#"{"id":"evt_test_webhook","object":"evenT"}"#, format!("t={T},v1={sig}"), SECRET, T),
        case("body with trailing newline", &format!("{BODY}\n"), format!("t={T},v1={sig}"), SECRET, T),
        case("wrong secret", BODY, format!("t={T},v1={sig}"), "whsec_other", T),
        case("timestamp changed", BODY, format!("t={},v1={sig}", T + 1), SECRET, T),
        case("uppercase hex", BODY, format!("t={T},v1={}", sig.to_uppercase()), SECRET, T),
        case("truncated signature", BODY, format!("t={T},v1={}", &sig[..63]), SECRET, T),
    ];
    let malformed = [
        String::new(),
        "garbage".into(),
        "t=".into(),
        format!("v1={sig}"),
        format!("t={T}"),
        format!("t={T},v1="),
        format!("t=abc,v1={sig}"),
        format!("t=-1,v1={sig}"),
        format!(" t={T},v1={sig}"),
        format!("t={T}, v1={sig}"),
        format!("t= {T},v1={sig}"),
        format!("t=+{T},v1={sig}"),
        format!("t={T}abc,v1={sig}"),
        format!("t={T}.5,v1={sig}"),
        format!("t=000{T},v1={sig}"),
        format!("t=1,t={T},v1={sig}"),
        format!("t={T},t=1,v1={sig}"),
        format!("t={T},v1={sig}=trailing"),
        format!("t={T};v1={sig}"),
        format!("t={T},,v1={sig},"),
        format!("T={T},v1={sig}"),
        format!("t={T},v1=,v1={sig}"),
        format!("t={T},v1={sig},v1"),
        format!("t={T},v1={},v1={sig}", "é".repeat(64)),
        format!("t={T},v1={},v1={sig}", "é".repeat(10)),
        format!("t={T},V1={sig}"),
    ];
    for (i, header) in malformed.into_iter().enumerate() {
        cases.push(case(&format!("header variant {i}: {header:?}"), BODY, header, SECRET, T));
    }

    // Headers the official library generated, for real-shaped payloads and several times.
    let payloads: Vec<String> =
        foresight_e2e::sample_stripe_events().into_iter().take(4).map(|(_, b)| String::from_utf8(b).unwrap()).collect();
    let requests: Vec<Value> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"payload": p, "secret": SECRET, "timestamp": T + i as i64 * 1000}))
        .collect();
    let signed = node(&["oracle.js", "--sign"], &json!({ "requests": requests }));
    for (i, header) in signed["headers"].as_array().unwrap().iter().enumerate() {
        let header = header.as_str().unwrap().to_owned();
        let t = T + i as i64 * 1000;
        cases.push(case(&format!("library-signed {i}"), &payloads[i], header.clone(), SECRET, t + 299));
        cases.push(case(&format!("library-signed {i}, stale"), &payloads[i], header.clone(), SECRET, t + 301));
        cases.push(case(&format!("library-signed {i}, other payload"), BODY, header, SECRET, t));
    }

    let input: Vec<Value> = cases
        .iter()
        .map(|c| json!({"name": c.name, "body": c.body, "header": c.header, "secret": c.secret, "now": c.now, "tolerance": 300}))
        .collect();
    let results = node(&["oracle.js"], &json!({ "cases": input }));
    let results = results["results"].as_array().unwrap();
    assert_eq!(results.len(), cases.len());

    let mut accepted = 0;
    let mut disagreements = Vec::new();
    for (c, r) in cases.iter().zip(results) {
        let official = r["verified"].as_bool().unwrap();
        let ours = verify(Some(&c.header), c.body.as_bytes(), &StripeSecrets::new(c.secret, None), c.now, 300).is_ok();
        accepted += usize::from(ours);
        if official != ours {
            disagreements.push(format!("{}: stripe-node {official} ({}), ours {ours}", c.name, r["error"]));
        }
    }
    assert!(disagreements.is_empty(), "disagreements:\n{}", disagreements.join("\n"));
    // Both outcomes are exercised: the comparison is not vacuous.
    assert!(accepted >= 15 && accepted < cases.len() - 15, "{accepted} of {} accepted", cases.len());
}

/// Rotation on our side: the previous secret still verifies while both are configured.
#[test]
fn previous_secret_verifies_headers_signed_by_the_library() {
    let signed = node(
        &["oracle.js", "--sign"],
        &json!({"requests": [{"payload": BODY, "secret": "whsec_previous", "timestamp": T}]}),
    );
    let header = signed["headers"][0].as_str().unwrap();
    let rotating = StripeSecrets::new("whsec_current", Some("whsec_previous".into()));
    assert!(verify(Some(header), BODY.as_bytes(), &rotating, T, 300).is_ok());
    let current_only = StripeSecrets::new("whsec_current", None);
    assert!(verify(Some(header), BODY.as_bytes(), &current_only, T, 300).is_err());
}
