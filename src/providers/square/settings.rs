//! Square's provider settings (`POST /__sandbox/square/settings`, a scenario's `settings`):
//! the nonce lifetime, the default delivery of webhook events, and webhook subscriptions
//! declared as configuration. Read whole before anything applies; every problem names where
//! it is, as a JSON pointer (for a scenario file's line) and in its message.

use crate::webhooks::{self, Delivery, NewSubscription, StoredSubscription};
use serde_json::Value;

/// Settings, checked.
#[derive(Default)]
pub struct Parsed {
    pub nonce_ttl_seconds: Option<i64>,
    /// `access_tokens: [...]`: the only bearer tokens accepted from now on (an empty list
    /// accepts any well-formed token again, the default).
    pub access_tokens: Option<Vec<String>>,
    /// `webhooks: {delay_ms, duplicate, ...}`: the default delivery, when any such key is set.
    pub delivery: Option<Delivery>,
    /// `webhooks: {subscriptions: [...]}`.
    pub subscriptions: Vec<NewSubscription>,
}

/// A JSON pointer as a dotted path for messages: `/a/0/b` → `.a[0].b`.
pub fn dotted(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                format!("[{s}]")
            } else {
                format!(".{}", s.replace("~1", "/").replace("~0", "~"))
            }
        })
        .collect()
}

/// Deserialises one entry, the error as (pointer within it, message).
fn entry<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = crate::scenario::load::pointer_of(e.path());
        let message = e.inner().to_string();
        // serde names the map holding an unknown field; point at the field itself.
        if let Some(field) = crate::scenario::load::unknown_field(&message)
            && !pointer.ends_with(&format!("/{field}"))
        {
            pointer.push('/');
            pointer.push_str(&field);
        }
        (pointer, message)
    })
}

pub fn read(settings: &Value) -> Result<Parsed, (String, String)> {
    let Some(map) = settings.as_object() else {
        return Err((
            String::new(),
            "square settings must be a JSON object".into(),
        ));
    };
    let mut out = Parsed::default();
    for (name, value) in map {
        match name.as_str() {
            "webhooks" => read_webhooks(value, &mut out)?,
            "nonce_ttl_seconds" => match value.as_i64() {
                Some(s) if s > 0 => out.nonce_ttl_seconds = Some(s),
                _ => {
                    return Err((
                        "/nonce_ttl_seconds".into(),
                        "nonce_ttl_seconds must be a positive integer".into(),
                    ));
                }
            },
            "access_tokens" => {
                let tokens = value.as_array().and_then(|list| {
                    list.iter()
                        .map(|t| {
                            t.as_str()
                                .filter(|t| !t.is_empty() && super::is_well_formed_token(t))
                                .map(str::to_string)
                        })
                        .collect::<Option<Vec<_>>>()
                });
                let Some(tokens) = tokens else {
                    return Err((
                        "/access_tokens".into(),
                        "access_tokens must be a list of access tokens (non-empty strings of the characters a bearer token may hold)".into(),
                    ));
                };
                out.access_tokens = Some(tokens);
            }
            other => {
                // The settings as a whole: the unknown key's value is not the mistake.
                return Err((
                    String::new(),
                    format!(
                        "square has no setting `{other}` (known: access_tokens, nonce_ttl_seconds, webhooks)"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn read_webhooks(value: &Value, out: &mut Parsed) -> Result<(), (String, String)> {
    let Some(map) = value.as_object() else {
        return Err((
            "/webhooks".into(),
            "webhooks must be a mapping of delivery settings (delay_ms, duplicate, reorder, ...) and subscriptions".into(),
        ));
    };
    let mut delivery = map.clone();
    let subscriptions = delivery.remove("subscriptions");
    // Subscriptions alone leave the default delivery as it is.
    if !delivery.is_empty() {
        let d: Delivery = entry(&Value::Object(delivery)).map_err(|(at, e)| {
            (
                format!("/webhooks{at}"),
                format!("webhooks{}: {e}", dotted(&at)),
            )
        })?;
        if d.max_attempts == 0 {
            return Err((
                "/webhooks/max_attempts".into(),
                "webhooks.max_attempts must be at least 1".into(),
            ));
        }
        out.delivery = Some(d);
    }
    let Some(subscriptions) = subscriptions else {
        return Ok(());
    };
    let Value::Array(list) = subscriptions else {
        return Err((
            "/webhooks/subscriptions".into(),
            "webhooks.subscriptions must be a list of {tenant, notification_url, event_types, signature_key, delivery}".into(),
        ));
    };
    for (i, item) in list.iter().enumerate() {
        let fail = |at: String, e: String| {
            (
                format!("/webhooks/subscriptions/{i}{at}"),
                format!("webhooks.subscriptions[{i}]{}: {e}", dotted(&at)),
            )
        };
        let new: NewSubscription = entry(item).map_err(|(at, e)| fail(at, e))?;
        webhooks::check(
            &new.tenant,
            &new.notification_url,
            &new.event_types,
            new.delivery.as_ref(),
        )
        .map_err(|(at, e)| fail(at, e))?;
        out.subscriptions.push(new);
    }
    Ok(())
}

/// A tenant's `webhook_subscriptions` from a state export, checked.
pub fn stored_subscriptions(tenant: &str, list: &Value) -> Result<Vec<StoredSubscription>, String> {
    let Value::Array(items) = list else {
        return Err(format!(
            "square state at `{}`: a list of subscriptions",
            super::WEBHOOK_SUBSCRIPTIONS
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let fail = |at: &str, e: String| {
            format!(
                "square state at `{}[{i}]{}`: {e}",
                super::WEBHOOK_SUBSCRIPTIONS,
                dotted(at)
            )
        };
        let stored: StoredSubscription = entry(item).map_err(|(at, e)| fail(&at, e))?;
        if stored.id.trim().is_empty() {
            return Err(fail("/id", "a subscription needs its id".into()));
        }
        webhooks::check(
            tenant,
            &stored.notification_url,
            &stored.event_types,
            stored.delivery.as_ref(),
        )
        .map_err(|(at, e)| fail(&at, e))?;
        out.push(stored);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn problems_name_their_place() {
        assert_eq!(
            dotted("/webhooks/subscriptions/0/event_types/1"),
            ".webhooks.subscriptions[0].event_types[1]"
        );
        let bad = json!({"webhooks": {"delay_ms": 5, "subscriptions": [
            {"tenant": "t", "notification_url": "http://127.0.0.1:1/h", "event_types": ["card.created", "card.update"]}
        ]}});
        let (at, message) = read(&bad).err().expect("refused");
        assert_eq!(at, "/webhooks/subscriptions/0/event_types/1");
        assert!(
            message.starts_with("webhooks.subscriptions[0].event_types[1]: unknown event type `card.update` (did you mean card.updated?)"),
            "{message}"
        );
        let typo = json!({"webhooks": {"subscriptions": [{"tenant": "t", "notification_url": "http://h/", "event_type": []}]}});
        let (at, message) = read(&typo).err().expect("refused");
        assert_eq!(at, "/webhooks/subscriptions/0/event_type");
        assert!(
            message.starts_with("webhooks.subscriptions[0].event_type: unknown field `event_type`"),
            "{message}"
        );
        let ok = read(&json!({"webhooks": {"subscriptions": []}})).expect("fine");
        assert!(
            ok.delivery.is_none(),
            "subscriptions alone keep the default delivery"
        );
    }
}
