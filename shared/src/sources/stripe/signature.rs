//! `Stripe-Signature` verification, as Stripe's official libraries do it.
//!
//! Header: `t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]`, split on `,` and each item on
//! `=`; the signed string is `"{t}.{raw body}"`, signed with HMAC-SHA256 keyed by the whole
//! secret string (including `whsec_`). Only `v1` counts; any `v1` may match (Stripe sends one
//! per active secret while a secret is being rolled); the signature is checked before the
//! timestamp; a timestamp older than the tolerance fails, a future one passes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Stripe's default tolerance, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Stripe-Signature header")]
    MissingHeader,
    #[error("no webhook payload was provided")]
    EmptyPayload,
    #[error("unable to extract timestamp and signatures from the Stripe-Signature header")]
    MalformedHeader,
    #[error("no v1 signature in the Stripe-Signature header")]
    NoV1Signature,
    #[error("no signature matches the expected signature for this payload")]
    Mismatch,
    #[error("timestamp {age} s old is outside the tolerance of {tolerance} s")]
    Stale { age: i64, tolerance: i64 },
}

/// The webhook signing secrets of one endpoint: the current one and, while we roll it on our
/// side, the previous one.
#[derive(Clone)]
pub struct StripeSecrets {
    current: String,
    previous: Option<String>,
}

impl std::fmt::Debug for StripeSecrets {
    // Never print secret material, even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSecrets").field("previous", &self.previous.is_some()).finish_non_exhaustive()
    }
}

impl StripeSecrets {
    pub fn new(current: impl Into<String>, previous: Option<String>) -> Self {
        StripeSecrets { current: current.into(), previous: previous.filter(|p| !p.is_empty()) }
    }
}

/// What the header says, borrowed from it.
#[derive(Debug, PartialEq)]
struct ParsedHeader<'a> {
    timestamp: i64,
    v1: Vec<&'a str>,
}

/// Parses like stripe-node 23: items split on `,`, key and value are the first two `=`-separated
/// parts (no trimming); the last `t` wins and is read like JavaScript's `parseInt(t, 10)`
/// (leading white space, an optional sign, then the leading digits); at least one `v1`.
///
/// One deliberate difference: where stripe-node's `parseInt` yields `NaN` (`t=abc`), it signs
/// `"NaN.{body}"` and its age check `NaN > tolerance` never fails, so such a signature would be
/// replayable forever; Foresight rejects the header as malformed, as stripe-python does.
fn parse_header(header: &str) -> Result<ParsedHeader<'_>, SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let mut kv = item.split('=');
        match (kv.next().unwrap_or(""), kv.next()) {
            ("t", t) => timestamp = Some(t.and_then(parse_int)),
            ("v1", Some(sig)) => v1.push(sig),
            // stripe-node compares every v1 and throws on an empty or bare one, rejecting the
            // whole header even when another v1 matches: so do we.
            ("v1", None) => return Err(SignatureError::MalformedHeader),
            _ => {}
        }
    }
    // stripe-node also throws on a non-ASCII v1 as long as the expected hex (64 UTF-16 units).
    if v1.iter().any(|s| s.is_empty() || (!s.is_ascii() && s.encode_utf16().count() == 64)) {
        return Err(SignatureError::MalformedHeader);
    }
    let timestamp = timestamp.flatten().ok_or(SignatureError::MalformedHeader)?;
    // stripe-node uses -1 as its "no timestamp" sentinel: a header saying t=-1 fails there too.
    if timestamp == -1 {
        return Err(SignatureError::MalformedHeader);
    }
    if v1.is_empty() {
        return Err(SignatureError::NoV1Signature);
    }
    Ok(ParsedHeader { timestamp, v1 })
}

/// JavaScript's `parseInt(s, 10)` for values that fit an `i64`; `None` where it gives `NaN`.
fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let value: i64 = rest[..digits].parse().ok()?;
    Some(if negative { -value } else { value })
}

/// The lowercase hex HMAC-SHA256 of `"{t}.{payload}"` under `secret`.
pub fn compute_signature(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    String::from_utf8(expected_hex(secret, timestamp, payload).to_vec()).expect("hex digits are ASCII")
}

/// [`compute_signature`] in a buffer on the stack: the hot path compares it without allocating.
fn expected_hex(secret: &str, timestamp: i64, payload: &[u8]) -> [u8; 64] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(itoa::Buffer::new().format(timestamp).as_bytes());
    mac.update(b".");
    mac.update(payload);
    let mut hex = [0; 64];
    hex::encode_to_slice(mac.finalize().into_bytes(), &mut hex).expect("32 bytes are 64 hex digits");
    hex
}

/// Whether a `v1` is the expected signature: compared as text (an uppercase one does not
/// match, as in the official libraries) and in constant time, all eight words' differences
/// folded before one comparison.
fn is_expected(signature: &str, expected: &[u8; 64]) -> bool {
    let Ok(signature) = <&[u8; 64]>::try_from(signature.as_bytes()) else {
        // Like the official libraries, a length mismatch simply fails.
        return false;
    };
    let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().expect("eight bytes"));
    let difference = signature
        .chunks_exact(8)
        .zip(expected.chunks_exact(8))
        .fold(0u64, |difference, (a, b)| difference | (word(a) ^ word(b)));
    bool::from(difference.ct_eq(&0))
}

