//! Every state change of a task (SPEC §4), decided here and nowhere else.
//!
//! Each transition is a pure function: the task, what happened, and the policy in; a
//! [`Change`] out (the new record, a series' next occurrence if any, and a typed [`Reason`]).
//! Stores only find, lock and write what a `Change` says, the way River's drivers apply its
//! executor's state-change values; the runner, `why`, `doctor` and the front ends ask the same
//! functions, so they cannot disagree about what happens to a task.

pub mod attempts;
pub mod late;
pub mod pause;
pub mod retry;
pub mod series;
pub mod unique;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::record::{AttemptOutcome, Missed, ResultType, Stamp, Status, Task, TaskResult};
use attempts::Closing;

pub use late::{DEFAULT_LATE_AFTER_SECONDS, LateRule, lateness};
pub use pause::Pause;
pub use retry::RetryPolicy;
pub use series::{catch_up, next_occurrence, series_zone};

/// What every transition needs besides the task: how to retry, and the zone series rules fall
/// back to.
#[derive(Debug, Clone)]
pub struct Policy {
    pub retry: RetryPolicy,
    pub zone: TimeZone,
}

impl Policy {
    /// The policy the configuration asks for.
    pub fn from_config(config: &Config) -> Policy {
        Policy {
            retry: RetryPolicy::from_config(config),
            zone: config.clock.zone().clone(),
        }
    }
}

/// Why a record changed, as the audit log and `-v` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No executor: the prompt artifact is the outcome.
    PromptPrepared,
    /// The executor exited 0.
    ExecutorSucceeded,
    /// The executor exited non-zero or was killed by a signal.
    ExecutorNonzero,
    /// The executor ran past `DEFER_EXECUTOR_TIMEOUT_SECONDS` and was killed.
    ExecutorTimeout,
    /// A fault of the host, not the task's (the prompt artifact could not be written, the
    /// executor vanished or lost its execute bit): no attempt is spent.
    HostFault,
    /// Claimed by a runner that died before starting it (no attempt is spent).
    NotStarted,
    /// The record's id cannot name a file.
    InvalidId,
    /// Found `executing` with its runner gone.
    Interrupted,
    /// Claimed by a runner that stopped before starting it.
    Released,
    /// Claimed, then not started because runners were paused meanwhile.
    Paused,
    /// Claimed, then not started because the store could not record the start.
    StartUnrecorded,
    /// `--if-late skip` and found too late.
    Missed,
    /// `defer cancel`.
    Cancelled,
    /// `defer cancel --series`.
    SeriesEnded,
    /// `defer retry`: a failed or missed task scheduled again.
    Retried,
    /// `defer reschedule`: a scheduled task moved to a new time.
    Rescheduled,
    /// `defer run --id`: claimed now, whether or not it is due.
    RunNow,
}

impl Reason {
    /// The `reason=` value of the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PromptPrepared => "prompt_prepared",
            Reason::ExecutorSucceeded => "executor",
            Reason::ExecutorNonzero => "executor_nonzero",
            Reason::ExecutorTimeout => "executor_timeout",
            Reason::HostFault => "host_fault",
            Reason::InvalidId => "invalid_id",
            Reason::Interrupted => "interrupted",
            Reason::Released => "stopping",
            Reason::Paused => "paused",
            Reason::StartUnrecorded => "start_unrecorded",
            Reason::NotStarted => "not_started",
            Reason::Missed => "missed",
            Reason::Cancelled => "cancelled",
            Reason::SeriesEnded => "series_ended",
            Reason::Retried => "retried",
            Reason::Rescheduled => "rescheduled",
            Reason::RunNow => "run_now",
        }
    }
}

/// A decided state change: what a store must write, in one atomic step.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The task's new record.
    pub task: Task,
    /// A record to add beside it: the next occurrence of a series.
    pub next: Option<Task>,
    pub reason: Reason,
    /// A problem met while deciding that does not stop the change (a series rule that gives
    /// no next time); callers report it.
    pub warning: Option<String>,
}

impl Change {
    fn new(task: Task, reason: Reason) -> Change {
        Change {
            task,
            next: None,
            reason,
            warning: None,
        }
    }

    /// Adds the series' next occurrence when the task has reached a terminal state.
    fn with_next(mut self, policy: &Policy, now: Timestamp) -> Change {
        if !self.task.status.is_terminal() {
            return self;
        }
        match next_occurrence(&self.task, &policy.zone, now) {
            Ok(next) => self.next = next,
            Err(e) => {
                self.warning = Some(format!(
                    "the next occurrence of series {} could not be computed: {}",
                    self.task
                        .series
                        .as_ref()
                        .map_or(self.task.id.as_str(), |s| s.id.as_str()),
                    crate::error::chain(&e)
                ));
            }
        }
        self
    }
}

