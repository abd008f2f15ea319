//! Recording outcomes: executors run on `DEFER_CONCURRENCY` threads while this thread writes
//! their changes back in batches (at most one store write a second) and logs each one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::journal::StartJournal;
use super::{FLUSH_INTERVAL, RunOptions, RunReport, attempt};
use crate::audit::AuditLog;
use crate::config::Config;
use crate::error::Result;
use crate::lifecycle::{self, Change, Policy, Reason};
use crate::output::escape;
use crate::record::{ResultType, Stamp, Status, Task};
use crate::store::{RunnerLock, Store};

/// What every attempt of a pass shares: the lifecycle's policy and the start journal.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempts<'a> {
    pub policy: &'a Policy,
    pub journal: Option<&'a StartJournal>,
    /// What every executor is told about the runner's store.
    pub handoff: &'a super::attempt::Handoff,
}

/// What a run lends `execute_all` so it can claim tasks that fall due while executors run:
/// the ids this run has handled (never claimed twice in one run), and the runner lock (no
/// claim once it stopped excluding other runners).
pub(super) struct Refill<'a> {
    pub handled: &'a mut HashSet<String>,
    pub lock: &'a dyn RunnerLock,
}

/// A worker's request to have a start recorded, and where the answer goes: `Err` says why
/// the executor must not start.
type StartMark = (String, mpsc::Sender<std::result::Result<(), String>>);

/// Records executor starts for a store that keeps them ([`Store::records_starts`]): every
/// request waiting when the last statement returned goes into the next one, so concurrent
/// workers share a round trip, and each worker waits for its answer before its executor
/// runs. A start that is not recorded is not made: a rescuer that found the task unmarked
/// would give it back without counting an attempt, and it would run twice uncounted.
fn record_starts(store: &dyn Store, requests: mpsc::Receiver<StartMark>) {
    while let Ok(first) = requests.recv() {
        let mut marks = vec![first];
        marks.extend(requests.try_iter());
        let ids: Vec<String> = marks.iter().map(|(id, _)| id.clone()).collect();
        let marked = store.mark_started(&ids);
        for (id, reply) in marks {
            let _ = reply.send(start_answer(&marked, &id));
        }
    }
}

/// Whether the executor of `id` may start, given what recording the starts came to.
fn start_answer(marked: &Result<HashSet<String>>, id: &str) -> std::result::Result<(), String> {
    match marked {
        Ok(marked) if marked.contains(id) => Ok(()),
        Ok(_) => Err("this runner no longer holds its claim".to_string()),
        Err(e) => Err(crate::error::chain(e)),
    }
}

/// How long an answer to "are runners paused?" is used before the store is asked again.
pub const PAUSE_FRESH: Duration = Duration::from_millis(100);

/// The pause rule asked before every executor start: no executor starts while a pause holds,
/// and a claimed task not yet started is given back. The store's answer is kept for
/// [`PAUSE_FRESH`] (counted from when the question was sent), and `ops::pause` waits longer
/// than that after storing a pause before it returns, so once `defer pause` has returned no
/// runner of the store starts another executor.
struct PauseGate<'a> {
    config: &'a Config,
    store: &'a dyn Store,
    last: Mutex<Option<(Instant, bool)>>,
}

impl<'a> PauseGate<'a> {
    fn new(config: &'a Config, store: &'a dyn Store) -> PauseGate<'a> {
        PauseGate {
            config,
            store,
            last: Mutex::new(None),
        }
    }

    fn allows_start(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((asked, open)) = *last
            && asked.elapsed() < PAUSE_FRESH
        {
            return open;
        }
        let asked = Instant::now();
        // A store that cannot answer now (a database blip) does not stop work that was
        // claimed under the pause rule.
        let open = self.store.pause_state().map_or(true, |pause| {
            lifecycle::pause::in_force(pause.as_ref(), self.config.clock.now()).is_none()
        });
        *last = Some((asked, open));
        open
    }
}

/// Tasks waiting for a free worker; `closed` once no more will come.
#[derive(Debug, Default)]
struct Queue {
    tasks: VecDeque<Task>,
    closed: bool,
}

/// How often, while executors run and a worker is free, the store is asked for tasks that
/// have fallen due since the round was claimed.
const REFILL_EVERY: Duration = Duration::from_millis(250);

