//! `defer retry ID [--when EXPR]`: the CLI over [`crate::ops::retry`].

use crate::cli::RetryArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::resolve::{Scope, resolve};
use crate::ops::retry::{RetryRequest, retry};
use crate::store::Store;

/// The CLI: retry; on a terminal one line, else the record (the confirmation on stderr).
pub fn run(config: &Config, store: &dyn Store, args: RetryArgs) -> Result<()> {
    let reply = retry(
        config,
        store,
        &RetryRequest {
            id: resolve(store, &args.id, Scope::Any)?,
            when: args.when,
        },
    )?;
    let shape = super::Shape::of(args.json, args.compact);
    super::report(store, &reply.task, &reply.message, &reply.warnings, shape)
}
