//! Running an operation's compiled validators and describing failures neutrally.

use super::load::{Operation, ParamSpec};
use crate::problem::{FieldError, FieldErrorKind, JsonKind, Location};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use serde_json::Value;

/// Reads a raw parameter string as the type its schema declares, so `limit=10` validates as
/// an integer. A value that does not parse stays a string and fails the type check.
pub fn coerce_scalar(raw: &str, kind: Option<&str>) -> Value {
    match kind {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_string())),
        Some("number") => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(raw.to_string())),
        Some("boolean") => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(raw.to_string()),
        },
        _ => Value::String(raw.to_string()),
    }
}

/// Validates path, query and header parameters. `lookup` returns the raw value(s) sent.
pub fn validate_params<'a>(
    op: &Operation,
    mut lookup: impl FnMut(&ParamSpec) -> Option<Vec<&'a str>>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for param in &op.params {
        let Some(values) = lookup(param).filter(|v| !v.is_empty()) else {
            if param.required {
                errors.push(FieldError::new(
                    param.location,
                    &param.name,
                    FieldErrorKind::Missing,
                ));
            }
            continue;
        };
        let value = if param.kind.as_deref() == Some("array") {
            Value::Array(
                values
                    .iter()
                    .map(|v| Value::String((*v).to_string()))
                    .collect(),
            )
        } else {
            coerce_scalar(values[0], param.kind.as_deref())
        };
        // Most requests are valid: `is_valid` answers without building error iterators.
        if param.validator.is_valid(&value) {
            continue;
        }
        for e in param.validator.iter_errors(&value) {
            errors.extend(to_field_errors(
                param.location,
                &param.name,
                e.kind(),
                &value,
            ));
        }
    }
    errors
}

/// Validates a parsed body; errors are sorted by the spec's field order, then by path.
pub fn validate_body(op: &Operation, body: &Value) -> Vec<FieldError> {
    let Some(validator) = &op.body else {
        return Vec::new();
    };
    if validator.is_valid(body) {
        return Vec::new();
    }
    let mut errors = Vec::new();
    for e in validator.iter_errors(body) {
        body_errors(&e, body, &mut errors);
    }
    let rank = |field: &str| {
        let top = field.split('.').next().unwrap_or_default();
        op.body_fields
            .iter()
            .position(|f| f == top)
            .unwrap_or(usize::MAX)
    };
    errors.sort_by(|a, b| {
        rank(&a.field)
            .cmp(&rank(&b.field))
            .then_with(|| a.field.cmp(&b.field))
    });
    errors.dedup();
    errors
}

/// One body error as field errors. A nullable object (`anyOf: [X, {type: null}]`, what
/// `nullable: true` on an `allOf` becomes) that is not null fails as X does: its own errors
/// name the field inside (`query.sort.order`), where the wrapper could only say that
/// `query.sort` matches none of its forms.
fn body_errors(e: &jsonschema::ValidationError<'_>, body: &Value, out: &mut Vec<FieldError>) {
    if let ValidationErrorKind::AnyOf { context } = e.kind() {
        let mut forms = context.iter().filter(|branch| !only_not_null(branch));
        if let (Some(form), None) = (forms.next(), forms.next())
            && context.len() == 2
        {
            for inner in form {
                body_errors(inner, body, out);
            }
            return;
        }
    }
    let base = dotted(e.instance_path().iter());
    let value = body
        .pointer(e.instance_path().as_str())
        .unwrap_or(&Value::Null);
    out.extend(to_field_errors(Location::Body, &base, e.kind(), value));
}

/// Whether a branch failed only for not being null (the `{type: null}` of a nullable).
fn only_not_null(branch: &[jsonschema::ValidationError<'_>]) -> bool {
    matches!(
        branch,
        [only] if matches!(
            only.kind(),
            ValidationErrorKind::Type { kind: TypeKind::Single(jsonschema::JsonType::Null) }
        )
    )
}

fn dotted<'a>(segments: impl Iterator<Item = LocationSegment<'a>>) -> String {
    let parts: Vec<String> = segments
        .map(|s| match s {
            LocationSegment::Property(p) => p.into_owned(),
            LocationSegment::Index(i) => i.to_string(),
        })
        .collect();
    parts.join(".")
}

fn join(base: &str, leaf: &str) -> String {
    if base.is_empty() {
        leaf.to_string()
    } else {
        format!("{base}.{leaf}")
    }
}

fn kind_of(t: jsonschema::JsonType) -> JsonKind {
    use jsonschema::JsonType as T;
    match t {
        T::Null => JsonKind::Null,
        T::Boolean => JsonKind::Boolean,
        T::Integer => JsonKind::Integer,
        T::Number => JsonKind::Number,
        T::String => JsonKind::String,
        T::Array => JsonKind::Array,
        T::Object => JsonKind::Object,
    }
}

