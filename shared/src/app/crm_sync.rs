//! Health on the CRM record: the accounts the health sweep marked (their score, band or top
//! reasons changed) get one write each on their linked HubSpot company and Salesforce Account.
//!
//! Why here and not in the sweep: the sweep's per-account cost stays what it was (the mark rides
//! on the write it makes anyway, and an unchanged account adds nothing), and the CRM's limits are
//! kept by one paced writer instead of ten sweep workers at once: writes are spaced by `pace`
//! (HubSpot allows 100 requests per 10 s), a rate limit stops the run and the rest waits for the
//! next one (nothing is lost: the marks stay). A PATCH of the same values is harmless, so a
//! write done twice (a crash before the mark is cleared) changes nothing on the record.

use crate::app::ports::delivery::DeliveryError;
use crate::app::ports::portfolio::{CrmHealthPort, CrmSyncQueue};
use crate::app::ports::store::StoreError;
use serde::Serialize;
use std::time::Duration;

/// How many marked accounts one run takes at most.
pub const BATCH: usize = 500;
/// Between two writes: 10 a second, under HubSpot's burst limit of 100 per 10 s.
pub const PACE: Duration = Duration::from_millis(100);

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CrmSyncSummary {
    /// Marked accounts read.
    pub pending: usize,
    /// Writes made (`PATCH`es), per CRM.
    pub written: std::collections::BTreeMap<String, usize>,
    /// Accounts left marked for the next run (a transient failure).
    pub retry_later: usize,
    /// Why the run stopped early (a rate limit), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// One run over at most `limit` marked accounts.
pub async fn run(
    queue: &dyn CrmSyncQueue,
    crms: &[&dyn CrmHealthPort],
    limit: usize,
    pace: Duration,
) -> Result<CrmSyncSummary, StoreError> {
    let pending = queue.pending_health(limit).await?;
    let mut summary = CrmSyncSummary { pending: pending.len(), ..Default::default() };
    if pending.is_empty() || crms.is_empty() {
        return Ok(summary);
    }
    let mut ready = Vec::new();
    for crm in crms {
        match crm.ensure_fields().await {
            Ok(()) => ready.push(*crm),
            Err(DeliveryError::Permanent(reason)) => {
                tracing::error!(crm = crm.name(), %reason, "CRM health fields cannot be set up; fix and run again")
            }
            Err(e) => {
                summary.stopped = Some(format!("{}: {e}", crm.name()));
                return Ok(summary);
            }
        }
    }
    let mut first = true;
    'accounts: for account in &pending {
        let mut done = true;
        for crm in &ready {
            let Some(record) = crm.record_id(account) else { continue };
            if !std::mem::take(&mut first) {
                tokio::time::sleep(pace).await;
            }
            match crm.set_health(record, &account.health).await {
                Ok(()) => *summary.written.entry(crm.name().to_owned()).or_default() += 1,
                Err(DeliveryError::RetryAfter { seconds, reason }) => {
                    summary.stopped = Some(format!("rate limited for {seconds} s: {reason}"));
                    summary.retry_later += 1;
                    break 'accounts;
                }
                Err(DeliveryError::Transient(reason)) => {
                    tracing::warn!(account_id = %account.account_id, crm = crm.name(), %reason, "CRM health not written; next run");
                    done = false;
                }
                // A record that cannot take the write (deleted, a field missing) is not tried
                // again until the health changes: retrying would fail the same way every run.
                Err(DeliveryError::Permanent(reason)) => {
                    tracing::error!(account_id = %account.account_id, crm = crm.name(), %reason, "CRM health refused")
                }
            }
        }
        if done {
            queue.health_synced(&account.account_id, &account.health.fp).await?;
        } else {
            summary.retry_later += 1;
        }
    }
    Ok(summary)
}
