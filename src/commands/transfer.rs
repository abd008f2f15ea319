//! `defer export` / `defer import`: move every task between the configured store and a JSONL
//! runtime directory, so a user can start on a laptop and move to PostgreSQL later (and back).
//!
//! Records are copied as their JSON text, byte for byte: export → import → export gives the
//! same files. Active tasks go to (come from) `deferred.jsonl`, archived ones to (from)
//! `archive/deferred_YYYYMM.jsonl` by the month they were archived under.

use std::collections::BTreeMap;
use std::path::Path;

use indicatif::ProgressBar;

use crate::cli::TransferArgs;
use crate::commands::progress;
use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::fsutil::{self, Staged};
use crate::store::{JsonlStore, Part, Store, check_month, import_record};

/// `--runtime-dir DIR` refused, saying why.
fn runtime_dir(dir: &Path, reason: String) -> Error {
    Error::invalid_arg(Arg::RuntimeDir, dir.display().to_string(), reason, None)
}

/// Writes every task of `store` into a new runtime directory (refuses one that has a store).
/// Records are written as they are read, so a store of any size exports in a fixed amount of
/// memory; the files appear only once everything was written.
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
    fsutil::ensure_dir(dir)?;
    let bar = progress::counter("tasks read");
    let written = (|| {
        // Even with no active task the file is written: it marks a runtime directory.
        let mut active = Staged::create(target.tasks_file())?;
        let mut n_active = 0;
        store.export(Part::Active, &mut |_, line| {
            tick(&bar);
            n_active += 1;
            active.write_line(line)
        })?;
        let mut months: BTreeMap<String, Staged> = BTreeMap::new();
        let mut n_archived = 0;
        store.export(Part::Archived, &mut |month, line| {
            tick(&bar);
            let month = month.unwrap_or_default();
            check_month(month)?;
            if !months.contains_key(month) {
                months.insert(month.to_string(), target.stage_month(month)?);
            }
            n_archived += 1;
            match months.get_mut(month) {
                Some(staged) => staged.write_line(line),
                None => Ok(()),
            }
        })?;
        for staged in months.into_values() {
            staged.commit()?;
        }
        active.commit()?;
        Ok::<_, Error>((n_active, n_archived))
    })();
    bar.finish_and_clear();
    let (active, archived) = written?;
    eprintln!(
        "exported {active} active and {archived} archived task(s) to {}",
        dir.display()
    );
    Ok(())
}

/// Adds every task of a runtime directory to `store`, all or nothing. The directory is read
/// a line at a time and each record checked as it comes; the first line that is not a record
/// stops the import (nothing is written), so no task is silently left behind.
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
    let bar = progress::counter("tasks read");
    let imported = store.import(&mut |part, sink| {
        source.each_line(part, &mut |line| {
            let task = import_record(line.bytes).map_err(|reason| {
                runtime_dir(
                    dir,
                    format!(
                        "{} line {}: {reason}; fix or remove it before importing",
                        line.file.display(),
                        line.number
                    ),
                )
            })?;
            tick(&bar);
            sink(line.month, line.bytes, &task)
        })
    });
    bar.finish_and_clear();
    let imported = imported?;
    let superseded = match imported.superseded {
        0 => String::new(),
        n => format!(" ({n} archived copy(ies) of active tasks left out)"),
    };
    eprintln!(
        "imported {} active and {} archived task(s) from {}{superseded}",
        imported.active,
        imported.archived,
        dir.display()
    );
    Ok(())
}

/// Below this many tasks a transfer is too quick for a bar.
const SHOW_AFTER: u64 = 1000;

/// Counts one record on `bar` (drawn on a terminal once past a thousand).
fn tick(bar: &ProgressBar) {
    bar.inc(1);
    bar.set_length(bar.position());
    if bar.position() == SHOW_AFTER {
        progress::show(bar);
    }
}

/// The JSONL store of a runtime directory laid out as the reference lays it out.
fn runtime_store(dir: &Path) -> JsonlStore {
    JsonlStore::at(&dir.join("deferred.jsonl"), &dir.join("archive"))
}
