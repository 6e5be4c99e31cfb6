//! What a credential says about its account: the user id, the application (client) id and
//! whether it is a production credential.
//!
//! Real access tokens read `TEST-<app id>-<date>-<hash>-<user id>`; the user id is their
//! last dash-separated segment when it is a number, otherwise a stable 9-digit number
//! derived from the whole token (FNV-1a), so any well-formed token gets an account.

use crate::digest::fnv1a;

/// The credential without the `public:` marker card tokens made with a public key carry.
fn credential(tenant: &str) -> &str {
    tenant.strip_prefix("public:").unwrap_or(tenant)
}

/// A tenant key for a token created with a public key.
pub fn is_public(tenant: &str) -> bool {
    tenant.starts_with("public:")
}

/// Production credentials (`APP_USR-`) act on live data; `TEST-` ones do not.
pub fn live_mode(tenant: &str) -> bool {
    credential(tenant).starts_with("APP_USR-")
}

fn numeric(segment: &str, max_len: usize) -> Option<i64> {
    (!segment.is_empty()
        && segment.len() <= max_len
        && segment.bytes().all(|b| b.is_ascii_digit())
        && !segment.starts_with('0'))
    .then(|| segment.parse().ok())?
}

pub fn user_id(tenant: &str) -> i64 {
    let token = credential(tenant);
    let last = token.rsplit('-').next().unwrap_or_default();
    let prefixless = token.split_once('-').map(|(_, r)| r).unwrap_or_default();
    if prefixless.contains('-')
        && let Some(n) = numeric(last, 15)
    {
        return n;
    }
    100_000_000 + (fnv1a(token.as_bytes()) % 900_000_000) as i64
}

pub fn client_id(tenant: &str) -> i64 {
    let token = credential(tenant);
    let mut parts = token.split('-');
    parts.next();
    match parts.next().and_then(|app| numeric(app, 18)) {
        Some(n) if token.matches('-').count() >= 2 => n,
        _ => {
            1_000_000_000_000_000
                + (fnv1a(format!("client:{token}").as_bytes()) % 9_000_000_000_000_000) as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_shaped_tokens_name_their_user_and_application() {
        let t = "TEST-8237283748732847-052210-6b2f3c9e4d5a6b7c8d9e0f1a2b3c4d5e-448870796";
        assert_eq!(user_id(t), 448870796);
        assert_eq!(client_id(t), 8237283748732847);
        assert!(!live_mode(t));
        assert!(live_mode("APP_USR-1-2-3-4"));
        assert!(!live_mode("public:TEST-abc"));
    }

    #[test]
    fn other_tokens_get_a_stable_nine_digit_user() {
        let a = user_id("TEST-alice");
        assert_eq!(a, user_id("TEST-alice"));
        assert_ne!(a, user_id("TEST-bob"));
        assert!((100_000_000..1_000_000_000).contains(&a));
        // A single numeric segment is not a user id on its own.
        assert!((100_000_000..1_000_000_000).contains(&user_id("TEST-1234")));
        assert!(client_id("TEST-alice") >= 1_000_000_000_000_000);
    }
}
