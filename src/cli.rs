//! The command line, as clap structs that mirror it. Validation beyond shape happens in the
//! commands, which turn these into library requests.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use crate::record::{AuraLevel, IfLate, Intent, Mode, Status};

const ABOUT: &str = "Say \"do this later\": schedule a compact snapshot of intent for a time, \
and let `defer run` (woken by cron) rehydrate it when it is due.";

/// The text after `defer --help`: every variable of [`crate::config::VARIABLES`] and the exit
/// codes of `main.rs`.
fn after_help() -> String {
    format!(
        "Environment: {} (README: \"Configuration\"). `defer --when ...` means `defer schedule \
         --when ...`.\n\nExit codes: 0 success; 1 refused or failed (nothing was changed); 2 the \
         command line is invalid; 3 not available now (try again later); 4 the host needs \
         attention (a refused file, an I/O fault).",
        crate::config::variable_names()
    )
}

/// `defer`: deferred tasks for agents and people.
#[derive(Debug, Parser)]
#[command(name = "defer", version, about = ABOUT, after_help = after_help())]
pub struct Cli {
    /// Colour in the human views (tables and cards on a terminal): auto (default; off when
    /// NO_COLOR is set), always or never. JSON is never coloured.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

/// `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The subcommands.
///
/// `defer`: each subcommand's arguments are defined only when that subcommand is parsed (or
/// help, completions or a manual page walk the whole tree), not on every start: building all
/// of them was most of the parser's 0.14 ms, paid by `defer --version` and `defer schedule`
/// alike.
// Parsed once per process; boxing the big variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Schedule a task (prints the record; a confirmation line goes to stderr).
    #[command(after_help = crate::when::GRAMMAR_HELP)]
    Schedule(ScheduleArgs),
    /// List tasks (default: scheduled and executing): a table on a terminal, else a JSON array.
    List(ListArgs),
    /// Cancel a scheduled task.
    Cancel(CancelArgs),
    /// Print one task, from the active store or the archives: a card on a terminal, else JSON.
    Show(ShowArgs),
    /// Print what a task left behind: executor output, prompt artifact, audit lines.
    Logs(LogsArgs),
    /// Schedule a failed or missed task again (attempts start over; history is kept).
    Retry(RetryArgs),
    /// Move a scheduled task to a new time.
    #[command(visible_alias = "snooze", after_help = crate::when::GRAMMAR_HELP)]
    Reschedule(RescheduleArgs),
    /// Run due tasks (the cron entry point), or one task now with --id.
    Run(RunArgs),
    /// Stop every runner of this store from claiming tasks, until `resume` or --until.
    #[command(after_help = crate::when::GRAMMAR_HELP)]
    Pause(PauseArgs),
    /// End a pause: tasks that fell due meanwhile run at the next wake (missed-run policy applies).
    Resume,
    /// Move completed, failed and cancelled tasks to the monthly archives now.
    Archive,
    /// Delete prompt files, output files and archive months older than a time (lists them
    /// unless --yes).
    Prune(PruneArgs),
    /// Print a crontab line that runs `defer run` every minute with the current settings
    /// (`install` / `uninstall` edit your crontab).
    Cron(CronArgs),
    /// Report store lines that are not valid task records (exit 1 if any).
    Check,
    /// Copy every task (active and archived) into a JSONL runtime directory.
    Export(TransferArgs),
    /// Add every task of a JSONL runtime directory to the configured store.
    Import(TransferArgs),
    /// The PostgreSQL store's schema (when DEFER_DATABASE_URL is set).
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Resolve a time expression without scheduling anything.
    Time {
        #[command(subcommand)]
        command: TimeCommand,
    },
    /// Print the snapshot built from a CONTEXT.md.
    Reorient(ReorientArgs),
    /// Serve the defer tools over the Model Context Protocol on stdio.
    Mcp,
    /// Serve the HTTP API, MCP over Streamable HTTP and the dashboard on one port.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Check the setup: runner wakes, cron or watcher, executor, due tasks, store (exit 1 if
    /// something needs attention).
    Doctor(DoctorArgs),
    /// Explain in plain words where a task is and why it has or has not run.
    Why(WhyArgs),
    /// Print a shell completion script (task ids complete too).
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout: defer(1), or a command's own page.
    Man(ManArgs),
}

