//! The event-driven Lambda functions, wired: each one's ports built from the environment
//! (`from_env`, once per cold start) and its handler (`handle`, once per invocation). The
//! binaries in `functions/*` only start them; the webhooks are wired in their own `main`s with
//! [`super::webhooks`] and [`super::lambda::serve_webhook`].

use super::delivery::{self, DeliveryChannels};
use super::env::{self, NOTIFICATIONS_DLQ_VAR, NOTIFICATIONS_QUEUE_VAR, SWEEP_QUEUE_VAR};
use super::lambda::{self, Error, LambdaEvent};
use super::{aws, clock, metrics, secrets, settings};
use crate::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use crate::adapters::sqs::SqsQueue;
use crate::app::dispatch::{self, routes::DeliveryRoutes, DispatchPorts, QueueMessage};
use crate::app::health_sweep::{self, SweepPorts, TaskWorked};
use crate::app::renewal_sweep::{self, RenewalPorts};
use crate::app::settings::Settings;
use crate::domain::time;
use aws_lambda_events::sqs::SqsEvent;
use serde_json::{json, Value};
use std::time::Duration;

/// The health sweep: invoked by its schedule it plans the sweep (one SQS task per scan
/// segment); invoked by SQS it works segments (score, write back, raise alerts).
pub struct HealthSweepFunction {
    pub store: DynamoStore,
    pub outbox: DynamoOutbox,
    pub tasks: SqsQueue,
    pub notifications: SqsQueue,
    pub settings: Settings,
    pub segments: u32,
}

/// Leave a page's worth of time (a 1 MB page and its writes) before the function's deadline.
pub const SWEEP_PAGE_BUDGET: Duration = Duration::from_secs(60);

impl HealthSweepFunction {
    pub async fn from_env() -> Result<Self, Error> {
        Ok(HealthSweepFunction {
            store: aws::dynamo_store().await,
            outbox: aws::outbox().await,
            tasks: aws::required_queue(SWEEP_QUEUE_VAR).await?,
            notifications: aws::required_queue(NOTIFICATIONS_QUEUE_VAR).await?,
            settings: settings::from_env()?,
            segments: env::sweep_segments()?,
        })
    }

    pub fn ports(&self) -> SweepPorts<'_> {
        SweepPorts {
            scanner: &self.store,
            accounts: &self.store,
            usage: &self.store,
            outbox: &self.outbox,
            notifications: &self.notifications,
            progress: &self.outbox,
            sources: &self.store,
        }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        if event.payload.get("Records").is_none() {
            let now = clock::unix_now();
            let planned = health_sweep::plan_scheduled(&event.payload, &self.tasks, self.segments, now).await?;
            let resent = health_sweep::resend_unsent(&self.outbox, &self.notifications, now).await?;
            return Ok(json!({ "planned_segments": planned, "resent_alerts": resent }));
        }
        let keep_going = lambda::time_left_over(&event.context, SWEEP_PAGE_BUDGET);
        let batch: SqsEvent = serde_json::from_value(event.payload)?;
        let ports = self.ports();
        let (response, worked) = lambda::each_message(&batch, |message| {
            let body = message.body.as_deref().unwrap_or("");
            health_sweep::work_task(body, &ports, &self.tasks, &self.settings, None, &keep_going)
        })
        .await;
        let (scored, alerts) = worked
            .iter()
            .fold((0, 0), |(s, a), w: &TaskWorked| (s + w.swept.scored as u64, a + w.swept.alerts.len() as u64));
        metrics::swept(health_sweep::RAISED_BY, scored, alerts);
        Ok(serde_json::to_value(response)?)
    }
}

/// The renewal sweep, once a day on its schedule, as of the run's `scheduled_time` (the same on
/// every retry, so a retry raises nothing twice).
pub struct RenewalSweepFunction {
    pub store: DynamoStore,
    pub outbox: DynamoOutbox,
    pub notifications: SqsQueue,
    pub settings: Settings,
}

impl RenewalSweepFunction {
    pub async fn from_env() -> Result<Self, Error> {
        Ok(RenewalSweepFunction {
            store: aws::dynamo_store().await,
            outbox: aws::outbox().await,
            notifications: aws::required_queue(NOTIFICATIONS_QUEUE_VAR).await?,
            settings: settings::from_env()?,
        })
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let now = renewal_sweep::scheduled_now(&event.payload, clock::unix_now())?;
        let ports = RenewalPorts {
            index: &self.store,
            accounts: &self.store,
            outbox: &self.outbox,
            notifications: &self.notifications,
        };
        let summary = renewal_sweep::run(&ports, &self.settings, now).await?;
        metrics::swept(renewal_sweep::RAISED_BY, summary.read as u64, summary.alerts.len() as u64);
        Ok(json!({ "now": time::rfc3339(now), "summary": summary }))
    }
}

/// The usage fold, on its schedule: folds the analytics usage held in the backlog queue into the
/// accounts' usage days, round after round until the queue is empty or the invocation is within
/// five minutes of its timeout (left to write what the round took; the next run goes on). A run
/// in which some (account, day) could not be written fails after folding the rest: Lambda
/// retries it, then its failure reaches the sweep DLQ and its alarm.
pub struct UsageFoldFunction {
    pub store: DynamoStore,
    pub backlog: SqsQueue,
}

