//! Cancelling: one task, or what is left of a series. The lifecycle decides; the store applies.

use crate::audit;
use crate::config::Config;
use crate::error::Result;
use crate::lifecycle::{self, Policy};
use crate::record::{Task, validate_id};
use crate::store::Store;

/// Cancels `id`; only a `scheduled` task can be cancelled. For a series occurrence, the next
/// occurrence is written in the same step.
pub fn cancel(config: &Config, store: &dyn Store, id: &str, reason: Option<&str>) -> Result<Task> {
    // Checked before the store, as `show` does: an id that could never exist ("../x") is
    // invalid, not "not found".
    validate_id(id)?;
    let now = config.clock.now();
    let policy = Policy::from_config(config);
    let change = store.modify(id, &mut |found| {
        lifecycle::cancel(found, reason, &policy, now)
    })?;
    audit::log(
        &config.log_file,
        now,
        "cancelled",
        &[("id", &change.task.id)],
    );
    if let Some(warning) = &change.warning {
        eprintln!("warning: {}", crate::output::escape(warning));
    }
    Ok(change.task)
}

/// Ends series `series` in one atomic step: its pending occurrence is cancelled and marked
/// ended, and an occurrence running right now is marked so that none follows it. Returns the
/// cancelled records.
pub fn cancel_series(
    config: &Config,
    store: &dyn Store,
    series: &str,
    reason: Option<&str>,
) -> Result<Vec<Task>> {
    let now = config.clock.now();
    let changes = store.end_series(series, &mut |task| {
        lifecycle::end_series(task, series, reason, now)
    })?;
    let mut cancelled = Vec::new();
    for change in changes {
        if change.task.status.is_terminal() {
            audit::log(
                &config.log_file,
                now,
                "cancelled",
                &[("id", &change.task.id), ("series", series)],
            );
            cancelled.push(change.task);
        }
    }
    Ok(cancelled)
}
