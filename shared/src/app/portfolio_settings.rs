//! `[portfolio]` in `foresight.toml`: the reporting currency and exchange rates of the KPIs, the
//! owners the weekly digest names, and the CRM fields that show each account's health. Its own
//! section, validated with the rest of the file (`app::settings`).

use crate::domain::kpi::Reporting;
use crate::domain::tier::Segment;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[portfolio]` as written.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortfolioSection {
    /// The reporting currency (ISO code).
    pub currency: String,
    /// Units of the reporting currency per unit of each other currency (`eur = 1.08`).
    pub rates: BTreeMap<String, f64>,
    /// Who owns the accounts of each touch tier, as the digest names them (`high_touch = "Dana"`).
    pub owners: BTreeMap<Segment, String>,
    /// HubSpot company properties that show health (created once by Foresight).
    pub hubspot_score_property: String,
    pub hubspot_band_property: String,
    pub hubspot_reasons_property: String,
    /// Salesforce Account custom fields that show health (created by the admin).
    pub salesforce_score_field: String,
    pub salesforce_band_field: String,
    pub salesforce_reasons_field: String,
}

impl Default for PortfolioSection {
    fn default() -> Self {
        PortfolioSection {
            currency: "usd".into(),
            rates: BTreeMap::new(),
            owners: BTreeMap::new(),
            hubspot_score_property: "foresight_health_score".into(),
            hubspot_band_property: "foresight_health_band".into(),
            hubspot_reasons_property: "foresight_health_reasons".into(),
            salesforce_score_field: "Foresight_Health_Score__c".into(),
            salesforce_band_field: "Foresight_Health_Band__c".into(),
            salesforce_reasons_field: "Foresight_Health_Reasons__c".into(),
        }
    }
}

/// The names of the three health fields in one CRM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthFieldNames {
    pub score: String,
    pub band: String,
    pub reasons: String,
}

/// The validated section.
#[derive(Clone, Debug, PartialEq)]
pub struct PortfolioSettings {
    pub reporting: Reporting,
    pub owners: BTreeMap<Segment, String>,
    pub hubspot: HealthFieldNames,
    pub salesforce: HealthFieldNames,
}

impl Default for PortfolioSettings {
    fn default() -> Self {
        PortfolioSection::default().validate().expect("the defaults are valid")
    }
}

impl PortfolioSection {
    /// Checks the section; the error names the field (`portfolio.rates.eur is -1: ...`).
    pub fn validate(&self) -> Result<PortfolioSettings, (String, String)> {
        let code = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic());
        if !code(self.currency.trim()) {
            return Err((
                "portfolio.currency".into(),
                format!("is {:?}: a three-letter ISO code such as usd", self.currency),
            ));
        }
        let mut rates = BTreeMap::new();
        for (currency, rate) in &self.rates {
            if !code(currency) {
                return Err((format!("portfolio.rates.{currency}"), "is not a three-letter ISO code".into()));
            }
            if !(rate.is_finite() && *rate > 0.0) {
                return Err((format!("portfolio.rates.{currency}"), format!("is {rate}: a rate is above 0")));
            }
            rates.insert(currency.to_ascii_lowercase(), *rate);
        }
        let name = |field: &str, value: &str, allowed: fn(u8) -> bool| {
            if value.is_empty() || !value.bytes().all(allowed) {
                Err((format!("portfolio.{field}"), format!("is {value:?}: letters, digits and _ only")))
            } else {
                Ok(value.to_owned())
            }
        };
        // HubSpot internal names are lower case; Salesforce API names keep their case.
        let hubspot_name = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        let salesforce_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        Ok(PortfolioSettings {
            reporting: Reporting { currency: self.currency.trim().to_ascii_lowercase(), rates },
            owners: self.owners.clone(),
            hubspot: HealthFieldNames {
                score: name("hubspot_score_property", &self.hubspot_score_property, hubspot_name)?,
                band: name("hubspot_band_property", &self.hubspot_band_property, hubspot_name)?,
                reasons: name("hubspot_reasons_property", &self.hubspot_reasons_property, hubspot_name)?,
            },
            salesforce: HealthFieldNames {
                score: name("salesforce_score_field", &self.salesforce_score_field, salesforce_name)?,
                band: name("salesforce_band_field", &self.salesforce_band_field, salesforce_name)?,
                reasons: name("salesforce_reasons_field", &self.salesforce_reasons_field, salesforce_name)?,
            },
        })
    }
}
