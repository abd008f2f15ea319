//! `defer export` / `defer import`: move every task between the configured store and a JSONL
//! runtime directory, so a user can start on a laptop and move to PostgreSQL later (and back).
//!
//! Records are copied as their JSON text, byte for byte: export → import → export gives the
//! same files. Active tasks go to (come from) `deferred.jsonl`, archived ones to (from)
//! `archive/deferred_YYYYMM.jsonl` by the month they were archived under.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::TransferArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::store::Store;
use crate::store::lines::{LineKind, Loaded};

/// Writes every task of `store` into a new runtime directory (refuses one that has a store).
pub fn export(store: &dyn Store, args: TransferArgs) -> Result<()> {
    let dir = &args.runtime_dir;
    let tasks_file = dir.join("deferred.jsonl");
    if tasks_file.exists() {
        return Err(Error::Invalid(format!(
            "{} already exists; export into an empty directory",
            tasks_file.display()
        )));
    }
    let mut active = Vec::new();
    let mut months: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let (mut n_active, mut n_archived) = (0usize, 0usize);
    store.export(&mut |month, record| {
        let out = match month {
            None => {
                n_active += 1;
                &mut active
            }
            Some(m) => {
                n_archived += 1;
                months.entry(m.to_string()).or_default()
            }
        };
        out.extend_from_slice(record);
        out.push(b'\n');
        Ok(())
    })?;
    fsutil::ensure_dir(dir)?;
    for (month, text) in &months {
        let path = dir.join("archive").join(format!("deferred_{month}.jsonl"));
        fsutil::ensure_dir(fsutil::parent_dir(&path))?;
        fsutil::replace_file(&path, text)?;
    }
    fsutil::replace_file(&tasks_file, &active)?;
    eprintln!(
        "exported {n_active} active and {n_archived} archived task(s) to {}",
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
        return Err(Error::Invalid(format!(
            "{} is the configured store itself; set DEFER_DATABASE_URL (or another \
             DEFER_RUNTIME_DIR) to import into a different store",
            dir.display()
        )));
    }
    let tasks_file = dir.join("deferred.jsonl");
    if !tasks_file.is_file() {
        return Err(Error::Invalid(format!(
            "{} not found; point --runtime-dir at a defer runtime directory",
            tasks_file.display()
        )));
    }
    let active = task_lines(&tasks_file)?;
    let mut archived = Vec::new();
    let archive_dir = dir.join("archive");
    if let Ok(entries) = std::fs::read_dir(&archive_dir) {
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let Some(month) = name
                .as_deref()
                .and_then(|n| n.strip_prefix("deferred_"))
                .and_then(|n| n.strip_suffix(".jsonl"))
            else {
                continue;
            };
            let month = month.to_string();
            archived.extend(task_lines(&path)?.into_iter().map(|l| (month.clone(), l)));
        }
    }
    store.import(&active, &archived)?;
    eprintln!(
        "imported {} active and {} archived task(s) from {}",
        active.len(),
        archived.len(),
        dir.display()
    );
    Ok(())
}

/// The task lines of a JSONL file; a line that is not a record stops the import (nothing is
/// written) so no task is silently left behind.
fn task_lines(path: &Path) -> Result<Vec<Vec<u8>>> {
    let loaded = Loaded::parse(fsutil::read_or_empty(path)?);
    if let Some((line, reason)) = loaded.malformed().next() {
        return Err(Error::Invalid(format!(
            "{} line {line}: {reason}; fix or remove it before importing",
            path.display()
        )));
    }
    Ok(loaded
        .lines
        .iter()
        .filter(|l| matches!(l.kind, LineKind::Task { .. }))
        .map(|l| loaded.bytes(l).to_vec())
        .collect())
}
