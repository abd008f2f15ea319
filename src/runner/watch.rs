//! `defer run --watch`: the long-lived runner that sleeps until the next due time or a change.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::wake::{record_fault, record_wake};
use super::{Observer, RunOptions, pass, unix};
use crate::audit::AuditLog;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::{RunnerLock, Store};

/// `defer run --watch`: one long-lived runner that holds the runner lock (cron runs step
/// aside while it lives) and makes a pass whenever a task falls due or the store changes.
///
/// It sleeps until the earliest `run_at`, but never longer than `rescan` (a safety net), and
/// wakes early when the store changes: the store is polled for changes every 200 ms (a
/// `stat` of the file, which also notices a replaced file; `LISTEN` for PostgreSQL), so a
/// task scheduled for "now" starts within about a quarter of a second. SIGTERM or SIGINT stops
/// it cleanly: running executors finish and are recorded, claimed tasks not yet started are
/// released, and the lock is let go.
pub fn watch(config: &Config, store: &dyn Store, verbose: bool, rescan: Duration) -> Result<()> {
    watch_observed(config, store, verbose, rescan, None)
}

/// [`watch`], telling `observer` of every outcome it records: `defer serve --run` counts
/// them for `/metrics`.
pub fn watch_observed(
    config: &Config,
    store: &dyn Store,
    verbose: bool,
    rescan: Duration,
    observer: Option<Arc<dyn Observer>>,
) -> Result<()> {
    let stop = unix::stop_on_signals();
    let options = RunOptions {
        verbose,
        watch: true,
        stop: Some(stop),
        progress: None,
        observer,
    };
    let mut audit = AuditLog::new(&config.log_file);
    let mut faults = Faults::default();
    let mut polled_said = false;
    'lock: while !stop.load(Ordering::Relaxed) {
        let Some(lock) = wait_for_lock(store, stop, &mut faults, config, &mut audit)? else {
            break;
        };
        unix::become_subreaper();
        audit.log(
            config.clock.now(),
            "watch started",
            &[("pid", &std::process::id().to_string())],
        );
        // Listen before the first pass: a task scheduled while that pass runs would otherwise
        // change the store before anything listened, and wait for the next rescan. What the
        // first pass writes itself costs one extra pass; an error here is the first wait's to
        // report.
        let _ = store.wait_for_change(Duration::ZERO);
        while !stop.load(Ordering::Relaxed) {
            // A wake that went through clears a run of faults at once, before the sleep.
            let outcome = config
                .check_permissions()
                .and_then(|()| wake_once(config, store, &*lock, &options, &mut audit))
                .and_then(|pass| match pass {
                    Pass::Done(report) => {
                        faults.cleared(config, &mut audit);
                        sleep_until_next(config, store, &options, &report, rescan)?;
                        Ok(Pass::Slept)
                    }
                    other => Ok(other),
                });
            if !polled_said && let Some(why) = store.change_watch() {
                // Said once: every wake would say the same.
                polled_said = true;
                if verbose {
                    eprintln!("defer: {}", crate::output::escape(&why));
                }
                super::wake::record_polled(config, &why);
            }
            match outcome {
                Ok(Pass::Slept | Pass::Done(_)) => {}
                // A host fault left due tasks waiting (a full disk): reported like any other.
                Ok(Pass::NotStarted(error)) => {
                    faults.failed(config, &mut audit, &error, stop, verbose);
                }
                Err(e) if !recoverable(&e) => {
                    let error = crate::error::chain(&e);
                    faults.record(config, &error);
                    audit.log(
                        config.clock.now(),
                        "runner stopped",
                        &[("reason", "unrecoverable"), ("error", &error)],
                    );
                    return Err(e);
                }
                Err(Error::RunnerLockLost) => {
                    // Another runner may have taken the new lock file: wait for the lock again.
                    faults.failed(
                        config,
                        &mut audit,
                        &Error::RunnerLockLost.to_string(),
                        stop,
                        verbose,
                    );
                    continue 'lock;
                }
                Err(e) => {
                    let error = crate::error::chain(&e);
                    faults.failed(config, &mut audit, &error, stop, verbose);
                }
            }
        }
    }
    audit.log(
        config.clock.now(),
        "watch stopped",
        &[("pid", &std::process::id().to_string())],
    );
    Ok(())
}

/// What a watcher says when it starts (on stderr, when that is a terminal or with `-v`):
/// which store, zone, concurrency and executor, so a person knows what it is about to do.
pub fn start_line(config: &Config) -> String {
    let executor = config.executor.as_ref().map_or_else(
        || "no executor: each due task gets its prompt file only".to_string(),
        |e| format!("executor {}", e.display()),
    );
    format!(
        "defer: watching {} (zone {}, concurrency {}, {executor}); Ctrl-C stops it after \
         running executors finish",
        crate::ops::doctor::describe_store(config),
        config.clock.zone_name(),
        config.concurrency,
    )
}

