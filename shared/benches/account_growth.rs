//! How an account item grows with the account's age, and what that does to the cost of every
//! write: a year of one account at the cost model's rate (`testkit::account_life`: about 90
//! billing and support events a month, mostly tickets, parsed by the real Zendesk and Stripe
//! normalisers) written to DynamoDB Local, once with the daily health sweep (which drops what
//! no window reads, `domain/retention.rs`) and once without any sweep (the facts alone, as
//! they would pile up without it); and an account with no tickets. Prints the item's size by
//! DynamoDB's rules and the measured write units of the events of each month
//! (`ReturnConsumedCapacity`).
//!
//! Run: `bash infra/bench.sh`, or `cargo bench -p foresight-shared --bench account_growth` with
//! the local stack's environment. The cost model's event write units come from the year's
//! steady state printed here.

use foresight_shared::testkit::account_life::{live, MonthEnd, TICKETS_A_MONTH};

fn year(sweeps: bool, tickets_a_month: i64) -> Vec<MonthEnd> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let name = format!("bench-growth-{sweeps}-{tickets_a_month}");
        let store = foresight_shared::testkit::dynamodb_local_store(&name).await;
        live(&store, 12, tickets_a_month, sweeps).await
    })
}

fn main() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("needs DynamoDB Local: run `bash infra/bench.sh`, which starts it.");
        std::process::exit(1);
    }
    let swept = year(true, TICKETS_A_MONTH);
    let unswept = year(false, TICKETS_A_MONTH);
    let quiet = year(true, 0);
    println!(
        "account item over a year at the cost model's rate ({TICKETS_A_MONTH} tickets a month with 5 events each, \
         invoices, NPS), by the end of each month:"
    );
    println!("  month  events  with the daily sweep: item bytes, WCU an event  |  facts alone, no sweep: item bytes, WCU an event");
    for (m, (a, b)) in swept.iter().zip(&unswept).enumerate() {
        println!(
            "  {:>5}  {:>6}  {:>26}  {:>12.2}  |  {:>31}  {:>12.2}",
            m + 1,
            a.events,
            a.item_bytes,
            a.wcu_per_event,
            b.item_bytes,
            b.wcu_per_event
        );
    }
    let steady = &swept[swept.len() - 3..];
    let wcu = steady.iter().map(|m| m.wcu_per_event).sum::<f64>() / steady.len() as f64;
    let bytes = steady.iter().map(|m| m.item_bytes).max().unwrap_or(0);
    let raw = unswept[unswept.len() - 1];
    println!(
        "  steady state (months 10-12, daily sweep): {bytes} bytes at most, {wcu:.2} WCU an event; \
         without: {} bytes, {:.2} WCU by month 12",
        raw.item_bytes, raw.wcu_per_event
    );
    let q = quiet[quiet.len() - 1];
    println!(
        "  an account with no tickets (its billing events and NPS only, {} in month 12), daily sweep: {} bytes, {:.2} WCU an event",
        q.events, q.item_bytes, q.wcu_per_event
    );
    println!(
        "{{\"impl\":\"foresight-account-growth-quiet\",\"item_bytes\":{},\"wcu_per_event\":{:.3}}}",
        q.item_bytes, q.wcu_per_event
    );
    println!(
        "{{\"impl\":\"foresight-account-growth\",\"steady_item_bytes\":{bytes},\"steady_wcu_per_event\":{wcu:.3},\"unswept_item_bytes_month_12\":{},\"unswept_wcu_per_event_month_12\":{:.3}}}",
        raw.item_bytes, raw.wcu_per_event
    );
}
