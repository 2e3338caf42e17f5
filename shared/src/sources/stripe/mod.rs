//! Stripe adapter: signature check, parsing, and normalisation of billing events into
//! [`AccountChange`]s.

pub mod event;
pub mod signature;

use crate::domain::account::{attr, CustomerState};
use crate::domain::billing::{
    self, BillingInterval, ChargeFailure, Discount, InvoiceMark, InvoiceSettlement, PaymentFailure, PriceLine,
    QuantityTransform, RefundMark, Settlement, SubscriptionState, UpcomingInvoice,
};
use crate::domain::{AccountChange, EventVersion, GuardedGroup};
use event::{CouponRef, DiscountObject, DiscountRef, Envelope, Metadata, RawEnvelope, StripeObject};
use serde_json::{json, Value};

pub use signature::{verify, SignatureError, StripeSecrets, DEFAULT_TOLERANCE_SECS};

/// How an event finds its account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Identity {
    /// The Stripe customer the object belongs to.
    pub customer_id: Option<String>,
    /// Our account id, when the object's metadata names it (`metadata.account_id` by default).
    pub account_id: Option<String>,
    /// For objects that carry neither (a dispute names only its charge): the id under which
    /// the data is kept until a link says which account it belongs to.
    pub fallback_id: Option<String>,
}

/// A verified, parsed Stripe event and what it does to its account.
#[derive(Clone, Debug, PartialEq)]
pub struct StripeUpdate {
    pub event_id: String,
    pub event_type: String,
    pub created: i64,
    pub livemode: bool,
    pub identity: Identity,
    /// `None` for event types Foresight ignores on purpose. The account id is filled in once
    /// the identity is resolved.
    pub change: Option<AccountChange>,
    /// The customer's `email` on `customer.*` events: kept by ingest only when a playbook
    /// emails the billing role.
    pub billing_email: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("body is not a Stripe event: {0}")]
    Envelope(serde_json::Error),
    #[error("{event_type} object does not have the expected shape: {source}")]
    Object { event_type: String, source: serde_json::Error },
    #[error("{event_type} object has no {field}")]
    Missing { event_type: String, field: &'static str },
}

