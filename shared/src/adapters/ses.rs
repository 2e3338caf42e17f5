//! Amazon SES v2 for playbook emails: `SendEmail` with `Content.Raw` — the MIME message built
//! here (multipart/alternative, text and HTML in UTF-8 base64, RFC 2047 subjects for Japanese,
//! `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` per RFC 8058), so
//! the same request works against SES and moto's SES v2 (which has no templates). The
//! configuration set, when set, publishes bounces and complaints; `GetSuppressedDestination`
//! answers whether SES suppresses an address.

use crate::app::ports::delivery::{Delivered, DeliveryError};
use crate::app::ports::email::{EmailPort, OutgoingEmail};
use async_trait::async_trait;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Sends through SES v2.
#[derive(Clone, Debug)]
pub struct SesEmail {
    client: aws_sdk_sesv2::Client,
    configuration_set: Option<String>,
}

impl SesEmail {
    pub fn new(client: aws_sdk_sesv2::Client, configuration_set: Option<String>) -> Self {
        SesEmail { client, configuration_set }
    }
}

/// An RFC 2047 encoded word when the text is not plain ASCII.
fn encoded_word(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        text.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(text.as_bytes()))
    }
}

/// `Name <address>` with the name encoded where it needs to be.
fn mailbox(from: &str) -> String {
    match from.rsplit_once('<') {
        Some((name, address)) if !name.trim().is_empty() => {
            let name = name.trim().trim_matches('"');
            let shown = if name.is_ascii() { format!("\"{}\"", name.replace('"', "")) } else { encoded_word(name) };
            format!("{shown} <{}", address.trim())
        }
        _ => from.trim().to_owned(),
    }
}

fn base64_lines(text: &str) -> String {
    let encoded = STANDARD.encode(text.as_bytes());
    encoded.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// The raw MIME message of an email, dated `date`.
pub fn raw_message(email: &OutgoingEmail, date: chrono::DateTime<chrono::Utc>) -> String {
    let digest = hex::encode(&Sha256::digest(email.reference.as_bytes())[..12]);
    let boundary = format!("fs-{digest}");
    let domain = email.from.rsplit_once('@').map_or("foresight.local", |(_, d)| d.trim_end_matches('>').trim());
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let headers = [
        format!("From: {}", mailbox(&email.from)),
        format!("To: {}", one_line(&email.to)),
        format!("Subject: {}", encoded_word(&one_line(&email.subject))),
        format!("Date: {}", date.to_rfc2822()),
        format!("Message-ID: <{digest}.{}@{domain}>", date.timestamp()),
        "MIME-Version: 1.0".to_owned(),
        format!("Content-Language: {}", email.locale),
        format!("List-Unsubscribe: <{}>", one_line(&email.unsubscribe_url)),
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click".to_owned(),
        format!("X-Foresight-Reference: {digest}"),
        format!("Content-Type: multipart/alternative; boundary=\"{boundary}\""),
    ];
    let part = |kind: &str, body: &str| {
        format!(
            "--{boundary}\r\nContent-Type: {kind}; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64_lines(body)
        )
    };
    format!(
        "{}\r\n\r\n{}{}--{boundary}--\r\n",
        headers.join("\r\n"),
        part("text/plain", &email.text),
        part("text/html", &email.html)
    )
}

fn classify<
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
>(
    error: SdkError<E, R>,
) -> DeliveryError {
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let message = service.err().message().unwrap_or("").to_owned();
            let reason = format!("SES {code}: {message}");
            match code.as_str() {
                "TooManyRequestsException" | "LimitExceededException" | "Throttling" | "ThrottlingException" => {
                    DeliveryError::RetryAfter { seconds: 60, reason }
                }
                "MessageRejected"
                | "MailFromDomainNotVerifiedException"
                | "BadRequestException"
                | "NotFoundException"
                | "AccountSuspendedException"
                | "SendingPausedException" => DeliveryError::Permanent(reason),
                _ => DeliveryError::Transient(reason),
            }
        }
        _ => {
            DeliveryError::Transient(format!("SES unreachable: {}", aws_sdk_sesv2::error::DisplayErrorContext(&error)))
        }
    }
}

#[async_trait]
impl EmailPort for SesEmail {
    async fn send(&self, email: &OutgoingEmail) -> Result<Delivered, DeliveryError> {
        let raw = raw_message(email, chrono::Utc::now());
        let message = RawMessage::builder()
            .data(Blob::new(raw.into_bytes()))
            .build()
            .map_err(|e| DeliveryError::Permanent(format!("cannot build the message: {e}")))?;
        let sent = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().raw(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(classify)?;
        Ok(Delivered::new(sent.message_id().unwrap_or("ses")))
    }

    async fn is_suppressed(&self, address: &str) -> Result<bool, DeliveryError> {
        match self.client.get_suppressed_destination().email_address(address).send().await {
            Ok(found) => Ok(found.suppressed_destination().is_some()),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found_exception() => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mime_message_has_both_unsubscribe_headers_and_encoded_japanese() {
        let email = OutgoingEmail {
            from: "Acme Success <success@acme.example>".into(),
            to: "admin@customer.example".into(),
            subject: "導入のお手伝い".into(),
            text: "こんにちは".into(),
            html: "<p>こんにちは</p>".into(),
            locale: "ja".into(),
            unsubscribe_url: "https://fs.example/unsubscribe?token=abc.def".into(),
            reference: "playbook/acct/x/0".into(),
        };
        let date = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let raw = raw_message(&email, date);
        assert!(raw.contains("\r\nList-Unsubscribe: <https://fs.example/unsubscribe?token=abc.def>\r\n"));
        assert!(raw.contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(raw.contains(&format!("Subject: =?UTF-8?B?{}?=", STANDARD.encode("導入のお手伝い"))));
        assert!(raw.starts_with("From: \"Acme Success\" <success@acme.example>\r\nTo: admin@customer.example\r\n"));
        assert!(raw.contains(&STANDARD.encode("<p>こんにちは</p>")));
        assert!(raw.is_ascii() && raw.lines().all(|l| l.len() <= 998));
        assert_eq!(raw.matches("Content-Transfer-Encoding: base64").count(), 2);
    }
}
