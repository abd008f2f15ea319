//! One file per command: each turns parsed arguments into library calls and prints.

pub mod archive;
pub mod cancel;
pub mod check;
pub mod cron;
pub mod list;
pub mod reorient;
pub mod run;
pub mod schedule;
pub mod show;
pub mod time;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::error::Result;
use crate::store::{JsonlStore, Store};

/// Runs one parsed command line against the configured store.
pub fn dispatch(cli: Cli, config: &Config) -> Result<()> {
    let store = JsonlStore::new(config);
    let store: &dyn Store = &store;
    match cli.command {
        Command::Schedule(args) => schedule::run(config, store, args),
        Command::List(args) => list::run(store, args),
        Command::Cancel(args) => cancel::run(config, store, args),
        Command::Show(args) => show::run(store, args),
        Command::Run(args) => run::run(config, store, args),
        Command::Archive => archive::run(config, store),
        Command::Cron => cron::run(config),
        Command::Check => check::run(store),
        Command::Time { command } => time::run(config, command),
        Command::Reorient(args) => reorient::run(config, args),
    }
}
