//! A link made by `POST /links` (and so by `foresight link`, which calls it) shows on the account
//! record for every source a person can name, in memory and on DynamoDB Local: tasks attach to
//! the CRM record and the health sync finds it.

use foresight_e2e::{start, RunnerStore};
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::testkit::dynamodb_local_store;
use std::sync::Arc;

async fn links_show_on_the_record<S: RunnerStore>(store: Arc<S>) {
    let runner = start(store, Some(foresight_e2e::SECRET)).await;
    let links = [
        ("stripe", "cus_linked", "stripe_customer_id"),
        ("zendesk", "9001", "zendesk_organization_id"),
        ("analytics", "grp_linked", "analytics_group_id"),
        ("hubspot", "4242", "hubspot_company_id"),
        ("salesforce", "001000000000042AAA", "salesforce_account_id"),
    ];
    for (source, external, _) in links {
        runner.link(source, external, "acct_linked").await;
    }
    // Linking again is harmless.
    runner.link("hubspot", "4242", "acct_linked").await;
    let (status, record) = runner.get("/accounts/acct_linked").await;
    assert_eq!(status, 200, "{record}");
    for (source, external, field) in links {
        assert_eq!(record["links"][field], external, "{source}: {record}");
    }
}

#[tokio::test]
async fn every_source_link_shows_on_the_record_in_memory() {
    links_show_on_the_record(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn every_source_link_shows_on_the_record_in_dynamodb() {
    links_show_on_the_record(Arc::new(dynamodb_local_store("record-links").await)).await;
}
