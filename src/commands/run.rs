//! `defer run`: the cron entry point. Quiet unless `-v`, because cron mails any output.

use crate::cli::RunArgs;
use crate::config::Config;
use crate::error::Result;
use crate::runner::{self, RunOptions};
use crate::store::Store;

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: RunArgs) -> Result<()> {
    if args.watch {
        if config.clock.is_fixed() {
            return Err(crate::Error::Invalid(
                "defer run --watch needs the real clock; unset DEFER_NOW".into(),
            ));
        }
        let rescan = std::time::Duration::from_secs(args.rescan.max(1));
        return runner::watch(config, store, args.verbose, rescan);
    }
    let report = runner::run(
        config,
        store,
        &RunOptions {
            verbose: args.verbose,
            watch: false,
            stop: None,
        },
    )?;
    if args.verbose {
        if report.skipped {
            println!("skipped: another runner holds the lock");
        } else {
            println!("{report}");
        }
    }
    Ok(())
}
