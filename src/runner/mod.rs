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

use std::collections::HashSet;
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
}

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Print one line per task to stdout.
    pub verbose: bool,
}

/// One wake of the runner.
pub fn run(config: &Config, store: &dyn Store, options: &RunOptions) -> Result<RunReport> {
    let mut report = RunReport::default();
    let mut audit = AuditLog::new(&config.log_file);
    let Some(_runner_lock) = store.try_runner_lock()? else {
        audit.log(
            config.clock.now(),
            "runner skipped",
            &[("reason", "lock_held")],
        );
        report.skipped = true;
        return Ok(report);
    };
    let policy = RetryPolicy::from_config(config);

    let now = config.clock.now();
    let recovered = store.recover(now, &mut |task| {
        let prompt = prompt_path(config, &task.id);
        lifecycle::interrupted(task, now, &prompt.display().to_string(), &policy)
    })?;
    for task in &recovered {
        report.recovered += 1;
        let outcome = Outcome::new(task.clone(), "interrupted");
        log_outcome(config, options, &mut audit, &outcome, &mut report);
    }

    // Claim in rounds: all at once for a store one runner works, batches where runners share
    // a queue. A task handled in this run (say, retried with no delay) waits for the next.
    let limit = store.claim_limit();
    let mut handled: HashSet<String> = HashSet::new();
    loop {
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
        execute_all(
            config,
            store,
            options,
            &mut audit,
            &policy,
            claimed,
            &mut report,
        )?;
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
                    let outcome = execute_one(config, policy, task.clone());
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
    let tasks: Vec<Task> = batch.iter().map(|o| o.task.clone()).collect();
    let rejected: HashSet<String> = store.save_outcomes(&tasks)?.into_iter().collect();
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
}

impl Outcome {
    fn new(task: Task, reason: &'static str) -> Outcome {
        Outcome { task, reason }
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
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = line.chars().take(200).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    cut
}

/// Prompt artifact first, always; then the executor, if one is configured.
fn execute_one(config: &Config, policy: &RetryPolicy, task: Task) -> Outcome {
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
