//! Scheduling: a time expression and a snapshot of intent become a stored task. Every front
//! end sends a [`ScheduleRequest`] (the CLI builds it from flags, MCP and HTTP read it from
//! JSON) and gets a [`ScheduleReply`].

use jiff::ZonedDateTime as Zoned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audit;
use crate::config::Config;
use crate::error::{Arg, ArgProblem, Error, Result};
use crate::lifecycle::{self, unique::UniqueAsk};
use crate::ops::wire::{null_as_empty, null_as_false};
use crate::record::MAX_RECORD_BYTES;
use crate::record::{
    AuraLevel, Context, Execution, IfLate, Intent, LateAfter, Mode, Reorient, Series, Stamp,
    Status, Task, session_problem, unique_key_problem, validate_id,
};
use crate::recur::Rule;
use crate::reorient::{self, Lookup};
use crate::store::jsonl::scan::MAX_DEPTH;
use crate::store::{Query, Store};
use crate::when;

/// Everything a caller can ask of `schedule`. The field docs are what MCP hosts show a model
/// and what the OpenAPI document says, so each says what a value is for and shows one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// When the task (or, with every or cron, its first occurrence) runs, read in the
    /// server's time zone: "30m", "in 2 hours", "tomorrow 9am", "next friday 3pm", "in 2 days
    /// at 9am", "2026-12-25 9am", "2026-04-08T17:05:00Z" or "now". A repeating phrase ("every
    /// weekday at 9am", "every 2 hours") makes a series that starts at the rule's next time.
    /// May be empty only with every or cron (the rule's next time is the first).
    pub when: String,
    /// One sentence saying what the future run should do, e.g. "Resume the architecture
    /// review at the scheduler section". Required unless context or reorient supplies one.
    #[serde(default)]
    pub summary: Option<String>,
    /// What the task is for: resume_task (pick work back up), notify (remind someone) or
    /// execute_action (do one concrete thing).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "resume_task")))]
    pub intent: Option<Intent>,
    /// How the future run starts: fresh (a new agent that has only the snapshot) or callback
    /// (the executor hands the task back to an existing agent session). Both are hints for
    /// the executor; the prompt file is the same.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "fresh")))]
    pub mode: Option<Mode>,
    /// The instruction the future run receives; defaults to the summary.
    #[serde(default)]
    pub prompt_template: Option<String>,
    /// How much effort the executor should spend (e.g. which model to use): low, medium or
    /// high. Advisory, kept in the record for the executor; defer itself ignores it.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "low")))]
    pub aura_level: Option<AuraLevel>,
    /// How many times a failed executor run is retried.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("default" = 0)))]
    pub max_retries: Option<u32>,
    /// Facts the future run needs, one short sentence each (what was decided, where you
    /// stopped). Never a transcript.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub key_points: Vec<String>,
    /// Files, URLs or other things to come back to, e.g. "/home/me/notes/review.md". Long
    /// material belongs in a file named here, not in the other fields.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub artifacts: Vec<String>,
    /// Rules the future run must respect, e.g. "do not push to main".
    #[serde(default, deserialize_with = "null_as_empty")]
    pub constraints: Vec<String>,
    /// A snapshot object merged in before the fields above: {"summary": "...",
    /// "key_points": [...], "artifacts": [...], "constraints": [...]}; other keys are kept in
    /// the record's context.
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
    /// An explicit task id (1-128 characters from A-Z a-z 0-9 . _ -, not starting with '.'),
    /// e.g. "review_followup". Leave it out to get a generated one; an id already in the
    /// store is refused.
    #[serde(default)]
    pub id: Option<String>,
    /// Build the snapshot from a CONTEXT.md (its orientation, state, constraints, decisions
    /// and references) before adding the fields above. Implied by project or context_file.
    #[serde(default, deserialize_with = "null_as_false")]
    pub reorient: bool,
    /// With reorient: use the CONTEXT.md of this project (a directory name under the server's
    /// DEFER_PROJECTS_DIR), e.g. "agent-defer".
    #[serde(default)]
    pub project: Option<String>,
    /// With reorient: use this CONTEXT.md (an absolute path, or one starting with ~/).
    #[serde(default)]
    pub context_file: Option<String>,
    /// The directory the executor starts in (an absolute path that exists on the server),
    /// e.g. the project the task belongs to. Default: not recorded.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Repeat: a new occurrence this long after each one, e.g. "1d", "2h", "1 week" ("every
    /// day" is every "1d"). `when` is the first occurrence. Do not combine with cron.
    #[serde(default)]
    pub every: Option<String>,
    /// Repeat on a five-field cron rule "minute hour day-of-month month day-of-week" in the
    /// server's time zone, e.g. "0 9 * * 1-5" (weekdays at 09:00; "every weekday at 9am").
    /// The first occurrence is the rule's first time at or after `when` (use "now").
    #[serde(default)]
    pub cron: Option<String>,
    /// With every or cron: no occurrence after this time expression. A bare date means 00:00
    /// that day, so "2026-12-31" excludes Dec 31; write "2026-12-31 23:59" to include it.
    #[serde(default)]
    pub until: Option<String>,
    /// With every or cron: stop after this many occurrences (the first one counts).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub count: Option<u32>,
    /// When the runner finds the task late (a machine asleep at the due time): run runs it
    /// anyway; skip records it as missed instead.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "run")))]
    pub if_late: Option<IfLate>,
    /// With if_late "skip": how late counts as missed, a duration such as "1h".
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "10m")))]
    pub late_after: Option<String>,
    /// A short name for this piece of work, e.g. "review:PR-123". While a task with this key
    /// is scheduled or executing, scheduling again with the same key stores nothing and
    /// returns that task (deduplicated: true): pass one whenever a call might be repeated (a
    /// retried tool call, an agent that may not remember it already scheduled), so the work
    /// is scheduled exactly once. A repeating task holds its key as one series.
    #[serde(default)]
    pub unique_key: Option<String>,
    /// With unique_key: a task with the key that completed within this long before now
    /// counts too, e.g. "1h" or "1d", so work that just ran is not scheduled again.
    #[serde(default)]
    pub unique_for: Option<String>,
    /// The id of the task this one follows up. Default: the task whose executor is running
    /// this defer (DEFER_TASK_ID), if any, so a follow-up scheduled by a running task links
    /// to it by itself.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Record no parent, even when an executor runs this defer.
    #[serde(default, deserialize_with = "null_as_false")]
    pub no_parent: bool,
    /// Your agent session's id (e.g. Claude Code's or Codex's session id), when the future
    /// run should continue this conversation: the executor resumes that session if it still
    /// exists, and starts afresh from the snapshot otherwise. Letters, digits, . _ - only.
    #[serde(default)]
    pub session: Option<String>,
    /// Preview only: return the record and how the time was understood, store nothing.
    #[serde(default, deserialize_with = "null_as_false")]
    pub dry_run: bool,
}

