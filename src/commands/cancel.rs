//! `defer cancel`: the CLI over [`crate::ops::cancel`].

use crate::cli::CancelArgs;
use crate::config::Config;
use crate::error::{Arg, ArgProblem, Error, Result};
use crate::ops::cancel::{CancelRequest, CancelSeriesRequest, cancel, cancel_series};
use crate::ops::resolve::{Scope, resolve};
use crate::output;
use crate::store::Store;

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: CancelArgs) -> Result<()> {
    if let Some(series) = args.series {
        let reply = cancel_series(
            config,
            store,
            &CancelSeriesRequest {
                series,
                reason: args.reason,
            },
        )?;
        eprintln!("{}", output::escape(&reply.message));
        let records: Vec<serde_json::Value> = reply
            .cancelled
            .iter()
            .filter_map(|t| serde_json::from_str(&t.to_line()).ok())
            .collect();
        return output::print_json(&records, args.compact);
    }
    if args.id.is_none()
        && args.id_flag.is_none()
        && (!args.statuses.is_empty() || args.search.is_some() || args.since.is_some())
    {
        let filter = super::bulk::Filter {
            statuses: args.statuses,
            search: args.search,
            since: args.since,
            yes: args.yes,
        };
        return super::bulk::run(
            config,
            store,
            crate::ops::bulk::BulkAction::Cancel,
            filter,
            None,
            args.reason,
        );
    }
    let Some(typed) = args.id.or(args.id_flag) else {
        return Err(Error::Argument {
            arg: Arg::Id,
            value: None,
            problem: ArgProblem::Missing {
                hint: Some("give the task's id, or --series SERIES_ID to end a series"),
            },
        });
    };
    let reply = cancel(
        config,
        store,
        &CancelRequest {
            id: resolve(store, &typed, Scope::Active)?,
            reason: args.reason,
        },
    )?;
    let shape = super::Shape::of(args.json, args.compact);
    super::report(store, &reply.task, &reply.message, &reply.warnings, shape)
}
