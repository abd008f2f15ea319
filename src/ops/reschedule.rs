//! Moving a scheduled task to a new time ("snooze"): same id and record.

use serde::{Deserialize, Serialize};

use super::TaskChange;
use crate::audit;
use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::lifecycle;
use crate::ops::wire::null_as_false;
use crate::record::validate_id;
use crate::store::Store;
use crate::when;

/// Give a scheduled task a new time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    /// The id of a scheduled task, e.g. "task_20260408_163500_4821".
    pub id: String,
    /// The new time, a time expression read in the server's time zone, e.g. "tomorrow 9am"
    /// or "in 2 hours" (the grammar of schedule's `when`).
    pub when: String,
    /// For an occurrence of a repeating task: move the whole series' rule to the new time
    /// (true) or only this occurrence (false).
    #[serde(default, deserialize_with = "null_as_false")]
    pub series: bool,
}

/// Gives the scheduled task the time `req.when`; with `req.series`, a series' rule anchor
/// moves too (see [`lifecycle::reschedule`]).
pub fn reschedule(
    config: &Config,
    store: &dyn Store,
    req: &RescheduleRequest,
) -> Result<TaskChange> {
    validate_id(&req.id)?;
    let now = config.clock.now_zoned();
    let target = when::parse(&req.when, &now).map_err(|e| Error::time_arg(Arg::When, e))?;
    let zone = config.clock.zone_name();
    let change = store.modify(&req.id, &mut |found| {
        lifecycle::reschedule(found, target.timestamp(), &req.when, &zone, req.series)
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
    let mut warnings = Vec::new();
    if change.task.run_at.timestamp().as_second() < now.timestamp().as_second() {
        warnings.push(super::past_warning(&req.when, change.task.run_at));
    }
    let moved = if req.series && change.task.series.is_some() {
        " (the series follows from this time)"
    } else {
        ""
    };
    let message = format!(
        "rescheduled {} for {}{moved}",
        change.task.id,
        when::describe(&target, &now)
    );
    Ok(TaskChange::new(config, change.task, message, warnings))
}
