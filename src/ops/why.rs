//! `why`: one task in plain words — where it is, what its status means, when it is
//! (or was) due, and, for a task that is due but has not run, the reason.
//!
//! The reasons are the links of the chain `defer doctor` checks, asked about one task: has the
//! runner woken since it became due (the wake record), is another runner holding the lock, will
//! the executor be usable. The answer prints as short lines of text for a person (or an agent)
//! to read; `defer show ID` has the record itself.

use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::lifecycle::{self, LateRule};
use crate::ops::doctor::{RunnerNow, runner_now};
use crate::record::{ResultType, Stamp, Status, Task, validate_id};
use crate::runner::{self, executor};
use crate::store::{Query, Store};

/// Longest output or error text quoted in a line; `defer show` has the whole record.
const QUOTE_CHARS: usize = 200;

/// Asks about one task.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WhyRequest {
    /// The task id, e.g. "task_20260408_163500_4821".
    pub id: String,
}

/// The task's story, one point a line (lines quote stored text as it is; a terminal front
/// end escapes them).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WhyReply {
    pub id: String,
    /// It is in the active store (not yet archived).
    pub active: bool,
    pub lines: Vec<String>,
}

/// Explains task `id`.
pub fn why(config: &Config, store: &dyn Store, req: &WhyRequest) -> Result<WhyReply> {
    validate_id(&req.id)?;
    let Some(record) = store.show(&req.id)? else {
        return Err(Error::NotFound(req.id.clone()));
    };
    let task: Task = serde_json::from_value(record.clone()).map_err(|source| Error::Json {
        what: format!("the record of {}", req.id),
        source,
    })?;
    let active = in_active_store(store, &task.id)?;
    Ok(WhyReply {
        id: task.id.clone(),
        active,
        lines: explain(config, store, &task, &record, active),
    })
}

/// Whether `id` is in the active store (`show` also finds archived records and does not say
/// which). Records without the id's bytes are skipped before any parsing.
fn in_active_store(store: &dyn Store, id: &str) -> Result<bool> {
    let mut found = false;
    let finder = memchr::memmem::Finder::new(id.as_bytes());
    store.list(&Query::default(), &mut |bytes| {
        if !found && finder.find(bytes).is_some() {
            found = serde_json::from_slice::<Value>(bytes)
                .is_ok_and(|v| v.get("id").and_then(Value::as_str) == Some(id));
        }
        Ok(())
    })?;
    Ok(found)
}

/// The explanation, one line per point.
fn explain(
    config: &Config,
    store: &dyn Store,
    task: &Task,
    record: &Value,
    active: bool,
) -> Vec<String> {
    let now = config.clock.now();
    let mut out = vec![format!("{}: {}", task.id, quote(&task.context.summary))];
    out.push(if active {
        "Where: the active store (it has not finished, or has not been swept to the archive yet)."
            .to_string()
    } else {
        "Where: the archive (finished tasks are moved there; they never run again).".to_string()
    });
    out.push(status_line(config, store, task));

    let as_typed = match (&task.when, &task.timezone) {
        (Some(w), Some(z)) => format!(" (as typed: {w:?}, read in {z})"),
        (Some(w), None) => format!(" (as typed: {w:?})"),
        _ => String::new(),
    };
    let due = task.run_at.timestamp();
    let tense = if due >= now { "is due" } else { "was due" };
    out.push(format!(
        "Due: it {tense} {}{as_typed}.",
        config.clock.describe(due)
    ));

    if let Some(series) = record.get("series").filter(|s| s.is_object()) {
        out.push(series_line(config, series));
    }
    out.extend(chain_lines(config, store, task));
    if let Some(policy) = late_policy(config, task) {
        out.push(policy);
    }

    if task.status == Status::Scheduled {
        out.push(not_run_yet(config, store, task));
    }
    if matches!(task.status, Status::Scheduled | Status::Executing)
        && let Some(path) = &config.executor
        && let Err(executor::Unusable(reason)) = executor::check_usable(path)
    {
        out.push(format!(
            "Executor: {reason}; when this task runs it will fail at once."
        ));
    }

    if let Some(line) = attempts_line(config, task) {
        out.push(line);
    }
    if let Some(result) = &task.result {
        out.push(result_line(config, task, result));
    }
    out
}

/// Where the task stands in a chain of follow-ups: the task whose run scheduled it, and the
/// ones its runs scheduled (a store that cannot be read for them adds nothing: the rest of
/// the story still stands).
fn chain_lines(config: &Config, store: &dyn Store, task: &Task) -> Vec<String> {
    const SHOWN: usize = 5;
    let Ok(links) = super::show::links(
        store,
        &task.id,
        Some(task.created_at),
        task.parent_id.as_deref(),
    ) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    match (&links.parent, &task.parent_id) {
        (Some(parent), _) => lines.push(format!(
            "Follow-up of: {} (its run scheduled this task).",
            parent.line(config)
        )),
        (None, Some(id)) => lines.push(format!(
            "Follow-up of: {id}, which is no longer in the store."
        )),
        (None, None) => {}
    }
    if links.follow_ups_total > 0 {
        let mut line = format!(
            "Follow-ups: its runs scheduled {} task(s):",
            links.follow_ups_total
        );
        for f in links.follow_ups.iter().take(SHOWN) {
            line.push_str(&format!(" {};", f.line(config)));
        }
        if links.follow_ups_total > SHOWN {
            line.push_str(&format!(
                " `defer list --parent {} --all` lists them all.",
                task.id
            ));
        }
        lines.push(line.trim_end_matches(';').to_string());
    }
    lines
}

