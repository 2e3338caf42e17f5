//! Segment-spec product analytics adapter: signature check, message parsing, and aggregation of
//! a batch into one usage delta per (group, day), so that a 1000-message batch for five
//! accounts costs five writes, not a thousand.

pub mod signature;
pub mod tracking;

use crate::domain::survey;
use crate::domain::time;
use crate::domain::usage::AnalyticsConfig;
use crate::sources::borrowed::{Scalar, Text};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Segment's limit on one message (of a batch, or the body of a single call).
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// One Segment-spec message, the fields Foresight reads, borrowed from the body.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Message<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub message_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub user_id: Scalar<'a>,
    #[serde(borrow)]
    pub anonymous_id: Scalar<'a>,
    #[serde(borrow)]
    pub group_id: Scalar<'a>,
    #[serde(borrow)]
    pub event: Option<Text<'a>>,
    #[serde(borrow)]
    pub timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    pub sent_at: Option<Text<'a>>,
    #[serde(borrow)]
    pub received_at: Option<Text<'a>>,
    pub traits: Option<BTreeMap<String, Value>>,
    #[serde(borrow)]
    pub context: Option<Context<'a>>,
    /// Only the survey convention's properties are read (`score`, `comment`).
    pub properties: SurveyProperties,
}

/// The `score` and `comment` properties of a `track` message, when there are any. Lenient: a
/// message whose properties are not an object is still a valid message (Foresight reads nothing
/// else from them), and the other properties are skipped without being kept.
#[derive(Debug, Default)]
pub struct SurveyProperties {
    pub score: Option<Value>,
    pub comment: Option<String>,
}

