//! Parsing and compiling one OpenAPI document.

use super::schema::{self, Direction, escape_pointer};
use hyper::Method;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The text of one spec and the name it is reported under.
#[derive(Debug, Clone)]
pub struct SpecSource {
    pub name: String,
    pub text: String,
    /// Already verified: the embedded specs, which the test suite checks whole (structure,
    /// every example, every answer schema). Serving one skips the checks that only catch
    /// authoring mistakes and compiles answer schemas on first use, which is most of
    /// start-up. `paysandbox check` verifies every spec regardless.
    pub verified: bool,
}

impl SpecSource {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SpecSource {
            name: name.into(),
            text: text.into(),
            verified: false,
        }
    }
}

/// A spec that cannot be served: the file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub file: String,
    /// A JSON pointer (`#/paths/~1v1~1cards/post/responses`) or `line L, column C`.
    pub location: String,
    pub problem: String,
}

impl SpecError {
    pub fn file(file: String, problem: String) -> Self {
        SpecError {
            file,
            location: String::new(),
            problem,
        }
    }

    fn at(file: &str, pointer: impl Into<String>, problem: impl Into<String>) -> Self {
        SpecError {
            file: file.to_string(),
            location: pointer.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}: {}", self.file, self.problem)
        } else {
            write!(f, "{}: {}: {}", self.file, self.location, self.problem)
        }
    }
}

impl std::error::Error for SpecError {}

/// A compiled parameter.
pub struct ParamSpec {
    pub name: String,
    pub location: crate::problem::Location,
    pub required: bool,
    /// A header parameter's name, parsed once: looking a header up by text parses the text
    /// again on every request.
    pub header: Option<hyper::header::HeaderName>,
    /// The declared JSON type, used to read the raw string as a typed value.
    pub kind: Option<String>,
    pub validator: jsonschema::Validator,
}

/// A compiled response declaration.
pub struct ResponseSpec {
    /// `"200"`, `"4XX"` or `"default"`, as written in the spec.
    pub key: String,
    pub pointer: String,
    /// `None`: the response declares no JSON body.
    schema: Option<AnswerSchema>,
}

/// An answer's schema: compiled at load, or on first use for a verified spec (only strict
/// mode and `compare` validate answers, so most runs never compile one).
struct AnswerSchema {
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
    /// What a first use compiles: the schema node and the document's answer definitions.
    source: Option<(Value, Arc<BTreeMap<String, Value>>)>,
}

impl ResponseSpec {
    /// The answer's validator; `None` when the response declares no JSON body. `Err` only
    /// for a schema that does not compile, which loading reports for unverified specs.
    pub fn validator(&self) -> Option<Result<&jsonschema::Validator, &str>> {
        let schema = self.schema.as_ref()?;
        let compiled = schema.compiled.get_or_init(|| match &schema.source {
            Some((node, defs)) => {
                compile(node, defs, Direction::Response).map_err(|e| e.to_string())
            }
            None => Err("no schema".into()),
        });
        Some(compiled.as_ref().map_err(String::as_str))
    }
}

/// One operation of one provider, ready to serve.
pub struct Operation {
    pub id: String,
    pub provider: String,
    pub method: Method,
    /// The path template as written in the spec, e.g. `/v1/customers/{customer_id}/cards`.
    pub path: String,
    pub deprecated: bool,
    pub params: Vec<ParamSpec>,
    pub body: Option<jsonschema::Validator>,
    pub body_required: bool,
    /// Top-level body property names in the order the spec declares them; error lists are
    /// sorted by it so providers that report every field error report them in a stable order.
    pub body_fields: Vec<String>,
    pub responses: Vec<ResponseSpec>,
    /// The documented success answer, served while no stateful handler exists.
    pub example: Option<(u16, Value)>,
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} ({})",
            self.provider, self.method, self.path, self.id
        )
    }
}

/// One loaded spec.
pub struct Spec {
    pub file: String,
    pub provider: String,
    pub title: String,
    pub operations: Vec<Operation>,
}

