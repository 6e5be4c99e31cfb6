//! Path routing across every loaded spec.
//!
//! Templates are normalised before they enter the router: the trailing slash goes (Eximpe
//! writes `/pg/tokens/`, the Mercado Pago Python SDK adds one where the spec has none), and
//! parameter names become positional, so two specs naming a segment differently still
//! collide as they would on a real host. Path segments are percent-decoded after matching
//! (the Square Node SDK sends `ccof%3A...`).

use super::load::{Spec, SpecError, template_params};
use hyper::Method;
use percent_encoding::percent_decode_str;
use std::collections::HashMap;

struct Route {
    /// `(method, index into the flat operation list)`.
    methods: Vec<(Method, usize)>,
    param_names: Vec<String>,
    file: String,
    template: String,
}

/// What a request path and method resolve to.
#[derive(Debug, PartialEq)]
pub enum RouteMatch {
    Found {
        operation: usize,
        /// Decoded path parameters, by the names the spec gives them.
        params: Vec<(String, String)>,
    },
    /// The path exists; the method does not. Lists what is allowed.
    MethodNotAllowed {
        provider: String,
        allowed: Vec<Method>,
    },
    /// No route; `provider` is set when the path's first segment belongs to one provider.
    NotFound { provider: Option<String> },
}

pub struct Router {
    inner: matchit::Router<usize>,
    routes: Vec<Route>,
    /// Provider of each operation, by flat index.
    providers: Vec<String>,
    /// First path segment → provider, for answering unknown paths in the right envelope.
    prefixes: HashMap<String, Option<String>>,
}

fn normalise(template: &str) -> (String, Vec<String>) {
    let names = template_params(template);
    let mut i = 0;
    let segments: Vec<String> = template
        .trim_end_matches('/')
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                let s = format!("{{p{i}}}");
                i += 1;
                s
            } else {
                seg.to_string()
            }
        })
        .collect();
    let joined = segments.join("/");
    (
        if joined.is_empty() {
            "/".to_string()
        } else {
            joined
        },
        names,
    )
}

fn first_segment(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

impl Router {
    /// Builds the router; a path served by two specs is an error naming both files.
    pub fn build(specs: &[Spec]) -> Result<Router, SpecError> {
        let mut inner = matchit::Router::new();
        let mut routes: Vec<Route> = Vec::new();
        let mut by_template: HashMap<String, usize> = HashMap::new();
        let mut providers = Vec::new();
        let mut prefixes: HashMap<String, Option<String>> = HashMap::new();
        let mut flat = 0usize;
        for spec in specs {
            for op in &spec.operations {
                let (normalised, names) = normalise(&op.path);
                let collision = |other: &Route| SpecError {
                    file: spec.file.clone(),
                    location: format!("#/paths/{}", super::schema::escape_pointer(&op.path)),
                    problem: format!(
                        "path `{}` collides with `{}` in {}",
                        op.path, other.template, other.file
                    ),
                };
                match by_template.get(&normalised) {
                    Some(&idx) => {
                        let route = &mut routes[idx];
                        if route.file != spec.file
                            || route.methods.iter().any(|(m, _)| *m == op.method)
                        {
                            return Err(collision(route));
                        }
                        route.methods.push((op.method.clone(), flat));
                    }
                    None => {
                        let idx = routes.len();
                        if let Err(e) = inner.insert(normalised.clone(), idx) {
                            let other = match &e {
                                matchit::InsertError::Conflict { with } => {
                                    by_template.get(with).map(|&i| &routes[i])
                                }
                                _ => None,
                            };
                            return Err(match other {
                                Some(other) => collision(other),
                                None => SpecError {
                                    file: spec.file.clone(),
                                    location: format!(
                                        "#/paths/{}",
                                        super::schema::escape_pointer(&op.path)
                                    ),
                                    problem: format!("path `{}` cannot be routed: {e}", op.path),
                                },
                            });
                        }
                        by_template.insert(normalised, idx);
                        routes.push(Route {
                            methods: vec![(op.method.clone(), flat)],
                            param_names: names,
                            file: spec.file.clone(),
                            template: op.path.clone(),
                        });
                    }
                }
                let prefix = first_segment(&op.path).to_string();
                match prefixes.get(&prefix) {
                    Some(Some(p)) if *p != spec.provider => {
                        prefixes.insert(prefix, None);
                    }
                    Some(_) => {}
                    None => {
                        prefixes.insert(prefix, Some(spec.provider.clone()));
                    }
                }
                providers.push(spec.provider.clone());
                flat += 1;
            }
        }
        Ok(Router {
            inner,
            routes,
            providers,
            prefixes,
        })
    }

    /// The provider whose paths start with this path's first segment, if exactly one.
    pub fn provider_for_path(&self, path: &str) -> Option<&str> {
        self.prefixes
            .get(first_segment(path))
            .and_then(|p| p.as_deref())
    }

    pub fn resolve(&self, method: &Method, raw_path: &str) -> RouteMatch {
        let trimmed = raw_path.trim_end_matches('/');
        let lookup = if trimmed.is_empty() { "/" } else { trimmed };
        let not_found = || RouteMatch::NotFound {
            provider: self.provider_for_path(raw_path).map(str::to_string),
        };
        // An empty segment (`/v2/cards//disable`) is never a valid id.
        if lookup.contains("//") {
            return not_found();
        }
        let Ok(found) = self.inner.at(lookup) else {
            return not_found();
        };
        let route = &self.routes[*found.value];
        let serving = |wanted: &Method| route.methods.iter().find(|(m, _)| m == wanted);
        // HEAD is GET without the body (RFC 9110 §9.3.2; hyper drops the body and keeps
        // Content-Length), so `curl -I` and health checks see the answer GET would get.
        let by_method = serving(method).or_else(|| {
            (*method == Method::HEAD)
                .then(|| serving(&Method::GET))
                .flatten()
        });
        let Some(&(_, operation)) = by_method else {
            let mut allowed: Vec<Method> = route.methods.iter().map(|(m, _)| m.clone()).collect();
            if allowed.contains(&Method::GET) && !allowed.contains(&Method::HEAD) {
                allowed.push(Method::HEAD);
            }
            return RouteMatch::MethodNotAllowed {
                provider: self.providers[route.methods[0].1].clone(),
                allowed,
            };
        };
        let params = found
            .params
            .iter()
            .filter_map(|(key, value)| {
                let position: usize = key.strip_prefix('p')?.parse().ok()?;
                let name = route.param_names.get(position)?.clone();
                Some((
                    name,
                    percent_decode_str(value).decode_utf8_lossy().into_owned(),
                ))
            })
            .collect();
        RouteMatch::Found { operation, params }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_normalise_to_positional_parameters_without_trailing_slash() {
        assert_eq!(
            normalise("/v1/customers/{customer_id}/cards/{card_id}"),
            (
                "/v1/customers/{p0}/cards/{p1}".to_string(),
                vec!["customer_id".to_string(), "card_id".to_string()]
            )
        );
        assert_eq!(normalise("/pg/tokens/").0, "/pg/tokens");
    }
}
