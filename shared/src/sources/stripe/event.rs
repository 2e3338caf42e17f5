//! The parts of Stripe's event and object shapes that Foresight reads. Every field is optional
//! or defaulted so that both the current API shape (period dates on subscription items,
//! `invoice.parent.subscription_details`) and older ones (period dates and `plan` on the
//! subscription, `invoice.subscription`) parse, and unknown fields are ignored. The object types
//! hold only `Option`s, which serde leaves `None` when absent: no `#[serde(default)]` on them,
//! which would build a whole default value of the type for each object read (the whole
//! option-filled `StripeObject`, once per event). (Its one other effect: an object sent as a JSON array too short
//! for its fields — never sent by Stripe — was filled with defaults, and is now refused.)
//!
//! Built for the hot path: one pass of serde_json over the body, strings borrowed from it
//! (`Cow`: owned only where the JSON escapes something), every field Foresight does not read
//! skipped by the parser (`IgnoredAny`), no `Value` tree and no buffering (`untagged` enums
//! would buffer; the either-or shapes below are read by small visitors). Reading one more field
//! is one more line in the struct that holds it.

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A string of the body, borrowed unless it had escapes — also inside an `Option` (serde's own
/// `Cow` impl would copy there: it borrows only a field that is a `Cow` itself).
pub use crate::sources::borrowed::Text;

/// The event envelope, parsed in one pass with the object typed as [`StripeObject`] (the type
/// name comes after `data` in Stripe's JSON, so it cannot pick the object's type first).
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(rename = "type", borrow)]
    pub kind: Text<'a>,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    #[serde(borrow)]
    pub data: EventData<'a>,
}

#[derive(Debug, Deserialize)]
pub struct EventData<'a> {
    /// Boxed: the object is large (every field of every type read), and is moved up through
    /// the envelope's layers as it is built.
    #[serde(borrow)]
    pub object: Box<StripeObject<'a>>,
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
pub struct StripeObject<'a> {
    /// Absent on the invoice of `invoice.upcoming`.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub customer: Option<Expandable<'a>>,
    #[serde(borrow)]
    pub metadata: Option<Metadata<'a>>,
    pub created: Option<i64>,
    #[serde(borrow)]
    pub status: Option<Text<'a>>,
    #[serde(borrow)]
    pub currency: Option<Text<'a>>,
    // customer
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// The customer's billing address (a playbook contact of role billing, when one is emailed).
    #[serde(borrow)]
    pub email: Option<Text<'a>>,
    pub deleted: Option<bool>,
    pub delinquent: Option<bool>,
    // subscription
    #[serde(borrow)]
    pub items: Option<List<SubscriptionItem<'a>>>,
    pub cancel_at_period_end: Option<bool>,
    pub cancel_at: Option<i64>,
    pub canceled_at: Option<i64>,
    /// When an ended subscription ended (for cancel at period end: the period end).
    pub ended_at: Option<i64>,
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
    #[serde(borrow)]
    pub plan: Option<Plan<'a>>,
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
    #[serde(borrow)]
    pub parent: Option<InvoiceParent<'a>>,
    /// Older API versions: the invoice's subscription.
    #[serde(borrow)]
    pub subscription: Option<Expandable<'a>>,
    /// Why the invoice could not be finalized or paid (card errors carry a decline code).
    pub last_finalization_error: Option<DeclineDetails>,
    // charge and dispute
    pub amount_refunded: Option<i64>,
    pub amount: Option<i64>,
    #[serde(borrow)]
    pub charge: Option<Expandable<'a>>,
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    /// A failed charge's code and message (`card_declined`, "Your card was declined."); rare,
    /// so owned.
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// A charge's outcome: `reason` is the decline reason (`insufficient_funds`).
    pub outcome: Option<ChargeOutcome>,
}

/// An error Stripe reports on an object (`last_finalization_error`): codes and a message.
#[derive(Debug, Default, Deserialize)]
pub struct DeclineDetails {
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
}

/// The outcome of a charge.
#[derive(Debug, Default, Deserialize)]
pub struct ChargeOutcome {
    pub reason: Option<String>,
    pub seller_message: Option<String>,
}

/// An object's `metadata`: its string values in body order (Stripe's metadata values are
/// strings; anything else is skipped and reads as absent).
#[derive(Debug, Default)]
pub struct Metadata<'a>(pub Vec<(Text<'a>, Option<Text<'a>>)>);

impl<'a> Metadata<'a> {
    /// The value of `key`; the last one wins when a key repeats, as in a JSON object map.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k.as_str() == key).and_then(|(_, v)| v.as_deref())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Metadata<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetadataVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for MetadataVisitor<'a> {
            type Value = Metadata<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata<'a>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    entries.push((key, map.next_value::<StringOrSkip<'de>>()?.0));
                }
                Ok(Metadata(entries))
            }
        }
        deserializer.deserialize_map(MetadataVisitor(std::marker::PhantomData))
    }
}

