//! `defer list`: records as a JSON array.

use crate::cli::ListArgs;
use crate::error::Result;
use crate::output;
use crate::record::Status;
use crate::store::{Query, Store};

/// The query `list` runs: scheduled and executing by default; the archives are searched when
/// `--all` or a terminal status is asked for, because that is where terminal tasks end up.
pub fn query(args: &ListArgs) -> Query {
    let statuses = if args.all {
        Vec::new()
    } else if args.statuses.is_empty() {
        vec![Status::Scheduled, Status::Executing]
    } else {
        args.statuses.clone()
    };
    let include_archive = args.all || statuses.iter().any(|s| s.is_terminal());
    Query {
        statuses,
        include_archive,
    }
}

/// The CLI.
pub fn run(store: &dyn Store, args: ListArgs) -> Result<()> {
    let listing = store.list(&query(&args))?;
    for p in &listing.problems {
        eprintln!(
            "warning: {} line {}: {} (kept as is; `defer check` lists such lines)",
            p.file.display(),
            p.line,
            p.reason
        );
    }
    output::print_json(&listing.records, args.compact)
}
