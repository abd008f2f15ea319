//! `doctor`: what the runner will do on this host, and whether something needs the user's
//! attention (the CLI's `defer doctor`, the API's health route, the dashboard's health page).
//!
//! A scheduler that silently does nothing is the failure users meet most, and the hardest to
//! see: nothing happens, and nothing says why. Each check here looks at one link of the chain
//! from "a task is due" to "it ran" — the zone and clock, the store, the last recorded wake of
//! the runner, whatever is meant to wake it (a crontab line, a watcher unit), the executor,
//! the due and executing tasks, malformed lines — and says in one line what it found and how
//! to fix it. Doctor only looks: it never changes the store, the crontab or a unit.
//!
//! The runner lock probe at the end is shared with `why`, which asks the same questions about
//! one task.

use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Result, chain};
use crate::record::{Stamp, Status};
use crate::runner::{self, Wake, executor};
use crate::setup::cron::{self, Crontab};
use crate::store::{self, Query, Store};
use crate::when;

mod settings;

/// A wake older than this, while tasks wait, means nothing is waking the runner: cron wakes it
/// every minute and a watcher within a second of a due time.
const STALE_WAKE_SECS: i64 = 5 * 60;
/// How late a due task may be before it counts as missed rather than "for the next wake".
const OVERDUE_SECS: i64 = 5 * 60;
/// A due task is "waiting" once it is later than one cron interval.
const CRON_INTERVAL_SECS: i64 = 60;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing to do.
    Ok,
    /// Worth knowing; nothing is lost yet.
    Warn,
    /// Tasks will not run (or have not) until the user acts: doctor exits 1.
    Problem,
}

impl Level {
    /// `ok`, `warn` or `problem`: how the CLI starts the finding's line.
    pub fn prefix(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Problem => "problem",
        }
    }
}

/// One check's result: a line of `defer doctor`, an element of `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Finding {
    /// A stable name for scripts: `clock`, `permissions`, `store`, `runner`, `wakeup`,
    /// `executor`, `due`, `executing`, `lines`.
    pub check: &'static str,
    pub level: Level,
    /// Plain words: what was found and, when something is wrong, how to fix it.
    pub message: String,
}

impl Finding {
    fn new(check: &'static str, level: Level, message: impl Into<String>) -> Finding {
        Finding {
            check,
            level,
            message: message.into(),
        }
    }
}

/// What `doctor` found: one finding per check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DoctorReply {
    /// No check found a problem (warnings allowed).
    pub ok: bool,
    /// One per check, in the order they were made.
    pub findings: Vec<Finding>,
}

impl DoctorReply {
    /// How many checks found a problem.
    pub fn problems(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Problem)
            .count()
    }
}

/// Runs every check. `shell` looks up the variables of the process asking (the CLI's shell,
/// `defer serve`'s own environment), to compare with those the runner is started with.
pub fn doctor(config: &Config, shell: &Lookup<'_>) -> DoctorReply {
    let findings = diagnose(config, &Crontab::from_config(config), shell);
    DoctorReply {
        ok: findings.iter().all(|f| f.level != Level::Problem),
        findings,
    }
}

/// The fields of a record the checks need; anything else in the line is ignored.
#[derive(Debug, Deserialize)]
struct Brief {
    id: String,
    run_at: Stamp,
    status: Status,
    #[serde(default)]
    started_at: Option<Stamp>,
}

