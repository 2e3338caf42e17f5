//! The parts of Stripe's event and object shapes that Foresight reads. Every field is optional
//! or defaulted so that both the current API shape (period dates on subscription items,
//! `invoice.parent.subscription_details`) and older ones (period dates and `plan` on the
//! subscription, `invoice.subscription`) parse, and unknown fields are ignored.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

/// The event envelope, parsed in one pass with the object typed as [`StripeObject`] (the type
/// name comes after `data` in Stripe's JSON, so it cannot pick the object's type first).
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: StripeObject,
    #[serde(default)]
    pub previous_attributes: Option<PreviousAttributes>,
}

/// The envelope with the object left unparsed: the slow path, to name the type of an event
/// whose object did not parse (and to ignore it if Foresight does not use that type).
#[derive(Debug, Deserialize)]
pub struct RawEnvelope<'a> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    #[serde(borrow)]
    pub data: RawData<'a>,
}

#[derive(Debug, Deserialize)]
pub struct RawData<'a> {
    #[serde(borrow)]
    pub object: &'a RawValue,
}

/// Which fields a `*.updated` event says changed; only their presence matters.
#[derive(Debug, Default, Deserialize)]
pub struct PreviousAttributes {
    pub items: Option<IgnoredAny>,
    pub quantity: Option<IgnoredAny>,
    pub plan: Option<IgnoredAny>,
    pub status: Option<IgnoredAny>,
    pub discount: Option<IgnoredAny>,
    pub discounts: Option<IgnoredAny>,
    pub pause_collection: Option<IgnoredAny>,
}

impl PreviousAttributes {
    /// Whether a change of these fields may move the subscription's MRR.
    pub fn touches_pricing(&self) -> bool {
        [&self.items, &self.quantity, &self.plan, &self.status, &self.discount, &self.discounts, &self.pause_collection]
            .iter()
            .any(|f| f.is_some())
    }
}

/// The fields Foresight reads from any of the objects it handles (customer, subscription,
/// invoice, charge, dispute), in one struct so that an event parses in a single pass; the
/// normaliser reads those that belong to the event's type.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StripeObject {
    /// Absent on the invoice of `invoice.upcoming`.
    pub id: Option<String>,
    pub customer: Option<Expandable>,
    pub metadata: Metadata,
    pub created: Option<i64>,
    pub status: Option<String>,
    pub currency: Option<String>,
    // customer
    pub name: Option<String>,
    pub deleted: Option<bool>,
    pub delinquent: Option<bool>,
    // subscription
    pub items: Option<List<SubscriptionItem>>,
    pub cancel_at_period_end: Option<bool>,
    pub cancel_at: Option<i64>,
    pub canceled_at: Option<i64>,
    pub trial_end: Option<i64>,
    pub start_date: Option<i64>,
    /// Current API: discount ids, or objects when expanded.
    pub discounts: Option<Vec<DiscountRef>>,
    /// Older API versions: the single active discount.
    pub discount: Option<DiscountObject>,
    /// Older API versions: period dates on the subscription.
    pub current_period_end: Option<i64>,
    pub current_period_start: Option<i64>,
    /// Older API versions: single-plan subscriptions.
    pub plan: Option<Plan>,
    pub quantity: Option<u64>,
    // invoice
    pub attempt_count: Option<u32>,
    pub amount_due: Option<i64>,
    pub amount_paid: Option<i64>,
    /// What is still owed on the invoice.
    pub amount_remaining: Option<i64>,
    pub next_payment_attempt: Option<i64>,
    pub period_end: Option<i64>,
    /// Current API: where the invoice came from.
    pub parent: Option<InvoiceParent>,
    /// Older API versions: the invoice's subscription.
    pub subscription: Option<Expandable>,
    /// Why the invoice could not be finalized or paid (card errors carry a decline code).
    pub last_finalization_error: Option<DeclineDetails>,
    // charge and dispute
    pub amount_refunded: Option<i64>,
    pub amount: Option<i64>,
    pub charge: Option<Expandable>,
    pub reason: Option<String>,
    /// A failed charge's code and message (`card_declined`, "Your card was declined.").
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// A charge's outcome: `reason` is the decline reason (`insufficient_funds`).
    pub outcome: Option<ChargeOutcome>,
}

/// An error Stripe reports on an object (`last_finalization_error`): codes and a message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeclineDetails {
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
}

/// The outcome of a charge.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChargeOutcome {
    pub reason: Option<String>,
    pub seller_message: Option<String>,
}

pub type Metadata = Option<BTreeMap<String, Value>>;

/// An expandable reference: an id, or the object itself when expanded. Deserialised by hand:
/// `#[serde(untagged)]` would buffer every value before trying the variants, on the hot path.
#[derive(Debug, Clone)]
pub enum Expandable {
    Id(String),
    Object { id: String },
}

impl<'de> Deserialize<'de> for Expandable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Expandable;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id or an expanded object with an id")
            }
            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<Expandable, E> {
                Ok(Expandable::Id(id.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Expandable, A::Error> {
                let mut id = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "id" && id.is_none() {
                        id = Some(map.next_value::<String>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                id.map(|id| Expandable::Object { id }).ok_or_else(|| serde::de::Error::missing_field("id"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Expandable {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SubscriptionItem {
    pub price: Option<Price>,
    pub plan: Option<Plan>,
    pub quantity: Option<u64>,
    pub current_period_end: Option<i64>,
    pub current_period_start: Option<i64>,
    pub discounts: Option<Vec<DiscountRef>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Recurring {
    pub interval: Option<String>,
    pub interval_count: Option<u32>,
    pub usage_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TransformQuantity {
    pub divide_by: u64,
    #[serde(default)]
    pub round: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Price {
    pub id: Option<String>,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
    pub currency: Option<String>,
    pub recurring: Option<Recurring>,
    pub transform_quantity: Option<TransformQuantity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Plan {
    pub id: Option<String>,
    pub nickname: Option<String>,
    pub amount: Option<i64>,
    pub amount_decimal: Option<String>,
    pub currency: Option<String>,
    pub interval: Option<String>,
    pub interval_count: Option<u32>,
    pub usage_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum DiscountRef {
    Id(String),
    Object(DiscountObject),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DiscountObject {
    /// Older API versions.
    pub coupon: Option<CouponRef>,
    /// Current API: `source: {type: "coupon", coupon: ...}`.
    pub source: Option<DiscountSource>,
    pub end: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DiscountSource {
    pub coupon: Option<CouponRef>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CouponRef {
    Id(String),
    Object(Coupon),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Coupon {
    pub percent_off: Option<f64>,
    pub amount_off: Option<i64>,
    pub duration: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InvoiceParent {
    pub subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SubscriptionDetails {
    pub subscription: Option<Expandable>,
    pub metadata: Metadata,
}
