//! Inbound source adapters: each verifies its sender's signature and turns payloads into
//! domain changes. No I/O here.

pub mod borrowed;
pub mod segment;
pub mod sha_backend;
pub mod skipping_json;
pub mod stripe;
pub mod typeform;
pub mod zendesk;
