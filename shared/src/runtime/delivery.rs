//! Where notifications are delivered, from the environment (names per the local-API contract):
//! Slack by `SLACK_BOT_TOKEN` (`chat.postMessage` at `SLACK_API_URL`, default
//! `https://slack.com/api`) or else `SLACK_WEBHOOK_URL`; the CRM by `HUBSPOT_TOKEN` (at
//! `HUBSPOT_API_URL`) or else `SALESFORCE_LOGIN_URL` + `SALESFORCE_CLIENT_ID` +
//! `SALESFORCE_CLIENT_SECRET`. Neither configured: notifications stay in the outbox.

use super::env::non_empty;
use super::secrets::Secrets;
use crate::adapters::http::http_client;
use crate::adapters::hubspot::HubSpot;
use crate::adapters::salesforce::{Salesforce, SalesforceConfig};
use crate::adapters::slack::{SlackApi, SlackWebhook};
use crate::app::dispatch::routes::DeliveryRoutes;
use crate::app::ports::delivery::{CrmPort, SlackPort};

/// The delivery adapters a process has.
pub struct DeliveryChannels {
    pub slack: Option<Box<dyn SlackPort>>,
    pub crm: Option<Box<dyn CrmPort>>,
}

impl DeliveryChannels {
    pub fn is_empty(&self) -> bool {
        self.slack.is_none() && self.crm.is_none()
    }
}

/// The secrets among the delivery settings (loaded with [`super::secrets::load`]); the rest
/// (base URLs, the Salesforce login URL and client id) are plain environment variables.
pub const SECRET_VARS: [&str; 4] =
    ["SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "HUBSPOT_TOKEN", "SALESFORCE_CLIENT_SECRET"];

/// The channels these secrets (and the environment) configure; `routes` gives the settings the
/// adapters need from `[delivery]` (the Salesforce org's picklist values).
pub fn channels(secrets: &Secrets, routes: &DeliveryRoutes) -> Result<DeliveryChannels, String> {
    let client = http_client().map_err(|e| e.to_string())?;
    let slack: Option<Box<dyn SlackPort>> = match (secrets.get("SLACK_BOT_TOKEN"), secrets.get("SLACK_WEBHOOK_URL")) {
        (Some(token), _) => {
            let api = SlackApi::new(client.clone(), token);
            Some(Box::new(match non_empty("SLACK_API_URL") {
                Some(url) => api.with_base_url(url),
                None => api,
            }))
        }
        (None, Some(url)) => Some(Box::new(SlackWebhook::new(client.clone(), url))),
        (None, None) => None,
    };
    let salesforce =
        (non_empty("SALESFORCE_LOGIN_URL"), non_empty("SALESFORCE_CLIENT_ID"), secrets.get("SALESFORCE_CLIENT_SECRET"));
    let crm: Option<Box<dyn CrmPort>> = match (secrets.get("HUBSPOT_TOKEN"), salesforce) {
        (Some(token), _) => {
            let hubspot = HubSpot::new(client.clone(), token);
            Some(Box::new(match non_empty("HUBSPOT_API_URL") {
                Some(url) => hubspot.with_base_url(url),
                None => hubspot,
            }))
        }
        (None, (Some(login), Some(id), Some(secret))) => {
            let config = SalesforceConfig::new(login, id, secret).with_picklists(&routes.salesforce);
            Some(Box::new(Salesforce::new(client, config)))
        }
        (None, (None, None, None)) => None,
        (None, _) => {
            return Err(
                "Salesforce needs SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET together"
                    .into(),
            )
        }
    };
    Ok(DeliveryChannels { slack, crm })
}

/// Where health is written on CRM records: HubSpot when `HUBSPOT_TOKEN` is set, Salesforce when
/// its three settings are (both when both), with the field names of `[portfolio]`.
pub fn crm_health(
    secrets: &Secrets,
    portfolio: &crate::app::portfolio_settings::PortfolioSettings,
) -> Result<Vec<Box<dyn crate::app::ports::portfolio::CrmHealthPort>>, String> {
    use crate::adapters::hubspot::HubSpotHealth;
    use crate::adapters::salesforce::SalesforceHealth;
    let client = http_client().map_err(|e| e.to_string())?;
    let mut ports: Vec<Box<dyn crate::app::ports::portfolio::CrmHealthPort>> = Vec::new();
    if let Some(token) = secrets.get("HUBSPOT_TOKEN") {
        let hubspot = HubSpot::new(client.clone(), token);
        let hubspot = match non_empty("HUBSPOT_API_URL") {
            Some(url) => hubspot.with_base_url(url),
            None => hubspot,
        };
        ports.push(Box::new(HubSpotHealth::new(hubspot, portfolio.hubspot.clone())));
    }
    if let (Some(login), Some(id), Some(secret)) =
        (non_empty("SALESFORCE_LOGIN_URL"), non_empty("SALESFORCE_CLIENT_ID"), secrets.get("SALESFORCE_CLIENT_SECRET"))
    {
        let salesforce = std::sync::Arc::new(Salesforce::new(client, SalesforceConfig::new(login, id, secret)));
        ports.push(Box::new(SalesforceHealth::new(salesforce, portfolio.salesforce.clone())));
    }
    Ok(ports)
}
