//! Support rules: ticket state per ticket, CSAT per rating, and the support part of the record.

use super::time::{self, Timestamp, DAY};
use serde::{Deserialize, Serialize};

/// Guarded group `tk#<ticket id>`: a ticket's latest state. Kept per ticket, so a status change
/// (open → solved → reopened) or a redelivery never miscounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketState {
    /// Lower case: new, open, pending, hold, solved, closed, deleted.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

impl TicketState {
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "new" | "open" | "pending" | "hold")
    }

    pub fn is_urgent(&self) -> bool {
        matches!(self.priority.as_deref(), Some("urgent" | "high"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Rating {
    Good,
    Bad,
}

impl Rating {
    /// Zendesk's rating names (`good`, `bad`, also as `Good`, `bad_with_comment`...); offered
    /// and unoffered are not ratings.
    pub fn from_zendesk(value: &str) -> Option<Rating> {
        let v = value.trim().to_ascii_lowercase();
        if v.starts_with("good") {
            Some(Rating::Good)
        } else if v.starts_with("bad") {
            Some(Rating::Bad)
        } else {
            None
        }
    }
}

/// Fact `cs#<ticket id>#<time>`: the rating a ticket had at a time; the latest one counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingMark {
    pub rating: Rating,
    pub at: i64,
}

/// The support part of the record at `now`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SupportView {
    pub open_tickets: u32,
    pub urgent_open_tickets: u32,
    pub tickets_30d: u32,
    pub csat_good_30d: u32,
    pub csat_bad_30d: u32,
    /// When the oldest open urgent ticket was created: the start of the current spike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent_since: Option<Timestamp>,
}

/// The window of "tickets in 30 days" and "CSAT in 30 days".
pub const SUPPORT_WINDOW_DAYS: i64 = 30;

/// Counts tickets and ratings. `ratings` holds every rating fact of the account with its
/// ticket; per ticket only the latest counts, within 30 days of `now`.
pub fn support_view<'a>(
    tickets: impl IntoIterator<Item = &'a TicketState>,
    ratings: impl IntoIterator<Item = (&'a str, &'a RatingMark)>,
    now: i64,
) -> SupportView {
    let since = now - SUPPORT_WINDOW_DAYS * DAY;
    let mut view = SupportView::default();
    let mut urgent_since: Option<i64> = None;
    for t in tickets {
        view.open_tickets += u32::from(t.is_open());
        if t.is_open() && t.is_urgent() {
            view.urgent_open_tickets += 1;
            if let Some(created) = t.created_at {
                urgent_since = Some(urgent_since.map_or(created, |s| s.min(created)));
            }
        }
        view.tickets_30d += u32::from(t.created_at.is_some_and(|c| c >= since));
    }
    view.urgent_since = urgent_since.map(time::at);
    let mut latest: std::collections::BTreeMap<&str, &RatingMark> = Default::default();
    for (ticket, mark) in ratings {
        let entry = latest.entry(ticket).or_insert(mark);
        if mark.at > entry.at {
            *entry = mark;
        }
    }
    for mark in latest.values().filter(|m| m.at >= since) {
        match mark.rating {
            Rating::Good => view.csat_good_30d += 1,
            Rating::Bad => view.csat_bad_30d += 1,
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(status: &str, priority: Option<&str>, created_at: i64) -> TicketState {
        TicketState { status: status.into(), priority: priority.map(Into::into), created_at: Some(created_at) }
    }

    #[test]
    fn counts_open_urgent_recent_and_latest_ratings() {
        let now = 100 * DAY;
        let tickets = [
            ticket("open", Some("urgent"), now - DAY),
            ticket("pending", Some("high"), now - 40 * DAY),
            ticket("hold", Some("normal"), now - 2 * DAY),
            ticket("solved", Some("urgent"), now - 3 * DAY),
            ticket("closed", None, now - 50 * DAY),
        ];
        let good_then_bad =
            [RatingMark { rating: Rating::Good, at: now - 5 * DAY }, RatingMark { rating: Rating::Bad, at: now - DAY }];
        let old_good = RatingMark { rating: Rating::Good, at: now - 31 * DAY };
        let good = RatingMark { rating: Rating::Good, at: now - DAY };
        let ratings = [("1", &good_then_bad[1]), ("1", &good_then_bad[0]), ("2", &old_good), ("3", &good)];
        let view = support_view(&tickets, ratings, now);
        assert_eq!(
            view,
            SupportView {
                open_tickets: 3,
                urgent_open_tickets: 2,
                tickets_30d: 3,
                csat_good_30d: 1,
                csat_bad_30d: 1,
                urgent_since: Some(time::at(now - 40 * DAY))
            }
        );
    }

    #[test]
    fn reads_zendesk_rating_names() {
        assert_eq!(Rating::from_zendesk("Good"), Some(Rating::Good));
        assert_eq!(Rating::from_zendesk("bad_with_comment"), Some(Rating::Bad));
        assert_eq!(Rating::from_zendesk("offered"), None);
        assert_eq!(Rating::from_zendesk(""), None);
    }
}
