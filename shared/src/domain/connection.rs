//! Which sources know an account, and which this deployment has connected at all: what makes
//! silence a signal (`../shared/domain.md`, "silence is data"). A source that knows the account
//! and reports nothing scores 0; only a source that never connected is left out of the score,
//! and the breakdown says which of the two it was.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A sender of data about accounts.
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
pub enum Source {
    /// Billing (Stripe).
    Stripe,
    /// Support (Zendesk).
    Zendesk,
    /// Product analytics (Segment spec).
    Analytics,
    /// Surveys (Typeform, or the analytics NPS event).
    Surveys,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The name people read in a breakdown.
    pub fn label(self) -> &'static str {
        match self {
            Source::Stripe => "Stripe",
            Source::Zendesk => "Zendesk",
            Source::Analytics => "product analytics",
            Source::Surveys => "surveys",
        }
    }

    /// Every source, in declaration order.
    pub fn all() -> impl Iterator<Item = Source> {
        <Source as strum::IntoEnumIterator>::iter()
    }
}

/// The sources this deployment has received data from, each with the time of the earliest data
/// it sent (Unix seconds): kept once per deployment by the webhooks, read by the sweep.
pub type DeploymentSources = BTreeMap<Source, i64>;

/// Whether a source is connected for one account, as the breakdown explains a missing input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// The source knows the account: no data from it is a signal (silence).
    Connected,
    /// The deployment receives this source, but never for this account.
    NotForAccount,
    /// The deployment has never received anything from this source.
    NotInDeployment,
}

impl Connection {
    /// From what the account has and what the deployment has (unknown: judged by the account).
    pub fn of(source: Source, account: bool, deployment: Option<&DeploymentSources>) -> Self {
        if account {
            Connection::Connected
        } else if deployment.is_some_and(|d| !d.contains_key(&source)) {
            Connection::NotInDeployment
        } else {
            Connection::NotForAccount
        }
    }

    /// Why a component fed by `source` has no data, in one line.
    pub fn why_missing(self, source: Source) -> String {
        match (self, source) {
            (Connection::NotInDeployment, s) => format!("{} is not connected to this deployment", s.label()),
            (_, Source::Stripe) => "no Stripe customer or subscription for this account".into(),
            (_, Source::Zendesk) => "no Zendesk organization linked to this account".into(),
            (_, Source::Analytics) => "product analytics has never seen this account (no group call or event)".into(),
            (_, Source::Surveys) => "no survey response from this account".into(),
        }
    }
}