fn metadata_value(metadata: Option<&Metadata<'_>>, key: &str) -> Option<String> {
    metadata?.get(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The event types Foresight reads; any other type is acknowledged and ignored.
pub fn is_handled(kind: &str) -> bool {
    matches!(
        kind,
        "customer.created"
            | "customer.updated"
            | "customer.deleted"
            | "invoice.paid"
            | "invoice.voided"
            | "invoice.marked_uncollectible"
            | "charge.failed"
            | "invoice.payment_failed"
            | "invoice.payment_action_required"
            | "invoice.upcoming"
            | "charge.refunded"
            | "charge.dispute.created"
    ) || kind.starts_with("customer.subscription.")
}

/// Parses an event body (already verified) into an update. `metadata_key` names the metadata
/// field that carries our account id. One typed pass on the common path, borrowing from the
/// body (see [`event`]) and passing over what it does not read ([`super::skipping_json`]); the
/// slow path runs only for bodies that do not fit, to tell an ignored type from a malformed
/// object.
pub fn parse_event(body: &[u8], metadata_key: &str) -> Result<StripeUpdate, ParseError> {
    let envelope: Envelope = match super::skipping_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(typed_error) => {
            let raw: RawEnvelope<'_> = serde_json::from_slice(body).map_err(ParseError::Envelope)?;
            if is_handled(&raw.kind) {
                return Err(ParseError::Object { event_type: raw.kind, source: typed_error });
            }
            return Ok(StripeUpdate {
                event_id: raw.id,
                event_type: raw.kind,
                created: raw.created,
                livemode: raw.livemode,
                identity: Identity::default(),
                change: None,
                billing_email: None,
            });
        }
    };
    let version = EventVersion::new(envelope.created, &envelope.id);
    let at = envelope.created;
    let kind: &str = &envelope.kind;
    let o = &envelope.data.object;
    let mut identity = Identity {
        // An empty customer (never a real one) is no customer: nothing is attributed to "".
        customer_id: o.customer.as_ref().map(|c| c.id().trim()).filter(|c| !c.is_empty()).map(str::to_owned),
        account_id: metadata_value(o.metadata.as_ref(), metadata_key),
        fallback_id: None,
    };

    let billing_email = o
        .email
        .as_deref()
        .filter(|_| kind.starts_with("customer.") && !kind.starts_with("customer.subscription."))
        .map(str::to_owned);
    let change = match kind {
        "customer.created" | "customer.updated" | "customer.deleted" => {
            let id = required(kind, o.id.as_deref())?;
            identity.customer_id = Some(id.to_owned());
            let state = CustomerState {
                name: o.name.as_deref().filter(|n| !n.is_empty()).map(str::to_owned),
                deleted: kind == "customer.deleted" || o.deleted.unwrap_or(false),
                delinquent: o.delinquent.unwrap_or(false),
                created_at: o.created,
            };
            Some(AccountChange::new("").with_guarded(GuardedGroup::new(attr::CUSTOMER, version, to_value(&state))))
        }
        k if k.starts_with("customer.subscription.") => {
            let state = subscription_state(kind, o, at)?;
            let moves_mrr = match (k, &envelope.data.previous_attributes) {
                ("customer.subscription.trial_will_end", _) => false,
                ("customer.subscription.updated", Some(previous)) => previous.touches_pricing(),
                _ => true,
            };
            let mut change = AccountChange::new("");
            if moves_mrr {
                // Joined in one allocation of the exact size (`format!` grows its string).
                let point = [attr::MRR_POINT, &state.id, "#", version.as_str()].concat();
                // An ended subscription churns when it ended (the period end of a cancel at
                // period end), not when the event was sent.
                let effective_at = o.ended_at.filter(|t| !state.status.is_live() && *t != at);
                change = change.with_fact(point, billing::MrrPoint::stored_value(state.mrr, effective_at));
            }
            let group = [attr::SUBSCRIPTION, &state.id].concat();
            Some(change.with_guarded(GuardedGroup::new(group, version, to_value(&state))))
        }
        "invoice.paid"
        | "invoice.voided"
        | "invoice.marked_uncollectible"
        | "invoice.payment_failed"
        | "invoice.payment_action_required"
        | "invoice.upcoming" => {
            let details = o.parent.as_ref().and_then(|p| p.subscription_details.as_ref());
            if identity.account_id.is_none() {
                identity.account_id = details.and_then(|d| metadata_value(d.metadata.as_ref(), metadata_key));
            }
            invoice_change(kind, o, version)
        }
        "charge.refunded" => {
            let id = required(kind, o.id.as_deref())?;
            let amount = o.amount_refunded.unwrap_or(0);
            let fact = format!("{}{id}#{amount}", attr::REFUND);
            Some(AccountChange::new("").with_fact(fact, to_value(&RefundMark { at, amount })))
        }
        "charge.failed" => {
            let id = required(kind, o.id.as_deref())?;
            let failure = ChargeFailure { at, amount: o.amount.unwrap_or(0), reason: charge_decline(o) };
            Some(AccountChange::new("").with_fact([attr::CHARGE_FAILED, id].concat(), to_value(&failure)))
        }
        "charge.dispute.created" => {
            let id = required(kind, o.id.as_deref())?;
            identity.customer_id = None;
            identity.fallback_id =
                o.charge.as_ref().map(|c| c.id().trim()).filter(|c| !c.is_empty()).map(str::to_owned);
            let reason = o.reason.as_deref().map(str::to_owned);
            let mark = billing::DisputeMark { at, amount: o.amount.unwrap_or(0), reason };
            Some(AccountChange::new("").with_fact([attr::DISPUTE, id].concat(), to_value(&mark)))
        }
        _ => None,
    };
    if change.is_none() {
        identity = Identity::default();
    }

    // Remember which Stripe customer an account is billed as; the same value every time.
    let change = change.map(|c| match &identity.customer_id {
        Some(customer) => c.with_fact(attr::STRIPE_CUSTOMER, json!(customer)),
        None => c,
    });

    Ok(StripeUpdate {
        event_id: envelope.id.into_owned(),
        event_type: envelope.kind.into_owned(),
        created: envelope.created,
        livemode: envelope.livemode,
        identity,
        change,
        billing_email,
    })
}

/// A field the event type cannot do without, or a 400 naming it.
fn required<'a>(kind: &str, value: Option<&'a str>) -> Result<&'a str, ParseError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ParseError::Missing { event_type: kind.to_owned(), field: "id" })
}

fn to_value<T: serde::Serialize>(state: &T) -> Value {
    serde_json::to_value(state).unwrap_or(Value::Null)
}

