//! The JSONL store of the contract (SPEC §9): `deferred.jsonl` plus monthly archives.
//!
//! - Every change happens under an exclusive lock on `.deferred.jsonl.lock` beside the store.
//! - A new task is one appended line (made durable with `fdatasync`), so scheduling costs the
//!   same with 10 or 100,000 tasks in the store; only an explicit `--id` reads the store.
//! - Every other change is one rewrite: a sibling temp file, flushed, renamed over the store,
//!   then the directory flushed. Lines the change does not touch are copied byte for byte.
//! - Lines that are not task records are kept where they are, skipped, and reported.
//! - Reads take no lock: a rename swaps whole files, and an append is a single `write`.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

mod changes;
pub mod lines;
pub mod scan;
mod transfer;

pub use transfer::LineAt;

use super::order::ListKey;
use super::{
    Archived, Decide, ExportSink, ImportSource, Imported, Part, Problem, Query, RunnerLock, Store,
    Tally,
};
use crate::config::Config;
use crate::error::{Error, PathProblem, Result};
use crate::fsutil;
use crate::lifecycle::unique::UniqueAsk;
use crate::lifecycle::{self, Change, Found};
use crate::lock::LockGuard;
use crate::record::{Stamp, Status, Task};
use lines::{Line, LineKind, Loaded};

/// How long a writer waits for another one before giving up with an error.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of the end of the store an append of a generated id searches for that id.
const ID_CHECK_TAIL: usize = 64 * 1024;

impl RunnerLock for LockGuard {
    fn lost(&self) -> bool {
        LockGuard::lost(self)
    }
}

/// The file-backed store.
#[derive(Debug)]
pub struct JsonlStore {
    tasks_file: PathBuf,
    archive_dir: PathBuf,
    lock_path: PathBuf,
    runner_lock_path: PathBuf,
    /// Malformed lines already reported by this process, so one `defer run` (which reads the
    /// store several times) warns once per line.
    warned: Mutex<HashSet<(usize, u64)>>,
    /// The file as last read, with the identity it had: a run's recover, claim and archive
    /// steps read an unchanged store once, not three times.
    cache: Mutex<Option<(FileIdent, Arc<Loaded>)>>,
    /// Lines (by content hash) that the quick look took for records but the full parse
    /// refused: reported once, and left out of `next_due` so a watcher does not wake for a
    /// line it can never claim.
    unusable: Mutex<HashSet<u64>>,
    /// The watch over the store and pause files, started by the first wait for a change.
    changes: Mutex<Option<changes::ChangeWatch>>,
}

/// Enough of a file's metadata to tell that it has not changed: a rewrite replaces the inode,
/// an append changes the size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdent {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl FileIdent {
    fn of(path: &Path) -> Option<FileIdent> {
        let m = fs::metadata(path).ok()?;
        Some(FileIdent {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        })
    }
}

/// A rewrite of the active file: lines to replace (by index) or drop.
#[derive(Debug, Default)]
struct Edit {
    replace: HashMap<usize, String>,
    drop: HashSet<usize>,
    append: Vec<String>,
}

impl Edit {
    fn is_empty(&self) -> bool {
        self.replace.is_empty() && self.drop.is_empty() && self.append.is_empty()
    }
}

impl JsonlStore {
    /// The store named by the configuration.
    pub fn new(config: &Config) -> JsonlStore {
        JsonlStore::at(&config.tasks_file, &config.archive_dir)
    }

