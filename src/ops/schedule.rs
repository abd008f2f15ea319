//! Scheduling: a time expression and a snapshot of intent become a stored task. The CLI, MCP
//! and any other front end call [`schedule`] with a [`ScheduleRequest`].

use std::path::PathBuf;

use jiff::ZonedDateTime as Zoned;
use serde_json::{Map, Value};

use crate::audit;
use crate::config::Config;
use crate::error::{Arg, ArgProblem, Error, Result};
use crate::record::MAX_RECORD_BYTES;
use crate::record::{
    AuraLevel, Context, Execution, IfLate, Intent, LateAfter, Mode, Reorient, Series, Stamp,
    Status, Task, validate_id,
};
use crate::recur::Rule;
use crate::reorient::{self, Lookup};
use crate::store::Store;
use crate::store::jsonl::scan::MAX_DEPTH;
use crate::when;

/// Everything a caller (CLI, MCP, another program) can ask of `schedule`.
#[derive(Debug, Clone, Default)]
pub struct ScheduleRequest {
    /// The time expression; may be empty for a recurring task (the rule gives the first time).
    pub when: String,
    pub summary: Option<String>,
    pub intent: Option<Intent>,
    pub mode: Option<Mode>,
    pub prompt_template: Option<String>,
    pub aura_level: Option<AuraLevel>,
    pub max_retries: Option<u32>,
    pub key_points: Vec<String>,
    pub artifacts: Vec<String>,
    pub constraints: Vec<String>,
    /// A JSON object (text) merged into the context before the flags' items.
    pub context_json: Option<String>,
    pub id: Option<String>,
    pub reorient: bool,
    pub project: Option<String>,
    pub context_file: Option<PathBuf>,
    /// The directory the executor starts in.
    pub cwd: Option<PathBuf>,
    /// Repeat every such duration (`1d`, `2h`).
    pub every: Option<String>,
    /// Repeat on a five-field cron rule.
    pub cron: Option<String>,
    /// With a repeat: no occurrence after this time expression.
    pub until: Option<String>,
    /// With a repeat: at most this many occurrences.
    pub count: Option<u32>,
    /// Missed-run policy.
    pub if_late: Option<IfLate>,
    /// How late counts as missed for `if_late = skip` (default 10m).
    pub late_after: Option<String>,
    pub dry_run: bool,
}

/// A task that was (or, for a dry run, would be) stored, and how its time was understood.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub task: Task,
    /// `Fri 2026-11-27 09:00 EST, in 22h 59m`.
    pub description: String,
    /// The time resolved to an instant before now (the task is due at once).
    pub in_past: bool,
}

/// Builds the record, validates everything, and stores it unless `dry_run`.
pub fn schedule(config: &Config, store: &dyn Store, req: &ScheduleRequest) -> Result<Scheduled> {
    let now = config.clock.now_zoned();
    let mut scheduled = build(config, req, &now)?;
    if !req.dry_run {
        let mut tries = 0;
        loop {
            match store.insert(&scheduled.task, req.id.is_some()) {
                // A generated id has a random part, so meeting an existing one is all but
                // impossible; if it happens anyway, the store refused it: take a fresh one.
                Err(Error::DuplicateId(_)) if req.id.is_none() && tries < 5 => {
                    tries += 1;
                    scheduled.task.id = default_id(scheduled.task.created_at)?;
                    if let Some(series) = &mut scheduled.task.series {
                        series.id = scheduled.task.id.clone();
                    }
                }
                other => break other?,
            }
        }
        let task = &scheduled.task;
        audit::log(
            &config.log_file,
            now.timestamp(),
            "scheduled",
            &[
                ("id", &task.id),
                ("run_at", &task.run_at.to_string()),
                ("intent", task.intent.as_str()),
                ("mode", task.execution.mode.as_str()),
                ("retries", &task.max_retries.to_string()),
            ],
        );
    }
    Ok(scheduled)
}