/// Runs every check. Never fails: a check that cannot be made is itself a finding. `shell`
/// looks up this shell's variables, to compare with those the runner is started with.
pub fn diagnose(config: &Config, crontab: &Crontab, shell: &Lookup<'_>) -> Vec<Finding> {
    let now = config.clock.now();
    let mut findings = vec![
        clock_finding(config),
        permissions_finding(config),
        dirs_finding(config),
    ];

    let opened = store::open(config);
    let store = match opened {
        Ok(store) => store,
        Err(e) => {
            findings.push(Finding::new(
                "store",
                Level::Problem,
                format!(
                    "cannot open the task store: {}; nothing can run until it opens (check \
                     DEFER_DATABASE_URL and that the server is up)",
                    chain(&e)
                ),
            ));
            let wake = runner::last_wake(config);
            findings.push(wake_finding(config, wake.as_ref(), None));
            findings.push(wakeup_finding(config, crontab, wake.as_ref()));
            findings.push(settings::finding(config, crontab, shell));
            findings.push(executor_finding(config));
            return findings;
        }
    };

    // A pause is the operator's choice, so a warning: due tasks wait until it ends.
    match crate::ops::pause::current(config, &*store) {
        Ok(Some(pause)) => findings.push(Finding::new(
            "pause",
            Level::Warn,
            match pause.until {
                Some(until) => format!(
                    "runners are paused until {}: nothing is claimed before then (`defer resume` \
                     ends it now)",
                    config.clock.local(until.timestamp())
                ),
                None => "runners are paused: nothing is claimed until `defer resume`".to_string(),
            },
        )),
        Ok(None) => {}
        Err(e) => findings.push(Finding::new(
            "pause",
            Level::Problem,
            format!("cannot read the pause: {}", chain(&e)),
        )),
    }

    let tasks = match pending(&*store) {
        Ok(tasks) => {
            let scheduled = tasks
                .iter()
                .filter(|t| t.status == Status::Scheduled)
                .count();
            findings.push(Finding::new(
                "store",
                Level::Ok,
                format!(
                    "store: {}; {scheduled} scheduled, {} executing",
                    describe_store(config),
                    tasks.len() - scheduled
                ),
            ));
            Some(tasks)
        }
        Err(e) => {
            findings.push(Finding::new(
                "store",
                Level::Problem,
                format!(
                    "cannot read the task store ({}): {}; the runner cannot read it either",
                    describe_store(config),
                    chain(&e)
                ),
            ));
            None
        }
    };

    let mut due: Vec<&Brief> = tasks
        .iter()
        .flatten()
        .filter(|t| t.status == Status::Scheduled && t.run_at.timestamp() <= now)
        .collect();
    due.sort_by_key(|t| t.run_at);
    let oldest_due = due.first().copied();

    let wake = runner::last_wake(config);
    findings.push(wake_finding(config, wake.as_ref(), oldest_due));
    findings.push(wakeup_finding(config, crontab, wake.as_ref()));
    findings.push(settings::finding(config, crontab, shell));
    findings.push(executor_finding(config));
    if let Some(tasks) = &tasks {
        findings.push(due_finding(config, tasks, &due));
        findings.push(executing_finding(config, &*store, tasks));
    }
    findings.push(outcomes_finding(config, &*store));
    findings.push(lines_finding(&*store));
    findings
}

/// A variable lookup (this shell's environment in the CLI; a map in tests).
pub type Lookup<'a> = dyn Fn(&str) -> Option<std::ffi::OsString> + 'a;

/// A cron line's `>> deferred.log` redirect fails when the log directory is missing, and
/// then the runner never starts: so a missing runtime or log directory is a problem, not a
/// detail.
fn dirs_finding(config: &Config) -> Finding {
    let log_dir = crate::fsutil::parent_dir(&config.log_file);
    let missing: Vec<String> = [config.runtime_dir.as_path(), log_dir]
        .iter()
        .filter(|d| !d.is_dir())
        .map(|d| d.display().to_string())
        .fold(Vec::new(), |mut v, d| {
            if !v.contains(&d) {
                v.push(d);
            }
            v
        });
    if missing.is_empty() {
        return Finding::new(
            "dirs",
            Level::Ok,
            format!(
                "the runtime directory {} and the log directory {} exist",
                config.runtime_dir.display(),
                log_dir.display()
            ),
        );
    }
    Finding::new(
        "dirs",
        Level::Problem,
        format!(
            "{}: a cron line's `>> {}` redirect fails before `defer run` starts, so \
             the runner never runs; `defer cron install` creates it (so does the first \
             `defer schedule`), or `mkdir -p -m 700 {}`",
            match missing.as_slice() {
                [one] => format!("{one} does not exist"),
                many => format!("{} do not exist", many.join(" and ")),
            },
            config.log_file.display(),
            missing.last().map(String::as_str).unwrap_or_default()
        ),
    )
}

