//! `defer cron`: print the crontab line for this binary and this shell's settings, or
//! `install` / `uninstall` it, over [`crate::setup::cron`].

use crate::cli::{CronArgs, CronCommand};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::output;
use crate::setup::cron::{self, Crontab, Extra, Installed};

/// The CLI: print the line, or install / uninstall it.
pub fn run(config: &Config, args: CronArgs) -> Result<()> {
    let binary = std::env::current_exe().map_err(Error::io("locating", "the defer binary"))?;
    let shell = |name: &str| std::env::var_os(name);
    let crontab = Crontab::from_config(config);
    // Said once the line is made: when it cannot be, the error is the only line printed.
    let note_fixed_clock = || {
        if config.clock.is_fixed() {
            eprintln!("note: DEFER_NOW is set; it is left out of the crontab line");
        }
    };
    match args.command {
        None => {
            let line = cron::current_line(config, &binary, &shell, &Extra::default())?;
            note_fixed_clock();
            output::print(&line)
        }
        Some(CronCommand::Install {
            env,
            fail_on_task_failure,
        }) => {
            let done = cron::install(
                config,
                &crontab,
                &binary,
                &shell,
                &env,
                fail_on_task_failure,
            )?;
            note_fixed_clock();
            if !done.changed {
                eprintln!("the agent-defer line is already in your crontab; nothing changed");
            } else {
                eprintln!(
                    "{} the agent-defer line in your crontab: `defer run` every minute \
                     (`defer cron uninstall` removes it)",
                    if done.was_there { "replaced" } else { "added" }
                );
            }
            warn_untagged(&done);
            output::print(done.line.as_deref().unwrap_or_default())
        }
        Some(CronCommand::Uninstall) => {
            let done = cron::uninstall(&crontab)?;
            if done.changed {
                eprintln!("removed the agent-defer line from your crontab");
            } else {
                eprintln!("no agent-defer line in your crontab; nothing changed");
            }
            warn_untagged(&done);
            Ok(())
        }
    }
}

/// Two runners are harmless (the second steps aside) but rarely intended: say so, touching
/// nothing.
fn warn_untagged(done: &Installed) {
    for n in &done.untagged {
        eprintln!(
            "note: line {n} of your crontab also runs `defer run` and is not managed by `defer \
             cron`; edit it with `crontab -e` if it is not wanted"
        );
    }
}
