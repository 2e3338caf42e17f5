//! Segment's HTTP Tracking API: what Segment's own server libraries (analytics-node,
//! analytics-python) speak, so they can send to Foresight with only the host changed.
//!
//! - `POST /v1/batch` with `{"batch": [messages], "sentAt", "context"?, "writeKey"?}`, or
//!   `POST /v1/track|identify|group|page` with one message (its `type` is the path's);
//! - `Authorization: Basic base64(WRITE_KEY + ":")` (the password is empty);
//! - at most 500 KB a request and 32 KB a message.
//!
//! The messages are the same Segment-spec messages the webhook carries ([`super::Message`]), so
//! they are aggregated and deduplicated (on `messageId`) the same way.

pub use super::MAX_MESSAGE_BYTES;
use super::{Message, ParseError};
use crate::sources::borrowed::{Scalar, Text};
use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use subtle::ConstantTimeEq;

/// Segment's limit on one request.
pub const MAX_REQUEST_BYTES: usize = 500 * 1024;

/// The Tracking API's endpoints, by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Endpoint {
    Batch,
    Track,
    Identify,
    Group,
    Page,
}

impl Endpoint {
    /// The endpoint of a request path (`/v1/batch` …), `None` for any other path.
    pub fn from_path(path: &str) -> Option<Self> {
        use strum::IntoEnumIterator;
        let name = path.trim_end_matches('/').strip_prefix("/v1/")?;
        Endpoint::iter().find(|e| e.name() == name)
    }

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The route it is served on.
    pub fn path(self) -> String {
        format!("/v1/{}", self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing Authorization: Basic base64(<write key>:)")]
    Missing,
    #[error("Authorization is not Basic base64(<write key>:)")]
    Malformed,
    #[error("write key rejected")]
    WrongKey,
}

/// Checks `Authorization: Basic base64(write_key + ":")` against the configured write key, in
/// constant time. The password part is ignored, as Segment does (libraries send it empty).
pub fn verify_write_key(authorization: Option<&str>, write_key: &str) -> Result<(), AuthError> {
    let header = authorization.map(str::trim).filter(|h| !h.is_empty()).ok_or(AuthError::Missing)?;
    let (scheme, credentials) = header.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::Malformed);
    }
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(credentials.trim()).map_err(|_| AuthError::Malformed)?;
    let user = decoded.split(|b| *b == b':').next().unwrap_or_default();
    if user.len() == write_key.len() && bool::from(user.ct_eq(write_key.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::WrongKey)
    }
}

/// `Authorization` for a write key: `Basic base64(write_key + ":")`.
pub fn basic_authorization(write_key: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{write_key}:")))
}

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow)]
    batch: Vec<&'a RawValue>,
    #[serde(default, rename = "sentAt", borrow)]
    sent_at: Scalar<'a>,
    #[serde(default)]
    context: Option<Value>,
}

/// Parses a request body of `endpoint` into its messages. A batch's `sentAt` and
/// `context.groupId` stand in for a message's own when it has none; a message without a
/// `messageId` (hand-written calls: the libraries always set one) is identified by a hash of its
/// bytes, so that a resend of the same bytes still counts once.
pub fn parse(endpoint: Endpoint, body: &[u8]) -> Result<Vec<Message<'_>>, ParseError> {
    let json_error = |e: serde_json::Error| ParseError::Json(e.to_string());
    let mut messages = Vec::new();
    match endpoint {
        Endpoint::Batch => {
            let envelope: BatchBody<'_> = serde_json::from_slice(body)
                .map_err(|e| ParseError::Json(format!("expected {{\"batch\": [messages]}}: {e}")))?;
            // Borrowed from the body: each message that lacks its own shares it without a copy.
            let sent_at = match &envelope.sent_at {
                Scalar::Str(s) => Some(Text(s.clone())),
                _ => None,
            };
            let group = envelope.context.as_ref().and_then(|c| super::id(c.get("groupId")));
            for (index, raw) in envelope.batch.iter().enumerate() {
                let bytes = raw.get().as_bytes();
                if bytes.len() > MAX_MESSAGE_BYTES {
                    return Err(ParseError::TooLarge { index, bytes: bytes.len() });
                }
                let mut message: Message = serde_json::from_slice(bytes)
                    .map_err(|e| ParseError::Json(format!("batch[{index}] is not a message: {e}")))?;
                if message.sent_at.is_none() {
                    message.sent_at = sent_at.clone();
                }
                if message.group().is_none() && message.kind != "group" {
                    if let Some(group) = &group {
                        message.context.get_or_insert_with(Default::default).group_id =
                            Scalar::Str(group.clone().into());
                    }
                }
                fill_message_id(&mut message, bytes);
                messages.push(message);
            }
        }
        single => {
            if body.len() > MAX_MESSAGE_BYTES {
                return Err(ParseError::TooLarge { index: 0, bytes: body.len() });
            }
            let mut message: Message = serde_json::from_slice(body).map_err(json_error)?;
            message.kind = Text(std::borrow::Cow::Borrowed(single.name()));
            fill_message_id(&mut message, body);
            messages.push(message);
        }
    }
    super::check_message_ids(&messages)?;
    Ok(messages)
}

