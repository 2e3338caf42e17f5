//! Surveys: NPS responses per account and the survey part of the record
//! (`../shared/domain.md`: promoters 9–10, passives 7–8, detractors 0–6; NPS = %promoters −
//! %detractors, from −100 to 100).

use super::time::{self, Timestamp, DAY};
use serde::{Deserialize, Serialize};

/// The window of `nps_90d` and `nps_responses_90d`.
pub const NPS_WINDOW_DAYS: i64 = 90;
/// A respondent's comment is kept this short (characters): enough for a CSM to read in the alert,
/// not a transcript.
pub const COMMENT_MAX_CHARS: usize = 280;
/// A detractor response alerts while it is this recent (the sweep finds those the webhook did
/// not raise; an older one is history, not news).
pub const DETRACTOR_ALERT_DAYS: i64 = 7;

/// Fact `sv#<response id>`: one survey answer on a 0–10 scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SurveyResponse {
    pub at: i64,
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Where it came from: `typeform` or `segment`.
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum NpsCategory {
    Promoter,
    Passive,
    Detractor,
}

/// The category of a 0–10 answer.
pub fn category(score: u8) -> NpsCategory {
    match score {
        9.. => NpsCategory::Promoter,
        7..=8 => NpsCategory::Passive,
        _ => NpsCategory::Detractor,
    }
}

/// NPS of a set of 0–10 answers: % promoters − % detractors, rounded, −100..100; `None` without
/// answers.
pub fn nps(scores: impl IntoIterator<Item = u8>) -> Option<i64> {
    let (mut total, mut promoters, mut detractors) = (0_u64, 0_u64, 0_u64);
    for s in scores {
        total += 1;
        match category(s) {
            NpsCategory::Promoter => promoters += 1,
            NpsCategory::Detractor => detractors += 1,
            NpsCategory::Passive => {}
        }
    }
    (total > 0).then(|| ((promoters as f64 - detractors as f64) * 100.0 / total as f64).round() as i64)
}

/// A 0–10 score from a number as sent (`9`, `9.0`, `"9"`); anything else is no score.
pub fn score_of(value: &serde_json::Value) -> Option<u8> {
    let n = match value {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (n.fract() == 0.0 && (0.0..=10.0).contains(&n)).then_some(n as u8)
}

/// A comment kept short: trimmed, whitespace folded, cut to [`COMMENT_MAX_CHARS`] with "…".
pub fn short_comment(text: &str) -> Option<String> {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return None;
    }
    if folded.chars().count() <= COMMENT_MAX_CHARS {
        return Some(folded);
    }
    let mut cut: String = folded.chars().take(COMMENT_MAX_CHARS - 1).collect();
    cut.push('…');
    Some(cut)
}

/// One response as the record keeps it for the alerts (not shown in the record's JSON: the
/// comments are for the alert, not for every list of accounts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseView {
    pub id: String,
    pub at: i64,
    pub score: u8,
    pub comment: Option<String>,
}

/// The survey part of the record at `now` (`surveys` in `GET /accounts/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SurveysView {
    pub nps_last: Option<u8>,
    pub nps_last_at: Option<Timestamp>,
    pub nps_responses_90d: u32,
    /// NPS of the responses in 90 days, −100..100.
    pub nps_90d: Option<i64>,
    pub promoters_90d: u32,
    pub passives_90d: u32,
    pub detractors_90d: u32,
    /// The responses of the last 90 days, newest first.
    #[serde(skip)]
    pub recent: Vec<ResponseView>,
}

pub fn surveys_view<'a>(responses: impl IntoIterator<Item = (&'a str, &'a SurveyResponse)>, now: i64) -> SurveysView {
    let mut all: Vec<ResponseView> = responses
        .into_iter()
        .filter(|(_, r)| r.at <= now + DAY)
        .map(|(id, r)| ResponseView { id: id.to_owned(), at: r.at, score: r.score, comment: r.comment.clone() })
        .collect();
    all.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
    let mut view = SurveysView {
        nps_last: all.first().map(|r| r.score),
        nps_last_at: all.first().map(|r| time::at(r.at)),
        ..Default::default()
    };
    view.recent = all.into_iter().filter(|r| now - r.at < NPS_WINDOW_DAYS * DAY).collect();
    view.nps_responses_90d = view.recent.len() as u32;
    view.nps_90d = nps(view.recent.iter().map(|r| r.score));
    for r in &view.recent {
        match category(r.score) {
            NpsCategory::Promoter => view.promoters_90d += 1,
            NpsCategory::Passive => view.passives_90d += 1,
            NpsCategory::Detractor => view.detractors_90d += 1,
        }
    }
    view
}

