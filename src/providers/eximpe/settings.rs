//! Account settings: which credentials the sandbox accepts, which clients lack permission,
//! and the API version served when a request names none.

use super::version::ApiVersion;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Registered client id → secret. A registered id must send its secret.
    pub credentials: BTreeMap<String, String>,
    /// When true, only registered client ids are accepted.
    pub only_registered: bool,
    /// Client ids that authenticate but have no permission for the card-token API (403).
    pub forbidden_clients: BTreeSet<String>,
    /// Served when `X-API-Version` is absent, as written in the settings.
    pub default_api_version: String,
}

pub const DEFAULT_API_VERSION: &str = "2.0.0";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            credentials: BTreeMap::new(),
            only_registered: false,
            forbidden_clients: BTreeSet::new(),
            default_api_version: DEFAULT_API_VERSION.to_string(),
        }
    }
}

/// What the credential check decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Granted,
    InvalidCredentials,
    Forbidden,
}

impl Settings {
    pub fn default_version(&self) -> ApiVersion {
        ApiVersion::parse(&self.default_api_version).unwrap_or(ApiVersion::V2)
    }

    pub fn access(&self, client_id: &str, secret: &str) -> Access {
        match self.credentials.get(client_id) {
            Some(expected) if expected != secret => return Access::InvalidCredentials,
            None if self.only_registered => return Access::InvalidCredentials,
            _ => {}
        }
        if self.forbidden_clients.contains(client_id) {
            return Access::Forbidden;
        }
        Access::Granted
    }

    /// Applies a settings object. Every key is checked before any is applied, so a refused
    /// object changes nothing. `credentials` merges (a `null` secret unregisters the id);
    /// the other settings replace their value.
    pub fn apply(&mut self, settings: &Value) -> Result<(), String> {
        let map = settings
            .as_object()
            .ok_or("eximpe settings must be a JSON object")?;
        let mut next = self.clone();
        for (key, value) in map {
            match key.as_str() {
                "credentials" => merge_credentials(&mut next.credentials, value)?,
                "only_registered" => {
                    next.only_registered = value
                        .as_bool()
                        .ok_or("only_registered must be true or false")?;
                }
                "forbidden_clients" => {
                    next.forbidden_clients = value
                        .as_array()
                        .ok_or("forbidden_clients must be an array of client ids")?
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .filter(|s| !s.trim().is_empty())
                                .map(|s| s.trim().to_string())
                                .ok_or("forbidden_clients must be an array of client ids")
                        })
                        .collect::<Result<_, _>>()?;
                }
                "default_api_version" => {
                    let v = value
                        .as_str()
                        .ok_or("default_api_version must be a string such as \"2.0.0\"")?;
                    if ApiVersion::parse(v).is_none() {
                        return Err(format!(
                            "default_api_version must be 1.x.x, 2.x.x or 3.x.x, not {v:?}"
                        ));
                    }
                    next.default_api_version = v.to_string();
                }
                other => {
                    return Err(format!(
                        "unknown eximpe setting {other:?} (known: credentials, only_registered, forbidden_clients, default_api_version)"
                    ));
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// Registers one pair (the admin endpoint's form).
    pub fn register(&mut self, client_id: &str, secret: &str) {
        self.credentials
            .insert(client_id.to_string(), secret.to_string());
    }

    pub fn to_json(&self) -> Value {
        json!({
            "credentials": self.credentials,
            "only_registered": self.only_registered,
            "forbidden_clients": self.forbidden_clients,
            "default_api_version": self.default_api_version,
        })
    }
}

fn merge_credentials(into: &mut BTreeMap<String, String>, value: &Value) -> Result<(), String> {
    let pairs: &Map<String, Value> = value
        .as_object()
        .ok_or("credentials must be an object of client id → secret")?;
    for (id, secret) in pairs {
        if id.trim().is_empty() {
            return Err("credentials: a client id may not be empty".into());
        }
        match secret {
            Value::Null => {
                into.remove(id.trim());
            }
            Value::String(s) if !s.trim().is_empty() => {
                into.insert(id.trim().to_string(), s.trim().to_string());
            }
            _ => {
                return Err(format!(
                    "credentials.{id} must be a non-empty secret string (or null to unregister)"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_pair_passes_until_ids_are_registered() {
        let mut s = Settings::default();
        assert_eq!(s.access("anyone", "anything"), Access::Granted);
        s.apply(&json!({"credentials": {"merchant-a": "s3cret"}}))
            .unwrap();
        assert_eq!(s.access("merchant-a", "s3cret"), Access::Granted);
        assert_eq!(s.access("merchant-a", "wrong"), Access::InvalidCredentials);
        assert_eq!(s.access("anyone", "anything"), Access::Granted);
        s.apply(&json!({"only_registered": true})).unwrap();
        assert_eq!(s.access("anyone", "anything"), Access::InvalidCredentials);
        s.apply(&json!({"credentials": {"merchant-a": null}, "only_registered": false}))
            .unwrap();
        assert_eq!(s.access("merchant-a", "wrong"), Access::Granted);
    }

    #[test]
    fn forbidden_clients_pass_authentication_but_not_permission() {
        let mut s = Settings::default();
        s.apply(&json!({"forbidden_clients": ["read-only"]}))
            .unwrap();
        assert_eq!(s.access("read-only", "x"), Access::Forbidden);
    }

    #[test]
    fn a_refused_object_changes_nothing() {
        let mut s = Settings::default();
        let err = s
            .apply(&json!({"only_registered": true, "default_api_version": "4.0.0"}))
            .unwrap_err();
        assert!(err.contains("default_api_version"), "{err}");
        assert!(!s.only_registered);
        assert!(s.apply(&json!({"colour": "red"})).is_err());
        assert!(s.apply(&json!({"credentials": {"a": 5}})).is_err());
    }
}
