//! The Customers API: create, retrieve, update, delete, list and search profiles.

use super::Square;
use super::render;
use super::state::{CUSTOMER_FIELDS, Card, Customer};
use super::store::TenantState;
use crate::providers::{Call, Tenant};
use crate::reply::{Reply, object};
use crate::time;
use serde_json::{Map, Value, json};

/// At least one of these must be set on a new profile.
const IDENTIFYING: &[&str] = &[
    "given_name",
    "family_name",
    "company_name",
    "email_address",
    "phone_number",
];

const PAGE_KIND: &str = "customers";
const DEFAULT_LIMIT: usize = 100;

fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// 9 to 16 digits, an optional leading `+`, and formatting characters.
fn is_phone(v: &str) -> bool {
    let body = v.strip_prefix('+').unwrap_or(v);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    (9..=16).contains(&digits)
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'))
}

/// `YYYY-MM-DD` or `MM-DD`, answered as `YYYY-MM-DD` (year `0000` when none was given).
fn birthday(v: &str) -> Option<String> {
    let full = if v.len() == 5 {
        format!("0000-{v}")
    } else {
        v.to_string()
    };
    let b = full.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) {
        return None;
    }
    if !digits(8..10) {
        return None;
    }
    let month: u32 = full[5..7].parse().ok()?;
    let day: u32 = full[8..10].parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(full)
}

/// Checks the fields Square validates beyond the schema; returns them normalised.
fn checked_fields(sq: &Square, body: &Value) -> Result<Map<String, Value>, Reply> {
    let mut fields = Map::new();
    for name in CUSTOMER_FIELDS {
        let Some(value) = body.get(*name) else {
            continue;
        };
        let value = match (*name, value.as_str()) {
            ("email_address", Some(v)) if !is_email(v) => {
                return Err(sq.error(
                    "INVALID_EMAIL_ADDRESS",
                    Some("Expected email_address to be a valid email address."),
                    Some("email_address"),
                ));
            }
            ("phone_number", Some(v)) if !is_phone(v) => {
                return Err(sq.error(
                    "INVALID_PHONE_NUMBER",
                    Some("Expected phone_number to be a valid phone number."),
                    Some("phone_number"),
                ));
            }
            ("birthday", Some(v)) => match birthday(v) {
                Some(normal) => json!(normal),
                None => {
                    return Err(sq.error(
                        "INVALID_TIME",
                        Some("Expected birthday to be in the YYYY-MM-DD or MM-DD format."),
                        Some("birthday"),
                    ));
                }
            },
            _ => value.clone(),
        };
        fields.insert((*name).to_string(), value);
    }
    Ok(fields)
}

/// Square's 404 for a customer id the seller does not have.
pub fn not_found(sq: &Square, id: &str) -> Reply {
    sq.error(
        "NOT_FOUND",
        Some(&format!("Customer with ID `{id}` not found.")),
        None,
    )
}

/// The enabled cards of a customer, oldest first.
pub fn cards_of<'a>(state: &'a TenantState, customer_id: &str) -> Vec<&'a Card> {
    state
        .customer_cards(customer_id)
        .into_iter()
        .filter(|c| c.enabled)
        .collect()
}

fn one(sq: &Square, call: &Call, state: &TenantState, c: &Customer) -> Reply {
    Reply::json(
        200,
        object([(
            "customer",
            render::customer(c, &cards_of(state, &c.id), &sq.version(call)),
        )]),
    )
}

pub fn create(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let body = call.body.cloned().unwrap_or_else(|| json!({}));
    let fields = match checked_fields(sq, &body) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let identified = IDENTIFYING.iter().any(|name| {
        fields
            .get(*name)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    });
    if !identified {
        return sq.error(
            "MISSING_REQUIRED_PARAMETER",
            Some("At least one of `given_name`, `family_name`, `company_name`, `email_address` or `phone_number` must be provided."),
            Some("given_name"),
        );
    }
    let key = body.get("idempotency_key").and_then(Value::as_str);
    sq.tenants.with(&tenant.key, |state| {
        sq.idempotent(state, call, key, |state| {
            let now = sq.now();
            let customer = Customer {
                id: sq.env.ids.upper_alnum(26),
                created_at: now.clone(),
                updated_at: now,
                version: 0,
                creation_source: "THIRD_PARTY".into(),
                preferences: json!({ "email_unsubscribed": false }),
                fields,
            };
            let reply = one(sq, call, state, &customer);
            state.put_customer(customer);
            reply
        })
    })
}

