//! `foresight`: the local runner and admin commands. `dev` serves every function's handler in
//! one process (the same library code the Lambda binaries call); `demo` shows a newcomer the
//! product end to end; `link` and `send` are admin and developer tools; `calibrate` measures the
//! judgement against the labelled portfolio.

pub mod auth;
pub mod backfill;
pub mod calibrate;
pub mod cost;
pub mod dashboard;
pub mod delivery;
pub mod demo;
pub mod playbooks;
pub mod portfolio;
pub mod privacy;
pub mod server;
pub mod signing;

/// Where the runner keeps data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// In-process, nothing to set up (the default).
    Memory,
    /// The table named by `FORESIGHT_TABLE` at `AWS_ENDPOINT_URL_DYNAMODB` (DynamoDB Local).
    Dynamodb,
}
