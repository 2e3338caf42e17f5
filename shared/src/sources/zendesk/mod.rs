//! Zendesk adapter: signature check and parsing of the two webhook bodies Zendesk sends, into
//! ticket changes.
//!
//! - Event-subscription webhooks: `{"type": "zen:event-type:ticket.status_changed", "id",
//!   "time", "subject": "zen:ticket:<id>", "detail": {ticket}, "event": {...}}`, ids as strings.
//! - Trigger webhooks with the JSON body the README recommends (ticket id, status, priority,
//!   organization id and external id, requester id, created/updated at, satisfaction rating).
//!   Zendesk does not JSON-escape placeholders, so a value with a quote breaks the JSON: the
//!   error names the byte.

pub mod export;
pub mod fields;
pub mod signature;

use crate::domain::account::attr;
use crate::domain::support::{Rating, RatingMark, TicketState};
use crate::domain::{AccountChange, EventVersion, GuardedGroup};
use crate::sources::borrowed::Scalar;
use fields::Fields;
use serde_json::{json, Value};

/// A parsed delivery: which organization it concerns and what it does to the account.
#[derive(Clone, Debug, PartialEq)]
pub struct ZendeskUpdate {
    /// The event id, or the invocation id for trigger webhooks (which have none).
    pub delivery_id: String,
    /// `zen:event-type:...` or `trigger`.
    pub kind: String,
    pub organization_id: Option<String>,
    /// The organization's external id: Foresight's account id when set.
    pub organization_external_id: Option<String>,
    /// `None` for types Foresight ignores, and for tickets with no organization (nothing to
    /// attribute them to).
    pub change: Option<AccountChange>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error(
        "malformed JSON at byte {byte} (line {line}, column {column}): {message}; \
         a trigger placeholder value probably holds a quote or a line break"
    )]
    Json { byte: usize, line: usize, column: usize, message: String },
    #[error("not a Zendesk ticket webhook: expected an event-subscription body with \"type\" or a trigger body with \"ticket_id\"")]
    UnknownShape,
    #[error("{0} is missing or empty")]
    Missing(&'static str),
}

/// The 0-based byte offset of a serde_json error position (line and column are 1-based): the
/// first byte that does not fit.
fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = body.split(|b| *b == b'\n').take(line.saturating_sub(1)).map(|l| l.len() + 1).sum();
    (line_start + column.saturating_sub(1)).min(body.len())
}

fn text(value: &Scalar) -> Option<String> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_ascii_lowercase)
}

/// A ticket time: RFC 3339, or the minute-precision form trigger placeholders can render.
fn time(value: &Scalar) -> Option<i64> {
    crate::domain::time::parse(value.as_str()?)
}

/// Parses a verified body. `invocation_id` is `X-Zendesk-Webhook-Invocation-Id`; `signed_at`
/// the signature time, used when a trigger body has no usable `updated_at`.
pub fn parse(body: &[u8], invocation_id: Option<&str>, signed_at: i64) -> Result<ZendeskUpdate, ParseError> {
    match Fields::read(body) {
        Ok(fields) => update(&fields, invocation_id, signed_at),
        // The tree reads the same bodies (`fields`); parsed again, its error is serde_json's
        // own, with the position a trigger's broken placeholder is found by.
        Err(_) => by_tree(body, invocation_id, signed_at),
    }
}

/// The body read as a `serde_json::Value` tree, then looked up: how every body was parsed before
/// [`Fields`], and still the path of a body `Fields` refuses.
fn by_tree(body: &[u8], invocation_id: Option<&str>, signed_at: i64) -> Result<ZendeskUpdate, ParseError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json {
        byte: byte_offset(body, e.line(), e.column()),
        line: e.line(),
        column: e.column(),
        message: e.to_string().split(" at line").next().unwrap_or_default().to_owned(),
    })?;
    update(&Fields::from_value(&value), invocation_id, signed_at)
}

