//! Zendesk webhook signature: `X-Zendesk-Webhook-Signature` is
//! `base64(HMAC-SHA256(key = secret as UTF-8, msg = TIMESTAMP + BODY))`, no separator, with
//! `X-Zendesk-Webhook-Signature-Timestamp` an ISO-8601 UTC time. (An old Zendesk page shows
//! BODY + TIMESTAMP; that order is wrong.) Zendesk documents no replay window: Foresight enforces
//! five minutes either way, and the invocation id makes redeliveries recognisable.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::DateTime;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far the signed timestamp may be from our clock, in seconds.
pub const REPLAY_WINDOW_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Zendesk-Webhook-Signature header")]
    MissingSignature,
    #[error("missing X-Zendesk-Webhook-Signature-Timestamp header")]
    MissingTimestamp,
    #[error("X-Zendesk-Webhook-Signature-Timestamp is not an ISO-8601 time: {0:?}")]
    BadTimestamp(String),
    #[error("signature does not match timestamp + body for the configured secret")]
    Mismatch,
    #[error("timestamp is {0} s away from now, outside the {REPLAY_WINDOW_SECS} s replay window")]
    OutsideWindow(i64),
}

/// `base64(HMAC-SHA256(secret, timestamp + body))`.
pub fn compute_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Verifies a delivery at `now` (Unix seconds); returns the signed time.
pub fn verify(
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<i64, SignatureError> {
    let signature = signature.filter(|s| !s.is_empty()).ok_or(SignatureError::MissingSignature)?;
    let timestamp = timestamp.filter(|t| !t.is_empty()).ok_or(SignatureError::MissingTimestamp)?;
    let expected = compute_signature(secret, timestamp, body);
    if signature.len() != expected.len() || !bool::from(signature.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(SignatureError::Mismatch);
    }
    let signed_at = DateTime::parse_from_rfc3339(timestamp)
        .map_err(|_| SignatureError::BadTimestamp(timestamp.to_owned()))?
        .timestamp();
    let skew = now - signed_at;
    if skew.abs() > REPLAY_WINDOW_SECS {
        return Err(SignatureError::OutsideWindow(skew));
    }
    Ok(signed_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
    const TS: &str = "2024-04-17T17:18:10Z";
    const BODY: &[u8] = br#"{"say": "hello"}"#;
    const SIG: &str = "uxEWFaNOmXm/HFqIBtEPGTgIWx+SBqKUO/t3+9I2mkw=";
    const AT: i64 = 1_713_374_290;

    #[test]
    fn spec_sheet_vector() {
        assert_eq!(compute_signature(SECRET, TS, BODY), SIG);
        assert_eq!(verify(Some(SIG), Some(TS), BODY, SECRET, AT), Ok(AT));
    }

    #[test]
    fn rejects_wrong_order_stale_tampered_and_missing() {
        // BODY + TIMESTAMP (the old docs page's order) must not verify.
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(BODY);
        mac.update(TS.as_bytes());
        let wrong_order = STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(verify(Some(&wrong_order), Some(TS), BODY, SECRET, AT), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(SIG), Some(TS), BODY, SECRET, AT + 301), Err(SignatureError::OutsideWindow(301)));
        assert_eq!(verify(Some(SIG), Some(TS), BODY, SECRET, AT - 301), Err(SignatureError::OutsideWindow(-301)));
        assert!(verify(Some(SIG), Some(TS), BODY, SECRET, AT + 300).is_ok());
        assert_eq!(verify(Some(SIG), Some(TS), br#"{"say": "hellO"}"#, SECRET, AT), Err(SignatureError::Mismatch));
        assert_eq!(verify(None, Some(TS), BODY, SECRET, AT), Err(SignatureError::MissingSignature));
        assert_eq!(verify(Some(SIG), None, BODY, SECRET, AT), Err(SignatureError::MissingTimestamp));
        assert_eq!(verify(Some(SIG), Some(TS), BODY, "other", AT), Err(SignatureError::Mismatch));
    }
}
