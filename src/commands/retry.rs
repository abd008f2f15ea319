//! `defer retry ID [--when EXPR]`: the CLI over [`crate::ops::retry`].

use crate::cli::RetryArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::resolve::{Scope, resolve};
use crate::ops::retry::{RetryRequest, retry};
use crate::store::Store;

/// The CLI: retry one task (on a terminal one line, else the record, the confirmation on
/// stderr), or every task a filter matches (`commands::bulk`).
pub fn run(config: &Config, store: &dyn Store, args: RetryArgs) -> Result<()> {
    let Some(typed) = args.id else {
        let filter = super::bulk::Filter {
            statuses: args.statuses,
            search: args.search,
            since: args.since,
            yes: args.yes,
        };
        return super::bulk::run(
            config,
            store,
            crate::ops::bulk::BulkAction::Retry,
            filter,
            args.when,
            None,
        );
    };
    let reply = retry(
        config,
        store,
        &RetryRequest {
            id: resolve(store, &typed, Scope::Any)?,
            when: args.when,
        },
    )?;
    let shape = super::Shape::of(args.json, args.compact);
    super::report(store, &reply.task, &reply.message, &reply.warnings, shape)
}