/// `scheduled → executing`: a runner claimed it, and an attempt opens.
pub fn claim(mut task: Task, now: Timestamp) -> Task {
    task.status = Status::Executing;
    task.started_at = Some(Stamp(now));
    attempts::open(&mut task, now);
    task
}

/// `executing → scheduled` without an attempt spent: a stopping runner gives back a claimed
/// task it never started.
pub fn release(mut task: Task, now: Timestamp) -> Change {
    task.status = Status::Scheduled;
    attempts::close(
        &mut task,
        AttemptOutcome::Released,
        Closing {
            error: Some("the runner was stopping and gave it back before starting it".into()),
            ..Closing::default()
        },
        now,
    );
    Change::new(task, Reason::Released)
}

/// `executing → scheduled` without an attempt spent: runners were paused after the task was
/// claimed and before its executor started, and no executor starts while a pause holds.
pub fn release_paused(mut task: Task, now: Timestamp) -> Change {
    task.status = Status::Scheduled;
    attempts::close(
        &mut task,
        AttemptOutcome::Released,
        Closing {
            error: Some("runners were paused before it started".into()),
            ..Closing::default()
        },
        now,
    );
    Change::new(task, Reason::Paused)
}

/// `executing → scheduled` without an attempt spent: the store could not record that the
/// executor was about to start, so it was not started (a rescue that finds no start record
/// gives the task back without counting an attempt; one that ran unrecorded would run again
/// uncounted).
pub fn start_unrecorded(mut task: Task, now: Timestamp, error: &str) -> Change {
    task.status = Status::Scheduled;
    attempts::close(
        &mut task,
        AttemptOutcome::Released,
        Closing {
            error: Some(format!(
                "its start could not be recorded ({error}), so it was not started"
            )),
            ..Closing::default()
        },
        now,
    );
    Change::new(task, Reason::StartUnrecorded)
}

/// Found `executing` with its runner gone, and the runner's start journal says it never
/// started it: back to `scheduled`, no attempt spent (only a started task can have done
/// anything).
pub fn never_started(mut task: Task, now: Timestamp) -> Change {
    task.status = Status::Scheduled;
    attempts::close(
        &mut task,
        AttemptOutcome::Released,
        Closing {
            error: Some("its runner stopped before starting it".into()),
            ..Closing::default()
        },
        now,
    );
    Change::new(task, Reason::NotStarted)
}

/// What an executor run produced, already capped for the record.
#[derive(Debug, Clone, Default)]
pub struct ExecutorRun {
    /// Exit code; `None` when it was killed by a signal or never started.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// The files holding this attempt's stdout and stderr, when it printed anything.
    pub stdout_path: Option<String>,
    pub stderr_path: Option<String>,
    /// stdout (capped) for the record.
    pub output: String,
    /// Where the full stdout went, when `output` is capped.
    pub output_path: Option<String>,
    /// The failure text (stderr, else stdout, else a description), when it failed.
    pub error: Option<String>,
    /// It ran past the timeout and was killed.
    pub timed_out: bool,
}

/// What happened to a claimed task.
#[derive(Debug, Clone)]
pub enum Happened {
    /// No executor is configured; the prompt artifact was written.
    PromptPrepared,
    /// The executor ran; `success` is exit 0.
    ExecutorRan { run: ExecutorRun, success: bool },
    /// Something the task cannot help went wrong before it started: the prompt artifact could
    /// not be written, `DEFER_EXECUTOR` could not be started.
    HostFault { error: String },
    /// The id cannot name a file, so nothing can be run for it.
    InvalidId { error: String },
    /// The runner that claimed it is gone.
    Interrupted,
}

