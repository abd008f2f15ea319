//! The library's one error type, and the kind each error is of.
//!
//! Every variant carries what the user needs to fix the problem as data: the path, the id,
//! the argument, the expression. The binary prints the chain once (`error: …`), so a
//! variant's message does not repeat its source; `source()` supplies that part.
//!
//! [`Error::kind`] says what sort of failure it is (bad input, not found, a task in the wrong
//! status, a conflict, an unavailable store, a refused file, an internal fault), so each front
//! end can map it to its own code in one table: the CLI to an exit code, HTTP to a status,
//! MCP to a JSON-RPC code. No front end matches on the wording.

use std::io;
use std::path::PathBuf;

use crate::when::{RuleHint, TimeError};

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What sort of failure an error is; each front end maps it to its own code (the tables are
/// in `main.rs`, `serve/api.rs` and `mcp/`, and in the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request was wrong (an argument, a time expression, a body): fix it and retry.
    BadArgument,
    /// No task (or series) has this id.
    NotFound,
    /// The task is in a status the operation does not apply to.
    WrongStatus,
    /// The request collides with what is there (an id in use, a pause in force).
    Conflict,
    /// The store or a lock is not available now; the same request may succeed later.
    Unavailable,
    /// A file or directory was refused (its owner or mode is unsafe, or the OS denied access).
    Permission,
    /// Something failed that the caller cannot fix by changing the request.
    Internal,
    /// The command did its work and reports a failure it found (a failed task, a doctor
    /// problem): nothing is wrong with the request.
    Failed,
}

