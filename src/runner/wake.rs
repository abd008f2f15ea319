//! The wake record: when a runner last woke on this host and how, for `doctor` and `why`.

use crate::config::Config;
use crate::fsutil;

/// Where each wake of the runner is recorded (for `defer doctor` and `defer why`).
pub fn wake_file(config: &Config) -> std::path::PathBuf {
    config.runtime_dir.join(".runner-wake.json")
}

/// The last recorded wake of a runner on this host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wake {
    /// When it woke (`DEFER_NOW` if set, like every other stamp).
    pub at: crate::record::Stamp,
    pub pid: u32,
    /// `cron` for `defer run`, `watch` for `defer run --watch`.
    pub mode: String,
    /// It found another runner holding the lock and stepped aside.
    pub skipped: bool,
}

/// Reads the last wake record, if any.
pub fn last_wake(config: &Config) -> Option<Wake> {
    let bytes = std::fs::read(wake_file(config)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Records a wake. Best effort: a runner that cannot write it still does its work.
pub(super) fn record_wake(config: &Config, mode: &str, skipped: bool) {
    let wake = Wake {
        at: crate::record::Stamp(config.clock.now()),
        pid: std::process::id(),
        mode: mode.to_string(),
        skipped,
    };
    let text = serde_json::to_string(&wake).unwrap_or_default();
    // Replaced atomically: a full disk leaves the previous record, never an empty file.
    if let Err(e) = fsutil::replace_file(&wake_file(config), text.as_bytes()) {
        eprintln!("warning: could not record the runner's wake: {e}");
    }
}
