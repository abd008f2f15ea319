//! `defer reschedule ID --when EXPR [--series]` (alias `snooze`): the CLI over
//! [`crate::ops::reschedule`].

use crate::cli::RescheduleArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::reschedule::{RescheduleRequest, reschedule};
use crate::output;
use crate::store::Store;

/// The CLI: move the task, print the record, confirm on stderr as `schedule` does.
pub fn run(config: &Config, store: &dyn Store, args: RescheduleArgs) -> Result<()> {
    let reply = reschedule(
        config,
        store,
        &RescheduleRequest {
            id: args.id,
            when: args.when,
            series: args.series,
        },
    )?;
    super::confirm(&reply);
    output::print(&if args.compact {
        reply.task.to_line()
    } else {
        reply.task.to_pretty()
    })
}