/// How far back `doctor` looks for failed and missed tasks. A fixed window rather than "since
/// the last check", so that doctor stays read-only and two runs say the same thing.
pub const OUTCOMES_WINDOW_DAYS: i64 = 7;

/// Tasks that failed or were missed (`--if-late skip`) lately, active or archived: `run`
/// exits 0 for them and cron mails nothing, so this is where they surface.
fn outcomes_finding(config: &Config, store: &dyn Store) -> Finding {
    let now = config.clock.now();
    let since = now
        .checked_sub(jiff::SignedDuration::from_hours(24 * OUTCOMES_WINDOW_DAYS))
        .unwrap_or(now);
    let mut failed: Vec<(Timestamp, String)> = Vec::new();
    let mut missed: Vec<(Timestamp, String)> = Vec::new();
    let query = Query {
        statuses: vec![Status::Failed, Status::Cancelled],
        include_archive: true,
        ..Query::default()
    };
    let listed = store.list(&query, &mut |bytes| {
        let Ok(task) = serde_json::from_slice::<crate::record::Task>(bytes) else {
            return Ok(());
        };
        let (at, into) = if task.status == Status::Failed {
            (task.failed_at, &mut failed)
        } else if crate::lifecycle::is_missed(&task) {
            (task.cancelled_at, &mut missed)
        } else {
            return Ok(());
        };
        if let Some(at) = at.map(|s| s.timestamp()).filter(|at| *at >= since) {
            // Each id once, whatever a store holds (older versions kept a retried task's copy).
            match into.iter_mut().find(|(_, id)| *id == task.id) {
                Some(seen) => seen.0 = seen.0.max(at),
                None => into.push((at, task.id)),
            }
        }
        Ok(())
    });
    if let Err(e) = listed {
        return Finding::new(
            "outcomes",
            Level::Warn,
            format!("cannot read failed and missed tasks: {}", chain(&e)),
        );
    }
    if failed.is_empty() && missed.is_empty() {
        return Finding::new(
            "outcomes",
            Level::Ok,
            format!("no task failed or was missed in the last {OUTCOMES_WINDOW_DAYS} days"),
        );
    }
    let mut parts = Vec::new();
    if let Some((at, id)) = failed.iter().max() {
        parts.push(format!(
            "{} task(s) failed (the newest, {id}, {}: `defer logs {id}` shows what the executor \
             printed, `defer why {id}` explains)",
            failed.len(),
            config.clock.describe(*at)
        ));
    }
    if let Some((at, id)) = missed.iter().max() {
        parts.push(format!(
            "{} task(s) were missed: found too late and skipped by their --if-late policy (the \
             newest, {id}, {}: `defer why {id}` explains)",
            missed.len(),
            config.clock.describe(*at)
        ));
    }
    Finding::new(
        "outcomes",
        Level::Warn,
        format!(
            "in the last {OUTCOMES_WINDOW_DAYS} days {}; `defer run` exits 0 for these, so cron \
             mails nothing (`defer run --fail-on-task-failure` makes it fail instead)",
            parts.join(", and ")
        ),
    )
}

/// The scheduled and executing tasks of the active store.
fn pending(store: &dyn Store) -> Result<Vec<Brief>> {
    let mut tasks = Vec::new();
    let query = Query {
        statuses: vec![Status::Scheduled, Status::Executing],
        include_archive: false,
        ..Query::default()
    };
    store.list(&query, &mut |bytes| {
        // `list` hands over valid JSON; a line without these fields is `check`'s business.
        if let Ok(task) = serde_json::from_slice::<Brief>(bytes) {
            tasks.push(task);
        }
        Ok(())
    })?;
    Ok(tasks)
}

