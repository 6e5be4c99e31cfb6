//! A provider's error catalogue: entries of provider-specific shape, looked up by code.
//! The data lives beside each provider (`providers/<name>/catalogue.yaml`).

use serde::de::DeserializeOwned;
use std::collections::HashMap;

pub trait Entry {
    fn code(&self) -> &str;
}

pub struct Catalogue<E> {
    entries: Vec<E>,
    index: HashMap<String, usize>,
}

impl<E: Entry + DeserializeOwned> Catalogue<E> {
    /// Parses embedded catalogue data. The data ships inside the binary and a unit test per
    /// provider parses it, so a failure here is a build defect, not a user error.
    pub fn embedded(yaml: &str) -> Self {
        let entries: Vec<E> =
            serde_yaml_ng::from_str(yaml).expect("embedded error catalogue parses");
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.code().to_string(), i))
            .collect();
        Catalogue { entries, index }
    }

    pub fn get(&self, code: &str) -> Option<&E> {
        self.index.get(code).map(|&i| &self.entries[i])
    }

    pub fn codes(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.code().to_string()).collect()
    }
}
