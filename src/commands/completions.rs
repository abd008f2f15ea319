//! `defer completions SHELL` and `defer man`: both printed from the clap definitions in
//! `cli.rs`, so they list exactly the commands and flags the binary accepts.
//!
//! The completion scripts are clap_complete's dynamic ones: the shell calls
//! `COMPLETE=<shell> defer -- <words>` on each Tab, so flags, values and task ids
//! (`commands/complete.rs`) come from the installed binary itself. `main` answers those calls
//! before parsing the command line.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::cli::{Cli, CompletionsArgs, ManArgs, Shell};
use crate::error::{Error, Result};

/// The environment variable the scripts set when they call `defer` back.
pub const COMPLETE_VAR: &str = "COMPLETE";

/// The CLI: `defer completions SHELL`.
pub fn completions(args: &CompletionsArgs) -> Result<()> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Elvish => &Elvish,
        Shell::Powershell => &Powershell,
    };
    let mut script = Vec::new();
    shell
        .write_registration(COMPLETE_VAR, "defer", "defer", "defer", &mut script)
        .map_err(Error::io("writing", "the completion script"))?;
    write_stdout(&script)
}

/// The CLI: `defer man [COMMAND]`.
pub fn man(args: &ManArgs) -> Result<()> {
    let mut cli = Cli::command().disable_help_subcommand(true);
    // Built, each subcommand knows its full name (`defer-schedule`) and usage.
    cli.build();
    let command = match &args.command {
        None => cli,
        Some(name) => cli
            .find_subcommand(name)
            .filter(|c| !c.is_hide_set())
            .cloned()
            .ok_or_else(|| {
                Error::invalid_arg(
                    crate::error::Arg::Command,
                    name.clone(),
                    "no such command; `defer --help` lists them",
                    None,
                )
            })?,
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(Error::io("writing", "the manual page"))?;
    write_stdout(&page)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("writing", "stdout")(e))
        }
        _ => Ok(()),
    }
}