/// What a watcher does when a wake fails (a missing executor, a full disk, the lock file
/// deleted, no descriptors left, an unreachable database): it says so on stderr and in the
/// audit log, records it in the wake record (which `doctor`, `/api/v1/health` and the
/// dashboard read, with the error and since when), and tries again after a pause that doubles
/// up to [`MAX_BACKOFF`]. The tasks stay as they are. Only a fault no retry can mend (a
/// setting of its own configuration, a panic) ends the watcher, with a non-zero exit, so the
/// unit that runs it (or `defer serve`, which then stops too) restarts it.
fn recoverable(e: &Error) -> bool {
    !matches!(e.kind(), crate::error::ErrorKind::BadArgument)
        && !matches!(e, Error::Panicked { .. })
}

/// The first wait after a failed wake; it doubles up to the cap.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The run of failed wakes, if any.
#[derive(Debug, Default)]
struct Faults {
    count: u32,
    since: Option<jiff::Timestamp>,
}

impl Faults {
    /// One more failed wake: report it, record it, wait before the next.
    fn failed(
        &mut self,
        config: &Config,
        audit: &mut AuditLog,
        error: &str,
        stop: &std::sync::atomic::AtomicBool,
        verbose: bool,
    ) {
        self.count = self.count.saturating_add(1);
        let since = *self.since.get_or_insert_with(|| config.clock.now());
        let wait = FIRST_BACKOFF
            .saturating_mul(1 << (self.count - 1).min(7))
            .min(MAX_BACKOFF);
        eprintln!(
            "defer: the runner's wake failed ({error}); trying again in {}s (failing since {})",
            wait.as_secs().max(1),
            crate::record::Stamp(since)
        );
        if verbose {
            println!("wake failed: {error}");
        }
        audit.log(
            config.clock.now(),
            "runner fault",
            &[
                ("error", error),
                ("retry_in", &wait.as_secs().max(1).to_string()),
            ],
        );
        self.record(config, error);
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Writes the fault into the wake record.
    fn record(&self, config: &Config, error: &str) {
        let since = self.since.unwrap_or_else(|| config.clock.now());
        record_fault(
            config,
            Some(super::wake::Fault {
                error: error.to_string(),
                since: crate::record::Stamp(since),
                failures: self.count,
            }),
        );
    }

    /// A wake went through: a run of faults is over.
    fn cleared(&mut self, config: &Config, audit: &mut AuditLog) {
        if self.count == 0 {
            return;
        }
        eprintln!(
            "defer: the runner's wakes work again after {} failure(s)",
            self.count
        );
        audit.log(
            config.clock.now(),
            "runner recovered",
            &[("failures", &self.count.to_string())],
        );
        *self = Faults::default();
        record_fault(config, None);
    }
}

/// Takes the runner lock, waiting while another runner holds it; `None` when asked to stop
/// first. A store that cannot be asked (a database away) is a fault like any other.
fn wait_for_lock(
    store: &dyn Store,
    stop: &std::sync::atomic::AtomicBool,
    faults: &mut Faults,
    config: &Config,
    audit: &mut AuditLog,
) -> Result<Option<Box<dyn RunnerLock>>> {
    let mut waiting_logged = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        match store.try_runner_lock() {
            Ok(Some(lock)) => return Ok(Some(lock)),
            Ok(None) => {
                if !waiting_logged {
                    eprintln!("defer: another runner holds the lock; waiting for it to finish");
                    waiting_logged = true;
                }
                record_wake(config, true, true);
                thread::sleep(Duration::from_millis(200));
            }
            Err(e) if recoverable(&e) => {
                faults.failed(config, audit, &crate::error::chain(&e), stop, false);
            }
            Err(e) => return Err(e),
        }
    }
}

/// What a pass came to.
enum Pass {
    Done(super::RunReport),
    /// Done, and the sleep after it is over.
    Slept,
    /// Due tasks could not start for a reason of the host's; the error says why.
    NotStarted(String),
}

/// One pass.
fn wake_once(
    config: &Config,
    store: &dyn Store,
    lock: &dyn RunnerLock,
    options: &RunOptions,
    audit: &mut AuditLog,
) -> Result<Pass> {
    record_wake(config, true, false);
    let report = pass(config, store, lock, options, audit)?;
    if report.unstarted > 0 {
        let error = report
            .unstarted_error
            .clone()
            .unwrap_or_else(|| "a due task could not start".into());
        return Ok(Pass::NotStarted(error));
    }
    if options.verbose && report.claimed + report.recovered + report.archived > 0 {
        println!("{report}");
    }
    Ok(Pass::Done(report))
}

