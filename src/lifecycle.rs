//! The transitions of SPEC §4 as pure functions: record in, record out.
//!
//! Keeping them free of I/O lets every store apply them inside its own atomic step, and lets
//! tests check each field the contract names without running anything.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use jiff::tz::TimeZone;

use crate::config::{Backoff, Config};
use crate::error::Result;
use crate::record::{IfLate, ResultType, Stamp, Status, Task, TaskResult, validate_id};
use crate::recur::Rule;

/// How failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub delay: Duration,
    pub backoff: Backoff,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The policy the configuration asks for.
    pub fn from_config(config: &Config) -> RetryPolicy {
        RetryPolicy {
            delay: config.retry_delay,
            backoff: config.retry_backoff,
            max_delay: config.retry_max_delay,
        }
    }

    /// The delay before retry number `attempt` (1 for the first retry) of task `id`.
    ///
    /// Fixed: always `delay`. Exponential: `delay × 2^(attempt-1)`, capped at `max_delay`,
    /// then scaled by a jitter factor in [0.5, 1.0] so tasks that failed together do not
    /// retry together. The jitter is a hash of id and attempt rather than a random draw, so a
    /// run under `DEFER_NOW` is reproducible.
    pub fn delay_for(&self, id: &str, attempt: u32) -> Duration {
        match self.backoff {
            Backoff::Fixed => self.delay,
            Backoff::Exponential => {
                let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
                let raw = self.delay.saturating_mul(factor).min(self.max_delay);
                let mut h = DefaultHasher::new();
                (id, attempt).hash(&mut h);
                let jitter = 0.5 + (h.finish() % 1000) as f64 / 2000.0;
                raw.mul_f64(jitter)
            }
        }
    }
}

/// `scheduled → executing`.
pub fn claim(mut task: Task, now: Timestamp) -> Task {
    task.status = Status::Executing;
    task.started_at = Some(Stamp(now));
    task
}

/// `executing → scheduled` without an attempt: a stopping watcher gives back a claimed task it
/// never started.
pub fn release(mut task: Task) -> Task {
    task.status = Status::Scheduled;
    task
}

/// No executor: the prompt artifact is the outcome.
pub fn prompt_prepared(mut task: Task, now: Timestamp, prompt_path: &str) -> Task {
    task.status = Status::Completed;
    task.completed_at = Some(Stamp(now));
    task.result = Some(result(ResultType::PromptPrepared, prompt_path));
    task
}

/// What an executor run produced, already capped for the record.
#[derive(Debug, Clone, Default)]
pub struct ExecutorRun {
    /// Exit code; `None` when it was killed by a signal or never started.
    pub exit_code: Option<i32>,
    /// stdout (capped) for the record.
    pub output: String,
    /// Where the full stdout went, when `output` is capped.
    pub output_path: Option<String>,
    /// The failure text (stderr, else stdout, else a description), when it failed.
    pub error: Option<String>,
}

/// Executor exited 0.
pub fn executor_succeeded(
    mut task: Task,
    now: Timestamp,
    prompt_path: &str,
    run: &ExecutorRun,
) -> Task {
    task.status = Status::Completed;
    task.completed_at = Some(Stamp(now));
    let mut r = result(ResultType::ExecutorOutput, prompt_path);
    r.output = Some(run.output.clone());
    r.exit_code = run.exit_code;
    r.output_path = run.output_path.clone();
    task.result = Some(r);
    task
}

