//! `[email]` and `[[playbooks]]` in `foresight.toml` (contract: `../shared/local-api.md`,
//! "Playbooks"), validated with the rest of the file: an unknown trigger, action, role, tier or
//! template is an error naming the field (`playbooks[1].actions[0].to`). Whether each template
//! compiles and renders against a sample account is checked where templates are rendered, at
//! the start of the runner and of the playbooks function ([`PlaybookSettings::check_templates`]),
//! so that the other functions, which read the same file, carry no template engine.

use super::templates::{self, CustomTemplate, EmailTemplates, LOCALES};
use crate::domain::account::{AccountRecord, StoredAccount};
use crate::domain::alert::AlertKind;
use crate::domain::health::Band;
use crate::domain::lifecycle::Lifecycle;
use crate::domain::playbook::{
    Action, Audience, Cap, Caps, Contact, ContactSource, Playbook, QuietHours, Recipients, Role, Trigger,
    LONGEST_CAP_DAYS,
};
use crate::domain::tier::Segment;
use chrono::NaiveTime;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// `[email]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSection {
    /// `Name <address>` or an address: a verified SES identity.
    from: Option<String>,
    locale_default: Option<String>,
    quiet_hours: Option<QuietSection>,
    cap: CapSection,
    /// What templates call the product (`{{ product }}`).
    product_name: Option<String>,
    /// The SES configuration set to send with (event publishing: bounces, complaints).
    configuration_set: Option<String>,
    /// Templates added or replaced: `[email.templates.<name>.<locale>]` with `text` and `html`.
    templates: BTreeMap<String, BTreeMap<String, CustomTemplate>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuietSection {
    start: String,
    end: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CapSection {
    per_contact: Option<CapValues>,
    per_account: Option<CapValues>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapValues {
    max: i64,
    days: i64,
}

/// One `[[playbooks]]` entry as written; trigger and actions are checked by hand so that each
/// mistake names its field.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookSection {
    name: String,
    trigger: BTreeMap<String, toml::Value>,
    #[serde(default)]
    audience: AudienceSection,
    actions: Vec<BTreeMap<String, toml::Value>>,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AudienceSection {
    tiers: Vec<String>,
    lifecycle: Vec<String>,
    bands: Vec<String>,
}

/// `[email]`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailSettings {
    pub from: Option<String>,
    pub locale_default: String,
    pub quiet_hours: Option<QuietHours>,
    pub caps: Caps,
    pub product_name: String,
    pub configuration_set: Option<String>,
    pub templates: EmailTemplates,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            from: None,
            locale_default: "en".into(),
            quiet_hours: None,
            caps: Caps::default(),
            product_name: "our product".into(),
            configuration_set: None,
            templates: EmailTemplates::default(),
        }
    }
}

/// The playbooks and their email settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlaybookSettings {
    pub email: EmailSettings,
    pub playbooks: Vec<Playbook>,
}

impl PlaybookSettings {
    /// The roles some playbook emails: contacts of other roles are not kept (data minimisation).
    pub fn roles_emailed(&self) -> BTreeSet<Role> {
        let mut roles = BTreeSet::new();
        for action in self.playbooks.iter().flat_map(|p| &p.actions) {
            if let Action::Email { to, .. } = action {
                match to {
                    Recipients::All => roles.extend([Role::Admin, Role::Billing, Role::Champion, Role::Member]),
                    Recipients::Role(role) => {
                        roles.insert(*role);
                    }
                }
            }
        }
        roles
    }

    /// Whether any playbook has an email action.
    pub fn sends_email(&self) -> bool {
        !self.roles_emailed().is_empty()
    }
}

type Problem = (String, String);

fn problem(field: impl Into<String>, text: impl Into<String>) -> Problem {
    (field.into(), text.into())
}

fn parse_name<T: std::str::FromStr>(field: &str, what: &str, value: &str, known: &str) -> Result<T, Problem> {
    value.trim().parse().map_err(|_| problem(field, format!("has unknown {what} {value:?}: use one of {known}")))
}

