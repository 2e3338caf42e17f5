//! Email templates: the shipped ones (`shared/templates/email/<name>.<locale>.txt|html`, each in
//! English and Japanese) and any `[email.templates]` adds, rendered with minijinja against the
//! account's facts. The text part's first line is `Subject: …`; the HTML part is auto-escaped.
//! Undefined variables are errors (strict), so a typo in a template stops the runner and the
//! playbooks function at start (every template a playbook uses is rendered against a sample
//! account then: [`super::settings::PlaybookSettings::check_templates`]).
//!
//! The templates compile on first use, not when `foresight.toml` is read: every function reads
//! the same settings, and only the ones that render (the playbooks function, the runner) then
//! carry the template engine in their binary.

use crate::domain::account::AccountRecord;
use crate::domain::lifecycle;
use crate::domain::money;
use crate::domain::playbook::{band_of, Contact};
use crate::domain::time::{self, DAY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// The locales every shipped template exists in.
pub const LOCALES: [&str; 2] = ["en", "ja"];

/// The shipped templates.
pub const SHIPPED: [&str; 5] = ["welcome", "stalled_onboarding", "usage_drop", "renewal_reminder", "payment_failed"];

const SHIPPED_SOURCES: &[(&str, &str)] = &[
    ("welcome.en.txt", include_str!("../../../templates/email/welcome.en.txt")),
    ("welcome.en.html", include_str!("../../../templates/email/welcome.en.html")),
    ("welcome.ja.txt", include_str!("../../../templates/email/welcome.ja.txt")),
    ("welcome.ja.html", include_str!("../../../templates/email/welcome.ja.html")),
    ("stalled_onboarding.en.txt", include_str!("../../../templates/email/stalled_onboarding.en.txt")),
    ("stalled_onboarding.en.html", include_str!("../../../templates/email/stalled_onboarding.en.html")),
    ("stalled_onboarding.ja.txt", include_str!("../../../templates/email/stalled_onboarding.ja.txt")),
    ("stalled_onboarding.ja.html", include_str!("../../../templates/email/stalled_onboarding.ja.html")),
    ("usage_drop.en.txt", include_str!("../../../templates/email/usage_drop.en.txt")),
    ("usage_drop.en.html", include_str!("../../../templates/email/usage_drop.en.html")),
    ("usage_drop.ja.txt", include_str!("../../../templates/email/usage_drop.ja.txt")),
    ("usage_drop.ja.html", include_str!("../../../templates/email/usage_drop.ja.html")),
    ("renewal_reminder.en.txt", include_str!("../../../templates/email/renewal_reminder.en.txt")),
    ("renewal_reminder.en.html", include_str!("../../../templates/email/renewal_reminder.en.html")),
    ("renewal_reminder.ja.txt", include_str!("../../../templates/email/renewal_reminder.ja.txt")),
    ("renewal_reminder.ja.html", include_str!("../../../templates/email/renewal_reminder.ja.html")),
    ("payment_failed.en.txt", include_str!("../../../templates/email/payment_failed.en.txt")),
    ("payment_failed.en.html", include_str!("../../../templates/email/payment_failed.en.html")),
    ("payment_failed.ja.txt", include_str!("../../../templates/email/payment_failed.ja.txt")),
    ("payment_failed.ja.html", include_str!("../../../templates/email/payment_failed.ja.html")),
];

/// A template given in `foresight.toml` for one locale (`[email.templates.<name>.<locale>]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomTemplate {
    /// `Subject: …` on the first line, a blank line, then the body.
    pub text: String,
    pub html: String,
}

/// One rendered email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A template that does not compile: the field that names it and why.
type CompileError = (String, String);

/// The template set, compiled once, on first use.
#[derive(Clone)]
pub struct EmailTemplates {
    sources: BTreeMap<String, String>,
    compiled: Arc<OnceLock<Result<minijinja::Environment<'static>, CompileError>>>,
}

impl std::fmt::Debug for EmailTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailTemplates").field("templates", &self.sources.keys().collect::<Vec<_>>()).finish()
    }
}

impl PartialEq for EmailTemplates {
    fn eq(&self, other: &Self) -> bool {
        self.sources == other.sources
    }
}