/// Runs the claimed tasks on `DEFER_CONCURRENCY` threads and records outcomes in batches.
///
/// With `refill` (the ids this run has handled), a worker that falls idle while others still
/// run gets the next task that has fallen due since (claimed then), so a reminder due one
/// second into a twenty-minute executor starts one second later, not twenty minutes later.
///
/// And where the store claims in batches (a shared queue) and the last claim came back full,
/// the next batch is claimed ahead, once fewer than half a batch wait to start: the workers
/// never stand idle while this thread talks to the database, and outcomes are written while
/// executors run instead of between batches. A runner holds at most one and a half batches
/// beyond what runs, so others sharing the queue still find work.
// The refill set is the one argument beyond the usual seven; bundling it would hide it.
#[allow(clippy::too_many_arguments)]
pub(super) fn execute_all(
    config: &Config,
    store: &dyn Store,
    options: &RunOptions,
    audit: &mut AuditLog,
    attempts: &Attempts<'_>,
    claimed: Vec<Task>,
    report: &mut RunReport,
    mut refill: Option<Refill<'_>>,
) -> Result<()> {
    if claimed.is_empty() {
        return Ok(());
    }
    let workers = config.concurrency.max(1);
    let mut in_flight = claimed.len();
    // The time each task was claimed for, for the observer (a retry's record holds the next).
    let mut dues: HashMap<String, Stamp> = HashMap::new();
    if options.observer.is_some() {
        dues.extend(claimed.iter().map(|t| (t.id.clone(), t.run_at)));
    }
    let queue = (
        Mutex::new(Queue {
            tasks: claimed.into(),
            closed: false,
        }),
        Condvar::new(),
    );
    let (tx, rx) = mpsc::channel::<Change>();
    let finished = AtomicBool::new(false);
    let gate = PauseGate::new(config, store);
    let records_starts = store.records_starts();
    // Set when outcomes could not be written: nothing new starts (claimed tasks are given
    // back), running executors finish, and their outcomes are written when the store is
    // reachable again.
    let failing = AtomicBool::new(false);
    thread::scope(|scope| {
        if let Some(every) = store.lease_renewal() {
            let finished = &finished;
            scope.spawn(move || renew_leases(config, store, every, finished));
        }
        // With refill every slot gets a thread (one may be handed a task later); without,
        // no more threads than tasks.
        let threads = if refill.is_some() {
            workers
        } else {
            workers.min(in_flight)
        };
        // One worker records its own starts: a thread between would cost two hand-offs a
        // start and have no one to share a round trip with.
        let alone = threads == 1;
        let (mark_tx, mark_rx) = mpsc::channel::<StartMark>();
        if records_starts && !alone {
            scope.spawn(move || record_starts(store, mark_rx));
        }
        for _ in 0..threads {
            let tx = tx.clone();
            let mark_tx = (records_starts && !alone).then(|| mark_tx.clone());
            let (queue, failing, gate) = (&queue, &failing, &gate);
            scope.spawn(move || {
                let started = |id: &str| -> std::result::Result<(), String> {
                    if records_starts && alone {
                        return start_answer(&store.mark_started(&[id.to_string()]), id);
                    }
                    let Some(mark_tx) = &mark_tx else {
                        return Ok(());
                    };
                    let (reply, answer) = mpsc::channel();
                    mark_tx
                        .send((id.to_string(), reply))
                        .map_err(|_| "the start recorder stopped".to_string())?;
                    answer
                        .recv()
                        .map_err(|_| "the start recorder stopped".to_string())?
                };
                while let Some(task) = take(queue) {
                    let now = config.clock.now();
                    let outcome = if options.stopping() || failing.load(Ordering::Relaxed) {
                        lifecycle::release(task, now)
                    } else if !gate.allows_start() {
                        lifecycle::release_paused(task, now)
                    } else {
                        attempt::execute_one(config, attempts, task, &started)
                    };
                    if tx.send(outcome).is_err() {
                        break;
                    }
                }
            });
        }
        // The recorder stops once every worker has dropped its sender.
        drop(mark_tx);
        drop(tx);

        let mut batch = Vec::new();
        let mut last_flush = Instant::now();
        let mut last_refill = Instant::now();
        let mut result = Ok(());
        let batch_size = store.claim_limit();
        // A full batch says more are probably due: claim the next one ahead.
        let mut more_due = in_flight >= batch_size;
        while in_flight > 0 {
            let mut wait = FLUSH_INTERVAL.saturating_sub(last_flush.elapsed());
            if refill.is_some() {
                wait = wait.min(REFILL_EVERY);
            }
            match rx.recv_timeout(wait) {
                Ok(task) => {
                    in_flight -= 1;
                    options.finished();
                    batch.push(task);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let due = last_flush.elapsed() >= FLUSH_INTERVAL || in_flight == 0;
            if due && !batch.is_empty() {
                // A failed batch stays in `batch` and is written with the next one.
                result = flush(config, store, options, audit, &mut batch, report, &dues);
                if let Err(e) = &result
                    && !failing.swap(true, Ordering::Relaxed)
                {
                    eprintln!(
                        "defer: could not record outcomes ({}); starting nothing new and \
                         trying again",
                        crate::error::chain(e)
                    );
                }
                last_flush = Instant::now();
            }
            let idle = workers.saturating_sub(in_flight);
            let waiting = || {
                let q = queue.0.lock().unwrap_or_else(|p| p.into_inner());
                q.tasks.len()
            };
            // Claim ahead: a full batch came back and less than half a batch waits to start.
            let ahead = more_due && waiting() < batch_size.div_ceil(2).max(workers);
            // Poll: a worker is free, for tasks that fell due since the last look.
            let poll = idle > 0 && last_refill.elapsed() >= REFILL_EVERY;
            if let Some(Refill { handled, lock }) = refill.as_mut()
                && in_flight > 0
                && (ahead || poll)
                && report.paused.is_none()
                && !options.stopping()
                && !failing.load(Ordering::Relaxed)
                && !lock.lost()
            {
                last_refill = Instant::now();
                let now = config.clock.now();
                let limit = if ahead {
                    batch_size
                } else {
                    idle.min(batch_size)
                };
                let claimed =
                    store.claim_due(now, limit, handled, &mut |t| lifecycle::claim(t, now));
                more_due = ahead && claimed.as_ref().is_ok_and(|more| more.len() >= limit);
                match claimed {
                    Ok(more) if !more.is_empty() => {
                        report.claimed += more.len();
                        options.claimed(more.len());
                        in_flight += more.len();
                        let (lock, ready) = &queue;
                        let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
                        for task in more {
                            handled.insert(task.id.clone());
                            if options.observer.is_some() {
                                dues.insert(task.id.clone(), task.run_at);
                            }
                            audit.log(
                                now,
                                "runner claimed",
                                &[("id", &task.id), ("run_at", &task.run_at.to_string())],
                            );
                            q.tasks.push_back(task);
                        }
                        ready.notify_all();
                    }
                    Ok(_) => {}
                    // Paused meanwhile: claim nothing more in this pass.
                    Err(crate::Error::Paused { pause }) => {
                        more_due = false;
                        super::note_pause(config, audit, report, pause);
                    }
                    Err(e) => eprintln!(
                        "warning: could not look for newly due tasks: {}",
                        crate::error::chain(&e)
                    ),
                }
            }
        }
        {
            let (lock, ready) = &queue;
            lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
            ready.notify_all();
        }
        if !batch.is_empty() {
            // One last try: the store (a database connection) may be back.
            thread::sleep(FLUSH_INTERVAL);
            result = flush(config, store, options, audit, &mut batch, report, &dues);
        }
        finished.store(true, Ordering::Relaxed);
        result
    })
}

/// The next task for a worker: waits while the queue is empty and open; `None` once it is
/// closed and empty.
fn take(queue: &(Mutex<Queue>, Condvar)) -> Option<Task> {
    let (lock, ready) = queue;
    let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(task) = q.tasks.pop_front() {
            return Some(task);
        }
        if q.closed {
            return None;
        }
        q = ready.wait(q).unwrap_or_else(|p| p.into_inner());
    }
}

/// Keeps the claims of running tasks alive (database stores) until `finished`.
fn renew_leases(config: &Config, store: &dyn Store, every: Duration, finished: &AtomicBool) {
    let mut last = Instant::now();
    while !finished.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50).min(every));
        if last.elapsed() >= every {
            if let Err(e) = store.renew_leases(config.clock.now()) {
                eprintln!(
                    "warning: could not renew task leases: {}",
                    escape(&e.to_string())
                );
            }
            last = Instant::now();
        }
    }
}