fn fill_message_id(message: &mut Message, bytes: &[u8]) {
    if message.message_id.as_deref().is_none_or(|id| id.trim().is_empty()) {
        use sha2::Digest;
        message.message_id = Some(Text::from(format!("sha256:{}", hex::encode(&sha2::Sha256::digest(bytes)[..16]))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_sheet_vector() {
        assert_eq!(basic_authorization("wk_test_key"), "Basic d2tfdGVzdF9rZXk6");
        assert_eq!(verify_write_key(Some("Basic d2tfdGVzdF9rZXk6"), "wk_test_key"), Ok(()));
        assert_eq!(verify_write_key(Some("basic d2tfdGVzdF9rZXk6"), "wk_test_key"), Ok(()), "scheme is case-blind");
        let with_password = base64::engine::general_purpose::STANDARD.encode("wk_test_key:ignored");
        assert_eq!(verify_write_key(Some(&format!("Basic {with_password}")), "wk_test_key"), Ok(()));
    }

    #[test]
    fn wrong_missing_and_malformed_credentials() {
        assert_eq!(verify_write_key(None, "wk"), Err(AuthError::Missing));
        assert_eq!(verify_write_key(Some(" "), "wk"), Err(AuthError::Missing));
        assert_eq!(verify_write_key(Some(&basic_authorization("other")), "wk"), Err(AuthError::WrongKey));
        assert_eq!(verify_write_key(Some(&basic_authorization("wk_")), "wk"), Err(AuthError::WrongKey));
        assert_eq!(verify_write_key(Some("Bearer d2s6"), "wk"), Err(AuthError::Malformed));
        assert_eq!(verify_write_key(Some("Basic !!!"), "wk"), Err(AuthError::Malformed));
        assert_eq!(verify_write_key(Some("Basic"), "wk"), Err(AuthError::Malformed));
    }

    #[test]
    fn endpoints_by_path() {
        assert_eq!(Endpoint::from_path("/v1/batch"), Some(Endpoint::Batch));
        assert_eq!(Endpoint::from_path("/v1/group/"), Some(Endpoint::Group));
        assert_eq!(Endpoint::from_path("/v1/screen"), None);
        assert_eq!(Endpoint::from_path("/webhooks/segment"), None);
        assert_eq!(Endpoint::Page.path(), "/v1/page");
    }

    #[test]
    fn a_batch_lends_its_sent_at_and_group_to_its_messages() {
        let body = br#"{"batch": [
            {"type": "track", "event": "Report Exported", "userId": "u1", "messageId": "m1"},
            {"type": "track", "event": "Logged In", "userId": "u1", "messageId": "m2", "context": {"groupId": "acct_2"},
             "timestamp": "2026-11-02T10:00:00.000Z"},
            {"type": "group", "userId": "u1", "groupId": "acct_3", "messageId": "m3"}
        ], "sentAt": "2026-11-01T09:00:00.000Z", "context": {"groupId": "acct_1"}, "writeKey": "wk"}"#;
        let messages = parse(Endpoint::Batch, body).unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0].group().as_deref(), Some("acct_1"));
        assert_eq!(messages[0].time(0), 1_793_523_600, "the batch's sentAt");
        assert_eq!(messages[1].group().as_deref(), Some("acct_2"), "its own context wins");
        assert_eq!(messages[1].time(0), 1_793_613_600);
        assert_eq!(messages[2].group().as_deref(), Some("acct_3"));
    }

    #[test]
    fn single_calls_take_their_type_from_the_path() {
        let body = br#"{"userId": "u1", "groupId": "acct_1", "traits": {"name": "Acme"}, "messageId": "g1"}"#;
        let messages = parse(Endpoint::Group, body).unwrap();
        assert_eq!((messages[0].kind.as_str(), messages[0].group().as_deref()), ("group", Some("acct_1")));
        let without_id = br#"{"userId": "u1", "event": "Logged In"}"#;
        let first = parse(Endpoint::Track, without_id).unwrap();
        let again = parse(Endpoint::Track, without_id).unwrap();
        assert_eq!(first[0].message_id, again[0].message_id, "the same bytes, the same id");
        assert!(first[0].message_id.as_deref().unwrap().starts_with("sha256:"));
    }

    #[test]
    fn limits_and_bad_bodies() {
        let big = format!(r#"{{"userId": "u1", "event": "{}", "messageId": "m"}}"#, "x".repeat(MAX_MESSAGE_BYTES));
        assert!(matches!(parse(Endpoint::Track, big.as_bytes()), Err(ParseError::TooLarge { index: 0, .. })));
        let batch = format!(r#"{{"batch": [{{"type": "page", "messageId": "a"}}, {big}]}}"#);
        assert!(matches!(parse(Endpoint::Batch, batch.as_bytes()), Err(ParseError::TooLarge { index: 1, .. })));
        assert!(matches!(parse(Endpoint::Batch, b"[]"), Err(ParseError::Json(_))));
        assert!(matches!(parse(Endpoint::Batch, br#"{"batch": [1]}"#), Err(ParseError::Json(_))));
        assert!(matches!(parse(Endpoint::Track, b"{"), Err(ParseError::Json(_))));
        let long = format!(r#"{{"userId": "u1", "messageId": "{}"}}"#, "x".repeat(101));
        assert_eq!(parse(Endpoint::Track, long.as_bytes()).unwrap_err(), ParseError::LongMessageId { index: 0 });
    }
}
