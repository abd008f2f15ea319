//! `defer reorient`: print the snapshot a CONTEXT.md yields.

use crate::cli::ReorientArgs;
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::reorient::{self, Lookup};

/// The CLI.
pub fn run(config: &Config, args: ReorientArgs) -> Result<()> {
    let snapshot = reorient::build(
        config,
        &Lookup {
            context_file: args.context_file.as_deref(),
            project: args.project.as_deref(),
        },
    )?;
    output::print_json(&snapshot, args.compact)
}
