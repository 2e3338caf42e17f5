//! Property tests of every source's verifier and parser (Stripe, Zendesk, Segment webhook and
//! HTTP Tracking API), on arbitrary bytes and on the sample events with mutations (types
//! swapped, fields removed, huge numbers, long ids, deep nesting, duplicate keys, invalid UTF-8,
//! cut bodies): a signature made as the sender makes it always verifies and any other does not;
//! a parser answers `Ok` or `Err`, never panics, and what it accepts keeps its invariants.

use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::domain::time;
use foresight_shared::domain::usage::AnalyticsConfig;
use foresight_shared::sources::segment::{self, signature as segment_signature, tracking};
use foresight_shared::sources::stripe::signature::{compute_signature, StripeSecrets};
use foresight_shared::sources::stripe::{self, verify as stripe_verify};
use foresight_shared::sources::zendesk::{self, signature as zendesk_signature};
use foresight_shared::testkit::mutate::{apply_all, json_value, mutations};
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Cases per parser property, and per signature property (each case hashes a body twice or so).
const PARSER_CASES: u32 = 1_000;
const SIGNATURE_CASES: u32 = 300;

fn samples(source: &str) -> &'static [Vec<u8>] {
    static STRIPE: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    static ZENDESK: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    static SEGMENT: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let cell = match source {
        "stripe" => &STRIPE,
        "zendesk" => &ZENDESK,
        _ => &SEGMENT,
    };
    cell.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(source);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no sample events in {}", dir.display());
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    })
}

/// A sample event of `source` with one to three mutations.
fn mutated(source: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let count = samples(source).len();
    (0..count, mutations()).prop_map(move |(i, m)| apply_all(&samples(source)[i], &m))
}

fn parser_config() -> ProptestConfig {
    ProptestConfig { cases: PARSER_CASES, failure_persistence: None, ..ProptestConfig::default() }
}

fn signature_config() -> ProptestConfig {
    ProptestConfig { cases: SIGNATURE_CASES, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(signature_config())]

    #[test]
    fn stripe_signs_and_verifies_any_body(
        body in prop::collection::vec(any::<u8>(), 1..2_048),
        secret in "whsec_[A-Za-z0-9]{1,40}",
        t in 1_000_000_000i64..4_000_000_000,
        age in 0i64..=300,
        flip in any::<prop::sample::Index>(),
    ) {
        let secrets = StripeSecrets::new(secret.clone(), None);
        let header = format!("t={t},v1={}", compute_signature(&secret, t, &body));
        prop_assert!(stripe_verify(Some(&header), &body, &secrets, t + age, 300).is_ok());
        prop_assert!(stripe_verify(Some(&header), &body, &secrets, t + 301 + age, 300).is_err(), "stale");
        let mut tampered = body.clone();
        tampered[flip.index(body.len())] ^= 0x01;
        prop_assert!(stripe_verify(Some(&header), &tampered, &secrets, t, 300).is_err());
        // As the official libraries: an empty payload never verifies.
        let empty = format!("t={t},v1={}", compute_signature(&secret, t, b""));
        prop_assert!(stripe_verify(Some(&empty), b"", &secrets, t, 300).is_err());
    }

    #[test]
    fn stripe_refuses_any_other_header(header in ".{0,200}", body in prop::collection::vec(any::<u8>(), 0..256)) {
        let secrets = StripeSecrets::new("whsec_prop", None);
        prop_assert!(stripe_verify(Some(&header), &body, &secrets, 1_700_000_000, 300).is_err());
    }

    #[test]
    fn zendesk_signs_and_verifies_any_body(
        body in prop::collection::vec(any::<u8>(), 0..2_048),
        secret in "[A-Za-z0-9+/=]{1,60}",
        t in 1_000_000_000i64..4_000_000_000,
        skew in -300i64..=300,
        flip in any::<prop::sample::Index>(),
    ) {
        let timestamp = time::rfc3339(t);
        let signature = zendesk_signature::compute_signature(&secret, &timestamp, &body);
        prop_assert_eq!(zendesk_signature::verify(Some(&signature), Some(&timestamp), &body, &secret, t + skew), Ok(t));
        prop_assert!(zendesk_signature::verify(Some(&signature), Some(&timestamp), &body, &secret, t + 301 + skew.abs()).is_err());
        if !body.is_empty() {
            let mut tampered = body.clone();
            tampered[flip.index(body.len())] ^= 0x01;
            prop_assert!(zendesk_signature::verify(Some(&signature), Some(&timestamp), &tampered, &secret, t).is_err());
        }
    }

    #[test]
    fn zendesk_refuses_any_other_headers(signature in ".{0,80}", timestamp in ".{0,40}", body in ".{0,100}") {
        let verdict = zendesk_signature::verify(Some(&signature), Some(&timestamp), body.as_bytes(), "zd_prop", 1_700_000_000);
        prop_assert!(verdict.is_err());
    }

    #[test]
    fn segment_signs_the_first_element_of_any_batch(
        first in json_value(),
        rest in prop::collection::vec(json_value(), 0..5),
        secret in "[ -~]{1,40}",
    ) {
        let first_text = serde_json::to_string(&first).unwrap();
        let signature = segment_signature::compute_signature(&secret, first_text.as_bytes());
        let rest: Vec<String> = rest.iter().map(|v| v.to_string()).collect();
        let batch = format!("[{first_text}{}]", rest.iter().map(|r| format!(",{r}")).collect::<String>());
        prop_assert_eq!(segment_signature::verify(Some(&signature), batch.as_bytes(), &secret), Ok(()));
        let other = segment_signature::compute_signature(&format!("{secret}x"), first_text.as_bytes());
        prop_assert!(segment_signature::verify(Some(&other), batch.as_bytes(), &secret).is_err());
    }

    #[test]
    fn segment_verify_never_panics(signature in ".{0,60}", body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = segment_signature::verify(Some(&signature), &body, "seg_prop");
    }

    #[test]
    fn tracking_write_keys_verify_as_segment_sends_them(key in "[A-Za-z0-9_-]{1,64}", other in "[A-Za-z0-9_-]{1,64}", header in ".{0,100}") {
        prop_assert_eq!(tracking::verify_write_key(Some(&tracking::basic_authorization(&key)), &key), Ok(()));
        if other != key {
            prop_assert!(tracking::verify_write_key(Some(&tracking::basic_authorization(&other)), &key).is_err());
        }
        let _ = tracking::verify_write_key(Some(&header), &key);
    }
}

