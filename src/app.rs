//! The request pipeline, one direction:
//!
//! ```text
//! route → read body (size limit) → authenticate → validate → handler or spec example
//!       → [strict: validate the answer] → provider headers → serialise
//! ```

use crate::admin;
use crate::config::Config;
use crate::env::Env;
use crate::journal::{Journal, Trace};
use crate::problem::{BodyProblem, Location};
use crate::providers::{self, Call, Provider, Query};
use crate::reply::{Body, Reply};
use crate::spec::{self, Operation, RouteMatch, Router, Spec};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Everything compiled at start-up, shared by every connection.
pub struct App {
    pub config: Config,
    pub env: Arc<Env>,
    operations: Vec<Operation>,
    router: Router,
    /// In [`providers::NAMES`] order. Three entries: a scan beats hashing the name, and every
    /// request looks its provider up.
    providers: Vec<Arc<dyn Provider>>,
    pub journal: Arc<Journal>,
    spec_count: usize,
    /// Scenario library and activations (loaded by `build_app`).
    pub scenarios: crate::scenario::Engine,
    /// The client for proxied requests and webhook deliveries (set up by `build_app`).
    pub outbound: Arc<crate::outbound::Outbound>,
}

/// What start-up compiled, for the one log line and `paysandbox check`.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub specs: usize,
    pub operations: usize,
}

impl App {
    pub fn new(config: Config, specs: Vec<Spec>) -> Result<(App, LoadReport), spec::SpecError> {
        let router = Router::build(&specs)?;
        let config_journal = config.journal_size;
        let env = Arc::new(Env::new(config.seed));
        let journal = Arc::new(Journal::new(config_journal));
        env.webhooks.attach_journal(journal.clone());
        let mut providers = providers::build(env.clone());
        providers.sort_by_key(|p| providers::NAMES.iter().position(|n| *n == p.name()));
        let spec_count = specs.len();
        let operations: Vec<Operation> = specs.into_iter().flat_map(|s| s.operations).collect();
        let report = LoadReport {
            specs: spec_count,
            operations: operations.len(),
        };
        Ok((
            App {
                config,
                env,
                operations,
                router,
                providers,
                journal,
                spec_count,
                scenarios: crate::scenario::Engine::default(),
                outbound: Arc::default(),
            },
            report,
        ))
    }