    /// A store at explicit paths.
    pub fn at(tasks_file: &Path, archive_dir: &Path) -> JsonlStore {
        let dir = fsutil::parent_dir(tasks_file);
        let name = tasks_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "deferred.jsonl".into());
        JsonlStore {
            tasks_file: tasks_file.to_path_buf(),
            archive_dir: archive_dir.to_path_buf(),
            lock_path: dir.join(format!(".{name}.lock")),
            runner_lock_path: dir.join(format!(".{name}.runner.lock")),
            warned: Mutex::new(HashSet::new()),
            unusable: Mutex::new(HashSet::new()),
            cache: Mutex::new(None),
            changes: Mutex::new(None),
        }
    }

    /// The active store's path.
    pub fn tasks_file(&self) -> &Path {
        &self.tasks_file
    }

    /// `.deferred.jsonl.<what>` beside the store: its lock, journal and pause files.
    fn beside(&self, what: &str) -> PathBuf {
        let name = self
            .tasks_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "deferred.jsonl".into());
        fsutil::parent_dir(&self.tasks_file).join(format!(".{name}.{what}"))
    }

    fn lock(&self) -> Result<LockGuard> {
        LockGuard::acquire(&self.lock_path, LOCK_TIMEOUT)
    }

    /// Reads the active file, or reuses the last read if the file has not changed since: a
    /// run's steps, and a long-lived `defer serve` paging through a big store, read an
    /// unchanged file once.
    ///
    /// A file that only grew (same inode, longer; `schedule` appends) is read again but only
    /// compared with what was read before, not classified again: if its beginning is still
    /// that, byte for byte, only the appended lines are looked at. Anything else (a rewrite,
    /// a hand edit in place) is read from scratch.
    fn read_active(&self) -> Result<Arc<Loaded>> {
        self.refuse_directory()?;
        let ident = FileIdent::of(&self.tasks_file);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let mut earlier = None;
        if let (Some(ident), Some((cached, loaded))) = (ident, cache.take()) {
            if ident == cached {
                *cache = Some((cached, Arc::clone(&loaded)));
                return Ok(loaded);
            }
            if (ident.dev, ident.ino) == (cached.dev, cached.ino) && ident.len > cached.len {
                earlier = Some(loaded);
            }
        }
        let grown = earlier.and_then(|loaded| self.read_grown(loaded));
        let loaded = Arc::new(match grown {
            Some(grown) => grown,
            None => Loaded::parse(fsutil::read_or_empty(&self.tasks_file)?),
        });
        *cache = match FileIdent::of(&self.tasks_file) {
            // Only cache what is known to match the file (no append slipped in between).
            Some(after) if Some(after) == ident => Some((after, Arc::clone(&loaded))),
            _ => None,
        };
        Ok(loaded)
    }

    /// The file read again after it grew: `Some` when it still begins with exactly what
    /// `earlier` holds (then only the rest is classified), `None` when it must be read anew.
    fn read_grown(&self, earlier: Arc<Loaded>) -> Option<Loaded> {
        let mut file = fsutil::open_regular(&self.tasks_file).ok()??;
        let old = &earlier.buf;
        if old.is_empty() {
            return None;
        }
        let mut chunk = vec![0u8; (1 << 20).min(old.len())];
        let mut at = 0;
        while at < old.len() {
            let want = chunk.len().min(old.len() - at);
            file.read_exact(&mut chunk[..want]).ok()?;
            if chunk[..want] != old[at..at + want] {
                return None;
            }
            at += want;
        }
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).ok()?;
        // Between requests the cache is the only holder, so the buffer grows in place.
        let mut grown = Arc::try_unwrap(earlier).unwrap_or_else(|shared| Loaded {
            buf: shared.buf.clone(),
            lines: shared.lines.clone(),
        });
        grown.append(&tail);
        Some(grown)
    }

    /// [`Self::read_active`], warning on stderr about lines that are not records.
    fn load(&self) -> Result<Arc<Loaded>> {
        let loaded = self.read_active()?;
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        for line in &loaded.lines {
            let LineKind::Malformed(reason) = &line.kind else {
                continue;
            };
            if !warned.insert((line.number, hash(loaded.bytes(line)))) {
                continue;
            }
            let line = line.number;
            eprintln!(
                "warning: {} line {line}: {reason} (kept as is; `defer check` lists such lines)",
                self.tasks_file.display()
            );
        }
        Ok(loaded)
    }

    fn refuse_directory(&self) -> Result<()> {
        if self.tasks_file.is_dir() {
            return Err(Error::unsafe_path(
                &self.tasks_file,
                PathProblem::NotRegular {
                    what: "a directory",
                },
            ));
        }
        Ok(())
    }

    /// Writes the active file anew with `edit` applied; a no-op edit writes nothing.
    fn rewrite(&self, loaded: &Loaded, edit: &Edit) -> Result<()> {
        if edit.is_empty() {
            // Nothing written: what the cache holds still matches the file, and the next step
            // of the same pass (recover, claim, archive) reuses it instead of reading again.
            return Ok(());
        }
        let result = rewrite_file(&self.tasks_file, loaded, edit);
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
        result
    }

    /// Removes every archived copy of `ids` (call with the store lock held): a task retried
    /// from the archive lives in the active store again, and each listing must see it once.
    /// Each month that holds one is rewritten atomically; the others are not touched.
    fn drop_from_archives(&self, ids: &HashSet<&str>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        for file in self.archive_files()? {
            let loaded = Loaded::parse(fsutil::read_or_empty(&file)?);
            let mut edit = Edit::default();
            for (index, line) in loaded.lines.iter().enumerate() {
                if let LineKind::Task { id, .. } = &line.kind
                    && ids.contains(id.as_str())
                {
                    edit.drop.insert(index);
                }
            }
            rewrite_file(&file, &loaded, &edit)?;
        }
        Ok(())
    }

    /// The pause file's content (call with the store lock held for a decision on it).
    fn read_pause(&self) -> Result<Option<lifecycle::Pause>> {
        let path = self.beside("paused");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| Error::Json {
                    what: path.display().to_string(),
                    source,
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("reading", &path)(e)),
        }
    }

    /// `modify` with the store lock held.
    fn modify_locked(&self, id: &str, decide: &mut Decide<'_>) -> Result<Change> {
        let loaded = self.load()?;
        let matches: Vec<(usize, &Line)> = loaded
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(&l.kind, LineKind::Task { id: i, .. } if i == id))
            .collect();
        // Two records with one id (a hand edit): the scheduled one is the one to act on.
        let target = matches
            .iter()
            .find(|(_, l)| {
                matches!(
                    l.kind,
                    LineKind::Task {
                        status: Status::Scheduled,
                        ..
                    }
                )
            })
            .or(matches.first());
        let (found, index) = match target {
            Some(&(index, line)) => (
                Found::Active(parse_task(&loaded, line, &self.tasks_file)?),
                Some(index),
            ),
            None => match self.find_archived(id)? {
                Some(task) => (Found::Archived(task), None),
                None => (Found::Missing(id.to_string()), None),
            },
        };
        let was = match &found {
            Found::Active(t) | Found::Archived(t) => Some(t.status),
            Found::Missing(_) => None,
        };
        let change = decide(found)?;
        if lifecycle::unique::needs_check(&change.task, was) {
            self.refuse_held_key(&loaded, &change.task)?;
        }
        let mut edit = Edit::default();
        match index {
            Some(index) => {
                edit.replace.insert(index, change.task.to_line());
            }
            None => edit.append.push(change.task.to_line()),
        }
        if let Some(next) = change
            .next
            .as_ref()
            .filter(|n| find_line(&loaded, &n.id).is_none())
        {
            edit.append.push(next.to_line());
        }
        self.rewrite(&loaded, &edit)?;
        if index.is_none() {
            // Restored from the archive: the active copy is written first, so a crash between
            // the two steps leaves both, and every listing prefers the active one.
            self.drop_from_archives(&HashSet::from([change.task.id.as_str()]))?;
        }
        Ok(change)
    }

    /// Refuses `task` (about to become pending again) when another pending record holds
    /// its unique key ([`lifecycle::unique::conflict`]).
    fn refuse_held_key(&self, loaded: &Loaded, task: &Task) -> Result<()> {
        for line in &loaded.lines {
            let LineKind::Task { id, status, .. } = &line.kind else {
                continue;
            };
            if id == &task.id
                || !matches!(status, Status::Scheduled | Status::Executing)
                || line.kind.links().0 != task.unique_key.as_deref()
            {
                continue;
            }
            let Some(other) = parse_or_skip(loaded, line, &self.tasks_file) else {
                continue;
            };
            if let Some(refusal) = lifecycle::unique::conflict(task, &other) {
                return Err(refusal);
            }
        }
        Ok(())
    }

    /// Archive files, oldest month first.
    fn archive_files(&self) -> Result<Vec<PathBuf>> {
        let entries = match fs::read_dir(&self.archive_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("listing", &self.archive_dir)(e)),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_archive_name)
            })
            .collect();
        files.sort();
        Ok(files)
    }

    fn archive_path(&self, month: &str) -> PathBuf {
        self.archive_dir.join(format!("deferred_{month}.jsonl"))
    }

    /// Appends `lines` to one archive file, skipping any identical line already there (left by
    /// a sweep that crashed before it could rewrite the active store).
    ///
    /// Only sweeps append to archives, under the store lock, so lines a crashed sweep left
    /// behind are the file's last ones: reading a tail as long as what we are about to append
    /// finds them, without reading a month of archive every minute.
    fn append_archive(&self, path: &Path, lines: &[&[u8]]) -> Result<()> {
        let want: usize = lines.iter().map(|l| l.len() + 1).sum();
        let (tail, file_len) = read_tail(path, want + 1)?;
        let mut seen = HashSet::new();
        // The first piece of a partial read may be the end of an older line: skip it.
        let skip_first = (tail.len() as u64) < file_len;
        for (i, piece) in tail.split(|&b| b == b'\n').enumerate() {
            let partial = i == 0 && skip_first;
            if !partial && !piece.is_empty() {
                seen.insert(hash(piece));
            }
        }
        let mut out = Vec::with_capacity(want + 1);
        if tail.last().is_some_and(|&b| b != b'\n') {
            out.push(b'\n');
        }
        for line in lines.iter().filter(|l| !seen.contains(&hash(l))) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        if out.iter().all(|&b| b == b'\n') {
            return Ok(());
        }
        let created = file_len == 0;
        let mut file = fsutil::open_append(path)?;
        // The length we append after; the store lock keeps every other writer out.
        let len = file
            .metadata()
            .map_err(Error::io("reading metadata of", path))?
            .len();
        let appended = file
            .write_all(&out)
            .map_err(Error::io("appending to", path))
            .and_then(|()| file.sync_data().map_err(Error::io("flushing", path)));
        if let Err(e) = appended {
            // As in `insert`: a failed sweep leaves the month file as it was, not with part of
            // a line (a full disk takes what fits) that the next sweep would append after.
            if let Err(undo) = file.set_len(len).and_then(|()| file.sync_data()) {
                eprintln!(
                    "warning: could not remove a partial line from {}: {undo}",
                    crate::output::escape(&path.display().to_string())
                );
            }
            return Err(e);
        }
        if created {
            fsutil::sync_dir(fsutil::parent_dir(path))?;
        }
        Ok(())
    }

    /// The full record, or `None` for a line that only looked like one: reported once (per
    /// content) and remembered, so `next_due` leaves it out.
    fn parse_or_warn(&self, loaded: &Loaded, line: &Line) -> Option<Task> {
        match parse_task(loaded, line, &self.tasks_file) {
            Ok(task) => Some(task),
            Err(e) => {
                let mut unusable = self.unusable.lock().unwrap_or_else(|p| p.into_inner());
                if unusable.insert(hash(loaded.bytes(line))) {
                    eprintln!(
                        "warning: {} (kept as is; `defer check` lists such lines)",
                        crate::output::escape(&crate::error::chain(&e))
                    );
                }
                None
            }
        }
    }

    /// Finds the newest record with `id` in the archives (newest month first, last line of
    /// that month first).
    fn find_archived_line(&self, id: &str) -> Result<Option<(Loaded, usize, PathBuf)>> {
        for file in self.archive_files()?.iter().rev() {
            let loaded = Loaded::parse(fsutil::read_or_empty(file)?);
            let found = loaded
                .lines
                .iter()
                .rposition(|l| matches!(&l.kind, LineKind::Task { id: i, .. } if i == id));
            if let Some(index) = found {
                return Ok(Some((loaded, index, file.clone())));
            }
        }
        Ok(None)
    }

    /// The newest archived record with `id`, parsed.
    fn find_archived(&self, id: &str) -> Result<Option<Task>> {
        match self.find_archived_line(id)? {
            Some((loaded, index, file)) => {
                parse_task(&loaded, &loaded.lines[index], &file).map(Some)
            }
            None => Ok(None),
        }
    }
}

