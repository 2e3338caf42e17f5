//! The members of a Zendesk body that Foresight reads, read straight from the bytes: strings
//! borrowed unless escaped, every other member checked and dropped, no `serde_json::Value` tree
//! (which cost one allocation per key and per string: most of a webhook's CPU).
//!
//! It reads what the tree would hold, member for member: a duplicated key keeps its last value,
//! an id may be a string or a number (kept as serde_json prints it), and a body or a `detail`
//! that is not an object reads as one with no members. The members it drops are read by
//! serde_json as fully as the tree would read them (escapes, surrogates, number ranges), so the
//! two accept the same bodies; on an error the caller parses the tree again for serde_json's
//! own message and position (`super::parse`).

use crate::sources::borrowed::{Checked, Scalar, RAW_VALUE_KEY};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// The members read of a body, of its `detail`, or of an exported ticket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields<'a> {
    pub kind: Scalar<'a>,
    pub id: Scalar<'a>,
    pub time: Scalar<'a>,
    pub ticket_id: Scalar<'a>,
    pub status: Scalar<'a>,
    pub priority: Scalar<'a>,
    pub organization_id: Scalar<'a>,
    pub organization_external_id: Scalar<'a>,
    pub created_at: Scalar<'a>,
    pub updated_at: Scalar<'a>,
    pub satisfaction: Scalar<'a>,
    /// `None` when absent; a `detail` that is not an object has no members.
    pub detail: Option<Box<Fields<'a>>>,
}