impl Default for EmailTemplates {
    fn default() -> Self {
        EmailTemplates::new(&BTreeMap::new())
    }
}

impl EmailTemplates {
    /// The shipped templates plus `custom` (which may replace a shipped one), not compiled yet.
    pub fn new(custom: &BTreeMap<String, BTreeMap<String, CustomTemplate>>) -> Self {
        let mut sources: BTreeMap<String, String> =
            SHIPPED_SOURCES.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect();
        for (name, locales) in custom {
            for (locale, template) in locales {
                sources.insert(format!("{name}.{locale}.txt"), template.text.clone());
                sources.insert(format!("{name}.{locale}.html"), template.html.clone());
            }
        }
        EmailTemplates { sources, compiled: Arc::new(OnceLock::new()) }
    }

    /// The compiled set: a template that does not compile is an error naming it
    /// (`email.templates.<name>.<locale>`).
    fn compiled(&self) -> &Result<minijinja::Environment<'static>, CompileError> {
        self.compiled.get_or_init(|| {
            let mut env = minijinja::Environment::new();
            env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
            for (file, source) in &self.sources {
                env.add_template_owned(file.clone(), source.clone()).map_err(|e| {
                    let (name, locale) = split_file(file);
                    (format!("email.templates.{name}.{locale}"), e.to_string())
                })?;
            }
            Ok(env)
        })
    }

    /// Whether every template compiles; the error names the first that does not.
    pub fn check(&self) -> Result<(), CompileError> {
        self.compiled().as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// Whether `name` exists in `locale` (both parts).
    pub fn has(&self, name: &str, locale: &str) -> bool {
        self.sources.contains_key(&format!("{name}.{locale}.txt"))
            && self.sources.contains_key(&format!("{name}.{locale}.html"))
    }

    /// Renders `name` in `locale` with `context` (see [`context`]).
    pub fn render(&self, name: &str, locale: &str, context: &Value) -> Result<RenderedEmail, String> {
        let env = self.compiled().as_ref().map_err(|(field, e)| format!("{field}: {e}"))?;
        let part = |ext: &str| {
            let file = format!("{name}.{locale}.{ext}");
            let template = env.get_template(&file).map_err(|e| format!("{file}: {e}"))?;
            template.render(context).map_err(|e| format!("{file}: {e:#}"))
        };
        let text = part("txt")?;
        let html = part("html")?;
        let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first
            .strip_prefix("Subject:")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("{name}.{locale}.txt: the first line must be `Subject: …`"))?;
        Ok(RenderedEmail { subject: one_line(&subject), text: body.trim_start_matches('\n').to_owned(), html })
    }
}

fn split_file(file: &str) -> (&str, &str) {
    let mut parts = file.rsplitn(3, '.');
    let _ext = parts.next();
    let locale = parts.next().unwrap_or("");
    (parts.next().unwrap_or(file), locale)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a template sees: `account` (name, id, tier, lifecycle, band, started_on,
/// days_since_start, renewal_on, mrr formatted, failed_payments, active_users_7d), `contact`
/// (email, role), `product` and `unsubscribe_url`.
pub fn context(record: &AccountRecord, contact: &Contact, product: &str, unsubscribe_url: &str, now: i64) -> Value {
    let start = lifecycle::started_at(&record.billing);
    json!({
        "account": {
            "account_id": record.account_id,
            "name": record.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| record.account_id.clone()),
            "segment": record.segment.to_string(),
            "lifecycle": record.lifecycle.to_string(),
            "band": band_of(record).map(|b| b.to_string()).unwrap_or_default(),
            "started_on": start.map(time::day_key).unwrap_or_default(),
            "days_since_start": start.map(|s| (now - s).div_euclid(DAY)).unwrap_or(0),
            "renewal_on": record.billing.renewal_at.map(|t| time::day_key(t.timestamp())).unwrap_or_default(),
            "mrr": money::format(record.billing.mrr, record.billing.currency.as_deref()),
            "failed_payments": record.billing.failed_payments,
            "active_users_7d": record.usage.active_users_7d,
        },
        "contact": {"email": contact.email, "role": contact.role.to_string()},
        "product": product,
        "unsubscribe_url": unsubscribe_url,
    })
}
