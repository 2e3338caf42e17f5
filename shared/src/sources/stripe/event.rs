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
pub struct StripeObject {
    /// Absent on the invoice of `invoice.upcoming`.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    // customer
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub deleted: Option<bool>,
    #[serde(default)]
    pub delinquent: Option<bool>,
    // subscription
    #[serde(default)]
    pub items: Option<List<SubscriptionItem>>,
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
    /// Current API: discount ids, or objects when expanded.
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
    // invoice
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
    /// Current API: where the invoice came from.
    #[serde(default)]
    pub parent: Option<InvoiceParent>,
    /// Older API versions: the invoice's subscription.
    #[serde(default)]
    pub subscription: Option<Expandable>,
    // charge and dispute
    #[serde(default)]
    pub amount_refunded: Option<i64>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub charge: Option<Expandable>,
    #[serde(default)]
    pub reason: Option<String>,
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