impl UsageFoldFunction {
    pub async fn from_env() -> Result<Self, Error> {
        Ok(UsageFoldFunction {
            store: aws::dynamo_store().await,
            backlog: aws::required_queue(super::env::USAGE_BACKLOG_QUEUE_VAR).await?,
        })
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        use crate::app::ingest::usage_fold::{self, FoldPorts};
        let ports = FoldPorts {
            backlog: &self.backlog,
            buffer: &self.backlog,
            accounts: &self.store,
            links: &self.store,
            usage: &self.store,
        };
        let more_time = lambda::time_left_over(&event.context, Duration::from_secs(300));
        let now = clock::unix_now();
        let report = usage_fold::fold(&ports, usage_fold::BATCHES_PER_ROUND, now, more_time).await?;
        if report.failed > 0 {
            return Err(format!("{} (account, day) pairs not written, held again: {report:?}", report.failed).into());
        }
        Ok(json!({ "report": report }))
    }
}

/// The dispatcher: consumes the notifications queue (FIFO, `ReportBatchItemFailures`) and
/// delivers each alert to Slack and the CRM exactly once.
pub struct DispatcherFunction {
    pub outbox: DynamoOutbox,
    pub notifications: SqsQueue,
    pub dead_letters: SqsQueue,
    pub channels: DeliveryChannels,
    pub routes: DeliveryRoutes,
}

/// The longest one message can take (three HTTP requests of at most 10 s each, and the writes).
pub const DISPATCH_MESSAGE_BUDGET: Duration = Duration::from_secs(35);

impl DispatcherFunction {
    pub async fn from_env() -> Result<Self, Error> {
        let routes = settings::from_env()?.delivery;
        Ok(DispatcherFunction {
            outbox: aws::outbox().await,
            notifications: aws::required_queue(NOTIFICATIONS_QUEUE_VAR).await?,
            dead_letters: aws::required_queue(NOTIFICATIONS_DLQ_VAR).await?,
            channels: delivery::channels(&secrets::load(&delivery::SECRET_VARS).await?, &routes)?,
            routes,
        })
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<Value, Error> {
        let messages: Vec<QueueMessage> = event
            .payload
            .records
            .iter()
            .map(|m| QueueMessage {
                id: m.message_id.as_deref().unwrap_or(""),
                body: m.body.as_deref().unwrap_or(""),
                receipt_handle: m.receipt_handle.as_deref(),
                receive_count: lambda::receive_count(m),
            })
            .collect();
        let ports = DispatchPorts {
            outbox: &self.outbox,
            log: &self.outbox,
            slack: self.channels.slack.as_deref(),
            crm: self.channels.crm.as_deref(),
            dead_letters: &self.dead_letters,
            redelivery: &self.notifications,
        };
        let keep_going = lambda::time_left_over(&event.context, DISPATCH_MESSAGE_BUDGET);
        let batch = dispatch::dispatch_batch(&messages, &ports, &self.routes, clock::unix_now(), &keep_going).await;
        batch.outcomes.iter().for_each(metrics::dispatched);
        Ok(serde_json::to_value(lambda::batch_response(batch.failed))?)
    }
}

/// Portfolio reports, on two schedules told apart by their input: `{"foresight":
/// "weekly-digest", "scheduled_time"}` builds the week's digest as of the run's time and
/// delivers it once per ISO week (a retried run sends nothing twice); `{"foresight":
/// "crm-sync"}` writes changed health on the CRM records, paced.
pub struct ReportsFunction {
    pub store: DynamoStore,
    pub outbox: DynamoOutbox,
    pub settings: Settings,
    /// Slack with a bot token, and `SLACK_DIGEST_CHANNEL`.
    pub digest_slack: Option<(crate::adapters::slack::SlackApi, String)>,
    pub crm_health: Vec<Box<dyn crate::app::ports::portfolio::CrmHealthPort>>,
}

/// The variable naming the digest's channel (a channel id).
pub const DIGEST_CHANNEL_VAR: &str = "SLACK_DIGEST_CHANNEL";

impl ReportsFunction {
    pub async fn from_env() -> Result<Self, Error> {
        let secrets = secrets::load(&delivery::SECRET_VARS).await?;
        let settings = settings::from_env()?;
        let digest_slack = match (secrets.get("SLACK_BOT_TOKEN"), env::non_empty(DIGEST_CHANNEL_VAR)) {
            (Some(token), Some(channel)) => {
                let client = crate::adapters::http::http_client().map_err(|e| e.to_string())?;
                Some((crate::adapters::slack::SlackApi::new(client, token), channel))
            }
            _ => None,
        };
        Ok(ReportsFunction {
            store: aws::dynamo_store().await,
            outbox: aws::outbox().await,
            crm_health: delivery::crm_health(&secrets, &settings.portfolio)?,
            settings,
            digest_slack,
        })
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        match event.payload.get("foresight").and_then(Value::as_str) {
            Some("crm-sync") => {
                let crms: Vec<&dyn crate::app::ports::portfolio::CrmHealthPort> =
                    self.crm_health.iter().map(|c| c.as_ref()).collect();
                let summary = crate::app::crm_sync::run(
                    &self.store,
                    &crms,
                    crate::app::crm_sync::BATCH,
                    crate::app::crm_sync::PACE,
                )
                .await?;
                Ok(json!({ "summary": summary }))
            }
            _ => {
                let now = crate::app::schedule::scheduled_now(&event.payload, clock::unix_now())?;
                let ports = crate::app::digest::DigestPorts {
                    ledger: &self.store,
                    cards: &self.store,
                    accounts: &self.store,
                    reports: &self.outbox,
                    slack: self.digest_slack.as_ref().map(|(slack, channel)| {
                        (slack as &dyn crate::app::ports::portfolio::DigestSlack, channel.as_str())
                    }),
                };
                let run = crate::app::digest::weekly(&ports, &self.settings, now).await?;
                Ok(json!({ "key": run.key, "status": run.status, "delivered": run.delivered }))
            }
        }
    }
}
