//! Segment-spec webhook signature: `X-Signature = hex(HMAC-SHA1(secret, body))`. A batch (a JSON
//! array) is signed over its **first element only**, exactly as serialised in the body, so the
//! element's bytes are taken from the body as they are (never re-serialised).

use hmac::{Hmac, KeyInit, Mac};
use serde_json::value::RawValue;
use sha1::Sha1;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Signature header")]
    MissingSignature,
    #[error("X-Signature is not a hex SHA-1 HMAC")]
    Malformed,
    #[error("signature does not match the message (for a batch: its first element as sent)")]
    Mismatch,
    #[error("body is not a JSON message or array of messages: {0}")]
    NotJson(String),
    #[error("batch is empty")]
    EmptyBatch,
}

/// The bytes Segment signs: the whole body for one message, the first element for a batch.
/// Only the first element is read here: the parse that follows the check reads the rest (a
/// batch of 1000 is not walked twice).
pub fn signed_bytes(body: &[u8]) -> Result<&[u8], SignatureError> {
    let Some(open) = body.iter().position(|b| !b.is_ascii_whitespace()).filter(|&i| body[i] == b'[') else {
        return Ok(body);
    };
    let rest = &body[open + 1..];
    if rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b']') {
        return Err(SignatureError::EmptyBatch);
    }
    let mut elements = serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
    match elements.next() {
        // `RawValue::get` is a slice of `body` itself: the element's exact bytes.
        Some(Ok(first)) => Ok(first.get().as_bytes()),
        Some(Err(e)) => Err(SignatureError::NotJson(e.to_string())),
        None => Err(SignatureError::NotJson("EOF while parsing a list".into())),
    }
}

pub fn compute_signature(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Verifies `X-Signature` over `body`.
pub fn verify(signature: Option<&str>, body: &[u8], secret: &str) -> Result<(), SignatureError> {
    let signature = signature.filter(|s| !s.is_empty()).ok_or(SignatureError::MissingSignature)?;
    let given = hex::decode(signature.trim()).map_err(|_| SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(signed_bytes(body)?);
    let expected = mac.finalize().into_bytes();
    if given.len() == expected.len() && bool::from(given.as_slice().ct_eq(expected.as_slice())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "abc123";
    const MESSAGE: &str = r#"{"type":"track","event":"Trial Started","userId":"u_123","context":{"groupId":"acct_123"},"messageId":"m1"}"#;
    const SIG: &str = "66593166d426b7053f20922a96333c508be8ab67";

    #[test]
    fn spec_sheet_vector_single_and_batch() {
        assert_eq!(compute_signature(SECRET, MESSAGE.as_bytes()), SIG);
        assert_eq!(verify(Some(SIG), MESSAGE.as_bytes(), SECRET), Ok(()));
        let batch = format!("[{MESSAGE}, {{\"type\":\"page\",\"messageId\":\"m2\"}}]");
        assert_eq!(verify(Some(SIG), batch.as_bytes(), SECRET), Ok(()));
        let spaced = format!(" \n[ {MESSAGE} ,{{}}]");
        assert_eq!(verify(Some(&SIG.to_uppercase()), spaced.as_bytes(), SECRET), Ok(()));
    }

    #[test]
    fn a_reserialised_first_element_is_rejected() {
        let value: serde_json::Value = serde_json::from_str(MESSAGE).unwrap();
        let pretty = format!("[{}]", serde_json::to_string_pretty(&value).unwrap());
        assert_eq!(verify(Some(SIG), pretty.as_bytes(), SECRET), Err(SignatureError::Mismatch));
        let reordered =
            MESSAGE.replace(r#"{"type":"track","event":"Trial Started""#, r#"{"event":"Trial Started","type":"track""#);
        assert_eq!(verify(Some(SIG), format!("[{reordered}]").as_bytes(), SECRET), Err(SignatureError::Mismatch));
    }

    #[test]
    fn bad_inputs() {
        assert_eq!(verify(None, MESSAGE.as_bytes(), SECRET), Err(SignatureError::MissingSignature));
        assert_eq!(verify(Some("zz"), MESSAGE.as_bytes(), SECRET), Err(SignatureError::Malformed));
        assert_eq!(verify(Some(SIG), b"[]", SECRET), Err(SignatureError::EmptyBatch));
        assert!(matches!(verify(Some(SIG), b"[{", SECRET), Err(SignatureError::NotJson(_))));
        assert_eq!(verify(Some(SIG), MESSAGE.as_bytes(), "other"), Err(SignatureError::Mismatch));
    }
}
