//! `defer retry ID [--when EXPR]`: the CLI over [`crate::ops::retry`].

use crate::cli::RetryArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::retry::{RetryRequest, retry};
use crate::output;
use crate::store::Store;

/// The CLI: retry, print the record, confirm on stderr.
pub fn run(config: &Config, store: &dyn Store, args: RetryArgs) -> Result<()> {
    let reply = retry(
        config,
        store,
        &RetryRequest {
            id: args.id,
            when: args.when,
        },
    )?;
    super::confirm(&reply);
    output::print(&if args.compact {
        reply.task.to_line()
    } else {
        reply.task.to_pretty()
    })
}