fn as_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn to_field_errors(
    location: Location,
    base: &str,
    kind: &ValidationErrorKind,
    value: &Value,
) -> Vec<FieldError> {
    let single =
        |k: FieldErrorKind| vec![FieldError::new(location, base, k).with_value(value.clone())];
    match kind {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            vec![FieldError::new(
                location,
                join(base, &name),
                FieldErrorKind::Missing,
            )]
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => kind_of(*t),
                TypeKind::Multiple(set) => set
                    .iter()
                    .find(|t| *t != jsonschema::JsonType::Null)
                    .map(kind_of)
                    .unwrap_or(JsonKind::Null),
            };
            single(FieldErrorKind::Type { expected })
        }
        ValidationErrorKind::Enum { options } => single(FieldErrorKind::Enum {
            allowed: options.as_array().cloned().unwrap_or_default(),
        }),
        ValidationErrorKind::Constant { expected_value } => single(FieldErrorKind::Enum {
            allowed: vec![(**expected_value).clone()],
        }),
        ValidationErrorKind::Pattern { pattern } => single(FieldErrorKind::Pattern {
            pattern: pattern.clone(),
        }),
        ValidationErrorKind::MaxLength { limit } => single(FieldErrorKind::TooLong { max: *limit }),
        ValidationErrorKind::MinLength { limit } => {
            single(FieldErrorKind::TooShort { min: *limit })
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            single(FieldErrorKind::TooSmall { min: as_f64(limit) })
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            single(FieldErrorKind::TooLarge { max: as_f64(limit) })
        }
        ValidationErrorKind::MinItems { limit } => {
            single(FieldErrorKind::TooFewItems { min: *limit })
        }
        ValidationErrorKind::MaxItems { limit } => {
            single(FieldErrorKind::TooManyItems { max: *limit })
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| FieldError::new(location, join(base, name), FieldErrorKind::Unknown))
            .collect(),
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            single(FieldErrorKind::Invalid {
                reason: "does not match any of the allowed forms".into(),
            })
        }
        other => single(FieldErrorKind::Invalid {
            reason: describe_kind(other),
        }),
    }
}

fn describe_kind(kind: &ValidationErrorKind) -> String {
    match kind {
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "matches more than one allowed form".into()
        }
        ValidationErrorKind::Not { .. } => "matches a forbidden form".into(),
        ValidationErrorKind::UniqueItems => "items must be unique".into(),
        ValidationErrorKind::MultipleOf { .. } => "is not an allowed multiple".into(),
        _ => "is not allowed here".into(),
    }
}

/// An answer that breaks the operation's own response schema (strict mode).
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseViolation {
    /// Where in the spec the broken schema lives.
    pub schema: String,
    /// Where in the body, and what.
    pub problem: String,
}

/// Checks an outgoing body against the response the spec declares for its status
/// (exact code, then `4XX`-style range, then `default`).
pub fn validate_response(
    op: &Operation,
    status: u16,
    body: &Value,
) -> Result<(), ResponseViolation> {
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    let declared = op
        .responses
        .iter()
        .find(|r| r.key == exact)
        .or_else(|| {
            op.responses
                .iter()
                .find(|r| r.key.eq_ignore_ascii_case(&range))
        })
        .or_else(|| op.responses.iter().find(|r| r.key == "default"));
    let Some(declared) = declared else {
        return Err(ResponseViolation {
            schema: format!("{} {} responses", op.method, op.path),
            problem: format!("status {status} is not declared for operation {}", op.id),
        });
    };
    let validator = match declared.validator() {
        Some(Ok(validator)) => validator,
        Some(Err(problem)) => {
            return Err(ResponseViolation {
                schema: format!("{}/content/application~1json/schema", declared.pointer),
                problem: problem.to_string(),
            });
        }
        None if body.is_null() => return Ok(()),
        None => {
            return Err(ResponseViolation {
                schema: declared.pointer.clone(),
                problem: "the spec declares no JSON body for this response, but one was sent"
                    .into(),
            });
        }
    };
    if validator.is_valid(body) {
        return Ok(());
    }
    let problems: Vec<String> = validator
        .iter_errors(body)
        .take(5)
        .map(|e| format!("at `{}`: {}", e.instance_path(), e.masked()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ResponseViolation {
            schema: format!("{}/content/application~1json/schema", declared.pointer),
            problem: problems.join("; "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_read_as_their_declared_type() {
        assert_eq!(coerce_scalar("10", Some("integer")), Value::from(10));
        assert_eq!(coerce_scalar("ten", Some("integer")), Value::from("ten"));
        assert_eq!(coerce_scalar("true", Some("boolean")), Value::Bool(true));
        assert_eq!(coerce_scalar("1.5", Some("number")), serde_json::json!(1.5));
        assert_eq!(coerce_scalar("x", None), Value::from("x"));
    }
}
