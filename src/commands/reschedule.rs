//! `defer reschedule ID --when EXPR [--series]` (alias `snooze`): the CLI over
//! [`crate::ops::reschedule`].

use crate::cli::RescheduleArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::reschedule::reschedule;
use crate::output;
use crate::store::Store;

/// The CLI: move the task, print the record, confirm on stderr as `schedule` does.
pub fn run(config: &Config, store: &dyn Store, args: RescheduleArgs) -> Result<()> {
    let (task, description) = reschedule(config, store, &args.id, &args.when, args.series)?;
    if task.run_at.timestamp() < config.clock.now() {
        eprintln!(
            "warning: {:?} resolves to {}, which is in the past; the task is due now",
            output::escape(&args.when),
            task.run_at
        );
    }
    let moved = if args.series && task.series.is_some() {
        " (the series follows from this time)"
    } else {
        ""
    };
    eprintln!(
        "rescheduled {} for {description}{moved}",
        output::escape(&task.id)
    );
    output::print(&if args.compact {
        task.to_line()
    } else {
        task.to_pretty()
    })
}
