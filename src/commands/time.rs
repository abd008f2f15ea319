//! `defer time normalize|epoch EXPR`: what an expression means, without scheduling.

use crate::cli::TimeCommand;
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::record::Stamp;
use crate::when;

/// The CLI.
pub fn run(config: &Config, command: TimeCommand) -> Result<()> {
    let now = config.clock.now_zoned();
    match command {
        TimeCommand::Normalize { expr } => {
            let at = when::parse(&expr, &now)?;
            output::print(&Stamp(at.timestamp()).to_string())
        }
        TimeCommand::Epoch { expr } => {
            let at = when::parse(&expr, &now)?;
            output::print(&at.timestamp().as_second().to_string())
        }
    }
}
