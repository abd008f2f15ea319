//! The `defer` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use clap_complete::CompleteEnv;

use agent_defer::cli::{Cli, implicit_schedule};
use agent_defer::error::ErrorKind as Kind;

fn main() -> ExitCode {
    // A shell asking for completions (`COMPLETE=bash defer -- defer show ta`): answer, exit.
    // Checked first by hand: `complete()` collects the arguments and asks for the current
    // directory before it looks at the variable, work every other start would pay for.
    if std::env::var_os(agent_defer::commands::completions::COMPLETE_VAR).is_some() {
        CompleteEnv::with_factory(Cli::command)
            .var(agent_defer::commands::completions::COMPLETE_VAR)
            .complete();
    }
    let args = implicit_schedule(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match agent_defer::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // An error can quote stored or executor text (an id, a serde message): escaped, so
            // it stays one line and sends no escape sequence to the terminal.
            eprintln!(
                "error: {}",
                agent_defer::output::escape(&agent_defer::error::chain(&e))
            );
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

/// The exit code for each kind of error (README, "Exit codes"): 1 when the request was
/// refused or the command reports a failure, 3 when trying again later may work, 4 when the
/// host needs attention. 2 is clap's, for a command line that does not parse.
fn exit_code(kind: Kind) -> u8 {
    match kind {
        Kind::BadArgument | Kind::NotFound | Kind::WrongStatus | Kind::Conflict | Kind::Failed => 1,
        Kind::Unavailable => 3,
        Kind::Permission | Kind::Internal => 4,
    }
}

/// Help and version print as clap formats them; a real usage error becomes one line.
fn usage_error(e: clap::Error) -> ExitCode {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = e.render().to_string();
    let body = rendered
        .split("\n\nUsage:")
        .next()
        .unwrap_or(&rendered)
        .split("\n\nFor more information")
        .next()
        .unwrap_or(&rendered);
    let one_line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let one_line = one_line.strip_prefix("error: ").unwrap_or(&one_line);
    eprintln!("error: {one_line} (see `defer --help`)");
    ExitCode::from(2)
}