/// The outcome of a claimed task: completed, retried or failed, and the series' next
/// occurrence when it reached a terminal state. `prompt_path` is where its prompt artifact is
/// (or would have been) written.
pub fn finish(
    task: Task,
    happened: Happened,
    prompt_path: &str,
    policy: &Policy,
    now: Timestamp,
) -> Change {
    let change = match happened {
        Happened::PromptPrepared => {
            let mut task = task;
            task.status = Status::Completed;
            task.completed_at = Some(Stamp(now));
            task.result = Some(result(ResultType::PromptPrepared, prompt_path));
            attempts::close(
                &mut task,
                AttemptOutcome::Completed,
                Closing::default(),
                now,
            );
            Change::new(task, Reason::PromptPrepared)
        }
        Happened::ExecutorRan { run, success: true } => {
            let mut task = task;
            task.status = Status::Completed;
            task.completed_at = Some(Stamp(now));
            let mut r = result(ResultType::ExecutorOutput, prompt_path);
            r.output = Some(run.output);
            r.exit_code = run.exit_code;
            r.output_path = run.output_path;
            task.result = Some(r);
            attempts::close(
                &mut task,
                AttemptOutcome::Completed,
                Closing {
                    exit_code: run.exit_code,
                    signal: run.signal,
                    error: None,
                    stdout_path: run.stdout_path,
                    stderr_path: run.stderr_path,
                },
                now,
            );
            Change::new(task, Reason::ExecutorSucceeded)
        }
        Happened::ExecutorRan {
            run,
            success: false,
        } => {
            let (reason, outcome) = if run.timed_out {
                (Reason::ExecutorTimeout, AttemptOutcome::TimedOut)
            } else if run.signal.is_some() {
                (Reason::ExecutorNonzero, AttemptOutcome::Killed)
            } else {
                (Reason::ExecutorNonzero, AttemptOutcome::Failed)
            };
            failed_attempt(task, now, prompt_path, run, &policy.retry, reason, outcome)
        }
        // A full or broken log dir, an executor that vanished: the host's fault, not the
        // task's. No attempt is spent, the task waits for the next wake, and the runner
        // reports the failure.
        Happened::HostFault { error } => {
            let mut task = task;
            task.status = Status::Scheduled;
            attempts::close(
                &mut task,
                AttemptOutcome::Released,
                Closing {
                    error: Some(error.clone()),
                    ..Closing::default()
                },
                now,
            );
            task.last_error = Some(error);
            Change::new(task, Reason::HostFault)
        }
        Happened::InvalidId { error } => {
            let mut task = task;
            task.status = Status::Failed;
            task.failed_at = Some(Stamp(now));
            attempts::close(
                &mut task,
                AttemptOutcome::Failed,
                Closing {
                    error: Some(error.clone()),
                    ..Closing::default()
                },
                now,
            );
            task.error = Some(error);
            Change::new(task, Reason::InvalidId)
        }
        Happened::Interrupted => {
            let since = task
                .started_at
                .map(|s| format!(" (claimed at {s})"))
                .unwrap_or_default();
            let run = ExecutorRun {
                error: Some(format!(
                    "interrupted: the runner stopped before recording an outcome{since}"
                )),
                ..ExecutorRun::default()
            };
            failed_attempt(
                task,
                now,
                prompt_path,
                run,
                &policy.retry,
                Reason::Interrupted,
                AttemptOutcome::Interrupted,
            )
        }
    };
    change.with_next(policy, now)
}

/// A failed attempt: back to `scheduled` while retries remain, else `failed`.
fn failed_attempt(
    mut task: Task,
    now: Timestamp,
    prompt_path: &str,
    run: ExecutorRun,
    retry: &RetryPolicy,
    reason: Reason,
    outcome: AttemptOutcome,
) -> Change {
    let error = run.error.unwrap_or_else(|| "executor failed".to_string());
    attempts::close(
        &mut task,
        outcome,
        Closing {
            exit_code: run.exit_code,
            signal: run.signal,
            error: Some(error.clone()),
            stdout_path: run.stdout_path,
            stderr_path: run.stderr_path,
        },
        now,
    );
    let again = task.attempts < task.max_retries;
    task.attempts = task.attempts.saturating_add(1);
    let mut r = if again {
        result(ResultType::RetryScheduled, prompt_path)
    } else {
        result(ResultType::ExecutorFailed, prompt_path)
    };
    r.exit_code = run.exit_code;
    r.output_path = run.output_path;
    if again {
        let next = next_run_at(now, retry.delay_for(&task.id, task.attempts));
        task.status = Status::Scheduled;
        task.run_at = next;
        task.last_attempt_at = Some(Stamp(now));
        task.last_error = Some(error);
        r.next_run_at = Some(next);
    } else {
        task.status = Status::Failed;
        task.failed_at = Some(Stamp(now));
        task.error = Some(error);
    }
    task.result = Some(r);
    Change::new(task, reason)
}

/// A claimed task before it runs: a series occurrence first catches up with missed rule
/// times, then a task with `--if-late skip` found too late is recorded as missed.
// One value per claimed task, moved once into the runner: boxing either side buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Run it (the task as relabelled by catch-up); `warning` when its rule could not be read.
    Run { task: Task, warning: Option<String> },
    /// Do not run it: the change records it as missed.
    Skip(Change),
}

