//! The loaded scenarios, which are active where, and the decision for one request.
//!
//! Activations, first firing rule wins, in this order: the request's `X-Sandbox-Scenario`
//! names, then the tenant's (admin API), then the global ones (`--scenario`). `times` and
//! `after` count matches per scenario, rule and tenant, so parallel tests with their own
//! credentials never share a count.

use super::load::{Checker, LoadErrors, Problem};
use super::model::{Delay, Respond, Rule, Scenario};
use super::wire;
use crate::providers::{Call, Provider, Tenant, admin_error};
use crate::reply::Reply;
use crate::spec::Operation;
use parking_lot::{Mutex, RwLock};
use rand::RngExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const HEADER: &str = "x-sandbox-scenario";
/// [`HEADER`], parsed once: it is looked up on every request.
const HEADER_NAME: hyper::header::HeaderName = hyper::header::HeaderName::from_static(HEADER);

/// Seconds sent in `Retry-After` on a 429 or 5xx when the scenario names none.
pub const DEFAULT_RETRY_AFTER: &str = "1";

#[derive(Default)]
pub struct Engine {
    checker: Option<Checker>,
    importers: HashSet<String>,
    library: RwLock<BTreeMap<String, Arc<Scenario>>>,
    global: RwLock<Vec<String>>,
    /// tenant key → scenario names activated for it.
    tenants: RwLock<HashMap<String, Vec<String>>>,
    /// Global plus tenant activations: zero means only a header can activate anything.
    activations: AtomicUsize,
    counters: Mutex<HashMap<(String, usize, String), u64>>,
    /// (scenario, tenant) pairs whose seed is in place.
    seeded: Mutex<HashSet<(String, String)>>,
}

/// A scenario file to load: its display name and text.
pub struct Source {
    pub file: String,
    pub text: String,
}

impl Engine {
    /// Loads the embedded scenarios, then every `*.yaml`/`*.yml` of `dirs` (a scenario named
    /// like an embedded one replaces it), then activates `active` for every tenant.
    pub fn load(
        operations: &[Operation],
        providers: &[Arc<dyn Provider>],
        dirs: &[std::path::PathBuf],
        active: &[String],
    ) -> Result<Engine, LoadErrors> {
        let checker = Checker::new(operations);
        let mut problems = Vec::new();
        let mut library = BTreeMap::new();
        let mut sources: Vec<(Source, bool)> = super::embedded::FILES
            .iter()
            .map(|(name, text)| {
                (
                    Source {
                        file: format!("scenarios/{name}"),
                        text: (*text).to_string(),
                    },
                    true,
                )
            })
            .collect();
        for dir in dirs {
            match read_dir(dir) {
                Ok(found) => sources.extend(found.into_iter().map(|s| (s, false))),
                Err(p) => problems.push(p),
            }
        }
        let mut from_dirs: HashMap<String, String> = HashMap::new();
        let load_one = |(source, _): &(Source, bool)| {
            let stem = std::path::Path::new(&source.file)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            checker.load(&source.file, Some(stem), &source.text)
        };
        // Files load independently: half on a second thread (start-up time is a headline
        // figure), then the results are taken in file order.
        let half = sources.len() / 2;
        let loaded: Vec<_> = std::thread::scope(|scope| {
            let second = std::thread::Builder::new()
                .name("paysandbox-scenarios".into())
                .spawn_scoped(scope, || {
                    sources[half..].iter().map(load_one).collect::<Vec<_>>()
                });
            let mut loaded: Vec<_> = sources[..half].iter().map(load_one).collect();
            match second.map(|h| h.join()) {
                Ok(Ok(rest)) => loaded.extend(rest),
                _ => loaded.extend(sources[half..].iter().map(load_one)),
            }
            loaded
        });
        for ((source, embedded), result) in sources.into_iter().zip(loaded) {
            match result {
                Ok(s) => {
                    if !embedded
                        && let Some(first) = from_dirs.insert(s.name.clone(), source.file.clone())
                    {
                        problems.push(Problem {
                            file: source.file.clone(),
                            pos: None,
                            message: format!("scenario {:?} is also defined in {first}", s.name),
                        });
                    }
                    library.insert(s.name.clone(), Arc::new(s));
                }
                Err(LoadErrors(p)) => problems.extend(p),
            }
        }
        let importers = providers
            .iter()
            .filter(|p| checker.can_import(p.name()))
            .map(|p| p.name().to_string())
            .collect();
        let engine = Engine {
            checker: Some(checker),
            importers,
            library: RwLock::new(library),
            ..Engine::default()
        };
        for name in active {
            let Some(s) = engine.get(name) else {
                problems.push(Problem {
                    file: "--scenario".into(),
                    pos: None,
                    message: engine.unknown(name),
                });
                continue;
            };
            let provider = providers.iter().find(|p| p.name() == s.provider);
            if let Some(provider) = provider
                && let Err(e) = engine.activate(provider.as_ref(), name, None)
            {
                problems.push(Problem {
                    file: s.source.clone(),
                    pos: None,
                    message: e,
                });
            }
        }
        if problems.is_empty() {
            Ok(engine)
        } else {
            Err(LoadErrors(problems))
        }
    }

