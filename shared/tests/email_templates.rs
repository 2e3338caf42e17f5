//! Golden renders: every shipped email template in English and Japanese, rendered against a real
//! account record (the sample week's Acme: its Stripe customer and subscription events, parsed
//! and stored as ingest does), compared with `tests/golden/email/`. A change to a template shows
//! up as a diff here; `UPDATE_GOLDEN=1` rewrites the files after a deliberate change.

use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::playbooks::templates::{self, LOCALES, SHIPPED};
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::playbook::{Contact, ContactSource, Role};
use foresight_shared::sources::stripe::parse_event;
use std::path::Path;

async fn acme() -> foresight_shared::domain::AccountRecord {
    let store = MemoryStore::new();
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/stripe");
    for file in ["01-acme-001-customer-created.json", "02-acme-002-customer-subscription-created.json"] {
        let update = parse_event(&std::fs::read(events.join(file)).unwrap(), "account_id").unwrap();
        let mut change = update.change.expect("a change");
        change.account_id = "acct_acme".into();
        store.apply(&change).await.unwrap();
    }
    let stored = store.get("acct_acme").await.unwrap().expect("stored");
    let record = Settings::default().record(&stored, 1_795_000_000);
    assert_eq!(record.name.as_deref(), Some("Acme Corp"), "a real record");
    assert!(record.billing.mrr > 0);
    record
}

#[tokio::test]
async fn every_shipped_template_renders_in_both_locales_as_the_golden_files() {
    let record = acme().await;
    let contact =
        Contact { email: "ana@acme.example".into(), role: Role::Admin, locale: None, source: ContactSource::Analytics };
    let settings = Settings::default();
    let email = &settings.playbooks.email;
    let context = templates::context(
        &record,
        &contact,
        "Acme Analytics",
        "https://fs.example/unsubscribe?token=t.s",
        1_795_000_000,
    );
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/email");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut compared = 0;
    for name in SHIPPED {
        for locale in LOCALES {
            let rendered = email.templates.render(name, locale, &context).unwrap();
            let text = format!("Subject: {}\n\n{}", rendered.subject, rendered.text);
            for (ext, body) in [("txt", text), ("html", rendered.html.clone())] {
                assert!(
                    body.contains("https://fs.example/unsubscribe?token=t.s"),
                    "{name}.{locale}.{ext} links unsubscribe"
                );
                assert!(body.contains("Acme Corp"), "{name}.{locale}.{ext} names the account");
                let file = golden.join(format!("{name}.{locale}.{ext}"));
                if update {
                    std::fs::write(&file, &body).unwrap();
                }
                let expected = std::fs::read_to_string(&file)
                    .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1 once", file.display()));
                assert_eq!(body, expected, "{name}.{locale}.{ext} differs from its golden file");
                compared += 1;
            }
            if locale == "ja" {
                assert!(!rendered.subject.is_ascii(), "{name}: the Japanese subject is Japanese");
            }
        }
    }
    assert_eq!(compared, SHIPPED.len() * LOCALES.len() * 2);
}

#[test]
fn html_parts_escape_account_facts() {
    let mut record = foresight_shared::domain::AccountRecord::from_stored(&Default::default(), 0);
    record.name = Some("<script>x</script>".into());
    let contact =
        Contact { email: "a@b.example".into(), role: Role::Admin, locale: None, source: ContactSource::Analytics };
    let context = templates::context(&record, &contact, "P", "https://u.example/x", 0);
    let rendered = Settings::default().playbooks.email.templates.render("welcome", "en", &context).unwrap();
    assert!(rendered.html.contains("&lt;script&gt;") && !rendered.html.contains("<script>"));
    assert!(rendered.subject.contains("<script>"), "the subject is text, encoded by the MIME layer");
}
