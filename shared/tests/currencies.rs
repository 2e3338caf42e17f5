//! Every text that shows money uses the currency's own minor unit (`domain::money`): a yen
//! account (zero decimals) and a Kuwaiti dinar account (three decimals) read the same amount in
//! the Slack message's fields, the renewal headline and the CRM task.

use foresight_shared::adapters::slack;
use foresight_shared::app::dispatch::task::crm_task;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account::{AccountRecord, StoredAccount};
use foresight_shared::domain::alert::{self, AlertKind, HealthFacts};
use foresight_shared::domain::health::Band;
use foresight_shared::domain::renewal::renewal_signal;
use foresight_shared::domain::time::{self, DAY};
use serde_json::{json, Value};

/// 2026-11-20T12:00:00Z.
const NOW: i64 = 1_795_176_000;

/// An account on a yearly plan renewing in 30 days, billed `mrr` minor units a month.
fn account(currency: &str, mrr: i64) -> AccountRecord {
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert(
        "sub#sub_1".to_owned(),
        json!({"id": "sub_1", "status": "active", "mrr": mrr, "quantity": 1, "currency": currency,
               "interval": "year", "renewal_at": NOW + 30 * DAY, "v": format!("{:012}#evt_1", NOW - 300 * DAY)}),
    );
    attributes.insert("customer".to_owned(), json!({"name": "Kaisha", "v": format!("{:012}#evt_c", NOW - 300 * DAY)}));
    Settings::default().record(&StoredAccount { account_id: "acct_1".into(), attributes, ..Default::default() }, NOW)
}

fn field<'a>(blocks: &'a [Value], label: &str) -> &'a str {
    blocks
        .iter()
        .filter_map(|b| b["fields"].as_array())
        .flatten()
        .filter_map(|f| f["text"].as_str())
        .find(|t| t.starts_with(&format!("*{label}*")))
        .unwrap_or_else(|| panic!("no {label} field in {blocks:?}"))
}

#[test]
fn yen_and_dinar_amounts_read_the_same_everywhere() {
    for (currency, mrr, shown) in
        [("jpy", 50_000, "50,000 JPY"), ("kwd", 12_345, "12.345 KWD"), ("usd", 400_000, "4,000.00 USD")]
    {
        let record = account(currency, mrr);
        let health = HealthFacts { score: Some(82), band: Some(Band::Green), change_7d: None, reasons: vec![] };

        let renewal =
            renewal_signal(&record, &health, &Settings::default().renewal, NOW).expect("in the 30-day window");
        assert!(renewal.signal.headline.contains(&format!("MRR {shown}")), "{}", renewal.signal.headline);

        let built = alert::alert(&record, &renewal.signal, &health, &Settings::default().alerts, "renewal-sweep", NOW);
        assert_eq!(built.kind, AlertKind::Renewal);
        let message = slack::message(&built);
        assert_eq!(field(&message.blocks, "MRR"), format!("*MRR*\n{shown}"), "{currency}");

        let task = crm_task(&built, time::date(NOW + 2 * DAY));
        assert!(task.body.contains(&format!("MRR: {shown}\n")), "{}", task.body);
    }
}
