//! Zendesk's incremental ticket export (`/api/v2/incremental/tickets/cursor.json`): each listed
//! ticket as the change a webhook about it makes, for the backfill.

use super::fields::Fields;
use super::{text, ticket_change, time, ParseError, ZendeskUpdate};
use crate::domain::support::Rating;
use serde_json::Value;

/// The event id of an exported ticket's version: `!` sorts before every id Zendesk sends, so at
/// the same `updated_at` the state a webhook already delivered wins and the replay writes
/// nothing.
pub const EXPORT_DELIVERY: &str = "!export";

/// One exported ticket as an update; its organization resolves like a webhook's.
pub fn parse_ticket(value: &Value) -> Result<ZendeskUpdate, ParseError> {
    let ticket = Fields::from_value(value);
    let ticket_id = ticket.id.id().ok_or(ParseError::Missing("id"))?;
    let updated_at = time(&ticket.updated_at).ok_or(ParseError::Missing("updated_at"))?;
    let rating = value.pointer("/satisfaction_rating/score").and_then(Value::as_str).and_then(Rating::from_zendesk);
    let change = ticket_change(&ticket_id, text(&ticket.status), &ticket, updated_at, EXPORT_DELIVERY, rating)?;
    Ok(ZendeskUpdate {
        delivery_id: format!("export:{ticket_id}:{updated_at}"),
        kind: "export".into(),
        organization_id: ticket.organization_id.id(),
        organization_external_id: None,
        change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_exported_ticket_is_the_webhook_change_at_the_lowest_version_of_its_time() {
        let ticket = json!({"id": 35, "status": "open", "priority": "urgent", "organization_id": 8193,
            "created_at": "2024-04-17T17:00:00Z", "updated_at": "2024-04-17T17:18:05Z",
            "satisfaction_rating": {"score": "good"}});
        let update = parse_ticket(&ticket).unwrap();
        assert_eq!(update.organization_id.as_deref(), Some("8193"));
        let change = update.change.unwrap();
        let group = change.guarded.unwrap();
        assert_eq!(group.attribute, "tk#35");
        assert_eq!(group.value["status"], "open");
        let webhook = crate::domain::EventVersion::new(1_713_374_285, "01HV-evt");
        assert!(group.version < webhook, "{} sorts before {webhook}", group.version);
        assert_eq!(change.facts.len(), 1, "the CSAT rating is kept");
        assert_eq!(parse_ticket(&json!({"id": 1, "status": "open"})), Err(ParseError::Missing("updated_at")));
    }
}