/// A string, or any other value skipped (as `None`).
struct StringOrSkip<'a>(Option<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for StringOrSkip<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StringVisitor<'a> {
            type Value = StringOrSkip<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(StringOrSkip(Some(Text(Cow::Borrowed(v)))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOrSkip(Some(Text(Cow::Owned(v.to_owned())))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(StringOrSkip(Some(Text(Cow::Owned(v)))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StringOrSkip(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(StringOrSkip(None))
            }
        }
        deserializer.deserialize_any(StringVisitor(std::marker::PhantomData))
    }
}

/// An expandable reference: an id, or the object itself when expanded (of which only the id
/// is read).
#[derive(Debug, Clone)]
pub enum Expandable<'a> {
    Id(Text<'a>),
    Object { id: Text<'a> },
}

impl<'de: 'a, 'a> Deserialize<'de> for Expandable<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpandableVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ExpandableVisitor<'a> {
            type Value = Expandable<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id or an expanded object with an id")
            }
            fn visit_borrowed_str<E: de::Error>(self, id: &'de str) -> Result<Expandable<'a>, E> {
                Ok(Expandable::Id(Text(Cow::Borrowed(id))))
            }
            fn visit_str<E: de::Error>(self, id: &str) -> Result<Expandable<'a>, E> {
                Ok(Expandable::Id(Text(Cow::Owned(id.to_owned()))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Expandable<'a>, A::Error> {
                let mut id = None;
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    if key == "id" && id.is_none() {
                        id = Some(map.next_value::<Text<'de>>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                id.map(|id| Expandable::Object { id }).ok_or_else(|| de::Error::missing_field("id"))
            }
        }
        deserializer.deserialize_any(ExpandableVisitor(std::marker::PhantomData))
    }
}

impl Expandable<'_> {
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
pub struct SubscriptionItem<'a> {
    #[serde(borrow)]
    pub price: Option<Price<'a>>,
    #[serde(borrow)]
    pub plan: Option<Plan<'a>>,
    pub quantity: Option<u64>,
    pub current_period_end: Option<i64>,
    pub current_period_start: Option<i64>,
    pub discounts: Option<Vec<DiscountRef>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Recurring<'a> {
    #[serde(borrow)]
    pub interval: Option<Text<'a>>,
    pub interval_count: Option<u32>,
    #[serde(borrow)]
    pub usage_type: Option<Text<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct TransformQuantity<'a> {
    pub divide_by: u64,
    #[serde(default, borrow)]
    pub round: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Price<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub nickname: Option<Text<'a>>,
    #[serde(borrow)]
    pub lookup_key: Option<Text<'a>>,
    pub unit_amount: Option<i64>,
    #[serde(borrow)]
    pub unit_amount_decimal: Option<Text<'a>>,
    #[serde(borrow)]
    pub currency: Option<Text<'a>>,
    #[serde(borrow)]
    pub recurring: Option<Recurring<'a>>,
    #[serde(borrow)]
    pub transform_quantity: Option<TransformQuantity<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Plan<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub nickname: Option<Text<'a>>,
    pub amount: Option<i64>,
    #[serde(borrow)]
    pub amount_decimal: Option<Text<'a>>,
    #[serde(borrow)]
    pub currency: Option<Text<'a>>,
    #[serde(borrow)]
    pub interval: Option<Text<'a>>,
    pub interval_count: Option<u32>,
    #[serde(borrow)]
    pub usage_type: Option<Text<'a>>,
}

/// A discount: its id, or the object when expanded (webhooks send ids; only objects can be
/// priced).
#[derive(Debug)]
pub enum DiscountRef {
    Id,
    Object(DiscountObject),
}

impl<'de> Deserialize<'de> for DiscountRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        id_or_object(deserializer, "DiscountRef", || DiscountRef::Id, DiscountRef::Object)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DiscountObject {
    /// Older API versions.
    pub coupon: Option<CouponRef>,
    /// Current API: `source: {type: "coupon", coupon: ...}`.
    pub source: Option<DiscountSource>,
    pub end: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DiscountSource {
    pub coupon: Option<CouponRef>,
}

/// A coupon: its id, or the object when expanded.
#[derive(Debug)]
pub enum CouponRef {
    Id,
    Object(Coupon),
}

impl<'de> Deserialize<'de> for CouponRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        id_or_object(deserializer, "CouponRef", || CouponRef::Id, CouponRef::Object)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Coupon {
    pub percent_off: Option<f64>,
    pub amount_off: Option<i64>,
    pub duration: Option<String>,
}

/// An id (a string) or an object, read without buffering the value; anything else is the
/// error `#[serde(untagged)]` gives.
fn id_or_object<'de, D, T, O>(
    deserializer: D,
    name: &'static str,
    id: fn() -> T,
    object: fn(O) -> T,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    O: Deserialize<'de>,
{
    struct IdOrObject<T, O> {
        name: &'static str,
        id: fn() -> T,
        object: fn(O) -> T,
    }
    impl<'de, T, O: Deserialize<'de>> Visitor<'de> for IdOrObject<T, O> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an id or an object ({})", self.name)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<T, E> {
            Ok((self.id)())
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            O::deserialize(de::value::MapAccessDeserializer::new(map)).map(self.object)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
            Err(self.mismatch())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<T, E> {
            Err(self.mismatch())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<T, E> {
            Err(self.mismatch())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
            Err(self.mismatch())
        }
        fn visit_unit<E: de::Error>(self) -> Result<T, E> {
            Err(self.mismatch())
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
            Err(self.mismatch())
        }
    }
    impl<T, O> IdOrObject<T, O> {
        fn mismatch<E: de::Error>(&self) -> E {
            E::custom(format_args!("data did not match any variant of untagged enum {}", self.name))
        }
    }
    deserializer.deserialize_any(IdOrObject { name, id, object })
}

#[derive(Debug, Default, Deserialize)]
pub struct InvoiceParent<'a> {
    #[serde(borrow)]
    pub subscription_details: Option<SubscriptionDetails<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SubscriptionDetails<'a> {
    #[serde(borrow)]
    pub subscription: Option<Expandable<'a>>,
    #[serde(borrow)]
    pub metadata: Option<Metadata<'a>>,
}