impl ScheduleRequest {
    /// Whether a CONTEXT.md is read: asked for, or implied by naming one.
    pub fn reorients(&self) -> bool {
        self.reorient || self.project.is_some() || self.context_file.is_some()
    }
}

/// What `schedule` answers, whichever front end asked.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ScheduleReply {
    /// The task record as stored (or, for a dry run, as it would be stored).
    pub task: Task,
    /// The task id.
    pub id: String,
    /// When it runs, UTC (YYYY-MM-DDTHH:MM:SSZ).
    pub run_at: Stamp,
    /// The IANA zone the expression was read in.
    pub timezone: String,
    /// When it runs in that zone, and how far away: "Fri 2026-11-27 09:00 EST, in 22h 59m".
    pub description: String,
    /// The time is already past, so the task is due at the next `defer run`.
    pub in_past: bool,
    /// The task was written to the store (false for a dry run, and when deduplicated).
    pub stored: bool,
    /// A task with this unique_key already holds it (scheduled or executing, or completed
    /// within unique_for): nothing was stored, and task is that task.
    pub deduplicated: bool,
    /// The server's current local time, ISO 8601 with its offset.
    pub now_local: String,
    /// What happened, in one sentence: "scheduled task_… for Fri 2026-11-27 09:00 EST, in
    /// 22h 59m".
    pub message: String,
    /// Things worth knowing that did not stop it, e.g. a time already past.
    pub warnings: Vec<String>,
}

