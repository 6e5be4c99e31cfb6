//! Sandbox-only endpoints under `/__sandbox/eximpe/`:
//!
//! - `GET  /settings`: the settings in force (the form `POST /settings` takes).
//! - `POST /credentials` `{"client_id", "client_secret"}`: registers a pair; from then on that
//!   client id needs that secret.
//! - `GET  /credentials`: the registered client ids (not their secrets).
//! - `DELETE /credentials/{client_id}`: forgets a registered pair.

use super::Eximpe;
use crate::providers::{AdminCall, admin_error};
use crate::reply::Reply;
use hyper::Method;
use serde_json::{Value, json};

impl Eximpe {
    pub(super) fn serve_admin(&self, call: &AdminCall) -> Option<Reply> {
        let path = call.path.trim_end_matches('/');
        match (call.method, path) {
            (&Method::GET, "/settings") => Some(Reply::json(200, self.settings.read().to_json())),
            (&Method::GET, "/credentials") => {
                let s = self.settings.read();
                Some(Reply::json(
                    200,
                    json!({
                        "client_ids": s.credentials.keys().collect::<Vec<_>>(),
                        "only_registered": s.only_registered,
                    }),
                ))
            }
            (&Method::POST, "/credentials") => Some(self.register(call)),
            (&Method::DELETE, p) if p.starts_with("/credentials/") => {
                let raw = &p["/credentials/".len()..];
                let id = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
                let removed = self.settings.write().credentials.remove(id.as_ref());
                Some(match removed {
                    Some(_) => Reply::json(200, json!({ "client_id": id, "registered": false })),
                    None => admin_error(404, format!("client id {id:?} is not registered")),
                })
            }
            _ => None,
        }
    }

    fn register(&self, call: &AdminCall) -> Reply {
        let body = match &call.body {
            Ok(Some(b)) => b,
            Ok(None) => {
                return admin_error(400, "send {\"client_id\": ..., \"client_secret\": ...}");
            }
            Err(e) => return admin_error(400, e.clone()),
        };
        let field = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
            return admin_error(
                400,
                "client_id and client_secret must both be non-empty strings",
            );
        };
        self.settings.write().register(id, secret);
        Reply::json(201, json!({ "client_id": id, "registered": true }))
    }
}