    pub fn len(&self) -> usize {
        self.library.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn list(&self) -> Vec<Arc<Scenario>> {
        self.library.read().values().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Option<Arc<Scenario>> {
        self.library.read().get(name).cloned()
    }

    fn unknown(&self, name: &str) -> String {
        unknown_in(&self.library.read(), name)
    }

    /// Checks and adds (or replaces) a scenario sent at run time.
    pub fn add(&self, text: &str) -> Result<Arc<Scenario>, LoadErrors> {
        let Some(checker) = &self.checker else {
            return Err(LoadErrors(vec![Problem {
                file: "<request body>".into(),
                pos: None,
                message: "scenarios are not loaded in this sandbox".into(),
            }]));
        };
        let s = Arc::new(checker.load("<request body>", None, text)?);
        self.library.write().insert(s.name.clone(), s.clone());
        self.counters.lock().retain(|k, _| k.0 != s.name);
        self.seeded.lock().retain(|k| k.0 != s.name);
        Ok(s)
    }

    /// Where a scenario is active: globally, and for which tenants.
    pub fn activations_of(&self, name: &str) -> (bool, Vec<String>) {
        let global = self.global.read().iter().any(|n| n == name);
        let mut tenants: Vec<String> = self
            .tenants
            .read()
            .iter()
            .filter(|(_, names)| names.iter().any(|n| n == name))
            .map(|(t, _)| t.clone())
            .collect();
        tenants.sort();
        (global, tenants)
    }

    /// Activates for one tenant (its seed imported now) or for every tenant (`None`: the
    /// provider settings are applied, seeds go to each tenant on its first request).
    pub fn activate(
        &self,
        provider: &dyn Provider,
        name: &str,
        tenant: Option<&str>,
    ) -> Result<(), String> {
        let s = self.get(name).ok_or_else(|| self.unknown(name))?;
        match tenant {
            None => {
                if let Some(settings) = &s.settings {
                    provider.configure(settings).map_err(|e| {
                        format!("{} refuses the settings of {name}: {e}", s.provider)
                    })?;
                }
                let mut global = self.global.write();
                if !global.iter().any(|n| n == name) {
                    global.push(name.to_string());
                    self.activations.fetch_add(1, Ordering::Relaxed);
                }
                self.counters.lock().retain(|k, _| k.0 != name);
            }
            Some(t) => {
                self.seeded
                    .lock()
                    .remove(&(name.to_string(), t.to_string()));
                self.ensure_seeded(provider, &s, t)?;
                let mut tenants = self.tenants.write();
                let names = tenants.entry(t.to_string()).or_default();
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                    self.activations.fetch_add(1, Ordering::Relaxed);
                }
                self.counters
                    .lock()
                    .retain(|k, _| !(k.0 == name && k.2 == t));
            }
        }
        Ok(())
    }

    /// Deactivates; `false` when it was not active there. Settings stay as they are.
    pub fn deactivate(&self, name: &str, tenant: Option<&str>) -> bool {
        let removed = match tenant {
            None => {
                let mut global = self.global.write();
                let before = global.len();
                global.retain(|n| n != name);
                before != global.len()
            }
            Some(t) => {
                let mut tenants = self.tenants.write();
                let removed = tenants.get_mut(t).is_some_and(|names| {
                    let before = names.len();
                    names.retain(|n| n != name);
                    before != names.len()
                });
                tenants.retain(|_, names| !names.is_empty());
                removed
            }
        };
        if removed {
            self.activations.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Forgets counts and seed marks (after `POST /__sandbox/reset`): seeds are imported
    /// again and `times`/`after` count afresh. Activations stay.
    pub fn forget(&self, tenant: Option<&str>) {
        self.counters
            .lock()
            .retain(|k, _| tenant.is_some_and(|t| k.2 != t));
        self.seeded
            .lock()
            .retain(|k| tenant.is_some_and(|t| k.1 != t));
    }

    fn ensure_seeded(
        &self,
        provider: &dyn Provider,
        s: &Scenario,
        tenant: &str,
    ) -> Result<(), String> {
        let Some(seed) = &s.seed else {
            return Ok(());
        };
        if !self.importers.contains(provider.name()) {
            return Ok(());
        }
        // Held across the import so concurrent first requests see the seed in place.
        let mut seeded = self.seeded.lock();
        let key = (s.name.clone(), tenant.to_string());
        if seeded.contains(&key) {
            return Ok(());
        }
        provider.import(tenant, seed).map_err(|e| {
            format!(
                "{} refused the seed of scenario {}: {e}",
                provider.name(),
                s.name
            )
        })?;
        seeded.insert(key);
        Ok(())
    }

    fn count(&self, scenario: &str, rule: usize, tenant: &str) -> u64 {
        let mut counters = self.counters.lock();
        let n = counters
            .entry((scenario.to_string(), rule, tenant.to_string()))
            .or_insert(0);
        *n += 1;
        *n
    }

    /// The scenario step of the pipeline, after authentication and validation. A decision
    /// with an answer replaces the handler's; without one the handler answers, possibly with
    /// a delay or fault recorded for delivery. Either way the decision may carry the state a
    /// rule sets once the answer is made (`then_state`).
    pub fn intercept(&self, provider: &dyn Provider, call: &Call, tenant: &Tenant) -> Decision {
        self.decide(provider, call, tenant).unwrap_or_default()
    }

    /// Applies a decision's `then_state` to the requesting tenant; a refusal (which loading
    /// already rules out for shipped files) becomes a loud 500 naming the rule.
    pub fn apply_then_state(
        &self,
        provider: &dyn Provider,
        tenant: &Tenant,
        then_state: Option<(Value, String)>,
    ) -> Result<(), Reply> {
        let Some((state, rule)) = then_state else {
            return Ok(());
        };
        provider.import(&tenant.key, &state).map_err(|e| {
            forced(admin_error(
                500,
                format!("{} refused then_state of {rule}: {e}", provider.name()),
            ))
        })
    }

    /// The scenarios `X-Sandbox-Scenario` names, in order, or the provider's 400 for the
    /// first unknown name.
    fn named_in_header(
        &self,
        provider: &dyn Provider,
        call: &Call,
    ) -> Result<Vec<Arc<Scenario>>, Reply> {
        let header = call
            .header(&HEADER_NAME)
            .map(str::trim)
            .filter(|h| !h.is_empty());
        let Some(header) = header else {
            return Ok(Vec::new());
        };
        let library = self.library.read();
        let mut named = Vec::new();
        for name in header.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match library.get(name) {
                Some(s) => named.push(s.clone()),
                None => {
                    let message = format!("X-Sandbox-Scenario: {}", unknown_in(&library, name));
                    return Err(forced(provider.sandbox_misuse(&message)));
                }
            }
        }
        Ok(named)
    }

    fn decide(&self, provider: &dyn Provider, call: &Call, tenant: &Tenant) -> Option<Decision> {
        let has_header = call.header(&HEADER_NAME).is_some();
        if !has_header && self.activations.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut active = match self.named_in_header(provider, call) {
            Ok(named) => named,
            Err(refused) => return Some(Decision::answer(refused)),
        };
        // HEAD is a probe (`curl -I`, a health check): it must not use up a rule's `times`,
        // apply its `then_state` or fire its faults, so no rule answers it. A misspelt name
        // is still the 400 GET would get (above).
        if *call.method == hyper::Method::HEAD {
            return None;
        }
        {
            let library = self.library.read();
            let tenants = self.tenants.read();
            let by_tenant = tenants.get(&tenant.key).into_iter().flatten();
            for name in by_tenant.chain(self.global.read().iter()) {
                if let Some(s) = library.get(name) {
                    active.push(s.clone());
                }
            }
        }
        let mut seen = HashSet::new();
        active.retain(|s| s.provider == provider.name() && seen.insert(s.name.clone()));
        for s in &active {
            if let Err(e) = self.ensure_seeded(provider, s, &tenant.key) {
                return Some(Decision::answer(forced(admin_error(500, e))));
            }
        }
        for s in &active {
            for (i, rule) in s.rules.iter().enumerate() {
                if rule.when.matches(call) && rule.fires_on(self.count(&s.name, i, &tenant.key)) {
                    return Some(self.fire(provider, call, s, i, rule));
                }
            }
        }
        None
    }

    fn fire(
        &self,
        provider: &dyn Provider,
        call: &Call,
        s: &Scenario,
        index: usize,
        rule: &Rule,
    ) -> Decision {
        let then_state = rule
            .then_state
            .clone()
            .filter(|_| self.importers.contains(provider.name()))
            .map(|state| (state, format!("scenario {} rule {index}", s.name)));
        let delay = rule.delay.map(|d| pick(d, call));
        let label = format!("{}#{index}", s.name);
        wire::record(|o| {
            o.delay = delay;
            o.fault = rule.fault;
            o.label = Some(label.clone());
        });
        let answer = match (&rule.respond, rule.fault) {
            (Some(r), _) => Some(forced(render(provider, r))),
            // Nothing reaches the client, so nothing may change either.
            (None, Some(f)) if f.drops_request() => {
                return Decision {
                    rule: Some(label),
                    ..Decision::answer(forced(Reply::empty(500)))
                };
            }
            _ => None,
        };
        Decision {
            answer,
            then_state,
            rule: Some(label),
        }
    }
}

/// What the scenario step decided for one request.
#[derive(Debug, Default)]
pub struct Decision {
    /// The answer, when a rule forces one (the handler is then not called).
    pub answer: Option<Reply>,
    /// State to import into the requesting tenant once the answer is made, and the rule's
    /// name for error messages.
    pub then_state: Option<(Value, String)>,
    /// The rule that fired, as `<scenario>#<rule index>` (the journal's `scenario`).
    pub rule: Option<String>,
}

impl Decision {
    fn answer(reply: Reply) -> Self {
        Decision {
            answer: Some(reply),
            then_state: None,
            rule: None,
        }
    }
}

fn forced(reply: Reply) -> Reply {
    wire::record(|o| o.forced = true);
    reply
}

fn pick(d: Delay, call: &Call) -> Duration {
    let ms = if d.min_ms == d.max_ms {
        d.min_ms
    } else {
        call.env
            .ids
            .with_rng(|r| r.random_range(d.min_ms..=d.max_ms))
    };
    Duration::from_millis(ms)
}

fn render(provider: &dyn Provider, respond: &Respond) -> Reply {
    let (mut reply, headers) = match respond {
        Respond::Error { code, headers } => (
            provider
                .catalogue_error(code)
                .unwrap_or_else(|| admin_error(500, format!("{code} left the catalogue"))),
            headers,
        ),
        Respond::Explicit {
            status,
            headers,
            body,
        } => (
            Reply {
                status: *status,
                headers: Vec::new(),
                body: body.clone().map(crate::reply::Body::Tree),
            },
            headers,
        ),
    };
    for (name, value) in headers {
        reply.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        reply.headers.push((name.clone(), value.clone()));
    }
    // Clients honour Retry-After on these (and the official SDKs retry them).
    if (reply.status == 429 || reply.status >= 500)
        && !reply
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
    {
        reply
            .headers
            .push(("retry-after".into(), DEFAULT_RETRY_AFTER.into()));
    }
    reply
}

/// Every `*.yaml` / `*.yml` of a directory, in name order.
fn read_dir(dir: &std::path::Path) -> Result<Vec<Source>, Problem> {
    let problem = |m: String| Problem {
        file: dir.display().to_string(),
        pos: None,
        message: m,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| problem(e.to_string()))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let file = p.display().to_string();
            std::fs::read_to_string(&p)
                .map(|text| Source {
                    file: file.clone(),
                    text,
                })
                .map_err(|e| Problem {
                    file,
                    pos: None,
                    message: e.to_string(),
                })
        })
        .collect()
}