fn status_line(config: &Config, store: &dyn Store, task: &Task) -> String {
    let at = |stamp: Option<Stamp>| {
        stamp
            .map(|s| format!(" {}", config.clock.describe(s.timestamp())))
            .unwrap_or_default()
    };
    match task.status {
        Status::Scheduled => "Status: scheduled — waiting for its time; the first runner wake at \
                              or after it claims and runs it."
            .to_string(),
        Status::Executing => {
            let holder = match runner_now(config, store) {
                RunnerNow::Busy => " A runner holds the lock now, so it is still being worked.",
                RunnerNow::Idle if runner::recovery_counts_attempt(store, &task.id) => {
                    " No runner holds the lock now, so the runner that claimed it is gone after \
                     starting it: the next `defer run` counts this as a failed attempt (retried \
                     if retries are left)."
                }
                RunnerNow::Idle => {
                    " No runner holds the lock now, so the runner that claimed it is gone before \
                     starting it: the next `defer run` gives it back and runs it, with no \
                     attempt spent."
                }
                RunnerNow::Unknown => "",
            };
            format!(
                "Status: executing — a runner claimed it{} and its executor is running.{holder}",
                at(task.started_at)
            )
        }
        Status::Completed => format!(
            "Status: completed{} — it ran; it will not run again.",
            at(task.completed_at)
        ),
        Status::Failed => format!(
            "Status: failed{} — it gave up after {} attempt(s); it will not run again. Error: {}",
            at(task.failed_at),
            task.attempts,
            quote(task.error.as_deref().unwrap_or("(none recorded)"))
        ),
        Status::Cancelled => format!(
            "Status: cancelled{} — it will not run. Reason: {}",
            at(task.cancelled_at),
            match &task.cancel_reason {
                Some(Some(reason)) => quote(reason),
                _ => "none given".to_string(),
            }
        ),
    }
}

/// Why a scheduled task has not run: it is in the future, or which link of the chain is
/// missing.
fn not_run_yet(config: &Config, store: &dyn Store, task: &Task) -> String {
    let now = config.clock.now();
    let due = task.run_at.timestamp();
    let wake = runner::last_wake(config);
    if due > now {
        let mut line = format!(
            "Why it has not run: it is in the future; the first runner wake after {} runs it.",
            config.clock.local(due)
        );
        if wake.is_none() {
            line.push_str(
                " But the runner has never woken on this host: install a wake-up (`defer cron \
                 install`; `defer doctor` checks the setup).",
            );
        }
        return line;
    }
    if let Ok(Some(pause)) = crate::ops::pause::current(config, store) {
        return format!(
            "Why it has not run: {}; it runs at the first wake after the pause ends.",
            crate::ops::pause::describe_local(config, &pause)
        );
    }
    let Some(wake) = wake else {
        return "Why it has not run: the runner has never woken on this host (no `defer run` is \
                recorded); install a wake-up with `defer cron install` or a unit from contrib/, \
                or run `defer run` by hand; `defer doctor` checks the setup."
            .to_string();
    };
    let woke = format!(
        "the runner last woke {} ({})",
        config.clock.describe(wake.at.timestamp()),
        wake.describe()
    );
    if runner_now(config, store) == RunnerNow::Busy {
        return format!(
            "Why it has not run: another runner holds the lock right now (a long executor, or \
             a `--watch` runner busy with other tasks); this task runs when it is free. \
             Meanwhile {woke}."
        );
    }
    if wake.at.timestamp() < due {
        return format!(
            "Why it has not run: {woke}, before this task became due, and nothing has woken it \
             since; check the cron entry or watcher with `defer doctor`, or run `defer run` by \
             hand."
        );
    }
    if wake.skipped {
        return format!(
            "Why it has not run: {woke} but stepped aside because another runner held the lock; \
             the next wake runs it."
        );
    }
    if task.created_at.timestamp() > wake.at.timestamp() {
        return format!(
            "Why it has not run: it was added {}, after {woke}, with a due time already past; \
             the next wake runs it.",
            config.clock.describe(task.created_at.timestamp())
        );
    }
    let shared = if config.database_url.is_some() {
        " With a shared database, check that this host's runner uses the same \
         DEFER_DATABASE_URL and DEFER_DATABASE_SCHEMA."
    } else {
        " Check that the runner's line (cron or unit) uses the same DEFER_RUNTIME_DIR / \
         DEFER_TASKS_FILE as this shell (`defer cron` prints the line for this shell)."
    };
    format!(
        "Why it has not run: {woke}, after it became due, but did not claim it; the runner may \
         be reading another store.{shared}"
    )
}

