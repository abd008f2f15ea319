//! agent-defer: a time-based re-entry primitive for AI agents and people.
//!
//! An agent captures a compact snapshot of intent and a time ("30m", "tomorrow 9am"); the
//! task is stored as one JSON line; a runner woken by cron claims due tasks, writes a
//! rehydration prompt for each, hands it to an executor if one is configured, and archives
//! what finished. The `defer` binary is a thin layer over this library. See
//! `docs/ARCHITECTURE.md` for which module owns what.

// The MCP task-record schema is one large `serde_json::json!` literal.
#![recursion_limit = "256"]

pub mod audit;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod error;
pub mod failpoint;
pub mod fsutil;
pub mod lifecycle;
pub mod lock;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod ops;
pub mod output;
pub mod process;
pub mod record;
pub mod recur;
pub mod reorient;
pub mod runner;
#[cfg(feature = "serve")]
pub mod serve;
pub mod setup;
pub mod store;
pub mod wake;
pub mod when;
pub mod zoneinfo;

pub use config::Config;
pub use error::{Error, Result};

/// Runs a parsed command line with the environment's configuration.
pub fn run(cli: cli::Cli) -> Result<()> {
    // Completion scripts and the manual need no configuration (a bad DEFER_TIMEZONE must not
    // stop a shell from loading its completions).
    match &cli.command {
        cli::Command::Completions(args) => return commands::completions::completions(args),
        cli::Command::Man(args) => return commands::completions::man(args),
        _ => {}
    }
    let config = Config::from_env()?;
    commands::dispatch(cli, &config)
}
