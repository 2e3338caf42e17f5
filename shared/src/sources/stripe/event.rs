//! The parts of Stripe's event and object shapes that Foresight reads. Every field is optional
//! or defaulted so that both the current API shape (period dates on subscription items,
//! `invoice.parent.subscription_details`) and older ones (period dates and `plan` on the
//! subscription, `invoice.subscription`) parse, and unknown fields are ignored.

use crate::domain::billing::SubscriptionStatus;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

/// The event envelope; `data.object` is kept raw and parsed once the type is known.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// Absent on `invoice.upcoming`'s object, never on the event itself.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(borrow)]
    pub data: EventData<'a>,
}

#[derive(Debug, Deserialize)]
pub struct EventData<'a> {
    #[serde(borrow)]
    pub object: &'a RawValue,
    #[serde(default, borrow)]
    pub previous_attributes: Option<&'a RawValue>,
}

pub type Metadata = Option<BTreeMap<String, Value>>;

/// An expandable reference: an id, or the object itself when expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub deleted: Option<bool>,
    #[serde(default)]
    pub delinquent: Option<bool>,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub customer: Option<Expandable>,
    pub status: SubscriptionStatus,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub items: Option<List<SubscriptionItem>>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub cancel_at_period_end: Option<bool>,
    #[serde(default)]
    pub cancel_at: Option<i64>,
    #[serde(default)]
    pub canceled_at: Option<i64>,
    #[serde(default)]
    pub trial_end: Option<i64>,
    #[serde(default)]
    pub start_date: Option<i64>,
    /// Current API: a list of discount ids, or objects when expanded.
    #[serde(default)]
    pub discounts: Option<Vec<DiscountRef>>,
    /// Older API versions: the single active discount.
    #[serde(default)]
    pub discount: Option<DiscountObject>,
    /// Older API versions: period dates on the subscription.
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub current_period_start: Option<i64>,
    /// Older API versions: single-plan subscriptions.
    #[serde(default)]
    pub plan: Option<Plan>,
    #[serde(default)]
    pub quantity: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct SubscriptionItem {
    #[serde(default)]
    pub price: Option<Price>,
    #[serde(default)]
    pub plan: Option<Plan>,
    #[serde(default)]
    pub quantity: Option<u64>,
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub current_period_start: Option<i64>,
    #[serde(default)]
    pub discounts: Option<Vec<DiscountRef>>,
}

#[derive(Debug, Deserialize)]
pub struct Recurring {
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub interval_count: Option<u32>,
    #[serde(default)]
    pub usage_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TransformQuantity {
    pub divide_by: u64,
    #[serde(default)]
    pub round: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Price {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub lookup_key: Option<String>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub unit_amount_decimal: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub recurring: Option<Recurring>,
    #[serde(default)]
    pub transform_quantity: Option<TransformQuantity>,
}

#[derive(Debug, Deserialize)]
pub struct Plan {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub amount_decimal: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub interval_count: Option<u32>,
    #[serde(default)]
    pub usage_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum DiscountRef {
    Id(String),
    Object(DiscountObject),
}

#[derive(Debug, Deserialize)]
pub struct DiscountObject {
    /// Older API versions.
    #[serde(default)]
    pub coupon: Option<CouponRef>,
    /// Current API: `source: {type: "coupon", coupon: ...}`.
    #[serde(default)]
    pub source: Option<DiscountSource>,
    #[serde(default)]
    pub end: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct DiscountSource {
    #[serde(default)]
    pub coupon: Option<CouponRef>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CouponRef {
    Id(String),
    Object(Coupon),
}

#[derive(Debug, Deserialize)]
pub struct Coupon {
    #[serde(default)]
    pub percent_off: Option<f64>,
    #[serde(default)]
    pub amount_off: Option<i64>,
    #[serde(default)]
    pub duration: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Invoice {
    /// `invoice.upcoming` carries an invoice without an id.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub attempt_count: Option<u32>,
    #[serde(default)]
    pub amount_due: Option<i64>,
    #[serde(default)]
    pub amount_paid: Option<i64>,
    #[serde(default)]
    pub next_payment_attempt: Option<i64>,
    #[serde(default)]
    pub period_end: Option<i64>,
    #[serde(default)]
    pub metadata: Metadata,
    /// Current API: where the invoice came from.
    #[serde(default)]
    pub parent: Option<InvoiceParent>,
    /// Older API versions.
    #[serde(default)]
    pub subscription: Option<Expandable>,
}

#[derive(Debug, Deserialize)]
pub struct InvoiceParent {
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Deserialize)]
pub struct SubscriptionDetails {
    #[serde(default)]
    pub subscription: Option<Expandable>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Deserialize)]
pub struct Charge {
    pub id: String,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub amount_refunded: i64,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Deserialize)]
pub struct Dispute {
    pub id: String,
    #[serde(default)]
    pub charge: Option<Expandable>,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}
