//! What `/metrics` reports, as data: the state read at scrape time ([`metrics`]: the active
//! store per status, the pause, the runner's last wake and fault) and what one recorded attempt
//! counts for ([`attempt_of`]: its outcome, and for an attempt whose executor ran here, its
//! run time and lateness). `serve` only turns these into the Prometheus text format, so the
//! rules of what is counted live here once, beside the overview they share their counts with.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use super::overview::StatusCount;
use crate::config::Config;
use crate::error::Result;
use crate::lifecycle::Change;
use crate::record::{AttemptOutcome, Stamp};
use crate::store::Store;

/// The scrape-time state; it takes nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsRequest {}

/// The state a scrape reports.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsReply {
    /// Tasks in the active store per status, every status named (the overview's `active`, so
    /// the dashboard, `defer list` and `/metrics` count alike).
    pub active: Vec<StatusCount>,
    /// Runners of this store are paused now.
    pub paused: bool,
    /// When a runner last woke on this host (the wake record), if one ever did.
    pub last_wake: Option<Stamp>,
    /// A live long-lived runner's wakes fail ([`super::doctor::runner_fault`]).
    pub runner_fault: bool,
}

/// The state of `store` and this host's runner now.
pub fn metrics(config: &Config, store: &dyn Store, _req: &MetricsRequest) -> Result<MetricsReply> {
    let view = super::overview::exact(config, store)?;
    Ok(MetricsReply {
        active: view.active,
        paused: view.paused.is_some(),
        last_wake: crate::runner::last_wake(config).map(|w| w.at),
        runner_fault: super::doctor::runner_fault(config).is_some(),
    })
}

/// What one recorded attempt counts for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttemptMeasure {
    /// How the attempt ended, as its history entry names it.
    pub outcome: AttemptOutcome,
    /// Its times, for an attempt whose executor ran in this runner and ended there.
    pub timing: Option<Timing>,
}

/// The times of an attempt that ran.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// From the claim to the recorded end (`started_at` → `ended_at`).
    pub duration_seconds: f64,
    /// From the time it was due to the claim (`started_at` − the `run_at` it was claimed
    /// for); 0 for a task run before it was due (`run --id`).
    pub lateness_seconds: f64,
}

/// The measure of the attempt `change` closed (its last history entry), claimed for `due`;
/// `None` for a change that closed no attempt.
///
/// Only attempts that ran to an end in this runner are timed: completed, failed, timed out
/// and killed. A released attempt never started an executor, a missed one was skipped, and an
/// interrupted one belongs to a runner that died (its end is when it was found, not when it
/// stopped): timing them would put queue waits and outages into the run-time histogram.
pub fn attempt_of(change: &Change, due: Stamp) -> Option<AttemptMeasure> {
    let attempt = change.task.history.last()?;
    let outcome = attempt.outcome?;
    let ran = matches!(
        outcome,
        AttemptOutcome::Completed
            | AttemptOutcome::Failed
            | AttemptOutcome::TimedOut
            | AttemptOutcome::Killed
    );
    let timing = match (ran, attempt.ended_at) {
        (true, Some(ended)) => {
            let started = attempt.started_at.timestamp();
            Some(Timing {
                duration_seconds: seconds(ended.timestamp().duration_since(started)),
                lateness_seconds: seconds(started.duration_since(due.timestamp())),
            })
        }
        _ => None,
    };
    Some(AttemptMeasure { outcome, timing })
}

/// A span in seconds, never negative (clocks that step back do not make negative run times).
fn seconds(span: SignedDuration) -> f64 {
    span.as_secs_f64().max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{self, Happened, Policy, RetryPolicy};
    use crate::record::Task;
    use jiff::Timestamp;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_775_664_000 + second).expect("ts")
    }

    fn policy() -> Policy {
        Policy {
            retry: RetryPolicy {
                delay: std::time::Duration::from_secs(60),
                backoff: crate::config::Backoff::Fixed,
                max_delay: std::time::Duration::from_secs(60),
            },
            zone: jiff::tz::TimeZone::UTC,
        }
    }

    fn claimed(retries: u32) -> Task {
        let task = Task::from_json(
            format!(
                r#"{{"id":"t","created_at":"2026-04-08T16:00:00Z","run_at":"{}","status":"scheduled","max_retries":{retries}}}"#,
                Stamp(at(0))
            )
            .as_bytes(),
        )
        .expect("task");
        lifecycle::claim(task, at(7))
    }

    #[test]
    fn a_completed_attempt_is_timed_from_its_claim() {
        let change =
            lifecycle::finish(claimed(0), Happened::PromptPrepared, "p", &policy(), at(10));
        let measure = attempt_of(&change, Stamp(at(0))).expect("an attempt");
        assert_eq!(measure.outcome, AttemptOutcome::Completed);
        let timing = measure.timing.expect("timed");
        assert!((timing.duration_seconds - 3.0).abs() < 1e-9);
        assert!((timing.lateness_seconds - 7.0).abs() < 1e-9);
    }

    #[test]
    fn a_retry_is_late_by_the_time_it_was_claimed_for_not_its_next() {
        let run = lifecycle::ExecutorRun {
            exit_code: Some(1),
            error: Some("no".into()),
            ..lifecycle::ExecutorRun::default()
        };
        let change = lifecycle::finish(
            claimed(2),
            Happened::ExecutorRan {
                run,
                success: false,
            },
            "p",
            &policy(),
            at(9),
        );
        assert_ne!(change.task.run_at, Stamp(at(0)), "a retry moves run_at");
        let measure = attempt_of(&change, Stamp(at(0))).expect("an attempt");
        assert_eq!(measure.outcome, AttemptOutcome::Failed);
        let timing = measure.timing.expect("timed");
        assert!((timing.lateness_seconds - 7.0).abs() < 1e-9);
        assert!((timing.duration_seconds - 2.0).abs() < 1e-9);
    }

    #[test]
    fn released_and_interrupted_attempts_are_counted_but_not_timed() {
        let released = lifecycle::release(claimed(0), at(8));
        let measure = attempt_of(&released, Stamp(at(0))).expect("an attempt");
        assert_eq!(measure.outcome, AttemptOutcome::Released);
        assert_eq!(measure.timing, None);
        let interrupted =
            lifecycle::finish(claimed(0), Happened::Interrupted, "p", &policy(), at(500));
        let measure = attempt_of(&interrupted, Stamp(at(0))).expect("an attempt");
        assert_eq!(measure.outcome, AttemptOutcome::Interrupted);
        assert_eq!(measure.timing, None);
    }

    #[test]
    fn a_task_run_before_it_was_due_is_not_late() {
        let change =
            lifecycle::finish(claimed(0), Happened::PromptPrepared, "p", &policy(), at(10));
        let timing = attempt_of(&change, Stamp(at(60)))
            .and_then(|m| m.timing)
            .expect("timed");
        assert_eq!(timing.lateness_seconds, 0.0);
    }
}