const SERVE_HELP: &str = "\
Every route needs the token kept in $DEFER_RUNTIME_DIR/serve.token (created 0600 on first start):
`Authorization: Bearer TOKEN` for /api/v1, /mcp and /metrics; the dashboard takes it once from the
login link printed on start (`defer serve --print-login` prints it again) and stays signed in for
--session-days. See docs/serve.md.";

/// Flags of `defer serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on. A loopback address is the safe default; anything else
    /// is reachable from the network and needs TLS in front (a warning says so). Port 0 picks a
    /// free port (the address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8277")]
    pub listen: String,
    /// Also run due tasks in this process (what `defer run --watch` does).
    #[arg(long)]
    pub run: bool,
    /// Another name clients may use in the Host header (a reverse proxy's name); the bound
    /// address, and `localhost` on a loopback address, are always accepted.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Close a connection that has not sent a request's headers within this many seconds of
    /// connecting (or of the previous response): slow and idle clients cannot hold
    /// connections.
    #[arg(long, value_name = "SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// How many days a browser stays signed in after opening the login link (the session
    /// cookie's lifetime; browsers keep none longer than 400 days).
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=400))]
    pub session_days: u32,
    /// Serve /metrics without the token, for a Prometheus on this host. Allowed only on a
    /// loopback address: anywhere else it is refused.
    #[arg(long)]
    pub metrics_public: bool,
    /// Print the dashboard's login link (for the --listen address, from the token file) and
    /// exit, starting no server: for a server started by a unit, whose first lines went to a
    /// log.
    #[arg(long)]
    pub print_login: bool,
}

/// Flags of `defer man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command whose page to print (`defer man schedule` prints defer-schedule(1)).
    pub command: Option<String>,
}

const COMPLETIONS_HELP: &str = "\
Install (the script calls `defer` on PATH to complete task ids, so regenerate it after an upgrade):
  bash:       echo 'source <(defer completions bash)' >> ~/.bashrc
  zsh:        echo 'source <(defer completions zsh)' >> ~/.zshrc
  fish:       defer completions fish > ~/.config/fish/completions/defer.fish
  elvish:     echo 'eval (defer completions elvish | slurp)' >> ~/.config/elvish/rc.elv
  powershell: defer completions powershell | Out-String | Invoke-Expression  (in $PROFILE)";

/// Flags of `defer completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells `defer completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// Flags of `defer logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The task (active or archived): its id, or a unique tail or head of it.
    #[arg(add = ArgValueCompleter::new(crate::commands::complete::any_id))]
    pub id: String,
    /// Only the prompt artifact.
    #[arg(long, group = "part")]
    pub prompt: bool,
    /// Only the executor's output (stdout, then stderr).
    #[arg(long, group = "part")]
    pub output: bool,
    /// Only the audit lines.
    #[arg(long, group = "part")]
    pub audit: bool,
    /// Follow a task that is executing: what its executor prints, line by line as it comes
    /// (stderr lines marked [stderr]), and audit lines as they appear, until the attempt ends.
    #[arg(short, long, conflicts_with = "json")]
    pub follow: bool,
    /// Print the logs as JSON ({id, status, prompt_path, prompt, stdout, stderr, audit}).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `defer retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The failed or missed task (active or archived): its id, or a unique tail or head of it.
    #[arg(
        required_unless_present_any = ["statuses", "search", "since"],
        add = ArgValueCompleter::new(crate::commands::complete::any_id)
    )]
    pub id: Option<String>,
    /// Instead of one task: every task in these statuses (repeatable; default: failed).
    #[arg(long = "status", value_name = "S", value_parser = parse_enum::<Status>, conflicts_with = "id")]
    pub statuses: Vec<Status>,
    /// Instead of one task: every task whose id or summary contains this text.
    #[arg(
        long,
        value_name = "TEXT",
        allow_hyphen_values = true,
        conflicts_with = "id"
    )]
    pub search: Option<String>,
    /// Instead of one task: every task that failed (or was due) since this ("24h", "7d", a past time).
    #[arg(
        long,
        value_name = "EXPR",
        allow_hyphen_values = true,
        conflicts_with = "id"
    )]
    pub since: Option<String>,
    /// With --status/--search/--since: act on every match (more than one is only listed
    /// without it).
    #[arg(long)]
    pub yes: bool,

    /// When to run it (default: now).
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub when: Option<String>,
    /// Pretty JSON of the record, even on a terminal (piped output is JSON anyway).
    #[arg(long, conflicts_with = "compact")]
    pub json: bool,
    /// One-line JSON.
    #[arg(long)]
    pub compact: bool,
}

