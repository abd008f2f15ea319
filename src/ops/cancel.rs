//! Cancelling: one task, or what is left of a series. The lifecycle decides; the store applies.

use serde::{Deserialize, Serialize};

use super::TaskChange;
use crate::audit;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::lifecycle::{self, Policy};
use crate::record::{Status, Task, validate_id};
use crate::store::Store;

/// Cancel one scheduled task.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// The id of a scheduled task, e.g. "task_20260408_163500_4821".
    pub id: String,
    /// Why it is cancelled (kept in the record as cancel_reason), e.g. "done by hand".
    #[serde(default)]
    pub reason: Option<String>,
}

/// End a recurring series.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelSeriesRequest {
    /// The series id (the id of its first occurrence).
    pub series: String,
    /// Why (kept as cancel_reason of the pending occurrence).
    #[serde(default)]
    pub reason: Option<String>,
}

/// What ending a series did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CancelSeriesReply {
    /// The pending occurrences cancelled.
    pub cancelled: Vec<Task>,
    /// Occurrences running now: they finish, and no occurrence follows them.
    pub running: Vec<String>,
    /// What happened, in one sentence.
    pub message: String,
}

/// Cancels `req.id`; only a `scheduled` task can be cancelled. For a series occurrence, the
/// next occurrence is written in the same step.
pub fn cancel(config: &Config, store: &dyn Store, req: &CancelRequest) -> Result<TaskChange> {
    // Checked before the store, as `show` does: an id that could never exist ("../x") is
    // invalid, not "not found".
    validate_id(&req.id)?;
    let now = config.clock.now();
    let policy = Policy::from_config(config);
    let change = store.modify(&req.id, &mut |found| {
        lifecycle::cancel(found, req.reason.as_deref(), &policy, now)
    })?;
    audit::log(
        &config.log_file,
        now,
        "cancelled",
        &[("id", &change.task.id)],
    );
    let message = format!(
        "cancelled {} (it was due {}); it will not run",
        change.task.id,
        config.clock.describe(change.task.run_at.timestamp())
    );
    let warnings = change.warning.clone().into_iter().collect();
    Ok(TaskChange::new(config, change.task, message, warnings))
}

/// Ends series `req.series` in one atomic step: its pending occurrence is cancelled and marked
/// ended, and an occurrence running right now is marked so that none follows it. Refused
/// (nothing changed) when the series has neither.
pub fn cancel_series(
    config: &Config,
    store: &dyn Store,
    req: &CancelSeriesRequest,
) -> Result<CancelSeriesReply> {
    let now = config.clock.now();
    let series = req.series.as_str();
    let changes = store.end_series(series, &mut |task| {
        lifecycle::end_series(task, series, req.reason.as_deref(), now)
    })?;
    if changes.is_empty() {
        return Err(Error::SeriesNotFound(series.to_string()));
    }
    let mut cancelled = Vec::new();
    let mut running = Vec::new();
    for change in changes {
        if change.task.status.is_terminal() {
            audit::log(
                &config.log_file,
                now,
                "cancelled",
                &[("id", &change.task.id), ("series", series)],
            );
            cancelled.push(change.task);
        } else if change.task.status == Status::Executing {
            audit::log(
                &config.log_file,
                now,
                "series ended",
                &[("id", &change.task.id), ("series", series)],
            );
            running.push(change.task.id);
        }
    }
    let mut message = format!("ended series {series}");
    if !cancelled.is_empty() {
        let ids: Vec<&str> = cancelled.iter().map(|t| t.id.as_str()).collect();
        message.push_str(&format!(": cancelled {}", ids.join(", ")));
    }
    if !running.is_empty() {
        message.push_str(&format!(
            "; {} is running now and will finish, with no occurrence after it",
            running.join(", ")
        ));
    }
    Ok(CancelSeriesReply {
        cancelled,
        running,
        message,
    })
}
