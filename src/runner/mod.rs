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

pub mod executor;
pub mod prompt;
mod unix;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::audit::AuditLog;
use crate::config::Config;
use crate::error::Result;
use crate::fsutil;
use crate::lifecycle::{self, ExecutorRun, RetryPolicy};
use crate::record::{ResultType, Status, Task, validate_id};
use crate::store::Store;

/// Output kept in the record; the rest goes to `<id>.output.txt`.
pub const RECORD_OUTPUT_CAP: usize = 16 * 1024;
/// How often outcomes are written back while a run is in progress.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

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
    fn stopping(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }
}

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
fn record_wake(config: &Config, mode: &str, skipped: bool) {
    let wake = Wake {
        at: crate::record::Stamp(config.clock.now()),
        pid: std::process::id(),
        mode: mode.to_string(),
        skipped,
    };
    let text = serde_json::to_string(&wake).unwrap_or_default();
    if let Err(e) = fsutil::write_private(&wake_file(config), text.as_bytes()) {
        eprintln!("warning: could not record the runner's wake: {e}");
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
fn pass(
    config: &Config,
    store: &dyn Store,
    options: &RunOptions,
    audit: &mut AuditLog,
) -> Result<RunReport> {
    let mut report = RunReport::default();
    let policy = RetryPolicy::from_config(config);

    let now = config.clock.now();
    let mut follow_ups = HashMap::new();
    let recovered = store.recover(now, &mut |task| {
        let prompt = prompt_path(config, &task.id);
        let task = lifecycle::interrupted(task, now, &prompt.display().to_string(), &policy);
        let next = if task.status.is_terminal() {
            lifecycle::next_occurrence(&task, config.clock.zone(), now)
                .ok()
                .flatten()
        } else {
            None
        };
        if let Some(n) = &next {
            follow_ups.insert(task.id.clone(), n.clone());
        }
        (task, next)
    })?;
    for task in &recovered {
        report.recovered += 1;
        let mut outcome = Outcome::new(task.clone(), "interrupted");
        outcome.next = follow_ups.remove(&task.id);
        log_outcome(config, options, audit, &outcome, &mut report);
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
        execute_all(config, store, options, audit, &policy, claimed, &mut report)?;
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

/// Runs the claimed tasks on `DEFER_CONCURRENCY` threads and records outcomes in batches.
fn execute_all(
    config: &Config,
    store: &dyn Store,
    options: &RunOptions,
    audit: &mut AuditLog,
    policy: &RetryPolicy,
    claimed: Vec<Task>,
    report: &mut RunReport,
) -> Result<()> {
    if claimed.is_empty() {
        return Ok(());
    }
    let total = claimed.len();
    let next = AtomicUsize::new(0);
    let workers = config.concurrency.min(total).max(1);
    let (tx, rx) = mpsc::channel::<Outcome>();
    let finished = AtomicBool::new(false);
    thread::scope(|scope| {
        if let Some(every) = store.lease_renewal() {
            let finished = &finished;
            scope.spawn(move || renew_leases(config, store, every, finished));
        }
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, claimed) = (&next, &claimed);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(task) = claimed.get(i) else { break };
                    let outcome = if options.stopping() {
                        Outcome::new(lifecycle::release(task.clone()), "released")
                    } else {
                        execute_one(config, policy, task.clone())
                    };
                    if tx.send(outcome).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);

        let mut batch = Vec::new();
        let mut last_flush = Instant::now();
        let mut received = 0;
        let mut result = Ok(());
        while received < total {
            let wait = FLUSH_INTERVAL.saturating_sub(last_flush.elapsed());
            match rx.recv_timeout(wait) {
                Ok(task) => {
                    received += 1;
                    batch.push(task);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let due = last_flush.elapsed() >= FLUSH_INTERVAL || received == total;
            if due && !batch.is_empty() {
                if let Err(e) = flush(config, store, options, audit, &mut batch, report) {
                    // Keep draining so the workers finish; the error ends the run after.
                    result = Err(e);
                    batch.clear();
                }
                last_flush = Instant::now();
            }
        }
        finished.store(true, Ordering::Relaxed);
        result
    })
}

/// Keeps the claims of running tasks alive (database stores) until `finished`.
fn renew_leases(config: &Config, store: &dyn Store, every: Duration, finished: &AtomicBool) {
    let mut last = Instant::now();
    while !finished.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50).min(every));
        if last.elapsed() >= every {
            if let Err(e) = store.renew_leases(config.clock.now()) {
                eprintln!("warning: could not renew task leases: {e}");
            }
            last = Instant::now();
        }
    }
}

/// Writes a batch of outcomes to the store, then logs them.
fn flush(
    config: &Config,
    store: &dyn Store,
    options: &RunOptions,
    audit: &mut AuditLog,
    batch: &mut Vec<Outcome>,
    report: &mut RunReport,
) -> Result<()> {
    crate::failpoint::hit("executed");
    let outcomes: Vec<(Task, Option<Task>)> = batch
        .iter()
        .map(|o| (o.task.clone(), o.next.clone()))
        .collect();
    let rejected: HashSet<String> = store.save_outcomes(&outcomes)?.into_iter().collect();
    for outcome in batch.drain(..) {
        if rejected.contains(&outcome.task.id) {
            // Another runner rescued this task after our lease ran out; its outcome stands.
            report.rejected += 1;
            audit.log(
                config.clock.now(),
                "outcome rejected",
                &[("id", &outcome.task.id), ("reason", "lease_lost")],
            );
            continue;
        }
        log_outcome(config, options, audit, &outcome, report);
    }
    Ok(())
}

/// A task after its run, and the short reason of a failure for the audit log
/// (`executor_nonzero`, `executor_not_executable`, `executor_timeout`, `interrupted`, ...).
#[derive(Debug)]
struct Outcome {
    task: Task,
    reason: &'static str,
    /// The next occurrence, when this task is part of a series and finished.
    next: Option<Task>,
}

impl Outcome {
    fn new(task: Task, reason: &'static str) -> Outcome {
        Outcome {
            task,
            reason,
            next: None,
        }
    }
}

/// The audit line (and `-v` line) for a recorded outcome.
fn log_outcome(
    config: &Config,
    options: &RunOptions,
    audit: &mut AuditLog,
    outcome: &Outcome,
    report: &mut RunReport,
) {
    let task = &outcome.task;
    let now = config.clock.now();
    let kind = task.result.as_ref().map(|r| r.kind);
    if outcome.reason == "released" {
        audit.log(now, "released", &[("id", &task.id), ("reason", "stopping")]);
        return;
    }
    match task.status {
        Status::Completed => {
            report.completed += 1;
            let mode = match kind {
                Some(ResultType::PromptPrepared) => "prompt_prepared",
                _ => "executor",
            };
            audit.log(now, "executed", &[("id", &task.id), ("mode", mode)]);
            if options.verbose {
                println!("completed {} ({mode})", task.id);
            }
        }
        Status::Scheduled => {
            report.retried += 1;
            let next = task.run_at.to_string();
            audit.log(
                now,
                "retry scheduled",
                &[
                    ("id", &task.id),
                    ("attempt", &task.attempts.to_string()),
                    ("next_run_at", &next),
                ],
            );
            if options.verbose {
                println!(
                    "retry {} (attempt {} failed: {}; next run {next})",
                    task.id,
                    task.attempts,
                    one_line(task.last_error.as_deref().unwrap_or(""))
                );
            }
        }
        Status::Cancelled => {
            report.missed += 1;
            let reason = task.cancel_reason.clone().flatten().unwrap_or_default();
            audit.log(
                now,
                "missed",
                &[("id", &task.id), ("reason", &one_line(&reason))],
            );
            if options.verbose {
                println!("skipped {}: {}", task.id, one_line(&reason));
            }
        }
        _ => {
            report.failed += 1;
            let error = one_line(task.error.as_deref().unwrap_or(""));
            audit.log(
                now,
                "failed",
                &[
                    ("id", &task.id),
                    ("reason", outcome.reason),
                    ("error", &error),
                ],
            );
            if options.verbose {
                println!("failed {}: {error}", task.id);
            }
        }
    }
    if let Some(next) = &outcome.next {
        let run_at = next.run_at.to_string();
        let occurrence = next
            .series
            .as_ref()
            .map_or(String::new(), |s| s.occurrence.to_string());
        audit.log(
            now,
            "series next",
            &[
                ("id", &next.id),
                ("run_at", &run_at),
                ("occurrence", &occurrence),
            ],
        );
        if options.verbose {
            println!("next {} at {run_at}", next.id);
        }
    }
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = line.chars().take(200).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    cut
}

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
    };
    let mut audit = AuditLog::new(&config.log_file);
    let mut waiting_logged = false;
    let _lock = loop {
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
        let report = pass(config, store, &options, &mut audit)?;
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

/// One claimed task, start to finish: a series occurrence first catches up with missed rule
/// times, a task with `--if-late skip` that is too late is recorded as missed instead of run,
/// and a finished series occurrence brings its successor.
fn execute_one(config: &Config, policy: &RetryPolicy, mut task: Task) -> Outcome {
    let now = config.clock.now();
    if let Err(e) = lifecycle::catch_up(&mut task, config.clock.zone(), now) {
        eprintln!(
            "warning: task {}: could not read its series rule: {e}",
            task.id
        );
    }
    let mut outcome = match lifecycle::skip_if_late(&task, now) {
        Some(skipped) => Outcome::new(skipped, "missed"),
        None => run_task(config, policy, task),
    };
    if outcome.task.status.is_terminal() {
        match lifecycle::next_occurrence(&outcome.task, config.clock.zone(), config.clock.now()) {
            Ok(next) => outcome.next = next,
            Err(e) => eprintln!(
                "warning: task {}: the next occurrence of its series could not be computed: {e}",
                outcome.task.id
            ),
        }
    }
    outcome
}

/// Prompt artifact first, always; then the executor, if one is configured.
fn run_task(config: &Config, policy: &RetryPolicy, task: Task) -> Outcome {
    if let Err(e) = validate_id(&task.id) {
        let task = lifecycle::unrunnable(task, config.clock.now(), e.to_string());
        return Outcome::new(task, "invalid_id");
    }
    let prompt_path = prompt_path(config, &task.id);
    let prompt_str = prompt_path.display().to_string();
    if let Err(e) = fsutil::write_private(&prompt_path, prompt::render(&task).as_bytes()) {
        let run = ExecutorRun {
            error: Some(format!("could not write the prompt artifact: {e}")),
            ..ExecutorRun::default()
        };
        let task = lifecycle::executor_failed(task, config.clock.now(), &prompt_str, &run, policy);
        return Outcome::new(task, "prompt_not_written");
    }
    let Some(executor) = &config.executor else {
        let task = lifecycle::prompt_prepared(task, config.clock.now(), &prompt_str);
        return Outcome::new(task, "");
    };
    let program = match executor::check_usable(executor) {
        Ok(program) => program,
        Err(executor::Unusable(msg)) => {
            let task = lifecycle::executor_unusable(task, config.clock.now(), &prompt_str, msg);
            return Outcome::new(task, "executor_not_executable");
        }
    };
    let env = [
        ("DEFER_TASK_ID", task.id.clone()),
        ("DEFER_PROMPT_FILE", prompt_str.clone()),
        ("DEFER_ATTEMPT", (task.attempts + 1).to_string()),
        (
            "DEFER_LATENESS_SECONDS",
            lifecycle::lateness(&task, config.clock.now()).to_string(),
        ),
        (
            "DEFER_RUNTIME_DIR",
            config.runtime_dir.display().to_string(),
        ),
    ];
    let mut stdin = task.to_line().into_bytes();
    stdin.push(b'\n');
    let finished = match executor::execute(&program, stdin, &env, config.executor_timeout) {
        Ok(f) => f,
        Err(executor::Unusable(msg)) => {
            let task = lifecycle::executor_unusable(task, config.clock.now(), &prompt_str, msg);
            return Outcome::new(task, "executor_not_executable");
        }
    };
    let run = summarize(config, &task.id, &finished);
    let now = config.clock.now();
    if finished.success() {
        Outcome::new(
            lifecycle::executor_succeeded(task, now, &prompt_str, &run),
            "",
        )
    } else {
        let reason = if finished.timed_out {
            "executor_timeout"
        } else {
            "executor_nonzero"
        };
        Outcome::new(
            lifecycle::executor_failed(task, now, &prompt_str, &run, policy),
            reason,
        )
    }
}

/// `$DEFER_LOG_DIR/<id>.prompt.txt`.
fn prompt_path(config: &Config, id: &str) -> std::path::PathBuf {
    config.log_dir.join(format!("{id}.prompt.txt"))
}

/// Caps the output for the record (full text to `<id>.output.txt`) and words the error.
fn summarize(config: &Config, id: &str, f: &executor::Finished) -> ExecutorRun {
    let stdout = String::from_utf8_lossy(&f.stdout.bytes);
    let stderr = String::from_utf8_lossy(&f.stderr.bytes);
    let mut run = ExecutorRun {
        exit_code: f.exit_code(),
        ..ExecutorRun::default()
    };
    let capped = f.stdout.total as usize > RECORD_OUTPUT_CAP;
    if capped {
        let path = config.log_dir.join(format!("{id}.output.txt"));
        let mut full = f.stdout.bytes.clone();
        if f.stdout.total as usize > full.len() {
            full.extend_from_slice(
                format!(
                    "\n[defer: output cut at {} of {} bytes]\n",
                    full.len(),
                    f.stdout.total
                )
                .as_bytes(),
            );
        }
        match fsutil::write_private(&path, &full) {
            Ok(()) => run.output_path = Some(path.display().to_string()),
            Err(e) => eprintln!("warning: full output of {id} not saved: {e}"),
        }
        let head = truncate_chars(&stdout, RECORD_OUTPUT_CAP);
        run.output = format!(
            "{head}\n[defer: output truncated at {} of {} bytes; full text in {}]",
            head.len(),
            f.stdout.total,
            run.output_path.as_deref().unwrap_or("(not saved)")
        );
    } else {
        run.output = stdout.to_string();
    }
    if !f.success() {
        let detail = if !stderr.trim().is_empty() {
            stderr.trim_end().to_string()
        } else {
            stdout.trim_end().to_string()
        };
        let detail = truncate_chars(&detail, RECORD_OUTPUT_CAP).to_string();
        let error = if f.timed_out {
            let secs = config.executor_timeout.as_secs();
            if detail.is_empty() {
                format!("executor timed out after {secs}s and was killed")
            } else {
                format!("executor timed out after {secs}s and was killed: {detail}")
            }
        } else if !detail.is_empty() {
            detail
        } else if let Some(signal) = f.signal() {
            format!("executor was killed by signal {signal}")
        } else {
            format!(
                "executor exited with status {}",
                f.exit_code().unwrap_or(-1)
            )
        };
        run.error = Some(error);
    }
    run
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
fn truncate_chars(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
