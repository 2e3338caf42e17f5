//! The `foresight` command line; the work is in the library (`lib.rs`).

use clap::{Parser, Subcommand};
use foresight::{calibrate, cost, demo, server, StoreKind};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "foresight", version, about = "Foresight: customer-success automation, run locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the webhooks and the account API on one address.
    Dev {
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: String,
        #[arg(long, value_enum, default_value = "memory")]
        store: StoreKind,
        /// Health-model configuration (foresight.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// `oidc`: every read route (/kpis, /accounts*, /outbox) needs a bearer JWT of --issuer
        /// for --audience; the dashboard signs in with authorization code + PKCE.
        #[arg(long, value_enum, default_value = "none")]
        auth: AuthMode,
        /// The OIDC issuer URL (its /.well-known/openid-configuration names the JWKS).
        #[arg(long, required_if_eq("auth", "oidc"))]
        issuer: Option<String>,
        /// The audience a token must carry.
        #[arg(long, required_if_eq("auth", "oidc"))]
        audience: Option<String>,
        /// The OAuth client the dashboard signs in as (default: the audience).
        #[arg(long)]
        client_id: Option<String>,
    },
    /// Start the runner on a free port, post the signed sample events, print the records.
    Demo {
        #[arg(long, value_enum, default_value = "memory")]
        store: StoreKind,
        /// Folder of sample events (default: the repository's `events/`).
        #[arg(long)]
        events: Option<PathBuf>,
    },
    /// Link an external id of a source (stripe, zendesk, analytics, hubspot, salesforce) to an account.
    Link {
        source: String,
        external_id: String,
        account_id: String,
        /// The running runner to call.
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        url: String,
    },
    /// Print everything held about an account (GDPR art. 15) from a running runner.
    Export {
        account_id: String,
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        url: String,
    },
    /// Erase an account everywhere (GDPR art. 17) through a running runner; prints the counts.
    Erase {
        account_id: String,
        /// Who asks (recorded in the audit record; an operator or a ticket, not the customer).
        #[arg(long, default_value = "foresight CLI")]
        actor: String,
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        url: String,
    },
    /// Move every message of a dead-letter queue back to its queue, once the cause is fixed
    /// (a Slack channel created, a CRM field corrected). Uses the AWS credentials and region of
    /// the environment (or AWS_ENDPOINT_URL_SQS for the moto server).
    Redrive {
        /// The dead-letter queue URL (stack output NotificationsDeadLetterQueueUrl).
        #[arg(long)]
        from: String,
        /// The queue to send them to (stack output NotificationsQueueUrl).
        #[arg(long)]
        to: String,
    },
    /// Sign sample events with a webhook secret and post them to a running runner.
    Send {
        /// Event files, or folders of them (sent in name order).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        url: String,
        /// Stripe signing secret (default: $STRIPE_WEBHOOK_SECRET).
        #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
        stripe_secret: Option<String>,
        /// Zendesk signing secret (default: $ZENDESK_WEBHOOK_SECRET).
        #[arg(long, env = "ZENDESK_WEBHOOK_SECRET", hide_env_values = true)]
        zendesk_secret: Option<String>,
        /// Segment shared secret (default: $SEGMENT_SHARED_SECRET).
        #[arg(long, env = "SEGMENT_SHARED_SECRET", hide_env_values = true)]
        segment_secret: Option<String>,
        /// Typeform signing secret (default: $TYPEFORM_WEBHOOK_SECRET).
        #[arg(long, env = "TYPEFORM_WEBHOOK_SECRET", hide_env_values = true)]
        typeform_secret: Option<String>,
    },
    /// Replay the labelled portfolio day by day through the webhooks and the sweeps, and print how
    /// the judgement scores against the labels: precision and recall of "at risk", alerts per 100
    /// accounts per week, lead time before a slow decliner cancels, and whether a repeated sweep
    /// is silent.
    Calibrate {
        /// The portfolio (default: the repository's `events/portfolio/`).
        #[arg(long)]
        portfolio: Option<PathBuf>,
        /// The configuration it is judged with (default: the repository's foresight.example.toml,
        /// which the portfolio is written for).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Days replayed before the portfolio's "now" (sweeps once a day).
        #[arg(long, default_value_t = calibrate::DEFAULT_DAYS)]
        days: i64,
        /// Exit non-zero when a target (recall 100%, precision 90%, no healthy account alerted,
        /// repeated sweeps silent, lead time 21 days) is missed.
        #[arg(long)]
        check: bool,
        /// Also list every alert raised, by account.
        #[arg(long)]
        alerts: bool,
    },
    /// Print the monthly AWS bill of a deployment, per service, from the benchmarks' figures
    /// (us-east-1 list prices, arm64, on-demand; defaults: the 10,000-account scenario).
    Cost {
        #[arg(long, default_value_t = 10_000)]
        accounts: u64,
        /// Billing and support webhooks a month.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Product-analytics messages a month.
        #[arg(long, default_value_t = 100_000_000)]
        analytics_events: u64,
        /// Messages per analytics request.
        #[arg(long, default_value_t = 1000)]
        batch_size: u64,
        /// Accounts in one analytics batch (default: the messages come from the accounts as at
        /// random, 952 accounts in a batch of 1,000 over 10,000 accounts).
        #[arg(long)]
        accounts_per_batch: Option<u64>,
        /// Usage folds a day (the template's UsageFoldSchedule: daily by default); 0 when usage
        /// is written at once, batch by batch (UsageFoldSchedule=off).
        #[arg(long, default_value_t = 1)]
        usage_folds_per_day: u64,
        #[arg(long, default_value_t = 24)]
        sweeps_per_day: u64,
        /// Share of accounts whose health changes between two sweeps of a day.
        #[arg(long, default_value_t = 0.05)]
        changed_per_sweep: f64,
        #[arg(long, default_value_t = 30.0)]
        alerts_per_day: f64,
        /// Sources that deliver (Stripe, Zendesk, analytics, Typeform).
        #[arg(long, default_value_t = 3)]
        sources: u64,
        /// With the template's DetailedMetrics parameter on.
        #[arg(long)]
        detailed_metrics: bool,
        /// With the template's PerFunctionAlarms parameter on.
        #[arg(long)]
        per_function_alarms: bool,
        /// No CRM connected (no CRM sync writes).
        #[arg(long)]
        no_crm: bool,
        /// Share of billing and support events that change an account's portfolio card.
        #[arg(long, default_value_t = 0.1)]
        card_event_share: f64,
    },
}

