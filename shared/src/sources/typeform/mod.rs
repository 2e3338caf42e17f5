//! Typeform (surveys): signature check and the parse of a `form_response` into the NPS answer it
//! carries (`../shared/integrations.md`, Surveys). No I/O.
//!
//! The NPS answer is the answer to a field of type `nps`, or to an `opinion_scale` that runs
//! from 0 to 10 (its definition says 11 steps, not starting at one; without a definition in the
//! payload, an opinion scale whose ref names it `nps`). The comment is the first text answer,
//! kept short. The account is named by a hidden field (`[surveys] hidden_field`, default
//! `account_id`).

pub mod signature;

use crate::domain::survey;
use crate::domain::time;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("body is not a Typeform webhook: {0}")]
    Json(#[from] serde_json::Error),
    #[error("form_response has neither event_id nor token (needed to store it exactly once)")]
    MissingId,
    #[error("form_response event has no form_response object")]
    MissingResponse,
}

#[derive(Debug, Deserialize)]
struct Webhook {
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    form_response: Option<FormResponse>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FormResponse {
    form_id: Option<String>,
    token: Option<String>,
    submitted_at: Option<String>,
    hidden: BTreeMap<String, Value>,
    definition: Option<Definition>,
    answers: Vec<Answer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Definition {
    fields: Vec<FieldDefinition>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FieldDefinition {
    id: String,
    properties: Option<ScaleProperties>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ScaleProperties {
    steps: Option<u32>,
    start_at_one: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Answer {
    #[serde(rename = "type")]
    kind: String,
    number: Option<Value>,
    text: Option<String>,
    field: AnswerField,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AnswerField {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "ref")]
    reference: Option<String>,
}

/// A verified, parsed Typeform delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeformUpdate {
    /// The dedupe key: the event id (else the response token).
    pub event_id: String,
    pub event_type: String,
    pub form_id: Option<String>,
    /// The account the hidden field names (`None`: kept as unlinked, for the NPS window).
    pub account_id: Option<String>,
    /// When the respondent submitted (else the time we received it).
    pub submitted_at: Option<i64>,
    /// The 0–10 answer, when the form asks one: `None` for a form without an NPS question.
    pub score: Option<u8>,
    pub comment: Option<String>,
}

/// Parses a verified body. Event types other than `form_response` parse to an update without a
/// score (acknowledged and ignored).
pub fn parse(body: &[u8], hidden_field: &str) -> Result<TypeformUpdate, ParseError> {
    let webhook: Webhook = serde_json::from_slice(body)?;
    let mut update = TypeformUpdate {
        event_id: webhook.event_id.clone().unwrap_or_default(),
        event_type: webhook.event_type.clone(),
        form_id: None,
        account_id: None,
        submitted_at: None,
        score: None,
        comment: None,
    };
    if webhook.event_type != "form_response" {
        return Ok(update);
    }
    let response = webhook.form_response.ok_or(ParseError::MissingResponse)?;
    update.event_id = webhook
        .event_id
        .filter(|id| !id.trim().is_empty())
        .or_else(|| response.token.clone().filter(|t| !t.trim().is_empty()))
        .ok_or(ParseError::MissingId)?;
    update.form_id = response.form_id.clone();
    update.account_id = match response.hidden.get(hidden_field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    update.submitted_at = response.submitted_at.as_deref().and_then(time::parse);
    let zero_to_ten = |field_id: &str, reference: Option<&str>| {
        let defined = response.definition.as_ref().and_then(|d| d.fields.iter().find(|f| f.id == field_id));
        match defined.and_then(|f| f.properties.as_ref()) {
            Some(p) => p.steps == Some(11) && p.start_at_one != Some(true),
            None => reference.is_some_and(|r| r.to_ascii_lowercase().contains("nps")),
        }
    };
    update.score = response
        .answers
        .iter()
        .filter(|a| match a.field.kind.as_str() {
            "nps" => true,
            "opinion_scale" => zero_to_ten(&a.field.id, a.field.reference.as_deref()),
            _ => false,
        })
        .find_map(|a| a.number.as_ref().and_then(survey::score_of));
    update.comment = response
        .answers
        .iter()
        .filter(|a| a.kind == "text")
        .find_map(|a| a.text.as_deref().and_then(survey::short_comment));
    Ok(update)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(hidden: Value, answers: Value, definition: Option<Value>) -> Vec<u8> {
        let mut response = json!({"form_id": "f_nps", "token": "tok_1", "submitted_at": "2026-11-05T10:00:00Z",
                                  "hidden": hidden, "answers": answers});
        if let Some(d) = definition {
            response["definition"] = d;
        }
        serde_json::to_vec(&json!({"event_id": "01HX", "event_type": "form_response", "form_response": response}))
            .unwrap()
    }

    #[test]
    fn nps_answer_comment_and_account() {
        let answers = json!([
            {"type": "number", "number": 3, "field": {"id": "q1", "type": "nps", "ref": "nps"}},
            {"type": "text", "text": "Reports are   too slow", "field": {"id": "q2", "type": "long_text"}}
        ]);
        let u = parse(&body(json!({"account_id": "acct_1"}), answers, None), "account_id").unwrap();
        assert_eq!(u.event_id, "01HX");
        assert_eq!((u.account_id.as_deref(), u.score), (Some("acct_1"), Some(3)));
        assert_eq!(u.comment.as_deref(), Some("Reports are too slow"));
        assert_eq!(u.submitted_at, time::parse("2026-11-05T10:00:00Z"));
        assert_eq!(u.form_id.as_deref(), Some("f_nps"));
    }

    #[test]
    fn an_opinion_scale_counts_only_from_0_to_10() {
        let answer = |n: u8| json!([{"type": "number", "number": n, "field": {"id": "q1", "type": "opinion_scale", "ref": "happy"}}]);
        let scale = |steps: u32, one: bool| {
            Some(
                json!({"fields": [{"id": "q1", "type": "opinion_scale", "properties": {"steps": steps, "start_at_one": one}}]}),
            )
        };
        let score = |answers: Value, definition: Option<Value>| {
            parse(&body(json!({"account_id": "a"}), answers, definition), "account_id").unwrap().score
        };
        assert_eq!(score(answer(8), scale(11, false)), Some(8));
        assert_eq!(score(answer(4), scale(5, true)), None, "a 1–5 scale is not NPS");
        assert_eq!(score(answer(4), None), None, "no definition, and the ref does not say nps");
        let by_ref = json!([{"type": "number", "number": 10, "field": {"id": "q1", "type": "opinion_scale", "ref": "NPS_question"}}]);
        assert_eq!(score(by_ref, None), Some(10));
    }

    #[test]
    fn without_the_hidden_field_the_response_has_no_account() {
        let answers = json!([{"type": "number", "number": 9, "field": {"id": "q1", "type": "nps"}}]);
        let u = parse(&body(json!({"other": "x"}), answers.clone(), None), "account_id").unwrap();
        assert_eq!((u.account_id, u.score), (None, Some(9)));
        let u = parse(&body(json!({"tenant": "acct_9"}), answers, None), "tenant").unwrap();
        assert_eq!(u.account_id.as_deref(), Some("acct_9"), "the configured hidden field");
    }

    #[test]
    fn bad_bodies_are_errors_and_other_events_have_no_score() {
        assert!(matches!(parse(b"{", "account_id"), Err(ParseError::Json(_))));
        assert!(matches!(
            parse(br#"{"event_id":"e","event_type":"form_response"}"#, "account_id"),
            Err(ParseError::MissingResponse)
        ));
        assert!(matches!(
            parse(br#"{"event_type":"form_response","form_response":{"answers":[]}}"#, "account_id"),
            Err(ParseError::MissingId)
        ));
        let other = parse(br#"{"event_id":"e","event_type":"form_response_partial","form_response":{}}"#, "account_id")
            .unwrap();
        assert_eq!(other.score, None);
        let vector = br#"{"event_id":"01HTEST","event_type":"form_response","form_response":{"form_id":"abc123","hidden":{"account_id":"acct_1"},"answers":[{"type":"number","number":9,"field":{"id":"f1","type":"nps","ref":"nps"}}]}}"#;
        let u = parse(vector, "account_id").unwrap();
        assert_eq!((u.event_id.as_str(), u.account_id.as_deref(), u.score), ("01HTEST", Some("acct_1"), Some(9)));
    }
}
