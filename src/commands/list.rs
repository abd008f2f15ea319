//! `defer list`: records as a JSON array, streamed to stdout as they are read; on a terminal
//! (without `--json`/`--compact`), a table instead (`commands/view.rs`).

use std::io::{self, BufWriter, Write};

use crate::cli::{ColorChoice, ListArgs};
use crate::commands::view::{self, Terminal};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::list::ListRequest;
use crate::store::jsonl::scan;
use crate::store::{Query, Store};

/// The listing the flags ask for (the library's rules: default statuses, archives, since).
fn query(config: &Config, args: &ListArgs) -> Result<Query> {
    ListRequest {
        status: args.statuses.clone(),
        all: args.all,
        since: args.since.clone(),
        unique_key: args.unique_key.clone(),
        parent_id: args.parent.clone(),
        ..ListRequest::default()
    }
    .query(config)
}

/// Writes the records of `query` as a JSON array: one line with `compact`, else indented as
/// `serde_json::to_string_pretty` would. Records are copied as stored, not re-serialised.
pub fn write_array(
    store: &dyn Store,
    query: &Query,
    compact: bool,
    out: &mut dyn Write,
) -> Result<Vec<crate::store::Problem>> {
    let mut first = true;
    let mut pretty = Vec::new();
    let stdout_err = Error::io("writing", "stdout");
    let mut write = |bytes: &[u8]| -> Result<()> {
        let sep: &[u8] = match (first, compact) {
            (true, true) => b"[",
            (true, false) => b"[\n  ",
            (false, true) => b",",
            (false, false) => b",\n  ",
        };
        first = false;
        out.write_all(sep).map_err(Error::io("writing", "stdout"))?;
        if compact {
            out.write_all(bytes.trim_ascii())
        } else {
            pretty.clear();
            scan::pretty(bytes, 1, &mut pretty);
            out.write_all(&pretty)
        }
        .map_err(Error::io("writing", "stdout"))
    };
    let problems = store.list(query, &mut write)?;
    let end: &[u8] = match (first, compact) {
        (true, _) => b"[]\n",
        (false, true) => b"]\n",
        (false, false) => b"\n]\n",
    };
    out.write_all(end)
        .and_then(|()| out.flush())
        .map_err(stdout_err)?;
    Ok(problems)
}

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: ListArgs, color: ColorChoice) -> Result<()> {
    if args.series {
        return series(config, store, &args, color);
    }
    let query = query(config, &args)?;
    // On stderr, so a script reading the JSON sees no change.
    if let Some(pause) = crate::ops::pause::current(config, store)? {
        eprintln!(
            "note: {}",
            crate::ops::pause::describe_local(config, &pause)
        );
    }
    if let Some(term) = Terminal::detect(color, args.json || args.compact) {
        let mut records = Vec::new();
        let problems = store.list(&query, &mut |bytes| {
            records.push(serde_json::from_slice(bytes).map_err(|source| Error::Json {
                what: "a stored record".into(),
                source,
            })?);
            Ok(())
        })?;
        warn(&problems);
        if records.is_empty() {
            return crate::output::print("no tasks (`defer list --all` includes the archives)");
        }
        let all_ids = || store.ids_matching("", true);
        let table = view::task_table(&term, config, &records, &all_ids)?;
        return crate::output::print(table.trim_end());
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
    let problems = match write_array(store, &query, args.compact, &mut out) {
        Ok(problems) => problems,
        // `defer list | head`: the reader has what it wanted.
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    warn(&problems);
    Ok(())
}

/// `defer list --series`: a table on a terminal, else the series as a JSON array.
fn series(config: &Config, store: &dyn Store, args: &ListArgs, color: ColorChoice) -> Result<()> {
    let reply = crate::ops::series::series(
        config,
        store,
        &crate::ops::series::SeriesRequest { all: args.all },
    )?;
    match Terminal::detect(color, args.json || args.compact) {
        Some(_) if reply.series.is_empty() => crate::output::print(&reply.message),
        Some(term) => {
            crate::output::print(view::series_table(&term, config, &reply.series).trim_end())
        }
        None => crate::output::print_json(&reply.series, args.compact),
    }
}

/// One warning line per store line that is not a record.
fn warn(problems: &[crate::store::Problem]) {
    for p in problems {
        eprintln!(
            "warning: {} line {}: {} (kept as is; `defer check` lists such lines)",
            p.file.display(),
            p.line,
            p.reason
        );
    }
}
