//! Signs sample events the way each source does, so local posts pass real verification.

use foresight_shared::sources::stripe::signature::compute_signature as stripe_signature;
use foresight_shared::sources::zendesk::signature::compute_signature as zendesk_signature;

/// A `Stripe-Signature` header for `body` at time `t`.
pub fn stripe_header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", stripe_signature(secret, t, body))
}

/// Zendesk's three headers (signature, timestamp, invocation id) for `body` at time `t`.
pub fn zendesk_headers(secret: &str, t: i64, invocation_id: &str, body: &[u8]) -> [(&'static str, String); 3] {
    let timestamp =
        chrono::DateTime::from_timestamp(t, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    [
        ("x-zendesk-webhook-signature", zendesk_signature(secret, &timestamp, body)),
        ("x-zendesk-webhook-signature-timestamp", timestamp),
        ("x-zendesk-webhook-invocation-id", invocation_id.to_owned()),
    ]
}