async fn redrive(from: &str, to: &str) -> Result<(), String> {
    let (dlq, queue) =
        (foresight_shared::runtime::aws::sqs_queue(from).await, foresight_shared::runtime::aws::sqs_queue(to).await);
    let moved = dlq.redrive_to(&queue).await.map_err(|e| format!("redrive stopped: {e}"))?;
    println!("redrove {moved} message(s) from {from} to {to}");
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AuthMode {
    /// No sign-in (a runner on your own machine).
    None,
    /// Bearer JWTs of an OIDC issuer on every read route.
    Oidc,
}

async fn dev(
    addr: &str,
    store: foresight::StoreKind,
    config: Option<PathBuf>,
    auth: AuthMode,
    oidc: (Option<String>, Option<String>, Option<String>),
) -> Result<(), String> {
    let verifier = match (auth, oidc) {
        (AuthMode::None, _) => None,
        (AuthMode::Oidc, (Some(issuer), Some(audience), client_id)) => Some(std::sync::Arc::new(
            foresight::auth::OidcVerifier::discover(&issuer, &audience, client_id.as_deref()).await?,
        )),
        (AuthMode::Oidc, _) => return Err("--auth oidc needs --issuer and --audience".into()),
    };
    server::dev_with_auth(addr, store, config, verifier).await
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story; its per-event logs would drown it.
    let level = if matches!(cli.command, Command::Demo { .. } | Command::Calibrate { .. }) { "warn" } else { "info" };
    foresight_shared::runtime::telemetry::init_local(level);
    let result = match cli.command {
        Command::Dev { addr, store, config, auth, issuer, audience, client_id } => {
            dev(&addr, store, config, auth, (issuer, audience, client_id)).await
        }
        Command::Demo { store, events } => demo::run(store, events).await,
        Command::Link { source, external_id, account_id, url } => {
            demo::link(&url, &source, &external_id, &account_id).await
        }
        Command::Redrive { from, to } => redrive(&from, &to).await,
        Command::Export { account_id, url } => foresight::privacy::cli(&url, &account_id, None).await,
        Command::Erase { account_id, actor, url } => foresight::privacy::cli(&url, &account_id, Some(&actor)).await,
        Command::Send { paths, url, stripe_secret, zendesk_secret, segment_secret, typeform_secret } => {
            let secrets = demo::SigningSecrets {
                stripe: stripe_secret,
                zendesk: zendesk_secret,
                segment: segment_secret,
                typeform: typeform_secret,
            };
            demo::send(&url, &paths, &secrets).await.map(|_| ())
        }
        Command::Calibrate { portfolio, config, days, check, alerts } => {
            calibrate::command(portfolio, config, days, check, alerts).await
        }
        Command::Cost {
            accounts,
            events,
            analytics_events,
            batch_size,
            accounts_per_batch,
            usage_folds_per_day,
            sweeps_per_day,
            changed_per_sweep,
            alerts_per_day,
            sources,
            detailed_metrics,
            per_function_alarms,
            no_crm,
            card_event_share,
        } => {
            let scenario = cost::Scenario {
                accounts,
                events,
                analytics_events,
                batch_size,
                accounts_per_batch,
                usage_folds_per_day,
                sweeps_per_day,
                changed_per_sweep,
                alerts_per_day,
                sources,
                detailed_metrics,
                crm: !no_crm,
                card_event_share,
                alarms: cost::ALARMS_BY_DEFAULT + if per_function_alarms { cost::PER_FUNCTION_ALARMS } else { 0 },
            };
            let figures = cost::Figures::default();
            let lines = cost::bill(&scenario, &figures, &cost::Prices::default());
            print!("{}", cost::render(&scenario, &figures, &lines));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("foresight: {message}");
            ExitCode::from(2)
        }
    }
}
