//! The configuration a process runs with: `foresight.toml` (a file for the runner, the text of
//! `FORESIGHT_CONFIG` in Lambda), then the environment's overrides, so every function and the
//! runner agree on the key features and the first-value event the template sets once.

use super::env::{self, non_empty, CONFIG_VAR};
use crate::app::settings::{Settings, SettingsError};
use crate::domain::usage::AnalyticsConfig;
use std::path::Path;

/// The configuration from `FORESIGHT_CONFIG` (defaults when unset), with the overrides.
pub fn from_env() -> Result<Settings, SettingsError> {
    let settings = match non_empty(CONFIG_VAR) {
        Some(text) => Settings::parse(&text, CONFIG_VAR)?,
        None => Settings::default(),
    };
    Ok(with_overrides(settings))
}

/// The configuration from a file (`foresight dev --config`; defaults without one), with the
/// overrides; the runner renders emails, so its templates are checked too.
pub fn from_file(path: Option<&Path>) -> Result<Settings, SettingsError> {
    let settings = match path {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| SettingsError::Toml { path: shown.clone(), message: format!("cannot read: {e}") })?;
            let settings = Settings::parse(&text, &shown)?;
            settings.check_templates(&shown)?;
            settings
        }
        None => Settings::default(),
    };
    Ok(with_overrides(settings))
}

/// The environment's overrides: the `FORESIGHT_*` analytics variables replace `[analytics]`
/// (the sweep then scores with the same key features ingest records), `SLACK_DEFAULT_CHANNEL`
/// replaces `[delivery] default_channel`, and `FORESIGHT_PUBLIC_URL` is the base of the alerts'
/// links to an account.
pub fn with_overrides(settings: Settings) -> Settings {
    let analytics = analytics_overrides(settings.analytics.clone());
    let mut settings = settings.with_analytics(analytics);
    if let Some(channel) = non_empty("SLACK_DEFAULT_CHANNEL") {
        settings.delivery.default_channel = channel;
    }
    if let Some(url) = env::public_url() {
        settings.alerts.public_url = url;
    }
    settings
}

/// `[analytics]` overridden by `FORESIGHT_KEY_FEATURES` (comma-separated event names),
/// `FORESIGHT_FIRST_VALUE_EVENT`, `FORESIGHT_STRIPE_TRAIT`, `FORESIGHT_ZENDESK_TRAIT`.
pub fn analytics_overrides(mut config: AnalyticsConfig) -> AnalyticsConfig {
    if let Some(features) = non_empty("FORESIGHT_KEY_FEATURES") {
        config.key_features = features.split(',').map(str::trim).filter(|f| !f.is_empty()).map(Into::into).collect();
    }
    if let Some(event) = non_empty("FORESIGHT_FIRST_VALUE_EVENT") {
        config.first_value_event = Some(event);
    }
    if let Some(t) = non_empty("FORESIGHT_STRIPE_TRAIT") {
        config.stripe_trait = t;
    }
    if let Some(t) = non_empty("FORESIGHT_ZENDESK_TRAIT") {
        config.zendesk_trait = t;
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_read_is_named() {
        let err = from_file(Some(Path::new("/no/such/foresight.toml"))).unwrap_err().to_string();
        assert!(err.starts_with("/no/such/foresight.toml: cannot read"), "{err}");
    }
}
