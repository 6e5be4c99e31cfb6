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
/// Marked verified: the test suite checks them whole (see [`SpecSource::verified`]).
pub fn embedded() -> Vec<SpecSource> {
    [
        (
            "mercadopago.yaml",
            include_str!("../../specs/mercadopago.yaml"),
        ),
        ("square.yaml", include_str!("../../specs/square.yaml")),
        ("eximpe.yaml", include_str!("../../specs/eximpe.yaml")),
    ]
    .into_iter()
    .map(|(name, text)| SpecSource {
        verified: true,
        ..SpecSource::new(name, text)
    })
    .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers;

    #[test]
    fn the_embedded_specs_pass_every_check_they_skip_when_served() {
        // Serving trusts the embedded specs (structure, examples, answer schemas); this is
        // the check that earns the trust.
        let unverified: Vec<SpecSource> = embedded()
            .into_iter()
            .map(|s| SpecSource {
                verified: false,
                ..s
            })
            .collect();
        let checked = load_all(&unverified, providers::NAMES).expect("embedded specs verify");
        let served = load_all(&embedded(), providers::NAMES).expect("embedded specs load");
        let ids = |specs: &[Spec]| -> Vec<String> {
            specs
                .iter()
                .flat_map(|s| s.operations.iter().map(|o| o.id.clone()))
                .collect()
        };
        assert_eq!(ids(&checked), ids(&served));
        let mut compiled = 0;
        for op in served.iter().flat_map(|s| &s.operations) {
            for response in &op.responses {
                match response.validator() {
                    Some(Ok(_)) => compiled += 1,
                    Some(Err(problem)) => {
                        panic!("{} {}: {problem}", op.id, response.key)
                    }
                    None => {}
                }
            }
        }
        assert!(compiled > 50, "only {compiled} answer schemas");
    }
}
