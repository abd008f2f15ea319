//! `defer run --watch`: the long-lived runner that sleeps until the next due time or a change.

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::wake::record_wake;
use super::{RunOptions, pass, unix};
use crate::audit::AuditLog;
use crate::config::Config;
use crate::error::Result;
use crate::store::Store;

/// `defer run --watch`: one long-lived runner that holds the runner lock (cron runs step
/// aside while it lives) and makes a pass whenever a task falls due or the store changes.
///
/// It sleeps until the earliest `run_at`, but never longer than `rescan` (a safety net), and
/// wakes early when the store changes: the store is polled for changes every 200 ms (a
/// `stat` of the file, which also notices a replaced file; `LISTEN` for PostgreSQL), so a
/// task scheduled for "now" starts within about a quarter of a second. SIGTERM or SIGINT stops
/// it cleanly: running executors finish and are recorded, claimed tasks not yet started are
/// released, and the lock is let go.
pub fn watch(config: &Config, store: &dyn Store, verbose: bool, rescan: Duration) -> Result<()> {
    let stop = unix::stop_on_signals();
    let options = RunOptions {
        verbose,
        watch: true,
        stop: Some(stop),
        progress: None,
    };
    let mut audit = AuditLog::new(&config.log_file);
    let mut waiting_logged = false;
    let lock = loop {
        if let Some(lock) = store.try_runner_lock()? {
            break lock;
        }
        if !waiting_logged {
            eprintln!("defer: another runner holds the lock; waiting for it to finish");
            waiting_logged = true;
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(200));
    };
    audit.log(
        config.clock.now(),
        "watch started",
        &[("pid", &std::process::id().to_string())],
    );
    while !stop.load(Ordering::Relaxed) {
        record_wake(config, "watch", false);
        let report = pass(config, store, &*lock, &options, &mut audit)?;
        if verbose && report.claimed + report.recovered + report.archived > 0 {
            println!("{report}");
        }
        let now = config.clock.now();
        let until_due = store
            .next_due()?
            .map(|due| Duration::try_from(due.duration_since(now)).unwrap_or(Duration::ZERO));
        let sleep = until_due.map_or(rescan, |d| d.min(rescan));
        let deadline = Instant::now() + sleep;
        // Wake for a change, the next due time, the rescan, or a stop signal.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stop.load(Ordering::Relaxed) {
                break;
            }
            if store.wait_for_change(left.min(Duration::from_millis(200)))? {
                break;
            }
        }
    }
    audit.log(
        config.clock.now(),
        "watch stopped",
        &[("pid", &std::process::id().to_string())],
    );
    Ok(())
}