    pub fn spec_count(&self) -> usize {
        self.spec_count
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// Which operation a request is for (the proxy needs it before the pipeline runs).
    pub fn route(&self, method: &Method, path: &str) -> RouteMatch {
        self.router.resolve(method, path)
    }

    fn provider(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.iter().find(|p| p.name() == name)
    }

    /// The keys a tenant named in the admin API is filed under, one per distinct provider
    /// key, the name itself first.
    pub fn tenant_keys(&self, named: &str) -> Vec<String> {
        let mut keys = vec![named.to_string()];
        for p in self.providers() {
            let key = p.tenant_key(named);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// [`journal::Filter::tenant_keys`] for a filter naming `tenant`.
    pub fn filter_tenant_keys(&self, tenant: Option<&str>) -> Vec<String> {
        tenant.map(|t| self.tenant_keys(t)).unwrap_or_default()
    }

    /// Every provider module, in a stable order.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.providers.iter()
    }

    /// Serves one HTTP request. Never fails: every problem is an answer.
    pub async fn serve(
        &self,
        req: Request<Incoming>,
        peer: Option<std::net::SocketAddr>,
    ) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let at_ms = self.env.clock.now_ms();
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        if path == admin::PREFIX || path.starts_with("/__sandbox/") {
            return self.serve_admin(&parts, body, peer).await;
        }
        // `--proxy`: the provider's requests go to the real upstream instead.
        let body = match crate::proxy::forward(self, &parts, body).await {
            crate::proxy::Outcome::Forwarded(response) => return response,
            crate::proxy::Outcome::Local(body) => body,
        };
        let mut trace = Trace::default();
        let mut reply = self
            .pipeline(
                &parts.method,
                path,
                parts.uri.query(),
                &parts.headers,
                body,
                &mut trace,
            )
            .await;
        // Here, not in `answer`: SDKs read provider headers (Square-Version) on a 404, 405 or
        // unreadable-body answer too, which never reach the handler step.
        if let Some(provider) = trace.provider.as_deref().and_then(|p| self.provider(p)) {
            provider.finish(&parts.headers, &mut reply);
        }
        let status = reply.status;
        let (response, response_body) = render_with_body(reply);
        let latency_us = started.elapsed().as_micros() as u64;
        crate::request_log::log(crate::request_log::Line {
            method: parts.method.as_str(),
            path: &crate::mask::mask_text(path),
            operation: trace.operation.as_deref().unwrap_or("-"),
            status,
            micros: latency_us,
        });
        if self.journal.enabled() {
            self.journal.record(
                at_ms,
                parts.method.as_str(),
                path,
                parts.uri.query(),
                &parts.headers,
                trace,
                status,
                latency_us,
                &response_body,
            );
        }
        response
    }

    /// An admin request on the main port: refused when the admin API has its own port.
    async fn serve_admin(
        &self,
        parts: &hyper::http::request::Parts,
        body: Incoming,
        peer: Option<std::net::SocketAddr>,
    ) -> Response<Full<Bytes>> {
        if !self.config.admin_on_main_port && peer.is_some() {
            return render(Reply::neutral(
                404,
                "the admin API is served on its own port (--admin-port)",
            ));
        }
        render(self.admin_request(parts, body, peer).await)
    }

    /// Serves only the admin API (the `--admin-port` listener).
    pub async fn serve_admin_only(
        &self,
        req: Request<Incoming>,
        peer: Option<std::net::SocketAddr>,
    ) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        if !(parts.uri.path() == admin::PREFIX || parts.uri.path().starts_with("/__sandbox/")) {
            return render(Reply::neutral(
                404,
                "this port serves only the admin API under /__sandbox/",
            ));
        }
        render(self.admin_request(&parts, body, peer).await)
    }

    async fn admin_request(
        &self,
        parts: &hyper::http::request::Parts,
        body: Incoming,
        peer: Option<std::net::SocketAddr>,
    ) -> Reply {
        if !admin::allowed(self, peer, &parts.headers) {
            return providers::admin_error(
                403,
                "the admin API only answers loopback clients unless --admin-token is set and sent",
            );
        }
        if self.declares_too_much(&parts.headers) {
            return providers::admin_error(413, "the request body is too large");
        }
        let read = std::pin::pin!(Limited::new(body, self.config.body_limit).collect());
        match within(self.config.idle_timeout, read).await {
            Err(_) => providers::admin_error(400, self.body_too_slow()),
            Ok(Err(_)) => providers::admin_error(413, "the request body is too large"),
            Ok(Ok(c)) => {
                let bytes = c.to_bytes();
                let serve = |method: &Method| {
                    admin::serve(
                        self,
                        method,
                        parts.uri.path(),
                        parts.uri.query(),
                        &parts.headers,
                        &bytes,
                    )
                };
                // HEAD is GET without the body (hyper drops it) wherever GET is served:
                // `wget --spider` and `curl -fI` health checks send it. Admin GETs only read.
                if parts.method == Method::HEAD {
                    let reply = serve(&Method::GET);
                    if reply.status != 405 {
                        return reply;
                    }
                }
                serve(&parts.method)
            }
        }
    }