/// A scenario's summary for listings.
pub fn summary(engine: &Engine, s: &Scenario) -> Value {
    let (global, tenants) = engine.activations_of(&s.name);
    json!({
        "name": s.name,
        "provider": s.provider,
        "description": s.description,
        "source": s.source,
        "rules": s.rules.len(),
        "active": { "global": global, "tenants": tenants },
    })
}

/// The message for a scenario name the library does not hold, with similar names.
fn unknown_in(library: &BTreeMap<String, Arc<Scenario>>, name: &str) -> String {
    // The closest names first (`mp-save-crd-129` → `mp-save-card-129`); a name too long to
    // be a typo of one is matched by its start only, so a huge header costs no more.
    let mut ranked: Vec<(usize, &str)> = if name.len() <= 64 {
        library
            .keys()
            .map(|k| (super::load::edit_distance(name, k), k.as_str()))
            .filter(|(d, k)| *d <= 2.max(k.len() / 3))
            .collect()
    } else {
        Vec::new()
    };
    ranked.sort_unstable();
    let mut close: Vec<&str> = ranked.into_iter().take(5).map(|(_, k)| k).collect();
    if close.is_empty() {
        let start = name.get(..name.len().min(6)).unwrap_or(name);
        close = library
            .keys()
            .filter(|k| k.starts_with(start))
            .take(5)
            .map(String::as_str)
            .collect();
    }
    // The name is the client's text, echoed: masked before quoting, since quoting turns a
    // tab between a card number's groups into `\t`, which masking no longer reads as one.
    let name = crate::mask::mask_text(name);
    if close.is_empty() {
        format!("unknown scenario {name:?} (GET /__sandbox/scenarios lists them)")
    } else {
        format!("unknown scenario {name:?} (similar: {})", close.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::{Fault, When};

    fn rule(times: Option<u64>, after: u64) -> Rule {
        Rule {
            when: When::default(),
            respond: None,
            delay: None,
            fault: Some(Fault::Reset),
            times,
            after,
            then_state: None,
        }
    }

    #[test]
    fn times_and_after_select_a_window_of_matches() {
        let fired = |r: Rule| (1..=6).filter(|n| r.fires_on(*n)).collect::<Vec<_>>();
        assert_eq!(fired(rule(None, 1)), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(fired(rule(Some(2), 1)), vec![1, 2]);
        assert_eq!(fired(rule(None, 3)), vec![3, 4, 5, 6]);
        assert_eq!(fired(rule(Some(1), 3)), vec![3]);
    }
}