impl<'de> Deserialize<'de> for SurveyProperties {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SurveyProperties;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("message properties")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SurveyProperties, A::Error> {
                let mut out = SurveyProperties::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "score" => out.score = Some(map.next_value()?),
                        "comment" => out.comment = map.next_value::<Value>()?.as_str().map(str::to_owned),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<SurveyProperties, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(SurveyProperties::default())
            }
            fn visit_unit<E>(self) -> Result<SurveyProperties, E> {
                Ok(SurveyProperties::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<SurveyProperties, E> {
                Ok(SurveyProperties::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<SurveyProperties, E> {
                Ok(SurveyProperties::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<SurveyProperties, E> {
                Ok(SurveyProperties::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<SurveyProperties, E> {
                Ok(SurveyProperties::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<SurveyProperties, E> {
                Ok(SurveyProperties::default())
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Context<'a> {
    #[serde(borrow)]
    pub group_id: Scalar<'a>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("body is not a Segment message or an array of messages: {0}")]
    Json(String),
    #[error("message {index} has no messageId (needed to count it exactly once)")]
    MissingMessageId { index: usize },
    #[error("message {index}: messageId is over 100 characters")]
    LongMessageId { index: usize },
    #[error("message {index} is {bytes} bytes, over the {} KB a message may have", MAX_MESSAGE_BYTES / 1024)]
    TooLarge { index: usize, bytes: usize },
}

/// An id that may arrive as a string or a number; empty means none.
fn id(value: Option<&Value>) -> Option<String> {
    Scalar::of(value).id()
}

impl Message<'_> {
    pub fn user(&self) -> Option<String> {
        self.user_id.id().or_else(|| self.anonymous_id.id())
    }

    /// The group the message names itself: `groupId` on group calls, `context.groupId` else.
    pub fn group(&self) -> Option<String> {
        match self.kind.as_str() {
            "group" => self.group_id.id(),
            _ => self.context.as_ref().and_then(|c| c.group_id.id()),
        }
    }

    /// When it happened: `timestamp`, else `sentAt`, else `receivedAt`, else `fallback`.
    pub fn time(&self, fallback: i64) -> i64 {
        [&self.timestamp, &self.sent_at, &self.received_at]
            .into_iter()
            .flatten()
            .find_map(|t| time::parse(t))
            .unwrap_or(fallback)
    }
}

/// Parses one message or a batch (an array), in one pass over the body.
pub fn parse(body: &[u8]) -> Result<Vec<Message<'_>>, ParseError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let messages: Vec<Message> = if first == Some(&b'[') {
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?
    } else {
        vec![serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?]
    };
    check_message_ids(&messages)?;
    Ok(messages)
}

/// Every message needs a `messageId` (counted once per day by it) of at most 100 characters.
fn check_message_ids(messages: &[Message]) -> Result<(), ParseError> {
    for (index, m) in messages.iter().enumerate() {
        match m.message_id.as_deref().map(|id| id.chars().count()) {
            None | Some(0) => return Err(ParseError::MissingMessageId { index }),
            Some(n) if n > 100 => return Err(ParseError::LongMessageId { index }),
            _ => {}
        }
    }
    Ok(())
}

/// A compact stand-in for a message id in the day's dedupe set: 72 bits of its SHA-256, in
/// 12 base64url characters. Ids of up to 100 characters would make a busy day's item three times
/// larger, and DynamoDB charges every update by the item's size; a collision among the
/// messages of one account and day is vanishingly unlikely (about n²/2⁷³).
pub fn fingerprint(message_id: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(message_id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..9])
}

/// What one batch adds to one group's usage on one day. Every part is a set, so applying the
/// same delta twice (a redelivered batch, or a message in two batches) changes nothing.
/// Serialized when a batch's usage is held for the usage fold (`app::ports::usage_backlog`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageDelta {
    /// Counted messages (track, page, screen): fingerprints of their message ids, so counts are
    /// exact under redelivery.
    pub message_ids: BTreeSet<String>,
    /// Distinct users active that day.
    pub users: BTreeSet<String>,
    /// Key features used that day.
    pub features: BTreeSet<String>,
    /// Times the first-value event happened (the earliest is time-to-value).
    pub first_value_at: BTreeSet<i64>,
    /// The latest message time of this delta (last seen is the largest over deltas).
    pub last_seen_at: i64,
    /// The earliest message time of this delta (0: unknown): what a day's first use is read
    /// from once deltas are merged by the usage fold.
    #[serde(default)]
    pub first_seen_at: i64,
}

impl UsageDelta {
    /// Adds `other`'s sets to this one's: the delta of both batches, as if they were one.
    pub fn absorb(&mut self, other: UsageDelta) {
        self.message_ids.extend(other.message_ids);
        self.users.extend(other.users);
        self.features.extend(other.features);
        self.first_value_at.extend(other.first_value_at);
        self.last_seen_at = self.last_seen_at.max(other.last_seen_at);
        self.first_seen_at = earliest(self.first_seen_at, other.first_seen_at);
    }
}

/// The earlier of two times, 0 standing for none.
fn earliest(a: i64, b: i64) -> i64 {
    match (a, b) {
        (0, t) | (t, 0) => t,
        (a, b) => a.min(b),
    }
}

/// A `group` call: the user belongs to the group, and its traits may name other sources' ids.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupCall {
    pub user: Option<String>,
    pub group: String,
    pub stripe_customer_id: Option<String>,
    pub zendesk_organization_id: Option<String>,
    /// Trait `timezone` (IANA), for playbook quiet hours.
    pub timezone: Option<String>,
}

/// An `identify` call naming a contact of a role a playbook emails.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentifyCall {
    pub user: String,
    pub contact: crate::domain::playbook::Contact,
}

/// An NPS answer sent as a `track` of the survey convention (`[surveys] nps_event`).
#[derive(Clone, Debug, PartialEq)]
pub struct SurveyAnswer {
    /// The message's group (`context.groupId`), else resolved through the user.
    pub group: Option<String>,
    pub user: Option<String>,
    /// The response id: the message id (its redelivery is the same response).
    pub id: String,
    pub at: i64,
    pub score: u8,
    pub comment: Option<String>,
}

/// A batch, aggregated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aggregate {
    /// (group, day) → usage; group `None` for messages that name no group (resolved through the
    /// user's last group call).
    pub usage: BTreeMap<(Option<String>, NaiveDate), UsageDelta>,
    /// Users of messages without a group, per (day), to resolve through their group calls.
    pub ungrouped_users: BTreeMap<(String, NaiveDate), UsageDelta>,
    pub group_calls: Vec<GroupCall>,
    pub identify_calls: Vec<IdentifyCall>,
    /// NPS answers of the survey convention.
    pub surveys: Vec<SurveyAnswer>,
    /// The earliest time of a message that named or reached an account (group calls included).
    pub earliest: Option<i64>,
    pub ignored: usize,
}

/// Aggregates parsed messages per (group, day). `now` stands in for messages without a time.
pub fn aggregate(messages: &[Message], config: &AnalyticsConfig, now: i64) -> Aggregate {
    let mut out = Aggregate::default();
    for m in messages {
        let user = m.user();
        let t = m.time(now);
        match m.kind.as_str() {
            "group" => {
                let Some(group) = m.group() else {
                    out.ignored += 1;
                    continue;
                };
                let traits = m.traits.as_ref();
                out.earliest = Some(out.earliest.map_or(t, |e| e.min(t)));
                out.group_calls.push(GroupCall {
                    user: user.clone(),
                    group,
                    stripe_customer_id: id(traits.and_then(|t| t.get(&config.stripe_trait))),
                    zendesk_organization_id: id(traits.and_then(|t| t.get(&config.zendesk_trait))),
                    timezone: id(traits.and_then(|t| t.get("timezone")))
                        .filter(|tz| tz.parse::<chrono_tz::Tz>().is_ok()),
                });
            }
            "track" | "page" | "screen" => {
                let delta = match (m.group(), &user) {
                    (Some(group), _) => out.usage.entry((Some(group), time::date(t))).or_default(),
                    (None, Some(user)) => out.ungrouped_users.entry((user.clone(), time::date(t))).or_default(),
                    (None, None) => {
                        out.ignored += 1;
                        continue;
                    }
                };
                delta.message_ids.extend(m.message_id.as_deref().map(fingerprint));
                delta.users.extend(user.clone());
                delta.last_seen_at = delta.last_seen_at.max(t);
                delta.first_seen_at = earliest(delta.first_seen_at, t);
                out.earliest = Some(out.earliest.map_or(t, |e| e.min(t)));
                if let Some(event) = m.event.as_deref().filter(|_| m.kind == "track") {
                    if config.key_features.contains(event) {
                        delta.features.insert(event.to_owned());
                    }
                    if config.first_value_event.as_deref() == Some(event) {
                        delta.first_value_at.insert(t);
                    }
                    if config.nps_event.as_deref() == Some(event) {
                        // An answer without a 0–10 score is a use of the product, not a response.
                        if let Some(score) = m.properties.score.as_ref().and_then(survey::score_of) {
                            out.surveys.push(SurveyAnswer {
                                group: m.group(),
                                user,
                                id: m.message_id.as_deref().unwrap_or_default().to_owned(),
                                at: t,
                                score,
                                comment: m.properties.comment.as_deref().and_then(survey::short_comment),
                            });
                        }
                    }
                }
            }
            "identify" if !config.contact_roles.is_empty() => match identify_call(m, user, config) {
                Some(call) => out.identify_calls.push(call),
                None => out.ignored += 1,
            },
            // Other traits (and identify without a playbook that emails) are not stored (privacy).
            _ => out.ignored += 1,
        }
    }
    out
}

/// The contact an `identify` call names: traits `email` and `role` (`locale` optional), kept
/// only for the roles a playbook emails.
fn identify_call(m: &Message, user: Option<String>, config: &AnalyticsConfig) -> Option<IdentifyCall> {
    use crate::domain::playbook::{plausible_email, Contact, ContactSource, Role};
    let traits = m.traits.as_ref()?;
    let text = |key: &str| traits.get(key).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let email = text("email").filter(|e| plausible_email(e))?;
    let role = text("role").map_or(Role::Member, Role::of_trait);
    if !config.contact_roles.contains(&role) {
        return None;
    }
    let contact = Contact {
        email: email.to_owned(),
        role,
        locale: text("locale").map(str::to_owned),
        source: ContactSource::Analytics,
    };
    Some(IdentifyCall { user: user?, contact })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The message as it was read before it borrowed from the body (owned strings, ids as
    /// `Value`s): the reference the borrowed reading is held to.
    #[derive(Debug, Default, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    struct OwnedMessage {
        #[serde(rename = "type")]
        kind: String,
        message_id: Option<String>,
        user_id: Option<Value>,
        anonymous_id: Option<Value>,
        group_id: Option<Value>,
        event: Option<String>,
        timestamp: Option<String>,
        sent_at: Option<String>,
        received_at: Option<String>,
        traits: Option<BTreeMap<String, Value>>,
        context: Option<Context>,
        properties: SurveyProperties,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    // Named as the message's own: serde's errors name the struct ("expected struct Context").
    struct Context {
        group_id: Option<Value>,
    }

    /// The id rule as it was, on the tree (the reference must not share `Scalar::id`).
    fn owned_id(value: Option<&Value>) -> Option<String> {
        match value? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// What each reading tells of a body: its error, or what `aggregate` reads of each message.
    fn readings(body: &[u8]) -> (Result<Vec<String>, String>, Result<Vec<String>, String>) {
        let borrowed = serde_json::from_slice::<Vec<Message>>(body).map_err(|e| e.to_string()).map(|ms| {
            ms.iter()
                .map(|m| {
                    format!(
                        "{} {:?} {:?} {:?} {:?} {} {:?} {:?}",
                        m.kind.as_str(),
                        m.message_id.as_deref(),
                        m.user(),
                        m.group(),
                        m.event.as_deref(),
                        m.time(7),
                        m.traits,
                        m.properties.score
                    )
                })
                .collect()
        });
        let owned = serde_json::from_slice::<Vec<OwnedMessage>>(body).map_err(|e| e.to_string()).map(|ms| {
            ms.iter()
                .map(|m| {
                    let group = match m.kind.as_str() {
                        "group" => owned_id(m.group_id.as_ref()),
                        _ => owned_id(m.context.as_ref().and_then(|c| c.group_id.as_ref())),
                    };
                    let time = [&m.timestamp, &m.sent_at, &m.received_at]
                        .into_iter()
                        .flatten()
                        .find_map(|t| time::parse(t))
                        .unwrap_or(7);
                    format!(
                        "{} {:?} {:?} {:?} {:?} {} {:?} {:?}",
                        m.kind,
                        m.message_id.as_deref(),
                        owned_id(m.user_id.as_ref()).or_else(|| owned_id(m.anonymous_id.as_ref())),
                        group,
                        m.event.as_deref(),
                        time,
                        m.traits,
                        m.properties.score
                    )
                })
                .collect()
        });
        (borrowed, owned)
    }

    fn member() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let raw = crate::sources::borrowed::RAW_VALUE_KEY;
        let leaf = prop_oneof![
            prop::sample::select(vec![
                json!({raw: "\"u1\""}),
                json!({raw: " 7 "}),
                json!({raw: 5}),
                json!({raw: "not json"}),
                json!({raw: "{\"groupId\": \"g\"}"}),
            ]),
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            prop::sample::select(vec!["track", "group", "page", " m1 ", "", "acct_1", "2026-11-02T10:00:00Z", "a\"b"])
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(vec!["groupId", "score", "x"]), inner), 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn a_message_reads_as_it_did_with_owned_strings(
            members in proptest::collection::vec((proptest::sample::select(vec![
                "type", "messageId", "userId", "anonymousId", "groupId", "event", "timestamp", "sentAt",
                "receivedAt", "traits", "context", "properties", "other",
            ]), member()), 0..8),
        ) {
            let message = Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
            let body = serde_json::to_vec(&json!([message])).unwrap();
            let (borrowed, owned) = readings(&body);
            proptest::prop_assert_eq!(borrowed, owned, "{}", message);
        }
    }

    #[test]
    fn a_message_reads_as_it_did_with_owned_strings_on_edge_bodies() {
        for body in [
            r#"[{"type": "track", "userId": 12, "context": {"groupId": 1.5}, "messageId": "m\u0031"}]"#,
            r#"[{"type": 5}]"#,
            r#"[{"type": null}]"#,
            r#"[{"messageId": 7}]"#,
            r#"[{"context": "flat"}]"#,
            r#"[{"userId": "\ud800"}]"#,
            r#"[{"userId": {"nested": [1e999]}}]"#,
            r#"[{"type":"track","messageId":"m","userId":{"$serde_json::private::RawValue":"\"u1\""}}]"#,
            r#"[{"type":"track","messageId":"m","userId":{"$serde_json::private::RawValue":5}}]"#,
            r#"[{"type":"track","messageId":"m","context":{"groupId":{"$serde_json::private::RawValue":"\"g\""}}}]"#,
            r#"[{"type":"track","messageId":"m","anonymousId":{"$serde_json::private::RawValue":"1", "y": 2}}]"#,
            r#"[{"type": "group", "groupId": "  ", "anonymousId": " a "}]"#,
        ] {
            let (borrowed, owned) = readings(body.as_bytes());
            assert_eq!(borrowed, owned, "{body}");
        }
    }

    fn config() -> AnalyticsConfig {
        AnalyticsConfig {
            key_features: ["Report Exported", "Dashboard Shared"].map(String::from).into(),
            first_value_event: Some("Report Exported".into()),
            ..Default::default()
        }
    }

    #[test]
    fn aggregates_a_batch_per_group_and_day() {
        let batch = json!([
            {"type": "track", "event": "Report Exported", "userId": "u1", "messageId": "m1",
             "timestamp": "2026-11-02T10:00:00Z", "context": {"groupId": "acct_1"}},
            {"type": "track", "event": "Logged In", "userId": "u2", "messageId": "m2",
             "timestamp": "2026-11-02T11:00:00Z", "context": {"groupId": "acct_1"}},
            {"type": "page", "userId": "u1", "messageId": "m3", "timestamp": "2026-11-03T09:00:00Z",
             "context": {"groupId": "acct_1"}},
            {"type": "track", "event": "Dashboard Shared", "userId": "u9", "messageId": "m4",
             "timestamp": "2026-11-02T12:00:00Z"},
            {"type": "group", "userId": "u9", "groupId": "acct_2", "messageId": "m5",
             "traits": {"name": "Beta", "stripe_customer_id": "cus_2", "zendesk_organization_id": 8201}},
            {"type": "identify", "userId": "u1", "messageId": "m6", "traits": {"email": "not@stored"}},
            {"type": "track", "event": "Logged In", "userId": "u1", "messageId": "m1",
             "timestamp": "2026-11-02T10:00:00Z", "context": {"groupId": "acct_1"}}
        ]);
        let body = batch.to_string();
        let messages = parse(body.as_bytes()).unwrap();
        let agg = aggregate(&messages, &config(), 0);
        let nov2 = time::parse_day("2026-11-02").unwrap();
        let day1 = &agg.usage[&(Some("acct_1".into()), nov2)];
        assert_eq!(day1.message_ids.len(), 2, "m1 twice counts once");
        assert_eq!(day1.users, ["u1", "u2"].map(String::from).into());
        assert_eq!(day1.features, ["Report Exported"].map(String::from).into());
        assert_eq!(day1.first_value_at.len(), 1);
        assert_eq!(agg.usage.len(), 2);
        let ungrouped = &agg.ungrouped_users[&("u9".into(), nov2)];
        assert_eq!(ungrouped.features, ["Dashboard Shared"].map(String::from).into());
        assert_eq!(
            agg.group_calls,
            [GroupCall {
                user: Some("u9".into()),
                group: "acct_2".into(),
                stripe_customer_id: Some("cus_2".into()),
                zendesk_organization_id: Some("8201".into()),
                timezone: None,
            }]
        );
        assert_eq!(agg.ignored, 1);
    }

    #[test]
    fn nps_answers_of_the_survey_convention() {
        let batch = json!([
            {"type": "track", "event": "NPS Survey Responded", "userId": "u1", "messageId": "n1",
             "timestamp": "2026-11-02T10:00:00Z", "context": {"groupId": "acct_1"},
             "properties": {"score": 3, "comment": "  too   slow\n", "other": [1, 2]}},
            {"type": "track", "event": "NPS Survey Responded", "userId": "u2", "messageId": "n2",
             "timestamp": "2026-11-02T11:00:00Z", "properties": {"score": "10"}},
            {"type": "track", "event": "NPS Survey Responded", "userId": "u3", "messageId": "n3",
             "context": {"groupId": "acct_1"}, "properties": {"score": 11}},
            {"type": "track", "event": "Logged In", "userId": "u1", "messageId": "n4",
             "context": {"groupId": "acct_1"}, "properties": [1, 2]},
            {"type": "page", "userId": "u1", "messageId": "n5", "context": {"groupId": "acct_1"}, "properties": null}
        ]);
        let body = batch.to_string();
        let messages = parse(body.as_bytes()).unwrap();
        let agg = aggregate(&messages, &AnalyticsConfig::default(), 0);
        assert_eq!(agg.surveys.len(), 2, "a score over 10 is no answer: {:?}", agg.surveys);
        assert_eq!(
            (agg.surveys[0].group.as_deref(), agg.surveys[0].score, agg.surveys[0].comment.as_deref()),
            (Some("acct_1"), 3, Some("too slow"))
        );
        assert_eq!((agg.surveys[1].group.as_deref(), agg.surveys[1].user.as_deref()), (None, Some("u2")));
        assert_eq!(agg.surveys[1].id, "n2");
        assert_eq!(agg.earliest, Some(0), "messages without a time count as now");
        let off = AnalyticsConfig { nps_event: None, ..Default::default() };
        assert!(aggregate(&messages, &off, 0).surveys.is_empty());
    }

    #[test]
    fn one_message_and_bad_bodies() {
        let one = br#"{"type":"track","event":"Trial Started","userId":"u_123","context":{"groupId":"acct_123"},"messageId":"m1"}"#;
        let messages = parse(one).unwrap();
        assert_eq!((messages.len(), messages[0].group().as_deref()), (1, Some("acct_123")));
        assert_eq!(messages[0].time(42), 42, "no timestamp: the fallback");
        assert!(matches!(parse(b"{"), Err(ParseError::Json(_))));
        assert!(matches!(parse(b"[1]"), Err(ParseError::Json(_))));
        assert_eq!(parse(br#"[{"type":"track"}]"#).unwrap_err(), ParseError::MissingMessageId { index: 0 });
        let long = format!(r#"{{"type":"track","messageId":"{}"}}"#, "x".repeat(101));
        assert_eq!(parse(long.as_bytes()).unwrap_err(), ParseError::LongMessageId { index: 0 });
    }
}