/// Every command that uses the store (the runner too) refuses a runtime directory others can
/// write to; doctor says so instead of refusing.
fn permissions_finding(config: &Config) -> Finding {
    match config.check_permissions() {
        Ok(()) => Finding::new(
            "permissions",
            Level::Ok,
            format!(
                "{} and the store are writable by you only",
                config.runtime_dir.display()
            ),
        ),
        Err(e) => Finding::new(
            "permissions",
            Level::Problem,
            format!(
                "{}; until then every command that uses the store refuses to",
                chain(&e)
            ),
        ),
    }
}

/// Which store the settings name, in words (`doctor` and the watcher's start line).
pub fn describe_store(config: &Config) -> String {
    if config.database_url.is_some() {
        format!(
            "PostgreSQL (DEFER_DATABASE_URL), schema {}",
            config.database_schema
        )
    } else if config.tasks_file.exists() {
        format!("the JSONL file {}", config.tasks_file.display())
    } else {
        format!(
            "the JSONL file {} (not created yet: the first `defer schedule` creates it)",
            config.tasks_file.display()
        )
    }
}

fn clock_finding(config: &Config) -> Finding {
    let now = config.clock.now();
    let pinned = if config.clock.is_fixed() {
        "; \"now\" is pinned by DEFER_NOW, which the runner woken by cron does not see"
    } else {
        ""
    };
    Finding::new(
        "clock",
        Level::Ok,
        format!(
            "time zone {} (DEFER_TIMEZONE, else TZ, else the system zone); now is {} ({}){pinned}",
            config.clock.zone_name(),
            config.clock.local(now),
            Stamp(now)
        ),
    )
}

/// A live long-lived runner whose wakes fail, in one sentence; `None` when none does. The
/// `doctor` finding, the health route and the dashboard's banner all say it this way.
pub fn runner_fault(config: &Config) -> Option<String> {
    describe_fault(config, &runner::last_wake(config)?)
}

fn describe_fault(config: &Config, wake: &Wake) -> Option<String> {
    let fault = wake.fault.as_ref()?;
    if !crate::process::exists(wake.pid) {
        return None;
    }
    Some(format!(
        "the runner ({}, pid {}) fails to wake since {} ({} failure(s) in a row): {}; it keeps \
         trying with a growing pause, and due tasks wait until the fault is fixed",
        wake.describe(),
        wake.pid,
        config.clock.describe(fault.since.timestamp()),
        fault.failures,
        fault.error
    ))
}

