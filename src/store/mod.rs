//! Where tasks live. Commands and the runner speak only to the [`Store`] trait; the JSONL file
//! of the contract is the default implementation, and a database can be another.
//!
//! The trait is shaped by the lifecycle rather than by storage primitives ("claim the due
//! tasks", not "rewrite the file"), so each backend can do each step in the way that is atomic
//! for it: one locked rewrite for a file, one transaction for a database.

pub mod jsonl;
pub mod order;
pub mod page;
#[cfg(feature = "postgres")]
pub mod postgres;

use std::collections::HashSet;
use std::fmt::Debug;
use std::path::PathBuf;

use jiff::Timestamp;
use serde_json::Value;

use crate::error::Result;
use crate::lifecycle::unique::UniqueAsk;
use crate::lifecycle::{Change, Found};
use crate::record::{Status, Task};

pub use jsonl::JsonlStore;
pub use page::{PageAsk, PageFound};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;

/// The store the configuration names: PostgreSQL when `DEFER_DATABASE_URL` is set, else the
/// JSONL file.
pub fn open(config: &crate::Config) -> Result<Box<dyn Store>> {
    match &config.database_url {
        Some(url) => open_database(config, url),
        None => Ok(Box::new(JsonlStore::new(config))),
    }
}

#[cfg(feature = "postgres")]
fn open_database(config: &crate::Config, url: &str) -> Result<Box<dyn Store>> {
    Ok(Box::new(PgStore::connect(config, url)?))
}

/// The database URL an executor gets in place of the runner's: the same URL without its
/// password, or `None` for a file store (or a URL whose password cannot be taken out with
/// certainty: then the executor gets none, and a `defer schedule` it runs refuses, naming the
/// fix, rather than writing elsewhere).
pub fn executor_database_url(config: &crate::Config) -> Option<String> {
    #[cfg(feature = "postgres")]
    {
        config
            .database_url
            .as_deref()
            .and_then(postgres::without_password)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = config;
        None
    }
}

#[cfg(not(feature = "postgres"))]
fn open_database(_config: &crate::Config, _url: &str) -> Result<Box<dyn Store>> {
    Err(crate::Error::NotBuilt {
        feature: "postgres",
        needed_for: "DEFER_DATABASE_URL",
    })
}

/// Which records `list` returns.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Statuses to include; empty means all.
    pub statuses: Vec<Status>,
    /// Look in the archives too.
    pub include_archive: bool,
    /// Only records listed at or after this instant (`store::order::listed_at`: a finished
    /// task by when it finished, one still to happen by when it is due).
    pub since: Option<Timestamp>,
    /// Only records with this `unique_key`.
    pub unique_key: Option<String>,
    /// Only records with this `parent_id` (a task's follow-ups).
    pub parent_id: Option<String>,
    /// A hint: no archive month before this one (`YYYYMM`) can hold a match, so a store that
    /// keeps months apart may skip them (a task's follow-ups are archived no earlier than the
    /// month it was created in). The answer is the same with or without it.
    pub archived_from: Option<String>,
}

impl Query {
    /// What a listing asks for: these statuses (scheduled and executing when none are named),
    /// or every status with `all`; the archives are searched when `all` or a terminal status is
    /// asked for, because that is where terminal tasks end up. Every front end lists through
    /// this, so `list`, MCP's `list_tasks` and the dashboard agree.
    pub fn listing(statuses: Vec<Status>, all: bool) -> Query {
        let statuses = if all {
            Vec::new()
        } else if statuses.is_empty() {
            vec![Status::Scheduled, Status::Executing]
        } else {
            statuses
        };
        let include_archive = all || statuses.iter().any(|s| s.is_terminal());
        Query {
            statuses,
            include_archive,
            ..Query::default()
        }
    }

    /// Whether a record with these links passes the query's `unique_key` and `parent_id`
    /// filters (its status is the caller's to check).
    pub fn links_match(&self, unique_key: Option<&str>, parent_id: Option<&str>) -> bool {
        self.unique_key
            .as_deref()
            .is_none_or(|k| unique_key == Some(k))
            && self
                .parent_id
                .as_deref()
                .is_none_or(|p| parent_id == Some(p))
    }
}

