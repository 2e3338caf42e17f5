//! The CRM task an alert becomes: its subject, body, due day and priority. The same for HubSpot
//! and Salesforce; each adapter maps it to its own fields.

use crate::app::ports::delivery::{one_line, reference, CrmTask, TaskPriority};
use crate::domain::alert::{Alert, AlertKind, Severity};
use crate::domain::health::Band;
use crate::domain::money;

/// The CRM task for an alert, due on `due`.
///
/// Subject: `<account>: <headline> — health <band>` (band left out when not scored). Body: the
/// summary, the reasons, the owner, the account and record links, and the dedupe key. Priority:
/// high for payment failures, cancellations and red accounts, medium for other risks and for
/// opportunities.
pub fn crm_task(alert: &Alert, due: chrono::NaiveDate) -> CrmTask {
    let account = alert.account_name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(&alert.account_id);
    let band = alert.band.map(|b| format!(" — health {b}")).unwrap_or_default();
    let subject = one_line(&format!("{account}: {}{band}", alert.headline));

    let mut body = String::new();
    body.push_str(&alert.summary);
    body.push('\n');
    if !alert.reasons.is_empty() {
        body.push_str("\nWhy:\n");
        for reason in &alert.reasons {
            body.push_str("- ");
            body.push_str(reason);
            body.push('\n');
        }
    }
    body.push('\n');
    body.push_str(&format!("Account: {account} ({})\n", alert.account_id));
    if let Some(owner) = &alert.owner {
        body.push_str(&format!("Owner: {owner}\n"));
    }
    body.push_str(&format!("MRR: {}\n", money::format(alert.mrr, alert.currency.as_deref())));
    if !alert.links.account.is_empty() {
        body.push_str(&format!("Open in Foresight: {}\n", alert.links.account));
    }
    if let Some(stripe) = &alert.links.stripe {
        body.push_str(&format!("Stripe: {stripe}\n"));
    }
    body.push_str(&format!("Raised by {} at {}\n", alert.raised_by, alert.raised_at));
    body.push_str(&format!("Foresight alert key: {} (ref {})\n", alert.dedupe_key, reference(&alert.dedupe_key)));

    let priority = match (alert.severity, alert.kind, alert.band) {
        (_, AlertKind::PaymentFailed | AlertKind::CancelAtPeriodEnd, _) => TaskPriority::High,
        (Severity::Risk, _, Some(Band::Red)) => TaskPriority::High,
        _ => TaskPriority::Medium,
    };
    CrmTask {
        dedupe_key: alert.dedupe_key.clone(),
        subject,
        body,
        due,
        priority,
        owner_id: alert.owner.clone().filter(|o| !o.trim().is_empty()),
        hubspot_company_id: alert.links.hubspot_company_id.clone().filter(|id| !id.trim().is_empty()),
        salesforce_account_id: alert.links.salesforce_account_id.clone().filter(|id| !id.trim().is_empty()),
    }
}