/// When the runner last woke here, judged against the tasks waiting for it.
fn wake_finding(config: &Config, wake: Option<&Wake>, oldest_due: Option<&Brief>) -> Finding {
    let now = config.clock.now();
    // With a shared database, runners on other hosts may do the work; this host's silence is
    // then worth a warning, not a failure. The `due` check still catches missed tasks.
    let shared = config.database_url.is_some();
    let (silent, note) = if shared {
        (
            Level::Warn,
            " (fine if runners on other hosts share this database)",
        )
    } else {
        (Level::Problem, "")
    };
    let Some(wake) = wake else {
        return Finding::new(
            "runner",
            silent,
            format!(
                "the runner has never woken on this host{note}: no `defer run` is recorded in {}; \
                 install a wake-up (`defer cron install`, or a unit from contrib/) — if you just \
                 did, wait a minute and check again",
                config.runtime_dir.display()
            ),
        );
    };
    // A long-lived runner whose wakes fail keeps retrying, and says so in its record.
    if let Some(fault) = describe_fault(config, wake) {
        return Finding::new("runner", Level::Problem, fault);
    }
    if let Some(why) = wake
        .polled
        .as_ref()
        .filter(|_| crate::process::exists(wake.pid))
    {
        return Finding::new(
            "runner",
            Level::Warn,
            format!(
                "the runner ({}, pid {}): {why}; it works, but an idle runner wakes four times \
                 a second",
                wake.describe(),
                wake.pid,
            ),
        );
    }
    // A `defer run` typed by hand proves nothing about the scheduler: judge the last wake
    // that a scheduler or watcher made.
    let Some(scheduled) = wake.last_scheduled() else {
        return Finding::new(
            "runner",
            silent,
            format!(
                "the runner has only been run by hand on this host{note} (last {}, pid {}): no \
                 wake by cron, a timer or a watcher is recorded; install a wake-up (`defer cron \
                 install`, or a unit from contrib/, which set DEFER_WAKE_ORIGIN; a line or unit \
                 written by hand needs DEFER_WAKE_ORIGIN=cron, systemd or launchd too) — if you \
                 just did, wait a minute and check again",
                config.clock.describe(wake.at.timestamp()),
                wake.pid
            ),
        );
    };
    let age = now.duration_since(scheduled.at.timestamp()).as_secs();
    let mut woke = if wake.by_hand() {
        format!(
            "the runner last woke {} ({}, pid {}); since then it was run by hand {}",
            config.clock.describe(scheduled.at.timestamp()),
            scheduled.mode,
            scheduled.pid,
            config.clock.describe(wake.at.timestamp()),
        )
    } else {
        format!(
            "the runner last woke {} ({}, pid {})",
            config.clock.describe(wake.at.timestamp()),
            wake.describe(),
            wake.pid,
        )
    };
    if wake.skipped {
        woke.push_str(" and stepped aside: another runner held the lock");
    }
    let waiting = oldest_due
        .filter(|t| now.duration_since(t.run_at.timestamp()).as_secs() > CRON_INTERVAL_SECS);
    if age <= STALE_WAKE_SECS {
        return Finding::new("runner", Level::Ok, woke);
    }
    // Frequent "hand" wakes are most often a line or unit written before origins existed.
    let hint = if wake.by_hand() {
        "; if a crontab line or unit starts those runs, it does not set DEFER_WAKE_ORIGIN: \
         re-run `defer cron install`, or add it to the unit"
    } else {
        ""
    };
    if let Some(task) = waiting {
        return Finding::new(
            "runner",
            silent,
            format!(
                "{woke}, and task {} has been due since {} without a wake{note}: nothing is \
                 waking the runner; check the wake-up line below, and `defer run -v` runs it by \
                 hand{hint}",
                task.id,
                config.clock.local(task.run_at.timestamp())
            ),
        );
    }
    if scheduled.mode == "watch" && crate::process::exists(scheduled.pid) {
        return Finding::new(
            "runner",
            Level::Ok,
            format!("{woke}; it is still running and sleeps until the next task is due"),
        );
    }
    Finding::new(
        "runner",
        Level::Warn,
        format!(
            "{woke}; nothing is due, so nothing is missed yet, but cron wakes it every minute: \
             check the wake-up line below{hint}"
        ),
    )
}

