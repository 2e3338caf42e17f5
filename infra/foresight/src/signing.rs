//! Signs sample events the way each source does, so local posts pass real verification.

use foresight_shared::sources::stripe::signature::compute_signature;

/// A `Stripe-Signature` header for `body` at time `t`.
pub fn stripe_header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", compute_signature(secret, t, body))
}