/// Loads and compiles every source; the first problem stops the load.
/// Specs load on threads of their own (parsing and compiling one is independent of the
/// others, and start-up time is a headline figure); the first problem in source order wins.
pub fn load_all(sources: &[SpecSource], known_providers: &[&str]) -> Result<Vec<Spec>, SpecError> {
    if sources.len() < 2 {
        return sources.iter().map(|s| load(s, known_providers)).collect();
    }
    std::thread::scope(|scope| {
        let loads: Vec<_> = sources
            .iter()
            .map(|s| {
                std::thread::Builder::new()
                    .name("paysandbox-spec".into())
                    .spawn_scoped(scope, move || load(s, known_providers))
            })
            .collect();
        loads
            .into_iter()
            .zip(sources)
            .map(|(handle, source)| match handle {
                Ok(handle) => handle.join().unwrap_or_else(|_| {
                    Err(SpecError::file(
                        source.name.clone(),
                        "loading panicked".into(),
                    ))
                }),
                // No thread to spare: load it here.
                Err(_) => load(source, known_providers),
            })
            .collect()
    })
}

const METHODS: &[(&str, Method)] = &[
    ("get", Method::GET),
    ("put", Method::PUT),
    ("post", Method::POST),
    ("delete", Method::DELETE),
    ("patch", Method::PATCH),
    ("head", Method::HEAD),
    ("options", Method::OPTIONS),
    ("trace", Method::TRACE),
];

fn load(source: &SpecSource, known_providers: &[&str]) -> Result<Spec, SpecError> {
    let file = source.name.as_str();
    let doc: Value = serde_yaml_ng::from_str(&source.text).map_err(|e| {
        let location = e
            .location()
            .map(|l| format!("line {}, column {}", l.line(), l.column()))
            .unwrap_or_default();
        SpecError::at(file, location, format!("not valid YAML: {e}"))
    })?;

    let version = doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !version.starts_with("3.0") {
        return Err(SpecError::at(
            file,
            "#/openapi",
            format!("expected an OpenAPI 3.0.x document, found openapi: {version:?}"),
        ));
    }
    if !source.verified {
        let structural: Result<openapiv3::OpenAPI, _> = serde_path_to_error::deserialize(&doc);
        if let Err(e) = structural {
            let pointer = path_to_pointer(e.path());
            return Err(SpecError::at(file, pointer, e.inner().to_string()));
        }
    }

    let provider = doc
        .pointer("/info/x-paysandbox-provider")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            SpecError::at(
                file,
                "#/info/x-paysandbox-provider",
                format!(
                    "missing: name the provider that serves this spec ({})",
                    known_providers.join(", ")
                ),
            )
        })?
        .to_string();
    if !known_providers.contains(&provider.as_str()) {
        return Err(SpecError::at(
            file,
            "#/info/x-paysandbox-provider",
            format!(
                "unknown provider {provider:?}; expected one of {}",
                known_providers.join(", ")
            ),
        ));
    }
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();

    let compiler = Compiler::new(file, &doc, source.verified)?;
    let mut operations = Vec::new();
    let mut seen_ids = HashSet::new();
    let empty = Map::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (path, item) in paths {
        let item_pointer = format!("#/paths/{}", escape_pointer(path));
        let item = compiler.deref(item, &item_pointer)?;
        let shared_params = item
            .get("parameters")
            .cloned()
            .unwrap_or(Value::Array(vec![]));
        for (name, method) in METHODS {
            let Some(op) = item.get(*name) else { continue };
            let pointer = format!("{item_pointer}/{name}");
            let operation = compiler.operation(
                &provider,
                path,
                method.clone(),
                op,
                &shared_params,
                &item_pointer,
                &pointer,
            )?;
            if !seen_ids.insert(operation.id.clone()) {
                return Err(SpecError::at(
                    file,
                    format!("{pointer}/operationId"),
                    format!("duplicate operationId {:?}", operation.id),
                ));
            }
            operations.push(operation);
        }
    }
    Ok(Spec {
        file: file.to_string(),
        provider,
        title,
        operations,
    })
}