/// Flags of `defer pause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// End the pause by itself at this time (default: only `defer resume` ends it).
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub until: Option<String>,
}

/// Flags of `defer reschedule`.
#[derive(Debug, Args)]
pub struct RescheduleArgs {
    /// The scheduled task: its id, or a unique tail or head of it.
    #[arg(add = ArgValueCompleter::new(crate::commands::complete::active_id))]
    pub id: String,
    /// The new time: "30m", "tomorrow 9am", an ISO 8601 time, ...
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub when: String,
    /// For a series occurrence: move the rule's anchor too, so later occurrences follow the
    /// new time (without it only this occurrence moves).
    #[arg(long)]
    pub series: bool,
    /// Pretty JSON of the record, even on a terminal (piped output is JSON anyway).
    #[arg(long, conflicts_with = "compact")]
    pub json: bool,
    /// One-line JSON.
    #[arg(long)]
    pub compact: bool,
}

/// Flags of `defer cron`.
#[derive(Debug, Args)]
pub struct CronArgs {
    #[command(subcommand)]
    pub command: Option<CronCommand>,
}

/// `defer cron install|uninstall` (plain `defer cron` prints the line).
#[derive(Debug, Subcommand)]
pub enum CronCommand {
    /// Add the line to your crontab, replacing an earlier agent-defer line (run via
    /// `crontab`, or the program in DEFER_CRONTAB); variables it carried beyond defer's own
    /// are kept.
    Install {
        /// Also carry this variable (value from this shell), e.g. DEFER_WEBHOOK_URL
        /// (repeatable).
        #[arg(long = "env", value_name = "NAME")]
        env: Vec<String>,
        /// Run `defer run --fail-on-task-failure`, so cron mails a failed task (kept on
        /// re-install).
        #[arg(long)]
        fail_on_task_failure: bool,
    },
    /// Remove the agent-defer line from your crontab; other entries are left as they are.
    Uninstall,
}

/// Flags of `defer prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Older than this: a duration ago ("90d", "6 months") or a past time ("2026-01-01").
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub before: String,
    /// Delete them (without it, only list what would be deleted).
    #[arg(long)]
    pub yes: bool,
}

/// Flags of `defer doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the checks as a JSON array of {check, level, message}.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `defer why`.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The task: its id, or a unique tail or head of it (at least 4 characters).
    #[arg(add = ArgValueCompleter::new(crate::commands::complete::any_id))]
    pub id: String,
}

/// `defer db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or upgrade the schema (also done automatically on first use).
    Migrate,
    /// Print the schema version and pending migrations as JSON.
    Status,
}

/// Flags of `defer export` / `defer import`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// The JSONL runtime directory to write to (export) or read from (import): its
    /// deferred.jsonl and archive/deferred_YYYYMM.jsonl files.
    #[arg(long, value_name = "DIR")]
    pub runtime_dir: PathBuf,
}