/// `fragment` alone when it is among `found` (an exact id always wins), else `found` with
/// each id once.
pub fn exact_wins(fragment: &str, mut found: Vec<String>) -> Vec<String> {
    if found.iter().any(|id| id == fragment) {
        return vec![fragment.to_string()];
    }
    found.sort();
    found.dedup();
    found
}

/// What the dashboard's overview and `/metrics` count, read in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Tasks in the active store (not the archives), per status.
    pub active: Vec<(Status, u64)>,
    /// Scheduled tasks whose `run_at` has passed: due, not yet claimed.
    pub due: u64,
    /// Finished tasks, active or archived, that reached their state (`listed_at`) since the
    /// time asked for, by the hour (UTC) they did.
    pub finished: Vec<FinishedHour>,
    /// Some count in `active` or `due` stopped at the cap asked for: at least that many.
    pub capped: bool,
}

/// How many tasks reached a finished state within one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedHour {
    /// The hour's start, UTC.
    pub hour: Timestamp,
    pub status: Status,
    /// Cancelled by the runner as missed ([`crate::lifecycle::is_missed`]).
    pub missed: bool,
    pub count: u64,
}

impl Tally {
    /// Adds one finished task to its hour.
    pub fn add_finished(&mut self, at: Timestamp, status: Status, missed: bool) {
        let hour = Timestamp::from_second(at.as_second().div_euclid(3600) * 3600).unwrap_or(at);
        match self
            .finished
            .iter_mut()
            .find(|f| f.hour == hour && f.status == status && f.missed == missed)
        {
            Some(f) => f.count += 1,
            None => self.finished.push(FinishedHour {
                hour,
                status,
                missed,
                count: 1,
            }),
        }
    }

    /// Adds one task of the active store.
    pub fn add_active(&mut self, status: Status) {
        match self.active.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.active.push((status, 1)),
        }
    }

    /// Sorted, so two stores' tallies compare equal.
    pub fn sorted(mut self) -> Tally {
        self.active.sort_by_key(|(s, _)| s.as_str());
        self.finished
            .sort_by_key(|f| (f.hour, f.status.as_str(), f.missed));
        self
    }
}

/// A line of the store that is not a usable task record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub reason: String,
}

/// A task moved to the archive.
#[derive(Debug, Clone)]
pub struct Archived {
    pub id: String,
    pub file: PathBuf,
}

/// The part of a store an export or import pass is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The active records (`deferred.jsonl`, the `tasks` table).
    Active,
    /// The archived records, each with its month (`archive/deferred_YYYYMM.jsonl`).
    Archived,
}

/// Receives the records of an import: (archive month, `None` for an active record; the
/// record's JSON line; the task it holds, read by [`import_record`]).
pub type ImportSink<'a> = dyn FnMut(Option<&str>, &[u8], &Task) -> Result<()> + 'a;

/// Where [`Store::import`] reads from: asked for each [`Part`] in turn, it passes every
/// record of that part to the sink. Asking part by part lets a store write each part as one
/// stream (PostgreSQL's `COPY`) without holding the records in memory.
pub type ImportSource<'a> = dyn FnMut(Part, &mut ImportSink<'_>) -> Result<()> + 'a;

/// What an import wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub active: usize,
    pub archived: usize,
    /// Archived copies of tasks that are active (a crash between a retry and the archive's
    /// rewrite leaves one): left out, as every listing leaves them out.
    pub superseded: usize,
}

/// Reads one record brought in by an import: a valid task record with a valid id. The
/// reason it is not one is for the caller to place (which file, which line). Every store
/// takes what this accepts, so they accept exactly the same input.
pub fn import_record(line: &[u8]) -> std::result::Result<Task, String> {
    match jsonl::lines::classify(line) {
        jsonl::lines::LineKind::Task { .. } => {}
        jsonl::lines::LineKind::Malformed(reason) => return Err(reason),
        jsonl::lines::LineKind::Blank => return Err("a blank line is not a record".into()),
    }
    let task = Task::from_json(line).map_err(|e| format!("a record is not a task record: {e}"))?;
    crate::record::validate_id(&task.id).map_err(|e| e.to_string())?;
    Ok(task)
}