    /// Whether a request's `Content-Length` is over the body limit: such a request is refused
    /// before a byte of its body is read (and before `Expect: 100-continue` is answered).
    /// hyper has already refused a malformed or conflicting length.
    pub fn declares_too_much(&self, headers: &HeaderMap) -> bool {
        headers
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > self.config.body_limit as u64)
    }

    /// A body that stopped arriving before its end (a Content-Length larger than what was
    /// sent, a chunked body never finished).
    fn body_too_slow(&self) -> String {
        format!(
            "the request body did not arrive in full within {} s (is Content-Length larger than the body?)",
            self.config.idle_timeout.as_secs()
        )
    }

    async fn pipeline<'s>(
        &'s self,
        method: &Method,
        path: &str,
        raw_query: Option<&str>,
        headers: &HeaderMap,
        body: Incoming,
        trace: &mut Trace<'s>,
    ) -> Reply {
        let (operation, params) = match self.router.resolve(method, path) {
            RouteMatch::Found { operation, params } => (&self.operations[operation], params),
            RouteMatch::MethodNotAllowed { provider, allowed } => {
                let reply = match self.provider(&provider) {
                    Some(p) => p.method_not_allowed(method, path, &allowed),
                    None => Reply::neutral(405, "method not allowed"),
                };
                trace.provider = Some(provider.into());
                let allow = allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                return reply.with_header("allow", allow);
            }
            RouteMatch::NotFound { provider } => {
                trace.provider = provider.clone().map(Into::into);
                return match provider.as_deref().and_then(|p| self.provider(p)) {
                    Some(p) => p.not_found(method, path),
                    None => Reply::neutral(404, "no provider serves this path"),
                };
            }
        };
        trace.provider = Some(operation.provider.as_str().into());
        trace.operation = Some(operation.id.as_str().into());
        let Some(provider) = self.provider(&operation.provider) else {
            return Reply::neutral(500, "no provider module for this spec");
        };

        if self.declares_too_much(headers) {
            let problem = BodyProblem::TooLarge {
                limit: self.config.body_limit,
            };
            return provider.unreadable(Some(operation), &problem);
        }
        // A body shorter than its Content-Length would otherwise hold the connection (and
        // its slot) forever: it gets the idle timeout that headers get.
        let read = std::pin::pin!(Limited::new(body, self.config.body_limit).collect());
        let bytes = match within(self.config.idle_timeout, read).await {
            Err(_) => {
                tracing::warn!(operation = %operation.id, "{}", self.body_too_slow());
                return provider.unreadable(Some(operation), &BodyProblem::Incomplete);
            }
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) => {
                let problem = if e.is::<http_body_util::LengthLimitError>() {
                    BodyProblem::TooLarge {
                        limit: self.config.body_limit,
                    }
                } else {
                    BodyProblem::Incomplete
                };
                return provider.unreadable(Some(operation), &problem);
            }
        };
        trace.request_body = bytes.clone();
        let query = Query::parse(raw_query);
        self.answer(
            provider.as_ref(),
            operation,
            method,
            path,
            &params,
            &query,
            headers,
            &bytes,
            trace,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &self,
        provider: &dyn Provider,
        op: &Operation,
        method: &Method,
        path: &str,
        params: &[(String, String)],
        query: &Query,
        headers: &HeaderMap,
        bytes: &Bytes,
        trace: &mut Trace<'_>,
    ) -> Reply {
        // Bodies are read only where the operation declares one: body-less POSTs such as
        // DisableCard are sent with no Content-Type and must not trip validation.
        let body = match (&op.body, bytes.iter().all(u8::is_ascii_whitespace)) {
            (None, _) => None,
            (Some(_), true) if op.body_required => {
                return provider.unreadable(Some(op), &BodyProblem::Empty);
            }
            (Some(_), true) => None,
            (Some(_), false) => match crate::request_body::parse(bytes) {
                Ok(v) => Some(v),
                Err(e) => {
                    return provider.unreadable(
                        Some(op),
                        &BodyProblem::Malformed {
                            line: e.line(),
                            column: e.column(),
                            reason: e.to_string(),
                        },
                    );
                }
            },
        };

        let call = Call {
            op,
            method,
            path,
            params,
            query,
            headers,
            body: body.as_ref(),
            env: &self.env,
        };
        let mut reply = self.answer_call(provider, &call, trace);
        if self.config.strict && !crate::scenario::wire::forced() {
            check_strict(op, &mut reply);
        }
        reply
    }

    fn answer_call(&self, provider: &dyn Provider, call: &Call, trace: &mut Trace<'_>) -> Reply {
        let tenant = match provider.authenticate(call) {
            Ok(t) => t,
            Err(reply) => return reply,
        };
        let reply = self.answer_tenant(provider, call, &tenant, trace);
        trace.tenant = Some(tenant.key);
        reply
    }

    /// Validation, scenarios and the handler, for a request whose tenant is known.
    fn answer_tenant(
        &self,
        provider: &dyn Provider,
        call: &Call,
        tenant: &providers::Tenant,
        trace: &mut Trace<'_>,
    ) -> Reply {
        let mut errors = spec::validate_params(call.op, |p| match p.location {
            Location::Path => call
                .params
                .iter()
                .find(|(k, _)| *k == p.name)
                .map(|(_, v)| vec![v.as_str()]),
            Location::Query => Some(call.query.all(&p.name)),
            Location::Header => Some(match &p.header {
                Some(name) => call
                    .headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect(),
                None => Vec::new(),
            }),
            Location::Body => None,
        });
        if let Some(body) = call.body {
            errors.extend(spec::validate_body(call.op, body));
        }
        if !errors.is_empty() {
            return provider.invalid(call, &errors);
        }
        // Time inside a handler is the tenant's own sandbox time (global + its clock offset).
        let _clock = self.env.clock.enter_tenant(&tenant.key);
        let decision = self.scenarios.intercept(provider, call, tenant);
        trace.scenario = decision.rule;
        let reply = match decision.answer {
            Some(reply) => reply,
            None => match provider.handle(call, tenant) {
                Some(reply) => reply,
                None => example_reply(call.op),
            },
        };
        // A rule's `then_state` is the state after its answer: the next request sees it.
        match self
            .scenarios
            .apply_then_state(provider, tenant, decision.then_state)
        {
            Ok(()) => reply,
            Err(refused) => refused,
        }
    }
}