/// Builds and validates the record without touching the store.
pub fn build(config: &Config, req: &ScheduleRequest, now: &Zoned) -> Result<Scheduled> {
    // Cheap checks first, so a bad flag is reported before any file is read.
    if let Some(id) = &req.id {
        validate_id(id)?;
    }
    // `--when "every weekday at 9am"` is the rule itself; its first time is the next match.
    let repeat = match (&req.every, &req.cron) {
        (None, None) => when::parse_repeat(&req.when).map_err(|e| Error::time_arg(Arg::When, e))?,
        _ => None,
    };
    let when_text = if repeat.is_some() {
        ""
    } else {
        req.when.as_str()
    };
    let rule = match (&req.every, &req.cron) {
        (Some(every), None) => Some(Rule::every(every)?),
        (None, Some(cron)) => Some(Rule::cron(cron)?),
        (Some(_), Some(_)) => {
            return Err(Error::Argument {
                arg: Arg::Every,
                value: None,
                problem: ArgProblem::Conflicts { other: Arg::Cron },
            });
        }
        (None, None) => repeat.map(|r| Rule::parse(&r.rule)).transpose()?,
    };
    if rule.is_none() {
        for (arg, given) in [
            (Arg::Until, req.until.is_some()),
            (Arg::Count, req.count.is_some()),
        ] {
            if given {
                return Err(Error::Argument {
                    arg,
                    value: None,
                    problem: ArgProblem::NeedsRepeat,
                });
            }
        }
    }
    if req.count == Some(0) {
        return Err(Error::invalid_arg(
            Arg::Count,
            "0",
            "a series needs at least one occurrence",
            Some("3"),
        ));
    }
    let when_arg = |e| Error::time_arg(Arg::When, e);
    let target = match (when_text.trim().is_empty(), &rule) {
        // No time and no rule: the parser's own "empty time expression" error, which says
        // what to write and suits every caller (the CLI requires --when before this).
        (true, None) => when::parse(when_text, now).map_err(when_arg)?,
        // The first occurrence of a cron rule is its first time at or after --when.
        (false, Some(rule @ Rule::Cron { .. })) => {
            rule.next(&when::parse(when_text, now).map_err(when_arg)?, true)?
        }
        (false, _) => when::parse(when_text, now).map_err(when_arg)?,
        (true, Some(rule)) => rule.next(now, false)?,
    };
    let until = match &req.until {
        Some(expr) => {
            let until = when::parse(expr, now).map_err(|e| Error::time_arg(Arg::Until, e))?;
            if until.timestamp() < target.timestamp() {
                return Err(Error::invalid_arg(
                    Arg::Until,
                    expr.clone(),
                    format!(
                        "{} is before the first occurrence ({})",
                        Stamp(until.timestamp()),
                        Stamp(target.timestamp())
                    ),
                    None,
                ));
            }
            Some(Stamp(until.timestamp()))
        }
        None => None,
    };
    let late_after = match &req.late_after {
        Some(late) => {
            if req.if_late != Some(IfLate::Skip) {
                return Err(Error::arg_requires(
                    Arg::LateAfter,
                    Arg::IfLate,
                    Some("skip"),
                ));
            }
            Some(LateAfter::parse(late).map_err(|e| {
                Error::invalid_arg(Arg::LateAfter, late.clone(), e.to_string(), Some("1h"))
            })?)
        }
        None => None,
    };
    let mut context = match &req.context_json {
        Some(text) => parse_context_json(text)?,
        None => Context::default(),
    };
    if req.reorient {
        let snapshot = reorient::build(
            config,
            &Lookup {
                context_file: req.context_file.as_deref(),
                project: req.project.as_deref(),
            },
        )?;
        // The reoriented items come first; an explicit context's summary and origin win.
        if context.summary.is_empty() {
            context.summary = snapshot.summary;
        }
        context.key_points = prepend(snapshot.key_points, context.key_points);
        context.artifacts = prepend(snapshot.artifacts, context.artifacts);
        context.constraints = prepend(snapshot.constraints, context.constraints);
        if context.reoriented_from.is_none() {
            context.reoriented_from = Some(snapshot.reoriented_from);
        }
    }
    if let Some(summary) = req.summary.as_ref().filter(|s| !s.trim().is_empty()) {
        context.summary = summary.clone();
    }
    if context.summary.trim().is_empty() {
        return Err(Error::Argument {
            arg: Arg::Summary,
            value: None,
            problem: ArgProblem::Missing {
                hint: Some(
                    "say what is to be done later (a context or a reorientation may supply it)",
                ),
            },
        });
    }
    context.key_points.extend(req.key_points.iter().cloned());
    context.artifacts.extend(req.artifacts.iter().cloned());
    context.constraints.extend(req.constraints.iter().cloned());

    let created_at = Stamp(now.timestamp());
    let run_at = Stamp(target.timestamp());
    let id = match &req.id {
        Some(id) => id.clone(),
        None => default_id(created_at)?,
    };
    let prompt_template = req
        .prompt_template
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| context.summary.clone());
    let mut task = Task {
        id,
        created_at,
        run_at,
        kind: "deferred_task".into(),
        intent: req.intent.unwrap_or(Intent::ResumeTask),
        context,
        execution: Execution {
            mode: req.mode.unwrap_or(Mode::Fresh),
            prompt_template: Some(prompt_template),
            aura_level: req.aura_level.unwrap_or(AuraLevel::Low),
            extra: Map::new(),
        },
        status: Status::Scheduled,
        attempts: 0,
        max_retries: req.max_retries.unwrap_or(0),
        reorient_requested: req.reorient,
        reorient: Some(Reorient {
            requested: req.reorient,
            project: req.project.clone(),
            explicit_context_file: req.context_file.as_ref().map(|p| p.display().to_string()),
            extra: Map::new(),
        }),
        when: Some(when_text.trim().to_string()).filter(|w| !w.is_empty()),
        timezone: Some(config.clock.zone_name()),
        cwd: working_dir(req.cwd.as_deref())?,
        started_at: None,
        completed_at: None,
        failed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        last_attempt_at: None,
        last_error: None,
        error: None,
        result: None,
        series: rule.as_ref().map(|rule| Series {
            id: String::new(),
            rule: rule.clone(),
            occurrence: 1,
            scheduled_for: run_at,
            count: req.count,
            until,
            missed: None,
            ended: false,
            extra: Map::new(),
        }),
        if_late: req.if_late,
        late_after,
        extra: Map::new(),
    };
    let line = task.to_line();
    // The same check the loader makes, so whatever a front end put in the context (MCP passes
    // it as data, not as --context-json text), the record reads back.
    if let Err(e) = crate::store::jsonl::scan::scan(line.as_bytes()) {
        return Err(Error::Invalid(format!(
            "the task record would not read back ({}): nest its context at most {} levels deep",
            e.what,
            MAX_DEPTH - 1
        )));
    }
    let size = line.len();
    if size > MAX_RECORD_BYTES {
        return Err(Error::RecordTooLarge {
            size,
            limit: MAX_RECORD_BYTES,
        });
    }
    if let Some(series) = &mut task.series {
        series.id = task.id.clone();
    }
    let mut description = when::describe_as_typed(when_text, &target, now);
    if let Some(series) = &task.series {
        description.push_str(&format!(", then {}", series.rule.text()));
        if let Some(count) = series.count {
            description.push_str(&format!(", {count} times in all"));
        }
        if let Some(until) = series.until {
            description.push_str(&format!(", until {until}"));
        }
    }
    Ok(Scheduled {
        // Stored stamps are whole seconds, so compare at that precision.
        in_past: target.timestamp().as_second() < now.timestamp().as_second(),
        description,
        task,
    })
}