/// Refuses an archive month that is not `YYYYMM` (it names a file and a column).
pub fn check_month(month: &str) -> Result<()> {
    if month.len() != 6 || !month.bytes().all(|b| b.is_ascii_digit()) {
        return Err(crate::Error::invalid_arg(
            crate::error::Arg::RuntimeDir,
            month.to_string(),
            "an archive month is not YYYYMM",
            None,
        ));
    }
    Ok(())
}

/// The month an archived record is imported under: the one its source gave, which must be
/// `YYYYMM`.
pub fn archive_month<'a>(month: Option<&'a str>, task: &Task) -> Result<&'a str> {
    let Some(month) = month else {
        return Err(crate::Error::invalid_arg(
            crate::error::Arg::RuntimeDir,
            task.id.clone(),
            "an archived record came without its month",
            None,
        ));
    };
    check_month(month)?;
    Ok(month)
}

/// Decides the change to an operation's record (see [`crate::lifecycle`]): given where the
/// store found it, the change to write, or the refusal.
pub type Decide<'a> = dyn FnMut(Found) -> Result<Change> + 'a;

/// Receives exported records: (archive month `YYYYMM`, or `None` for the active store; the
/// record's JSON line).
pub type ExportSink<'a> = dyn FnMut(Option<&str>, &[u8]) -> Result<()> + 'a;

/// Held by the one runner allowed to work a store; released on drop.
pub trait RunnerLock: Debug + Send {
    /// The lock no longer excludes other runners (its file was deleted or replaced); a runner
    /// that sees this stops claiming.
    fn lost(&self) -> bool {
        false
    }
}

/// What [`Store::quick_look`] sees: enough to tell an idle watcher whether a pass has work
/// and how long it may sleep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuickLook {
    /// The earliest `run_at` among scheduled tasks.
    pub next_due: Option<Timestamp>,
    /// Some task is executing (maybe for a runner that died) or finished and not yet
    /// archived: a pass has work whatever the time.
    pub unsettled: bool,
    /// The stored pause, if any.
    pub pause: Option<crate::lifecycle::Pause>,
}

/// Task storage with the operations of the lifecycle.
pub trait Store: Debug + Send + Sync {
    /// Adds a new task. With `check_id`, refuses an id already in the active store (an
    /// explicit `--id`); generated ids skip that read so appending stays O(1). A task with a
    /// unique key goes through [`Store::insert_unique`], which looks for the key's holder.
    fn insert(&self, task: &Task, check_id: bool) -> Result<()>;

    /// [`Store::insert`] for a task with a unique key, decided under the lock that makes it
    /// race-free: finds the records that carry `ask.key` in the statuses
    /// [`UniqueAsk::statuses`] names (completed ones in the archives too, when the ask has
    /// a window), and returns [`crate::lifecycle::unique::holder`] of them without writing
    /// anything, or adds the task and returns `None`.
    fn insert_unique(&self, task: &Task, check_id: bool, ask: &UniqueAsk) -> Result<Option<Task>>;

    /// Which store this is, in words and without secrets (`file /home/u/data/runtime/
    /// deferred.jsonl`, `postgres postgres@db:5432/defer schema defer`): two processes that
    /// work one store give the same text. The runner passes it to its executors
    /// (`DEFER_RUNNER_STORE`), so a `defer schedule` run by one can tell that it would write
    /// elsewhere.
    fn identity(&self) -> String;