fn names<T: Into<&'static str> + Copy>(all: impl Iterator<Item = T>) -> String {
    all.map(|v| v.into()).collect::<Vec<_>>().join(", ")
}

fn time_of_day(field: &str, value: &str) -> Result<NaiveTime, Problem> {
    NaiveTime::parse_from_str(value.trim(), "%H:%M")
        .map_err(|_| problem(field, format!("is {value:?}: a time such as \"20:00\"")))
}

fn cap(field: &str, values: Option<CapValues>) -> Result<Option<Cap>, Problem> {
    let Some(v) = values else { return Ok(None) };
    if !(1..=100).contains(&v.max) {
        return Err(problem(format!("{field}.max"), "must be between 1 and 100"));
    }
    if !(1..=LONGEST_CAP_DAYS).contains(&v.days) {
        return Err(problem(format!("{field}.days"), format!("must be between 1 and {LONGEST_CAP_DAYS}")));
    }
    Ok(Some(Cap { max: v.max as u32, days: v.days }))
}

/// A sample account every template used is rendered against at start.
fn sample_record() -> AccountRecord {
    let stored = StoredAccount { account_id: "acct_sample".into(), ..Default::default() };
    let mut record = AccountRecord::from_stored(&stored, 0);
    record.name = Some("Sample Co".into());
    record
}

/// Validates `[email]` and `[[playbooks]]`; the error names the field.
pub fn validate(email: &EmailSection, playbooks: &[PlaybookSection]) -> Result<PlaybookSettings, Problem> {
    let templates = EmailTemplates::new(&email.templates);
    for (name, locales) in &email.templates {
        for locale in locales.keys() {
            if !LOCALES.contains(&locale.as_str()) {
                return Err(problem(
                    format!("email.templates.{name}.{locale}"),
                    format!("is not a supported locale: use one of {}", LOCALES.join(", ")),
                ));
            }
        }
    }
    let locale_default = email.locale_default.clone().unwrap_or_else(|| "en".into());
    if !LOCALES.contains(&locale_default.as_str()) {
        return Err(problem(
            "email.locale_default",
            format!("is {locale_default:?}: use one of {}", LOCALES.join(", ")),
        ));
    }
    let quiet_hours = match &email.quiet_hours {
        None => None,
        Some(q) => {
            let hours = QuietHours {
                start: time_of_day("email.quiet_hours.start", &q.start)?,
                end: time_of_day("email.quiet_hours.end", &q.end)?,
            };
            if hours.start == hours.end {
                return Err(problem("email.quiet_hours", "start and end are equal"));
            }
            Some(hours)
        }
    };
    let caps = Caps {
        per_contact: cap("email.cap.per_contact", email.cap.per_contact)?,
        per_account: cap("email.cap.per_account", email.cap.per_account)?,
    };
    let from = email.from.clone().map(|f| f.trim().to_owned()).filter(|f| !f.is_empty());
    if let Some(from) = &from {
        let address = from.rsplit_once('<').map_or(from.as_str(), |(_, rest)| rest.trim_end_matches('>'));
        if !crate::domain::playbook::plausible_email(address) || from.contains(['\r', '\n']) {
            return Err(problem("email.from", format!("is {from:?}: an address or \"Name <address>\"")));
        }
    }
    let email_settings = EmailSettings {
        from,
        locale_default,
        quiet_hours,
        caps,
        product_name: email
            .product_name
            .clone()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "our product".into()),
        configuration_set: email.configuration_set.clone().filter(|c| !c.trim().is_empty()),
        templates,
    };
    let mut seen = BTreeSet::new();
    let mut valid = Vec::new();
    for (i, section) in playbooks.iter().enumerate() {
        let at = format!("playbooks[{i}]");
        let name = section.name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(problem(format!("{at}.name"), format!("is {name:?}: letters, digits, - and _ only")));
        }
        if !seen.insert(name.to_owned()) {
            return Err(problem(format!("{at}.name"), format!("{name:?} is used twice")));
        }
        let trigger = trigger(&format!("{at}.trigger"), &section.trigger)?;
        let a = &section.audience;
        let audience = Audience {
            tiers: a
                .tiers
                .iter()
                .map(|t| {
                    parse_name::<Segment>(
                        &format!("{at}.audience.tiers"),
                        "tier",
                        t,
                        &names(<Segment as strum::IntoEnumIterator>::iter()),
                    )
                })
                .collect::<Result<_, _>>()?,
            lifecycle: a
                .lifecycle
                .iter()
                .map(|l| {
                    parse_name::<Lifecycle>(
                        &format!("{at}.audience.lifecycle"),
                        "stage",
                        l,
                        &names(<Lifecycle as strum::IntoEnumIterator>::iter()),
                    )
                })
                .collect::<Result<_, _>>()?,
            bands: a
                .bands
                .iter()
                .map(|b| {
                    parse_name::<Band>(
                        &format!("{at}.audience.bands"),
                        "band",
                        b,
                        &names(<Band as strum::IntoEnumIterator>::iter()),
                    )
                })
                .collect::<Result<_, _>>()?,
        };
        if section.actions.is_empty() {
            return Err(problem(format!("{at}.actions"), "is empty: a playbook does at least one thing"));
        }
        let mut actions = Vec::new();
        for (j, raw) in section.actions.iter().enumerate() {
            let field = format!("{at}.actions[{j}]");
            let parsed = action(&field, raw, &trigger)?;
            if let Action::Email { template, .. } = &parsed {
                template_exists(&format!("{field}.template"), template, &email_settings)?;
                if email_settings.from.is_none() {
                    return Err(problem("email.from", "is not set: playbooks send email (a verified SES identity)"));
                }
            }
            actions.push(parsed);
        }
        valid.push(Playbook { name: name.to_owned(), trigger, audience, actions, dry_run: section.dry_run });
    }
    Ok(PlaybookSettings { email: email_settings, playbooks: valid })
}