impl ErrorKind {
    /// The kind's name in JSON (`not_found`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadArgument => "bad_argument",
            ErrorKind::NotFound => "not_found",
            ErrorKind::WrongStatus => "wrong_status",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Permission => "permission",
            ErrorKind::Internal => "internal",
            ErrorKind::Failed => "failed",
        }
    }
}

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

    /// A file or directory defer refuses to use: someone else could change it, or it is not
    /// the kind of file it must be.
    #[error("{}", problem.render(path))]
    UnsafePath { path: PathBuf, problem: PathProblem },

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

    /// A command needs an environment variable that is not set.
    #[error("{needed_for} needs {var} (e.g. {example}); {hint}")]
    MissingConfig {
        var: &'static str,
        needed_for: &'static str,
        example: &'static str,
        hint: &'static str,
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

    /// A JSON request (MCP arguments, an HTTP body or query) does not have the shape of the
    /// operation's request: `field` is where (`key_points[1]`, empty for the whole object).
    #[error("{}", render_request(field, reason))]
    Request { field: String, reason: String },

    /// A value outside a closed set (an intent, a status).
    #[error("unknown {what} {}: use one of {}", quote_value(value), choices.join(", "))]
    UnknownValue {
        what: &'static str,
        value: String,
        choices: &'static [&'static str],
    },

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

    /// A task would become scheduled beside another that holds its unique key (`retry` of a
    /// task whose key was taken meanwhile): two pending tasks with one key is what the key
    /// exists to prevent.
    #[error(
        "unique key {} is held by task {holder} ({status}); cancel {holder} first, or wait \
         until it has run",
        quote_value(key)
    )]
    UniqueKeyHeld {
        key: String,
        holder: String,
        status: String,
    },

    /// The database's unique index refused a second pending task with one key (a path that
    /// did not look for the holder first: an import).
    #[error(
        "unique key {} is held by another pending task (the database refused a second one); \
         `defer list --unique-key {}` shows it",
        quote_value(key),
        quote_value(key)
    )]
    UniqueKeyTaken { key: String },

    /// `schedule` run by an executor (`DEFER_TASK_ID` set) would write to another store than
    /// the runner that started the executor: the follow-up would be stored where no runner
    /// looks. `runner` and `here` describe the two stores (no password).
    #[error(
        "this defer runs under task {task}, whose runner uses {runner}, but it would write to \
         {here}: a follow-up stored here would never run. Give it the runner's store \
         (DEFER_DATABASE_URL, DEFER_DATABASE_SCHEMA or DEFER_TASKS_FILE as the runner passes \
         them; see SECURITY.md, \"Executors and the store\"), or unset DEFER_TASK_ID to \
         schedule into this store on purpose"
    )]
    OtherStore {
        task: String,
        runner: String,
        here: String,
    },

    /// `DEFER_TASK_ID` names a task this store does not have: the executor's `defer` is not
    /// using the store of the runner that ran it (an older runner that does not say which
    /// store it uses, or settings changed in between).
    #[error(
        "DEFER_TASK_ID names task {0}, which this store ({1}) does not have, so a follow-up \
         of it would be stored where its runner never looks; run with the runner's store \
         settings, or pass --no-parent (no_parent: true) to schedule an unlinked task here"
    )]
    ParentElsewhere(String, String),

    /// No record with this id exists (the wording is the reference tool's).
    #[error("Task not found: {0}")]
    NotFound(String),

    /// A shortened id that more than one task's id ends or starts with (the first few, and
    /// how many more).
    #[error(
        "\"{typed}\" could be {}{}; type more of the id",
        .matches.join(" or "),
        if *.more > 0 { format!(" (and {} more)", .more) } else { String::new() }
    )]
    AmbiguousId {
        typed: String,
        matches: Vec<String>,
        more: usize,
    },

    /// A bulk action matched more than one task and was not confirmed: nothing changed.
    #[error("{count} tasks match and nothing was changed; add --yes to {action} them all")]
    NeedsConfirmation { count: usize, action: &'static str },

    /// No pending or running occurrence of this series exists.
    #[error(
        "series {0} has no scheduled occurrence to cancel (unknown series, or it already \
         ended); `defer list --all` shows its records"
    )]
    SeriesNotFound(String),

    /// An operation met a task in a state it does not apply to (`allowed` names the states it
    /// does apply to: "scheduled", "failed or missed").
    #[error("task {id} is {status}, not {allowed}; only {allowed} tasks can be {action}")]
    WrongStatus {
        id: String,
        status: String,
        allowed: &'static str,
        action: &'static str,
    },

    /// Runners of this store are paused, so nothing may be claimed.
    #[error("{}; `defer resume` ends it", crate::lifecycle::pause::describe(pause))]
    Paused { pause: crate::lifecycle::Pause },

    /// Data defer wrote (a stored record, a reply) is not the JSON it should be.
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

    /// A series rule (`every …`, `cron …`) that cannot be used.
    #[error("{reason}")]
    Rule { rule: String, reason: String },

    /// The store's lock could not be taken in time.
    #[error(
        "timed out after {seconds}s waiting for the lock {}; another defer process holds it",
        path.display()
    )]
    LockTimeout { path: PathBuf, seconds: u64 },

    /// Another runner works this store now (`defer run --id` needs the runner lock).
    #[error(
        "another runner holds the lock (a cron wake or `defer run --watch`); try again when \
         it has finished, or let it run the task"
    )]
    RunnerBusy,

    /// The runner lock stopped excluding other runners while this runner held it.
    #[error(
        "the runner lock file was deleted or replaced while this runner held it; stopped \
         claiming so that two runners never work one store (start the runner again)"
    )]
    RunnerLockLost,

    /// `DEFER_EXECUTOR` cannot be run: a setup fault, so nothing is claimed.
    #[error("{reason}; nothing was claimed, every task stays scheduled")]
    ExecutorUnusable { reason: String },

    /// A command that needs the real clock was started with `DEFER_NOW`.
    #[error("{command} needs the real clock; unset DEFER_NOW")]
    FixedClock { command: &'static str },

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

    /// The database server asks for a password that neither the URL nor libpq's password
    /// file gives (an executor gets the runner's URL without its password: SECURITY.md).
    #[error(
        "the database at {target} asks for a password, and neither DEFER_DATABASE_URL nor the \
         password file {} has one for it: add a line host:port:database:user:password to that \
         file (PGPASSFILE names another), readable only by you (chmod 600)",
        passfile.display()
    )]
    DatabasePassword { target: String, passfile: PathBuf },

    /// The database store failed (connection, query, migration).
    #[error("database error while {action}")]
    Database {
        action: &'static str,
        #[source]
        source: DatabaseError,
    },

    /// A database row whose record names another task: it is skipped by runners and never
    /// written over that task, until someone fixes or deletes it.
    #[error(
        "row {row} of the task table holds a record of task {record}; it is quarantined \
         (skipped by runners, never written over {record}): fix its record or delete the row \
         (`defer check` lists it)"
    )]
    Quarantined { row: String, record: String },

    /// The crontab program could not be used; the crontab was not changed.
    #[error("{problem}")]
    Crontab { program: PathBuf, problem: String },

    /// `defer serve` could not listen on the address it was given.
    #[error("cannot listen on {addr:?} (pass --listen HOST:PORT, e.g. 127.0.0.1:8277)")]
    Listen {
        addr: String,
        #[source]
        source: io::Error,
    },

    /// `defer serve --print-login` before any server made the token: there is no link yet.
    #[error(
        "no login link yet: {} does not exist; `defer serve` creates it, and prints the link, \
         when it first starts",
        path.display()
    )]
    NoServeToken { path: PathBuf },

    /// The operating system's random source failed.
    #[error("cannot read random bytes for {what}")]
    Random {
        what: &'static str,
        #[source]
        source: io::Error,
    },

    /// A piece of work stopped unexpectedly (a panic on a worker thread); nothing it was doing
    /// is half-written, since every store write is atomic.
    #[error("internal error: {what} did not complete ({detail}); it can be retried")]
    Panicked { what: &'static str, detail: String },

    /// The command ran and found something to report as a failure.
    #[error("{0}")]
    Failed(Failure),
}