fn invoice_change(kind: &str, inv: &StripeObject<'_>, version: EventVersion) -> Option<AccountChange> {
    let at = version.created();
    if kind == "invoice.upcoming" {
        let upcoming =
            UpcomingInvoice { amount: inv.amount_due.unwrap_or(0), at: inv.next_payment_attempt.or(inv.period_end) };
        return Some(AccountChange::new("").with_guarded(GuardedGroup::new(
            attr::UPCOMING,
            version,
            to_value(&upcoming),
        )));
    }
    let id = inv.id.as_deref()?;
    let (name, value) = match kind {
        "invoice.paid" => {
            ([attr::INVOICE_PAID, id].concat(), to_value(&InvoiceMark { at, amount: inv.amount_paid.unwrap_or(0) }))
        }
        "invoice.payment_failed" => (
            format!("{}{id}#{}", attr::PAYMENT_FAILED, inv.attempt_count.unwrap_or(1).max(1)),
            to_value(&PaymentFailure {
                at,
                amount: inv.amount_remaining.or(inv.amount_due).unwrap_or(0),
                next_attempt_at: inv.next_payment_attempt,
                reason: inv
                    .last_finalization_error
                    .as_ref()
                    .and_then(|e| decline_reason(e.code.as_deref(), e.decline_code.as_deref(), e.message.as_deref())),
            }),
        ),
        // Voided or written off: nothing is owed on it any more (a fact, so a late failure of
        // the same invoice cannot make it owed again).
        "invoice.voided" | "invoice.marked_uncollectible" => {
            let how = if kind == "invoice.voided" { Settlement::Voided } else { Settlement::Uncollectible };
            ([attr::INVOICE_SETTLED, id].concat(), to_value(&InvoiceSettlement { at, how }))
        }
        _ => (
            [attr::PAYMENT_ACTION_REQUIRED, id].concat(),
            to_value(&InvoiceMark { at, amount: inv.amount_due.unwrap_or(0) }),
        ),
    };
    Some(AccountChange::new("").with_fact(name, value))
}

/// A decline in words: "card declined: insufficient funds", "expired card", else Stripe's message.
fn decline_reason(code: Option<&str>, decline: Option<&str>, message: Option<&str>) -> Option<String> {
    let words = |c: &str| c.trim().replace('_', " ");
    let code = code.filter(|c| !c.trim().is_empty()).map(words);
    let decline = decline.filter(|c| !c.trim().is_empty()).map(words);
    match (code, decline) {
        (Some(code), Some(decline)) if code != decline => Some(format!("{code}: {decline}")),
        (Some(code), _) => Some(code),
        (None, Some(decline)) => Some(decline),
        (None, None) => message.map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned),
    }
}

/// A failed charge's reason: its failure code with the outcome's decline reason.
fn charge_decline(charge: &StripeObject) -> Option<String> {
    let outcome = charge.outcome.as_ref();
    let decline = outcome.and_then(|o| o.reason.as_deref());
    let message = charge.failure_message.as_deref().or(outcome.and_then(|o| o.seller_message.as_deref()));
    decline_reason(charge.failure_code.as_deref(), decline, message)
}

fn interval(name: Option<&str>) -> Option<BillingInterval> {
    match name? {
        "day" => Some(BillingInterval::Day),
        "week" => Some(BillingInterval::Week),
        "month" => Some(BillingInterval::Month),
        "year" => Some(BillingInterval::Year),
        _ => None,
    }
}

/// The name Stripe (and the stored state) gives an interval.
fn interval_label(interval: BillingInterval) -> &'static str {
    match interval {
        BillingInterval::Day => "day",
        BillingInterval::Week => "week",
        BillingInterval::Month => "month",
        BillingInterval::Year => "year",
    }
}

fn decimal_amount(integer: Option<i64>, decimal: Option<&str>) -> Option<f64> {
    integer.map(|a| a as f64).or_else(|| decimal?.parse().ok())
}

/// A discount that is active at `at`, with its coupon expanded (ids alone cannot be priced).
fn discount(d: &DiscountObject, at: i64) -> Option<Discount> {
    if d.end.is_some_and(|end| end <= at) {
        return None;
    }
    let coupon = d.coupon.as_ref().or_else(|| d.source.as_ref()?.coupon.as_ref())?;
    match coupon {
        CouponRef::Object(c) => Some(Discount {
            percent_off: c.percent_off,
            amount_off: c.amount_off,
            once: c.duration.as_deref() == Some("once"),
        }),
        CouponRef::Id => None,
    }
}

