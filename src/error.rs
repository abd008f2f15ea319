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

    /// An argument of an operation (a CLI flag, an MCP field) was rejected before anything was
    /// written. The argument is data, so each front end names it in its own words.
    #[error("{}", render_argument(*arg, value.as_deref(), problem, Naming::Flags))]
    Argument {
        arg: Arg,
        /// The value as given, when quoting it helps.
        value: Option<String>,
        problem: ArgProblem,
    },

    /// A request was rejected before anything was written, for a reason that is not about one
    /// argument (a file that is not a record, a series with nothing left to cancel).
    #[error("{0}")]
    Invalid(String),

    /// The record would exceed the size limit; long material belongs in a file named as an
    /// artifact (`--artifact` on the CLI, `artifacts` in JSON).
    #[error("{}", render_too_large(*size, *limit, Naming::Flags))]
    RecordTooLarge { size: usize, limit: usize },

    /// `--id` (or a record) carries an id that could steer a file path or is otherwise unusable.
    #[error(
        "invalid task id {0:?}: use 1-128 characters from A-Z a-z 0-9 . _ -, not starting with '.'"
    )]
    InvalidId(String),

    /// A scheduled record with this id already exists in the active store.
    #[error("task id {0:?} is already in the store; choose another id or leave it out")]
    DuplicateId(String),

    /// An explicit id that a task in the archive already carries: reusing it would make
    /// `show` and `why` ambiguous.
    #[error(
        "task id {0:?} belongs to a finished task in the archive (`defer show {0}` shows it); \
         choose another id"
    )]
    ArchivedId(String),

    /// No record with this id exists (the wording is the reference tool's).
    #[error("Task not found: {0}")]
    NotFound(String),

    /// An operation met a task in a state it does not apply to (`allowed` names the states it
    /// does apply to: "scheduled", "failed or missed").
    #[error("task {id} is {status}, not {allowed}; only {allowed} tasks can be {action}")]
    WrongStatus {
        id: String,
        status: String,
        allowed: &'static str,
        action: &'static str,
    },

    /// `--context-json` or a stored record is not the JSON we need.
    // The detail ("expected value at line 1 column 2") is the source, which the binary prints
    // after this message; repeating it here printed it twice.
    #[error("{}", json_problem(what, source))]
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

    /// The binary was built without a cargo feature that the request needs.
    #[error(
        "this defer was built without the `{feature}` feature, which {needed_for} needs; \
         reinstall with the default features (cargo install agent-defer)"
    )]
    NotBuilt {
        feature: &'static str,
        needed_for: &'static str,
    },

    /// The database server could not be reached (refused, unreachable, timed out).
    #[error(
        "cannot reach the database at {target} (is PostgreSQL running there, and does \
         DEFER_DATABASE_URL name it?)"
    )]
    DatabaseUnreachable {
        target: String,
        #[source]
        source: DatabaseError,
    },

    /// The database store failed (connection, query, migration).
    #[error("database error while {action}")]
    Database {
        action: &'static str,
        #[source]
        source: DatabaseError,
    },
}

/// A database driver's error, kept whole (callers may downcast it to read a SQLSTATE), shown
/// as the server's own message when there is one.
#[derive(Debug)]
pub struct DatabaseError {
    message: String,
    inner: Box<dyn std::error::Error + Send + Sync>,
}

impl DatabaseError {
    /// Wraps a driver error; `message` is what a user should read.
    pub fn new(message: String, inner: Box<dyn std::error::Error + Send + Sync>) -> DatabaseError {
        DatabaseError { message, inner }
    }

    /// The driver's error, for callers that need more than the text.
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.inner
    }
}

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

// The message already is the useful part of the chain; the driver's own chain would repeat it.
impl std::error::Error for DatabaseError {}

/// The arguments an operation takes, named once here so that a library error can say which
/// one was wrong and each front end can print the name its users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arg {
    When,
    Every,
    Cron,
    Until,
    Count,
    IfLate,
    LateAfter,
    Id,
    Summary,
    ContextJson,
    ContextFile,
    Project,
    Artifact,
    MaxRetries,
    Series,
    Intent,
    Mode,
    AuraLevel,
    Before,
    Cwd,
}

impl Arg {
    /// The command-line flag (`--late-after`).
    pub fn flag(self) -> &'static str {
        match self {
            Arg::When => "--when",
            Arg::Every => "--every",
            Arg::Cron => "--cron",
            Arg::Until => "--until",
            Arg::Count => "--count",
            Arg::IfLate => "--if-late",
            Arg::LateAfter => "--late-after",
            Arg::Id => "--id",
            Arg::Summary => "--summary",
            Arg::ContextJson => "--context-json",
            Arg::ContextFile => "--context-file",
            Arg::Project => "--project",
            Arg::Artifact => "--artifact",
            Arg::MaxRetries => "--max-retries",
            Arg::Series => "--series",
            Arg::Intent => "--intent",
            Arg::Mode => "--mode",
            Arg::AuraLevel => "--aura-level",
            Arg::Before => "--before",
            Arg::Cwd => "--cwd",
        }
    }

    /// The field name in JSON requests (MCP, HTTP): `late_after`.
    pub fn field(self) -> &'static str {
        match self {
            Arg::When => "when",
            Arg::Every => "every",
            Arg::Cron => "cron",
            Arg::Until => "until",
            Arg::Count => "count",
            Arg::IfLate => "if_late",
            Arg::LateAfter => "late_after",
            Arg::Id => "id",
            Arg::Summary => "summary",
            Arg::ContextJson => "context",
            Arg::ContextFile => "context_file",
            Arg::Project => "project",
            Arg::Artifact => "artifacts",
            Arg::MaxRetries => "max_retries",
            Arg::Series => "series",
            Arg::Intent => "intent",
            Arg::Mode => "mode",
            Arg::AuraLevel => "aura_level",
            Arg::Before => "before",
            Arg::Cwd => "cwd",
        }
    }
}