/// `defer time ...`
#[derive(Debug, Subcommand)]
pub enum TimeCommand {
    /// Print the UTC stamp (YYYY-MM-DDTHH:MM:SSZ) an expression resolves to ("every ..."
    /// phrases: the next three), or with "-" answer each stdin line with one JSON line.
    #[command(after_help = crate::when::GRAMMAR_HELP)]
    Normalize {
        /// The time expression, e.g. "tomorrow 9am", or "-" to read one per line from stdin.
        #[arg(allow_hyphen_values = true)]
        expr: String,
    },
    /// Print the Unix seconds an expression resolves to.
    Epoch {
        /// The time expression, e.g. "30m".
        #[arg(allow_hyphen_values = true)]
        expr: String,
    },
}

/// Flags of `defer schedule`.
#[derive(Debug, Args, Default)]
pub struct ScheduleArgs {
    /// When to run: "30m", "tomorrow 9am", "next friday 3pm", an ISO 8601 time, ...
    /// (optional with --every / --cron: the first occurrence).
    #[arg(
        long,
        value_name = "EXPR",
        allow_hyphen_values = true,
        required_unless_present_any = ["every", "cron"]
    )]
    pub when: Option<String>,
    /// One sentence of what to do (optional when --context-json or --reorient supplies one).
    #[arg(long, allow_hyphen_values = true)]
    pub summary: Option<String>,
    /// resume_task (default), notify or execute_action.
    #[arg(long, value_parser = parse_enum::<Intent>)]
    pub intent: Option<Intent>,
    /// fresh (default) or callback.
    #[arg(long, value_parser = parse_enum::<Mode>)]
    pub mode: Option<Mode>,
    /// The instruction for the future run (defaults to the summary).
    #[arg(long, allow_hyphen_values = true)]
    pub prompt_template: Option<String>,
    /// Advisory intensity hint for executors: low (default), medium or high.
    #[arg(long, value_parser = parse_enum::<AuraLevel>)]
    pub aura_level: Option<AuraLevel>,
    /// How many executor failures are retried (default 0).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = parse_retries)]
    pub max_retries: Option<u32>,
    /// A key point of the snapshot (repeatable).
    #[arg(long = "key-point", value_name = "TEXT", allow_hyphen_values = true)]
    pub key_points: Vec<String>,
    /// A file, URL or other artifact to come back to (repeatable).
    #[arg(long = "artifact", value_name = "TEXT", allow_hyphen_values = true)]
    pub artifacts: Vec<String>,
    /// A constraint for the future run (repeatable).
    #[arg(long = "constraint", value_name = "TEXT", allow_hyphen_values = true)]
    pub constraints: Vec<String>,
    /// A JSON object with summary, key_points, artifacts, constraints (merged before the flags).
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub context_json: Option<String>,
    /// Task id (default task_YYYYMMDD_HHMMSS_PID); refused if already in the store.
    #[arg(long)]
    pub id: Option<String>,
    /// Rebuild the context from a CONTEXT.md before scheduling.
    #[arg(long)]
    pub reorient: bool,
    /// Reorient from $DEFER_PROJECTS_DIR/P/CONTEXT.md (implies --reorient).
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Reorient from this CONTEXT.md (implies --reorient).
    #[arg(long, value_name = "F")]
    pub context_file: Option<PathBuf>,
    /// The directory the executor starts in (recorded as an absolute path; it must exist).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Repeat: a new occurrence this long after each one (e.g. 1d, 2h, 1 week).
    #[arg(
        long,
        value_name = "DURATION",
        conflicts_with = "cron",
        allow_hyphen_values = true
    )]
    pub every: Option<String>,
    /// Repeat on a cron rule "m h dom mon dow" in DEFER_TIMEZONE (e.g. "0 9 * * 1-5").
    #[arg(long, value_name = "RULE")]
    pub cron: Option<String>,
    /// With --every/--cron: no occurrence after this time.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// With --every/--cron: stop after this many occurrences.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub count: Option<u32>,
    /// When the runner finds the task late: run it anyway (default) or skip it.
    #[arg(long, value_name = "POLICY", value_parser = parse_enum::<IfLate>)]
    pub if_late: Option<IfLate>,
    /// How late counts as late for --if-late skip (default 10m).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub late_after: Option<String>,
    /// Schedule exactly once: while a task with this key is scheduled or executing, store
    /// nothing and print that task instead (e.g. review:PR-123).
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub unique_key: Option<String>,
    /// With --unique-key: a task with the key that completed within this long counts too
    /// (e.g. 1h, 1d).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub unique_for: Option<String>,
    /// The task this one follows up (default: $DEFER_TASK_ID, the task whose executor runs
    /// this command, if set).
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
    /// Record no parent, even when run by an executor.
    #[arg(long)]
    pub no_parent: bool,
    /// An agent session id the executor may resume when the task runs (e.g. a Claude Code
    /// or Codex session id).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Print the task without storing or logging it.
    #[arg(long)]
    pub dry_run: bool,
    /// Pretty JSON of the record, even on a terminal (piped output is JSON anyway).
    #[arg(long, conflicts_with = "compact")]
    pub json: bool,
    /// One-line JSON.
    #[arg(long)]
    pub compact: bool,
}

