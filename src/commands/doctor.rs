//! `defer doctor`: the CLI over [`crate::ops::doctor`].

use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::error::{Error, Failure, Result};
use crate::ops::doctor::doctor;
use crate::output;

/// The CLI: one line per check (or a JSON array); exit 1 when any check found a problem.
pub fn run(config: &Config, args: DoctorArgs) -> Result<()> {
    // The shell's own variables, to compare with what the runner's line or unit sets.
    let reply = doctor(config, &|name| std::env::var_os(name));
    if args.json {
        output::print_json(&reply.findings, false)?;
    } else {
        for f in &reply.findings {
            // Findings quote ids, summaries and executor errors from the store: escaped, so a
            // hand-edited record cannot send escape sequences to the terminal.
            output::print(&format!(
                "{}: {}",
                f.level.prefix(),
                output::escape(&f.message)
            ))?;
        }
    }
    match reply.problems() {
        0 => Ok(()),
        count => Err(Error::Failed(Failure::Checks { count })),
    }
}