/// Why a file or directory was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProblem {
    /// A file of another user's, which task text must not be written into.
    OwnedByOther { uid: u32 },
    /// A directory or file owned by someone other than the user or root.
    Owner { uid: u32, me: u32 },
    /// A system directory shared by every user (`/tmp`).
    SharedDir { mode: u32 },
    /// A directory others may write.
    WritableDir { who: &'static str, mode: u32 },
    /// A directory above the runtime directory that others may write.
    WritableAncestor { below: PathBuf, mode: u32 },
    /// The task store is writable by others.
    WritableFile { mode: u32 },
    /// Not a regular file (`what`: "a FIFO (named pipe)", "a directory").
    NotRegular { what: &'static str },
    /// A symbolic link where defer writes.
    Symlink,
    /// `serve.token` is readable by others.
    LooseToken,
    /// `serve.token` holds no usable token.
    NoToken,
}

impl PathProblem {
    fn render(&self, path: &std::path::Path) -> String {
        let p = crate::output::escape(&path.display().to_string()).into_owned();
        match self {
            PathProblem::OwnedByOther { uid } => format!(
                "{p} belongs to another user (uid {uid}); defer does not write task data into \
                 files it does not own (remove the file)"
            ),
            PathProblem::Owner { uid, me } => format!(
                "{p} is owned by uid {uid}, not by you (uid {me}) or root: its owner could \
                 plant tasks for your executor to run; use a directory you own \
                 (DEFER_RUNTIME_DIR)"
            ),
            PathProblem::SharedDir { mode } => format!(
                "{p} is a shared directory (mode {mode:04o}): another user could plant tasks \
                 there for your executor to run; do not change its mode, use a private \
                 directory instead (one under your home; defer creates it 0700)"
            ),
            PathProblem::WritableDir { who, mode } => format!(
                "{p} is writable by {who} (mode {mode:04o}): another user could plant tasks \
                 there for your executor to run; fix it with `chmod 700 {p}`"
            ),
            PathProblem::WritableAncestor { below, mode } => format!(
                "{p} (above {}) is writable by others without the sticky bit (mode \
                 {mode:04o}): another user could replace the directory defer uses; fix it \
                 with `chmod o-w {p}` or move the runtime directory",
                below.display()
            ),
            PathProblem::WritableFile { mode } => format!(
                "{p} is writable by group or others (mode {mode:04o}): another user could add \
                 tasks for your executor to run; fix it with `chmod 600 {p}`"
            ),
            PathProblem::NotRegular { what } => format!(
                "{p} is {what}, not a regular file; defer reads and writes only regular files \
                 there (point the DEFER_* variable or argument at a file path)"
            ),
            PathProblem::Symlink => format!(
                "{p} is a symbolic link; defer does not follow links for files it writes \
                 (replace it with a regular file or point the DEFER_* variable at the real \
                 path)"
            ),
            PathProblem::LooseToken => format!(
                "{p} must be a regular file only you can read (mode 0600); fix it with `chmod \
                 600 {p}`, or delete it to get a new token"
            ),
            PathProblem::NoToken => format!(
                "{p} does not hold a token (32 or more letters and digits); delete it to get a \
                 new one"
            ),
        }
    }
}

/// What a command reports as failed after doing its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `run --fail-on-task-failure`: tasks failed in this run.
    TasksFailed { count: usize },
    /// Due tasks could not start for a reason of the host's; they wait, no attempt spent.
    NotStarted { count: usize, error: String },
    /// `doctor` found problems.
    Checks { count: usize },
    /// `check` found lines that are not records.
    MalformedLines { count: usize },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::TasksFailed { count } => write!(
                f,
                "{count} task(s) failed in this run; `defer list --status failed` lists them \
                 and `defer why ID` explains each"
            ),
            Failure::NotStarted { count, error } => write!(
                f,
                "{count} due task(s) could not start and stay scheduled with no attempt spent: \
                 {error}"
            ),
            Failure::Checks { count } => write!(
                f,
                "{count} check(s) need attention: see the `problem:` lines above"
            ),
            Failure::MalformedLines { count } => write!(
                f,
                "{count} line(s) are not valid task records; they are kept as they are and \
                 skipped by the runner: fix or remove them by hand"
            ),
        }
    }
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
    Status,
    All,
    Limit,
    Cursor,
    Env,
    RuntimeDir,
    Command,
    AllowHost,
    Since,
    Sort,
    Search,
    Action,
    Ids,
    Listen,
    MetricsPublic,
    UniqueKey,
    UniqueFor,
    Parent,
    NoParent,
    Session,
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
            Arg::Status => "--status",
            Arg::All => "--all",
            Arg::Limit => "--limit",
            Arg::Cursor => "--cursor",
            Arg::Env => "--env",
            Arg::RuntimeDir => "--runtime-dir",
            Arg::Command => "command",
            Arg::AllowHost => "--allow-host",
            Arg::Since => "--since",
            Arg::Sort => "--sort",
            Arg::Search => "--search",
            Arg::Action => "action",
            Arg::Ids => "ID",
            Arg::Listen => "--listen",
            Arg::MetricsPublic => "--metrics-public",
            Arg::UniqueKey => "--unique-key",
            Arg::UniqueFor => "--unique-for",
            Arg::Parent => "--parent",
            Arg::NoParent => "--no-parent",
            Arg::Session => "--session",
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
            Arg::Status => "status",
            Arg::All => "all",
            Arg::Limit => "limit",
            Arg::Cursor => "cursor",
            Arg::Env => "env",
            Arg::RuntimeDir => "runtime_dir",
            Arg::Command => "command",
            Arg::AllowHost => "allow_host",
            Arg::Since => "since",
            Arg::Sort => "sort",
            Arg::Search => "q",
            Arg::Action => "action",
            Arg::Ids => "ids",
            Arg::Listen => "listen",
            Arg::MetricsPublic => "metrics_public",
            Arg::UniqueKey => "unique_key",
            Arg::UniqueFor => "unique_for",
            Arg::Parent => "parent_id",
            Arg::NoParent => "no_parent",
            Arg::Session => "session",
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
        ArgProblem::Time(e) if arg == Arg::When && naming == Naming::Flags => {
            format!("{e}{}", rule_hint(e, naming))
        }
        ArgProblem::Time(e) => format!("{this}: {e}{}", rule_hint(e, naming)),
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