/// `future`, unless it takes longer than `limit`. A small body has nearly always arrived with
/// its headers: that case is answered on the first poll, without arming a timer.
/// The future is borrowed, pinned where the caller keeps it, so it is not moved per request.
async fn within<F: std::future::Future>(
    limit: std::time::Duration,
    mut future: std::pin::Pin<&mut F>,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx))).await;
    match first {
        std::task::Poll::Ready(output) => Ok(output),
        std::task::Poll::Pending => tokio::time::timeout(limit, future).await,
    }
}

/// The spec's documented success answer, for operations without a stateful handler.
fn example_reply(op: &Operation) -> Reply {
    match &op.example {
        Some((status, Value::Null)) => Reply::empty(*status),
        Some((status, body)) => Reply::json(*status, body.clone()),
        None => Reply::json(200, json!({})),
    }
}

/// Strict mode: an answer that breaks its own spec becomes a loud 500 naming the schema.
fn check_strict(op: &Operation, reply: &mut Reply) {
    let written;
    let body = match &reply.body {
        Some(Body::Tree(tree)) => tree,
        Some(Body::Written(_)) => {
            written = reply.tree().unwrap_or(Value::Null);
            &written
        }
        None => &Value::Null,
    };
    let violation = spec::validate_response(op, reply.status, body).err();
    if let Some(v) = violation {
        tracing::error!(operation = %op.id, status = reply.status, schema = %v.schema, problem = %v.problem, "strict mode: response breaks the spec");
        *reply = Reply::json(
            500,
            json!({
                "paysandbox_strict_violation": {
                    "operation": op.id,
                    "status": reply.status,
                    "schema": v.schema,
                    "problem": v.problem,
                }
            }),
        );
    }
}

/// Serialises a reply into an HTTP response.
pub fn render(reply: Reply) -> Response<Full<Bytes>> {
    render_with_body(reply).0
}

/// [`render`], also handing back the body it wrote (shared, not copied) for the journal.
fn render_with_body(reply: Reply) -> (Response<Full<Bytes>>, Bytes) {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = reply.encode();
    let mut response = Response::new(Full::new(body.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if reply.body.is_some() {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(n, v);
        }
    }
    (response, body)
}