/// Decides whether a claimed task runs; see [`Prepared`].
pub fn prepare(mut task: Task, policy: &Policy, now: Timestamp) -> Prepared {
    let warning = catch_up(&mut task, &policy.zone, now).err().map(|e| {
        format!(
            "its series rule could not be read: {}",
            crate::error::chain(&e)
        )
    });
    let Some(late) = late::missed_by(&task, now) else {
        return Prepared::Run { task, warning };
    };
    let limit = LateRule::of(&task).map_or_else(|| "10m".to_string(), |r| r.limit_text);
    let due = task.run_at;
    let reason = format!(
        "missed: due at {due}, found {} late (more than late_after {limit}); skipped by \
         if_late skip",
        crate::when::human_duration(late.unsigned_abs()),
    );
    task.status = Status::Cancelled;
    task.cancelled_at = Some(Stamp(now));
    task.cancel_reason = Some(Some(reason.clone()));
    task.missed = Some(Missed {
        due_at: due,
        late_seconds: late,
        late_after: limit,
        extra: serde_json::Map::new(),
    });
    attempts::close(
        &mut task,
        AttemptOutcome::Missed,
        Closing {
            error: Some(reason),
            ..Closing::default()
        },
        now,
    );
    let mut change = Change::new(task, Reason::Missed).with_next(policy, now);
    if change.warning.is_none() {
        change.warning = warning;
    }
    Prepared::Skip(change)
}

/// Where a store found the record an operation names.
#[derive(Debug, Clone)]
pub enum Found {
    /// In the active store.
    Active(Task),
    /// Only in the archive (the newest copy).
    Archived(Task),
    /// Nowhere; the id as asked.
    Missing(String),
}

/// `scheduled → cancelled` (`cancel_reason` is `null` when no reason was given, as in the
/// reference); a series occurrence brings its successor. Any other status, an archived task
/// or an unknown id is refused.
pub fn cancel(
    found: Found,
    reason: Option<&str>,
    policy: &Policy,
    now: Timestamp,
) -> Result<Change> {
    let mut task = scheduled_only(found, "cancelled")?;
    task.status = Status::Cancelled;
    task.cancelled_at = Some(Stamp(now));
    task.cancel_reason = Some(reason.map(str::to_string));
    Ok(Change::new(task, Reason::Cancelled).with_next(policy, now))
}

/// The record an operation that needs a `scheduled` task may change, or the error that says
/// why it may not (`action` words it: "cancelled").
pub fn scheduled_only(found: Found, action: &'static str) -> Result<Task> {
    match found {
        Found::Active(task) if task.status == Status::Scheduled => Ok(task),
        Found::Active(task) => Err(Error::WrongStatus {
            id: task.id,
            status: task.status.to_string(),
            allowed: "scheduled",
            action,
        }),
        Found::Archived(task) => Err(Error::WrongStatus {
            id: task.id,
            status: format!("{} (archived)", task.status),
            allowed: "scheduled",
            action,
        }),
        Found::Missing(id) => Err(Error::NotFound(id)),
    }
}

/// Whether `task` is one the runner recorded as missed (`--if-late skip`): cancelled, and
/// marked `missed` by the runner. A cancel's reason is text anyone can type, so it never
/// decides this.
pub fn is_missed(task: &Task) -> bool {
    task.status == Status::Cancelled && task.missed.is_some()
}

/// `failed` (or missed) `→ scheduled` at `run_at`, active or archived (an archived task comes
/// back to the active store and leaves the archive, so every listing sees it once). The
/// attempt count starts again, so the task gets its whole `max_retries` budget anew;
/// `retried` counts how often this happened, and the last error moves to `last_error`. The
/// attempts so far stay in `history`. Any other status is refused.
pub fn retry(found: Found, run_at: Timestamp, now: Timestamp) -> Result<Change> {
    let mut task = match found {
        Found::Active(task) | Found::Archived(task)
            if task.status == Status::Failed || is_missed(&task) =>
        {
            task
        }
        Found::Active(task) => {
            return Err(Error::WrongStatus {
                id: task.id,
                status: task.status.to_string(),
                allowed: "failed or missed",
                action: "retried",
            });
        }
        Found::Archived(task) => {
            return Err(Error::WrongStatus {
                id: task.id,
                status: format!("{} (archived)", task.status),
                allowed: "failed or missed",
                action: "retried",
            });
        }
        Found::Missing(id) => return Err(Error::NotFound(id)),
    };
    let previous = task
        .error
        .take()
        .or_else(|| task.cancel_reason.take().flatten());
    task.status = Status::Scheduled;
    task.run_at = Stamp(run_at);
    task.attempts = 0;
    task.started_at = None;
    task.failed_at = None;
    task.cancelled_at = None;
    task.cancel_reason = None;
    task.completed_at = None;
    task.missed = None;
    if previous.is_some() {
        task.last_error = previous;
    }
    task.last_attempt_at = task.last_attempt_at.or(Some(Stamp(now)));
    task.retried = task.retried.saturating_add(1);
    Ok(Change::new(task, Reason::Retried))
}

