//! Typeform webhook signature: `Typeform-Signature: sha256=<base64(HMAC-SHA256(secret, raw
//! body))>` (`../shared/integrations.md`, Surveys). Nothing with a time is signed: redeliveries
//! are recognised by `event_id`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PREFIX: &str = "sha256=";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Typeform-Signature header")]
    Missing,
    #[error("Typeform-Signature is not \"sha256=\" followed by a base64 HMAC-SHA256")]
    Malformed,
    #[error("signature does not match the body for the configured secret")]
    Mismatch,
}

/// `sha256=` + `base64(HMAC-SHA256(secret, body))`: the header Typeform sends.
pub fn compute_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("{PREFIX}{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Verifies the header over the raw body, in constant time.
pub fn verify(header: Option<&str>, body: &[u8], secret: &str) -> Result<(), SignatureError> {
    let header = header.filter(|h| !h.trim().is_empty()).ok_or(SignatureError::Missing)?;
    let encoded = header.strip_prefix(PREFIX).ok_or(SignatureError::Malformed)?;
    let given = STANDARD.decode(encoded.trim()).map_err(|_| SignatureError::Malformed)?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of `../shared/integrations.md`.
    const BODY: &str = r#"{"event_id":"01HTEST","event_type":"form_response","form_response":{"form_id":"abc123","hidden":{"account_id":"acct_1"},"answers":[{"type":"number","number":9,"field":{"id":"f1","type":"nps","ref":"nps"}}]}}"#;
    const SIGNATURE: &str = "sha256=g8soc+nOCDqdLug8gqq0n6vVuAOM3REitpj5I9THRmQ=";

    #[test]
    fn the_documented_vector_verifies() {
        assert_eq!(compute_signature("tf_test_secret", BODY.as_bytes()), SIGNATURE);
        assert_eq!(verify(Some(SIGNATURE), BODY.as_bytes(), "tf_test_secret"), Ok(()));
    }

    #[test]
    fn wrong_missing_and_malformed_signatures_fail() {
        let body = BODY.as_bytes();
        assert_eq!(verify(None, body, "tf_test_secret"), Err(SignatureError::Missing));
        assert_eq!(verify(Some(""), body, "tf_test_secret"), Err(SignatureError::Missing));
        assert_eq!(verify(Some(SIGNATURE), body, "another_secret"), Err(SignatureError::Mismatch));
        let mut changed = BODY.to_owned();
        changed.push(' ');
        assert_eq!(verify(Some(SIGNATURE), changed.as_bytes(), "tf_test_secret"), Err(SignatureError::Mismatch));
        for bad in [
            "g8soc+nOCDqdLug8gqq0n6vVuAOM3REitpj5I9THRmQ=",
            "sha1=g8soc+nOCDqdLug8gqq0n6vVuAOM3REitpj5I9THRmQ=",
            "sha256=not base64!",
            "sha256=AAAA",
        ] {
            assert_eq!(verify(Some(bad), body, "tf_test_secret"), Err(SignatureError::Malformed), "{bad}");
        }
    }
}
