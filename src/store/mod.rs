//! Where tasks live. Commands and the runner speak only to the [`Store`] trait; the JSONL file
//! of the contract is the default implementation, and a database can be another.
//!
//! The trait is shaped by the lifecycle rather than by storage primitives ("claim the due
//! tasks", not "rewrite the file"), so each backend can do each step in the way that is atomic
//! for it: one locked rewrite for a file, one transaction for a database.

pub mod jsonl;
pub mod lines;
pub mod scan;

use std::fmt::Debug;
use std::path::PathBuf;

use jiff::Timestamp;
use serde_json::Value;

use crate::error::Result;
use crate::record::{Status, Task};

pub use jsonl::JsonlStore;

/// Which records `list` returns.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Statuses to include; empty means all.
    pub statuses: Vec<Status>,
    /// Look in the archives too.
    pub include_archive: bool,
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

/// Held by the one runner allowed to work a store; released on drop.
pub trait RunnerLock: Debug + Send {}

/// Task storage with the operations of the lifecycle.
pub trait Store: Debug + Send + Sync {
    /// Adds a new task. With `check_id`, refuses an id already in the active store (an
    /// explicit `--id`); generated ids skip that read so appending stays O(1).
    fn insert(&self, task: &Task, check_id: bool) -> Result<()>;

    /// Passes each record matching `query` to `each` as one line of valid JSON, as stored
    /// (original key order and unknown fields), and returns the lines that could not be read.
    /// Streaming keeps `list` over a large store within a small, fixed amount of memory.
    fn list(
        &self,
        query: &Query,
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<Vec<Problem>>;

    /// One record by id: the active store first, then the archives (newest month first).
    fn show(&self, id: &str) -> Result<Option<Value>>;

    /// Applies `cancel` to the scheduled task `id` and stores the result.
    fn cancel(&self, id: &str, cancel: &mut dyn FnMut(Task) -> Task) -> Result<Task>;

    /// Takes the runner lock if no other runner holds it.
    fn try_runner_lock(&self) -> Result<Option<Box<dyn RunnerLock>>>;

    /// Finds tasks left `executing` by a runner that is gone and stores `recover(task)` for
    /// each. Call only while holding the runner lock.
    fn recover(&self, recover: &mut dyn FnMut(Task) -> Task) -> Result<Vec<Task>>;

    /// Moves every scheduled task with `run_at <= now` through `claim` (to `executing`) in
    /// one atomic step and returns the claimed records, earliest `run_at` first.
    fn claim_due(&self, now: Timestamp, claim: &mut dyn FnMut(Task) -> Task) -> Result<Vec<Task>>;

    /// Stores the outcomes of claimed tasks (matched by id among `executing` records).
    fn save_outcomes(&self, tasks: &[Task]) -> Result<()>;

    /// Moves terminal records to the archive.
    fn archive(&self) -> Result<Vec<Archived>>;

    /// The earliest `run_at` among scheduled tasks, if any.
    fn next_due(&self) -> Result<Option<Timestamp>>;

    /// Lines that are not usable records, in the active store and the archives.
    fn check(&self) -> Result<Vec<Problem>>;
}
