//! Adapters: the ports of [`crate::app::ports`] implemented against the real systems, each
//! tested against the real thing running locally (DynamoDB Local, moto) or the exact documented
//! request (wiremock).
//!
//! - [`dynamodb`]: the account table and the outbox table.
//! - [`sqs`]: the notifications queue, its dead-letter queue, the sweep's task queue;
//!   [`sqs_usage`]: analytics usage held for the usage fold.
//! - [`memory`]: in-process twins of the above.
//! - [`slack`], [`hubspot`], [`salesforce`]: delivery, over [`http`].
//! - [`ses`]: playbook emails (SES v2, raw MIME); [`inapp`]: the signed in-app webhook.

pub mod dynamodb;
pub mod http;
pub mod hubspot;
pub mod inapp;
pub mod memory;
pub mod salesforce;
pub mod ses;
pub mod slack;
pub mod source_api;
pub mod sqs;
pub mod sqs_usage;
