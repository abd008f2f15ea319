//! The missed-run policy (`--if-late skip --late-after 1h`): one reading of it, used by the
//! runner to decide and by `why` and `doctor` to explain, so the two cannot disagree.

use jiff::Timestamp;

use crate::record::{IfLate, Task};

/// The default `--late-after` for `--if-late skip`: cron wakes every minute, so a few minutes
/// late is normal; ten is not.
pub const DEFAULT_LATE_AFTER_SECONDS: i64 = 600;

/// A task's missed-run policy as the runner applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateRule {
    /// `--if-late skip`: a task found later than the limit is recorded as missed.
    pub skip: bool,
    /// The limit in seconds (the default when none was given).
    pub limit_seconds: i64,
    /// The limit as the user gave it, or `10m` for the default.
    pub limit_text: String,
    /// No `--late-after` was given: the default applies.
    pub is_default: bool,
}

impl LateRule {
    /// The rule a record carries; `None` when it has no missed-run policy at all (it runs
    /// however late it is found).
    pub fn of(task: &Task) -> Option<LateRule> {
        if task.if_late.is_none() && task.late_after.is_none() {
            return None;
        }
        let (limit_seconds, limit_text, is_default) = match &task.late_after {
            Some(limit) => (limit.seconds(), limit.text(), false),
            None => (DEFAULT_LATE_AFTER_SECONDS, "10m".to_string(), true),
        };
        Some(LateRule {
            skip: task.if_late == Some(IfLate::Skip),
            limit_seconds,
            limit_text,
            is_default,
        })
    }

    /// Whether a task this late is skipped instead of run.
    pub fn skips(&self, lateness: i64) -> bool {
        self.skip && lateness > self.limit_seconds
    }
}

/// How late the task is at `now`, in whole seconds (0 when not yet due).
pub fn lateness(task: &Task, now: Timestamp) -> i64 {
    (now.as_second() - task.run_at.timestamp().as_second()).max(0)
}

/// The lateness that makes the runner skip `task` at `now`, or `None` when it runs.
pub fn missed_by(task: &Task, now: Timestamp) -> Option<i64> {
    let late = lateness(task, now);
    LateRule::of(task)
        .filter(|rule| rule.skips(late))
        .map(|_| late)
}