proptest! {
    #![proptest_config(parser_config())]

    #[test]
    fn stripe_parses_or_refuses_any_mutation(body in mutated("stripe")) {
        if let Ok(update) = stripe::parse_event(&body, "account_id") {
            prop_assert!(update.identity.customer_id.as_deref().is_none_or(|c| !c.trim().is_empty()), "an empty customer is none");
            prop_assert!(update.identity.account_id.as_deref().is_none_or(|a| !a.trim().is_empty()));
        }
        // Through the use case's checks too: ids over the storage limit are refused there.
        let webhook = StripeWebhook::new(Some(StripeSecrets::new("whsec_prop", None)), "account_id");
        let header = format!("t=1700000000,v1={}", compute_signature("whsec_prop", 1_700_000_000, &body));
        if let Ok(update) = webhook.prepare(Some(&header), &body, 1_700_000_000) {
            for id in [&update.identity.customer_id, &update.identity.account_id, &update.identity.fallback_id].into_iter().flatten() {
                prop_assert!(id.len() <= 512, "{} bytes", id.len());
            }
        }
    }

    #[test]
    fn stripe_parses_or_refuses_any_json(value in json_value(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = stripe::parse_event(value.to_string().as_bytes(), "account_id");
        let _ = stripe::parse_event(&bytes, "account_id");
    }

    #[test]
    fn zendesk_parses_or_refuses_any_mutation(body in mutated("zendesk"), invocation in proptest::option::of("[a-z0-9-]{0,40}")) {
        if let Ok(update) = zendesk::parse(&body, invocation.as_deref(), 1_713_374_290) {
            prop_assert!(!update.delivery_id.is_empty());
            if let Some(change) = &update.change {
                let group = change.guarded.as_ref().expect("a ticket change is a guarded group");
                prop_assert!(group.attribute.starts_with("tk#") && group.attribute.len() > 3, "{}", group.attribute);
            }
        }
    }

    #[test]
    fn zendesk_parses_or_refuses_any_json(value in json_value(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = zendesk::parse(value.to_string().as_bytes(), Some("inv"), 0);
        let _ = zendesk::parse(&bytes, None, 0);
    }

    #[test]
    fn segment_parses_or_refuses_any_mutation(body in mutated("segment")) {
        if let Ok(messages) = segment::parse(&body) {
            for m in &messages {
                let id = m.message_id.as_deref().unwrap_or_default();
                prop_assert!((1..=100).contains(&id.chars().count()), "{id:?}");
            }
            let batch = segment::aggregate(&messages, &AnalyticsConfig::default(), 1_700_000_000);
            prop_assert!(batch.ignored <= messages.len());
        }
    }

    #[test]
    fn tracking_parses_or_refuses_any_mutation(body in mutated("segment"), endpoint in 0usize..5) {
        use strum::IntoEnumIterator;
        let endpoint = tracking::Endpoint::iter().nth(endpoint).unwrap();
        // The samples are webhook bodies (a message or an array): as a batch envelope too.
        let envelope = [b"{\"batch\":".as_slice(), &body, b"}"].concat();
        for body in [&body, &envelope] {
            if let Ok(messages) = tracking::parse(endpoint, body) {
                prop_assert!(messages.iter().all(|m| m.message_id.as_deref().is_some_and(|id| (1..=100).contains(&id.chars().count()))));
            }
        }
    }

    #[test]
    fn times_parse_or_not_and_round_trip(text in ".{0,40}", t in 0i64..=253_402_300_799) {
        let _ = time::parse(&text);
        prop_assert_eq!(time::parse(&time::rfc3339(t)), Some(t));
        // Zendesk's minute-precision placeholders, to the year 9999.
        let minute = time::at(t).format("%Y-%m-%dT%H:%MZ").to_string();
        prop_assert_eq!(time::parse(&minute), Some(t - t.rem_euclid(60)), "{}", minute);
    }
}