fn trigger(field: &str, raw: &BTreeMap<String, toml::Value>) -> Result<Trigger, Problem> {
    let known = "alert, lifecycle, renewal_window, days_since_start";
    let mut entries = raw.iter();
    let (Some((key, value)), None) = (entries.next(), entries.next()) else {
        return Err(problem(field, format!("must name exactly one of {known}")));
    };
    let field = format!("{field}.{key}");
    let text = || value.as_str().map(str::to_owned).ok_or_else(|| problem(&field, "must be a string"));
    let days = |range: std::ops::RangeInclusive<i64>| {
        value.as_integer().filter(|d| range.contains(d)).ok_or_else(|| {
            problem(&field, format!("must be a whole number of days from {} to {}", range.start(), range.end()))
        })
    };
    Ok(match key.as_str() {
        "alert" => Trigger::Alert(parse_name::<AlertKind>(&field, "alert kind", &text()?, &names(AlertKind::all()))?),
        "lifecycle" => Trigger::Lifecycle(parse_name::<Lifecycle>(
            &field,
            "stage",
            &text()?,
            &names(<Lifecycle as strum::IntoEnumIterator>::iter()),
        )?),
        "renewal_window" => Trigger::RenewalWindow(days(1..=365)?),
        "days_since_start" => Trigger::DaysSinceStart(days(0..=365)?),
        other => {
            return Err(problem(
                field.trim_end_matches(&format!(".{other}")),
                format!("has unknown trigger {other:?}: use one of {known}"),
            ))
        }
    })
}