impl Store for JsonlStore {
    fn insert(&self, task: &Task, check_id: bool) -> Result<()> {
        let _guard = self.lock()?;
        self.insert_locked(task, check_id)
    }

    /// Decided under the store lock, like every write: whoever takes the lock second sees
    /// the first one's line.
    fn insert_unique(&self, task: &Task, check_id: bool, ask: &UniqueAsk) -> Result<Option<Task>> {
        let _guard = self.lock()?;
        let found = self.carrying_key(ask)?;
        if let Some(holder) = lifecycle::unique::holder(found, ask) {
            return Ok(Some(holder));
        }
        self.insert_locked(task, check_id)?;
        Ok(None)
    }

    fn identity(&self) -> String {
        format!("file {}", absolute(&self.tasks_file).display())
    }

    fn list(
        &self,
        query: &Query,
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<Vec<Problem>> {
        let wanted = |status: Status| query.statuses.is_empty() || query.statuses.contains(&status);
        let mut problems = Vec::new();
        let mut files = Vec::new();
        if query.include_archive {
            files = self.archive_files()?;
            if let Some(from) = &query.archived_from {
                files.retain(|f| archive_month_of(f).is_none_or(|m| m >= from.as_str()));
            }
        }
        self.refuse_directory()?;
        files.push(self.tasks_file.clone());
        let active = self.read_active()?;
        // A task restored from the archive whose archived copy a crash left behind is listed
        // once, in its active state.
        let active_ids: HashSet<&str> = if query.include_archive {
            active_ids(&active)
        } else {
            HashSet::new()
        };
        // Every file is read whole anyway: keep them, sort the lines that match by the
        // listing's order (`store::order`), then hand them out.
        let mut loaded_files = Vec::with_capacity(files.len());
        let mut listed: Vec<(ListKey, usize, usize)> = Vec::new();
        for file in files {
            let is_active = file == self.tasks_file;
            let loaded = if is_active {
                Arc::clone(&active)
            } else {
                Arc::new(Loaded::parse(fsutil::read_or_empty(&file)?))
            };
            let which = loaded_files.len();
            for (index, line) in loaded.lines.iter().enumerate() {
                match &line.kind {
                    LineKind::Task { id, .. } if !is_active && active_ids.contains(id.as_str()) => {
                    }
                    LineKind::Task {
                        id,
                        status,
                        listed_at,
                        ..
                    } if wanted(*status)
                        && query.since.is_none_or(|since| {
                            listed_at.is_some_and(|at| at.timestamp() >= since)
                        })
                        && {
                            let (key, parent) = line.kind.links();
                            query.links_match(key, parent)
                        } =>
                    {
                        listed.push((ListKey::new(*status, *listed_at, id), which, index));
                    }
                    LineKind::Malformed(reason) => problems.push(Problem {
                        file: file.clone(),
                        line: line.number,
                        reason: reason.clone(),
                    }),
                    _ => {}
                }
            }
            loaded_files.push(loaded);
        }
        // Stable: a key that ties (the same id twice) keeps file order.
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, which, index) in listed {
            let loaded = &loaded_files[which];
            // The scanner validated the line: it can be passed on as it is.
            each(loaded.bytes(&loaded.lines[index]))?;
        }
        Ok(problems)
    }