/// Executor failed: back to `scheduled` while retries remain, else `failed`.
pub fn executor_failed(
    mut task: Task,
    now: Timestamp,
    prompt_path: &str,
    run: &ExecutorRun,
    policy: &RetryPolicy,
) -> Task {
    let error = run
        .error
        .clone()
        .unwrap_or_else(|| "executor failed".to_string());
    let retry = task.attempts < task.max_retries;
    task.attempts = task.attempts.saturating_add(1);
    let mut r = if retry {
        result(ResultType::RetryScheduled, prompt_path)
    } else {
        result(ResultType::ExecutorFailed, prompt_path)
    };
    r.exit_code = run.exit_code;
    r.output_path = run.output_path.clone();
    if retry {
        let next = next_run_at(now, policy.delay_for(&task.id, task.attempts));
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
    task
}

/// `DEFER_EXECUTOR` is set but cannot be run: failed at once, whatever the retry budget,
/// because retrying cannot help until the user fixes the path.
pub fn executor_unusable(mut task: Task, now: Timestamp, prompt_path: &str, error: String) -> Task {
    task.status = Status::Failed;
    task.failed_at = Some(Stamp(now));
    task.error = Some(error);
    task.result = Some(result(ResultType::ExecutorFailed, prompt_path));
    task
}

/// A task that cannot be run at all (an id that cannot name a file): failed, no result.
pub fn unrunnable(mut task: Task, now: Timestamp, error: String) -> Task {
    task.status = Status::Failed;
    task.failed_at = Some(Stamp(now));
    task.error = Some(error);
    task
}

/// Found `executing` with its runner gone: counts as a failed attempt (**beyond**).
/// `prompt_path` is where the dead runner wrote (or would have written) the prompt artifact.
pub fn interrupted(task: Task, now: Timestamp, prompt_path: &str, policy: &RetryPolicy) -> Task {
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
    executor_failed(task, now, prompt_path, &run, policy)
}

/// The zone a series' rule is evaluated in: the one its first occurrence was scheduled in
/// (the record's `timezone`), so a runner in another zone keeps the series at the same local
/// time; the runner's zone when that is not a known IANA name.
pub fn series_zone(task: &Task, fallback: &TimeZone) -> TimeZone {
    task.timezone
        .as_deref()
        .and_then(|name| TimeZone::get(name).ok())
        .unwrap_or_else(|| fallback.clone())
}

/// The record of a series' next occurrence after `task` finished (whatever its outcome), or
/// `None` when the task is not recurring, the series was ended, or `count`/`until` is reached.
///
/// The time comes from the rule and this occurrence's *scheduled* time, not from when it ran.
pub fn next_occurrence(task: &Task, zone: &TimeZone, now: Timestamp) -> Result<Option<Task>> {
    let Some(series) = &task.series else {
        return Ok(None);
    };
    if series.ended || series.count.is_some_and(|count| series.occurrence >= count) {
        return Ok(None);
    }
    let rule = Rule::parse(&series.rule)?;
    let from = series
        .scheduled_for
        .timestamp()
        .to_zoned_datetime(series_zone(task, zone));
    let next = rule.next(&from, false)?;
    if series
        .until
        .is_some_and(|until| next.timestamp() > until.timestamp())
    {
        return Ok(None);
    }
    let occurrence = series.occurrence.saturating_add(1);
    let mut t = task.clone();
    t.id = format!("{}.{occurrence}", series.id);
    validate_id(&t.id)?;
    t.created_at = Stamp(now);
    t.run_at = Stamp(next.timestamp());
    t.status = Status::Scheduled;
    t.attempts = 0;
    t.started_at = None;
    t.completed_at = None;
    t.failed_at = None;
    t.cancelled_at = None;
    t.cancel_reason = None;
    t.last_attempt_at = None;
    t.last_error = None;
    t.error = None;
    t.result = None;
    if let Some(s) = t.series.as_mut() {
        s.occurrence = occurrence;
        s.scheduled_for = Stamp(next.timestamp());
        s.missed = None;
    }
    Ok(Some(t))
}

/// A series occurrence found after later rule times have passed stands in for the latest of
/// them: it is relabelled to that time and occurrence number, so missed occurrences run once,
/// not in a burst. `count` and `until` still bound it.
pub fn catch_up(task: &mut Task, zone: &TimeZone, now: Timestamp) -> Result<()> {
    let zone = series_zone(task, zone);
    let Some(series) = task.series.as_mut() else {
        return Ok(());
    };
    let rule = Rule::parse(&series.rule)?;
    let mut current = series.scheduled_for.timestamp().to_zoned_datetime(zone);
    let mut skipped = 0u32;
    loop {
        let next = rule.next(&current, false)?;
        let number = series.occurrence.saturating_add(skipped + 1);
        let past_count = series.count.is_some_and(|count| number > count);
        let past_until = series
            .until
            .is_some_and(|u| next.timestamp() > u.timestamp());
        if next.timestamp() > now || past_count || past_until || skipped >= 1_000_000 {
            break;
        }
        current = next;
        skipped += 1;
    }
    if skipped > 0 {
        series.occurrence = series.occurrence.saturating_add(skipped);
        series.missed = Some(skipped);
        series.scheduled_for = Stamp(current.timestamp());
        task.run_at = series.scheduled_for;
    }
    Ok(())
}

/// The default `--late-after` for `--if-late skip`: cron wakes every minute, so a few minutes
/// late is normal; ten is not.
pub const DEFAULT_LATE_AFTER_SECONDS: i64 = 600;

/// How late the task is at `now`, in whole seconds (0 when not yet due).
pub fn lateness(task: &Task, now: Timestamp) -> i64 {
    (now.as_second() - task.run_at.timestamp().as_second()).max(0)
}

/// `--if-late skip` and later than `late_after`: the task is recorded as missed (cancelled,
/// with the reason) instead of run. `None` when it should run.
pub fn skip_if_late(task: &Task, now: Timestamp) -> Option<Task> {
    if task.if_late != Some(IfLate::Skip) {
        return None;
    }
    let limit = task
        .late_after
        .as_deref()
        .and_then(|l| crate::when::parse_interval(l).ok())
        .map_or(DEFAULT_LATE_AFTER_SECONDS, |i| i.approx_seconds());
    let late = lateness(task, now);
    if late <= limit {
        return None;
    }
    let mut t = task.clone();
    t.status = Status::Cancelled;
    t.cancelled_at = Some(Stamp(now));
    t.cancel_reason = Some(Some(format!(
        "missed: due at {}, found {} late (more than --late-after {}); skipped by --if-late skip",
        task.run_at,
        crate::when::human_duration(late.unsigned_abs()),
        task.late_after.as_deref().unwrap_or("10m")
    )));
    Some(t)
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

fn next_run_at(now: Timestamp, delay: Duration) -> Stamp {
    let delay = SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX);
    Stamp(now.checked_add(delay).unwrap_or(Timestamp::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(max_retries: u32) -> Task {
        let line = format!(
            r#"{{"id":"t1","created_at":"2026-04-08T16:00:00Z","run_at":"2026-04-08T16:00:00Z","status":"executing","attempts":0,"max_retries":{max_retries}}}"#
        );
        Task::from_json(line.as_bytes()).expect("task")
    }

    fn fixed(secs: u64) -> RetryPolicy {
        RetryPolicy {
            delay: Duration::from_secs(secs),
            backoff: Backoff::Fixed,
            max_delay: Duration::from_secs(3600),
        }
    }

    fn now() -> Timestamp {
        "2026-04-08T17:00:00Z".parse().expect("ts")
    }

    #[test]
    fn failure_with_budget_is_rescheduled_after_the_delay() {
        let run = ExecutorRun {
            exit_code: Some(3),
            error: Some("boom".into()),
            ..ExecutorRun::default()
        };
        let t = executor_failed(task(2), now(), "/p", &run, &fixed(60));
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
        assert_eq!(
            r.next_run_at.map(|s| s.to_string()).as_deref(),
            Some("2026-04-08T17:01:00Z")
        );
    }

    #[test]
    fn failure_without_budget_is_terminal() {
        let run = ExecutorRun {
            error: Some("boom".into()),
            ..ExecutorRun::default()
        };
        let t = executor_failed(task(0), now(), "/p", &run, &fixed(60));
        assert_eq!(t.status, Status::Failed);
        assert_eq!(t.attempts, 1);
        assert_eq!(t.error.as_deref(), Some("boom"));
        assert!(t.failed_at.is_some());
        assert_eq!(t.result.expect("result").kind, ResultType::ExecutorFailed);
    }

    #[test]
    fn interrupted_counts_as_an_attempt() {
        let t = interrupted(task(1), now(), "/logs/t1.prompt.txt", &fixed(0));
        assert_eq!(t.status, Status::Scheduled);
        assert_eq!(t.attempts, 1);
        assert_eq!(
            t.result.as_ref().expect("result").prompt_path,
            "/logs/t1.prompt.txt"
        );
        assert!(t.last_error.expect("error").starts_with("interrupted"));
        let t = interrupted(task(0), now(), "/logs/t1.prompt.txt", &fixed(0));
        assert_eq!(t.status, Status::Failed);
    }

    #[test]
    fn exponential_backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            delay: Duration::from_secs(60),
            backoff: Backoff::Exponential,
            max_delay: Duration::from_secs(600),
        };
        let d1 = p.delay_for("a", 1).as_secs_f64();
        let d3 = p.delay_for("a", 3).as_secs_f64();
        let d9 = p.delay_for("a", 9).as_secs_f64();
        assert!((30.0..=60.0).contains(&d1), "{d1}");
        assert!((120.0..=240.0).contains(&d3), "{d3}");
        assert!((300.0..=600.0).contains(&d9), "{d9}");
        assert_eq!(p.delay_for("a", 3), p.delay_for("a", 3), "deterministic");
        assert!(p.delay_for("x", 40) <= Duration::from_secs(600));
    }
}
