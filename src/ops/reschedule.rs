//! Moving a scheduled task to a new time ("snooze"): same id and record.

use crate::audit;
use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::lifecycle;
use crate::record::{Task, validate_id};
use crate::store::Store;
use crate::when;

/// Gives the scheduled task `id` the time `when`; with `move_series`, a series' rule anchor
/// moves too (see [`lifecycle::reschedule`]). Returns the record and how the time was read.
pub fn reschedule(
    config: &Config,
    store: &dyn Store,
    id: &str,
    when: &str,
    move_series: bool,
) -> Result<(Task, String)> {
    validate_id(id)?;
    let now = config.clock.now_zoned();
    let target = when::parse(when, &now).map_err(|e| Error::time_arg(Arg::When, e))?;
    let zone = config.clock.zone_name();
    let change = store.modify(id, &mut |found| {
        lifecycle::reschedule(found, target.timestamp(), when, &zone, move_series)
    })?;
    audit::log(
        &config.log_file,
        now.timestamp(),
        "rescheduled",
        &[
            ("id", &change.task.id),
            ("run_at", &change.task.run_at.to_string()),
        ],
    );
    Ok((change.task, when::describe(&target, &now)))
}