    /// The active store's lines as scanned, then the archive months that can hold a task
    /// finished since `since` (a task is filed under the month it finished in). Counting the
    /// lines already read costs nothing next to reading them, so the counts are exact.
    fn tally(&self, now: Timestamp, since: Timestamp, _cap: Option<u64>) -> Result<Tally> {
        let mut tally = Tally::default();
        let active = self.read_active()?;
        let finished = |tally: &mut Tally, status: Status, at: Option<Stamp>, missed: bool| {
            if status.is_terminal()
                && let Some(at) = at.map(Stamp::timestamp)
                && at >= since
            {
                tally.add_finished(at, status, missed);
            }
        };
        for line in &active.lines {
            if let LineKind::Task {
                status,
                run_at,
                listed_at,
                missed,
                ..
            } = &line.kind
            {
                tally.add_active(*status);
                if *status == Status::Scheduled && run_at.is_some_and(|r| r.timestamp() <= now) {
                    tally.due += 1;
                }
                finished(&mut tally, *status, *listed_at, *missed);
            }
        }
        let active_ids = active_ids(&active);
        let first_month = since
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .strftime("deferred_%Y%m.jsonl")
            .to_string();
        for file in self.archive_files()? {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n < first_month) {
                continue;
            }
            let loaded = Loaded::parse(fsutil::read_or_empty(&file)?);
            for line in &loaded.lines {
                if let LineKind::Task {
                    id,
                    status,
                    listed_at,
                    missed,
                    ..
                } = &line.kind
                    && !active_ids.contains(id.as_str())
                {
                    finished(&mut tally, *status, *listed_at, *missed);
                }
            }
        }
        Ok(tally)
    }

    fn ids_matching(&self, fragment: &str, include_archive: bool) -> Result<Vec<String>> {
        let matching = |loaded: &Loaded, found: &mut Vec<String>| {
            for line in &loaded.lines {
                if let LineKind::Task { id, .. } = &line.kind
                    && (id.ends_with(fragment) || id.starts_with(fragment))
                {
                    found.push(id.clone());
                }
            }
        };
        let mut found = Vec::new();
        matching(&*self.read_active()?, &mut found);
        if include_archive {
            for file in self.archive_files()? {
                matching(&Loaded::parse(fsutil::read_or_empty(&file)?), &mut found);
            }
        }
        Ok(super::exact_wins(fragment, found))
    }

    fn show(&self, id: &str) -> Result<Option<Value>> {
        let loaded = self.read_active()?;
        if let Some(line) = find_line(&loaded, id) {
            return Ok(Some(to_value(&loaded, line)?));
        }
        match self.find_archived_line(id)? {
            Some((loaded, index, _)) => Ok(Some(to_value(&loaded, &loaded.lines[index])?)),
            None => Ok(None),
        }
    }

    fn modify(&self, id: &str, decide: &mut Decide<'_>) -> Result<Change> {
        let _guard = self.lock()?;
        self.modify_locked(id, decide)
    }

    /// `modify`, after asking whether claims are allowed: the pause is read under the same
    /// lock that `pause` writes it under.
    fn claim_id(&self, id: &str, now: Timestamp, decide: &mut Decide<'_>) -> Result<Change> {
        let _guard = self.lock()?;
        lifecycle::pause::may_claim(self.read_pause()?.as_ref(), now)?;
        self.modify_locked(id, decide)
    }

    fn end_series(
        &self,
        series: &str,
        decide: &mut dyn FnMut(Task) -> Option<Change>,
    ) -> Result<Vec<Change>> {
        let _guard = self.lock()?;
        let loaded = self.load()?;
        let mut edit = Edit::default();
        let mut changes = Vec::new();
        for (index, line) in loaded.lines.iter().enumerate() {
            let LineKind::Task { status, .. } = &line.kind else {
                continue;
            };
            if !matches!(status, Status::Scheduled | Status::Executing) {
                continue;
            }
            let Some(task) = self.parse_or_warn(&loaded, line) else {
                continue;
            };
            if task.series.as_ref().is_none_or(|s| s.id != series) {
                continue;
            }
            if let Some(change) = decide(task) {
                edit.replace.insert(index, change.task.to_line());
                changes.push(change);
            }
        }
        self.rewrite(&loaded, &edit)?;
        Ok(changes)
    }

    fn pause_state(&self) -> Result<Option<lifecycle::Pause>> {
        self.read_pause()
    }

    fn set_pause(&self, pause: Option<&lifecycle::Pause>) -> Result<()> {
        let _guard = self.lock()?;
        let path = self.beside("paused");
        match pause {
            Some(pause) => {
                let text = serde_json::to_vec(pause).map_err(|source| Error::Json {
                    what: "a pause".into(),
                    source,
                })?;
                fsutil::replace_file(&path, &text)
            }
            None => match fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io("removing", &path)(e)),
            },
        }
    }

    fn start_journal(&self) -> Option<PathBuf> {
        Some(self.beside("started"))
    }

    fn try_runner_lock(&self) -> Result<Option<Box<dyn RunnerLock>>> {
        Ok(LockGuard::try_acquire(&self.runner_lock_path)?
            .map(|guard| Box::new(guard) as Box<dyn RunnerLock>))
    }

    fn recover(
        &self,
        _now: Timestamp,
        recover: &mut dyn FnMut(Task, Option<bool>) -> Change,
    ) -> Result<Vec<Change>> {
        let _guard = self.lock()?;
        let loaded = self.load()?;
        let mut edit = Edit::default();
        let mut recovered = Vec::new();
        for (index, line) in loaded.lines.iter().enumerate() {
            if !matches!(
                line.kind,
                LineKind::Task {
                    status: Status::Executing,
                    ..
                }
            ) {
                continue;
            }
            let Some(task) = self.parse_or_warn(&loaded, line) else {
                continue;
            };
            let change = recover(task, None);
            edit.replace.insert(index, change.task.to_line());
            if let Some(next) = change
                .next
                .as_ref()
                .filter(|n| find_line(&loaded, &n.id).is_none())
            {
                edit.append.push(next.to_line());
            }
            recovered.push(change);
        }
        self.rewrite(&loaded, &edit)?;
        Ok(recovered)
    }

    fn claim_due(
        &self,
        now: Timestamp,
        limit: usize,
        exclude: &HashSet<String>,
        claim: &mut dyn FnMut(Task) -> Task,
    ) -> Result<Vec<Task>> {
        let _guard = self.lock()?;
        lifecycle::pause::may_claim(self.read_pause()?.as_ref(), now)?;
        let loaded = self.load()?;
        let mut due: Vec<(Stamp, usize)> = Vec::new();
        for (index, line) in loaded.lines.iter().enumerate() {
            if let LineKind::Task {
                id,
                status: Status::Scheduled,
                run_at: Some(run_at),
                ..
            } = &line.kind
                && run_at.timestamp() <= now
                && !exclude.contains(id)
            {
                due.push((*run_at, index));
            }
        }
        // Earliest first; the sort is stable, so equal times keep store order.
        due.sort_by_key(|&(run_at, _)| run_at);
        let mut edit = Edit::default();
        let mut claimed = Vec::new();
        for (_, index) in due {
            if claimed.len() >= limit {
                break;
            }
            let line = &loaded.lines[index];
            let Some(task) = self.parse_or_warn(&loaded, line) else {
                continue;
            };
            let task = claim(task);
            edit.replace.insert(index, task.to_line());
            claimed.push(task);
        }
        self.rewrite(&loaded, &edit)?;
        crate::failpoint::hit("claimed");
        Ok(claimed)
    }

    fn save_outcomes(&self, outcomes: &mut [Change]) -> Result<Vec<String>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let _guard = self.lock()?;
        let loaded = self.load()?;
        let mut pending: HashMap<String, &mut Change> = outcomes
            .iter_mut()
            .map(|c| (c.task.id.clone(), c))
            .collect();
        let mut edit = Edit::default();
        let mut new_ids = HashSet::new();
        let mut follow = |next: &Option<Task>, edit: &mut Edit| {
            if let Some(next) = next
                && find_line(&loaded, &next.id).is_none()
                && new_ids.insert(next.id.clone())
            {
                edit.append.push(next.to_line());
            }
        };
        for (index, line) in loaded.lines.iter().enumerate() {
            if let LineKind::Task {
                id,
                status: Status::Executing,
                ..
            } = &line.kind
                && let Some(change) = pending.remove(id.as_str())
            {
                lifecycle::keep_series_end(loaded.bytes(line), change);
                edit.replace.insert(index, change.task.to_line());
                follow(&change.next, &mut edit);
            }
        }
        // A record that vanished while it ran (edited by hand) is written back, not lost.
        for change in pending.into_values() {
            eprintln!(
                "warning: task {} was no longer in the store; its outcome is appended",
                crate::output::escape(&change.task.id)
            );
            edit.append.push(change.task.to_line());
            follow(&change.next, &mut edit);
        }
        // One runner at a time works this store, so no claim can have been taken over.
        self.rewrite(&loaded, &edit).map(|()| Vec::new())
    }

    fn archive(&self) -> Result<Vec<Archived>> {
        let _guard = self.lock()?;
        let loaded = self.load()?;
        let mut by_file: Vec<(PathBuf, Vec<usize>)> = Vec::new();
        let mut archived = Vec::new();
        let mut edit = Edit::default();
        // A retried task may have an older copy in the archive (a crash between its retry's
        // two steps, or a retry by an older version): it goes before the new one is added.
        let mut retried: HashSet<&str> = HashSet::new();
        for (index, line) in loaded.lines.iter().enumerate() {
            let LineKind::Task { id, status, .. } = &line.kind else {
                continue;
            };
            if !status.is_terminal() {
                continue;
            }
            let Some(task) = self.parse_or_warn(&loaded, line) else {
                continue;
            };
            if task.retried > 0 {
                retried.insert(id.as_str());
            }
            let file = self.archive_path(&lifecycle::archive_month(&task));
            match by_file.iter_mut().find(|(f, _)| *f == file) {
                Some((_, indices)) => indices.push(index),
                None => by_file.push((file.clone(), vec![index])),
            }
            edit.drop.insert(index);
            archived.push(Archived {
                id: id.clone(),
                file,
            });
        }
        if archived.is_empty() {
            return Ok(archived);
        }
        fsutil::ensure_dir(&self.archive_dir)?;
        self.drop_from_archives(&retried)?;
        for (file, indices) in &by_file {
            let lines: Vec<&[u8]> = indices
                .iter()
                .map(|&i| strip_cr(loaded.bytes(&loaded.lines[i])))
                .collect();
            self.append_archive(file, &lines)?;
        }
        crate::failpoint::hit("archive-appended");
        self.rewrite(&loaded, &edit)?;
        Ok(archived)
    }

    fn export(&self, part: Part, each: &mut ExportSink<'_>) -> Result<()> {
        self.export_part(part, each)
    }

    fn import(&self, source: &mut ImportSource<'_>) -> Result<Imported> {
        self.import_from(source)
    }

    /// Sleeps until the store or pause file changes (the kernel says so; on a network
    /// filesystem they are looked at every 250 ms), a stop signal, or `timeout`.
    fn wait_for_change(&self, timeout: Duration) -> Result<bool> {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        if changes.is_none() {
            let files = [self.tasks_file.clone(), self.beside("paused")];
            let watch = changes::ChangeWatch::start(&files)
                .map_err(Error::io("watching for changes", &self.tasks_file))?;
            *changes = Some(watch);
        }
        Ok(changes.as_mut().is_some_and(|w| w.wait(timeout)))
    }

    fn change_watch(&self) -> Option<String> {
        let changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        changes
            .as_ref()
            .and_then(|w| w.polled())
            .map(|why| format!("changes are looked for every 250 ms: {why}"))
    }

    fn next_due(&self) -> Result<Option<Timestamp>> {
        self.refuse_directory()?;
        let loaded = Loaded::parse(fsutil::read_or_empty(&self.tasks_file)?);
        let unusable = self.unusable.lock().unwrap_or_else(|p| p.into_inner());
        Ok(loaded
            .lines
            .iter()
            .filter_map(|l| match l.kind {
                LineKind::Task {
                    run_at: Some(run_at),
                    status: Status::Scheduled,
                    ..
                } => Some((l, run_at.timestamp())),
                _ => None,
            })
            .filter(|(l, _)| unusable.is_empty() || !unusable.contains(&hash(loaded.bytes(l))))
            .map(|(_, at)| at)
            .min())
    }

    fn check(&self) -> Result<Vec<Problem>> {
        self.refuse_directory()?;
        let mut files = vec![self.tasks_file.clone()];
        files.extend(self.archive_files()?);
        let mut problems = Vec::new();
        for file in files {
            let loaded = Loaded::parse(fsutil::read_or_empty(&file)?);
            for line in &loaded.lines {
                let reason = match &line.kind {
                    LineKind::Malformed(reason) => reason.clone(),
                    // A line the quick look accepts can still fail the full record.
                    LineKind::Task { .. } => match loaded.task(line) {
                        Ok(_) => continue,
                        Err(e) => format!("not a valid task record: {e}"),
                    },
                    LineKind::Blank => continue,
                };
                problems.push(Problem {
                    file: file.clone(),
                    line: line.number,
                    reason,
                });
            }
        }
        Ok(problems)
    }
}