pub fn retrieve(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let id = call.param("customer_id");
    sq.tenants
        .with(&tenant.key, |state| match state.customer(id) {
            Some(c) => one(sq, call, state, c),
            None => not_found(sq, id),
        })
}

fn version_conflict(sq: &Square, sent: i64, current: i64) -> Reply {
    sq.error(
        "CONFLICT",
        Some(&format!(
            "The customer has version {current}; the request was made against version {sent}."
        )),
        Some("version"),
    )
}

pub fn update(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let id = call.param("customer_id");
    let body = call.body.cloned().unwrap_or_else(|| json!({}));
    let fields = match checked_fields(sq, &body) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let sent_version = body.get("version").and_then(Value::as_i64);
    sq.tenants.with(&tenant.key, |state| {
        let now = sq.now();
        let Some(customer) = state.customer_mut(id) else {
            return not_found(sq, id);
        };
        if let Some(sent) = sent_version
            && sent != customer.version
        {
            return version_conflict(sq, sent, customer.version);
        }
        for (name, value) in fields {
            if value.is_null() {
                customer.fields.remove(&name);
            } else {
                customer.fields.insert(name, value);
            }
        }
        customer.version += 1;
        customer.updated_at = now;
        let updated = customer.clone();
        one(sq, call, state, &updated)
    })
}

pub fn delete(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let id = call.param("customer_id");
    let sent_version = call
        .query
        .get("version")
        .and_then(|v| v.parse::<i64>().ok());
    sq.tenants.with(&tenant.key, |state| {
        let Some(current) = state.customer(id).map(|c| c.version) else {
            return not_found(sq, id);
        };
        if let Some(sent) = sent_version
            && sent != current
        {
            return version_conflict(sq, sent, current);
        }
        state.remove_customer(id);
        // A deleted profile's cards stay on record at Square, disabled.
        let enabled: Vec<String> = cards_of(state, id).iter().map(|c| c.id.clone()).collect();
        for card_id in enabled {
            if let Some(card) = state.card_mut(&card_id) {
                card.enabled = false;
                card.version += 1;
            }
        }
        Reply::json(200, json!({}))
    })
}

fn lower(c: &Customer, field: &str) -> String {
    c.text(field).unwrap_or_default().to_lowercase()
}

/// The `DEFAULT` sort key, as `CustomerSortField` documents it: given name and family name
/// run together; a profile with neither is sorted by its company name, else its email
/// address, else its phone number.
fn default_key(c: &Customer) -> String {
    let name = lower(c, "given_name") + &lower(c, "family_name");
    if !name.is_empty() {
        return name;
    }
    ["company_name", "email_address", "phone_number"]
        .iter()
        .map(|field| lower(c, field))
        .find(|key| !key.is_empty())
        .unwrap_or_default()
}

/// `DEFAULT` sorts by `default_key`, ties in creation order either way; `CREATED_AT` by
/// creation time (the order the profiles are held in).
fn sort(customers: &mut [&Customer], field: &str, order: &str) {
    let descending = order == "DESC";
    if field == "CREATED_AT" {
        if descending {
            customers.reverse();
        }
        return;
    }
    // `sort_by_cached_key` is stable: ties stay in creation order in both directions.
    if descending {
        customers.sort_by_cached_key(|c| std::cmp::Reverse(default_key(c)));
    } else {
        customers.sort_by_cached_key(|c| default_key(c));
    }
}

/// How a listing is ordered and paged.
struct PageRequest<'a> {
    field: &'a str,
    order: &'a str,
    cursor: Option<&'a str>,
    limit: usize,
    count: bool,
}

