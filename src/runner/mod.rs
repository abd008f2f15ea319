//! `defer run`: one wake of the runner (SPEC §4, §8, §9).
//!
//! 1. Take the runner lock without waiting; if another runner has it, log and stop.
//! 2. Recover tasks a dead runner left `executing` (a failed attempt each).
//! 3. Claim every due task in one atomic store step.
//! 4. For each: write the prompt artifact, then run the executor (if any), up to
//!    `DEFER_CONCURRENCY` at once.
//! 5. Record outcomes in batches — at most one store rewrite per second, not one per task —
//!    so a run over thousands of due tasks stays linear in their number.
//! 6. Sweep terminal tasks to the archive.
//!
//! Delivery is at-least-once: a crash after an executor finished but before its outcome was
//! recorded makes the next run treat the task as interrupted and retry it.

mod attempt;
pub mod executor;
mod outcomes;
pub mod prompt;
mod unix;
mod wake;
mod watch;

pub use wake::{Wake, last_wake, wake_file};
pub use watch::watch;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::audit::AuditLog;
use crate::config::Config;
use crate::error::Result;
use crate::lifecycle::{self, Happened, Policy};
use crate::store::Store;
use wake::record_wake;

/// Output kept in the record; the rest goes to `<id>.output.txt`.
pub const RECORD_OUTPUT_CAP: usize = 16 * 1024;
/// How often outcomes are written back while a run is in progress.
pub(super) const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What a run did, for `-v` and for callers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Another runner held the lock; nothing was done.
    pub skipped: bool,
    pub recovered: usize,
    pub claimed: usize,
    pub completed: usize,
    pub retried: usize,
    pub failed: usize,
    pub archived: usize,
    /// Outcomes refused because another runner had taken the task over (database stores).
    pub rejected: usize,
    /// Tasks recorded as missed by `--if-late skip`.
    pub missed: usize,
}

impl std::fmt::Display for RunReport {
    /// The `-v` summary line of a pass.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recovered {} claimed {} completed {} retried {} failed {} archived {}",
            self.recovered, self.claimed, self.completed, self.retried, self.failed, self.archived
        )?;
        if self.missed > 0 {
            write!(f, " missed {}", self.missed)?;
        }
        if self.rejected > 0 {
            write!(f, " rejected {}", self.rejected)?;
        }
        Ok(())
    }
}

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Print one line per task to stdout.
    pub verbose: bool,
    /// Recorded in the wake file: this pass belongs to a `--watch` runner.
    pub watch: bool,
    /// Set by SIGTERM/SIGINT in `--watch`: start no new executor; claimed tasks not yet
    /// started go back to `scheduled`; running executors finish and are recorded.
    pub stop: Option<&'static AtomicBool>,
}

impl RunOptions {
    pub(super) fn stopping(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }
}

/// One wake of the runner.
pub fn run(config: &Config, store: &dyn Store, options: &RunOptions) -> Result<RunReport> {
    let mut report = RunReport::default();
    let mut audit = AuditLog::new(&config.log_file);
    let lock = store.try_runner_lock()?;
    record_wake(
        config,
        if options.watch { "watch" } else { "cron" },
        lock.is_none(),
    );
    // Descendants an executor abandons come back to us, to be ended (see `kill_orphans`).
    unix::become_subreaper();
    let Some(_runner_lock) = lock else {
        audit.log(
            config.clock.now(),
            "runner skipped",
            &[("reason", "lock_held")],
        );
        report.skipped = true;
        return Ok(report);
    };
    pass(config, store, options, &mut audit)
}

/// One pass over the store while holding the runner lock: recover, claim and execute in
/// rounds, archive. `defer run` makes one; `defer run --watch` makes one per wake.
pub(super) fn pass(
    config: &Config,
    store: &dyn Store,
    options: &RunOptions,
    audit: &mut AuditLog,
) -> Result<RunReport> {
    let mut report = RunReport::default();
    let policy = Policy::from_config(config);

    let now = config.clock.now();
    let recovered = store.recover(now, &mut |task| {
        let prompt = prompt_path(config, &task.id).display().to_string();
        lifecycle::finish(task, Happened::Interrupted, &prompt, &policy, now)
    })?;
    for change in &recovered {
        report.recovered += 1;
        outcomes::log_outcome(config, options, audit, change, &mut report);
    }

    // Claim in rounds: all at once for a store one runner works, batches where runners share
    // a queue. A task handled in this run (say, retried with no delay) waits for the next.
    let limit = store.claim_limit();
    let mut handled: HashSet<String> = HashSet::new();
    while !options.stopping() {
        let now = config.clock.now();
        let claimed = store.claim_due(now, limit, &handled, &mut |task| {
            lifecycle::claim(task, now)
        })?;
        if claimed.is_empty() {
            break;
        }
        report.claimed += claimed.len();
        for task in &claimed {
            handled.insert(task.id.clone());
            audit.log(
                now,
                "runner claimed",
                &[("id", &task.id), ("run_at", &task.run_at.to_string())],
            );
        }
        let last_round = claimed.len() < limit;
        outcomes::execute_all(config, store, options, audit, &policy, claimed, &mut report)?;
        if last_round {
            break;
        }
    }

    let archived = store.archive()?;
    let now = config.clock.now();
    for a in &archived {
        audit.log(
            now,
            "archived",
            &[("id", &a.id), ("file", &a.file.display().to_string())],
        );
    }
    report.archived = archived.len();
    Ok(report)
}

/// `$DEFER_LOG_DIR/<id>.prompt.txt`.
pub(crate) fn prompt_path(config: &Config, id: &str) -> std::path::PathBuf {
    config.log_dir.join(format!("{id}.prompt.txt"))
}
