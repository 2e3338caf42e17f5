//! `foresight.toml`: the health model, touch tiers and analytics configuration, validated at
//! start so that a mistake stops the runner (or the function's cold start) with a message that
//! names the field, never a silent default. Every field is optional; defaults follow the team's
//! domain notes. See `foresight.example.toml`.

use crate::app::dispatch::routes::DeliveryRoutes;
use crate::app::playbooks::settings::{EmailSection, PlaybookSection, PlaybookSettings};
use crate::app::portfolio_settings::{PortfolioSection, PortfolioSettings};
use crate::domain::account::{AccountRecord, StoredAccount};
use crate::domain::alert::AlertRules;
use crate::domain::connection::DeploymentSources;
use crate::domain::health::{HealthModel, Weights};
use crate::domain::lifecycle::LifecycleRules;
use crate::domain::renewal::RenewalRules;
use crate::domain::survey::SurveySettings;
use crate::domain::tier::{Segment, TierThresholds};
use crate::domain::usage::{AnalyticsConfig, FirstValueRule};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("{path}: {message}")]
    Toml { path: String, message: String },
    #[error("{path}: {field} {problem}")]
    Invalid { path: String, field: String, problem: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    health: HealthSection,
    tiers: TierSection,
    analytics: AnalyticsSection,
    alerts: AlertRules,
    renewal: RenewalRules,
    delivery: DeliveryRoutes,
    portfolio: PortfolioSection,
    surveys: SurveySettings,
    email: EmailSection,
    playbooks: Vec<PlaybookSection>,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct HealthSection {
    red_below: i64,
    green_from: i64,
    renewal_window_days: i64,
    weights: Weights,
}

impl Default for HealthSection {
    fn default() -> Self {
        let m = HealthModel::default();
        HealthSection {
            red_below: m.red_below,
            green_from: m.green_from,
            renewal_window_days: m.renewal_window_days,
            weights: Weights::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TierSection {
    /// ARR in minor units from which an account is high touch.
    high_touch_from: i64,
    low_touch_from: i64,
    /// Per-tier weights replacing `[health.weights]` for that tier.
    weights: BTreeMap<Segment, Weights>,
}

impl Default for TierSection {
    fn default() -> Self {
        TierSection { high_touch_from: 5_000_000, low_touch_from: 500_000, weights: BTreeMap::new() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AnalyticsSection {
    key_features: Vec<String>,
    first_value_event: Option<String>,
    first_value_active_users: Option<u32>,
    first_value_key_feature: Option<bool>,
    stripe_trait: Option<String>,
    zendesk_trait: Option<String>,
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub health: HealthModel,
    pub high_touch_from: i64,
    pub low_touch_from: i64,
    /// Weights per touch tier where configured.
    pub tier_weights: BTreeMap<Segment, Weights>,
    pub analytics: AnalyticsConfig,
    pub alerts: AlertRules,
    pub lifecycle: LifecycleRules,
    /// `[renewal]`: the renewal sweep's windows (largest first) and catch-up.
    pub renewal: RenewalRules,
    /// `[delivery]`: Slack channels by alert kind and touch tier, which alerts become CRM tasks.
    pub delivery: DeliveryRoutes,
    /// `[portfolio]`: KPI currency and rates, digest owners, CRM health fields.
    pub portfolio: PortfolioSettings,
    /// `[surveys]`: the NPS event of the analytics convention, Typeform's account hidden field.
    pub surveys: SurveySettings,
    /// `[email]` and `[[playbooks]]`: tech-touch playbooks (`app::playbooks`).
    pub playbooks: PlaybookSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::parse("", "(defaults)").expect("the defaults are valid")
    }
}

fn check_weights(path: &str, prefix: &str, w: &Weights) -> Result<(), SettingsError> {
    let all = w.named();
    for (name, value) in all {
        if !(0.0..=1.0).contains(&value) || value.is_nan() {
            return Err(invalid(
                path,
                &format!("{prefix}.{name}"),
                &format!("is {value}: a weight is between 0 and 1"),
            ));
        }
    }
    if all.iter().map(|(_, v)| v).sum::<f64>() <= 0.0 {
        return Err(invalid(path, prefix, "are all 0: at least one component must count"));
    }
    Ok(())
}

fn invalid(path: &str, field: &str, problem: &str) -> SettingsError {
    SettingsError::Invalid { path: path.into(), field: field.into(), problem: problem.into() }
}

impl Settings {
    /// Parses and validates a `foresight.toml` text; `path` names it in errors. Email templates
    /// are checked apart, where they are rendered ([`Settings::check_templates`]).
    pub fn parse(text: &str, path: &str) -> Result<Settings, SettingsError> {
        let file: File = toml::from_str(text)
            .map_err(|e| SettingsError::Toml { path: path.into(), message: e.to_string().trim().replace('\n', " ") })?;
        let h = &file.health;
        if !(0..=100).contains(&h.red_below) || !(0..=100).contains(&h.green_from) || h.red_below > h.green_from {
            return Err(invalid(
                path,
                "health.red_below / health.green_from",
                "must satisfy 0 <= red_below <= green_from <= 100",
            ));
        }
        if !(1..=365).contains(&h.renewal_window_days) {
            return Err(invalid(path, "health.renewal_window_days", "must be between 1 and 365"));
        }
        check_weights(path, "health.weights", &h.weights)?;
        let t = &file.tiers;
        if t.low_touch_from < 0 || t.high_touch_from < t.low_touch_from {
            return Err(invalid(
                path,
                "tiers.high_touch_from / tiers.low_touch_from",
                "must satisfy 0 <= low_touch_from <= high_touch_from",
            ));
        }
        for (tier, weights) in &t.weights {
            check_weights(path, &format!("tiers.weights.{tier}"), weights)?;
        }
        let a = &file.analytics;
        if let Some(empty) = a.key_features.iter().position(|f| f.trim().is_empty()) {
            return Err(invalid(path, &format!("analytics.key_features[{empty}]"), "is empty"));
        }
        let defaults = FirstValueRule::default();
        let first_value = FirstValueRule {
            active_users: a.first_value_active_users.unwrap_or(defaults.active_users),
            key_feature: a.first_value_key_feature.unwrap_or(defaults.key_feature),
        };
        if first_value.active_users > 10_000 {
            return Err(invalid(path, "analytics.first_value_active_users", "must be between 0 and 10000"));
        }
        let surveys = file.surveys.clone();
        if surveys.hidden_field.trim().is_empty() {
            return Err(invalid(
                path,
                "surveys.hidden_field",
                "is empty: name the hidden field that holds the account id",
            ));
        }
        let mut analytics = AnalyticsConfig {
            key_features: a.key_features.iter().map(|f| f.trim().to_owned()).collect(),
            first_value_event: a.first_value_event.clone().filter(|e| !e.trim().is_empty()),
            first_value,
            nps_event: Some(surveys.nps_event.trim().to_owned()).filter(|e| !e.is_empty()),
            ..Default::default()
        };
        if analytics.key_features.len() != a.key_features.len() {
            return Err(invalid(path, "analytics.key_features", "lists an event twice"));
        }
        if let Some(t) = &a.stripe_trait {
            analytics.stripe_trait = t.clone();
        }
        if let Some(t) = &a.zendesk_trait {
            analytics.zendesk_trait = t.clone();
        }
        let r = &file.alerts;
        if r.score_fall_points < 1 || r.score_fall_points > 100 {
            return Err(invalid(path, "alerts.score_fall_points", "must be between 1 and 100"));
        }
        if !(1..=100).contains(&r.usage_drop_percent) {
            return Err(invalid(path, "alerts.usage_drop_percent", "must be between 1 and 100"));
        }
        if !(r.expansion_seat_utilisation > 0.0 && r.expansion_seat_utilisation <= 10.0) {
            return Err(invalid(path, "alerts.expansion_seat_utilisation", "must be above 0 (0.9 = 90% of seats)"));
        }
        if !(0..=365).contains(&r.onboarding_days) {
            return Err(invalid(path, "alerts.onboarding_days", "must be between 0 and 365"));
        }
        if !(0..=100).contains(&r.usage_decline_percent) {
            return Err(invalid(path, "alerts.usage_decline_percent", "must be between 0 and 100"));
        }
        for (kind, days) in r.cooldown_days.iter() {
            if !(0..=365).contains(&days) {
                return Err(invalid(path, &format!("alerts.cooldown_days.{kind}"), "must be between 0 and 365"));
            }
        }
        let mut renewal = file.renewal.clone();
        if renewal.windows.is_empty() {
            return Err(invalid(
                path,
                "renewal.windows",
                "is empty: list at least one window in days, e.g. [90, 60, 30]",
            ));
        }
        if let Some(w) = renewal.windows.iter().find(|w| !(1..=365).contains(*w)) {
            return Err(invalid(path, "renewal.windows", &format!("has {w}: a window is between 1 and 365 days")));
        }
        renewal.windows.sort_unstable_by(|a, b| b.cmp(a));
        if renewal.windows.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(invalid(path, "renewal.windows", "lists a window twice"));
        }
        if !(0..=30).contains(&renewal.catch_up_days) {
            return Err(invalid(path, "renewal.catch_up_days", "must be between 0 and 30"));
        }
        let d = &file.delivery;
        if d.default_channel.trim().is_empty() {
            return Err(invalid(path, "delivery.default_channel", "is empty"));
        }
        for (tier, channel) in &d.tier_channels {
            if channel.trim().is_empty() {
                return Err(invalid(path, &format!("delivery.tier_channels.{tier}"), "is empty"));
            }
        }
        for (kind, channel) in &d.kind_channels {
            if channel.trim().is_empty() {
                return Err(invalid(path, &format!("delivery.kind_channels.{kind}"), "is empty"));
            }
        }
        if !(0..=90).contains(&d.task_due_days) {
            return Err(invalid(path, "delivery.task_due_days", "must be between 0 and 90"));
        }
        let portfolio = file.portfolio.validate().map_err(|(field, problem)| invalid(path, &field, &problem))?;
        if let Some((field, problem)) = d.salesforce.problem() {
            return Err(invalid(path, &format!("delivery.salesforce.{field}"), &problem));
        }
        let playbooks = crate::app::playbooks::settings::validate(&file.email, &file.playbooks)
            .map_err(|(field, problem)| invalid(path, &field, &problem))?;
        let lifecycle = LifecycleRules {
            renewal_window_days: h.renewal_window_days,
            expansion_seat_utilisation: r.expansion_seat_utilisation,
        };
        let health = HealthModel {
            weights: h.weights.clone(),
            red_below: h.red_below,
            green_from: h.green_from,
            key_features: analytics.key_features.len(),
            renewal_window_days: h.renewal_window_days,
        };
        Ok(Settings {
            health,
            high_touch_from: t.high_touch_from,
            low_touch_from: t.low_touch_from,
            tier_weights: t.weights.clone(),
            analytics: analytics.clone(),
            alerts: file.alerts,
            lifecycle,
            renewal,
            delivery: file.delivery.clone(),
            portfolio,
            surveys,
            playbooks,
        }
        .with_analytics(analytics))
    }

    /// Whether every email template compiles and every template a playbook uses renders
    /// against a sample account (`path` names the file in errors). The runner and the playbooks
    /// function check at start; the other functions never render and skip it.
    pub fn check_templates(&self, path: &str) -> Result<(), SettingsError> {
        self.playbooks.check_templates().map_err(|(field, problem)| invalid(path, &field, &problem))
    }

    /// These settings with `analytics` in place of `[analytics]`, and what depends on it (the
    /// adoption component's key-feature count) kept in step; the contact roles some playbook
    /// emails ride along.
    pub fn with_analytics(mut self, mut analytics: AnalyticsConfig) -> Self {
        analytics.contact_roles = self.playbooks.roles_emailed();
        self.health.key_features = analytics.key_features.len();
        self.analytics = analytics;
        self
    }

    /// The touch tier of an account by its ARR (minor units), by the configured thresholds.
    pub fn tier(&self, arr: i64) -> Segment {
        TierThresholds { high_touch_from: self.high_touch_from, low_touch_from: self.low_touch_from }.tier(arr)
    }

    /// The health model for a tier: the tier's own weights where configured.
    pub fn model_for(&self, tier: Segment) -> HealthModel {
        let mut model = self.health.clone();
        if let Some(weights) = self.tier_weights.get(&tier) {
            model.weights = weights.clone();
        }
        model
    }

    /// The record as this configuration sees it at `now`: first value by the configured rule,
    /// tier and lifecycle by the configured thresholds. Every use case reads accounts through
    /// this (or [`Settings::record_in`]).
    pub fn record(&self, stored: &StoredAccount, now: i64) -> AccountRecord {
        self.record_in(stored, now, None)
    }

    /// [`Settings::record`] in a deployment whose connected sources are known (the sweep reads
    /// them once per run): the breakdown can then say which sources were never connected here,
    /// and whether first value is measurable for an account analytics never saw.
    pub fn record_in(&self, stored: &StoredAccount, now: i64, deployment: Option<&DeploymentSources>) -> AccountRecord {
        let mut record = AccountRecord::build(stored, now, self.analytics.first_value_rule());
        record.segment = self.tier(record.billing.arr);
        record.with_deployment(deployment.cloned()).with_lifecycle(&self.lifecycle, now)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn analytics_overrides_keep_the_model_in_step() {
        let mut analytics = Settings::default().analytics;
        analytics.key_features = ["Report Exported".to_owned(), "Dashboard Shared".to_owned()].into();
        analytics.first_value_event = Some("Report Exported".into());
        let s = Settings::default().with_analytics(analytics);
        assert_eq!(s.health.key_features, 2);
        assert_eq!(s.analytics.first_value_rule(), None, "a configured event is the only first value");
        let none = s.with_analytics(Default::default());
        assert_eq!(none.health.key_features, 0);
        assert_eq!(none.analytics.first_value_rule(), Some(FirstValueRule { active_users: 2, key_feature: true }));
    }

    #[test]
    fn first_value_and_surveys_are_configurable() {
        let s = Settings::parse(
            "[analytics]\nfirst_value_active_users = 3\nfirst_value_key_feature = false\n[surveys]\nnps_event = \"NPS\"\nhidden_field = \"acct\"\n[alerts]\nonboarding_stalled_days = 21\n",
            "f",
        )
        .unwrap();
        assert_eq!(s.analytics.first_value_rule(), Some(FirstValueRule { active_users: 3, key_feature: false }));
        assert_eq!((s.analytics.nps_event.as_deref(), s.surveys.hidden_field.as_str()), (Some("NPS"), "acct"));
        assert_eq!(s.alerts.onboarding_days, 21, "the old name still reads");
        let d = Settings::default();
        assert_eq!(d.analytics.nps_event.as_deref(), Some("NPS Survey Responded"));
        assert_eq!(d.surveys.hidden_field, "account_id");
        assert_eq!(d.alerts.onboarding_days, 14);
        assert_eq!(Settings::parse("[surveys]\nnps_event = \"\"\n", "f").unwrap().analytics.nps_event, None);
        let err = Settings::parse("[surveys]\nhidden_field = \" \"\n", "f").unwrap_err().to_string();
        assert!(err.contains("surveys.hidden_field"), "{err}");
        let err = Settings::parse("[alerts]\nusage_decline_percent = 101\n", "f").unwrap_err().to_string();
        assert!(err.contains("alerts.usage_decline_percent"), "{err}");
    }

    use super::*;

    #[test]
    fn the_example_file_is_valid_and_defaults_hold() {
        let example = include_str!("../../../foresight.example.toml");
        let s = Settings::parse(example, "foresight.example.toml").unwrap();
        assert_eq!(s.health.key_features, 3);
        assert_eq!(s.analytics.first_value_event.as_deref(), Some("Report Exported"));
        assert!(s.tier_weights.contains_key(&Segment::TechTouch));
        let d = Settings::default();
        assert_eq!((d.health.red_below, d.health.green_from, d.high_touch_from), (40, 70, 5_000_000));
        assert_eq!(d.analytics.stripe_trait, "stripe_customer_id");
    }

    #[test]
    fn mistakes_name_the_field() {
        let err = |text: &str| Settings::parse(text, "f.toml").unwrap_err().to_string();
        assert!(err("[health]\nred_below = 80\n").contains("red_below <= green_from"));
        assert!(err("[health.weights]\nusage = 1.5\n").contains("health.weights.usage is 1.5"));
        assert!(err(
            "[health.weights]\nusage = 0\nadoption = 0\nsupport = 0\nsentiment = 0\nbilling = 0\nrenewal = 0\n"
        )
        .contains("are all 0"));
        assert!(err("[tiers.weights.vip]\nusage = 0.5\n").contains("vip"));
        assert!(err("[analytics]\nkey_features = [\"A\", \"A\"]\n").contains("twice"));
        assert!(err("[alerts]\nscore_fall_points = 0\n").contains("alerts.score_fall_points"));
        assert!(err("[alerts.cooldown_days]\nexpansion = -1\n").contains("alerts.cooldown_days.expansion"));
        assert!(err("[alerts.cooldown_days]\nbogus = 1\n").contains("bogus"));
        assert!(err("[renewal]\nwindows = []\n").contains("renewal.windows is empty"));
        assert!(err("[renewal]\nwindows = [90, 0]\n").contains("renewal.windows has 0"));
        assert!(err("[renewal]\nwindows = [30, 90, 30]\n").contains("twice"));
        assert!(err("[renewal]\ncatch_up_days = -1\n").contains("renewal.catch_up_days"));
        assert_eq!(
            Settings::parse("[renewal]\nwindows = [30, 120, 60]\n", "f").unwrap().renewal.windows,
            [120, 60, 30]
        );
        let typo = err("[helth]\nred_below = 30\n");
        assert!(typo.starts_with("f.toml: ") && typo.contains("helth"), "{typo}");
        assert!(err("[health]\nred_below = \"forty\"\n").contains("red_below"));
        assert!(err("[delivery.kind_channels]\nbogus = \"#x\"\n").contains("bogus"));
        assert!(err("[delivery]\ntask_kinds = [\"renewal\", \"nope\"]\n").contains("nope"));
        assert!(err("[delivery.tier_channels]\nvip = \"#x\"\n").contains("vip"));
        assert!(err("[portfolio]\ncurrency = \"dollars\"\n").contains("portfolio.currency"));
        assert!(err("[portfolio.rates]\neur = -1\n").contains("portfolio.rates.eur is -1"));
        assert!(err("[portfolio]\nhubspot_band_property = \"Band\"\n").contains("portfolio.hubspot_band_property"));
        assert!(err("[delivery.salesforce]\nstatus = \"\"\n").contains("delivery.salesforce.status is empty"));
        assert!(err("[delivery.salesforce]\npriority = \"High\"\n").contains("priority"));
        let long = format!("[delivery.salesforce]\npriority_low = \"{}\"\n", "x".repeat(256));
        assert!(err(&long).contains("delivery.salesforce.priority_low has 256 characters"));
    }
}
