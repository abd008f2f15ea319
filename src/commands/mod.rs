//! One file per command: each turns parsed arguments into library calls and prints.

pub mod archive;
pub mod bulk;
pub mod cancel;
pub mod check;
pub mod complete;
pub mod completions;
pub mod cron;
pub mod db;
pub mod doctor;
pub mod list;
pub mod logs;
pub mod mcp;
pub mod pause;
pub mod progress;
pub mod prune;
pub mod reorient;
pub mod reschedule;
pub mod retry;
pub mod run;
pub mod schedule;
pub mod serve;
pub mod show;
pub mod time;
pub mod transfer;
pub mod view;
pub mod why;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::store;

/// Runs one parsed command line. The store is opened only by commands that use one, so
/// `defer time` or `defer reorient` never touch the runtime dir or connect to a database.
pub fn dispatch(cli: Cli, config: &Config) -> Result<()> {
    // Every command that uses the store refuses a runtime dir other users can write to.
    let open = || {
        config.check_permissions()?;
        store::open(config)
    };
    match cli.command {
        Command::Schedule(args) => schedule::run(config, &*open()?, args),
        Command::List(args) => list::run(config, &*open()?, args, cli.color),
        Command::Cancel(args) => cancel::run(config, &*open()?, args),
        Command::Show(args) => show::run(config, &*open()?, args, cli.color),
        Command::Logs(args) => logs::run(config, &*open()?, args),
        Command::Retry(args) => retry::run(config, &*open()?, args),
        Command::Reschedule(args) => reschedule::run(config, &*open()?, args),
        Command::Run(args) => run::run(config, &*open()?, args),
        Command::Pause(args) => pause::pause(config, &*open()?, args),
        Command::Resume => pause::resume(config, &*open()?),
        Command::Archive => archive::run(config, &*open()?),
        Command::Prune(args) => prune::run(config, &*open()?, args),
        Command::Check => check::run(&*open()?),
        Command::Export(args) => transfer::export(&*open()?, args),
        Command::Import(args) => transfer::import(config, &*open()?, args),
        Command::Db { command } => db::run(config, command),
        Command::Cron(args) => cron::run(config, args),
        Command::Time { command } => time::run(config, command),
        Command::Reorient(args) => reorient::run(config, args),
        Command::Mcp => mcp::run(config, open()?),
        // The login link needs the token file only: an unreachable store must not hide it.
        Command::Serve(args) if args.print_login => serve::print_login(config, &args),
        Command::Serve(args) => serve::run(config, open()?, args),
        // doctor opens the store itself: an unreachable store is one of its findings.
        Command::Doctor(args) => doctor::run(config, args),
        Command::Why(args) => why::run(config, &*open()?, args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
    }
}

/// How a command that changed a task says so on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// On a terminal without `--json`/`--compact`: one line, the id shortened.
    Line,
    /// Piped, or asked for: the record as JSON (the confirmation on stderr), as scripts and
    /// the reference tool's users have always read it.
    Json { compact: bool },
}

impl Shape {
    fn of(json: bool, compact: bool) -> Shape {
        use std::io::IsTerminal;
        if json || compact || !std::io::stdout().is_terminal() {
            Shape::Json { compact }
        } else {
            Shape::Line
        }
    }
}

/// Warnings on stderr; then, by `shape`, the confirmation on stdout with the task's id
/// shortened to a tail [`crate::ops::resolve`] takes back, or the confirmation on stderr and
/// the record on stdout.
fn report(
    store: &dyn store::Store,
    task: &crate::record::Task,
    message: &str,
    warnings: &[String],
    shape: Shape,
) -> Result<()> {
    report_record(store, &task.id, message, warnings, shape, &|compact| {
        if compact {
            task.to_line()
        } else {
            task.to_pretty()
        }
    })
}

/// [`report`] for a record held as JSON: `record(compact)` gives its text.
fn report_record(
    store: &dyn store::Store,
    id: &str,
    message: &str,
    warnings: &[String],
    shape: Shape,
    record: &dyn Fn(bool) -> String,
) -> Result<()> {
    for warning in warnings {
        eprintln!("warning: {}", output::escape(warning));
    }
    match shape {
        Shape::Line => {
            let short = crate::ops::resolve::short_id(store, id)?;
            output::print(&output::escape(&message.replacen(id, &short, 1)))
        }
        Shape::Json { compact } => {
            eprintln!("{}", output::escape(message));
            output::print(&record(compact))
        }
    }
}
