//! An event stored under a provisional id while a concurrent one links its external id: the
//! linking side merges after writing the link, the storing side re-reads the link after its
//! write. These tests put the storing side's link read just before the link is written (the
//! interleaving that used to leave a provisional record behind for good) and check that nothing
//! stays provisional.

use async_trait::async_trait;
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::ingest::identity::{self, provisional_account_id};
use foresight_shared::app::ingest::stripe::{StripeStores, StripeWebhook};
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::app::ingest::Arrival;
use foresight_shared::app::ports::store::{AccountStore, LinkSource, LinkStore, StoreError};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};

/// The store's links, except that the first read of one external id misses: the event read
/// before the concurrent link landed, and that link (with its merge) lands right after.
struct LinkedJustAfterRead<'a> {
    store: &'a MemoryStore,
    source: LinkSource,
    external: &'a str,
    account: &'a str,
    missed: AtomicBool,
}

impl<'a> LinkedJustAfterRead<'a> {
    /// `external` of `source` gets linked to `account` right after its first read.
    fn new(store: &'a MemoryStore, source: LinkSource, external: &'a str, account: &'a str) -> Self {
        LinkedJustAfterRead { store, source, external, account, missed: AtomicBool::new(false) }
    }
}

#[async_trait]
impl LinkStore for LinkedJustAfterRead<'_> {
    async fn resolve(&self, source: LinkSource, external_id: &str) -> Result<Option<String>, StoreError> {
        if source == self.source && external_id == self.external && !self.missed.swap(true, Ordering::SeqCst) {
            // The concurrent event links and merges now, before this one writes provisionally.
            identity::link_and_merge(self.store, self.store, self.source, self.external, self.account).await?;
            return Ok(None);
        }
        self.store.resolve(source, external_id).await
    }

    async fn link(&self, source: LinkSource, external_id: &str, account_id: &str) -> Result<(), StoreError> {
        self.store.link(source, external_id, account_id).await
    }
}

#[tokio::test]
async fn a_ticket_stored_while_its_organization_is_linked_joins_the_account() {
    let store = MemoryStore::default();
    let links = LinkedJustAfterRead::new(&store, LinkSource::Zendesk, "70047", "acct_initech");
    let ticket = json!({
        "id": 501, "status": "open", "priority": "urgent", "organization_id": 70047,
        "updated_at": "2026-11-20T10:00:00Z", "created_at": "2026-11-20T09:00:00Z",
    });
    let update = foresight_shared::sources::zendesk::export::parse_ticket(&ticket).expect("an exported ticket");
    let now = 1_795_000_000;
    let accepted =
        ZendeskWebhook::new(None).apply(&store, &links, update, Arrival::Delivery, now).await.expect("applied");

    let provisional = provisional_account_id(LinkSource::Zendesk, "70047");
    assert_eq!(store.get(&provisional).await.unwrap(), None, "no provisional record left behind");
    assert_eq!(accepted.account_id.as_deref(), Some("acct_initech"), "reported under the account it joined");
    let account = store.get("acct_initech").await.unwrap().expect("the account holds the ticket");
    assert!(
        account.attributes.keys().any(|name| name.contains("501")),
        "the ticket joined: {:?}",
        account.attributes.keys()
    );
}

#[tokio::test]
async fn a_stripe_event_stored_while_its_customer_is_linked_joins_the_account() {
    let store = MemoryStore::default();
    let links = LinkedJustAfterRead::new(&store, LinkSource::Stripe, "cus_globex", "acct_globex");
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events/stripe/14-globex-003-invoice-payment_failed.json");
    let body = std::fs::read(&sample).expect("the sample event");
    let webhook = StripeWebhook::new(None, "account_id");
    let update = webhook.parse_listed(&body).expect("a Stripe event");
    let stores = StripeStores { accounts: &store, links: &links, ledger: None };
    let accepted = webhook.apply(&stores, None, update, Arrival::Delivery, 1_795_000_100).await.expect("applied");

    assert_eq!(store.get("cus_globex").await.unwrap(), None, "no provisional record left behind");
    assert_eq!(accepted.account_id.as_deref(), Some("acct_globex"));
    assert!(store.get("acct_globex").await.unwrap().is_some(), "the account holds the failed payment");
}

#[tokio::test]
async fn a_users_usage_stored_while_a_group_call_links_them_joins_the_account() {
    let store = MemoryStore::default();
    // The concurrent batch's group call links the user to `acct_grouped` (the group id is the
    // product's account id) and merges what the user had.
    let links = LinkedJustAfterRead::new(&store, LinkSource::AnalyticsUser, "user_race", "acct_grouped");
    let batch = json!([{
        "type": "track", "event": "Report Exported", "userId": "user_race", "messageId": "m-race-1",
        "timestamp": "2026-11-20T10:00:00Z"
    }]);
    let body = serde_json::to_vec(&batch).unwrap();
    let messages = foresight_shared::sources::segment::parse(&body).expect("a batch");
    let config = foresight_shared::domain::usage::AnalyticsConfig::default();
    let marks = foresight_shared::app::ingest::analytics::ConnectionMarks::default();
    use foresight_shared::app::ingest::analytics::{ingest, UsageWrites};
    ingest(&store, &links, UsageWrites::Now(&store), &messages, &config, &marks, 1_795_000_000)
        .await
        .expect("ingested");

    let provisional = provisional_account_id(LinkSource::AnalyticsUser, "user_race");
    assert_eq!(store.get(&provisional).await.unwrap(), None, "no provisional record left behind");
    let account = store.get("acct_grouped").await.unwrap().expect("the account holds the usage");
    assert_eq!(account.usage.values().map(|day| day.message_ids.len()).sum::<usize>(), 1, "{account:?}");
}
