//! `defer run`: the cron entry point. Quiet unless `-v`, because cron mails any output.
//! `defer run --id ID` runs one scheduled task now, due or not, and prints its record.

use std::sync::Arc;

use crate::cli::RunArgs;
use crate::commands::progress;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::output;
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
    if let Some(id) = &args.id {
        return run_now(config, store, id, args.verbose);
    }
    // With -v on a terminal, a progress bar over the claimed tasks (on stderr).
    let bar = (args.verbose && progress::on_terminal())
        .then(|| Arc::new(progress::RunBar(progress::counter("tasks"))));
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
            progress: bar.clone().map(|b| b as Arc<dyn runner::Progress>),
        },
    );
    if let Some(bar) = &bar {
        bar.0.finish_and_clear();
    }
    let report = report?;
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

/// `defer run --id ID`: claim the scheduled task now (holding the runner lock), run it as a
/// normal wake would, print its record and say on stderr how it ended.
fn run_now(config: &Config, store: &dyn Store, id: &str, verbose: bool) -> Result<()> {
    let report = runner::run_one(
        config,
        store,
        id,
        &RunOptions {
            verbose,
            watch: false,
            stop: Some(runner::stop_on_signals()),
            progress: None,
        },
    )?;
    if verbose {
        println!("{report}");
    }
    let Some(record) = store.show(id)? else {
        return Err(Error::NotFound(id.to_string()));
    };
    let status = record
        .get("status")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("unknown");
    let how = match status {
        "scheduled" => "it failed and is scheduled to retry",
        "completed" => "completed",
        "failed" => "failed",
        _ => status,
    };
    eprintln!("ran {} now: {}", output::escape(id), output::escape(how));
    output::print_json(&record, false)
}
