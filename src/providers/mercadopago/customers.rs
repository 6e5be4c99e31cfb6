//! Customers: create, get, update, delete, search.

use super::MercadoPago;
use super::account;
use super::state::{Address, Customer, Identification, Phone};
use super::store::Account;
use super::timefmt;
use crate::providers::Call;
use crate::reply::{Reply, object};
use serde_json::{Value, json};

/// Enough of RFC 5322 to tell an address from a typo, as Mercado Pago's 106 does.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    // The address forms the spec's `format: email` allows and Mercado Pago answers 106 for
    // the rest: a dot-atom local part (no quoted strings) and a dotted host name.
    let atom = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let dot_atom = |s: &str, allowed: &dyn Fn(char) -> bool| {
        !s.is_empty()
            && s.split('.')
                .all(|part| !part.is_empty() && part.chars().all(allowed))
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    dot_atom(local, &atom) && domain.contains('.') && domain.split('.').all(label)
}

/// `test_payer_[0-9]{1,10}@testuser.com`, the only emails test credentials may use (128).
fn test_payer_email(email: &str) -> bool {
    email
        .strip_prefix("test_payer_")
        .and_then(|r| r.strip_suffix("@testuser.com"))
        .is_some_and(|n| (1..=10).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

fn text(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_string)
}

/// Copies the fields present in `body` onto the customer (create and update alike).
fn apply(c: &mut Customer, body: &Value) {
    for (field, slot) in [
        ("first_name", &mut c.first_name),
        ("last_name", &mut c.last_name),
        ("default_address", &mut c.default_address),
        ("description", &mut c.description),
        ("default_card", &mut c.default_card),
    ] {
        if let Some(v) = text(body, field) {
            *slot = Some(v);
        }
    }
    // Any ISO form is accepted (it was checked: 115 otherwise) and kept as the date-time
    // the answer's schema promises, in Mercado Pago's own rendering.
    if let Some(date) = body
        .get("date_registered")
        .and_then(Value::as_str)
        .and_then(timefmt::normalize)
    {
        c.date_registered = Some(date);
    }
    if let Some(p) = body.get("phone") {
        let old = std::mem::take(&mut c.phone);
        c.phone = Phone {
            area_code: text(p, "area_code").or(old.area_code),
            number: text(p, "number").or(old.number),
        };
    }
    if let Some(i) = body.get("identification") {
        let old = std::mem::take(&mut c.identification);
        c.identification = Identification {
            kind: text(i, "type").or(old.kind),
            number: text(i, "number").or(old.number),
        };
    }
    if let Some(a) = body.get("address") {
        let old = std::mem::take(&mut c.address);
        c.address = Address {
            id: text(a, "id").or(old.id),
            zip_code: text(a, "zip_code").or(old.zip_code),
            street_name: text(a, "street_name").or(old.street_name),
            street_number: a
                .get("street_number")
                .filter(|v| !v.is_null())
                .cloned()
                .or(old.street_number),
        };
    }
    if let Some(m) = body.get("metadata").and_then(Value::as_object) {
        c.metadata = m.clone();
    }
}

impl MercadoPago {
    /// Field checks the spec cannot express (catalogue codes 106, 115, 128).
    fn check_customer_fields(&self, tenant: &str, body: &Value, creating: bool) -> Option<Reply> {
        if let Some(email) = body.get("email").and_then(Value::as_str) {
            if !valid_email(email) {
                return Some(self.error("106"));
            }
            if creating
                && self.settings().strict_test_emails
                && !account::live_mode(tenant)
                && !test_payer_email(email)
            {
                return Some(self.error("128"));
            }
        }
        if let Some(d) = body.get("date_registered").and_then(Value::as_str)
            && timefmt::normalize(d).is_none()
        {
            return Some(self.error("115"));
        }
        None
    }

    pub(super) fn create_customer(&self, call: &Call, tenant: &str, acct: &mut Account) -> Reply {
        let body = call.body.cloned().unwrap_or(Value::Null);
        let Some(email) = body.get("email").and_then(Value::as_str) else {
            return self.error("106");
        };
        if let Some(reply) = self.check_customer_fields(tenant, &body, true) {
            return reply;
        }
        if acct.email_taken(email) {
            return self.error("101");
        }
        let now = timefmt::offset(call.env.clock.now_ms());
        let mut customer = Customer {
            id: format!("{}-{}", account::user_id(tenant), call.env.ids.alnum(14)),
            email: email.to_string(),
            date_created: now.clone(),
            date_last_updated: now,
            ..Customer::default()
        };
        apply(&mut customer, &body);
        let reply = Reply::json(201, customer.render(tenant, "active"));
        acct.put_customer(customer);
        reply
    }

    pub(super) fn get_customer(&self, call: &Call, tenant: &str, acct: &Account) -> Reply {
        match acct.customer(call.param("customer_id")) {
            Some(c) => Reply::json(200, c.render(tenant, "active")),
            None => self.error("customer_not_found"),
        }
    }

    pub(super) fn update_customer(&self, call: &Call, tenant: &str, acct: &mut Account) -> Reply {
        let body = call.body.cloned().unwrap_or(Value::Null);
        let Some(customer) = acct.customer_mut(call.param("customer_id")) else {
            return self.error("customer_not_found");
        };
        if let Some(email) = body.get("email").and_then(Value::as_str)
            && !email.eq_ignore_ascii_case(&customer.email)
        {
            return self.error("126");
        }
        if let Some(reply) = self.check_customer_fields(tenant, &body, false) {
            return reply;
        }
        if let Some(card) = body.get("default_card").and_then(Value::as_str)
            && !customer.cards.iter().any(|c| c.id == card)
        {
            return self.error("120");
        }
        apply(customer, &body);
        customer.date_last_updated = timefmt::offset(call.env.clock.now_ms());
        Reply::json(200, customer.render(tenant, "active"))
    }

    /// Mercado Pago deactivates the customer; the sandbox then forgets it (and its cards),
    /// so its email can be used again and later reads answer 404.
    pub(super) fn delete_customer(&self, call: &Call, tenant: &str, acct: &mut Account) -> Reply {
        let id = call.param("customer_id");
        let Some(mut customer) = acct.remove_customer(id) else {
            return self.error("customer_not_found");
        };
        customer.date_last_updated = timefmt::offset(call.env.clock.now_ms());
        acct.remove_profiles_of(id);
        Reply::json(200, customer.render(tenant, "deactive"))
    }

    pub(super) fn search_customers(&self, call: &Call, tenant: &str, acct: &Account) -> Reply {
        let q = call.query;
        let number = |name: &str, default: usize| {
            q.get(name)
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(default)
        };
        let (limit, offset) = (number("limit", 30), number("offset", 0));
        let mut found: Vec<&Customer> = acct
            .search_candidates(q.get("id"), q.get("email"))
            .into_iter()
            .filter(|c| {
                q.get("email")
                    .is_none_or(|e| c.email.eq_ignore_ascii_case(e))
                    && q.get("id").is_none_or(|id| c.id == id)
                    && q.get("first_name")
                        .is_none_or(|n| c.first_name.as_deref() == Some(n))
                    && q.get("last_name")
                        .is_none_or(|n| c.last_name.as_deref() == Some(n))
            })
            .collect();
        if let Some(range) = q.get("range") {
            let field = |c: &Customer| -> Option<i64> {
                match range {
                    "date_created" => timefmt::parse(&c.date_created),
                    "date_last_updated" => timefmt::parse(&c.date_last_updated),
                    _ => c.date_registered.as_deref().and_then(timefmt::parse),
                }
            };
            if !["date_created", "date_last_updated", "date_registered"].contains(&range) {
                return self.error("201");
            }
            let bound = |name: &str, code: &str| match q.get(name) {
                None => Ok(None),
                Some(v) => timefmt::parse(v).map(Some).ok_or_else(|| self.error(code)),
            };
            let after = match bound("after", "202") {
                Ok(v) => v,
                Err(reply) => return reply,
            };
            let before = match bound("before", "203") {
                Ok(v) => v,
                Err(reply) => return reply,
            };
            found.retain(|c| {
                let t = field(c);
                after.is_none_or(|a| t.is_some_and(|t| t >= a))
                    && before.is_none_or(|b| t.is_some_and(|t| t <= b))
            });
        }
        if let Some(sort) = q.get("sort") {
            let Some((attr, order)) = sort.split_once(':') else {
                return self.error("208");
            };
            let key = |c: &Customer| -> String {
                match attr {
                    "id" => c.id.clone(),
                    "email" => c.email.to_ascii_lowercase(),
                    "first_name" => c.first_name.clone().unwrap_or_default(),
                    "last_name" => c.last_name.clone().unwrap_or_default(),
                    "date_last_updated" => c.date_last_updated.clone(),
                    "date_registered" => c.date_registered.clone().unwrap_or_default(),
                    _ => c.date_created.clone(),
                }
            };
            if ![
                "id",
                "email",
                "first_name",
                "last_name",
                "date_created",
                "date_last_updated",
                "date_registered",
            ]
            .contains(&attr)
            {
                return self.error("206");
            }
            match order {
                "asc" => found.sort_by_key(|c| key(c)),
                "desc" => {
                    found.sort_by_key(|c| key(c));
                    found.reverse();
                }
                _ => return self.error("207"),
            }
        }
        let total = found.len();
        let results: Vec<Value> = found
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|c| c.render(tenant, "active"))
            .collect();
        Reply::json(
            200,
            object([
                (
                    "paging",
                    json!({ "total": total, "limit": limit, "offset": offset }),
                ),
                ("results", Value::Array(results)),
            ]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_loosely_and_test_payers_strictly() {
        assert!(valid_email("ana@example.com"));
        assert!(!valid_email("ana.example.com"));
        assert!(!valid_email("ana@localhost"));
        assert!(valid_email("ana.maria+promo@sub-domain.example.com.br"));
        assert!(valid_email("joão@exemplo.com.br"));
        for bad in [
            "a\u{0}@x.com",
            "a@x..com",
            ".a@x.com",
            "a.@x.com",
            "a..b@x.com",
            "a@-x.com",
            "a@x-.com",
            "a@x.c_m",
            "\"a\"@x.com",
            "a b@x.com",
            "a@b@x.com",
            "@x.com",
        ] {
            assert!(!valid_email(bad), "{bad:?}");
        }
        assert!(test_payer_email("test_payer_12345@testuser.com"));
        assert!(!test_payer_email("test_payer_@testuser.com"));
        assert!(!test_payer_email("test_payer_12345678901@testuser.com"));
        assert!(!test_payer_email("ana@example.com"));
    }
}