fn action(field: &str, raw: &BTreeMap<String, toml::Value>, trigger: &Trigger) -> Result<Action, Problem> {
    let string = |key: &str| -> Result<Option<String>, Problem> {
        match raw.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.trim().to_owned()))
                .ok_or_else(|| problem(format!("{field}.{key}"), "must be a string")),
        }
    };
    let kind = string("type")?
        .ok_or_else(|| problem(format!("{field}.type"), "is missing: email, webhook, slack or crm_task"))?;
    let allowed: &[&str] = match kind.as_str() {
        "email" => &["type", "to", "template"],
        "webhook" => &["type", "url"],
        "slack" | "crm_task" => &["type"],
        other => {
            return Err(problem(
                format!("{field}.type"),
                format!("has unknown action {other:?}: use one of email, webhook, slack, crm_task"),
            ))
        }
    };
    if let Some(extra) = raw.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(problem(format!("{field}.{extra}"), format!("is not a field of a {kind} action")));
    }
    Ok(match kind.as_str() {
        "email" => {
            let to = string("to")?
                .ok_or_else(|| problem(format!("{field}.to"), "is missing: admin, billing, champion or all"))?;
            let to = match to.as_str() {
                "all" => Recipients::All,
                "admin" => Recipients::Role(Role::Admin),
                "billing" => Recipients::Role(Role::Billing),
                "champion" => Recipients::Role(Role::Champion),
                other => {
                    return Err(problem(
                        format!("{field}.to"),
                        format!("has unknown role {other:?}: use one of admin, billing, champion, all"),
                    ))
                }
            };
            let template = string("template")?.ok_or_else(|| problem(format!("{field}.template"), "is missing"))?;
            Action::Email { to, template }
        }
        "webhook" => {
            let url = string("url")?.ok_or_else(|| problem(format!("{field}.url"), "is missing"))?;
            if !(url.starts_with("https://") || url.starts_with("http://")) || reqwest::Url::parse(&url).is_err() {
                return Err(problem(format!("{field}.url"), format!("is {url:?}: an http(s) URL")));
            }
            Action::Webhook { url }
        }
        slack_or_task => {
            // The alert's own Slack note and CRM task: the dispatcher delivers them, once per
            // alert; a time-based trigger has no alert to deliver.
            if !matches!(trigger, Trigger::Alert(_)) {
                return Err(problem(
                    format!("{field}.type"),
                    format!("{slack_or_task} needs an alert trigger (it is the alert's note or task)"),
                ));
            }
            if slack_or_task == "slack" {
                Action::Slack
            } else {
                Action::CrmTask
            }
        }
    })
}

/// The template exists in every locale.
fn template_exists(field: &str, name: &str, email: &EmailSettings) -> Result<(), Problem> {
    for locale in LOCALES {
        if !email.templates.has(name, locale) {
            let shipped = templates::SHIPPED.join(", ");
            return Err(problem(
                field,
                format!("names {name:?}, which has no {locale} version: shipped are {shipped}"),
            ));
        }
    }
    Ok(())
}

impl PlaybookSettings {
    /// Every template compiles, and every template a playbook emails renders in every locale
    /// against a sample account; the error names the field (`email.templates.<name>.<locale>`,
    /// `playbooks[0].actions[1].template`).
    pub fn check_templates(&self) -> Result<(), Problem> {
        self.email.templates.check()?;
        for (i, playbook) in self.playbooks.iter().enumerate() {
            for (j, action) in playbook.actions.iter().enumerate() {
                if let Action::Email { template, .. } = action {
                    renders(&format!("playbooks[{i}].actions[{j}].template"), template, &self.email)?;
                }
            }
        }
        Ok(())
    }
}

/// The template renders in every locale against a sample account.
fn renders(field: &str, name: &str, email: &EmailSettings) -> Result<(), Problem> {
    let sample = sample_record();
    let contact = Contact {
        email: "admin@sample.example".into(),
        role: Role::Admin,
        locale: None,
        source: ContactSource::Analytics,
    };
    let context = templates::context(
        &sample,
        &contact,
        &email.product_name,
        "https://foresight.example/unsubscribe?token=sample",
        0,
    );
    for locale in LOCALES {
        email
            .templates
            .render(name, locale, &context)
            .map_err(|e| problem(field, format!("{name:?} does not render: {e}")))?;
    }
    Ok(())
}
