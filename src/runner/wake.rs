//! The wake record: when a runner last woke on this host and who woke it, for `doctor` and
//! `why`.
//!
//! A wake's origin comes from `DEFER_WAKE_ORIGIN` (read by [`Config`]): the line `defer cron`
//! writes sets it to `cron`, the units in `contrib/` to `systemd` / `launchd`. A `defer run`
//! without it was started `hand`, so a run typed in a terminal is never taken for proof that
//! cron works. The record also keeps the last wake by a scheduler (anything but `hand`), so a
//! hand run does not hide when cron last woke the runner.

use crate::config::Config;
use crate::fsutil;
use crate::record::Stamp;

/// The origin of a `defer run` that no scheduler marked.
pub const BY_HAND: &str = "hand";

/// Where each wake of the runner is recorded (for `defer doctor` and `defer why`).
pub fn wake_file(config: &Config) -> std::path::PathBuf {
    config.runtime_dir.join(".runner-wake.json")
}

/// The last recorded wake of a runner on this host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wake {
    /// When it woke (`DEFER_NOW` if set, like every other stamp).
    pub at: Stamp,
    pub pid: u32,
    /// `watch` for `defer run --watch`; for a plain `defer run`, its origin (`cron`,
    /// `systemd`, `launchd`, ... or `hand`). Records written before origins were kept say
    /// `cron` for every plain run.
    pub mode: String,
    /// Who started the process: `DEFER_WAKE_ORIGIN`, else `hand`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// It found another runner holding the lock and stepped aside.
    pub skipped: bool,
    /// The last wake by a scheduler or a watcher (not by hand): this one, or the one before
    /// it carried over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<ScheduledWake>,
    /// The wakes of this runner fail, and since when (a watcher retries them; `doctor` and the
    /// health route report it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// A watcher that cannot be told of store changes and looks for them on a timer says
    /// why (a network filesystem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polled: Option<String>,
}

/// A run of failed wakes of a long-lived runner (`run --watch`, `serve --run`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fault {
    /// The last error, on one line.
    pub error: String,
    /// When the first wake of the run failed.
    pub since: Stamp,
    /// How many wakes failed in a row.
    pub failures: u32,
}

/// When a scheduler (or a watcher) last woke the runner, and which.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScheduledWake {
    pub at: Stamp,
    pub mode: String,
    #[serde(default)]
    pub pid: u32,
}

impl Wake {
    /// Whether this wake was a `defer run` typed by someone, not started by a scheduler.
    pub fn by_hand(&self) -> bool {
        self.mode == BY_HAND
    }

    /// The last wake by a scheduler or watcher: this one unless it was by hand. A record from
    /// before origins were kept counts as its own.
    pub fn last_scheduled(&self) -> Option<ScheduledWake> {
        if self.by_hand() {
            self.scheduled.clone()
        } else {
            Some(ScheduledWake {
                at: self.at,
                mode: self.mode.clone(),
                pid: self.pid,
            })
        }
    }

    /// `cron`, `by hand`, `watch`, `watch via systemd`: for "(…, pid N)" in messages.
    pub fn describe(&self) -> String {
        match (self.mode.as_str(), self.origin.as_deref()) {
            (BY_HAND, _) => "by hand".to_string(),
            ("watch", Some(origin)) if origin != BY_HAND => format!("watch via {origin}"),
            (mode, _) => mode.to_string(),
        }
    }
}

/// Reads the last wake record, if any.
pub fn last_wake(config: &Config) -> Option<Wake> {
    fsutil::read_record(&wake_file(config))
}

/// Records a wake. Best effort: a runner that cannot write it still does its work.
pub(super) fn record_wake(config: &Config, watch: bool, skipped: bool) {
    let origin = config
        .wake_origin
        .clone()
        .unwrap_or_else(|| BY_HAND.to_string());
    let mode = if watch {
        "watch".to_string()
    } else {
        origin.clone()
    };
    let at = Stamp(config.clock.now());
    let scheduled = if mode == BY_HAND {
        last_wake(config).and_then(|w| w.last_scheduled())
    } else {
        Some(ScheduledWake {
            at,
            mode: mode.clone(),
            pid: std::process::id(),
        })
    };
    // A fault stays until this runner's wakes work again (`record_fault(None)`).
    let mine = last_wake(config).filter(|w| w.pid == std::process::id());
    let polled = mine.as_ref().and_then(|w| w.polled.clone());
    let fault = mine.and_then(|w| w.fault);
    let wake = Wake {
        at,
        pid: std::process::id(),
        mode,
        origin: Some(origin),
        skipped,
        scheduled,
        fault,
        polled,
    };
    write(config, &wake);
}

/// Sets (or with `None` clears) the fault in this runner's wake record.
pub(super) fn record_fault(config: &Config, fault: Option<Fault>) {
    let mut wake = match last_wake(config).filter(|w| w.pid == std::process::id()) {
        Some(wake) => wake,
        None => Wake {
            at: Stamp(config.clock.now()),
            pid: std::process::id(),
            mode: "watch".into(),
            origin: Some(
                config
                    .wake_origin
                    .clone()
                    .unwrap_or_else(|| BY_HAND.to_string()),
            ),
            skipped: false,
            scheduled: None,
            fault: None,
            polled: None,
        },
    };
    wake.fault = fault;
    write(config, &wake);
}

/// Notes in this runner's wake record that it polls for changes, and why.
pub(super) fn record_polled(config: &Config, why: &str) {
    if let Some(mut wake) = last_wake(config).filter(|w| w.pid == std::process::id()) {
        wake.polled = Some(why.to_string());
        write(config, &wake);
    }
}

fn write(config: &Config, wake: &Wake) {
    let text = serde_json::to_string(wake).unwrap_or_default();
    // In place and unflushed: a heartbeat lost in a crash costs nothing, and flushing or
    // replacing it was most of an idle watcher's wake-ups (`fsutil::overwrite_record`).
    if let Err(e) = fsutil::overwrite_record(&wake_file(config), text.as_bytes()) {
        eprintln!("warning: could not record the runner's wake: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_records_read_as_cron_wakes() {
        let old: Wake = serde_json::from_str(
            r#"{"at":"2026-04-08T16:35:00Z","pid":7,"mode":"cron","skipped":false}"#,
        )
        .expect("old record");
        assert!(!old.by_hand());
        assert_eq!(old.describe(), "cron");
        assert_eq!(
            old.last_scheduled().map(|s| s.mode).as_deref(),
            Some("cron")
        );
    }

    #[test]
    fn a_hand_run_keeps_the_scheduler_wake_before_it() {
        let hand = Wake {
            at: Stamp("2026-04-08T16:35:00Z".parse().expect("ts")),
            pid: 1,
            mode: BY_HAND.into(),
            origin: Some(BY_HAND.into()),
            skipped: false,
            scheduled: None,
            fault: None,
            polled: None,
        };
        assert_eq!(hand.describe(), "by hand");
        assert_eq!(hand.last_scheduled(), None);
    }
}