/// Compiles a translated schema with the definitions it reaches (bundled as `definitions`).
/// The error names the missing reference or the compiler's complaint.
///
/// Answers are checked against their `format`s too (a `date-time` must be one), requests
/// are not: each provider checks the formats it cares about itself, with its own error code
/// (Mercado Pago's 106 for an email), which a schema error could not give.
fn compile(
    root: &Value,
    defs: &BTreeMap<String, Value>,
    direction: Direction,
) -> Result<jsonschema::Validator, String> {
    let mut needed = BTreeSet::new();
    schema::references(root, &mut needed);
    let mut pending: Vec<String> = needed.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        let Some(def) = defs.get(&name) else {
            return Err(format!(
                "reference to `#/components/schemas/{name}`, which does not exist"
            ));
        };
        let mut more = BTreeSet::new();
        schema::references(def, &mut more);
        for m in more {
            if needed.insert(m.clone()) {
                pending.push(m);
            }
        }
    }
    let options = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(matches!(direction, Direction::Response));
    let compiled = if needed.is_empty() {
        options.build(root)
    } else {
        let bundle: Map<String, Value> = needed
            .iter()
            .filter_map(|n| defs.get(n).map(|d| (n.clone(), d.clone())))
            .collect();
        match root {
            Value::Object(map) => {
                let mut map = map.clone();
                map.insert("definitions".into(), Value::Object(bundle));
                options.build(&Value::Object(map))
            }
            other => options.build(other),
        }
    };
    compiled.map_err(|e| format!("schema does not compile: {e}"))
}

/// Turns a serde path (`paths./v1/x.post.responses`) into a JSON pointer.
fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    let mut out = String::from("#");
    for segment in path.iter() {
        out.push('/');
        out.push_str(&escape_pointer(&segment.to_string()));
    }
    out
}

/// Compiles schemas of one document against its components.
struct Compiler<'a> {
    file: &'a str,
    doc: &'a Value,
    request_defs: BTreeMap<String, Value>,
    response_defs: Arc<BTreeMap<String, Value>>,
    verified: bool,
}