/// The rule a refused repeating phrase can still be given as, in the front end's own terms:
/// the grammar names no flags or fields, so this is where they are added.
fn rule_hint(e: &TimeError, naming: Naming) -> String {
    match e.rule_hint() {
        None => String::new(),
        Some(RuleHint::Interval { every, first }) => format!(
            "; to schedule it, give the interval and the first time: {} {}",
            example_of(Arg::Every, every, naming),
            example_of(Arg::When, first, naming)
        ),
        Some(RuleHint::MonthDayCron { cron, day }) => format!(
            "; a cron rule runs only in the months that have a day {day}: {}",
            example_of(Arg::Cron, cron, naming)
        ),
    }
}

/// A JSON request that does not fit: `field: reason`, or the reason alone for the whole
/// object.
fn render_request(field: &str, reason: &str) -> String {
    if field.is_empty() || field == "." {
        reason.to_string()
    } else {
        format!("{field}: {reason}")
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
    /// What sort of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                ErrorKind::Permission
            }
            Error::Io { .. }
            | Error::Json { .. }
            | Error::RunnerLockLost
            | Error::ExecutorUnusable { .. }
            | Error::NotBuilt { .. }
            | Error::Crontab { .. }
            | Error::Random { .. }
            | Error::Quarantined { .. }
            | Error::Panicked { .. } => ErrorKind::Internal,
            Error::UnsafePath { .. } => ErrorKind::Permission,
            Error::Time(_)
            | Error::Config { .. }
            | Error::MissingConfig { .. }
            | Error::Argument { .. }
            | Error::Request { .. }
            | Error::UnknownValue { .. }
            | Error::RecordTooLarge { .. }
            | Error::InvalidId(_)
            | Error::AmbiguousId { .. }
            | Error::NeedsConfirmation { .. }
            | Error::Context(_)
            | Error::Rule { .. }
            | Error::FixedClock { .. }
            | Error::DatabasePassword { .. } => ErrorKind::BadArgument,
            Error::DuplicateId(_)
            | Error::ArchivedId(_)
            | Error::Paused { .. }
            | Error::UniqueKeyHeld { .. }
            | Error::UniqueKeyTaken { .. }
            | Error::OtherStore { .. }
            | Error::ParentElsewhere(..) => ErrorKind::Conflict,
            Error::NotFound(_) | Error::SeriesNotFound(_) | Error::NoServeToken { .. } => {
                ErrorKind::NotFound
            }
            Error::WrongStatus { .. } => ErrorKind::WrongStatus,
            Error::LockTimeout { .. }
            | Error::RunnerBusy
            | Error::DatabaseUnreachable { .. }
            | Error::Database { .. }
            | Error::Listen { .. } => ErrorKind::Unavailable,
            Error::Failed(_) => ErrorKind::Failed,
        }
    }

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

    /// Two arguments that cannot be given together.
    pub fn arg_conflicts(arg: Arg, other: Arg) -> Error {
        Error::Argument {
            arg,
            value: None,
            problem: ArgProblem::Conflicts { other },
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
pub fn json_problem(what: &str, source: &serde_json::Error) -> String {
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

    /// A refused file or directory.
    pub fn unsafe_path(path: impl Into<PathBuf>, problem: PathProblem) -> Error {
        Error::UnsafePath {
            path: path.into(),
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_stable_name() {
        let kinds = [
            ErrorKind::BadArgument,
            ErrorKind::NotFound,
            ErrorKind::WrongStatus,
            ErrorKind::Conflict,
            ErrorKind::Unavailable,
            ErrorKind::Permission,
            ErrorKind::Internal,
            ErrorKind::Failed,
        ];
        for kind in kinds {
            let json = serde_json::to_value(kind).expect("json");
            assert_eq!(json, kind.as_str());
        }
    }

    #[test]
    fn a_refused_permission_is_not_bad_input() {
        let e = Error::io("reading", "/x")(io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.kind(), ErrorKind::Permission);
        let e = Error::unsafe_path("/x", PathProblem::WritableFile { mode: 0o666 });
        assert_eq!(e.kind(), ErrorKind::Permission);
        assert!(e.to_string().contains("chmod 600 /x"), "{e}");
        assert_eq!(Error::RunnerBusy.kind(), ErrorKind::Unavailable);
    }
}
