//! State snapshots: every provider's tenants, written atomically to one JSON file.
//!
//! Written as temp file → fsync → rename → fsync of the directory, so a crash (even
//! `kill -9`) while writing leaves the previous snapshot intact. A file that cannot be read
//! is refused with its reason, never silently replaced by an empty state.

use crate::app::App;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub const FORMAT: &str = "paysandbox-state";
/// Bumped when the layout changes; older versions are migrated, newer ones refused.
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub format: String,
    pub version: u32,
    pub saved_at: String,
    /// The sandbox clock's global offset, so expiry survives a restart consistently.
    pub clock_offset_ms: i64,
    /// provider → tenant key → the provider's export of that tenant.
    pub providers: BTreeMap<String, BTreeMap<String, Value>>,
}

/// Everything the providers hold right now.
pub fn capture(app: &App) -> Snapshot {
    let providers = app
        .providers()
        .map(|p| {
            let mut tenants: Vec<String> = p.tenants();
            tenants.sort();
            let states = tenants
                .into_iter()
                .filter_map(|t| p.export(&t).map(|s| (t, s)))
                .collect();
            (p.name().to_string(), states)
        })
        .collect();
    Snapshot {
        format: FORMAT.into(),
        version: VERSION,
        saved_at: crate::time::rfc3339_ms(app.env.clock.now_ms()),
        clock_offset_ms: app.env.clock.offset_ms(),
        providers,
    }
}

/// Loads a snapshot into the providers; the first problem stops the load.
pub fn restore(app: &App, snapshot: &Snapshot) -> Result<(), String> {
    app.env.clock.set_offset_ms(snapshot.clock_offset_ms);
    for (name, tenants) in &snapshot.providers {
        let provider = app
            .providers()
            .find(|p| p.name() == name)
            .ok_or_else(|| format!("unknown provider {name:?}"))?;
        for (tenant, state) in tenants {
            provider.import(tenant, state).map_err(|e| {
                format!(
                    "provider {name}, tenant {}: {e}",
                    crate::mask::mask_secret(tenant)
                )
            })?;
        }
    }
    Ok(())
}

/// Reads a snapshot file: `Ok(None)` when it does not exist yet.
pub fn read(path: &Path) -> Result<Option<Snapshot>, String> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let raw: Value = serde_json::from_slice(&text).map_err(|e| {
        format!(
            "{}: not a paysandbox state file (invalid JSON at line {}, column {}: {e})",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if raw.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(format!(
            "{}: not a paysandbox state file (no \"format\": \"{FORMAT}\")",
            path.display()
        ));
    }
    let version = raw.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version > VERSION as u64 {
        return Err(format!(
            "{}: state format version {version} is newer than this paysandbox understands ({VERSION}); upgrade paysandbox or start without --state-file",
            path.display()
        ));
    }
    if version < 1 {
        return Err(format!(
            "{}: state format version {version} is not supported",
            path.display()
        ));
    }
    serde_json::from_value(raw)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn temp_prefix(path: &Path) -> (std::path::PathBuf, String) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    (dir.to_path_buf(), format!(".{name}.tmp-"))
}

/// Removes temp files left by a writer that was killed mid-write (they never replaced the
/// snapshot, so nothing is lost).
pub fn remove_stale_temps(path: &Path) {
    let (dir, prefix) = temp_prefix(path);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes a snapshot atomically.
pub fn write(path: &Path, snapshot: &Snapshot) -> std::io::Result<()> {
    let (dir, prefix) = temp_prefix(path);
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(snapshot).map_err(std::io::Error::other)?;
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