/// Flags of `defer list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these statuses (repeatable); a terminal status also searches the archives.
    #[arg(long = "status", value_name = "S", value_parser = parse_enum::<Status>)]
    pub statuses: Vec<Status>,
    /// Every status, including archived tasks (with --series: ended series too).
    #[arg(long, conflicts_with = "statuses")]
    pub all: bool,
    /// One line per recurring series instead: its rule, next and last run, last outcome and
    /// counts.
    #[arg(long, conflicts_with_all = ["statuses", "since"])]
    pub series: bool,
    /// Only tasks listed since this: how long ago ("24h", "7d") or a past time; a finished
    /// task counts by when it finished, one still to happen by when it is due.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Only tasks scheduled with this --unique-key.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub unique_key: Option<String>,
    /// Only follow-ups of this task (tasks whose parent it is).
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
    /// Pretty JSON, even on a terminal.
    #[arg(long)]
    pub json: bool,
    /// One-line JSON.
    #[arg(long)]
    pub compact: bool,
}

/// Flags of `defer cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The task to cancel (for a recurring task: this occurrence; the next is scheduled). Its
    /// id, or a unique tail or head of it (at least 4 characters).
    #[arg(
        value_name = "ID",
        required_unless_present_any = ["series", "id_flag", "statuses", "search", "since"],
        conflicts_with_all = ["series", "id_flag"],
        add = ArgValueCompleter::new(crate::commands::complete::active_id)
    )]
    pub id: Option<String>,
    /// The same as ID (the reference tool's form).
    #[arg(
        long = "id",
        value_name = "ID",
        conflicts_with = "series",
        add = ArgValueCompleter::new(crate::commands::complete::active_id)
    )]
    pub id_flag: Option<String>,
    /// Instead of one task: every task in these statuses (repeatable; default: scheduled).
    #[arg(long = "status", value_name = "S", value_parser = parse_enum::<Status>, conflicts_with_all = ["id", "id_flag", "series"])]
    pub statuses: Vec<Status>,
    /// Instead of one task: every task whose id or summary contains this text.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true, conflicts_with_all = ["id", "id_flag", "series"])]
    pub search: Option<String>,
    /// Instead of one task: every task due since this ("24h", "7d", a past time).
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true, conflicts_with_all = ["id", "id_flag", "series"])]
    pub since: Option<String>,
    /// With --status/--search/--since: act on every match (more than one is only listed
    /// without it).
    #[arg(long)]
    pub yes: bool,

    /// End a recurring series: cancel its pending occurrence and schedule no more.
    #[arg(long, value_name = "SERIES_ID")]
    pub series: Option<String>,
    /// Why (stored as cancel_reason).
    #[arg(long, allow_hyphen_values = true)]
    pub reason: Option<String>,
    /// Pretty JSON of the record, even on a terminal (piped output is JSON anyway).
    #[arg(long, conflicts_with = "compact")]
    pub json: bool,
    /// One-line JSON.
    #[arg(long)]
    pub compact: bool,
}