impl JsonlStore {
    /// `insert` with the store lock held: the id checks, then one appended line.
    fn insert_locked(&self, task: &Task, check_id: bool) -> Result<()> {
        self.refuse_directory()?;
        if check_id {
            let loaded = Loaded::parse(fsutil::read_or_empty(&self.tasks_file)?);
            if find_line(&loaded, &task.id).is_some() {
                return Err(Error::DuplicateId(task.id.clone()));
            }
            if self.find_archived_line(&task.id)?.is_some() {
                return Err(Error::ArchivedId(task.id.clone()));
            }
        } else if self.id_in_tail(&task.id)? {
            return Err(Error::DuplicateId(task.id.clone()));
        }
        let mut file = fsutil::open_append(&self.tasks_file)?;
        let len = file
            .metadata()
            .map_err(Error::io("reading metadata of", &self.tasks_file))?
            .len();
        let mut line = Vec::with_capacity(512);
        // A torn last line from a crashed writer must not swallow this record.
        if len > 0 {
            let mut last = [0u8];
            file.read_exact_at(&mut last, len - 1)
                .map_err(Error::io("reading", &self.tasks_file))?;
            if last[0] != b'\n' {
                line.push(b'\n');
            }
        }
        line.extend_from_slice(task.to_line().as_bytes());
        line.push(b'\n');
        let appended = file
            .write_all(&line)
            .map_err(Error::io("appending to", &self.tasks_file))
            .and_then(|()| {
                file.sync_data()
                    .map_err(Error::io("flushing", &self.tasks_file))
            });
        if let Err(e) = appended {
            // A refused command leaves the store as it was: cut off whatever part of the line
            // made it (a full disk takes what fits). We hold the lock, so nothing follows it.
            if let Err(undo) = file.set_len(len).and_then(|()| file.sync_data()) {
                eprintln!(
                    "warning: could not remove a partial line from {}: {undo}",
                    self.tasks_file.display()
                );
            }
            return Err(e);
        }
        if len == 0 {
            fsutil::sync_dir(fsutil::parent_dir(&self.tasks_file))?;
        }
        Ok(())
    }

