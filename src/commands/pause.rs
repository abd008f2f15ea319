//! `defer pause` / `defer resume`: the CLI over [`crate::ops::pause`].

use crate::cli::PauseArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops;
use crate::output;
use crate::store::Store;

/// The CLI: the pause as JSON on stdout, a sentence on stderr.
pub fn pause(config: &Config, store: &dyn Store, args: &PauseArgs) -> Result<()> {
    let pause = ops::pause::pause(config, store, args.until.as_deref())?;
    match pause.until {
        Some(until) => eprintln!("paused: runners claim nothing until {until}"),
        None => eprintln!("paused: runners claim nothing until `defer resume`"),
    }
    output::print_json(&pause, false)
}

/// The CLI.
pub fn resume(config: &Config, store: &dyn Store) -> Result<()> {
    if ops::pause::resume(config, store)? {
        eprintln!("resumed: the next wake runs what is due");
    } else {
        eprintln!("not paused; nothing to resume");
    }
    Ok(())
}