/// `--cwd` as an absolute path, refused unless it is an existing directory: a task must not
/// be accepted that can only fail when it runs.
fn working_dir(dir: Option<&std::path::Path>) -> Result<Option<String>> {
    let Some(dir) = dir else {
        return Ok(None);
    };
    let shown = dir.display().to_string();
    let absolute = std::fs::canonicalize(dir).map_err(|e| {
        Error::invalid_arg(
            Arg::Cwd,
            shown.clone(),
            format!("cannot be used: {e}"),
            None,
        )
    })?;
    if !absolute.is_dir() {
        return Err(Error::invalid_arg(
            Arg::Cwd,
            shown,
            "is not a directory",
            None,
        ));
    }
    absolute
        .to_str()
        .map(|s| Some(s.to_string()))
        .ok_or_else(|| Error::invalid_arg(Arg::Cwd, shown, "is not valid UTF-8", None))
}

fn prepend(mut first: Vec<String>, then: Vec<String>) -> Vec<String> {
    first.extend(then);
    first
}

/// `--context-json` must be an object; its list fields must be lists of strings. Unknown keys
/// are kept in the record's context.
fn parse_context_json(text: &str) -> Result<Context> {
    let value: Value = serde_json::from_str(text).map_err(|source| Error::Json {
        what: "--context-json".into(),
        source,
    })?;
    // The record holds the context inside its own object: one level more than the context.
    let depth = 1 + nesting(&value);
    if depth > MAX_DEPTH {
        return Err(Error::Argument {
            arg: Arg::ContextJson,
            value: None,
            problem: ArgProblem::Invalid {
                reason: format!(
                    "nests {} levels of objects and arrays; a task record may nest at most {} \
                     (the context counts one level inside the record)",
                    depth - 1,
                    MAX_DEPTH - 1
                ),
                example: None,
            },
        });
    }
    // Argument errors, so each front end names the argument its own way.
    let invalid = |reason: String| Error::Argument {
        arg: Arg::ContextJson,
        value: None,
        problem: ArgProblem::Invalid {
            reason,
            example: None,
        },
    };
    if !value.is_object() {
        return Err(invalid(
            "must be a JSON object such as {\"summary\":\"...\",\"key_points\":[\"...\"]}".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        invalid(format!(
            "has a field of the wrong type ({e}); summary is a string, \
             key_points/artifacts/constraints are lists of strings"
        ))
    })
}

/// How many objects and arrays `value` nests (0 for a string, number, boolean or null).
/// Iterative, so a hostile depth cannot exhaust the stack (serde_json already refused more
/// than 127 levels while parsing, so the numbers stay small).
fn nesting(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    deepest
}

/// `task_YYYYMMDD_HHMMSS_PID_RANDOM`: the reference's prefix (so ids still sort by creation
/// second and name the process), then 8 base-36 characters (about 41 bits) from the OS's random
/// source. The pid alone does not separate two `schedule`s in one second: in a container every
/// process can be pid 1, and two hosts sharing a database have overlapping pids. With the random
/// part two ids collide with a probability of about 2^-41 per pair made in the same second and
/// process id, and the store still refuses the rare collision (`DuplicateId`), so `schedule`
/// takes a fresh id.
fn default_id(created_at: Stamp) -> Result<String> {
    let stamp = created_at.timestamp().strftime("%Y%m%d_%H%M%S");
    let pid = std::process::id();
    let mut bits = getrandom::u64().map_err(|e| Error::Io {
        path: "/dev/urandom".into(),
        action: "reading random bits for a task id from",
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut suffix = [0u8; 8];
    for c in &mut suffix {
        *c = b"0123456789abcdefghijklmnopqrstuvwxyz"[(bits % 36) as usize];
        bits /= 36;
    }
    let suffix = String::from_utf8_lossy(&suffix);
    Ok(format!("task_{stamp}_{pid:04}_{suffix}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generated_ids_in_one_second_and_one_process_never_repeat() {
        let created = Stamp::parse("2026-11-30T22:15:00Z").expect("stamp");
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            let id = default_id(created).expect("random bits");
            assert!(
                id.starts_with(&format!("task_20261130_221500_{:04}_", std::process::id())),
                "{id}"
            );
            assert!(validate_id(&id).is_ok(), "{id}");
            assert!(seen.insert(id.clone()), "repeated id {id}");
        }
    }
}
