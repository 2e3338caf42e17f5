//! Touch tiers: how much human attention an account gets, by contract value
//! (`../shared/domain.md`, "Touch model and lifecycle").

use serde::{Deserialize, Serialize};

/// The touch tier (`segment` on the record). Names (`high_touch`, ...) come from the enum itself.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Segment {
    HighTouch,
    LowTouch,
    TechTouch,
}

/// ARR thresholds (minor units a year) of the tiers: `[tiers]` in `foresight.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierThresholds {
    /// From this ARR an account is high touch (default 50,000.00 a year).
    pub high_touch_from: i64,
    /// From this ARR an account is low touch (default 5,000.00 a year); below, tech touch.
    pub low_touch_from: i64,
}

impl Default for TierThresholds {
    fn default() -> Self {
        TierThresholds { high_touch_from: 5_000_000, low_touch_from: 500_000 }
    }
}

impl TierThresholds {
    /// The tier of an account with this ARR.
    pub fn tier(&self, arr: i64) -> Segment {
        if arr >= self.high_touch_from {
            Segment::HighTouch
        } else if arr >= self.low_touch_from {
            Segment::LowTouch
        } else {
            Segment::TechTouch
        }
    }
}

impl Segment {
    /// The tier by the default thresholds.
    pub fn from_arr(arr: i64) -> Self {
        TierThresholds::default().tier(arr)
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_by_arr_and_names_from_the_enum() {
        assert_eq!(Segment::from_arr(6_000_000), Segment::HighTouch);
        assert_eq!(Segment::from_arr(500_000), Segment::LowTouch);
        assert_eq!(Segment::from_arr(499_999), Segment::TechTouch);
        assert_eq!(Segment::HighTouch.as_str(), "high_touch");
        assert_eq!("tech_touch".parse::<Segment>(), Ok(Segment::TechTouch));
        assert_eq!(serde_json::to_value(Segment::LowTouch).unwrap(), "low_touch");
    }
}
