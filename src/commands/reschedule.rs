//! `defer reschedule ID --when EXPR [--series]` (alias `snooze`): the CLI over
//! [`crate::ops::reschedule`].

use crate::cli::RescheduleArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::reschedule::{RescheduleRequest, reschedule};
use crate::ops::resolve::{Scope, resolve};
use crate::store::Store;

/// The CLI: move the task; on a terminal one line, else the record (the confirmation on
/// stderr) as `schedule` does.
pub fn run(config: &Config, store: &dyn Store, args: RescheduleArgs) -> Result<()> {
    let reply = reschedule(
        config,
        store,
        &RescheduleRequest {
            id: resolve(store, &args.id, Scope::Active)?,
            when: args.when,
            series: args.series,
        },
    )?;
    let shape = super::Shape::of(args.json, args.compact);
    super::report(store, &reply.task, &reply.message, &reply.warnings, shape)
}
