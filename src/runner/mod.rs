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
pub mod files;
mod journal;
mod outcomes;
pub mod prompt;
mod spawn;
mod stream;
mod unix;
mod wake;
mod watch;

pub use files::prompt_path;
pub use unix::{stop_on_signals, stop_requested};
pub use wake::{BY_HAND, Fault, ScheduledWake, Wake, last_wake, wake_file};
pub use watch::{start_line, watch, watch_observed};

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::audit::AuditLog;
use crate::config::Config;
use crate::error::Result;
use crate::lifecycle::{self, Change, Happened, Policy};
use crate::record::Stamp;
use crate::store::{RunnerLock, Store};
use wake::record_wake;

/// How long `pause` waits after storing a pause before it returns: longer than a runner keeps
/// its answer to "are runners paused?" (`outcomes::PAUSE_FRESH`).
pub const PAUSE_SETTLE: Duration = Duration::from_millis(250);

/// Output kept in the record; the whole of it is in the attempt's stdout file.
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
    /// Claimed tasks given back unstarted because the runner was asked to stop.
    pub released: usize,
    /// Claimed tasks given back unstarted because runners were paused meanwhile.
    pub held: usize,
    /// Due tasks that could not start for a reason of the host's (the prompt artifact could
    /// not be written: a full disk): left scheduled, no attempt spent.
    pub unstarted: usize,
    /// Why the first of them could not start.
    pub unstarted_error: Option<String>,
    /// Runners are paused: nothing was claimed.
    pub paused: Option<crate::lifecycle::Pause>,
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
        if self.released > 0 {
            write!(f, " released {}", self.released)?;
        }
        if self.held > 0 {
            write!(f, " held for the pause {}", self.held)?;
        }
        if self.unstarted > 0 {
            write!(f, " not started {}", self.unstarted)?;
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
    /// Told how the run advances (the CLI draws a progress bar on a terminal).
    pub progress: Option<std::sync::Arc<dyn Progress>>,
    /// Told of every outcome this run records (`defer serve --run` counts them for
    /// `/metrics`).
    pub observer: Option<std::sync::Arc<dyn Observer>>,
}

/// Hears of each outcome a run has saved, so a long-lived process can count attempts without
/// reading the store back. It is told only what the store accepted (an outcome refused because
/// another runner took the task over is not its to count), after the write, on the thread
/// that records outcomes: it must return quickly.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// `change` closed the task's last attempt (`history`); `due` is the `run_at` the task was
    /// claimed for, which a retry's record no longer carries (it holds the next try's time).
    fn recorded(&self, change: &Change, due: Stamp);
}

/// Hears how a run advances: tasks claimed, tasks whose executor finished, and the `-v`
/// lines, which it prints so that they do not tear whatever it draws.
pub trait Progress: Send + Sync + std::fmt::Debug {
    /// `n` more tasks were claimed.
    fn claimed(&self, n: usize);
    /// One claimed task has finished (its outcome is about to be recorded).
    fn finished(&self);
    /// Prints one `-v` line to stdout.
    fn println(&self, line: &str);
}