/// The update a body's members make.
fn update(body: &Fields, invocation_id: Option<&str>, signed_at: i64) -> Result<ZendeskUpdate, ParseError> {
    // An empty header is no invocation id (the delivery id must name something).
    let invocation_id = invocation_id.map(str::trim).filter(|i| !i.is_empty());
    if let Some(kind) = body.kind.as_str() {
        if !kind.starts_with("zen:event-type:") {
            return Err(ParseError::UnknownShape);
        }
        let delivery_id = body.id.id().or(invocation_id.map(Into::into)).ok_or(ParseError::Missing("id"))?;
        let mut update = ZendeskUpdate {
            delivery_id,
            kind: kind.to_owned(),
            organization_id: None,
            organization_external_id: None,
            change: None,
        };
        if !kind.starts_with("zen:event-type:ticket.") {
            return Ok(update);
        }
        let detail = body.detail.as_deref().ok_or(ParseError::Missing("detail"))?;
        let ticket_id = detail.id.id().ok_or(ParseError::Missing("detail.id"))?;
        let deleted = kind.ends_with(".soft_deleted") || kind.ends_with(".permanently_deleted");
        let status = if deleted { Some("deleted".to_owned()) } else { text(&detail.status) };
        let updated_at = time(&detail.updated_at).or(time(&body.time)).unwrap_or(signed_at);
        update.organization_id = detail.organization_id.id();
        update.change = ticket_change(&ticket_id, status, detail, updated_at, &update.delivery_id, None)?;
        return Ok(update);
    }
    if body.ticket_id.is_absent() {
        return Err(ParseError::UnknownShape);
    }
    let ticket_id = body.ticket_id.id().ok_or(ParseError::Missing("ticket_id"))?;
    let delivery_id = invocation_id.map(str::to_owned).unwrap_or_else(|| format!("trigger-{ticket_id}"));
    let updated_at = time(&body.updated_at).unwrap_or(signed_at);
    let rating = body.satisfaction.as_str().and_then(Rating::from_zendesk);
    let status = text(&body.status);
    let change = ticket_change(&ticket_id, status, body, updated_at, &delivery_id, rating)?;
    Ok(ZendeskUpdate {
        delivery_id,
        kind: "trigger".into(),
        organization_id: body.organization_id.id(),
        organization_external_id: body.organization_external_id.id(),
        change,
    })
}