    /// The records that carry `ask.key` in the statuses the ask names (call with the store
    /// lock held): from the active file, and, for a window, from the archive months it
    /// reaches (a completed task is archived under the month it completed in).
    fn carrying_key(&self, ask: &UniqueAsk) -> Result<Vec<Task>> {
        let wanted = ask.statuses();
        let mut found = Vec::new();
        let mut pick = |loaded: &Loaded, file: &Path| {
            for line in &loaded.lines {
                let LineKind::Task { status, .. } = &line.kind else {
                    continue;
                };
                if wanted.contains(status)
                    && line.kind.links().0 == Some(ask.key.as_str())
                    && let Some(task) = parse_or_skip(loaded, line, file)
                {
                    found.push(task);
                }
            }
        };
        let active = self.load()?;
        pick(&active, &self.tasks_file);
        if let Some(since) = ask.completed_since {
            let first = since.strftime("%Y%m").to_string();
            for file in self.archive_files()? {
                if archive_month_of(&file).is_some_and(|month| month >= first.as_str()) {
                    pick(&Loaded::parse(fsutil::read_or_empty(&file)?), &file);
                }
            }
        }
        Ok(found)
    }

    /// Whether a record with `id` is among the last [`ID_CHECK_TAIL`] bytes of the store: the
    /// duplicate check for a generated id, which keeps the append O(1). The tail suffices
    /// because a generated id carries its creation second and 41 random bits: a record older
    /// than the tail was made in an earlier second (its id differs in the prefix) or would have
    /// to match the random part by chance (about 2^-41). The records a collision could come
    /// from, those made in the same second, are the last lines appended, so they are in the
    /// tail unless more than 64 KiB of records were appended in that second.
    fn id_in_tail(&self, id: &str) -> Result<bool> {
        let (tail, file_len) = read_tail(&self.tasks_file, ID_CHECK_TAIL)?;
        let quoted = format!("\"{id}\"");
        if !contains(&tail, quoted.as_bytes()) {
            return Ok(false);
        }
        // The first piece of a partial read may be the end of an older line: skip it.
        let start = if (tail.len() as u64) < file_len {
            memchr::memchr(b'\n', &tail).map_or(tail.len(), |i| i + 1)
        } else {
            0
        };
        let loaded = Loaded::parse(tail[start..].to_vec());
        Ok(find_line(&loaded, id).is_some())
    }
}