/// A task that was (or, for a dry run, would be) stored, and how its time was understood.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub task: Task,
    /// `Fri 2026-11-27 09:00 EST, in 22h 59m`.
    pub description: String,
    /// The time resolved to an instant before now (the task is due at once).
    pub in_past: bool,
    /// What a keyed schedule asks of the store (`None` without `unique_key`).
    pub unique: Option<UniqueAsk>,
}

/// Builds the record, validates everything, and stores it unless `dry_run`.
pub fn schedule(
    config: &Config,
    store: &dyn Store,
    req: &ScheduleRequest,
) -> Result<ScheduleReply> {
    let now = config.clock.now_zoned();
    let mut scheduled = build(config, req, &now)?;
    refuse_other_store(config, store)?;
    scheduled.task.parent_id = parent(config, store, req)?;
    let existing = match (&scheduled.unique, req.dry_run) {
        (Some(ask), true) => holder_now(store, ask)?,
        _ => None,
    };
    if let Some(existing) = existing {
        return Ok(deduplicated(config, existing, true));
    }
    if !req.dry_run {
        let mut tries = 0;
        loop {
            let check_id = req.id.is_some();
            let added = match &scheduled.unique {
                Some(ask) => store.insert_unique(&scheduled.task, check_id, ask),
                None => store.insert(&scheduled.task, check_id).map(|()| None),
            };
            match added {
                Ok(Some(existing)) => {
                    audit::log(
                        &config.log_file,
                        now.timestamp(),
                        "schedule deduplicated",
                        &[
                            ("id", &existing.id),
                            ("unique_key", existing.unique_key.as_deref().unwrap_or("")),
                            ("status", existing.status.as_str()),
                        ],
                    );
                    return Ok(deduplicated(config, existing, false));
                }
                Ok(None) => break,
                // A generated id has a random part, so meeting an existing one is all but
                // impossible; if it happens anyway, the store refused it: take a fresh one.
                Err(Error::DuplicateId(_)) if req.id.is_none() && tries < 5 => {
                    tries += 1;
                    scheduled.task.id = default_id(scheduled.task.created_at)?;
                    if let Some(series) = &mut scheduled.task.series {
                        series.id = scheduled.task.id.clone();
                    }
                }
                Err(e) => return Err(e),
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
    let mut warnings = Vec::new();
    if scheduled.in_past {
        warnings.push(super::past_warning(&req.when, scheduled.task.run_at));
    }
    let task = scheduled.task;
    let message = if req.dry_run {
        format!(
            "dry run: would schedule {} for {}",
            task.id, scheduled.description
        )
    } else {
        format!("scheduled {} for {}", task.id, scheduled.description)
    };
    Ok(ScheduleReply {
        id: task.id.clone(),
        run_at: task.run_at,
        timezone: task
            .timezone
            .clone()
            .unwrap_or_else(|| config.clock.zone_name()),
        description: scheduled.description,
        in_past: scheduled.in_past,
        stored: !req.dry_run,
        deduplicated: false,
        now_local: super::now_local(config),
        message,
        warnings,
        task,
    })
}

/// The reply when `existing` already holds the key: nothing stored, the holder returned, and
/// the sentence says where it stands (`already scheduled as ID for TIME`).
fn deduplicated(config: &Config, existing: Task, dry_run: bool) -> ScheduleReply {
    let description = config.clock.describe(existing.run_at.timestamp());
    let id = &existing.id;
    let mut message = match existing.status {
        Status::Executing => format!("already executing as {id} (it was due {description})"),
        Status::Completed => {
            let done = existing
                .completed_at
                .map_or_else(String::new, |at| config.clock.describe(at.timestamp()));
            format!("already completed as {id} ({done})")
        }
        _ => format!("already scheduled as {id} for {description}"),
    };
    if let Some(key) = &existing.unique_key {
        message.push_str(&format!(
            "; unique key {} holds it, so nothing new was stored",
            crate::error::quote_value(key)
        ));
    }
    if dry_run {
        message = format!("dry run: {message}");
    }
    ScheduleReply {
        id: existing.id.clone(),
        run_at: existing.run_at,
        timezone: existing
            .timezone
            .clone()
            .unwrap_or_else(|| config.clock.zone_name()),
        description,
        in_past: false,
        stored: false,
        deduplicated: true,
        now_local: super::now_local(config),
        message,
        warnings: Vec::new(),
        task: existing,
    }
}

/// The holder of a key as the store has it now (a dry run's answer; a real schedule asks
/// under the store's lock instead).
fn holder_now(store: &dyn Store, ask: &UniqueAsk) -> Result<Option<Task>> {
    let query = Query {
        statuses: ask.statuses().to_vec(),
        include_archive: ask.completed_since.is_some(),
        unique_key: Some(ask.key.clone()),
        ..Query::default()
    };
    let mut found = Vec::new();
    store.list(&query, &mut |line| {
        if let Ok(task) = Task::from_json(line) {
            found.push(task);
        }
        Ok(())
    })?;
    Ok(lifecycle::unique::holder(found, ask))
}

/// Refuses a schedule made by an executor (`DEFER_TASK_ID` set) whose `defer` would write
/// to another store than its runner's (`DEFER_RUNNER_STORE`): the follow-up would be stored
/// where no runner looks, which is worse than no follow-up. Without `DEFER_RUNNER_STORE` (a
/// runner of an earlier version) [`parent`] still notices when the running task is not here.
fn refuse_other_store(config: &Config, store: &dyn Store) -> Result<()> {
    let (Some(task), Some(runner)) = (&config.running_task, &config.runner_store) else {
        return Ok(());
    };
    let here = store.identity();
    if &here == runner {
        return Ok(());
    }
    Err(Error::OtherStore {
        task: task.clone(),
        runner: runner.clone(),
        here,
    })
}

/// The parent the new task records: `parent_id` if given (it must exist), none with
/// `no_parent`, else the task whose executor runs this `defer` (`DEFER_TASK_ID`), which must
/// be in this store.
fn parent(config: &Config, store: &dyn Store, req: &ScheduleRequest) -> Result<Option<String>> {
    if req.no_parent {
        return Ok(None);
    }
    if let Some(id) = &req.parent_id {
        if store.show(id)?.is_none() {
            return Err(Error::invalid_arg(
                Arg::Parent,
                id.clone(),
                "no task has this id (`defer list --all` lists them)",
                None,
            ));
        }
        return Ok(Some(id.clone()));
    }
    let Some(running) = config.running_task.as_ref().filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    if validate_id(running).is_err() || store.show(running)?.is_none() {
        return Err(Error::ParentElsewhere(running.clone(), store.identity()));
    }
    Ok(Some(running.clone()))
}

/// Builds and validates the record without touching the store.
pub fn build(config: &Config, req: &ScheduleRequest, now: &Zoned) -> Result<Scheduled> {
    // Cheap checks first, so a bad flag is reported before any file is read.
    if let Some(id) = &req.id {
        validate_id(id)?;
    }
    let unique = unique_ask(req, now)?;
    if let Some(session) = &req.session
        && let Some(problem) = session_problem(session)
    {
        return Err(Error::invalid_arg(
            Arg::Session,
            session.clone(),
            problem,
            None,
        ));
    }
    if req.no_parent && req.parent_id.is_some() {
        return Err(Error::arg_conflicts(Arg::Parent, Arg::NoParent));
    }
    if let Some(parent) = &req.parent_id {
        validate_id(parent).map_err(|_| {
            Error::invalid_arg(
                Arg::Parent,
                parent.clone(),
                "is not a task id (1-128 characters from A-Z a-z 0-9 . _ -)",
                None,
            )
        })?;
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
        (None, None) => repeat.as_ref().map(|r| Rule::parse(&r.rule)).transpose()?,
    };
    // `every other tuesday at 9am` names its first time; other phrases start at the rule's.
    let first = match &repeat {
        Some(spec) => spec.first(now).map_err(|e| Error::time_arg(Arg::When, e))?,
        None => None,
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
        (true, Some(rule)) => match first {
            Some(first) => first,
            None => rule.next(now, false)?,
        },
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
    let mut context = match &req.context {
        Some(object) => parse_context(object)?,
        None => Context::default(),
    };
    let reorient = req.reorients();
    if reorient {
        let snapshot = reorient::build(
            config,
            &Lookup {
                context_file: req.context_file.as_deref().map(std::path::Path::new),
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
                    "one sentence saying what the future run should do, e.g. \"Resume the \
                     architecture review at the scheduler section\" (a context or reorient may \
                     supply it instead)",
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
        reorient_requested: reorient,
        reorient: Some(Reorient {
            requested: reorient,
            project: req.project.clone(),
            explicit_context_file: req.context_file.clone(),
            extra: Map::new(),
        }),
        when: Some(when_text.trim().to_string()).filter(|w| !w.is_empty()),
        timezone: Some(config.clock.zone_name()),
        cwd: working_dir(req.cwd.as_deref().map(std::path::Path::new))?,
        unique_key: unique.as_ref().map(|u| u.key.clone()),
        // Set by `schedule`, which can look the parent up in the store.
        parent_id: None,
        session: req.session.clone(),
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
        retried: 0,
        missed: None,
        history: Vec::new(),
        history_dropped: 0,
        extra: Map::new(),
    };
    let line = task.to_line();
    // The same check the loader makes, so whatever a front end put in the context (MCP passes
    // it as data, not as --context-json text), the record reads back.
    if let Err(e) = crate::store::jsonl::scan::scan(line.as_bytes()) {
        return Err(Error::Argument {
            arg: Arg::ContextJson,
            value: None,
            problem: ArgProblem::Invalid {
                reason: format!(
                    "the task record would not read back ({}): nest the context at most {} \
                     levels deep",
                    e.what,
                    MAX_DEPTH - 1
                ),
                example: None,
            },
        });
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
        unique,
    })
}

/// `unique_key` and `unique_for` read into what the store is asked; `unique_for` alone is
/// refused, since it says nothing without a key.
fn unique_ask(req: &ScheduleRequest, now: &Zoned) -> Result<Option<UniqueAsk>> {
    let Some(key) = &req.unique_key else {
        if req.unique_for.is_some() {
            return Err(Error::arg_requires(Arg::UniqueFor, Arg::UniqueKey, None));
        }
        return Ok(None);
    };
    if let Some(problem) = unique_key_problem(key) {
        return Err(Error::invalid_arg(
            Arg::UniqueKey,
            key.clone(),
            problem,
            Some("review:PR-123"),
        ));
    }
    let completed_since = match &req.unique_for {
        None => None,
        Some(window) => {
            let bad = |reason: String| {
                Error::invalid_arg(Arg::UniqueFor, window.clone(), reason, Some("1h"))
            };
            let seconds = when::parse_interval(window)
                .map_err(|e| bad(e.to_string()))?
                .approx_seconds();
            if seconds <= 0 {
                return Err(bad("must be longer than zero".into()));
            }
            Some(
                now.timestamp()
                    .checked_sub(jiff::SignedDuration::from_secs(seconds))
                    .unwrap_or(jiff::Timestamp::MIN),
            )
        }
    };
    Ok(Some(UniqueAsk {
        key: key.clone(),
        completed_since,
    }))
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

/// The `context` object must have a string summary and lists of strings as its list fields;
/// other keys are kept in the record's context. The CLI's `--context-json` text is parsed into
/// this object by the CLI; MCP and HTTP send it as JSON.
pub fn parse_context(object: &Map<String, Value>) -> Result<Context> {
    let value = Value::Object(object.clone());
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
    serde_json::from_value(value).map_err(|e| Error::Argument {
        arg: Arg::ContextJson,
        value: None,
        problem: ArgProblem::Invalid {
            reason: format!(
                "has a field of the wrong type ({e}); summary is a string, \
                 key_points/artifacts/constraints are lists of strings"
            ),
            example: None,
        },
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
    let mut bits = getrandom::u64().map_err(|e| Error::Random {
        what: "a task id",
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