fn discounts(refs: Option<&Vec<DiscountRef>>, legacy: Option<&DiscountObject>, at: i64) -> Vec<Discount> {
    let expanded = refs.into_iter().flatten().filter_map(|r| match r {
        DiscountRef::Object(d) => Some(d),
        DiscountRef::Id => None,
    });
    expanded.chain(legacy).filter_map(|d| discount(d, at)).collect()
}

fn price_line(price: Option<&event::Price<'_>>, plan: Option<&event::Plan<'_>>, quantity: u64) -> Option<PriceLine> {
    // Prefer the price (current API); fall back to the plan (older shapes).
    if let Some(p) = price.filter(|p| p.recurring.is_some()) {
        let r = p.recurring.as_ref()?;
        return Some(PriceLine {
            unit_amount: decimal_amount(p.unit_amount, p.unit_amount_decimal.as_deref()),
            quantity,
            interval: interval(r.interval.as_deref())?,
            interval_count: r.interval_count.unwrap_or(1),
            metered: r.usage_type.as_deref() == Some("metered"),
            transform_quantity: p
                .transform_quantity
                .as_ref()
                .map(|t| QuantityTransform { divide_by: t.divide_by, round_up: t.round.as_deref() == Some("up") }),
        });
    }
    let plan = plan?;
    Some(PriceLine {
        unit_amount: decimal_amount(plan.amount, plan.amount_decimal.as_deref()),
        quantity,
        interval: interval(plan.interval.as_deref())?,
        interval_count: plan.interval_count.unwrap_or(1),
        metered: plan.usage_type.as_deref() == Some("metered"),
        transform_quantity: None,
    })
}

fn plan_name(price: Option<&event::Price<'_>>, plan: Option<&event::Plan<'_>>) -> Option<String> {
    let from_price = price.and_then(|p| p.nickname.as_ref().or(p.lookup_key.as_ref()).or(p.id.as_ref()));
    let name = from_price.or_else(|| plan.and_then(|p| p.nickname.as_ref().or(p.id.as_ref())));
    name.map(|n| n.as_str().to_owned())
}

fn subscription_state(kind: &str, s: &StripeObject<'_>, at: i64) -> Result<SubscriptionState, ParseError> {
    let id = required(kind, s.id.as_deref())?.to_owned();
    let status_name =
        s.status.as_deref().ok_or(ParseError::Missing { event_type: kind.to_owned(), field: "status" })?;
    let status = billing::SubscriptionStatus::from_name(status_name);
    let items = s.items.as_ref().map(|l| l.data.as_slice()).unwrap_or_default();
    let mut lines = Vec::new();
    let mut quantity = 0;
    let mut interval_name = None;
    let mut currency = s.currency.as_deref();
    for item in items {
        let q = item.quantity.unwrap_or(1);
        if let Some(line) = price_line(item.price.as_ref(), item.plan.as_ref(), q) {
            if !line.metered {
                quantity += q;
            }
            interval_name.get_or_insert(line.interval);
            lines.push((line, discounts(item.discounts.as_ref(), None, at)));
        }
        if currency.is_none() {
            currency = item.price.as_ref().and_then(|p| p.currency.as_deref());
        }
    }
    if items.is_empty() {
        // Older single-plan subscriptions.
        let q = s.quantity.unwrap_or(1);
        if let Some(line) = price_line(None, s.plan.as_ref(), q) {
            quantity = q;
            interval_name = Some(line.interval);
            lines.push((line, Vec::new()));
        }
    }
    let sub_discounts = discounts(s.discounts.as_ref(), s.discount.as_ref(), at);
    let (mrr, notes) = billing::monthly_recurring_revenue(status, &lines, &sub_discounts);
    let first = items.first();
    let renewal_at = items.iter().filter_map(|i| i.current_period_end).min().or(s.current_period_end);
    Ok(SubscriptionState {
        id,
        status,
        plan: plan_name(first.and_then(|i| i.price.as_ref()), first.and_then(|i| i.plan.as_ref()).or(s.plan.as_ref())),
        quantity,
        currency: currency.map(str::to_owned),
        interval: interval_name.map(|i| interval_label(i).to_owned()),
        mrr,
        renewal_at,
        cancel_at_period_end: s.cancel_at_period_end.unwrap_or(false),
        cancel_at: s.cancel_at,
        canceled_at: s.canceled_at,
        trial_end: s.trial_end,
        started_at: s.start_date,
        notes,
    })
}

#[cfg(test)]
mod tests;
