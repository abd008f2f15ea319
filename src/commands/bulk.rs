//! `defer retry --status …` / `defer cancel --status …`: the CLI over [`crate::ops::bulk`].
//! On a terminal a line per task; piped, the reply as JSON. When more than one task matches
//! and `--yes` was not given, the matches are listed and the command exits 1, changing
//! nothing.

use std::io::IsTerminal;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::bulk::{BulkAction, BulkReply, BulkRequest, bulk};
use crate::output;
use crate::record::Status;
use crate::store::Store;

/// The filter flags both commands share.
#[derive(Debug)]
pub struct Filter {
    pub statuses: Vec<Status>,
    pub search: Option<String>,
    pub since: Option<String>,
    pub yes: bool,
}

/// Runs the action over the filter's matches and reports.
pub fn run(
    config: &Config,
    store: &dyn Store,
    action: BulkAction,
    filter: Filter,
    when: Option<String>,
    reason: Option<String>,
) -> Result<()> {
    let reply = bulk(
        config,
        store,
        &BulkRequest {
            action,
            ids: Vec::new(),
            status: filter.statuses,
            q: filter.search,
            since: filter.since,
            when,
            reason,
            yes: filter.yes,
        },
    )?;
    if std::io::stdout().is_terminal() {
        print_lines(store, &reply)?;
    } else {
        output::print_json(&reply, false)?;
    }
    if !reply.applied {
        return Err(Error::NeedsConfirmation {
            count: reply.matched.len(),
            action: action.as_str(),
        });
    }
    Ok(())
}

/// A line per task, ids as a person types them.
fn print_lines(store: &dyn Store, reply: &BulkReply) -> Result<()> {
    let all = store.ids_matching("", true)?;
    let among: std::collections::HashSet<&str> = all.iter().map(String::as_str).collect();
    let short =
        |id: &str| output::escape(crate::ops::resolve::shortest_tail(id, &among)).into_owned();
    if !reply.applied {
        for id in &reply.matched {
            output::print(&format!("would {}: {}", reply.action.as_str(), short(id)))?;
        }
    }
    for id in &reply.done {
        output::print(&format!("{}: {}", reply.action.as_str(), short(id)))?;
    }
    for s in &reply.skipped {
        output::print(&format!(
            "skipped {}: {}",
            short(&s.id),
            output::escape(&s.reason)
        ))?;
    }
    if reply.applied {
        output::print(&output::escape(&reply.message))?;
    }
    Ok(())
}
