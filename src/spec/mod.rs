//! Loading the providers' OpenAPI documents and compiling them once, at start-up, into
//! operations with ready validators and a router.

mod load;
mod router;
pub mod schema;
mod validate;

pub use load::{Operation, ParamSpec, ResponseSpec, Spec, SpecError, SpecSource, load_all};
pub use router::{RouteMatch, Router};
pub use validate::{
    ResponseViolation, coerce_scalar, validate_body, validate_params, validate_response,
};

use std::path::Path;

/// The specs compiled into the binary: what `paysandbox serve` uses without `--specs`.
pub fn embedded() -> Vec<SpecSource> {
    vec![
        SpecSource::new(
            "mercadopago.yaml",
            include_str!("../../specs/mercadopago.yaml"),
        ),
        SpecSource::new("square.yaml", include_str!("../../specs/square.yaml")),
        SpecSource::new("eximpe.yaml", include_str!("../../specs/eximpe.yaml")),
    ]
}

/// Every `*.yaml` / `*.yml` file of a directory, in name order.
pub fn from_dir(dir: &Path) -> Result<Vec<SpecSource>, SpecError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SpecError::file(dir.display().to_string(), e.to_string()))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(SpecError::file(
            dir.display().to_string(),
            "no .yaml or .yml spec files in this directory".into(),
        ));
    }
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| SpecError::file(p.display().to_string(), e.to_string()))?;
            Ok(SpecSource::new(p.display().to_string(), text))
        })
        .collect()
}