    /// Passes each record matching `query` to `each` as one line of valid JSON, as stored
    /// (original key order and unknown fields), and returns the lines that could not be read.
    /// Streaming keeps `list` over a large store within a small, fixed amount of memory.
    fn list(
        &self,
        query: &Query,
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<Vec<Problem>>;

    /// One page of what [`Store::list`] gives for `query` (see [`page`]). Every store can
    /// compute it from the listing; a database answers it without sending the other records.
    fn page(&self, query: &Query, ask: &PageAsk) -> Result<PageFound> {
        page::by_listing(self, query, ask)
    }

    /// One record by id: the active store first, then the archives (newest month first).
    fn show(&self, id: &str) -> Result<Option<Value>>;

    /// Finds the record `id` (the active store first, preferring a `scheduled` copy, then the
    /// newest archived one), passes it to `decide` under the store's lock, and writes the
    /// change it returns: the record replaced (an archived one is restored to the active
    /// store and leaves the archive; its history is in the record) and the change's `next`
    /// added unless its id exists. A refusal from `decide` writes nothing. A change that
    /// makes a task with a unique key pending again (a retry) is first checked, under the same
    /// lock, against the other pending tasks with that key
    /// ([`crate::lifecycle::unique::conflict`]), and refused if one holds it.
    fn modify(&self, id: &str, decide: &mut Decide<'_>) -> Result<Change>;

    /// Passes each `scheduled` or `executing` record of series `series` to `decide` and writes
    /// every change it returns, in one atomic step.
    fn end_series(
        &self,
        series: &str,
        decide: &mut dyn FnMut(Task) -> Option<Change>,
    ) -> Result<Vec<Change>>;

    /// Takes the runner lock if no other runner holds it.
    fn try_runner_lock(&self) -> Result<Option<Box<dyn RunnerLock>>>;

    /// Finds tasks left `executing` by a runner that is gone and stores `recover(task,
    /// started)` for each. `started` is what the store recorded of the attempt's start
    /// ([`Store::mark_started`]): `Some(false)` for a task that was claimed but never started,
    /// `None` when the store keeps no such record (the file store, whose runner keeps a start
    /// journal). For the file store "gone" means "not holding the runner lock", so call it
    /// while holding that lock; for a database it means "its runner's session ended, or its
    /// lease expired before `now`".
    fn recover(
        &self,
        now: Timestamp,
        recover: &mut dyn FnMut(Task, Option<bool>) -> Change,
    ) -> Result<Vec<Change>>;

    /// The counts of [`Tally`]: the active store per status, the due ones at `now`, and the
    /// tasks that finished since `since` by the hour. With `cap`, a store may stop counting a
    /// status (or the due ones) past it: that count is then `cap + 1` and [`Tally::capped`]
    /// is set.
    fn tally(&self, now: Timestamp, since: Timestamp, cap: Option<u64>) -> Result<Tally>;

    /// What a shortened id a person typed could mean ([`crate::ops::resolve`]): `fragment`
    /// alone when a task has exactly that id, else the ids that end or start with it, among
    /// the active tasks and (with `include_archive`) the archived ones.
    fn ids_matching(&self, fragment: &str, include_archive: bool) -> Result<Vec<String>> {
        let mut found: Vec<String> = Vec::new();
        let query = Query {
            include_archive,
            ..Query::default()
        };
        self.list(&query, &mut |line| {
            if let Ok(fields) = jsonl::scan::scan(line)
                && let Some(id) = fields.id
                && (id.ends_with(fragment) || id.starts_with(fragment))
            {
                found.push(id.into_owned());
            }
            Ok(())
        })?;
        Ok(exact_wins(fragment, found))
    }

    /// How changes are heard of, when not by notification: a sentence for `run -v` and
    /// `doctor` (a network filesystem is polled). `None` before the first wait, and when
    /// changes are notified.
    fn change_watch(&self) -> Option<String> {
        None
    }

    /// Whether [`Store::mark_started`] records anything: the runner then has each executor
    /// start recorded (batched) before the executor runs, so a rescuer gives back a claimed
    /// task that never started without spending an attempt.
    fn records_starts(&self) -> bool {
        false
    }

    /// Records that the executors of these tasks, claimed by this process, are about to
    /// start, and returns the ids it recorded: a task missing from the answer is no longer
    /// this process's to start (another runner took it over).
    fn mark_started(&self, ids: &[String]) -> Result<HashSet<String>> {
        Ok(ids.iter().cloned().collect())
    }

    /// Moves up to `limit` scheduled tasks with `run_at <= now` (skipping ids in `exclude`:
    /// tasks this run already handled) through `claim` (to `executing`) in one atomic step
    /// and returns them, earliest `run_at` first. First asks
    /// [`crate::lifecycle::pause::may_claim`] about the pause stored now, read under the same
    /// lock (in the same transaction) that `set_pause` writes it under, and refuses with
    /// `Error::Paused` while one holds.
    fn claim_due(
        &self,
        now: Timestamp,
        limit: usize,
        exclude: &HashSet<String>,
        claim: &mut dyn FnMut(Task) -> Task,
    ) -> Result<Vec<Task>>;

    /// Claims the task `id` whatever its `run_at` (`defer run --id`): after the pause check
    /// of [`Store::claim_due`], `decide` (the lifecycle's `claim_now`) sees where it was found
    /// and returns the claimed record, which is written as a claim of this process (with a
    /// lease where the store has leases).
    fn claim_id(&self, id: &str, now: Timestamp, decide: &mut Decide<'_>) -> Result<Change>;

    /// Where a runner of this store keeps its start journal (see `runner::journal`): the file
    /// store, which one runner works at a time; `None` for a shared database, whose rescue
    /// goes by leases.
    fn start_journal(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// The stored pause, if any (whether it is still in force is the lifecycle's question).
    fn pause_state(&self) -> Result<Option<crate::lifecycle::Pause>>;

    /// Stores `pause`, or removes the stored one with `None`.
    fn set_pause(&self, pause: Option<&crate::lifecycle::Pause>) -> Result<()>;

    /// How often a watcher should make a pass even when nothing is due, so that claims of
    /// runners that died are rescued promptly (`None`: a file store recovers at every pass).
    fn rescue_interval(&self) -> Option<std::time::Duration> {
        None
    }

    /// What an idle watcher needs to know to tell whether a pass would find work, in one
    /// cheap look (`None`: a pass is as cheap, as for a file store, whose pass reads one file).
    /// A database's pass is a dozen round trips, each a wake-up of an idle watcher; this is
    /// one.
    fn quick_look(&self) -> Result<Option<QuickLook>> {
        Ok(None)
    }

    /// How many tasks one claim should take: everything for a store only one runner works,
    /// a batch where runners share the queue.
    fn claim_limit(&self) -> usize {
        usize::MAX
    }

    /// Stores the outcomes of tasks this process claimed (matched by id among `executing`
    /// records), each with the task that follows it (a series' next occurrence), in one
    /// atomic step, and returns the ids whose outcome was refused because the claim had been
    /// taken over by another runner (a database's fencing check). Each outcome first passes
    /// [`crate::lifecycle::keep_series_end`] with the stored record, in place, so what the
    /// caller then logs is what was written (no successor of an ended series); a follow-up
    /// whose id already exists is not added again.
    fn save_outcomes(&self, outcomes: &mut [Change]) -> Result<Vec<String>>;

    /// How often a runner must call [`Store::renew_leases`] while executors run (`None`: never).
    fn lease_renewal(&self) -> Option<std::time::Duration> {
        None
    }

    /// Waits up to `timeout` for the store to change (a task added, cancelled, rescheduled);
    /// `true` when it did. The default sleeps: a watcher then relies on its periodic rescan.
    fn wait_for_change(&self, timeout: std::time::Duration) -> Result<bool> {
        std::thread::sleep(timeout);
        Ok(false)
    }

    /// Extends the leases of the tasks this process has claimed and not yet saved.
    fn renew_leases(&self, _now: Timestamp) -> Result<()> {
        Ok(())
    }

    /// Passes every record of `part` to `each` as (archive month `YYYYMM`, or `None` for the
    /// active store; the record's JSON line), one at a time: active records in store order,
    /// archives oldest month first. `defer export` and the migration between stores use it.
    fn export(&self, part: Part, each: &mut ExportSink<'_>) -> Result<()>;

    /// Adds the records `source` gives, all or nothing: active ones join the active store (an
    /// id already there, or given twice, is refused and nothing is written), archived ones
    /// their month (an archived copy of a task active after the import is left out). Records
    /// are written as they come, so an import of any size runs in a fixed amount of memory on
    /// PostgreSQL.
    fn import(&self, source: &mut ImportSource<'_>) -> Result<Imported>;

    /// Moves terminal records to the archive.
    fn archive(&self) -> Result<Vec<Archived>>;

    /// The earliest `run_at` among scheduled tasks, if any.
    fn next_due(&self) -> Result<Option<Timestamp>>;

    /// Lines that are not usable records, in the active store and the archives.
    fn check(&self) -> Result<Vec<Problem>>;
}
