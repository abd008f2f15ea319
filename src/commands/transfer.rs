//! `defer export` / `defer import`: move every task between the configured store and a JSONL
//! runtime directory, so a user can start on a laptop and move to PostgreSQL later (and back).
//!
//! Records are copied as their JSON text, byte for byte: export → import → export gives the
//! same files. Active tasks go to (come from) `deferred.jsonl`, archived ones to (from)
//! `archive/deferred_YYYYMM.jsonl` by the month they were archived under.

use std::path::Path;

use indicatif::ProgressBar;

use crate::cli::TransferArgs;
use crate::commands::progress;
use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::fsutil;
use crate::store::{JsonlStore, Store};

/// `--runtime-dir DIR` refused, saying why.
fn runtime_dir(dir: &Path, reason: String) -> Error {
    Error::invalid_arg(Arg::RuntimeDir, dir.display().to_string(), reason, None)
}

/// Writes every task of `store` into a new runtime directory (refuses one that has a store).
pub fn export(store: &dyn Store, args: TransferArgs) -> Result<()> {
    let dir = &args.runtime_dir;
    let target = runtime_store(dir);
    if target.tasks_file().exists() {
        return Err(runtime_dir(
            dir,
            format!(
                "{} already exists; export into an empty directory",
                target.tasks_file().display()
            ),
        ));
    }
    let bar = progress::counter("tasks read");
    let (active, archived) = collect(store, &bar)?;
    fsutil::ensure_dir(dir)?;
    writing(&bar, active.len() + archived.len());
    let written = target.import(&active, &archived);
    bar.finish_and_clear();
    written?;
    if !target.tasks_file().exists() {
        // No active task: the store still marks the directory as a runtime dir.
        fsutil::replace_file(target.tasks_file(), b"")?;
    }
    eprintln!(
        "exported {} active and {} archived task(s) to {}",
        active.len(),
        archived.len(),
        dir.display()
    );
    Ok(())
}

/// Adds every task of a runtime directory to `store`; all or nothing.
pub fn import(config: &Config, store: &dyn Store, args: TransferArgs) -> Result<()> {
    let dir = &args.runtime_dir;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if config.database_url.is_none() && same(dir, &config.runtime_dir) {
        return Err(runtime_dir(
            dir,
            "is the configured store itself; set DEFER_DATABASE_URL (or another \
             DEFER_RUNTIME_DIR) to import into a different store"
                .into(),
        ));
    }
    let source = runtime_store(dir);
    if !source.tasks_file().is_file() {
        return Err(runtime_dir(
            dir,
            format!(
                "{} not found; point --runtime-dir at a defer runtime directory",
                source.tasks_file().display()
            ),
        ));
    }
    // A line that is not a record stops the import (nothing is written), so no task is
    // silently left behind.
    if let Some(problem) = source.check()?.into_iter().next() {
        return Err(runtime_dir(
            dir,
            format!(
                "{} line {}: {}; fix or remove it before importing",
                problem.file.display(),
                problem.line,
                problem.reason
            ),
        ));
    }
    let bar = progress::counter("tasks read");
    let (active, archived) = collect(&source, &bar)?;
    writing(&bar, active.len() + archived.len());
    let written = store.import(&active, &archived);
    bar.finish_and_clear();
    written?;
    eprintln!(
        "imported {} active and {} archived task(s) from {}",
        active.len(),
        archived.len(),
        dir.display()
    );
    Ok(())
}

/// Below this many tasks a transfer is too quick for a bar.
const SHOW_AFTER: u64 = 1000;

/// The write is one all-or-nothing step: the bar becomes a spinner that says so.
fn writing(bar: &ProgressBar, n: usize) {
    bar.set_length(n as u64);
    bar.set_message("read; writing them in one step");
}

/// The JSONL store of a runtime directory laid out as the reference lays it out.
fn runtime_store(dir: &Path) -> JsonlStore {
    JsonlStore::at(&dir.join("deferred.jsonl"), &dir.join("archive"))
}

/// Every record of a store: the active ones, and the archived ones with their month.
type Records = (Vec<Vec<u8>>, Vec<(String, Vec<u8>)>);

/// Every record of `store`, counted on `bar` (drawn on a terminal once past a thousand).
fn collect(store: &dyn Store, bar: &ProgressBar) -> Result<Records> {
    let mut active = Vec::new();
    let mut archived = Vec::new();
    store.export(&mut |month, record| {
        bar.inc(1);
        bar.set_length(bar.position());
        if bar.position() == SHOW_AFTER {
            progress::show(bar);
        }
        match month {
            None => active.push(record.to_vec()),
            Some(m) => archived.push((m.to_string(), record.to_vec())),
        }
        Ok(())
    })?;
    Ok((active, archived))
}