/// A new time for a scheduled task: same id and record, `when` and `timezone` updated. For a
/// series occurrence this moves this occurrence only (the next one still follows the rule
/// from its own time) unless `move_series` is set, which moves the rule's anchor too, so later
/// occurrences shift with it.
pub fn reschedule(
    found: Found,
    run_at: Timestamp,
    when: &str,
    zone_name: &str,
    move_series: bool,
) -> Result<Change> {
    let mut task = scheduled_only(found, "rescheduled")?;
    if move_series && task.series.is_none() {
        return Err(Error::Argument {
            arg: crate::error::Arg::Series,
            value: None,
            problem: crate::error::ArgProblem::Invalid {
                reason: format!("task {} is not part of a series", task.id),
                example: None,
            },
        });
    }
    task.run_at = Stamp(run_at);
    task.when = Some(when.trim().to_string()).filter(|w| !w.is_empty());
    task.timezone = Some(zone_name.to_string());
    if move_series && let Some(series) = task.series.as_mut() {
        series.scheduled_for = Stamp(run_at);
    }
    Ok(Change::new(task, Reason::Rescheduled))
}

/// `scheduled → executing` now, due or not (`defer run --id`).
pub fn claim_now(found: Found, now: Timestamp) -> Result<Change> {
    let task = scheduled_only(found, "run now")?;
    Ok(Change::new(claim(task, now), Reason::RunNow))
}

/// Ending series `series` (`cancel --series`), for one of its records: a pending occurrence is
/// cancelled and marked ended; a running one is marked ended so that none follows it; any
/// other record, or one of another series, is left alone (`None`).
pub fn end_series(
    task: Task,
    series: &str,
    reason: Option<&str>,
    now: Timestamp,
) -> Option<Change> {
    if task.series.as_ref().is_none_or(|s| s.id != series) {
        return None;
    }
    let mut task = task;
    match task.status {
        Status::Scheduled => {
            task.status = Status::Cancelled;
            task.cancelled_at = Some(Stamp(now));
            task.cancel_reason = Some(reason.map(str::to_string));
        }
        Status::Executing => {}
        _ => return None,
    }
    if let Some(s) = task.series.as_mut() {
        s.ended = true;
    }
    Some(Change::new(task, Reason::SeriesEnded))
}

/// An outcome about to be saved over the stored record `stored`: when the series was ended
/// while this occurrence ran (`cancel --series`), the outcome keeps that mark and brings no
/// next occurrence.
pub fn keep_series_end(stored: &[u8], change: &mut Change) {
    if !series_ended(stored) {
        return;
    }
    if let Some(series) = change.task.series.as_mut() {
        series.ended = true;
    }
    change.next = None;
}

/// Whether a stored record says its series was ended. Read loosely, so a record that does not
/// fully parse still keeps the mark.
fn series_ended(stored: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(default)]
        series: Option<EndedFlag>,
    }
    #[derive(serde::Deserialize)]
    struct EndedFlag {
        #[serde(default)]
        ended: bool,
    }
    serde_json::from_slice::<Peek>(stored)
        .ok()
        .and_then(|p| p.series)
        .is_some_and(|s| s.ended)
}

/// The archive month (`YYYYMM`) of a terminal record: from `completed_at`, else `failed_at`,
/// else `cancelled_at`, else `created_at` (SPEC §4).
pub fn archive_month(task: &Task) -> String {
    task.completed_at
        .or(task.failed_at)
        .or(task.cancelled_at)
        .unwrap_or(task.created_at)
        .timestamp()
        .strftime("%Y%m")
        .to_string()
}

fn result(kind: ResultType, prompt_path: &str) -> TaskResult {
    TaskResult {
        kind,
        output: None,
        next_run_at: None,
        prompt_path: prompt_path.to_string(),
        exit_code: None,
        output_path: None,
        extra: serde_json::Map::new(),
    }
}

