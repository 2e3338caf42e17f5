//! Unsubscribe tokens: `<payload>.<signature>`, the payload base64url of `<account id>\n<contact
//! key>` (no address in the URL), the signature 32 hex digits of HMAC-SHA256 with
//! `FORESIGHT_SIGNING_SECRET` over `unsubscribe.v1.<payload>`. A tampered or unknown token is
//! refused; a valid one unsubscribes the contact for good (`un#<contact key>` on the account).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the unsubscribe token is malformed")]
    Malformed,
    #[error("the unsubscribe token's signature does not match")]
    Signature,
}

/// Signs and checks unsubscribe tokens.
#[derive(Clone)]
pub struct UnsubscribeTokens {
    secret: String,
}

impl std::fmt::Debug for UnsubscribeTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsubscribeTokens")
    }
}

impl UnsubscribeTokens {
    pub fn new(secret: impl Into<String>) -> Self {
        UnsubscribeTokens { secret: secret.into() }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(b"unsubscribe.v1.");
        mac.update(payload.as_bytes());
        mac
    }

    /// The token of a contact of an account.
    pub fn token(&self, account_id: &str, contact_key: &str) -> String {
        let payload = URL_SAFE_NO_PAD.encode(format!("{account_id}\n{contact_key}"));
        let signature = hex::encode(&self.mac(&payload).finalize().into_bytes()[..16]);
        format!("{payload}.{signature}")
    }

    /// The (account id, contact key) a token names, if its signature holds.
    pub fn verify(&self, token: &str) -> Result<(String, String), TokenError> {
        let (payload, signature) = token.trim().split_once('.').ok_or(TokenError::Malformed)?;
        let signature = hex::decode(signature).map_err(|_| TokenError::Malformed)?;
        if signature.len() != 16 {
            return Err(TokenError::Malformed);
        }
        self.mac(payload).verify_truncated_left(&signature).map_err(|_| TokenError::Signature)?;
        let decoded = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let text = String::from_utf8(decoded).map_err(|_| TokenError::Malformed)?;
        let (account, contact) = text.split_once('\n').ok_or(TokenError::Malformed)?;
        Ok((account.to_owned(), contact.to_owned()))
    }
}

/// The unsubscribe page (`GET /unsubscribe`): no customer data, one button that POSTs.
pub fn page(token: &str) -> String {
    let token: String = token.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Unsubscribe</title></head><body>\
         <h1>Unsubscribe</h1><p>Stop these emails for good?</p>\
         <form method=\"post\" action=\"/unsubscribe?token={token}\"><button type=\"submit\">Unsubscribe</button></form>\
         </body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_tampering_is_refused() {
        let tokens = UnsubscribeTokens::new("fs_test");
        let token = tokens.token("acct_1", "0123456789abcdef");
        assert!(!token.contains('@') && !token.contains('='));
        assert_eq!(tokens.verify(&token), Ok(("acct_1".into(), "0123456789abcdef".into())));
        let forged = UnsubscribeTokens::new("other").token("acct_1", "0123456789abcdef");
        assert_eq!(tokens.verify(&forged), Err(TokenError::Signature));
        let other_account =
            format!("{}.{}", URL_SAFE_NO_PAD.encode("acct_2\n0123456789abcdef"), token.split_once('.').unwrap().1);
        assert_eq!(tokens.verify(&other_account), Err(TokenError::Signature));
        assert_eq!(tokens.verify("nonsense"), Err(TokenError::Malformed));
    }
}