/// Flags of `defer show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The task (active or archived): its id, or a unique tail or head of it.
    #[arg(add = ArgValueCompleter::new(crate::commands::complete::any_id))]
    pub id: String,
    /// Pretty JSON, even on a terminal.
    #[arg(long)]
    pub json: bool,
    /// One-line JSON.
    #[arg(long)]
    pub compact: bool,
}

/// Flags of `defer run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Print one line per task handled (and a progress bar on a terminal).
    #[arg(short, long)]
    pub verbose: bool,
    /// Keep running: wake when a task falls due or the store changes (instead of cron).
    #[arg(long)]
    pub watch: bool,
    /// Run this one scheduled task now, due or not (its record then reads as a normal run):
    /// its id, or a unique tail or head of it.
    #[arg(
        value_name = "ID",
        conflicts_with_all = ["watch", "id_flag"],
        add = ArgValueCompleter::new(crate::commands::complete::active_id)
    )]
    pub id: Option<String>,
    /// The same as ID.
    #[arg(
        long = "id",
        value_name = "ID",
        conflicts_with = "watch",
        add = ArgValueCompleter::new(crate::commands::complete::active_id)
    )]
    pub id_flag: Option<String>,
    /// With ID: the record as pretty JSON, even on a terminal.
    #[arg(long, conflicts_with = "watch")]
    pub json: bool,
    /// With --watch: look at the whole store at least this often, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "watch")]
    pub rescan: u64,
    /// Exit 1 when a task failed in this run (so cron mails it).
    #[arg(long, conflicts_with = "watch")]
    pub fail_on_task_failure: bool,
}

/// Flags of `defer reorient`.
#[derive(Debug, Args)]
pub struct ReorientArgs {
    /// Use $DEFER_PROJECTS_DIR/P/CONTEXT.md.
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Use this CONTEXT.md.
    #[arg(long, value_name = "F")]
    pub context_file: Option<PathBuf>,
    /// One-line JSON.
    #[arg(long)]
    pub compact: bool,
}

fn parse_enum<T: std::str::FromStr<Err = crate::Error>>(s: &str) -> Result<T, String> {
    s.parse::<T>().map_err(|e| e.to_string())
}

fn parse_count(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{s:?} is not a positive whole number of occurrences"
        )),
    }
}

fn parse_retries(s: &str) -> Result<u32, String> {
    s.trim()
        .parse::<u32>()
        .map_err(|_| format!("{s:?} is not a whole number of retries (use 0, 1, 2, ...)"))
}

/// `defer --when ...` without a subcommand means `defer schedule --when ...` (the reference's
/// form). Rewrites the arguments before clap sees them.
pub fn implicit_schedule(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // The global `--color WHEN` may come first: look past it.
    let mut at = 1;
    loop {
        match args.get(at).and_then(|a| a.to_str()) {
            Some("--color") => at += 2,
            Some(a) if a.starts_with("--color=") => at += 1,
            _ => break,
        }
    }
    let first = args.get(at).and_then(|a| a.to_str()).unwrap_or("");
    let is_flag = first.starts_with("--") && !matches!(first, "--help" | "--version");
    if is_flag {
        args.insert(at, "schedule".into());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::implicit_schedule;

    fn rewrite(args: &[&str]) -> Vec<String> {
        implicit_schedule(args.iter().map(Into::into).collect())
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_leading_flag_means_schedule_even_after_color() {
        assert_eq!(
            rewrite(&["defer", "--when", "1h"]),
            ["defer", "schedule", "--when", "1h"]
        );
        assert_eq!(
            rewrite(&["defer", "--color", "never", "--when", "1h"]),
            ["defer", "--color", "never", "schedule", "--when", "1h"]
        );
        assert_eq!(
            rewrite(&["defer", "--color=always", "list"]),
            ["defer", "--color=always", "list"]
        );
        assert_eq!(
            rewrite(&["defer", "--color", "never", "list"]),
            ["defer", "--color", "never", "list"]
        );
        assert_eq!(rewrite(&["defer", "--help"]), ["defer", "--help"]);
    }
}
