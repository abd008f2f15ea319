//! A task's history: one entry per attempt, kept in the record itself.
//!
//! A task's story used to be spread over audit lines and whatever the last run left in
//! `result`, so a retried task showed the old error beside the new output. Each attempt is
//! data here (River keeps `errors[]` on the job row): opened when a runner claims the task,
//! closed with what happened, never rewritten afterwards. Which outcome an attempt gets is the
//! lifecycle's decision; this module only holds the shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Stamp;

/// Attempts kept in a record; older ones are dropped and counted (`history_dropped`), so a
/// task retried every minute for a year still has a small record.
pub const HISTORY_KEEP: usize = 20;

/// The longest error text an attempt keeps (the full text is in its stderr file and, for the
/// last attempt, in `error`/`last_error`).
pub const MAX_ATTEMPT_ERROR: usize = 1000;

/// One attempt: a claim by a runner and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Attempt {
    /// 1 for the task's first attempt; numbers keep counting across retries, so each attempt
    /// keeps its number (and its output files) for good.
    pub attempt: u32,
    /// When a runner claimed the task for this attempt.
    pub started_at: Stamp,
    /// When the attempt ended; absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Stamp>,
    /// How it ended; absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AttemptOutcome>,
    /// The executor's exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended the executor, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Why it failed (or was given back), cut to a thousand characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The file holding what the executor printed on stdout in this attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_path: Option<String>,
    /// The file holding what the executor printed on stderr in this attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_path: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Attempt {
    /// A new, running attempt.
    pub fn open(attempt: u32, started_at: Stamp) -> Attempt {
        Attempt {
            attempt,
            started_at,
            ended_at: None,
            outcome: None,
            exit_code: None,
            signal: None,
            error: None,
            stdout_path: None,
            stderr_path: None,
            extra: Map::new(),
        }
    }

    /// Still running (no outcome yet).
    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The executor exited 0, or no executor is configured and the prompt was written.
    Completed,
    /// The executor exited non-zero (or the task could not be run at all).
    Failed,
    /// The executor ran past `DEFER_EXECUTOR_TIMEOUT_SECONDS` and was killed.
    TimedOut,
    /// The executor was killed by a signal it did not get from defer.
    Killed,
    /// The runner died while the attempt ran.
    Interrupted,
    /// The runner gave the task back before starting it (it was stopping, the host could not
    /// start it, or it died before the start): no attempt was spent.
    Released,
    /// Found later than `late_after` with `if_late: skip`: not run.
    Missed,
}

impl AttemptOutcome {
    /// Every outcome, so a count per outcome (`/metrics`) can name each one from the start.
    pub const ALL: [AttemptOutcome; 7] = [
        AttemptOutcome::Completed,
        AttemptOutcome::Failed,
        AttemptOutcome::TimedOut,
        AttemptOutcome::Killed,
        AttemptOutcome::Interrupted,
        AttemptOutcome::Released,
        AttemptOutcome::Missed,
    ];

    /// The name used in records and by `defer logs` (`timed_out`).
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Completed => "completed",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::TimedOut => "timed_out",
            AttemptOutcome::Killed => "killed",
            AttemptOutcome::Interrupted => "interrupted",
            AttemptOutcome::Released => "released",
            AttemptOutcome::Missed => "missed",
        }
    }
}

impl std::fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::AttemptOutcome;

    /// A new outcome fails to compile here until it is given a place in `ALL`.
    #[test]
    fn all_names_every_outcome_once() {
        let place = |o: AttemptOutcome| match o {
            AttemptOutcome::Completed => 0,
            AttemptOutcome::Failed => 1,
            AttemptOutcome::TimedOut => 2,
            AttemptOutcome::Killed => 3,
            AttemptOutcome::Interrupted => 4,
            AttemptOutcome::Released => 5,
            AttemptOutcome::Missed => 6,
        };
        for (i, outcome) in AttemptOutcome::ALL.iter().enumerate() {
            assert_eq!(place(*outcome), i, "{outcome}");
        }
    }
}
