//! One account's life at the cost model's rate, for the test and the benchmark of how its item
//! grows: each month 18 tickets (created, opened, solved, rated, closed by Zendesk four days
//! after they were solved), a paid invoice (a failed one first every fourth month) and an NPS
//! answer a quarter, parsed by the real Zendesk and Stripe normalisers from the sample events
//! and written to a store; optionally swept every day at noon (the sweep drops what no window
//! reads, `domain/retention.rs`).

use crate::adapters::dynamodb::store::item_size;
use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::memory::{MemoryOutbox, MemoryQueue};
use crate::app::health_sweep::sweep_account;
use crate::app::ports::store::AccountStore;
use crate::app::settings::Settings;
use crate::domain::account::attr;
use crate::domain::change::AccountChange;
use crate::domain::survey::SurveyResponse;
use crate::domain::time::{self, DAY};
use crate::sources::{stripe, zendesk};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

pub const ACCOUNT: &str = "acct_life";
/// 2026-01-01T00:00:00Z.
pub const START: i64 = 1_767_225_600;
/// The cost model's rate: 18 tickets of 5 events, and the billing events, make 88 to 90 events
/// a month.
pub const TICKETS_A_MONTH: i64 = 18;

/// The end of a month of the account's life (30 days).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonthEnd {
    /// The account item's size by DynamoDB's rules.
    pub item_bytes: u64,
    /// Write units the month's events were billed, per event (`ReturnConsumedCapacity`).
    pub wcu_per_event: f64,
    pub events: u64,
}

fn sample(path: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(path);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The sample events the account's events are made from.
pub struct Samples {
    status_changed: Value,
    rated: Value,
    paid: Value,
    failed: Value,
}

impl Samples {
    pub fn load() -> Samples {
        Samples {
            status_changed: sample("zendesk/04-acme-event-ticket-101-solved.json"),
            rated: sample("zendesk/05-acme-trigger-ticket-101-rated-good.json"),
            paid: sample("stripe/03-acme-003-invoice-paid.json"),
            failed: sample("stripe/14-globex-003-invoice-payment_failed.json"),
        }
    }

    /// A ticket's status change as Zendesk's event subscription sends it.
    fn ticket(&self, id: i64, status: &str, created: i64, at: i64) -> AccountChange {
        let mut body = self.status_changed.clone();
        body["id"] = json!(format!("01JG{id:08}{status}{at}"));
        body["time"] = json!(time::rfc3339(at));
        body["detail"]["id"] = json!(id.to_string());
        body["detail"]["status"] = json!(status.to_uppercase());
        body["detail"]["priority"] = json!("NORMAL");
        body["detail"]["created_at"] = json!(time::rfc3339(created));
        body["detail"]["updated_at"] = json!(time::rfc3339(at));
        let update = zendesk::parse(&serde_json::to_vec(&body).unwrap(), None, at).unwrap();
        update.change.unwrap()
    }

    /// A rating as a Zendesk trigger sends it.
    fn rating(&self, id: i64, created: i64, at: i64) -> AccountChange {
        let mut body = self.rated.clone();
        body["ticket_id"] = json!(id.to_string());
        body["priority"] = json!("normal");
        body["created_at"] = json!(time::rfc3339(created));
        body["updated_at"] = json!(time::rfc3339(at));
        let update = zendesk::parse(&serde_json::to_vec(&body).unwrap(), Some(&format!("inv-{id}")), at).unwrap();
        update.change.unwrap()
    }

    fn invoice(&self, paid: bool, invoice: &str, at: i64) -> AccountChange {
        let mut body = if paid { self.paid.clone() } else { self.failed.clone() };
        body["id"] = json!(format!("evt_{invoice}_{at}"));
        body["created"] = json!(at);
        body["data"]["object"]["id"] = json!(invoice);
        stripe::parse_event(&serde_json::to_vec(&body).unwrap(), "account_id").unwrap().change.unwrap()
    }

    /// The account's events of `day` (days since [`START`]), each for [`ACCOUNT`].
    pub fn events_of(&self, day: i64, tickets_a_month: i64) -> Vec<AccountChange> {
        let t = START + day * DAY + 9 * 3600;
        let mut events = Vec::new();
        // Tickets spread over the month; each is opened an hour after it is created, solved the
        // next day, rated, and closed by Zendesk four days after it was solved.
        for n in 0..tickets_a_month {
            let id = 1000 + (day / 30) * tickets_a_month + n;
            let created = START + ((day / 30) * 30 + n * 30 / tickets_a_month) * DAY + 9 * 3600;
            let steps =
                [("new", created), ("open", created + 3600), ("solved", created + DAY), ("closed", created + 5 * DAY)];
            for (status, at) in steps {
                if (at - START).div_euclid(DAY) == day {
                    events.push(self.ticket(id, status, created, at));
                }
            }
            if (created + DAY + 3600 - START).div_euclid(DAY) == day {
                events.push(self.rating(id, created, created + DAY + 3600));
            }
        }
        if day % 30 == 3 {
            let month = day / 30;
            let invoice = format!("in_life_{month:02}");
            if month % 4 == 3 {
                events.push(self.invoice(false, &invoice, t));
                events.push(self.invoice(true, &invoice, t + 3 * DAY));
            } else {
                events.push(self.invoice(true, &invoice, t));
            }
        }
        if day % 90 == 45 {
            let answer = SurveyResponse {
                at: t,
                score: 8,
                comment: Some("Good, but the export is slow".into()),
                via: "typeform".into(),
                form: Some("nps-q".into()),
            };
            let name = format!("{}tf-{day:08x}", attr::SURVEY_RESPONSE);
            events.push(AccountChange::new("").with_fact(name, serde_json::to_value(answer).unwrap()));
        }
        for change in &mut events {
            change.account_id = ACCOUNT.into();
        }
        events
    }
}

/// [`ACCOUNT`]'s item as DynamoDB sizes it (0 when there is none).
pub async fn item_bytes(store: &DynamoStore) -> u64 {
    let item = super::dynamodb_local_client()
        .await
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("ACCOUNT#{ACCOUNT}")))
        .key("sk", AttributeValue::S("ACCOUNT".into()))
        .send()
        .await
        .expect("DynamoDB Local answers GetItem");
    item.item().map(item_size).unwrap_or(0)
}

/// `months` months of the account's life in `store`, swept daily when `sweeps`: the end of
/// each month.
pub async fn live(store: &DynamoStore, months: i64, tickets_a_month: i64, sweeps: bool) -> Vec<MonthEnd> {
    let samples = Samples::load();
    let meter = store.meter();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let ports = super::sweep_ports(store, &outbox, &queue);
    let settings = Settings::default();
    let mut ends = Vec::new();
    let (mut units, mut events) = (0.0, 0_u64);
    for day in 0..months * 30 {
        for change in samples.events_of(day, tickets_a_month) {
            let before = meter.reading().write_units;
            store.apply(&change).await.expect("DynamoDB Local applies the change");
            units += meter.reading().write_units - before;
            events += 1;
        }
        if let (true, Some(stored)) = (sweeps, store.get(ACCOUNT).await.expect("DynamoDB Local reads")) {
            sweep_account(&stored, &ports, &settings, None, START + day * DAY + 12 * 3600)
                .await
                .expect("the sweep writes to DynamoDB Local");
        }
        if day % 30 == 29 {
            ends.push(MonthEnd {
                item_bytes: item_bytes(store).await,
                wcu_per_event: units / events.max(1) as f64,
                events,
            });
            (units, events) = (0.0, 0);
        }
    }
    ends
}
