//! Moving records in and out of a JSONL store (`defer export`, `defer import`) one line at a
//! time, so that a runtime directory of any size is read in a fixed amount of memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use super::lines::{BOM, LineKind, classify};
use super::{JsonlStore, active_ids, archive_month_of, parse_or_skip, strip_cr};
use crate::error::{Error, Result};
use crate::fsutil::{self, Staged};
use crate::lifecycle;
use crate::record::{Status, Task};
use crate::store::{ExportSink, ImportSource, Imported, Part, archive_month, check_month};

/// One line of a runtime directory as [`JsonlStore::each_line`] reads it.
#[derive(Debug)]
pub struct LineAt<'a> {
    /// The archive month (`YYYYMM`), `None` in the active file.
    pub month: Option<&'a str>,
    pub file: &'a Path,
    /// 1-based, as editors count.
    pub number: usize,
    /// Without its line ending.
    pub bytes: &'a [u8],
}

impl JsonlStore {
    /// Reads every non-blank line of `part` as it is on disk, one at a time: the active file,
    /// or the archive files oldest month first. Nothing is checked here; an import reads its
    /// source with it and judges each line itself (`store::import_record`).
    pub fn each_line(
        &self,
        part: Part,
        each: &mut dyn FnMut(&LineAt<'_>) -> Result<()>,
    ) -> Result<()> {
        let files = match part {
            Part::Active => {
                self.refuse_directory()?;
                vec![self.tasks_file.clone()]
            }
            Part::Archived => self.archive_files()?,
        };
        let mut buf = Vec::new();
        for file in &files {
            let Some(opened) = fsutil::open_regular(file)? else {
                continue;
            };
            let month = match part {
                Part::Active => None,
                Part::Archived => archive_month_of(file),
            };
            let mut reader = BufReader::with_capacity(1 << 20, opened);
            let mut number = 0;
            loop {
                buf.clear();
                let read = reader
                    .read_until(b'\n', &mut buf)
                    .map_err(Error::io("reading", file))?;
                if read == 0 {
                    break;
                }
                number += 1;
                let mut bytes = strip_cr(buf.strip_suffix(b"\n").unwrap_or(&buf));
                if number == 1 {
                    bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
                }
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                each(&LineAt {
                    month,
                    file,
                    number,
                    bytes,
                })?;
            }
        }
        Ok(())
    }

    /// [`crate::store::Store::export`]: this store's records of `part`, as the listing sees
    /// them (an archived copy of an active task is left out).
    pub(super) fn export_part(&self, part: Part, each: &mut ExportSink<'_>) -> Result<()> {
        let loaded = self.load()?;
        if part == Part::Active {
            for line in &loaded.lines {
                if let LineKind::Task { .. } = line.kind {
                    each(None, loaded.bytes(line))?;
                }
            }
            return Ok(());
        }
        let active = active_ids(&loaded);
        self.each_line(
            Part::Archived,
            &mut |line| match (classify(line.bytes), line.month) {
                (LineKind::Task { id, .. }, Some(month)) if !active.contains(id.as_str()) => {
                    each(Some(month), line.bytes)
                }
                (LineKind::Malformed(reason), _) => {
                    eprintln!(
                        "warning: {} line {}: {reason} (not exported)",
                        line.file.display(),
                        line.number
                    );
                    Ok(())
                }
                _ => Ok(()),
            },
        )
    }

    /// [`crate::store::Store::import`]: the active file and each archive month that gets
    /// records are written anew beside themselves and put in place only once the whole source
    /// was read and accepted, so a refused import leaves every file as it was.
    ///
    /// The ids of the active records (and the pending holders of unique keys) are held to
    /// refuse duplicates, so memory grows with the store as it does for every JSONL command.
    pub(super) fn import_from(&self, source: &mut ImportSource<'_>) -> Result<Imported> {
        let _guard = self.lock()?;
        let loaded = self.load()?;
        let mut ids: HashSet<String> = active_ids(&loaded)
            .into_iter()
            .map(str::to_string)
            .collect();
        // Pending tasks holding a unique key, so an import cannot bring a second holder (the
        // database's unique index refuses the same on PostgreSQL).
        let mut holders: HashMap<String, Task> = HashMap::new();
        for line in &loaded.lines {
            let LineKind::Task { status, .. } = &line.kind else {
                continue;
            };
            if matches!(status, Status::Scheduled | Status::Executing)
                && let Some(key) = line.kind.links().0
                && let Some(task) = parse_or_skip(&loaded, line, &self.tasks_file)
            {
                holders.entry(key.to_string()).or_insert(task);
            }
        }
        let mut active = Staged::create(&self.tasks_file)?;
        for line in &loaded.lines {
            if line.kind != LineKind::Blank {
                active.write_line(loaded.bytes(line))?;
            }
        }
        let mut imported = Imported::default();
        source(Part::Active, &mut |_, line, task| {
            if !ids.insert(task.id.clone()) {
                return Err(Error::DuplicateId(task.id.clone()));
            }
            if task.unique_key.is_some()
                && matches!(task.status, Status::Scheduled | Status::Executing)
            {
                hold_key(&mut holders, task)?;
            }
            imported.active += 1;
            active.write_line(line)
        })?;
        let mut months: BTreeMap<String, Staged> = BTreeMap::new();
        source(Part::Archived, &mut |month, line, task| {
            let month = archive_month(month, task)?;
            if ids.contains(&task.id) {
                imported.superseded += 1;
                return Ok(());
            }
            if !months.contains_key(month) {
                months.insert(month.to_string(), self.stage_month(month)?);
            }
            let Some(staged) = months.get_mut(month) else {
                return Ok(());
            };
            imported.archived += 1;
            staged.write_line(line)
        })?;
        for staged in months.into_values() {
            staged.commit()?;
        }
        if imported.active > 0 {
            active.commit()?;
            *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        Ok(imported)
    }
}

impl JsonlStore {
    /// The new content of one archive month, starting with what it holds now: records are
    /// added with [`Staged::write_line`] and appear when it is committed.
    pub fn stage_month(&self, month: &str) -> Result<Staged> {
        check_month(month)?;
        let path = self.archive_path(month);
        let mut staged = Staged::create(&path)?;
        copy_existing(&path, &mut staged)?;
        Ok(staged)
    }
}

/// Records that pending `task` holds its unique key, refusing a second holder
/// ([`lifecycle::unique::conflict`]: occurrences of one series share theirs).
fn hold_key(holders: &mut HashMap<String, Task>, task: &Task) -> Result<()> {
    let Some(key) = &task.unique_key else {
        return Ok(());
    };
    match holders.get(key) {
        Some(other) => match lifecycle::unique::conflict(task, other) {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        },
        None => {
            holders.insert(key.clone(), task.clone());
            Ok(())
        }
    }
}

/// Copies what `path` holds (if it exists) into its new content, ending with a newline.
fn copy_existing(path: &Path, staged: &mut Staged) -> Result<()> {
    let Some(mut file) = fsutil::open_regular(path)? else {
        return Ok(());
    };
    let tmp = staged.tmp().to_path_buf();
    let copied = io::copy(&mut file, staged.writer()).map_err(Error::io("copying", path))?;
    if copied > 0 {
        let mut last = [0u8; 1];
        use std::os::unix::fs::FileExt;
        file.read_exact_at(&mut last, copied - 1)
            .map_err(Error::io("reading", path))?;
        if last[0] != b'\n' {
            io::Write::write_all(staged.writer(), b"\n")
                .map_err(Error::io("writing temporary file", &tmp))?;
        }
    }
    Ok(())
}
