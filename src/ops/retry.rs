//! Retrying a failed (or missed) task, active or archived: same id, history kept.

use crate::audit;
use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::lifecycle;
use crate::record::{Task, validate_id};
use crate::store::Store;
use crate::when;

/// Schedules the failed or missed task `id` again, now or at the time expression `when`.
pub fn retry(config: &Config, store: &dyn Store, id: &str, when: Option<&str>) -> Result<Task> {
    validate_id(id)?;
    let now = config.clock.now_zoned();
    let run_at = match when.map(str::trim).filter(|w| !w.is_empty()) {
        Some(expr) => when::parse(expr, &now)
            .map_err(|e| Error::time_arg(Arg::When, e))?
            .timestamp(),
        None => now.timestamp(),
    };
    let change = store.modify(id, &mut |found| {
        lifecycle::retry(found, run_at, now.timestamp())
    })?;
    audit::log(
        &config.log_file,
        now.timestamp(),
        "retried",
        &[
            ("id", &change.task.id),
            ("run_at", &change.task.run_at.to_string()),
        ],
    );
    Ok(change.task)
}