fn next_run_at(now: Timestamp, delay: std::time::Duration) -> Stamp {
    let delay = SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX);
    Stamp(now.checked_add(delay).unwrap_or(Timestamp::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Backoff;

    fn task(max_retries: u32) -> Task {
        let line = format!(
            r#"{{"id":"t1","created_at":"2026-04-08T16:00:00Z","run_at":"2026-04-08T16:00:00Z","status":"executing","attempts":0,"max_retries":{max_retries}}}"#
        );
        Task::from_json(line.as_bytes()).expect("task")
    }

    fn record(json: &str) -> Task {
        Task::from_json(json.as_bytes()).expect("task")
    }

    fn policy(secs: u64) -> Policy {
        Policy {
            retry: RetryPolicy {
                delay: Duration::from_secs(secs),
                backoff: Backoff::Fixed,
                max_delay: Duration::from_secs(3600),
            },
            zone: TimeZone::get("America/New_York").expect("zone"),
        }
    }

    fn now() -> Timestamp {
        "2026-04-08T17:00:00Z".parse().expect("ts")
    }

    fn failed(error: &str) -> Happened {
        Happened::ExecutorRan {
            run: ExecutorRun {
                exit_code: Some(3),
                error: Some(error.into()),
                ..ExecutorRun::default()
            },
            success: false,
        }
    }

    #[test]
    fn failure_with_budget_is_rescheduled_after_the_delay() {
        let c = finish(task(2), failed("boom"), "/p", &policy(60), now());
        let t = c.task;
        assert_eq!(c.reason, Reason::ExecutorNonzero);
        assert_eq!(t.status, Status::Scheduled);
        assert_eq!(t.attempts, 1);
        assert_eq!(t.run_at.to_string(), "2026-04-08T17:01:00Z");
        assert_eq!(t.last_error.as_deref(), Some("boom"));
        assert_eq!(
            t.last_attempt_at.map(|s| s.to_string()).as_deref(),
            Some("2026-04-08T17:00:00Z")
        );
        let r = t.result.expect("result");
        assert_eq!(r.kind, ResultType::RetryScheduled);
        assert_eq!(r.exit_code, Some(3));
        assert_eq!(
            r.next_run_at.map(|s| s.to_string()).as_deref(),
            Some("2026-04-08T17:01:00Z")
        );
    }

    #[test]
    fn failure_without_budget_is_terminal() {
        let t = finish(task(0), failed("boom"), "/p", &policy(60), now()).task;
        assert_eq!(t.status, Status::Failed);
        assert_eq!(t.attempts, 1);
        assert_eq!(t.error.as_deref(), Some("boom"));
        assert!(t.failed_at.is_some());
        assert_eq!(t.result.expect("result").kind, ResultType::ExecutorFailed);
    }

    #[test]
    fn interrupted_counts_as_an_attempt() {
        let c = finish(
            task(1),
            Happened::Interrupted,
            "/logs/t1.prompt.txt",
            &policy(0),
            now(),
        );
        assert_eq!(c.reason, Reason::Interrupted);
        assert_eq!(c.task.status, Status::Scheduled);
        assert_eq!(c.task.attempts, 1);
        assert_eq!(
            c.task.result.as_ref().expect("result").prompt_path,
            "/logs/t1.prompt.txt"
        );
        assert!(c.task.last_error.expect("error").starts_with("interrupted"));
        let t = finish(task(0), Happened::Interrupted, "/p", &policy(0), now()).task;
        assert_eq!(t.status, Status::Failed);
    }

    #[test]
    fn a_host_fault_spends_no_attempt() {
        let c = finish(
            task(5),
            Happened::HostFault {
                error: "could not write the prompt artifact: disk full".into(),
            },
            "/p",
            &policy(60),
            now(),
        );
        assert_eq!(c.task.status, Status::Scheduled);
        assert_eq!(c.task.attempts, 0);
        assert_eq!(
            c.task.run_at.to_string(),
            "2026-04-08T16:00:00Z",
            "time unchanged"
        );
        assert_eq!(c.reason, Reason::HostFault);
        assert!(c.task.last_error.expect("error").contains("disk full"));
    }

    #[test]
    fn success_and_prompt_prepared_complete() {
        let ok = Happened::ExecutorRan {
            run: ExecutorRun {
                exit_code: Some(0),
                output: "done".into(),
                ..ExecutorRun::default()
            },
            success: true,
        };
        let c = finish(task(0), ok, "/p", &policy(60), now());
        assert_eq!(c.task.status, Status::Completed);
        let r = c.task.result.expect("result");
        assert_eq!(r.kind, ResultType::ExecutorOutput);
        assert_eq!(r.output.as_deref(), Some("done"));
        let c = finish(task(0), Happened::PromptPrepared, "/p", &policy(60), now());
        assert_eq!(
            c.task.result.expect("result").kind,
            ResultType::PromptPrepared
        );
        assert_eq!(c.reason, Reason::PromptPrepared);
    }

    const DAILY: &str = r#"{"id":"s","created_at":"2026-04-01T13:00:00Z","run_at":"2026-04-08T13:00:00Z","status":"executing","timezone":"America/New_York","series":{"id":"s","rule":"every 1d","occurrence":3,"scheduled_for":"2026-04-08T13:00:00Z"}}"#;

    #[test]
    fn a_finished_occurrence_brings_the_next_from_its_scheduled_time() {
        let c = finish(
            record(DAILY),
            Happened::PromptPrepared,
            "/p",
            &policy(0),
            now(),
        );
        let next = c.next.expect("next occurrence");
        assert_eq!(next.id, "s.4");
        assert_eq!(next.run_at.to_string(), "2026-04-09T13:00:00Z");
        assert_eq!(next.status, Status::Scheduled);
        // A retry is not the end of the occurrence: no successor yet.
        let mut t = record(DAILY);
        t.max_retries = 1;
        assert!(
            finish(t, failed("x"), "/p", &policy(0), now())
                .next
                .is_none()
        );
    }

    #[test]
    fn cancel_refuses_every_status_but_scheduled() {
        let mut t = record(DAILY);
        for status in [
            Status::Executing,
            Status::Completed,
            Status::Failed,
            Status::Cancelled,
        ] {
            t.status = status;
            let e = cancel(Found::Active(t.clone()), None, &policy(0), now()).expect_err("refused");
            assert!(
                e.to_string()
                    .contains(&format!("is {status}, not scheduled")),
                "{e}"
            );
            let e =
                cancel(Found::Archived(t.clone()), None, &policy(0), now()).expect_err("refused");
            assert!(e.to_string().contains("(archived)"), "{e}");
        }
        let e = cancel(Found::Missing("nope".into()), None, &policy(0), now()).expect_err("x");
        assert!(matches!(e, Error::NotFound(_)));
        t.status = Status::Scheduled;
        let c = cancel(Found::Active(t), Some("why"), &policy(0), now()).expect("cancelled");
        assert_eq!(c.task.status, Status::Cancelled);
        assert_eq!(c.task.cancel_reason, Some(Some("why".into())));
        assert_eq!(c.next.expect("successor").id, "s.4");
    }

    #[test]
    fn ending_a_series_cancels_the_pending_and_marks_the_running() {
        let running = end_series(record(DAILY), "s", None, now()).expect("change");
        assert_eq!(running.task.status, Status::Executing);
        assert!(running.task.series.as_ref().expect("series").ended);
        let mut pending = record(DAILY);
        pending.status = Status::Scheduled;
        let c = end_series(pending, "s", None, now()).expect("change");
        assert_eq!(c.task.status, Status::Cancelled);
        assert!(c.next.is_none());
        assert!(end_series(record(DAILY), "other", None, now()).is_none());
    }

    #[test]
    fn an_outcome_keeps_a_series_end_recorded_while_it_ran() {
        let mut c = finish(
            record(DAILY),
            Happened::PromptPrepared,
            "/p",
            &policy(0),
            now(),
        );
        assert!(c.next.is_some());
        let stored = DAILY.replace(r#""scheduled_for""#, r#""ended":true,"scheduled_for""#);
        keep_series_end(stored.as_bytes(), &mut c);
        assert!(c.next.is_none());
        assert!(c.task.series.expect("series").ended);
    }

    #[test]
    fn late_tasks_are_skipped_only_past_the_limit() {
        let base = r#"{"id":"l","created_at":"2026-04-08T16:00:00Z","run_at":"2026-04-08T16:55:00Z","status":"executing","if_late":"skip""#;
        // Five minutes late, default limit of ten: runs.
        let t = record(&format!("{base}}}"));
        assert!(matches!(
            prepare(t, &policy(0), now()),
            Prepared::Run { .. }
        ));
        // Five minutes late, limit of one: skipped, and says by how much.
        let t = record(&format!(r#"{base},"late_after":"1m"}}"#));
        let Prepared::Skip(c) = prepare(t, &policy(0), now()) else {
            panic!("expected a skip");
        };
        assert_eq!(c.task.status, Status::Cancelled);
        assert_eq!(c.reason, Reason::Missed);
        let why = c.task.cancel_reason.flatten().expect("reason");
        assert!(
            why.contains("5m late") && why.contains("late_after 1m"),
            "{why}"
        );
        // A program may write the limit as seconds.
        let t = record(&format!(r#"{base},"late_after":600}}"#));
        assert_eq!(LateRule::of(&t).expect("rule").limit_seconds, 600);
    }

    #[test]
    fn missed_occurrences_collapse_into_the_latest() {
        // Due 2026-04-05 09:00 New York, found 2026-04-08 13:00 New York: three missed.
        let t = record(
            r#"{"id":"s","created_at":"2026-04-01T13:00:00Z","run_at":"2026-04-05T13:00:00Z","status":"executing","timezone":"America/New_York","series":{"id":"s","rule":"every 1d","occurrence":5,"scheduled_for":"2026-04-05T13:00:00Z","count":7}}"#,
        );
        let Prepared::Run { task, warning } = prepare(t, &policy(0), now()) else {
            panic!("runs");
        };
        assert!(warning.is_none());
        let s = task.series.expect("series");
        // count 7 bounds the catch-up at occurrence 7 (2026-04-07).
        assert_eq!(s.occurrence, 7);
        assert_eq!(s.missed, Some(2));
        assert_eq!(task.run_at.to_string(), "2026-04-07T13:00:00Z");
    }

    #[test]
    fn archive_month_follows_the_terminal_stamp() {
        let mut t = task(0);
        assert_eq!(archive_month(&t), "202604");
        t.cancelled_at = Stamp::parse("2026-05-01T00:00:00Z");
        assert_eq!(archive_month(&t), "202605");
        t.completed_at = Stamp::parse("2026-06-30T23:59:59Z");
        assert_eq!(archive_month(&t), "202606");
    }

    #[test]
    fn retry_takes_failed_or_missed_tasks_back_with_a_fresh_budget() {
        let mut t = record(DAILY);
        t.status = Status::Failed;
        t.attempts = 3;
        t.error = Some("boom".into());
        let later = ts("2026-04-08T18:00:00Z");
        let c = retry(Found::Archived(t.clone()), later, now()).expect("retry");
        assert_eq!(c.reason, Reason::Retried);
        assert_eq!(c.task.status, Status::Scheduled);
        assert_eq!(c.task.attempts, 0);
        assert_eq!(c.task.run_at, Stamp(later));
        assert_eq!(c.task.last_error.as_deref(), Some("boom"));
        assert!(c.task.error.is_none() && c.task.failed_at.is_none());
        assert_eq!(c.task.retried, 1);
        assert!(
            c.next.is_none(),
            "its successor was written when it finished"
        );
        let again = retry(
            Found::Active(Task {
                status: Status::Failed,
                ..c.task
            }),
            later,
            now(),
        )
        .expect("again");
        assert_eq!(again.task.retried, 2);
        // A task the runner skipped as missed carries `missed`; a retry clears it.
        let late = r#"{"id":"l","created_at":"2026-04-08T16:00:00Z","run_at":"2026-04-08T16:00:00Z","status":"executing","if_late":"skip","late_after":"1m"}"#;
        let Prepared::Skip(skipped) = prepare(record(late), &policy(0), now()) else {
            panic!("found two days late, it is skipped");
        };
        let missed = skipped.task;
        assert!(is_missed(&missed));
        let back = retry(Found::Active(missed.clone()), later, now()).expect("retried");
        assert!(back.task.missed.is_none() && !is_missed(&back.task));
        // A cancel whose reason merely says "missed" stays a cancel.
        let mut typed = record(DAILY);
        typed.status = Status::Cancelled;
        typed.cancel_reason = Some(Some("missed: x".into()));
        assert!(!is_missed(&typed));
        let e = retry(Found::Active(typed), later, now()).expect_err("a plain cancel");
        assert!(e.to_string().contains("not failed or missed"), "{e}");
        for status in [Status::Scheduled, Status::Executing, Status::Completed] {
            let mut t = record(DAILY);
            t.status = status;
            assert!(retry(Found::Active(t), later, now()).is_err());
        }
    }

    #[test]
    fn reschedule_moves_one_occurrence_or_the_series_anchor() {
        let mut t = record(DAILY);
        t.status = Status::Scheduled;
        let at = ts("2026-04-08T20:00:00Z");
        let c = reschedule(Found::Active(t.clone()), at, "in 1h", "UTC", false).expect("ok");
        assert_eq!(c.task.run_at, Stamp(at));
        assert_eq!(c.task.when.as_deref(), Some("in 1h"));
        assert_eq!(
            c.task
                .series
                .as_ref()
                .expect("series")
                .scheduled_for
                .to_string(),
            "2026-04-08T13:00:00Z",
            "the rule's time stays: the next occurrence follows the rule"
        );
        let c = reschedule(Found::Active(t.clone()), at, "8pm", "UTC", true).expect("ok");
        assert_eq!(c.task.series.expect("series").scheduled_for, Stamp(at));
        t.status = Status::Executing;
        let e = reschedule(Found::Active(t), at, "8pm", "UTC", false).expect_err("running");
        assert!(e.to_string().contains("is executing, not scheduled"), "{e}");
        let mut plain = task(0);
        plain.status = Status::Scheduled;
        assert!(reschedule(Found::Active(plain), at, "8pm", "UTC", true).is_err());
    }

    #[test]
    fn run_now_claims_a_scheduled_task_only() {
        let mut t = record(DAILY);
        t.status = Status::Scheduled;
        let c = claim_now(Found::Active(t.clone()), now()).expect("claim");
        assert_eq!(c.task.status, Status::Executing);
        assert_eq!(c.reason, Reason::RunNow);
        t.status = Status::Completed;
        assert!(claim_now(Found::Archived(t), now()).is_err());
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("ts")
    }
}
