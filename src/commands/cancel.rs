//! `defer cancel`: a scheduled task becomes `cancelled` (terminal; archived by the next sweep).

use jiff::Timestamp;

use crate::audit;
use crate::cli::CancelArgs;
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::record::{Stamp, Status, Task};
use crate::store::Store;

/// Cancels `id`; only a `scheduled` task can be cancelled.
pub fn cancel(config: &Config, store: &dyn Store, id: &str, reason: Option<&str>) -> Result<Task> {
    let now = config.clock.now();
    let task = store.cancel(id, &mut |task| mark_cancelled(task, now, reason))?;
    audit::log(&config.log_file, now, "cancelled", &[("id", &task.id)]);
    Ok(task)
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
    let task = cancel(config, store, &args.id, args.reason.as_deref())?;
    output::print(&if args.compact {
        task.to_line()
    } else {
        task.to_pretty()
    })
}