/// Answers one page of an already filtered listing.
fn listing(
    sq: &Square,
    call: &Call,
    state: &TenantState,
    mut found: Vec<&Customer>,
    req: PageRequest,
) -> Reply {
    let offset = match render::page_offset(sq, PAGE_KIND, req.cursor) {
        Ok(offset) => offset,
        Err(reply) => return reply,
    };
    sort(&mut found, req.field, req.order);
    let total = found.len();
    let (page, next) = render::page(found, offset, req.limit, PAGE_KIND);
    let version = sq.version(call);
    let mut out = Map::new();
    if !page.is_empty() {
        out.insert(
            "customers".into(),
            Value::Array(
                page.iter()
                    .map(|c| render::customer(c, &cards_of(state, &c.id), &version))
                    .collect(),
            ),
        );
    }
    if let Some(next) = next {
        out.insert("cursor".into(), json!(next));
    }
    if req.count {
        out.insert("count".into(), json!(total));
    }
    Reply::json(200, Value::Object(out))
}

pub fn list(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let limit = call
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(DEFAULT_LIMIT);
    let field = call.query.get("sort_field").unwrap_or("DEFAULT");
    let order = call.query.get("sort_order").unwrap_or("ASC");
    let count = call.query.get("count") == Some("true");
    sq.tenants.with(&tenant.key, |state| {
        let all = state.customers();
        let req = PageRequest {
            field,
            order,
            cursor: call.query.get("cursor"),
            limit,
            count,
        };
        listing(sq, call, state, all, req)
    })
}

/// Square's text filter: `exact` matches the whole value (case-insensitively), `fuzzy` needs
/// every token of the query somewhere in the value.
fn text_matches(filter: &Value, value: Option<&str>, phone: bool) -> bool {
    let norm = |s: &str| {
        if phone {
            s.chars().filter(char::is_ascii_digit).collect::<String>()
        } else {
            s.to_lowercase()
        }
    };
    let value = value.map(norm).unwrap_or_default();
    if let Some(exact) = filter.get("exact").and_then(Value::as_str) {
        return !value.is_empty() && value == norm(exact);
    }
    if let Some(fuzzy) = filter.get("fuzzy").and_then(Value::as_str) {
        let tokens: Vec<String> = fuzzy
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(norm)
            .filter(|t| !t.is_empty())
            .collect();
        return !value.is_empty() && tokens.iter().all(|t| value.contains(t.as_str()));
    }
    true
}

/// The text filter (`CustomerTextFilter`) that sets both `exact` and `fuzzy`, which Square
/// documents as not allowed.
fn both_exact_and_fuzzy(filter: &Value) -> Option<&'static str> {
    let set = |f: &Value, name: &str| f.get(name).is_some_and(|v| !v.is_null());
    ["email_address", "phone_number", "reference_id"]
        .into_iter()
        .find(|name| {
            filter
                .get(name)
                .is_some_and(|f| set(f, "exact") && set(f, "fuzzy"))
        })
}

/// A `TimeRange` filter Square refuses: a bound that is not an RFC 3339 timestamp
/// (INVALID_TIME), or an end before its start (INVALID_TIME_RANGE, the error catalogue's own
/// example). Without this check a typo in a bound matched every profile.
fn bad_time_range(sq: &Square, filter: &Value) -> Option<Reply> {
    for field in ["created_at", "updated_at"] {
        let Some(range) = filter.get(field).filter(|r| r.is_object()) else {
            continue;
        };
        let mut bounds = [None, None];
        for (slot, bound) in bounds.iter_mut().zip(["start_at", "end_at"]) {
            let Some(text) = range.get(bound).and_then(Value::as_str) else {
                continue;
            };
            let path = format!("query.filter.{field}.{bound}");
            match time::parse_rfc3339(text) {
                Some(ms) => *slot = Some(ms),
                None => {
                    return Some(sq.error(
                        "INVALID_TIME",
                        Some(&format!("Expected `{path}` to be an RFC 3339 timestamp.")),
                        Some(&path),
                    ));
                }
            }
        }
        if let [Some(start), Some(end)] = bounds
            && end < start
        {
            return Some(sq.error(
                "INVALID_TIME_RANGE",
                Some(&format!(
                    "The end of `query.filter.{field}` is before its start."
                )),
                Some(&format!("query.filter.{field}")),
            ));
        }
    }
    None
}

fn in_range(range: &Value, at: &str) -> bool {
    let Some(at) = time::parse_rfc3339(at) else {
        return false;
    };
    let bound = |name: &str| {
        range
            .get(name)
            .and_then(Value::as_str)
            .and_then(time::parse_rfc3339)
    };
    bound("start_at").is_none_or(|s| at >= s) && bound("end_at").is_none_or(|e| at <= e)
}