fn ticket_change(
    ticket_id: &str,
    status: Option<String>,
    ticket: &Fields,
    updated_at: i64,
    delivery_id: &str,
    rating: Option<Rating>,
) -> Result<Option<AccountChange>, ParseError> {
    let status = status.ok_or(ParseError::Missing("status"))?;
    let state = TicketState { status, priority: text(&ticket.priority), created_at: time(&ticket.created_at) };
    let version = EventVersion::new(updated_at, delivery_id);
    let group = GuardedGroup::new(format!("{}{ticket_id}", attr::TICKET), version, json!(state));
    let mut change = AccountChange::new("").with_guarded(group);
    if let Some(rating) = rating {
        let fact = format!("{}{ticket_id}#{updated_at}", attr::RATING);
        change = change.with_fact(fact, json!(RatingMark { rating, at: updated_at }));
    }
    Ok(Some(change))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: i64 = 1_713_374_290;

    fn event(kind: &str, detail: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"type": kind, "account_id": 9001, "id": "01HV-evt", "time": "2024-04-17T17:18:10Z",
            "zendesk_event_version": "2022-11-06", "subject": "zen:ticket:35", "detail": detail,
            "event": {"current": "OPEN", "previous": "NEW"}}))
        .unwrap()
    }

    #[test]
    fn event_subscription_ticket() {
        let detail = json!({"id": "35", "status": "OPEN", "priority": "URGENT", "organization_id": "8193",
            "requester_id": "3941", "created_at": "2024-04-17T17:00:00Z", "updated_at": "2024-04-17T17:18:05Z",
            "tags": ["vip"], "via": {"channel": "web"}});
        let u = parse(&event("zen:event-type:ticket.status_changed", detail), Some("inv_1"), AT).unwrap();
        assert_eq!((u.delivery_id.as_str(), u.organization_id.as_deref()), ("01HV-evt", Some("8193")));
        let change = u.change.unwrap();
        let group = change.guarded.unwrap();
        assert_eq!(group.attribute, "tk#35");
        assert_eq!(group.version, EventVersion::new(1_713_374_285, "01HV-evt"));
        assert_eq!(group.value["status"], "open");
        assert_eq!(group.value["priority"], "urgent");
        assert_eq!(group.value["created_at"], 1_713_373_200);
    }

    #[test]
    fn deleted_tickets_and_other_types() {
        let u =
            parse(&event("zen:event-type:ticket.soft_deleted", json!({"id": 35, "status": "open"})), None, AT).unwrap();
        assert_eq!(u.change.unwrap().guarded.unwrap().value["status"], "deleted");
        let other = parse(&event("zen:event-type:user.created", json!({"id": "1"})), None, AT).unwrap();
        assert_eq!(other.change, None);
    }

    #[test]
    fn trigger_body_with_satisfaction() {
        let body = br#"{"ticket_id": "77", "status": "solved", "priority": "", "organization_id": "8193",
            "organization_external_id": "acct_acme", "requester_id": "5", "created_at": "2024-04-10T09:00:00Z",
            "updated_at": "2024-04-17T17:18:00Z", "satisfaction": "Good"}"#;
        let u = parse(body, Some("inv_9"), AT).unwrap();
        assert_eq!(u.organization_external_id.as_deref(), Some("acct_acme"));
        let change = u.change.unwrap();
        assert_eq!(change.guarded.as_ref().unwrap().value["priority"], Value::Null);
        assert_eq!(change.facts[0].0, "cs#77#1713374280");
        assert_eq!(change.facts[0].1, json!({"rating": "good", "at": 1_713_374_280}));
    }

    #[test]
    fn malformed_trigger_json_names_the_byte() {
        // A ticket status placeholder would not hold a quote, but a subject or name would.
        let body = br#"{"ticket_id": "77", "status": "open", "organization_external_id": "Acme "West" Ltd"}"#;
        let err = parse(body, None, AT).unwrap_err();
        let ParseError::Json { byte, .. } = &err else { panic!("{err:?}") };
        assert_eq!(&body[*byte..*byte + 5], b"West\"".as_slice(), "{err}");
        assert!(err.to_string().starts_with(&format!("malformed JSON at byte {byte}")), "{err}");
        let multiline = b"{\n  \"ticket_id\": \"1\",\n  \"status\": \"open\" \"x\"\n}";
        let ParseError::Json { byte, line, .. } = parse(multiline, None, AT).unwrap_err() else { panic!() };
        assert_eq!((line, multiline[byte]), (3, b'"'));
    }

    #[test]
    fn unknown_shapes_and_missing_fields() {
        assert_eq!(parse(br#"{"say": "hello"}"#, None, AT), Err(ParseError::UnknownShape));
        assert_eq!(parse(br#"{"type": "other"}"#, None, AT), Err(ParseError::UnknownShape));
        assert_eq!(parse(br#"{"ticket_id": "", "status": "open"}"#, None, AT), Err(ParseError::Missing("ticket_id")));
        assert_eq!(parse(br#"{"ticket_id": "1"}"#, None, AT), Err(ParseError::Missing("status")));
        assert!(parse(b"", None, AT).is_err());
    }

    /// JSON text the way a broken or hostile sender could write it: repeated and escaped keys,
    /// serde_json's raw value key, lone surrogates, numbers out of range.
    fn json_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let key = prop::sample::select(vec![
            r#""type""#,
            r#""id""#,
            r#""ticket_id""#,
            r#""status""#,
            r#""detail""#,
            r#""organization_id""#,
            r#""updated_at""#,
            r#""stat\u0075s""#,
            r#""$serde_json::private::RawValue""#,
            r#""x""#,
        ]);
        let leaf = prop::sample::select(vec![
            r#""open""#,
            r#""zen:event-type:ticket.created""#,
            r#""\ud800""#,
            r#""\ud83d\ude00""#,
            "1e999",
            "-0",
            "18446744073709551616",
            "12",
            "1.5",
            "null",
            "true",
            r#""  ""#,
            r#""\"35\"""#,
            r#""{\"ticket_id\": 5, \"status\": \"open\"}""#,
            r#""2024-04-17T17:18:05Z""#,
        ])
        .prop_map(str::to_owned);
        leaf.prop_recursive(3, 24, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key.clone(), inner), 0..5).prop_map(|members| {
                    let members: Vec<String> = members.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    format!("{{{}}}", members.join(", "))
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_as_its_tree(body in json_text()) {
            let body = body.as_bytes();
            proptest::prop_assert_eq!(parse(body, Some("inv"), AT), by_tree(body, Some("inv"), AT));
        }
    }

    #[test]
    fn raw_value_bodies_parse_as_their_tree() {
        let key = crate::sources::borrowed::RAW_VALUE_KEY;
        for body in [
            format!(r#"{{"{key}": "{{\"ticket_id\":\"5\",\"status\":\"open\"}}"}}"#),
            format!(r#"{{"ticket_id": {{"{key}": "\"5\""}}, "status": "open"}}"#),
            format!(r#"{{"ticket_id": "5", "status": "open", "x": {{"{key}": 5}}}}"#),
            format!(r#"{{"ticket_id": "5", "status": "open", "x": {{"{key}": "1", "y": 2}}}}"#),
            format!(
                r#"{{"type": "zen:event-type:ticket.created", "id": "e", "detail": {{"{key}": "{{\"id\": 9, \"status\": \"new\"}}"}}}}"#
            ),
        ] {
            let direct = parse(body.as_bytes(), Some("inv_1"), AT);
            assert_eq!(direct, by_tree(body.as_bytes(), Some("inv_1"), AT), "{body}");
        }
        let read = parse(format!(r#"{{"{key}": "{{\"ticket_id\":\"5\",\"status\":\"open\"}}"}}"#).as_bytes(), None, AT);
        assert_eq!(read.unwrap().change.unwrap().guarded.unwrap().attribute, "tk#5", "read as the tree reads it");
    }

    #[test]
    fn every_sample_body_gives_the_update_its_tree_gives() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/zendesk");
        let mut read = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let body = std::fs::read(entry.unwrap().path()).unwrap();
            let tree: Value = serde_json::from_slice(&body).unwrap();
            let direct = parse(&body, Some("inv_1"), AT).unwrap();
            assert_eq!(direct, update(&Fields::from_value(&tree), Some("inv_1"), AT).unwrap());
            assert!(direct.change.is_some(), "{direct:?}");
            read += 1;
        }
        assert!(read >= 7, "{read} samples");
    }

    #[test]
    fn an_empty_invocation_id_is_none() {
        let u = parse(br#"{"ticket_id": "5", "status": "open"}"#, Some(" "), AT).unwrap();
        assert_eq!(u.delivery_id, "trigger-5");
    }

    #[test]
    fn minute_precision_trigger_times_parse() {
        let body = br#"{"ticket_id": "6", "status": "open", "organization_external_id": "acct_1",
            "created_at": "2013-12-12T05:35Z", "updated_at": "2013-12-12T06:35+01:00"}"#;
        let group = parse(body, Some("inv"), AT).unwrap().change.unwrap().guarded.unwrap();
        assert_eq!(group.value["created_at"], 1_386_826_500);
        assert_eq!(group.version, EventVersion::new(1_386_826_500, "inv"));
    }
}
