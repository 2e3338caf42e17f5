//! Held analytics usage in an SQS queue: each held batch is one message (more when its usage
//! does not fit one), its JSON gzipped and base64-encoded; the fold receives ten at a time and
//! deletes what it folded. A message the fold cannot read stays in the queue and goes to the
//! queue's dead-letter queue after its receive limit (the template's redrive policy).

use crate::adapters::sqs::SqsQueue;
use crate::app::ports::queue::QueueError;
use crate::app::ports::usage_backlog::{HeldUsage, Taken, UsageBacklog, UsageBuffer};
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use base64::Engine;
use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use std::io::{Read, Write};

/// The largest message body sent: SQS takes 256 KiB (1 MiB since 2025; moto and older
/// deployments 256 KiB), bills every 64 KiB as a request.
pub const MAX_BODY_BYTES: usize = 192 * 1024;
/// How long a taken batch stays hidden from other takers: the fold function's timeout.
pub const TAKEN_FOR_SECONDS: i32 = 900;

fn sqs_error(operation: &'static str, err: impl std::error::Error + Send + Sync + 'static) -> QueueError {
    QueueError::Sqs { operation, source: DisplayErrorContext(err).to_string().into() }
}

/// A held batch's message body: its JSON, gzipped, in standard base64.
pub fn encode(usage: &HeldUsage) -> Result<String, QueueError> {
    let json = serde_json::to_vec(usage)?;
    let mut gzip = GzEncoder::new(Vec::with_capacity(json.len() / 3), Compression::fast());
    gzip.write_all(&json)
        .and_then(|_| gzip.finish())
        .map(|zipped| base64::engine::general_purpose::STANDARD.encode(zipped))
        .map_err(|e| QueueError::Sqs {
            operation: "SendMessage",
            source: format!("cannot gzip the held usage: {e}").into(),
        })
}

/// Reads a body [`encode`] wrote.
pub fn decode(body: &str) -> Result<HeldUsage, String> {
    let zipped = base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| format!("not base64: {e}"))?;
    let mut json = Vec::with_capacity(zipped.len() * 4);
    GzDecoder::new(zipped.as_slice()).read_to_end(&mut json).map_err(|e| format!("not gzip: {e}"))?;
    serde_json::from_slice(&json).map_err(|e| format!("not held usage: {e}"))
}

/// `usage` as message bodies of at most [`MAX_BODY_BYTES`]: one, unless it must be split (by
/// halves, so each part still holds whole (group or user, day) pairs).
pub fn bodies(usage: &HeldUsage) -> Result<Vec<String>, QueueError> {
    let body = encode(usage)?;
    if body.len() <= MAX_BODY_BYTES || usage.len() < 2 {
        return Ok(vec![body]);
    }
    let (mut first, mut second) = (HeldUsage::default(), HeldUsage::default());
    let half = usage.len() / 2;
    for (i, pair) in usage.grouped.iter().enumerate() {
        if i < half { &mut first } else { &mut second }.grouped.push(pair.clone());
    }
    for (i, pair) in usage.ungrouped.iter().enumerate() {
        if usage.grouped.len() + i < half { &mut first } else { &mut second }.ungrouped.push(pair.clone());
    }
    for (i, pair) in usage.resolved.iter().enumerate() {
        let at = usage.grouped.len() + usage.ungrouped.len() + i;
        if at < half { &mut first } else { &mut second }.resolved.push(pair.clone());
    }
    let mut out = bodies(&first)?;
    out.extend(bodies(&second)?);
    Ok(out)
}

#[async_trait]
impl UsageBuffer for SqsQueue {
    async fn hold(&self, usage: &HeldUsage) -> Result<(), QueueError> {
        for body in bodies(usage)? {
            self.client()
                .send_message()
                .queue_url(self.url())
                .message_body(body)
                .send()
                .await
                .map_err(|e| sqs_error("SendMessage", e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl UsageBacklog for SqsQueue {
    async fn take(&self, max: usize) -> Result<Vec<Taken>, QueueError> {
        let mut taken = Vec::new();
        while taken.len() < max {
            let out = self
                .client()
                .receive_message()
                .queue_url(self.url())
                .max_number_of_messages((max - taken.len()).min(10) as i32)
                .visibility_timeout(TAKEN_FOR_SECONDS)
                // Long polling for a second: a short poll may answer empty while messages wait.
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(|e| sqs_error("ReceiveMessage", e))?;
            if out.messages().is_empty() {
                break;
            }
            for message in out.messages() {
                let receipt = message.receipt_handle().unwrap_or_default().to_owned();
                match decode(message.body().unwrap_or_default()) {
                    Ok(usage) => taken.push(Taken { receipt, usage }),
                    // Left in the queue: after its receive limit, the dead-letter queue keeps it.
                    Err(error) => tracing::error!(message_id = message.message_id(), %error, "held usage unreadable"),
                }
            }
        }
        Ok(taken)
    }

    async fn release(&self, receipts: &[String]) -> Result<(), QueueError> {
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .build()
                        .map_err(|e| sqs_error("DeleteMessageBatch", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client()
                .delete_message_batch()
                .queue_url(self.url())
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sqs_error("DeleteMessageBatch", e))?;
            // A batch that stays is folded again later: its sets add nothing the second time.
            for failed in out.failed() {
                tracing::warn!(code = failed.code(), message = failed.message(), "held usage not released");
            }
        }
        Ok(())
    }
}