/// Writes a batch of outcomes to the store, then logs them and tells the observer. `dues`
/// holds the time each task was claimed for (filled only when there is an observer).
fn flush(
    config: &Config,
    store: &dyn Store,
    options: &RunOptions,
    audit: &mut AuditLog,
    batch: &mut Vec<Change>,
    report: &mut RunReport,
    dues: &HashMap<String, Stamp>,
) -> Result<()> {
    crate::failpoint::hit("executed");
    let rejected: HashSet<String> = store.save_outcomes(batch)?.into_iter().collect();
    for outcome in batch.drain(..) {
        if rejected.contains(&outcome.task.id) {
            // Another runner rescued this task after our lease ran out; its outcome stands.
            report.rejected += 1;
            audit.log(
                config.clock.now(),
                "outcome rejected",
                &[("id", &outcome.task.id), ("reason", "lease_lost")],
            );
            continue;
        }
        log_outcome(config, options, audit, &outcome, report);
        if let Some(due) = dues.get(&outcome.task.id) {
            options.recorded(&outcome, *due);
        }
    }
    Ok(())
}

/// The audit line (and `-v` line) for a recorded outcome.
pub(super) fn log_outcome(
    config: &Config,
    options: &RunOptions,
    audit: &mut AuditLog,
    outcome: &Change,
    report: &mut RunReport,
) {
    let task = &outcome.task;
    let now = config.clock.now();
    let kind = task.result.as_ref().map(|r| r.kind);
    if let Some(warning) = &outcome.warning {
        let warning = one_line(warning);
        eprintln!("warning: task {}: {}", escape(&task.id), escape(&warning));
        audit.log(now, "warning", &[("id", &task.id), ("problem", &warning)]);
    }
    match outcome.reason {
        Reason::Released | Reason::NotStarted | Reason::Paused | Reason::StartUnrecorded => {
            report.released += usize::from(outcome.reason == Reason::Released);
            if outcome.reason == Reason::StartUnrecorded {
                report.unstarted += 1;
                if report.unstarted_error.is_none() {
                    report.unstarted_error = task.history.last().and_then(|a| a.error.clone());
                }
            }
            report.held += usize::from(outcome.reason == Reason::Paused);
            report.recovered += usize::from(outcome.reason == Reason::NotStarted);
            audit.log(
                now,
                "released",
                &[("id", &task.id), ("reason", outcome.reason.as_str())],
            );
            return;
        }
        Reason::HostFault => {
            report.unstarted += 1;
            let error = one_line(task.last_error.as_deref().unwrap_or(""));
            audit.log(
                now,
                "not started",
                &[
                    ("id", &task.id),
                    ("reason", outcome.reason.as_str()),
                    ("error", &error),
                ],
            );
            report.unstarted_error.get_or_insert(error);
            return;
        }
        _ => {}
    }
    match task.status {
        Status::Completed => {
            report.completed += 1;
            let mode = match kind {
                Some(ResultType::PromptPrepared) => "prompt_prepared",
                _ => "executor",
            };
            audit.log(now, "executed", &[("id", &task.id), ("mode", mode)]);
            if options.verbose {
                options.say(&format!("completed {} ({mode})", escape(&task.id)));
            }
        }
        Status::Scheduled => {
            report.retried += 1;
            let next = task.run_at.to_string();
            audit.log(
                now,
                "retry scheduled",
                &[
                    ("id", &task.id),
                    ("attempt", &task.attempts.to_string()),
                    ("next_run_at", &next),
                ],
            );
            if options.verbose {
                options.say(&format!(
                    "retry {} (attempt {} failed: {}; next run {next})",
                    escape(&task.id),
                    task.attempts,
                    one_line(task.last_error.as_deref().unwrap_or(""))
                ));
            }
        }
        Status::Cancelled => {
            report.missed += 1;
            let reason = task.cancel_reason.clone().flatten().unwrap_or_default();
            audit.log(
                now,
                "missed",
                &[("id", &task.id), ("reason", &one_line(&reason))],
            );
            if options.verbose {
                options.say(&format!(
                    "skipped {}: {}",
                    escape(&task.id),
                    one_line(&reason)
                ));
            }
        }
        _ => {
            report.failed += 1;
            let error = one_line(task.error.as_deref().unwrap_or(""));
            audit.log(
                now,
                "failed",
                &[
                    ("id", &task.id),
                    ("reason", outcome.reason.as_str()),
                    ("error", &error),
                ],
            );
            if options.verbose {
                options.say(&format!("failed {}: {error}", escape(&task.id)));
            }
        }
    }
    if let Some(next) = &outcome.next {
        let run_at = next.run_at.to_string();
        let occurrence = next
            .series
            .as_ref()
            .map_or(String::new(), |s| s.occurrence.to_string());
        audit.log(
            now,
            "series next",
            &[
                ("id", &next.id),
                ("run_at", &run_at),
                ("occurrence", &occurrence),
            ],
        );
        if options.verbose {
            options.say(&format!("next {} at {run_at}", escape(&next.id)));
        }
    }
}

/// Stored or executor text as one short, terminal-safe line.
fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = escape(&line).into_owned();
    let mut cut: String = line.chars().take(200).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    cut
}
