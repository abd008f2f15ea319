//! `defer run --watch`: the long-lived runner that sleeps until the next due time or a change.

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::wake::record_wake;
use super::{RunOptions, pass, unix};
use crate::audit::AuditLog;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::{RunnerLock, Store};

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
    unix::become_subreaper();
    audit.log(
        config.clock.now(),
        "watch started",
        &[("pid", &std::process::id().to_string())],
    );
    let mut failures: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        // The dir or the store may have been opened up (or swapped for another user's file)
        // since the watcher started: check before every pass, as each one-shot command does.
        if let Err(e) = config.check_permissions() {
            audit.log(
                config.clock.now(),
                "runner stopped",
                &[
                    ("reason", "permissions"),
                    ("error", &crate::error::chain(&e)),
                ],
            );
            return Err(e);
        }
        record_wake(config, true, false);
        match watch_once(config, store, &*lock, &options, &mut audit, rescan) {
            Ok(()) => failures = 0,
            // A database that went away (a restart, a failover) comes back: try again with
            // a capped backoff, saying so each time. Anything else stops the watcher.
            Err(e @ (Error::Database { .. } | Error::DatabaseUnreachable { .. })) => {
                failures = failures.saturating_add(1);
                let wait = RECONNECT_BACKOFF
                    .saturating_mul(1 << failures.min(5))
                    .min(MAX_RECONNECT_BACKOFF);
                let error = crate::error::chain(&e);
                eprintln!(
                    "defer: the store is unreachable ({error}); trying again in {}s",
                    wait.as_secs()
                );
                audit.log(
                    config.clock.now(),
                    "store unreachable",
                    &[("error", &error), ("retry_in", &wait.as_secs().to_string())],
                );
                let deadline = Instant::now() + wait;
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(100));
                }
            }
            Err(e) => return Err(e),
        }
    }
    audit.log(
        config.clock.now(),
        "watch stopped",
        &[("pid", &std::process::id().to_string())],
    );
    Ok(())
}

/// The first wait after the store became unreachable; it doubles up to the cap.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(500);
const MAX_RECONNECT_BACKOFF: Duration = Duration::from_secs(30);

/// One pass, then the sleep until the next due time, a change, the rescan or a stop.
fn watch_once(
    config: &Config,
    store: &dyn Store,
    lock: &dyn RunnerLock,
    options: &RunOptions,
    audit: &mut AuditLog,
    rescan: Duration,
) -> Result<()> {
    let report = pass(config, store, lock, options, audit)?;
    if options.verbose && report.claimed + report.recovered + report.archived > 0 {
        println!("{report}");
    }
    if report.paused.is_some() {
        // Paused: look at the pause every second (a resume is a separate record, not a
        // change of the task store), and make a pass when it ends.
        let deadline = Instant::now() + rescan;
        while Instant::now() < deadline && !options.stopping() {
            thread::sleep(Duration::from_secs(1));
            let now = config.clock.now();
            if store.pause_state()?.is_none_or(|p| !p.in_force(now)) {
                break;
            }
        }
        return Ok(());
    }
    let now = config.clock.now();
    let until_due = store
        .next_due()?
        .map(|due| Duration::try_from(due.duration_since(now)).unwrap_or(Duration::ZERO));
    let mut sleep = until_due.map_or(rescan, |d| d.min(rescan));
    if report.unstarted > 0 {
        // A full disk is not fixed by trying again at once.
        sleep = sleep.max(rescan.min(Duration::from_secs(30)));
    }
    if let Some(every) = store.rescue_interval() {
        // Claims of runners that died are rescued by a pass; look often enough.
        sleep = sleep.min(every);
    }
    let deadline = Instant::now() + sleep;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || options.stopping() {
            return Ok(());
        }
        if store.wait_for_change(left.min(Duration::from_millis(200)))? {
            return Ok(());
        }
    }
}