/// Verifies a `Stripe-Signature` header over the raw body at time `now` (Unix seconds).
/// Returns the signed timestamp.
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secrets: &StripeSecrets,
    now: i64,
    tolerance: i64,
) -> Result<i64, SignatureError> {
    let header = header.filter(|h| !h.is_empty()).ok_or(SignatureError::MissingHeader)?;
    if payload.is_empty() {
        return Err(SignatureError::EmptyPayload);
    }
    let parsed = parse_header(header)?;
    let candidates = std::iter::once(&secrets.current).chain(secrets.previous.as_ref());
    let matched = candidates.into_iter().any(|secret| {
        let expected = expected_hex(secret, parsed.timestamp, payload);
        parsed.v1.iter().any(|sig| is_expected(sig, &expected))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age = now.saturating_sub(parsed.timestamp);
    if tolerance > 0 && age > tolerance {
        return Err(SignatureError::Stale { age, tolerance });
    }
    Ok(parsed.timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
    const SIG: &str = "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";
    const T: i64 = 1_700_000_000;

    fn secrets() -> StripeSecrets {
        StripeSecrets::new("whsec_test_secret", None)
    }

    #[test]
    fn spec_sheet_vectors() {
        assert_eq!(compute_signature("whsec_test_secret", T, BODY), SIG);
        let header = format!("t={T},v1={SIG}");
        assert_eq!(verify(Some(&header), BODY, &secrets(), T, 300), Ok(T));
        let rotated = format!("t={T},v1=deadbeef,v1={SIG},v0=abc");
        assert_eq!(verify(Some(&rotated), BODY, &secrets(), T, 300), Ok(T));
    }

    #[test]
    fn tolerance_edges_and_future() {
        let header = format!("t={T},v1={SIG}");
        assert!(verify(Some(&header), BODY, &secrets(), T + 300, 300).is_ok());
        assert_eq!(
            verify(Some(&header), BODY, &secrets(), T + 301, 300),
            Err(SignatureError::Stale { age: 301, tolerance: 300 })
        );
        assert!(verify(Some(&header), BODY, &secrets(), T - 10_000, 300).is_ok());
    }

    #[test]
    fn timestamp_is_read_like_parse_int() {
        let s = secrets();
        for t in [format!(" {T}"), format!("+{T}"), format!("{T}abc"), format!("000{T}"), format!("{T}.9")] {
            assert_eq!(verify(Some(&format!("t={t},v1={SIG}")), BODY, &s, T, 300), Ok(T), "t={t}");
        }
        let last_wins = format!("t=1,t={T},v1={SIG}");
        assert_eq!(verify(Some(&last_wins), BODY, &s, T, 300), Ok(T));
        assert_eq!(parse_int("-0"), Some(0));
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("99999999999999999999999"), None);
    }

    #[test]
    fn previous_secret_is_accepted_during_rotation() {
        let header = format!("t={T},v1={SIG}");
        let rotating = StripeSecrets::new("whsec_new", Some("whsec_test_secret".into()));
        assert!(verify(Some(&header), BODY, &rotating, T, 300).is_ok());
        let other = StripeSecrets::new("whsec_new", None);
        assert_eq!(verify(Some(&header), BODY, &other, T, 300), Err(SignatureError::Mismatch));
    }

    #[test]
    fn rejects_bad_headers_and_tampering() {
        let s = secrets();
        let v = |h: &str| verify(Some(h), BODY, &s, T, 300);
        assert_eq!(verify(None, BODY, &s, T, 300), Err(SignatureError::MissingHeader));
        assert_eq!(v(""), Err(SignatureError::MissingHeader));
        assert_eq!(v("garbage"), Err(SignatureError::MalformedHeader));
        assert_eq!(v(&format!("v1={SIG}")), Err(SignatureError::MalformedHeader));
        assert_eq!(v(&format!("t=abc,v1={SIG}")), Err(SignatureError::MalformedHeader));
        assert_eq!(v(&format!("t=-1,v1={SIG}")), Err(SignatureError::MalformedHeader));
        assert_eq!(verify(Some(&format!("t={T},v1={SIG}")), b"", &s, T, 300), Err(SignatureError::EmptyPayload));
        assert_eq!(v(&format!("t={T}")), Err(SignatureError::NoV1Signature));
        assert_eq!(v(&format!("t={T},v0={SIG}")), Err(SignatureError::NoV1Signature));
        assert_eq!(v(&format!("t={T},v1={}", SIG.to_uppercase())), Err(SignatureError::Mismatch));
        assert_eq!(v(&format!("t={T}, v1={SIG}")), Err(SignatureError::NoV1Signature));
        assert_eq!(v(&format!("t={},v1={SIG}", T + 1)), Err(SignatureError::Mismatch));
        let tampered = verify(Some(&format!("t={T},v1={SIG}")), b"{\"id\":\"evt_x\"}", &s, T, 300);
        assert_eq!(tampered, Err(SignatureError::Mismatch));
    }
}
