//! `defer retry ID [--when EXPR]`: the CLI over [`crate::ops::retry`].

use crate::cli::RetryArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::retry::retry;
use crate::output;
use crate::store::Store;
use crate::when;

/// The CLI: retry, print the record, confirm on stderr.
pub fn run(config: &Config, store: &dyn Store, args: RetryArgs) -> Result<()> {
    let task = retry(config, store, &args.id, args.when.as_deref())?;
    let zone = config.clock.zone().clone();
    let description = when::describe(
        &task.run_at.timestamp().to_zoned_datetime(zone.clone()),
        &config.clock.now().to_zoned_datetime(zone),
    );
    eprintln!(
        "retrying {} for {description} (attempts start over)",
        output::escape(&task.id)
    );
    output::print(&if args.compact {
        task.to_line()
    } else {
        task.to_pretty()
    })
}