/// Whether `needle` occurs in `haystack`, by the standard library alone: `memchr::memmem`'s
/// first use detects the CPU's features, a `cpuid` each, and in a virtual machine each is a
/// trap to the hypervisor: 0.12 ms of every `schedule` in the profile, more than this search
/// over 64 KiB costs. It anchors on the needle's next-to-last byte (for an id, a random one;
/// its first byte, a quote, is everywhere in JSON).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some(anchor) = needle.len().checked_sub(2) else {
        return needle.is_empty() || haystack.contains(&needle[0]);
    };
    let byte = needle[anchor];
    let mut from = anchor;
    while let Some(i) = haystack
        .get(from..)
        .and_then(|h| h.iter().position(|&b| b == byte))
    {
        let end = from + i;
        if haystack[end - anchor..].starts_with(needle) {
            return true;
        }
        from = end + 1;
    }
    false
}

/// `path` made absolute (against the current directory), with its directory's symlinks
/// resolved when it exists: the same store reached through a link or a relative path from
/// another directory gives the same text, and a relative path that points elsewhere from an
/// executor's directory does not.
fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => fs::canonicalize(dir)
            .map(|dir| dir.join(name))
            .unwrap_or(path),
        _ => path,
    }
}

/// The last `want` bytes of a file (all of it if shorter), and the file's length.
fn read_tail(path: &Path, want: usize) -> Result<(Vec<u8>, u64)> {
    let Some(mut file) = fsutil::open_regular(path)? else {
        return Ok((Vec::new(), 0));
    };
    let len = file
        .metadata()
        .map_err(Error::io("reading metadata of", path))?
        .len();
    let start = len.saturating_sub(want as u64);
    file.seek(SeekFrom::Start(start))
        .map_err(Error::io("reading", path))?;
    let mut tail = Vec::with_capacity((len - start) as usize);
    file.read_to_end(&mut tail)
        .map_err(Error::io("reading", path))?;
    Ok((tail, len))
}