/// Whether anything is installed to wake the runner: a crontab line or a watcher.
fn wakeup_finding(config: &Config, crontab: &Crontab, wake: Option<&Wake>) -> Finding {
    let mut found = Vec::new();
    let mut cron_note = String::new();
    match crontab.read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().filter(|l| cron::runs_defer(l)).collect();
            match lines.len() {
                0 => cron_note = "no crontab line runs `defer run`".into(),
                n => found.push(format!(
                    "{n} crontab line{} running `defer run`{}",
                    if n == 1 { "" } else { "s" },
                    if lines.iter().any(|l| cron::is_tagged(l)) {
                        " (installed by `defer cron install`)"
                    } else {
                        ""
                    }
                )),
            }
        }
        Err(e) => cron_note = format!("the crontab could not be read: {}", chain(&e)),
    }
    for unit in watcher_units(config) {
        if unit.exists() {
            found.push(format!(
                "{} (cannot tell whether it is enabled)",
                unit.display()
            ));
        }
    }
    if let Some(watcher) = wake
        .and_then(Wake::last_scheduled)
        .filter(|w| w.mode == "watch" && crate::process::exists(w.pid))
    {
        found.push(format!(
            "a `defer run --watch` process (pid {})",
            watcher.pid
        ));
    }
    if !found.is_empty() {
        return Finding::new(
            "wakeup",
            Level::Ok,
            format!("wakes the runner: {}", found.join("; ")),
        );
    }
    let level = if config.database_url.is_some() {
        Level::Warn
    } else {
        Level::Problem
    };
    Finding::new(
        "wakeup",
        level,
        format!(
            "nothing wakes the runner on this host: {cron_note}, and no watcher is installed; \
             run `defer cron install`, or install contrib/systemd/defer-watch.service (Linux) or \
             contrib/launchd/dev.agent-defer.watch.plist (macOS)"
        ),
    )
}

/// Unit files that wake the runner: the `--watch` units from contrib/ and the timer setups of
/// docs/scheduling.md. Their presence is a good sign, not proof that they are enabled.
fn watcher_units(config: &Config) -> Vec<PathBuf> {
    let systemd = config.home.join(".config/systemd/user");
    let launchd = config.home.join("Library/LaunchAgents");
    vec![
        systemd.join("defer-watch.service"),
        systemd.join("defer-run.timer"),
        launchd.join("dev.agent-defer.watch.plist"),
        launchd.join("dev.agent-defer.run.plist"),
    ]
}

fn executor_finding(config: &Config) -> Finding {
    match &config.executor {
        None => Finding::new(
            "executor",
            Level::Ok,
            "no executor (DEFER_EXECUTOR is unset): due tasks complete by writing their prompt \
             file only",
        ),
        Some(path) => match executor::check_usable(path) {
            Ok(resolved) => Finding::new(
                "executor",
                Level::Ok,
                format!(
                    "executor {} is executable; due tasks are piped to it",
                    resolved.display()
                ),
            ),
            Err(executor::Unusable(reason)) => Finding::new(
                "executor",
                Level::Problem,
                format!("{reason}; every task that comes due will fail at once until it is fixed"),
            ),
        },
    }
}

fn due_finding(config: &Config, tasks: &[Brief], due: &[&Brief]) -> Finding {
    let now = config.clock.now();
    let Some(oldest) = due.first() else {
        let next = tasks
            .iter()
            .filter(|t| t.status == Status::Scheduled)
            .min_by_key(|t| t.run_at);
        return Finding::new(
            "due",
            Level::Ok,
            match next {
                Some(t) => format!(
                    "no task is due; the next, {}, is due {}",
                    t.id,
                    config.clock.describe(t.run_at.timestamp())
                ),
                None => "no task is scheduled".to_string(),
            },
        );
    };
    let late = now.duration_since(oldest.run_at.timestamp()).as_secs();
    let count = if due.len() == 1 {
        "1 task is".to_string()
    } else {
        format!("{} tasks are", due.len())
    };
    if late <= OVERDUE_SECS {
        return Finding::new(
            "due",
            Level::Ok,
            format!(
                "{count} due now (the most overdue by {}); the next wake runs them",
                span_of(late)
            ),
        );
    }
    Finding::new(
        "due",
        Level::Problem,
        format!(
            "{count} due and not run; the most overdue, {}, was due {}, {} late; `defer why {}` \
             explains, and `defer run -v` runs due tasks now",
            oldest.id,
            config.clock.local(oldest.run_at.timestamp()),
            span_of(late),
            oldest.id
        ),
    )
}

