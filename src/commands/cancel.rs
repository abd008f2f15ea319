//! `defer cancel`: a scheduled task becomes `cancelled` (terminal; archived by the next sweep).
//! Cancelling one occurrence of a series schedules the next; `--series` ends the series.

use jiff::Timestamp;

use crate::audit;
use crate::cli::CancelArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::output;
use crate::record::{Stamp, Status, Task};
use crate::store::Store;

/// Cancels `id`; only a `scheduled` task can be cancelled. For a series occurrence, the next
/// occurrence is written in the same step.
pub fn cancel(config: &Config, store: &dyn Store, id: &str, reason: Option<&str>) -> Result<Task> {
    let now = config.clock.now();
    let zone = config.clock.zone().clone();
    let task = store.cancel(id, &mut |task| {
        let task = mark_cancelled(task, now, reason);
        let next = lifecycle::next_occurrence(&task, &zone, now).ok().flatten();
        (task, next)
    })?;
    audit::log(&config.log_file, now, "cancelled", &[("id", &task.id)]);
    Ok(task)
}

/// Ends series `series`: its pending occurrence is cancelled and marked ended, and an
/// occurrence running right now is marked so that none follows it. Returns the cancelled
/// records.
pub fn cancel_series(
    config: &Config,
    store: &dyn Store,
    series: &str,
    reason: Option<&str>,
) -> Result<Vec<Task>> {
    let now = config.clock.now();
    let pending = store.end_series(series)?;
    let mut cancelled = Vec::new();
    for id in pending {
        let task = store.cancel(&id, &mut |task| {
            let mut task = mark_cancelled(task, now, reason);
            if let Some(s) = task.series.as_mut() {
                s.ended = true;
            }
            (task, None)
        })?;
        audit::log(
            &config.log_file,
            now,
            "cancelled",
            &[("id", &task.id), ("series", series)],
        );
        cancelled.push(task);
    }
    Ok(cancelled)
}

/// The transition itself: `cancel_reason` is `null` when no reason was given, as in the
/// reference.
pub fn mark_cancelled(mut task: Task, now: Timestamp, reason: Option<&str>) -> Task {
    task.status = Status::Cancelled;
    task.cancelled_at = Some(Stamp(now));
    task.cancel_reason = Some(reason.map(str::to_string));
    task
}

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: CancelArgs) -> Result<()> {
    if let Some(series) = &args.series {
        let cancelled = cancel_series(config, store, series, args.reason.as_deref())?;
        if cancelled.is_empty() {
            return Err(Error::Invalid(format!(
                "series {series} has no scheduled occurrence to cancel (unknown series, or it \
                 already ended); `defer list --all` shows its records"
            )));
        }
        let records: Vec<serde_json::Value> = cancelled
            .iter()
            .filter_map(|t| serde_json::from_str(&t.to_line()).ok())
            .collect();
        return output::print_json(&records, args.compact);
    }
    let Some(id) = &args.id else {
        return Err(Error::Invalid("give --id ID or --series SERIES_ID".into()));
    };
    let task = cancel(config, store, id, args.reason.as_deref())?;
    output::print(&if args.compact {
        task.to_line()
    } else {
        task.to_pretty()
    })
}
