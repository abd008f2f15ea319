//! `defer pause` / `defer resume`: the CLI over [`crate::ops::pause`].

use crate::cli::PauseArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::pause::{self, PauseRequest, ResumeRequest};
use crate::output;
use crate::store::Store;

/// The CLI: the pause as JSON on stdout, a sentence on stderr.
pub fn pause(config: &Config, store: &dyn Store, args: PauseArgs) -> Result<()> {
    let reply = pause::pause(config, store, &PauseRequest { until: args.until })?;
    eprintln!("{}", reply.message);
    output::print_json(&reply.pause, false)
}

/// The CLI.
pub fn resume(config: &Config, store: &dyn Store) -> Result<()> {
    let reply = pause::resume(config, store, &ResumeRequest {})?;
    eprintln!("{}", reply.message);
    Ok(())
}