/// The sleep after a pass: until the next due time, a change, the rescan or a stop. The
/// store's wait sleeps in the kernel (a file notification, a `NOTIFY`, a stop signal all wake
/// it), so an idle watcher wakes once per rescan, not on a timer.
fn sleep_until_next(
    config: &Config,
    store: &dyn Store,
    options: &RunOptions,
    report: &super::RunReport,
    rescan: Duration,
) -> Result<()> {
    let now = config.clock.now();
    let until = |at: jiff::Timestamp| time_until(now, at);
    let mut sleep = rescan;
    if let Some(pause) = &report.paused {
        // Paused: a resume is a change of the store's pause record, which wakes the wait;
        // a pause that ends by itself ends the sleep.
        if let Some(end) = pause.until {
            sleep = sleep.min(until(end.timestamp()));
        }
    } else {
        // The same look an idle wake takes, where the store has one: its statement is then
        // ready for the wakes to come.
        let next = match store.quick_look()? {
            Some(look) => look.next_due,
            None => store.next_due()?,
        };
        if let Some(due) = next {
            sleep = sleep.min(until(due));
        }
        if let Some(every) = store.rescue_interval() {
            // Claims of runners that died are rescued by a pass; look often enough.
            sleep = sleep.min(every);
        }
    }
    let mut deadline = Instant::now() + sleep;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if options.stopping() {
            return Ok(());
        }
        if left.is_zero() {
            // The sleep ran out with nothing heard. Where one look costs less than a pass (a
            // database), look first; a pass only if it would find work.
            let Some(look) = store.quick_look()? else {
                return Ok(());
            };
            let now = config.clock.now();
            let Some(sleep) = quiet_for(&look, now, rescan) else {
                return Ok(());
            };
            record_wake(config, true, false);
            deadline = Instant::now() + sleep;
            continue;
        }
        if store.wait_for_change(left)? {
            return Ok(());
        }
    }
}

/// From `now` to `at`; nothing once it has passed.
fn time_until(now: jiff::Timestamp, at: jiff::Timestamp) -> Duration {
    Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// How long a watcher may sleep on after `look` at `now` without a pass, or `None` when a
/// pass has work: a task due, a task executing or finished but not archived. A pause in force
/// holds claims back until it ends; a change of it is heard like any other.
fn quiet_for(
    look: &crate::store::QuickLook,
    now: jiff::Timestamp,
    rescan: Duration,
) -> Option<Duration> {
    let until = |at: jiff::Timestamp| time_until(now, at);
    if look.unsettled {
        return None;
    }
    let mut sleep = rescan;
    match crate::lifecycle::pause::in_force(look.pause.as_ref(), now) {
        Some(pause) => {
            if let Some(end) = pause.until {
                sleep = sleep.min(until(end.timestamp()));
            }
        }
        None => {
            if let Some(due) = look.next_due {
                sleep = sleep.min(until(due));
            }
        }
    }
    (!sleep.is_zero()).then_some(sleep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Pause;
    use crate::record::Stamp;
    use crate::store::QuickLook;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn an_idle_look_sleeps_on_until_the_next_due_time_and_work_ends_the_sleep() {
        let now = at("2026-12-07T12:00:00Z");
        let rescan = Duration::from_secs(60);
        let empty = QuickLook::default();
        assert_eq!(quiet_for(&empty, now, rescan), Some(rescan));
        let soon = QuickLook {
            next_due: Some(at("2026-12-07T12:00:10Z")),
            ..QuickLook::default()
        };
        assert_eq!(quiet_for(&soon, now, rescan), Some(Duration::from_secs(10)));
        let due = QuickLook {
            next_due: Some(now),
            ..QuickLook::default()
        };
        assert_eq!(
            quiet_for(&due, now, rescan),
            None,
            "a due task needs a pass"
        );
        let unsettled = QuickLook {
            unsettled: true,
            ..QuickLook::default()
        };
        assert_eq!(
            quiet_for(&unsettled, now, rescan),
            None,
            "work to recover or archive"
        );
        // Paused: due tasks wait for the pause's end; an ended pause holds nothing back.
        let paused = QuickLook {
            next_due: Some(now),
            pause: Some(Pause {
                since: Stamp(now),
                until: Some(Stamp(at("2026-12-07T12:00:30Z"))),
            }),
            ..QuickLook::default()
        };
        assert_eq!(
            quiet_for(&paused, now, rescan),
            Some(Duration::from_secs(30))
        );
        let ended = QuickLook {
            pause: Some(Pause {
                since: Stamp(now),
                until: Some(Stamp(now)),
            }),
            ..paused
        };
        assert_eq!(quiet_for(&ended, now, rescan), None);
    }
}