impl<'a> Compiler<'a> {
    fn new(file: &'a str, doc: &'a Value, verified: bool) -> Result<Self, SpecError> {
        let mut request_defs = BTreeMap::new();
        let mut response_defs = BTreeMap::new();
        if let Some(schemas) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, s) in schemas {
                let pointer = format!("#/components/schemas/{}", escape_pointer(name));
                let to_error = |e: schema::SchemaError| SpecError::at(file, e.pointer, e.problem);
                request_defs.insert(
                    name.clone(),
                    schema::translate(s, &pointer, Direction::Request).map_err(to_error)?,
                );
                response_defs.insert(
                    name.clone(),
                    schema::translate(s, &pointer, Direction::Response).map_err(to_error)?,
                );
            }
        }
        Ok(Compiler {
            file,
            doc,
            request_defs,
            response_defs: Arc::new(response_defs),
            verified,
        })
    }

    /// Follows a local `$ref` (parameters, responses, request bodies, path items).
    fn deref<'v>(&'v self, node: &'v Value, pointer: &str) -> Result<&'v Value, SpecError> {
        let mut current = node;
        for _ in 0..16 {
            let Some(target) = current.get("$ref").and_then(Value::as_str) else {
                return Ok(current);
            };
            let Some(local) = target.strip_prefix('#') else {
                return Err(SpecError::at(
                    self.file,
                    format!("{pointer}/$ref"),
                    format!(
                        "unsupported reference `{target}`: only references inside this document"
                    ),
                ));
            };
            current = self.doc.pointer(local).ok_or_else(|| {
                SpecError::at(
                    self.file,
                    format!("{pointer}/$ref"),
                    format!("reference `{target}` points to nothing"),
                )
            })?;
        }
        Err(SpecError::at(
            self.file,
            pointer,
            "reference chain too long (a cycle?)",
        ))
    }

    /// Compiles a schema node into a validator with the definitions it reaches.
    fn validator(
        &self,
        node: &Value,
        pointer: &str,
        direction: Direction,
    ) -> Result<jsonschema::Validator, SpecError> {
        let defs = match direction {
            Direction::Request => &self.request_defs,
            Direction::Response => &*self.response_defs,
        };
        let root = schema::translate(node, pointer, direction)
            .map_err(|e| SpecError::at(self.file, e.pointer, e.problem))?;
        compile(&root, defs, direction)
            .map_err(|problem| SpecError::at(self.file, pointer, problem))
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &self,
        provider: &str,
        path: &str,
        method: Method,
        op: &Value,
        shared_params: &Value,
        item_pointer: &str,
        pointer: &str,
    ) -> Result<Operation, SpecError> {
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SpecError::at(self.file, pointer, "operation has no operationId"))?
            .to_string();

        // Parameters: the path item's, overridden by the operation's own of the same name and place.
        let mut declared: Vec<(String, Value)> = Vec::new();
        let lists = [
            (shared_params, format!("{item_pointer}/parameters")),
            (
                op.get("parameters").unwrap_or(&Value::Null),
                format!("{pointer}/parameters"),
            ),
        ];
        for (list, list_pointer) in lists {
            for (i, p) in list.as_array().into_iter().flatten().enumerate() {
                let p_pointer = format!("{list_pointer}/{i}");
                let p = self.deref(p, &p_pointer)?;
                let key = (
                    p.get("name").and_then(Value::as_str).unwrap_or_default(),
                    p.get("in").and_then(Value::as_str).unwrap_or_default(),
                );
                declared.retain(|(_, existing)| {
                    (
                        existing
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                        existing
                            .get("in")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    ) != key
                });
                declared.push((p_pointer, p.clone()));
            }
        }
        let mut params = Vec::new();
        for (p_pointer, p) in &declared {
            params.push(self.param(p, p_pointer)?);
        }
        for name in template_params(path) {
            if !params
                .iter()
                .any(|p| p.location == crate::problem::Location::Path && p.name == name)
            {
                return Err(SpecError::at(
                    self.file,
                    format!("{pointer}/parameters"),
                    format!("path parameter `{name}` of `{path}` is not declared"),
                ));
            }
        }

        let (body, body_required, body_fields) = match op.get("requestBody") {
            None => (None, false, Vec::new()),
            Some(rb) => {
                let rb_pointer = format!("{pointer}/requestBody");
                let rb = self.deref(rb, &rb_pointer)?;
                let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
                let schema_pointer = format!("{rb_pointer}/content/application~1json/schema");
                let schema = rb
                    .pointer("/content/application~1json/schema")
                    .ok_or_else(|| {
                        SpecError::at(
                            self.file,
                            &rb_pointer,
                            "request body has no application/json schema",
                        )
                    })?;
                let fields = self.top_level_fields(schema);
                (
                    Some(self.validator(schema, &schema_pointer, Direction::Request)?),
                    required,
                    fields,
                )
            }
        };

        let responses_pointer = format!("{pointer}/responses");
        let responses_node = op
            .get("responses")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                SpecError::at(self.file, &responses_pointer, "operation has no responses")
            })?;
        let mut responses = Vec::new();
        let mut example = None;
        for (key, response) in responses_node {
            let r_pointer = format!("{responses_pointer}/{}", escape_pointer(key));
            let response = self.deref(response, &r_pointer)?;
            let content = response.pointer("/content/application~1json");
            let schema_pointer = format!("{r_pointer}/content/application~1json/schema");
            let schema = match content.and_then(|c| c.get("schema")) {
                Some(s) if self.verified => Some(AnswerSchema {
                    compiled: OnceLock::new(),
                    source: Some((
                        schema::translate(s, &schema_pointer, Direction::Response)
                            .map_err(|e| SpecError::at(self.file, e.pointer, e.problem))?,
                        self.response_defs.clone(),
                    )),
                }),
                Some(s) => {
                    let validator = self.validator(s, &schema_pointer, Direction::Response)?;
                    if let Some(content) = content {
                        self.check_examples(
                            content,
                            &validator,
                            &format!("{r_pointer}/content/application~1json"),
                        )?;
                    }
                    Some(AnswerSchema {
                        compiled: OnceLock::from(Ok(validator)),
                        source: None,
                    })
                }
                None => None,
            };
            if let Ok(status) = key.parse::<u16>()
                && (200..300).contains(&status)
                && example.as_ref().is_none_or(|(s, _)| status < *s)
            {
                let value = content.and_then(first_example);
                if let Some(value) = value {
                    example = Some((status, value));
                } else if status == 204 || content.is_none() {
                    example = Some((status, Value::Null));
                }
            }
            responses.push(ResponseSpec {
                key: key.clone(),
                pointer: r_pointer,
                schema,
            });
        }

        Ok(Operation {
            id,
            provider: provider.to_string(),
            method,
            path: path.to_string(),
            deprecated: op
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            params,
            body,
            body_required,
            body_fields,
            responses,
            example,
        })
    }

    fn param(&self, p: &Value, pointer: &str) -> Result<ParamSpec, SpecError> {
        use crate::problem::Location;
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| SpecError::at(self.file, pointer, "parameter has no name"))?;
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            Some("cookie") => {
                return Err(SpecError::at(
                    self.file,
                    format!("{pointer}/in"),
                    "cookie parameters are not supported",
                ));
            }
            other => {
                return Err(SpecError::at(
                    self.file,
                    format!("{pointer}/in"),
                    format!("unknown parameter location {other:?}"),
                ));
            }
        };
        let schema_node = p
            .get("schema")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let resolved = self.deref(&schema_node, &format!("{pointer}/schema"))?;
        let kind = resolved
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string);
        let header = match location {
            Location::Header => Some(hyper::header::HeaderName::try_from(name).map_err(|_| {
                SpecError::at(
                    self.file,
                    format!("{pointer}/name"),
                    format!("{name:?} is not a valid HTTP header name"),
                )
            })?),
            _ => None,
        };
        Ok(ParamSpec {
            name: name.to_string(),
            location,
            header,
            required: location == Location::Path
                || p.get("required").and_then(Value::as_bool).unwrap_or(false),
            kind,
            validator: self.validator(
                &schema_node,
                &format!("{pointer}/schema"),
                Direction::Request,
            )?,
        })
    }

    fn top_level_fields(&self, schema: &Value) -> Vec<String> {
        let Ok(schema) = self.deref(schema, "#") else {
            return Vec::new();
        };
        let mut fields: Vec<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            fields.extend(self.top_level_fields(part));
        }
        fields
    }

    /// Every example must be an answer the sandbox itself would accept sending.
    fn check_examples(
        &self,
        content: &Value,
        validator: &jsonschema::Validator,
        pointer: &str,
    ) -> Result<(), SpecError> {
        let mut candidates = Vec::new();
        if let Some(e) = content.get("example") {
            candidates.push((format!("{pointer}/example"), e));
        }
        for (name, e) in content
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(v) = e.get("value") {
                candidates.push((
                    format!("{pointer}/examples/{}/value", escape_pointer(name)),
                    v,
                ));
            }
        }
        for (p, value) in candidates {
            if let Some(err) = validator.iter_errors(value).next() {
                return Err(SpecError::at(
                    self.file,
                    p,
                    format!(
                        "example does not match its schema at `{}`: {}",
                        err.instance_path(),
                        err
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn first_example(content: &Value) -> Option<Value> {
    if let Some(e) = content.get("example") {
        return Some(e.clone());
    }
    content
        .get("examples")
        .and_then(Value::as_object)
        .and_then(|m| m.values().next())
        .and_then(|e| e.get("value"))
        .cloned()
}

/// The `{name}` parameters of a path template, in order.
pub(crate) fn template_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}
