//! Square's card-on-file webhooks: which state change publishes which event, and the
//! subscription endpoints under `/__sandbox/square/webhooks/subscriptions`.
//!
//! Events are derived from the state before and after a handler ran, so failed calls and
//! idempotent replays (which change nothing) publish nothing.

use super::store::TenantState;
use super::{Square, render};
use crate::providers::{AdminCall, Call, Tenant, admin_error};
use crate::reply::Reply;
use crate::webhooks::NewSubscription;
use hyper::Method;
use serde_json::{Value, json};

/// What the handler may change, seen before it runs.
struct Before {
    customers: usize,
    cards: usize,
    /// `(version, rendered)` of the customer named in the path.
    customer: Option<(i64, Value)>,
    /// Whether the card named in the path was enabled.
    card_enabled: Option<bool>,
}

fn before(state: &TenantState, call: &Call) -> Before {
    let customer_id = call.param("customer_id");
    Before {
        customers: state.customer_count(),
        cards: state.card_count(),
        customer: state
            .customer(customer_id)
            .map(|c| (c.version, render::customer(c, &[], super::DEFAULT_VERSION))),
        card_enabled: state.card(call.param("card_id")).map(|c| c.enabled),
    }
}

/// Runs a state-changing handler and publishes the events its change calls for.
pub fn around(
    sq: &Square,
    call: &Call,
    tenant: &Tenant,
    handler: fn(&Square, &Call, &Tenant) -> Reply,
) -> Reply {
    let op = call.op.id.as_str();
    let changes = matches!(
        op,
        "CreateCustomer"
            | "UpdateCustomer"
            | "DeleteCustomer"
            | "CreateCard"
            | "CreateCustomerCard"
            | "DisableCard"
            | "DeleteCustomerCard"
    );
    if !changes || !sq.env.webhooks.wants(&tenant.key) {
        return handler(sq, call, tenant);
    }
    let was = sq.tenants.with(&tenant.key, |s| before(s, call));
    let reply = handler(sq, call, tenant);
    if !reply.is_success() {
        return reply;
    }
    let merchant = sq.merchant_id(tenant);
    let emit = |kind: &str, data_type: &str, id: &str, object: Value| {
        sq.env.webhooks.emit(
            &sq.env,
            super::NAME,
            &tenant.key,
            &merchant,
            kind,
            data_type,
            id,
            object,
        )
    };
    let events: Vec<(&str, String, Value)> = sq.tenants.with(&tenant.key, |state| {
        let mut out = Vec::new();
        match op {
            "CreateCustomer" if state.customer_count() > was.customers => {
                if let Some(c) = state.newest_customer() {
                    let obj = render::customer(c, &[], super::DEFAULT_VERSION);
                    out.push(("customer.created", c.id.clone(), json!({ "customer": obj })));
                }
            }
            "UpdateCustomer" => {
                let id = call.param("customer_id");
                if let (Some((version, _)), Some(c)) = (&was.customer, state.customer(id))
                    && c.version != *version
                {
                    let obj = render::customer(c, &[], super::DEFAULT_VERSION);
                    out.push(("customer.updated", c.id.clone(), json!({ "customer": obj })));
                }
            }
            "DeleteCustomer" => {
                let id = call.param("customer_id");
                if let (Some((_, obj)), None) = (&was.customer, state.customer(id)) {
                    out.push((
                        "customer.deleted",
                        id.to_string(),
                        json!({ "customer": obj }),
                    ));
                }
            }
            "CreateCard" | "CreateCustomerCard" if state.card_count() > was.cards => {
                if let Some(card) = state.newest_card() {
                    let obj = render::card(card, &merchant);
                    out.push(("card.created", card.id.clone(), json!({ "card": obj })));
                }
            }
            "DisableCard" | "DeleteCustomerCard" if was.card_enabled == Some(true) => {
                if let Some(card) = state.card(call.param("card_id"))
                    && !card.enabled
                {
                    if op == "DisableCard" {
                        let obj = render::card(card, &merchant);
                        out.push(("card.disabled", card.id.clone(), json!({ "card": obj })));
                    } else {
                        // CardForgottenEventCard: only the identifying fields.
                        let mut obj = json!({
                            "id": card.id,
                            "customer_id": card.customer_id,
                            "enabled": card.enabled,
                            "version": card.version,
                            "merchant_id": merchant,
                        });
                        if let Some(r) = &card.reference_id {
                            obj["reference_id"] = json!(r);
                        }
                        out.push(("card.forgotten", card.id.clone(), json!({ "card": obj })));
                    }
                }
            }
            _ => {}
        }
        out
    });
    for (kind, id, object) in events {
        let data_type = kind.split('.').next().unwrap_or_default();
        emit(kind, data_type, &id, object);
    }
    reply
}

/// Publishes `card.updated` for a change made outside the API (the sandbox's account
/// updater endpoint); `card` is rendered in the Cards API shape (`CardUpdatedEventObject`).
pub fn card_updated(sq: &Square, tenant: &str, merchant: &str, card_id: &str, card: &Value) {
    sq.env.webhooks.emit(
        &sq.env,
        super::NAME,
        tenant,
        merchant,
        "card.updated",
        "card",
        card_id,
        json!({ "card": card }),
    );
}

/// `/webhooks/subscriptions[/{id}]`: create, list, delete.
pub fn admin(sq: &Square, call: &AdminCall) -> Option<Reply> {
    let rest = call.path.trim_end_matches('/');
    let hub = &sq.env.webhooks;
    let defaults = hub.defaults();
    if rest == "/webhooks/subscriptions" {
        return Some(match *call.method {
            Method::POST => {
                let body = match &call.body {
                    Ok(Some(v)) => v.clone(),
                    Ok(None) => return Some(admin_error(400, "send the subscription as JSON")),
                    Err(e) => return Some(admin_error(400, e.clone())),
                };
                let new: NewSubscription = match serde_path_to_error::deserialize(&body) {
                    Ok(n) => n,
                    Err(e) => {
                        return Some(admin_error(
                            400,
                            format!("subscription at `{}`: {}", e.path(), e.inner()),
                        ));
                    }
                };
                match hub.subscribe(&sq.env, new) {
                    Ok(sub) => Reply::json(201, json!({ "subscription": sub.to_json(&defaults) })),
                    Err(e) => admin_error(400, e),
                }
            }
            Method::GET => {
                let subs: Vec<Value> = hub
                    .list(call.query.get("tenant"))
                    .iter()
                    .map(|s| s.to_json(&defaults))
                    .collect();
                Reply::json(
                    200,
                    json!({ "subscriptions": subs, "pending_deliveries": hub.pending() }),
                )
            }
            Method::DELETE => {
                hub.clear();
                Reply::json(200, json!({}))
            }
            _ => admin_error(405, "use GET, POST or DELETE"),
        });
    }
    let id = rest.strip_prefix("/webhooks/subscriptions/")?;
    Some(match *call.method {
        Method::DELETE if hub.unsubscribe(id) => Reply::json(200, json!({})),
        Method::DELETE => admin_error(404, format!("no webhook subscription {id}")),
        Method::GET => match hub.list(None).into_iter().find(|s| s.id == id) {
            Some(s) => Reply::json(200, json!({ "subscription": s.to_json(&defaults) })),
            None => admin_error(404, format!("no webhook subscription {id}")),
        },
        _ => admin_error(405, "use GET or DELETE"),
    })
}