/// `[surveys]` in `foresight.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurveySettings {
    /// The Segment `track` event that carries an NPS answer (properties `score`, `comment`);
    /// empty turns the convention off.
    pub nps_event: String,
    /// The Typeform hidden field that names the account.
    pub hidden_field: String,
}

impl Default for SurveySettings {
    fn default() -> Self {
        SurveySettings { nps_event: super::usage::DEFAULT_NPS_EVENT.into(), hidden_field: "account_id".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_maths_promoters_9_to_10_detractors_0_to_6() {
        for s in 0..=6 {
            assert_eq!(category(s), NpsCategory::Detractor, "{s}");
        }
        for s in 7..=8 {
            assert_eq!(category(s), NpsCategory::Passive, "{s}");
        }
        for s in 9..=10 {
            assert_eq!(category(s), NpsCategory::Promoter, "{s}");
        }
        assert_eq!(nps([]), None);
        assert_eq!(nps([10]), Some(100));
        assert_eq!(nps([0]), Some(-100));
        assert_eq!(nps([8, 7]), Some(0), "passives count in the total only");
        // 2 promoters, 2 passives, 2 detractors: 33% - 33% = 0.
        assert_eq!(nps([10, 9, 8, 7, 6, 0]), Some(0));
        // 3 promoters of 4, 1 passive: 75.
        assert_eq!(nps([10, 10, 9, 7]), Some(75));
        // 1 promoter, 2 detractors of 3: 33% - 67% = -33.
        assert_eq!(nps([9, 6, 5]), Some(-33));
        // The edges: 9 promotes, 6 detracts.
        assert_eq!(nps([9, 6]), Some(0));
    }

    #[test]
    fn scores_and_comments_as_sent() {
        assert_eq!(score_of(&serde_json::json!(9)), Some(9));
        assert_eq!(score_of(&serde_json::json!(9.0)), Some(9));
        assert_eq!(score_of(&serde_json::json!("10")), Some(10));
        assert_eq!(score_of(&serde_json::json!(0)), Some(0));
        for bad in [
            serde_json::json!(11),
            serde_json::json!(-1),
            serde_json::json!(7.5),
            serde_json::json!("x"),
            serde_json::json!(null),
        ] {
            assert_eq!(score_of(&bad), None, "{bad}");
        }
        assert_eq!(short_comment("  too \n slow  ").as_deref(), Some("too slow"));
        assert_eq!(short_comment("   "), None);
        let long = short_comment(&"é".repeat(1000)).unwrap();
        assert_eq!(long.chars().count(), COMMENT_MAX_CHARS);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn the_view_counts_90_days_and_names_the_latest() {
        let now = 1_800_000_000;
        let answer = |days_ago: i64, score: u8| SurveyResponse {
            at: now - days_ago * DAY,
            score,
            comment: None,
            via: "typeform".into(),
            form: None,
        };
        let responses = [
            ("a".to_owned(), answer(100, 0)),
            ("b".to_owned(), answer(30, 10)),
            ("c".to_owned(), answer(2, 6)),
            ("d".to_owned(), answer(10, 8)),
        ];
        let v = surveys_view(responses.iter().map(|(id, r)| (id.as_str(), r)), now);
        assert_eq!((v.nps_last, v.nps_last_at), (Some(6), Some(time::at(now - 2 * DAY))));
        assert_eq!(v.nps_responses_90d, 3, "the answer of 100 days ago is out of the window");
        assert_eq!(v.nps_90d, Some(0));
        assert_eq!((v.promoters_90d, v.passives_90d, v.detractors_90d), (1, 1, 1));
        assert_eq!(v.recent.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["c", "d", "b"]);
        assert_eq!(surveys_view(std::iter::empty(), now), SurveysView::default());
    }
}
