//! The library's one error type.
//!
//! Every variant carries what the user needs to fix the problem: the path, the id, the
//! expression. The binary prints the chain once (`error: …`), so a variant's message does not
//! repeat its source; `source()` supplies that part.

use std::io;
use std::path::PathBuf;

use crate::when::TimeError;

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed; `action` says what we were doing ("reading", "locking").
    #[error("{action} {}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },

    /// A time expression could not be understood.
    #[error(transparent)]
    Time(#[from] TimeError),

    /// An environment variable holds a value we cannot use.
    #[error("{var}={value:?} is not valid: {reason}")]
    Config {
        var: &'static str,
        value: String,
        reason: String,
    },

    /// A command-line value was rejected before anything was written.
    #[error("{0}")]
    Invalid(String),

    /// `--id` (or a record) carries an id that could steer a file path or is otherwise unusable.
    #[error(
        "invalid task id {0:?}: use 1-128 characters from A-Z a-z 0-9 . _ -, not starting with '.'"
    )]
    InvalidId(String),

    /// A scheduled record with this id already exists in the active store.
    #[error("task id {0:?} is already in the store; choose another --id or omit it")]
    DuplicateId(String),

    /// No record with this id exists (the wording is the reference tool's).
    #[error("Task not found: {0}")]
    NotFound(String),

    /// An operation that needs a `scheduled` task met one in another state.
    #[error("task {id} is {status}, not scheduled; only scheduled tasks can be {action}")]
    WrongStatus {
        id: String,
        status: String,
        action: &'static str,
    },

    /// `--context-json` or a stored record is not the JSON we need.
    #[error("{what} is not valid JSON: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    /// No CONTEXT.md could be found, or an explicitly named one is missing.
    #[error("{0}")]
    Context(String),

    /// The store's lock could not be taken in time.
    #[error(
        "timed out after {seconds}s waiting for the lock {}; another defer process holds it",
        path.display()
    )]
    LockTimeout { path: PathBuf, seconds: u64 },

    /// The database store failed (connection, query, migration).
    #[error("database error while {action}: {reason}")]
    Database {
        action: &'static str,
        reason: String,
    },

    /// The executor could not be started or waited on.
    #[error("executor {}: {reason}", path.display())]
    Executor { path: PathBuf, reason: String },
}

/// An error and its sources on one line, as the binary prints errors:
/// `reading /x: Permission denied (os error 13)`.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Error {
    /// Wraps an I/O error with the path and the action that failed.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            path,
            action,
            source,
        }
    }
}
