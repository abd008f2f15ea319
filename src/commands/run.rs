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
            // SIGTERM, SIGINT or SIGHUP: running executors finish and are recorded (each
            // bounded by DEFER_EXECUTOR_TIMEOUT_SECONDS), claimed tasks not yet started go
            // back to `scheduled` unchanged.
            stop: Some(runner::stop_on_signals()),
        },
    )?;
    if report.released > 0 {
        eprintln!(
            "defer: stopped by a signal: running executors finished and were recorded; {} \
             claimed task(s) that had not started are scheduled again",
            report.released
        );
    }
    if args.verbose {
        if report.skipped {
            println!("skipped: another runner holds the lock");
        } else {
            println!("{report}");
        }
    }
    if report.unstarted > 0 {
        // Cron mails a failed run: the host needs attention, the tasks wait unharmed.
        return Err(crate::Error::Invalid(format!(
            "{} due task(s) could not start and stay scheduled with no attempt spent: {}",
            report.unstarted,
            report
                .unstarted_error
                .as_deref()
                .unwrap_or("the prompt artifact was not written")
        )));
    }
    if args.fail_on_task_failure && report.failed > 0 {
        return Err(crate::Error::Invalid(format!(
            "{} task(s) failed in this run; `defer list --status failed` lists them and \
             `defer why ID` explains each",
            report.failed
        )));
    }
    Ok(())
}
