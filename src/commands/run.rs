//! `defer run`: the cron entry point. Quiet unless `-v`, because cron mails any output.
//! `defer run --id ID` runs one scheduled task now, due or not, and prints its record.

use std::io::IsTerminal;
use std::sync::Arc;

use crate::cli::RunArgs;
use crate::commands::progress;
use crate::config::Config;
use crate::error::Result;
use crate::ops::resolve::{Scope, resolve};
use crate::ops::run_now::{RunNowRequest, run_now};
use crate::output;
use crate::runner::{self, RunOptions};
use crate::store::Store;

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: RunArgs) -> Result<()> {
    if args.watch {
        if config.clock.is_fixed() {
            return Err(crate::Error::FixedClock {
                command: "defer run --watch",
            });
        }
        let rescan = std::time::Duration::from_secs(args.rescan.max(1));
        if args.verbose || std::io::stderr().is_terminal() {
            eprintln!("{}", output::escape(&runner::start_line(config)));
        }
        return runner::watch(config, store, args.verbose, rescan);
    }
    if let Some(typed) = args.id.as_ref().or(args.id_flag.as_ref()) {
        let id = resolve(store, typed, Scope::Active)?;
        let shape = super::Shape::of(args.json, false);
        return run_now_cli(config, store, &id, args.verbose, shape);
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
            observer: None,
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
            if let Some(pause) = &report.paused {
                println!(
                    "{}: claimed nothing",
                    crate::ops::pause::describe_local(config, pause)
                );
            }
            println!("{report}");
        }
    }
    if report.unstarted > 0 {
        // Cron mails a failed run: the host needs attention, the tasks wait unharmed.
        return Err(crate::Error::Failed(crate::error::Failure::NotStarted {
            count: report.unstarted,
            error: report
                .unstarted_error
                .clone()
                .unwrap_or_else(|| "the prompt artifact was not written".into()),
        }));
    }
    if args.fail_on_task_failure && report.failed > 0 {
        return Err(crate::Error::Failed(crate::error::Failure::TasksFailed {
            count: report.failed,
        }));
    }
    Ok(())
}

/// `defer run --id ID`: claim the scheduled task now (holding the runner lock), run it as a
/// normal wake would, print its record and say on stderr how it ended.
fn run_now_cli(
    config: &Config,
    store: &dyn Store,
    id: &str,
    verbose: bool,
    shape: super::Shape,
) -> Result<()> {
    let reply = run_now(
        config,
        store,
        &RunNowRequest { id: id.to_string() },
        &RunOptions {
            verbose,
            watch: false,
            stop: Some(runner::stop_on_signals()),
            progress: None,
            observer: None,
        },
    )?;
    if verbose {
        println!("{}", reply.report);
    }
    super::report_record(store, id, &reply.message, &[], shape, &|compact| {
        output::json(&reply.task, compact)
    })
}