/// Writes `path` anew with `edit` applied, atomically; a no-op edit writes nothing.
/// Untouched lines are streamed from the buffer as they are, so a rewrite needs no second
/// copy of the file in memory.
fn rewrite_file(path: &Path, loaded: &Loaded, edit: &Edit) -> Result<()> {
    if edit.is_empty() {
        return Ok(());
    }
    fsutil::replace_file_with(path, |out| {
        for (index, line) in loaded.lines.iter().enumerate() {
            if edit.drop.contains(&index) {
                continue;
            }
            if let Some(new) = edit.replace.get(&index) {
                let kept = crate::record::keep_spelling(loaded.bytes(line), new);
                out.write_all(kept.as_bytes())?;
            } else if line.kind == LineKind::Blank {
                continue;
            } else {
                out.write_all(loaded.bytes(line))?;
            }
            out.write_all(b"\n")?;
        }
        for new in &edit.append {
            out.write_all(new.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// `YYYYMM` of an archive file's name.
fn archive_month_of(file: &Path) -> Option<&str> {
    file.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("deferred_"))
        .and_then(|n| n.strip_suffix(".jsonl"))
}

fn is_archive_name(name: &str) -> bool {
    name.strip_prefix("deferred_")
        .and_then(|rest| rest.strip_suffix(".jsonl"))
        .is_some_and(|month| month.len() == 6 && month.bytes().all(|b| b.is_ascii_digit()))
}

/// The ids of the records in `loaded`.
fn active_ids(loaded: &Loaded) -> HashSet<&str> {
    loaded
        .lines
        .iter()
        .filter_map(|l| match &l.kind {
            LineKind::Task { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect()
}

fn find_line<'a>(loaded: &'a Loaded, id: &str) -> Option<&'a Line> {
    loaded
        .lines
        .iter()
        .find(|l| matches!(&l.kind, LineKind::Task { id: i, .. } if i == id))
}

fn to_value(loaded: &Loaded, line: &Line) -> Result<Value> {
    serde_json::from_slice(loaded.bytes(line)).map_err(|source| Error::Json {
        what: format!("store line {}", line.number),
        source,
    })
}

fn parse_task(loaded: &Loaded, line: &Line, file: &Path) -> Result<Task> {
    loaded.task(line).map_err(|source| Error::Json {
        what: format!("{} line {}", file.display(), line.number),
        source,
    })
}

/// The record of a line that looked like one, or `None` (with a warning) when it does not
/// parse: a hand-edited line must not block every schedule with its key, as it does not
/// block the runner.
fn parse_or_skip(loaded: &Loaded, line: &Line, file: &Path) -> Option<Task> {
    match parse_task(loaded, line, file) {
        Ok(task) => Some(task),
        Err(e) => {
            eprintln!(
                "warning: {} (skipped; `defer check` lists such lines)",
                crate::output::escape(&crate::error::chain(&e))
            );
            None
        }
    }
}

fn strip_cr(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    strip_cr(bytes).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_search_finds_a_needle_anywhere_and_nothing_else() {
        let hay = br#"{"id":"task_1_a","x":"task_1_ab"}"#;
        assert!(contains(hay, br#""task_1_a""#));
        assert!(contains(hay, br#""task_1_ab""#));
        assert!(!contains(hay, br#""task_1_b""#));
        assert!(contains(hay, b"{\""), "at the very start");
        assert!(contains(hay, b"\"}"), "at the very end");
        assert!(!contains(b"", b"ab"));
        assert!(contains(b"a", b"a") && !contains(b"b", b"a") && contains(b"", b""));
        assert!(!contains(b"b", b"ab"), "longer than the haystack");
    }

    fn reference_task() -> Task {
        let text = include_str!("../../../tests/data/reference_store.jsonl");
        let first = text.lines().next().expect("a line");
        serde_json::from_str(first).expect("a record")
    }

    #[test]
    fn a_pass_that_changes_nothing_reads_the_store_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("deferred.jsonl");
        let store = JsonlStore::at(&file, dir.path());
        store.insert(&reference_task(), false).expect("append");
        let first = store.load().expect("load");
        // Nothing to recover, nothing due, nothing to archive: each step's edit is empty and
        // must not drop the read the next step reuses.
        let before: Timestamp = "2000-01-01T00:00:00Z".parse().expect("timestamp");
        let recovered = store
            .recover(before, &mut |_, _| panic!("nothing is executing"))
            .expect("recover");
        assert!(recovered.is_empty());
        let claimed = store
            .claim_due(before, 10, &HashSet::new(), &mut |t| t)
            .expect("claim");
        assert!(claimed.is_empty());
        assert!(store.archive().expect("archive").is_empty());
        let again = store.load().expect("load");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the store was read again although nothing was written"
        );
    }

    #[test]
    fn an_append_never_makes_a_second_record_with_an_existing_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("deferred.jsonl");
        let store = JsonlStore::at(&file, dir.path());
        let mut task = reference_task();
        store.insert(&task, false).expect("first append");
        // Enough other records after it that the id is not on the last line.
        for n in 0..5 {
            let mut other = task.clone();
            other.id = format!("other_{n}");
            store.insert(&other, false).expect("other append");
        }
        let before = fs::read(&file).expect("store");
        for check_id in [false, true] {
            match store.insert(&task, check_id) {
                Err(Error::DuplicateId(id)) => assert_eq!(id, task.id),
                other => panic!("expected a duplicate id, got {other:?}"),
            }
            assert_eq!(fs::read(&file).expect("store"), before, "store changed");
        }
        task.id = "fresh".into();
        store.insert(&task, false).expect("a new id is appended");
    }

    /// The ids `list` gives, in order.
    fn listed(store: &JsonlStore) -> Vec<String> {
        let mut ids = Vec::new();
        store
            .list(&Query::listing(Vec::new(), false), &mut |line| {
                let v: Value = serde_json::from_slice(line).expect("record");
                ids.push(v["id"].as_str().expect("id").to_string());
                Ok(())
            })
            .expect("list");
        ids
    }

    /// A long-lived reader (`defer serve`) keeps the file as read; what another process
    /// appends, rewrites or edits in place is seen at the next read, never the stale copy.
    #[test]
    fn a_kept_read_follows_appends_rewrites_and_edits_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("deferred.jsonl");
        let reader = JsonlStore::at(&file, &dir.path().join("archive"));
        let writer = JsonlStore::at(&file, &dir.path().join("archive"));
        let mut task = reference_task();
        for id in ["a", "b"] {
            task.id = id.into();
            writer.insert(&task, false).expect("append");
        }
        assert_eq!(listed(&reader), ["a", "b"]);
        // Appended by another process: the same inode, longer.
        task.id = "c".into();
        writer.insert(&task, false).expect("append");
        assert_eq!(listed(&reader), ["a", "b", "c"]);
        // Edited in place and grown (same inode): an id in the middle changed.
        let text = fs::read_to_string(&file).expect("store");
        let edited = text.replacen("\"id\":\"b\"", "\"id\":\"B\"", 1)
            + &text
                .lines()
                .last()
                .expect("line")
                .replace("\"id\":\"c\"", "\"id\":\"d\"")
            + "\n";
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .expect("open");
        f.write_all(edited.as_bytes()).expect("write in place");
        drop(f);
        // One due time for all: the listing breaks the tie by the id's bytes.
        assert_eq!(listed(&reader), ["B", "a", "c", "d"]);
        // Replaced by a new file of the same size (a new inode), as every rewrite is.
        let text = fs::read_to_string(&file).expect("store");
        let swapped = text.replacen("\"id\":\"a\"", "\"id\":\"z\"", 1);
        let tmp = dir.path().join("new.jsonl");
        fs::write(&tmp, swapped).expect("write");
        fs::rename(&tmp, &file).expect("replace");
        assert_eq!(listed(&reader), ["B", "c", "d", "z"]);
        assert!(reader.show("a").expect("show").is_none());
    }
}