/// What was wrong with an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgProblem {
    /// The value cannot be read; `example` is a value that works.
    Invalid {
        reason: String,
        example: Option<&'static str>,
    },
    /// A time expression that the grammar refused.
    Time(TimeError),
    /// Only meaningful together with `other` (set to `value`, when given).
    Requires {
        other: Arg,
        value: Option<&'static str>,
    },
    /// Only meaningful for a repeating task.
    NeedsRepeat,
    /// Cannot be combined with `other`.
    Conflicts { other: Arg },
    /// Required but missing; `hint` says where else it can come from.
    Missing { hint: Option<&'static str> },
}

/// How a front end names arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// `--late-after` (the CLI).
    Flags,
    /// `late_after` (MCP, HTTP).
    Fields,
}

impl Naming {
    fn name(self, arg: Arg) -> &'static str {
        match self {
            Naming::Flags => arg.flag(),
            Naming::Fields => arg.field(),
        }
    }
}

/// Words an argument error with argument names as `naming` says.
pub fn render_argument(
    arg: Arg,
    value: Option<&str>,
    problem: &ArgProblem,
    naming: Naming,
) -> String {
    let name = |a: Arg| naming.name(a);
    let this = name(arg);
    let quoted = value
        .map(|v| format!(" {}", quote_value(v)))
        .unwrap_or_default();
    match problem {
        ArgProblem::Invalid { reason, example } => {
            let example = example
                .map(|e| format!(" (e.g. {})", example_of(arg, e, naming)))
                .unwrap_or_default();
            format!("{this}{quoted}: {reason}{example}")
        }
        // The grammar's message already quotes the expression and suggests what to write.
        ArgProblem::Time(e) if arg == Arg::When && naming == Naming::Flags => e.to_string(),
        ArgProblem::Time(e) => format!("{this}: {e}"),
        ArgProblem::Requires { other, value } => {
            let other_text = match value {
                Some(v) => example_of(*other, v, naming),
                None => name(*other).to_string(),
            };
            format!("{this} only applies with {other_text}: add it or drop {this}")
        }
        ArgProblem::NeedsRepeat => format!(
            "{this} only applies to a repeating task: add {} or {}",
            name(Arg::Every),
            name(Arg::Cron)
        ),
        ArgProblem::Conflicts { other } => {
            format!("use {this} or {}, not both", name(*other))
        }
        ArgProblem::Missing { hint } => match hint {
            Some(hint) => format!("{this} is required: {hint}"),
            None => format!("{this} is required"),
        },
    }
}

/// The record-size refusal, naming the artifact argument as `naming` says.
pub fn render_too_large(size: usize, limit: usize, naming: Naming) -> String {
    format!(
        "the task record would be {size} bytes, over the {} KiB limit: a task is a compact \
         snapshot, not a transcript; put long material in a file and pass it with {}",
        limit / 1024,
        naming.name(Arg::Artifact)
    )
}

/// `--every 1d` on the command line, `every="1d"` in JSON.
fn example_of(arg: Arg, value: &str, naming: Naming) -> String {
    let n = naming.name(arg);
    if naming == Naming::Flags {
        if value.contains(' ') {
            format!("{n} \"{value}\"")
        } else {
            format!("{n} {value}")
        }
    } else {
        format!("{n}=\"{value}\"")
    }
}

/// Quotes a user's value for a message, cut short so a huge value cannot flood the terminal.
pub fn quote_value(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(MAX).collect();
    format!("{head:?}… ({} bytes)", value.len())
}

impl Error {
    /// An argument whose value cannot be read.
    pub fn invalid_arg(
        arg: Arg,
        value: impl Into<String>,
        reason: impl Into<String>,
        example: Option<&'static str>,
    ) -> Error {
        Error::Argument {
            arg,
            value: Some(value.into()),
            problem: ArgProblem::Invalid {
                reason: reason.into(),
                example,
            },
        }
    }

    /// An argument that needs another one.
    pub fn arg_requires(arg: Arg, other: Arg, value: Option<&'static str>) -> Error {
        Error::Argument {
            arg,
            value: None,
            problem: ArgProblem::Requires { other, value },
        }
    }

    /// A time expression given for `arg` that the grammar refused.
    pub fn time_arg(arg: Arg, error: TimeError) -> Error {
        Error::Argument {
            arg,
            value: None,
            problem: ArgProblem::Time(error),
        }
    }

    /// Words this error for a JSON front end: argument errors name fields, not flags.
    pub fn for_fields(&self) -> String {
        match self {
            Error::Argument {
                arg,
                value,
                problem,
            } => render_argument(*arg, value.as_deref(), problem, Naming::Fields),
            Error::RecordTooLarge { size, limit } => {
                render_too_large(*size, *limit, Naming::Fields)
            }
            other => chain(other),
        }
    }
}

/// Says whether JSON failed as text (a syntax error, cut off) or as data (valid JSON whose
/// fields do not have the expected names or types); the detail follows as the source.
fn json_problem(what: &str, source: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match source.classify() {
        Category::Syntax | Category::Eof => format!("{what} is not valid JSON"),
        Category::Data => format!("{what} is valid JSON but not the expected fields or types"),
        Category::Io => format!("{what} could not be read"),
    }
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