fn set_matches(filter: &Value, values: &[&str]) -> bool {
    let list = |name: &str| -> Vec<&str> {
        filter
            .get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let (all, any, none) = (list("all"), list("any"), list("none"));
    all.iter().all(|v| values.contains(v))
        && (any.is_empty() || any.iter().any(|v| values.contains(v)))
        && !none.iter().any(|v| values.contains(v))
}

fn matches(c: &Customer, filter: &Value) -> bool {
    let present = |name: &str| filter.get(name).filter(|f| !f.is_null());
    let ids = |name: &str| -> Vec<&str> {
        c.fields
            .get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    present("email_address").is_none_or(|f| text_matches(f, c.text("email_address"), false))
        && present("phone_number").is_none_or(|f| text_matches(f, c.text("phone_number"), true))
        && present("reference_id").is_none_or(|f| text_matches(f, c.text("reference_id"), false))
        && present("created_at").is_none_or(|r| in_range(r, &c.created_at))
        && present("updated_at").is_none_or(|r| in_range(r, &c.updated_at))
        && present("group_ids").is_none_or(|f| set_matches(f, &ids("group_ids")))
        && present("segment_ids").is_none_or(|f| set_matches(f, &ids("segment_ids")))
        && present("creation_source").is_none_or(|f| {
            let values: Vec<&str> = f
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let hit = values.contains(&c.creation_source.as_str());
            match f.get("rule").and_then(Value::as_str) {
                Some("EXCLUDE") => !hit,
                _ => hit,
            }
        })
        // Profiles here carry no custom attributes, so a filter on them matches none.
        && present("custom_attribute").is_none_or(|f| {
            f.get("filters")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        })
}

pub fn search(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let body = call.body.cloned().unwrap_or_else(|| json!({}));
    let limit = body
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_LIMIT, |l| l as usize);
    let filter = body
        .pointer("/query/filter")
        .cloned()
        .unwrap_or(Value::Null);
    let field = body
        .pointer("/query/sort/field")
        .and_then(Value::as_str)
        .unwrap_or("DEFAULT");
    let order = body
        .pointer("/query/sort/order")
        .and_then(Value::as_str)
        .unwrap_or("ASC");
    let count = body.get("count").and_then(Value::as_bool) == Some(true);
    let cursor = body.get("cursor").and_then(Value::as_str);
    if let Some(field) = both_exact_and_fuzzy(&filter) {
        return sq.error(
            "CONFLICTING_PARAMETERS",
            Some("A text filter can be exact or fuzzy, but it cannot be both."),
            Some(&format!("query.filter.{field}")),
        );
    }
    if let Some(refused) = bad_time_range(sq, &filter) {
        return refused;
    }
    sq.tenants.with(&tenant.key, |state| {
        let found = state
            .customers()
            .into_iter()
            .filter(|c| filter.is_null() || matches(c, &filter))
            .collect();
        let req = PageRequest {
            field,
            order,
            cursor,
            limit,
            count,
        };
        listing(sq, call, state, found, req)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones_are_checked_like_square() {
        assert!(is_email("amelia.earhart@example.com"));
        assert!(!is_email("amelia"));
        assert!(!is_email("amelia@example"));
        assert!(!is_email("a b@example.com"));
        assert!(is_phone("+1-212-555-4240"));
        assert!(is_phone("(212) 555 4240"));
        assert!(!is_phone("12345"));
        assert!(!is_phone("+1-212-555-4240-0000000"));
        assert!(!is_phone("call me"));
    }

    #[test]
    fn birthdays_take_two_forms() {
        assert_eq!(birthday("1990-05-01").as_deref(), Some("1990-05-01"));
        assert_eq!(birthday("05-01").as_deref(), Some("0000-05-01"));
        assert_eq!(birthday("1990-13-01"), None);
        assert_eq!(birthday("May 1st"), None);
    }

    #[test]
    fn fuzzy_text_needs_every_token() {
        let f = json!({"fuzzy": "example.com"});
        assert!(text_matches(&f, Some("Amelia@Example.com"), false));
        assert!(!text_matches(&f, Some("amelia@example.org"), false));
        let exact = json!({"exact": "+12125554240"});
        assert!(text_matches(&exact, Some("+1-212-555-4240"), true));
    }
}
