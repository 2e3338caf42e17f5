//! Against DynamoDB Local: an account item stops growing once the daily sweep drops what no
//! window reads (`domain/retention.rs`), and without the sweep the same events pile up. The
//! figures of a whole year are the benchmark's (`cargo bench --bench account_growth`).

use foresight_shared::testkit::account_life::{live, TICKETS_A_MONTH};

#[tokio::test]
async fn the_item_of_a_busy_account_stops_growing() {
    let swept =
        live(&foresight_shared::testkit::dynamodb_local_store("growth-swept").await, 5, TICKETS_A_MONTH, true).await;
    let piled =
        live(&foresight_shared::testkit::dynamodb_local_store("growth-piled").await, 5, TICKETS_A_MONTH, false).await;
    let bytes: Vec<u64> = swept.iter().map(|m| m.item_bytes).collect();
    // From the third month on (the support window and the settled invoices' 90 days are
    // full), the item stays within a ticket or two of its size.
    assert!(bytes[4] <= bytes[2] + 250, "the swept item keeps growing: {bytes:?}");
    assert!(bytes[4] < 5 * 1024, "{bytes:?}");
    assert!(swept[4].wcu_per_event <= 5.0, "{:?}", swept[4]);
    // The same events without the sweep: each month adds its tickets and ratings.
    let piled_bytes: Vec<u64> = piled.iter().map(|m| m.item_bytes).collect();
    assert!(
        piled_bytes[4] > 2 * bytes[4] && piled_bytes[4] > piled_bytes[2] + 4000,
        "{piled_bytes:?} against {bytes:?}"
    );
}