impl<'a> Fields<'a> {
    /// Reads a body. An error is serde_json's (the caller reports the tree's own).
    pub fn read(body: &'a [u8]) -> Result<Fields<'a>, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The same members of a parsed tree (the export's tickets, and a body on the error path).
    pub fn from_value(value: &'a Value) -> Fields<'a> {
        let mut fields = Fields::default();
        if let Value::Object(map) = value {
            for (name, member) in map {
                match Key::named(name) {
                    Key::Detail => fields.detail = Some(Box::new(Fields::from_value(member))),
                    key => {
                        if let Some(slot) = fields.slot(key) {
                            *slot = Scalar::of(Some(member));
                        }
                    }
                }
            }
        }
        fields
    }

    /// Where a member read as a `Scalar` goes; `None` for the others.
    fn slot(&mut self, key: Key) -> Option<&mut Scalar<'a>> {
        Some(match key {
            Key::Kind => &mut self.kind,
            Key::Id => &mut self.id,
            Key::Time => &mut self.time,
            Key::TicketId => &mut self.ticket_id,
            Key::Status => &mut self.status,
            Key::Priority => &mut self.priority,
            Key::OrganizationId => &mut self.organization_id,
            Key::OrganizationExternalId => &mut self.organization_external_id,
            Key::CreatedAt => &mut self.created_at,
            Key::UpdatedAt => &mut self.updated_at,
            Key::Satisfaction => &mut self.satisfaction,
            Key::Detail | Key::RawValue | Key::Other => return None,
        })
    }
}

/// The keys read; any other is `Other`. Matched on the decoded key, as the tree's lookups are.
enum Key {
    Kind,
    Id,
    Time,
    TicketId,
    Status,
    Priority,
    OrganizationId,
    OrganizationExternalId,
    CreatedAt,
    UpdatedAt,
    Satisfaction,
    Detail,
    /// serde_json's raw value key (`borrowed::RAW_VALUE_KEY`).
    RawValue,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(Key::named(key))
    }
}

impl Key {
    /// The one list of the names read, for the bytes and for a tree alike.
    fn named(key: &str) -> Key {
        match key {
            "type" => Key::Kind,
            "id" => Key::Id,
            "time" => Key::Time,
            "ticket_id" => Key::TicketId,
            "status" => Key::Status,
            "priority" => Key::Priority,
            "organization_id" => Key::OrganizationId,
            "organization_external_id" => Key::OrganizationExternalId,
            "created_at" => Key::CreatedAt,
            "updated_at" => Key::UpdatedAt,
            "satisfaction" => Key::Satisfaction,
            "detail" => Key::Detail,
            RAW_VALUE_KEY => Key::RawValue,
            _ => Key::Other,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldsVisitor)
    }
}

/// An object's members; any other value is an object with none (as `Value::get` sees it).
struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut fields = Fields::default();
        let mut first = true;
        // A repeated key overwrites: the tree keeps the last value too.
        while let Some(key) = map.next_key::<Key>()? {
            // The tree reads an object whose first key is serde_json's raw value key as the JSON
            // text of its string: rare enough to leave to it (`super::parse` reads the body again
            // as a tree on any error).
            if std::mem::take(&mut first) && matches!(key, Key::RawValue) {
                return Err(de::Error::custom("a raw value, read by the tree"));
            }
            if matches!(key, Key::Detail) {
                fields.detail = Some(Box::new(map.next_value::<Fields>()?));
            } else if let Some(slot) = fields.slot(key) {
                *slot = map.next_value::<Scalar>()?;
            } else {
                map.next_value::<Checked>()?;
            }
        }
        Ok(fields)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Fields<'de>, A::Error> {
        Checked::drain_seq(seq).map(|_| Fields::default())
    }

    fn visit_str<E>(self, _: &str) -> Result<Fields<'de>, E> {
        Ok(Fields::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Fields<'de>, E> {
        Ok(Fields::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Fields<'de>, E> {
        Ok(Fields::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Fields<'de>, E> {
        Ok(Fields::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Fields<'de>, E> {
        Ok(Fields::default())
    }

    fn visit_unit<E>(self) -> Result<Fields<'de>, E> {
        Ok(Fields::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the tree reads of a body, or its error.
    fn by_tree(body: &[u8]) -> Result<Value, String> {
        serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())
    }

    fn agree(body: &[u8]) {
        let tree = by_tree(body);
        let direct = Fields::read(body).map_err(|e| e.to_string());
        match (&tree, &direct) {
            (Ok(value), Ok(fields)) => {
                assert_eq!(fields, &Fields::from_value(value), "{}", String::from_utf8_lossy(body))
            }
            (Err(_), Err(_)) => {}
            _ => panic!("tree {tree:?}, direct {direct:?}: {}", String::from_utf8_lossy(body)),
        }
    }

    #[test]
    fn reads_what_the_tree_holds() {
        for body in [
            r#"{"type": "zen:event-type:ticket.created", "id": 7, "detail": {"id": "35", "status": "OPEN"}}"#,
            r#"{"ticket_id": 1.5e3, "status": "open", "priority": null, "satisfaction": true}"#,
            r#"{"ticket_id": -12, "status": "a\"b\u00e9", "created_at": ["x", {"y": 1}]}"#,
            r#"{"id": "1", "id": "2", "detail": {"id": 1}, "detail": "flat"}"#,
            r#"{"stat\u0075s": "escaped key", "ticket_id": 18446744073709551615}"#,
            r#"{"detail": [1, 2], "organization_id": 1e2, "updated_at": {"at": 1}}"#,
            r#"[{"ticket_id": "1"}]"#,
            r#""a string body""#,
            "null",
            "12",
            r#"{"ticket_id": "1", "nested": {"deep": [[[{"k": "\ud83d\ude00"}]]]}}"#,
        ] {
            agree(body.as_bytes());
        }
    }

    #[test]
    fn refuses_what_the_tree_refuses_in_members_it_drops() {
        // IgnoredAny would let each of these through; the tree refuses them.
        for body in [
            r#"{"ticket_id": "1", "subject": "\ud800 alone"}"#,
            r#"{"ticket_id": "1", "size": 1e999}"#,
            r#"{"ticket_id": "1", "tags": ["\udc00"]}"#,
            r#"{"ticket_id": "1", "via": {"n": -1e400}}"#,
            r#"{"ticket_id": "1", "x": "tab	inside"}"#,
            r#"{"ticket_id": "1",}"#,
            r#"{"ticket_id": "1"} trailing"#,
        ] {
            assert!(by_tree(body.as_bytes()).is_err(), "{body}");
            assert!(Fields::read(body.as_bytes()).is_err(), "{body}");
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop::sample::select(vec![
            "type",
            "id",
            "time",
            "ticket_id",
            "status",
            "priority",
            "organization_id",
            "organization_external_id",
            "created_at",
            "updated_at",
            "satisfaction",
            "detail",
            "subject",
            "tags",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_document_reads_as_its_tree(value in json_value(), pretty in any::<bool>()) {
            let body = if pretty { serde_json::to_vec_pretty(&value) } else { serde_json::to_vec(&value) }.unwrap();
            agree(&body);
        }
    }
}
