//! The runtime: everything that reads the process's environment or sets the process up, and the
//! wiring of adapters into use cases. Depends on every other layer; nothing depends on it.
//!
//! - [`env`]: the deployment's variables; [`settings`]: `foresight.toml` plus their overrides;
//!   [`secrets`]: SSM Parameter Store (deployed) or the environment (locally); [`clock`]: now.
//! - [`aws`]: the AWS SDK set-up and the DynamoDB and SQS adapters on it; [`delivery`]: Slack and
//!   the CRM from their secrets; [`webhooks`]: the three webhooks with their secrets.
//! - [`telemetry`]: JSON logs; [`metrics`]: CloudWatch metrics (Embedded Metric Format).
//! - [`lambda`]: the glue every function's `main` shares; [`functions`]: the event-driven
//!   functions wired; [`read_api`]: the dashboard's read API behind API Gateway's JWT authorizer.

pub mod aws;
pub mod clock;
pub mod data_lifecycle;
pub mod delivery;
pub mod env;
pub mod functions;
pub mod lambda;
pub mod metrics;
pub mod playbooks;
pub mod privacy;
pub mod read_api;
pub mod secrets;
pub mod settings;
pub mod telemetry;
pub mod webhooks;