fn executing_finding(config: &Config, store: &dyn Store, tasks: &[Brief]) -> Finding {
    let now = config.clock.now();
    let mut executing: Vec<&Brief> = tasks
        .iter()
        .filter(|t| t.status == Status::Executing)
        .collect();
    executing.sort_by_key(|t| t.started_at);
    let Some(first) = executing.first() else {
        return Finding::new("executing", Level::Ok, "no task is executing");
    };
    let since = first
        .started_at
        .map(|s| format!(", started {}", config.clock.describe(s.timestamp())))
        .unwrap_or_default();
    let what = format!(
        "{} task(s) executing (the longest, {}{since})",
        executing.len(),
        first.id
    );
    match runner_now(config, store) {
        RunnerNow::Idle => {
            return Finding::new(
                "executing",
                Level::Warn,
                format!(
                    "{what} but no runner holds the lock: the runner that claimed them is gone; \
                     the next `defer run` recovers them: those it had started as failed attempts \
                     (retried if they have retries left), the others are run with no attempt \
                     spent"
                ),
            );
        }
        RunnerNow::Busy | RunnerNow::Unknown => {}
    }
    let limit = i64::try_from(config.executor_timeout.as_secs())
        .unwrap_or(i64::MAX)
        .saturating_add(OVERDUE_SECS);
    let stuck = first
        .started_at
        .is_some_and(|s| now.duration_since(s.timestamp()).as_secs() > limit);
    if stuck {
        return Finding::new(
            "executing",
            Level::Warn,
            format!(
                "{what}, longer than DEFER_EXECUTOR_TIMEOUT_SECONDS ({}s) allows: its runner \
                 may be stuck or dead; look for a `defer run` process, and a runner that died is \
                 recovered by the next `defer run`",
                config.executor_timeout.as_secs()
            ),
        );
    }
    Finding::new(
        "executing",
        Level::Ok,
        format!("{what}, by a runner working now"),
    )
}

fn lines_finding(store: &dyn Store) -> Finding {
    match store.check() {
        Ok(problems) if problems.is_empty() => Finding::new(
            "lines",
            Level::Ok,
            "every line of the store and the archives is a valid task record",
        ),
        Ok(problems) => {
            let first = &problems[0];
            Finding::new(
                "lines",
                Level::Problem,
                format!(
                    "{} line(s) are not valid task records (first: {}:{}: {}); they are kept and \
                     skipped by the runner: fix or remove them by hand (`defer check` lists them)",
                    problems.len(),
                    first.file.display(),
                    first.line,
                    first.reason
                ),
            )
        }
        Err(e) => Finding::new(
            "lines",
            Level::Problem,
            format!("cannot check the store's lines: {}", chain(&e)),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared with `defer why`

/// Whether a runner is working the store at this moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunnerNow {
    /// Another runner holds the runner lock.
    Busy,
    /// The lock is free: no runner is working.
    Idle,
    /// Cannot tell (a shared database has no single runner; the store dir does not exist).
    Unknown,
}

/// Probes the runner lock by taking it and letting go at once. Only for the file store, and
/// only when its directory exists, so a diagnosis never creates a runtime directory.
pub(crate) fn runner_now(config: &Config, store: &dyn Store) -> RunnerNow {
    if config.database_url.is_some() || !config.tasks_dir().is_dir() {
        return RunnerNow::Unknown;
    }
    match store.try_runner_lock() {
        Ok(Some(_released_on_drop)) => RunnerNow::Idle,
        Ok(None) => RunnerNow::Busy,
        Err(_) => RunnerNow::Unknown,
    }
}

/// A length of time in its largest two units: `3h 5m`, `2d`, `45s`.
fn span_of(secs: i64) -> String {
    when::human_duration(secs.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_serialise_as_check_level_message() {
        let f = Finding::new("executor", Level::Problem, "x");
        assert_eq!(
            serde_json::to_string(&f).ok().as_deref(),
            Some(r#"{"check":"executor","level":"problem","message":"x"}"#)
        );
    }
}