impl RunOptions {
    pub(super) fn stopping(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Prints a `-v` line (through the progress reporter when there is one).
    pub(super) fn say(&self, line: &str) {
        match &self.progress {
            Some(progress) => progress.println(line),
            None => println!("{line}"),
        }
    }

    fn claimed(&self, n: usize) {
        if let Some(progress) = &self.progress {
            progress.claimed(n);
        }
    }

    pub(super) fn finished(&self) {
        if let Some(progress) = &self.progress {
            progress.finished();
        }
    }

    /// Tells the observer, if any, of a saved outcome.
    pub(super) fn recorded(&self, change: &Change, due: Stamp) {
        if let Some(observer) = &self.observer {
            observer.recorded(change, due);
        }
    }
}

/// One wake of the runner.
pub fn run(config: &Config, store: &dyn Store, options: &RunOptions) -> Result<RunReport> {
    let mut report = RunReport::default();
    let mut audit = AuditLog::new(&config.log_file);
    let lock = store.try_runner_lock()?;
    record_wake(config, options.watch, lock.is_none());
    // Descendants an executor abandons come back to us, to be ended (see `kill_orphans`).
    unix::become_subreaper();
    let Some(runner_lock) = lock else {
        audit.log(
            config.clock.now(),
            "runner skipped",
            &[("reason", "lock_held")],
        );
        report.skipped = true;
        return Ok(report);
    };
    pass(config, store, &*runner_lock, options, &mut audit)
}

/// `defer run --id ID`: runs one scheduled task now, due or not. It holds the runner lock like
/// any run (so it never runs beside another runner of a file store) and ends with the
/// archive sweep; the task goes through the same attempt and outcome steps as a due one.
pub fn run_one(
    config: &Config,
    store: &dyn Store,
    id: &str,
    options: &RunOptions,
) -> Result<RunReport> {
    let mut report = RunReport::default();
    let mut audit = AuditLog::new(&config.log_file);
    let Some(lock) = store.try_runner_lock()? else {
        return Err(crate::Error::RunnerBusy);
    };
    check_lock(&*lock, &mut audit, config)?;
    check_executor(config, &mut audit)?;
    unix::become_subreaper();
    let policy = Policy::from_config(config);
    let now = config.clock.now();
    let change = store.claim_id(id, now, &mut |found| lifecycle::claim_now(found, now))?;
    audit.log(
        now,
        "runner claimed",
        &[
            ("id", &change.task.id),
            ("run_at", &change.task.run_at.to_string()),
            ("reason", change.reason.as_str()),
        ],
    );
    report.claimed = 1;
    options.claimed(1);
    let journal = match store.start_journal() {
        Some(path) => Some(journal::StartJournal::resume(&path)?),
        None => None,
    };
    outcomes::execute_all(
        config,
        store,
        options,
        &mut audit,
        &outcomes::Attempts {
            policy: &policy,
            journal: journal.as_ref(),
            handoff: &attempt::Handoff::of(config, store),
        },
        vec![change.task],
        &mut report,
        None,
    )?;
    sweep(config, store, &mut audit, &mut report)?;
    Ok(report)
}

/// Moves terminal tasks to the archive and logs each.
fn sweep(
    config: &Config,
    store: &dyn Store,
    audit: &mut AuditLog,
    report: &mut RunReport,
) -> Result<()> {
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
    Ok(())
}

/// Whether recovery would count task `id`, found `executing` with its runner gone, as an
/// interrupted attempt (`true`: its runner's start journal says it started, or the store keeps
/// no journal) or give it back unstarted (`false`) — the question `pass` asks, for `why`.
pub fn recovery_counts_attempt(store: &dyn Store, id: &str) -> bool {
    match store.start_journal() {
        Some(path) => journal::StartJournal::read(&path).map_or(true, |s| s.contains(id)),
        None => true,
    }
}

/// A `DEFER_EXECUTOR` that cannot be run is a setup fault, not the tasks': the run stops
/// before claiming anything, so every task stays `scheduled` until the setting is fixed.
fn check_executor(config: &Config, audit: &mut AuditLog) -> Result<()> {
    let Some(path) = &config.executor else {
        return Ok(());
    };
    let Err(executor::Unusable(reason)) = executor::check_usable(path) else {
        return Ok(());
    };
    audit.log(
        config.clock.now(),
        "runner stopped",
        &[("reason", "executor_unusable"), ("error", &reason)],
    );
    Err(crate::Error::ExecutorUnusable { reason })
}

/// Refuses to go on when the runner lock stopped excluding other runners.
fn check_lock(lock: &dyn RunnerLock, audit: &mut AuditLog, config: &Config) -> Result<()> {
    if !lock.lost() {
        return Ok(());
    }
    audit.log(
        config.clock.now(),
        "runner stopped",
        &[("reason", "lock_lost")],
    );
    Err(crate::Error::RunnerLockLost)
}

/// One pass over the store while holding the runner lock: recover, claim and execute in
/// rounds, archive. `defer run` makes one; `defer run --watch` makes one per wake.
pub(super) fn pass(
    config: &Config,
    store: &dyn Store,
    lock: &dyn RunnerLock,
    options: &RunOptions,
    audit: &mut AuditLog,
) -> Result<RunReport> {
    let mut report = RunReport::default();
    let policy = Policy::from_config(config);
    // A lock whose file was replaced no longer proves that no other runner is at work, so
    // nothing found `executing` may be taken for interrupted.
    check_lock(lock, audit, config)?;
    check_executor(config, audit)?;

    let now = config.clock.now();
    let journal_path = store.start_journal();
    let (owner, started) = match &journal_path {
        Some(path) => {
            let (owner, started) = journal::StartJournal::read_with_owner(path)?;
            (owner, Some(started))
        }
        None => (None, None),
    };
    // The runner that began the journal is still alive (its lock file was deleted under it,
    // so we got a fresh one): its `executing` tasks are running, not interrupted. It stops
    // claiming at its next round; we leave its tasks and its journal alone.
    let live_owner = owner.filter(|&pid| crate::process::is_other_defer(pid));
    // The time each recovered task was claimed for, for the observer: a retry moves `run_at`.
    let mut dues: std::collections::HashMap<String, Stamp> = std::collections::HashMap::new();
    let recovered = match live_owner {
        Some(pid) => {
            audit.log(
                now,
                "recovery skipped",
                &[("reason", "runner_alive"), ("pid", &pid.to_string())],
            );
            Vec::new()
        }
        None => store.recover(now, &mut |task, recorded| {
            if options.observer.is_some() {
                dues.insert(task.id.clone(), task.run_at);
            }
            // What the store recorded of the start, else what this store's start journal says.
            let began =
                recorded.unwrap_or_else(|| started.as_ref().is_none_or(|s| s.contains(&task.id)));
            if !began {
                return lifecycle::never_started(task, now);
            }
            let prompt = prompt_path(config, &task.id).display().to_string();
            lifecycle::finish(task, Happened::Interrupted, &prompt, &policy, now)
        })?,
    };
    let journal = match (&journal_path, live_owner) {
        (Some(path), None) => Some(journal::StartJournal::begin(path)?),
        (Some(path), Some(_)) => Some(journal::StartJournal::resume(path)?),
        (None, _) => None,
    };
    let handoff = attempt::Handoff::of(config, store);
    for change in &recovered {
        report.recovered += 1;
        outcomes::log_outcome(config, options, audit, change, &mut report);
        if let Some(due) = dues.get(&change.task.id) {
            options.recorded(change, *due);
        }
    }

    // Claim in rounds: all at once for a store one runner works, batches where runners share
    // a queue. A task handled in this run (say, retried with no delay) waits for the next.
    // A pause stops claiming, nothing else: dead runners' tasks are still recovered and
    // finished ones archived. The store answers the pause question with each claim.
    let limit = store.claim_limit();
    let mut handled: HashSet<String> = HashSet::new();
    while !options.stopping() {
        check_lock(lock, audit, config)?;
        let now = config.clock.now();
        let claimed = match store.claim_due(now, limit, &handled, &mut |task| {
            lifecycle::claim(task, now)
        }) {
            Ok(claimed) => claimed,
            Err(crate::Error::Paused { pause }) => {
                note_pause(config, audit, &mut report, pause);
                break;
            }
            Err(e) => return Err(e),
        };
        if claimed.is_empty() {
            break;
        }
        report.claimed += claimed.len();
        options.claimed(claimed.len());
        for task in &claimed {
            handled.insert(task.id.clone());
            audit.log(
                now,
                "runner claimed",
                &[("id", &task.id), ("run_at", &task.run_at.to_string())],
            );
        }
        let last_round = claimed.len() < limit;
        outcomes::execute_all(
            config,
            store,
            options,
            audit,
            &outcomes::Attempts {
                policy: &policy,
                journal: journal.as_ref(),
                handoff: &handoff,
            },
            claimed,
            &mut report,
            Some(outcomes::Refill {
                handled: &mut handled,
                lock,
            }),
        )?;
        if last_round {
            break;
        }
    }

    sweep(config, store, audit, &mut report)?;
    Ok(report)
}

/// Records that a claim found the store paused (the audit line once per pass).
pub(super) fn note_pause(
    config: &Config,
    audit: &mut AuditLog,
    report: &mut RunReport,
    pause: crate::lifecycle::Pause,
) {
    if report.paused.is_none() {
        let until = pause
            .until
            .map_or_else(|| "resume".to_string(), |u| u.to_string());
        audit.log(config.clock.now(), "runner paused", &[("until", &until)]);
    }
    report.paused = Some(pause);
}
