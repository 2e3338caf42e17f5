//! How an account item grows with the account's age, and what that does to the cost of every
//! write: a year of one account at the cost model's rate (100 billing and support events a
//! month, here 18 tickets each created, opened, solved, closed and rated, a paid invoice a
//! month and a failed one every fourth, an NPS answer a quarter), parsed by the real Zendesk
//! and Stripe normalisers and written to DynamoDB Local, once with the daily health sweep
//! (which drops what no window reads, `domain/retention.rs`) and once without any sweep (the
//! facts alone, as they would pile up without it). Prints the item's size by DynamoDB's rules
//! and the measured write units of the events of each month (`ReturnConsumedCapacity`).
//!
//! Run: `bash infra/bench.sh`, or `cargo bench -p foresight-shared --bench account_growth` with
//! the local stack's environment. The cost model's event write units come from the year's
//! steady state printed here.

use aws_sdk_dynamodb::types::AttributeValue;
use foresight_shared::adapters::dynamodb::store::{item_size, DynamoStore};
use foresight_shared::adapters::memory::{MemoryOutbox, MemoryQueue};
use foresight_shared::app::health_sweep::{sweep_account, SweepPorts};
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account::attr;
use foresight_shared::domain::change::AccountChange;
use foresight_shared::domain::survey::SurveyResponse;
use foresight_shared::domain::time::{self, DAY};
use foresight_shared::sources::{stripe, zendesk};
use serde_json::{json, Value};

const ACCOUNT: &str = "acct_growth";
/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600;
/// The cost model's rate: 18 tickets of 5 events, and the billing events, make 88 to 90 events
/// a month.
const TICKETS_A_MONTH: i64 = 18;

fn sample(path: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(path);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

struct Samples {
    status_changed: Value,
    rated: Value,
    paid: Value,
    failed: Value,
}

impl Samples {
    fn load() -> Samples {
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
}

/// The account's events of `day` (days since [`START`]).
fn events_of(samples: &Samples, day: i64, tickets_a_month: i64) -> Vec<AccountChange> {
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
                events.push(samples.ticket(id, status, created, at));
            }
        }
        if (created + DAY + 3600 - START).div_euclid(DAY) == day {
            events.push(samples.rating(id, created, created + DAY + 3600));
        }
    }
    if day % 30 == 3 {
        let month = day / 30;
        let invoice = format!("in_growth_{month:02}");
        if month % 4 == 3 {
            events.push(samples.invoice(false, &invoice, t));
            events.push(samples.invoice(true, &invoice, t + 3 * DAY));
        } else {
            events.push(samples.invoice(true, &invoice, t));
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
    events
}

async fn item_bytes(store: &DynamoStore) -> u64 {
    let client = foresight_shared::testkit::dynamodb_local_client().await;
    let item = client
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("ACCOUNT#{ACCOUNT}")))
        .key("sk", AttributeValue::S("ACCOUNT".into()))
        .send()
        .await
        .unwrap();
    item.item().map(item_size).unwrap_or(0)
}

/// One year; at the end of each month: (item bytes, event WCU per event that month, events).
async fn year(sweeps: bool, tickets_a_month: i64) -> Vec<(u64, f64, u64)> {
    let samples = Samples::load();
    let store =
        foresight_shared::testkit::dynamodb_local_store(&format!("bench-growth-{sweeps}-{tickets_a_month}")).await;
    let meter = store.meter();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let ports = SweepPorts {
        scanner: &store,
        accounts: &store,
        outbox: &outbox,
        notifications: &queue,
        progress: &outbox,
        sources: &store,
    };
    let settings = Settings::default();
    let mut months = Vec::new();
    let (mut units, mut events) = (0.0, 0_u64);
    for day in 0..360 {
        for mut change in events_of(&samples, day, tickets_a_month) {
            change.account_id = ACCOUNT.into();
            let before = meter.reading().write_units;
            store.apply(&change).await.unwrap();
            units += meter.reading().write_units - before;
            events += 1;
        }
        if let (true, Some(stored)) = (sweeps, store.get(ACCOUNT).await.unwrap()) {
            sweep_account(&stored, &ports, &settings, None, START + day * DAY + 12 * 3600).await.unwrap();
        }
        if day % 30 == 29 {
            months.push((item_bytes(&store).await, units / events.max(1) as f64, events));
            (units, events) = (0.0, 0);
        }
    }
    months
}

fn main() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("needs DynamoDB Local: run `bash infra/bench.sh`, which starts it.");
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let swept = runtime.block_on(year(true, TICKETS_A_MONTH));
    let unswept = runtime.block_on(year(false, TICKETS_A_MONTH));
    let quiet = runtime.block_on(year(true, 0));
    println!(
        "account item over a year at the cost model's rate ({TICKETS_A_MONTH} tickets a month with 5 events each, \
         invoices, NPS), by the end of each month:"
    );
    println!("  month  events  with the daily sweep: item bytes, WCU an event  |  facts alone, no sweep: item bytes, WCU an event");
    for (m, ((bytes, wcu, events), (raw_bytes, raw_wcu, _))) in swept.iter().zip(&unswept).enumerate() {
        println!("  {:>5}  {events:>6}  {bytes:>26}  {wcu:>12.2}  |  {raw_bytes:>31}  {raw_wcu:>12.2}", m + 1);
    }
    let steady = &swept[swept.len() - 3..];
    let wcu = steady.iter().map(|(_, w, _)| w).sum::<f64>() / steady.len() as f64;
    let bytes = steady.iter().map(|(b, _, _)| *b).max().unwrap_or(0);
    let (raw_bytes, raw_wcu, _) = unswept[unswept.len() - 1];
    println!("  steady state (months 10-12, daily sweep): {bytes} bytes at most, {wcu:.2} WCU an event; without: {raw_bytes} bytes, {raw_wcu:.2} WCU by month 12");
    let (quiet_bytes, quiet_wcu, quiet_events) = quiet[quiet.len() - 1];
    println!(
        "  an account with no tickets (its billing events and NPS only, {quiet_events} in month 12), daily sweep: \
         {quiet_bytes} bytes, {quiet_wcu:.2} WCU an event"
    );
    println!(
        "{{\"impl\":\"foresight-account-growth-quiet\",\"item_bytes\":{quiet_bytes},\"wcu_per_event\":{quiet_wcu:.3}}}"
    );
    println!(
        "{{\"impl\":\"foresight-account-growth\",\"steady_item_bytes\":{bytes},\"steady_wcu_per_event\":{wcu:.3},\"unswept_item_bytes_month_12\":{raw_bytes},\"unswept_wcu_per_event_month_12\":{raw_wcu:.3}}}"
    );
}