/// `series` as the recurring-task work writes it: `{id, rule, occurrence, scheduled_for,
/// count?, until?}`. Read loosely: a field this code does not find is left out of the line.
fn series_line(config: &Config, series: &Value) -> String {
    let text = |key: &str| series.get(key).and_then(Value::as_str);
    let id = text("id").unwrap_or("(no id)");
    let mut line = match series.get("occurrence").and_then(Value::as_u64) {
        Some(n) => format!("Series: occurrence {n} of series {id}"),
        None => format!("Series: part of series {id}"),
    };
    if let Some(rule) = text("rule") {
        line.push_str(&format!(" (rule {rule:?})"));
    }
    if let Some(at) = text("scheduled_for").and_then(Stamp::parse) {
        line.push_str(&format!(
            ", scheduled for {}",
            config.clock.describe(at.timestamp())
        ));
    }
    if let Some(count) = series.get("count").and_then(Value::as_u64) {
        line.push_str(&format!("; the series stops after {count} occurrences"));
    }
    if let Some(until) = text("until").and_then(Stamp::parse) {
        line.push_str(&format!(
            "; it ends at {}",
            config.clock.local(until.timestamp())
        ));
    }
    if let Some(missed) = series.get("missed").and_then(Value::as_u64) {
        line.push_str(&format!(
            "; it stands in for {missed} missed occurrence(s): after a gap only the latest runs"
        ));
    }
    if series.get("ended").and_then(Value::as_bool) == Some(true) {
        line.push_str(". The series has been ended: no further occurrence will be scheduled.");
    } else {
        line.push_str(&format!(
            ". When this occurrence finishes, the next is scheduled from the rule; `defer cancel \
             --series {id}` ends the series."
        ));
    }
    line
}

/// The missed-run policy, read by the same [`LateRule`] the runner applies.
fn late_policy(config: &Config, task: &Task) -> Option<String> {
    let rule = LateRule::of(task)?;
    let limit = crate::when::human_duration((rule.limit_seconds).unsigned_abs());
    let default = if rule.is_default {
        " (the default limit, as no late_after was given)"
    } else {
        ""
    };
    let mut line = if rule.skip {
        format!(
            "Missed-run policy: if a runner finds it more than {limit} late{default} it is \
             skipped (recorded as cancelled, with a reason saying by how much) instead of run."
        )
    } else {
        format!("Missed-run policy: it runs however late it is found, even more than {limit} late.")
    };
    let now = config.clock.now();
    if task.status == Status::Scheduled
        && let Some(late) = lifecycle::late::missed_by(task, now)
    {
        line.push_str(&format!(
            " It is already {} late, past the {limit} limit: the next wake records it as skipped.",
            crate::when::human_duration((late).unsigned_abs())
        ));
    }
    Some(line)
}

fn attempts_line(config: &Config, task: &Task) -> Option<String> {
    if task.attempts == 0 {
        return None;
    }
    let runs = task.max_retries.saturating_add(1);
    let mut line = format!(
        "Attempts: {} failed run(s) of at most {runs} (max_retries {})",
        task.attempts, task.max_retries
    );
    if let Some(at) = task.last_attempt_at {
        line.push_str(&format!(
            "; the last {}",
            config.clock.describe(at.timestamp())
        ));
    }
    if let Some(error) = &task.last_error {
        line.push_str(&format!("; last error: {}", quote(error)));
    }
    line.push('.');
    Some(line)
}

fn result_line(config: &Config, task: &Task, result: &crate::record::TaskResult) -> String {
    match result.kind {
        ResultType::PromptPrepared => format!(
            "Result: no executor was configured, so the prompt was written to {} for you (or \
             an agent) to pick up.",
            result.prompt_path
        ),
        ResultType::ExecutorOutput => {
            let mut line = "Result: the executor exited 0".to_string();
            match result.output.as_deref().map(str::trim) {
                Some(text) if !text.is_empty() => {
                    line.push_str(&format!("; its output: {}", quote(text)));
                }
                _ => line.push_str(" with no output"),
            }
            if let Some(path) = &result.output_path {
                line.push_str(&format!(" (the full output is in {path})"));
            }
            line.push('.');
            line
        }
        ResultType::ExecutorFailed => format!(
            "Result: the executor failed{}; the prompt is in {}.",
            result
                .exit_code
                .map(|c| format!(" with exit code {c}"))
                .unwrap_or_default(),
            result.prompt_path
        ),
        ResultType::RetryScheduled => {
            let next = result.next_run_at.unwrap_or(task.run_at).timestamp();
            format!(
                "Result: the last attempt failed and a retry is scheduled for {}.",
                config.clock.describe(next)
            )
        }
    }
}

/// Text quoted on one line, shortened to [`QUOTE_CHARS`] characters.
fn quote(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= QUOTE_CHARS {
        return format!("{one_line:?}");
    }
    let cut: String = one_line.chars().take(QUOTE_CHARS).collect();
    format!("{:?}", format!("{cut}…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_one_line_and_bounded() {
        assert_eq!(quote("a\n  b"), "\"a b\"");
        let long = "x".repeat(500);
        assert_eq!(quote(&long).chars().count(), QUOTE_CHARS + 3);
    }
}
