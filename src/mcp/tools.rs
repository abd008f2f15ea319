//! The tools: their descriptions, the library call each makes, and how the answer and the
//! errors are worded for a model.
//!
//! Each tool is a thin `#[tool]` method that hands its argument object to a plain function
//! returning `Result<Reply, ToolError>`; `respond` turns that into a `CallToolResult`. A
//! success carries `structuredContent` plus two text blocks, a sentence for the model and the
//! same JSON as text for clients that ignore structured content. A failure is a result with
//! `isError: true` whose text says what was wrong and shows a valid value: bad input never
//! becomes a protocol error, so the model sees the message and can try again.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use rmcp::{tool, tool_router};
use serde::Serialize;
use serde_json::Value;

use super::DeferServer;
use super::args::{
    self, ArgsError, CancelArgs, DEFAULT_LIMIT, ListArgs, ListOutput, LogsOutput, RescheduleArgs,
    RescheduleOutput, RetryArgs, ScheduleArgs, ScheduleOutput, ShowArgs, TaskOutput, TimeArgs,
    TimeOutput, input_schema, output_schema,
};
use crate::config::Config;
use crate::error::{ArgProblem, Error};
use crate::ops::{cancel, logs, reschedule, retry, schedule};
use crate::record::{Stamp, Status, validate_id};
use crate::store::Store;
use crate::when;

const SCHEDULE_EXAMPLE: &str = r#"{"when": "tomorrow 9am", "summary": "Resume the architecture review at the scheduler section", "key_points": ["narrowed to scheduler semantics"], "artifacts": ["/home/me/notes/review.md"]}"#;
const LIST_EXAMPLE: &str = r#"{"status": ["scheduled"]} or {"all": true, "limit": 20}"#;
const SHOW_EXAMPLE: &str = r#"{"id": "task_20260408_163500_4821"}"#;
const CANCEL_EXAMPLE: &str = r#"{"id": "task_20260408_163500_4821", "reason": "done by hand"}"#;
const TIME_EXAMPLE: &str = r#"{"when": "next friday 3pm"}"#;
const RESCHEDULE_EXAMPLE: &str = r#"{"id": "task_20260408_163500_4821", "when": "tomorrow 9am"}"#;
const RETRY_EXAMPLE: &str =
    r#"{"id": "task_20260408_163500_4821"} or {"id": "task_20260408_163500_4821", "when": "10m"}"#;
const OUTPUT_EXAMPLE: &str = r#"{"id": "task_20260408_163500_4821"}"#;

/// The most a message (a tool error, a log line) carries: whatever a client sends, a reply
/// stays readable and the server's log gets no multi-megabyte line.
const MAX_MESSAGE: usize = 2000;

/// The library's time grammar without its CLI heading, so the tool text and `--help` share
/// one source.
fn grammar() -> &'static str {
    when::GRAMMAR_HELP
        .split_once('\n')
        .map_or(when::GRAMMAR_HELP, |(_, rest)| rest)
}

fn schedule_description() -> String {
    format!(
        "Schedule a deferred task: \"do this later\" for yourself, another agent or a person. \
         Store a compact snapshot of intent (a one-sentence summary, key points, artifacts such \
         as files and URLs, constraints; never a transcript) and a time. When it is due, \
         `defer run` (woken by cron every minute) writes a prompt from the snapshot and hands \
         it to the configured executor; this server never runs tasks itself.\n\
         Returns the record and when it runs in the user's time zone (\"Fri 2026-11-27 09:00 \
         EST, in 22h 59m\"): read it back to check the time was understood. dry_run: true \
         previews without storing anything.\n\
         Repeating: write it in `when` (\"every weekday at 9am\", \"every 2 hours\", \"every \
         month on the 1st at 9am\"), or give `when` as the first time and add every (a \
         duration: every: \"1d\") or cron (cron: \"0 9 * * 1-5\"); until or count end the \
         series.\n\
         Errors (isError) name the argument and show a valid value.\n\
         Time expressions (`when`, `until`; case-insensitive):\n{}",
        grammar()
    )
}

const LIST_DESCRIPTION: &str = "List deferred tasks: by default the pending ones (status \
scheduled or executing), in the order they were scheduled. status filters by status \
(completed, failed and cancelled tasks are found in the archives too); all: true returns every \
task. Returns the records, a count, and one line per task with its status, when it runs and \
its summary. Use it to find the id the other tools need. The same list is the resource \
defer://tasks, and each task is defer://tasks/{id}.";

const SHOW_DESCRIPTION: &str = "Show one deferred task by id, wherever it is: pending in the \
store or finished in the archives. The record includes its status, run_at, the snapshot \
(context), attempts and, after a run, result (prompt_path, executor output) or error. An \
unknown id is an error that says how to find ids.";

const CANCEL_DESCRIPTION: &str = "Cancel a scheduled task so it never runs; reason is kept in \
the record. Only a task whose status is scheduled can be cancelled: one that is executing, \
completed, failed or already cancelled is an error naming its status. The cancelled task is \
moved to the archive by the next `defer run`.";

const TIME_DESCRIPTION: &str = "Check how a time expression is understood, without scheduling \
anything: returns the instant (UTC), the time zone it was read in, the local time and a plain \
sentence (\"Fri 2026-11-27 09:00 EST, in 22h 59m\"). Use it before schedule_task when an \
expression could be read more than one way. Accepts exactly what schedule_task's `when` \
accepts (that tool's description lists the grammar); anything else is an error with examples \
of valid expressions.";

const RESCHEDULE_DESCRIPTION: &str = "Move a scheduled task to a new time (snooze it): same \
id, same snapshot, new run_at. `when` takes the time grammar of schedule_task (\"tomorrow \
9am\", \"in 2 hours\"). For an occurrence of a repeating task, series: true moves the series' \
rule too, so later occurrences follow. Only a scheduled task can be moved; any other status \
is an error naming it.";

const RETRY_DESCRIPTION: &str = "Run a failed (or missed) task again: it goes back to \
scheduled with the same id and its history, due now or at `when` (schedule_task's time \
grammar). Works on archived tasks too. A task in another status is an error naming it.";

const OUTPUT_DESCRIPTION: &str = "What a task left behind when it ran: the prompt file the \
runner wrote, what the executor printed (stdout, and stderr or the error of a failed run) and \
the audit-log lines that name the task. Before the first run only the audit lines exist.";

/// Each time-taking tool's description ends with the zone its times are read in: hosts show
/// tool descriptions to the model, and some drop the server's instructions.
pub(super) const TIME_TOOLS: [&str; 4] = [
    "schedule_task",
    "reschedule_task",
    "retry_task",
    "normalize_time",
];

/// The sentence [`TIME_TOOLS`] descriptions end with.
pub(super) fn zone_note(config: &Config) -> String {
    format!(
        "\nTimes are read in {} (the server's DEFER_TIMEZONE); the result gives the server's \
         current local time (now_local).",
        config.clock.zone_name()
    )
}

/// A tool's successful answer.
#[derive(Debug)]
pub(super) struct Reply {
    /// One or a few sentences for the model.
    text: String,
    /// The structured result; its shape is the tool's output schema.
    structured: Value,
}

impl Reply {
    fn new(text: String, output: &impl Serialize) -> Result<Reply, ToolError> {
        let structured = serde_json::to_value(output).map_err(|source| Error::Json {
            what: "the tool result".into(),
            source,
        })?;
        Ok(Reply { text, structured })
    }
}

/// Why a call failed, worded for the model that made it.
#[derive(Debug, thiserror::Error)]
pub(super) enum ToolError {
    /// The argument object does not fit the tool's schema.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// The library refused the request, or the store failed; already explained.
    #[error("{0}")]
    Refused(String),
}

impl From<Error> for ToolError {
    fn from(e: Error) -> ToolError {
        ToolError::Refused(explain(&e))
    }
}

/// The library's message worded for a model: arguments by their field names, and an unknown
/// id or a wrong status says which tool finds a valid one.
fn explain(e: &Error) -> String {
    match e {
        Error::NotFound(id) => format!(
            "Task not found: {id}. list_tasks shows the ids of pending tasks; list_tasks with \
             {{\"all\": true}} also shows finished and archived ones"
        ),
        Error::WrongStatus {
            allowed, action, ..
        } => {
            // Missed occurrences are stored as cancelled (with a reason saying missed).
            let statuses = match *allowed {
                "scheduled" => r#"["scheduled"]"#,
                _ => r#"["failed", "cancelled"]"#,
            };
            format!(
                "{e}. list_tasks with {{\"status\": {statuses}}} shows the tasks that can be \
                 {action}"
            )
        }
        Error::InvalidId(_) => format!("{e}, e.g. \"review_followup\""),
        Error::Time(_)
        | Error::Argument {
            problem: ArgProblem::Time(_),
            ..
        } => format!(
            "{}. normalize_time checks an expression without scheduling anything",
            e.for_fields()
        ),
        _ => e.for_fields(),
    }
}

/// Turns a tool's outcome into the MCP result; failures are also logged to stderr, where a
/// host keeps the server's log.
pub(super) fn respond(tool: &str, outcome: Result<Reply, ToolError>) -> CallToolResult {
    match outcome {
        Ok(Reply { text, structured }) => {
            let mut result = CallToolResult::structured(structured);
            result.content.insert(0, ContentBlock::text(text));
            result
        }
        Err(e) => {
            let message = cut(e.to_string());
            eprintln!("defer mcp: {tool}: {}", message.replace('\n', " "));
            CallToolResult::error(vec![ContentBlock::text(message)])
        }
    }
}

/// `text` cut to [`MAX_MESSAGE`] bytes (at a character boundary), saying how much was left
/// out. Messages quote what was sent, and a client can send megabytes.
pub(super) fn cut(text: String) -> String {
    if text.len() <= MAX_MESSAGE {
        return text;
    }
    let mut end = MAX_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes cut)", &text[..end], text.len() - end)
}

#[tool_router(vis = "pub(super)")]
impl DeferServer {
    #[tool(
        description = schedule_description(),
        input_schema = input_schema::<ScheduleArgs>(),
        output_schema = output_schema::<ScheduleOutput>(),
        annotations(
            title = "Schedule a deferred task",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn schedule_task(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("schedule_task", move |config, store| {
            schedule_task(config, store, arguments)
        })
        .await
    }

    #[tool(
        description = LIST_DESCRIPTION,
        input_schema = input_schema::<ListArgs>(),
        output_schema = output_schema::<ListOutput>(),
        annotations(title = "List deferred tasks", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_tasks(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("list_tasks", move |config, store| {
            list_tasks(config, store, arguments)
        })
        .await
    }

    #[tool(
        description = SHOW_DESCRIPTION,
        input_schema = input_schema::<ShowArgs>(),
        output_schema = output_schema::<TaskOutput>(),
        annotations(title = "Show a deferred task", read_only_hint = true, open_world_hint = false)
    )]
    async fn show_task(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("show_task", move |config, store| {
            show_task(config, store, arguments)
        })
        .await
    }

    #[tool(
        description = CANCEL_DESCRIPTION,
        input_schema = input_schema::<CancelArgs>(),
        output_schema = output_schema::<TaskOutput>(),
        annotations(
            title = "Cancel a scheduled task",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn cancel_task(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("cancel_task", move |config, store| {
            cancel_task(config, store, arguments)
        })
        .await
    }

    #[tool(
        description = TIME_DESCRIPTION,
        input_schema = input_schema::<TimeArgs>(),
        output_schema = output_schema::<TimeOutput>(),
        annotations(title = "Check a time expression", read_only_hint = true, open_world_hint = false)
    )]
    async fn normalize_time(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("normalize_time", move |config, _| {
            normalize_time(config, arguments)
        })
        .await
    }

    #[tool(
        description = RESCHEDULE_DESCRIPTION,
        input_schema = input_schema::<RescheduleArgs>(),
        output_schema = output_schema::<RescheduleOutput>(),
        annotations(
            title = "Move a scheduled task to a new time",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn reschedule_task(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("reschedule_task", move |config, store| {
            reschedule_task(config, store, arguments)
        })
        .await
    }

    #[tool(
        description = RETRY_DESCRIPTION,
        input_schema = input_schema::<RetryArgs>(),
        output_schema = output_schema::<RescheduleOutput>(),
        annotations(
            title = "Run a failed task again",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn retry_task(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("retry_task", move |config, store| {
            retry_task(config, store, arguments)
        })
        .await
    }

    #[tool(
        description = OUTPUT_DESCRIPTION,
        input_schema = input_schema::<ShowArgs>(),
        output_schema = output_schema::<LogsOutput>(),
        annotations(title = "What a task's run left behind", read_only_hint = true, open_world_hint = false)
    )]
    async fn task_output(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("task_output", move |config, store| {
            task_output(config, store, arguments)
        })
        .await
    }
}

impl DeferServer {
    /// Runs one tool's work on tokio's blocking pool, after the calls that arrived before it:
    /// store calls wait on file locks or a database, which must not stall the thread that
    /// answers the protocol (a synchronous database client cannot even run on it). A panic
    /// there becomes an error result rather than a lost request.
    async fn blocking(
        &self,
        tool: &'static str,
        work: impl FnOnce(&Config, &dyn Store) -> Result<Reply, ToolError> + Send + 'static,
    ) -> CallToolResult {
        let outcome = self.on_store(work).await.unwrap_or_else(|e| {
            Err(ToolError::Refused(format!(
                "internal error: {tool} did not complete ({e}); the server is still \
                     running, and the call can be retried"
            )))
        });
        respond(tool, outcome)
    }

    /// Runs `work` on the blocking pool after the calls that arrived before it (see
    /// [`DeferServer::blocking`]); the error is a panic inside `work`.
    pub(super) async fn on_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Config, &dyn Store) -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        // Fair (first come, first served), and held until the work is done.
        let _turn = self.turn.lock().await;
        let config = Arc::clone(&self.config);
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&config, store.as_ref())).await
    }
}

/// `schedule_task`: the CLI's `schedule` with the same request type.
pub(super) fn schedule_task(
    config: &Config,
    store: &dyn Store,
    arguments: JsonObject,
) -> Result<Reply, ToolError> {
    let a: ScheduleArgs = args::parse("schedule_task", SCHEDULE_EXAMPLE, arguments)?;
    // Naming a CONTEXT.md only makes sense with reorientation, so it implies it (the CLI
    // refuses the flags without --reorient; a model is better served by the obvious reading).
    let reorient = a.reorient.unwrap_or(false) || a.project.is_some() || a.context_file.is_some();
    let has_summary = a.summary.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !reorient && !has_summary {
        // The library says the same in CLI terms (--summary, --context-json).
        return Err(ToolError::Refused(
            "summary is required: one sentence saying what the future run should do, e.g. \
             \"summary\": \"Resume the architecture review at the scheduler section\" (or set \
             \"reorient\": true to take it from a CONTEXT.md)"
                .into(),
        ));
    }
    if a.when.trim().is_empty() {
        // The library words this for the CLI (`--when`); the time grammar's own message shows
        // valid expressions, as for any other unreadable time.
        return Err(Error::from(when::TimeError::Empty).into());
    }
    let req = a.into_request(reorient)?;
    let scheduled = schedule::schedule(config, store, &req)?;
    let task = &scheduled.task;
    let mut text = if req.dry_run {
        format!(
            "Dry run: {} would be scheduled for {}. Nothing was stored; call schedule_task \
             again without dry_run to store it.",
            task.id, scheduled.description
        )
    } else {
        format!("Scheduled {} for {}.", task.id, scheduled.description)
    };
    if scheduled.in_past {
        text.push_str(&format!(
            " Note: {:?} resolves to {}, which is in the past, so the task is due at once (the \
             next `defer run` picks it up).",
            req.when.trim(),
            task.run_at
        ));
    }
    let output = schedule_output(config, &scheduled, !req.dry_run)?;
    Reply::new(text, &output)
}

/// What a schedule answers over MCP and `POST /api/v1/tasks` alike.
pub fn schedule_output(
    config: &Config,
    scheduled: &schedule::Scheduled,
    stored: bool,
) -> Result<ScheduleOutput, Error> {
    let task = &scheduled.task;
    Ok(ScheduleOutput {
        task: serde_json::to_value(task).map_err(|source| Error::Json {
            what: "the task record".into(),
            source,
        })?,
        id: task.id.clone(),
        run_at: task.run_at.to_string(),
        timezone: task
            .timezone
            .clone()
            .unwrap_or_else(|| config.clock.zone_name()),
        description: scheduled.description.clone(),
        in_past: scheduled.in_past,
        stored,
        now_local: now_local(config),
    })
}

/// `list_tasks`: the CLI's `list` query, collected instead of streamed to stdout.
pub(super) fn list_tasks(
    config: &Config,
    store: &dyn Store,
    arguments: JsonObject,
) -> Result<Reply, ToolError> {
    let a: ListArgs = args::parse("list_tasks", LIST_EXAMPLE, arguments)?;
    let bad = |reason: String| ArgsError {
        tool: "list_tasks",
        reason,
        example: LIST_EXAMPLE,
    };
    let names = args::status_names(a.status).map_err(bad)?;
    let all = a.all.unwrap_or(false);
    if all && !names.is_empty() {
        return Err(bad(
            "pass either status or all, not both (all already includes every status)".into(),
        )
        .into());
    }
    let statuses = names
        .iter()
        .map(|n| n.parse::<Status>())
        .collect::<Result<Vec<_>, _>>()?;
    let query = crate::store::Query::listing(statuses, all);
    let limit = usize::try_from(a.limit.unwrap_or(DEFAULT_LIMIT)).unwrap_or(usize::MAX);
    let mut tasks = Vec::new();
    let mut total = 0usize;
    let problems = store.list(&query, &mut |line| {
        total += 1;
        if tasks.len() < limit {
            let record: Value = serde_json::from_slice(line).map_err(|source| Error::Json {
                what: "a stored record".into(),
                source,
            })?;
            tasks.push(record);
        }
        Ok(())
    })?;
    let statuses: Vec<String> = query.statuses.iter().map(|s| s.to_string()).collect();
    let which = if statuses.is_empty() {
        "in any status".to_string()
    } else {
        format!("with status {}", statuses.join(" or "))
    };
    let mut text = match total {
        0 => format!("No tasks {which}."),
        1 => format!("1 task {which}:"),
        n => format!("{n} tasks {which}:"),
    };
    for task in &tasks {
        text.push_str("\n- ");
        text.push_str(&one_line(config, task));
    }
    if total > tasks.len() {
        text.push_str(&format!(
            "\n(showing the first {} of {total}; pass a larger limit to see more)",
            tasks.len()
        ));
    }
    if total == 0 && !query.include_archive {
        text.push_str(" {\"all\": true} also searches finished and archived tasks.");
    }
    let problems: Vec<String> = problems
        .iter()
        .map(|p| format!("{} line {}: {}", p.file.display(), p.line, p.reason))
        .collect();
    if !problems.is_empty() {
        text.push_str(&format!(
            "\n{} store line(s) are not valid records and were skipped (kept as they are; \
             `defer check` lists them).",
            problems.len()
        ));
    }
    let output = ListOutput {
        count: u32::try_from(tasks.len()).unwrap_or(u32::MAX),
        total: u32::try_from(total).unwrap_or(u32::MAX),
        truncated: total > tasks.len(),
        tasks,
        statuses,
        include_archive: query.include_archive,
        problems,
    };
    Reply::new(text, &output)
}

/// `show_task`: one record from the store or the archives.
pub(super) fn show_task(
    config: &Config,
    store: &dyn Store,
    arguments: JsonObject,
) -> Result<Reply, ToolError> {
    let a: ShowArgs = args::parse("show_task", SHOW_EXAMPLE, arguments)?;
    validate_id(&a.id)?;
    let task = store.show(&a.id)?.ok_or(Error::NotFound(a.id))?;
    Reply::new(one_line(config, &task), &TaskOutput { task })
}

/// `cancel_task`: the CLI's `cancel`.
pub(super) fn cancel_task(
    config: &Config,
    store: &dyn Store,
    arguments: JsonObject,
) -> Result<Reply, ToolError> {
    let a: CancelArgs = args::parse("cancel_task", CANCEL_EXAMPLE, arguments)?;
    validate_id(&a.id)?;
    let task = cancel::cancel(config, store, &a.id, a.reason.as_deref())?;
    let text = format!(
        "Cancelled {} (it was due {}); it will not run, and the next `defer run` archives it.",
        task.id,
        describe_stamp(config, task.run_at)
    );
    let task = serde_json::to_value(&task).map_err(|source| Error::Json {
        what: "the task record".into(),
        source,
    })?;
    Reply::new(text, &TaskOutput { task })
}

/// `normalize_time`: what `defer time normalize` prints, plus the zone and the sentence.
pub(super) fn normalize_time(config: &Config, arguments: JsonObject) -> Result<Reply, ToolError> {
    let a: TimeArgs = args::parse("normalize_time", TIME_EXAMPLE, arguments)?;
    let output = time_output(config, a.when)?;
    let mut text = format!(
        "{:?} means {} ({}); read in {}.",
        output.when.trim(),
        output.description,
        output.instant,
        output.timezone
    );
    if output.in_past {
        text.push_str(" That is in the past: a task scheduled for it would be due at once.");
    }
    Reply::new(text, &output)
}

/// How `when` is understood now: what `normalize_time` and `GET /api/v1/time/normalize` return.
pub fn time_output(config: &Config, when: String) -> Result<TimeOutput, Error> {
    let now = config.clock.now_zoned();
    let at = when::parse(&when, &now)?;
    let description = when::describe_as_typed(&when, &at, &now);
    let instant = Stamp(at.timestamp());
    // Compared at whole seconds, as schedule_task stores them.
    let in_past = at.timestamp().as_second() < now.timestamp().as_second();
    Ok(TimeOutput {
        when,
        instant: instant.to_string(),
        epoch: at.timestamp().as_second(),
        timezone: config.clock.zone_name(),
        local: at.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        description,
        in_past,
        now: Stamp(now.timestamp()).to_string(),
        now_local: now_local(config),
    })
}

/// `reschedule_task`: the library operation `ops::reschedule`.
pub(super) fn reschedule_task(
    config: &Config,
    store: &dyn Store,
    arguments: JsonObject,
) -> Result<Reply, ToolError> {
    let a: RescheduleArgs = args::parse("reschedule_task", RESCHEDULE_EXAMPLE, arguments)?;
    validate_id(&a.id)?;
    let (task, description) =
        reschedule::reschedule(config, store, &a.id, &a.when, a.series.unwrap_or(false))?;
    let text = format!("Rescheduled {} for {description}.", task.id);
    moved(config, text, &task, description)
}

/// `retry_task`: the library operation `ops::retry`.
pub(super) fn retry_task(
    config: &Config,
    store: &dyn Store,
    arguments: JsonObject,
) -> Result<Reply, ToolError> {
    let a: RetryArgs = args::parse("retry_task", RETRY_EXAMPLE, arguments)?;
    validate_id(&a.id)?;
    let task = retry::retry(config, store, &a.id, a.when.as_deref())?;
    let description = describe_stamp(config, task.run_at);
    let text = format!(
        "{} is scheduled again for {description}; the next `defer run` after that runs it.",
        task.id
    );
    moved(config, text, &task, description)
}

/// The answer of a tool that gave a task a new time.
fn moved(
    config: &Config,
    text: String,
    task: &crate::record::Task,
    description: String,
) -> Result<Reply, ToolError> {
    let output = RescheduleOutput {
        task: serde_json::to_value(task).map_err(|source| Error::Json {
            what: "the task record".into(),
            source,
        })?,
        run_at: task.run_at.to_string(),
        timezone: config.clock.zone_name(),
        description,
        now_local: now_local(config),
    };
    Reply::new(text, &output)
}

/// `task_output`: the library operation `ops::logs`.
pub(super) fn task_output(
    config: &Config,
    store: &dyn Store,
    arguments: JsonObject,
) -> Result<Reply, ToolError> {
    let a: ShowArgs = args::parse("task_output", OUTPUT_EXAMPLE, arguments)?;
    let found = logs::logs(config, store, &a.id)?;
    let mut parts = Vec::new();
    if found.prompt.is_some() {
        parts.push("a prompt file");
    }
    if found.stdout.is_some() {
        parts.push("executor output");
    }
    if found.stderr.is_some() {
        parts.push("an error");
    }
    let text = format!(
        "{} [{}]: {}{} audit line(s).",
        found.id,
        found.status,
        parts.iter().map(|p| format!("{p}, ")).collect::<String>(),
        found.audit.len()
    );
    let output = LogsOutput {
        id: found.id,
        status: found.status.to_string(),
        prompt_path: found.prompt_path.map(|p| p.display().to_string()),
        prompt: found.prompt,
        stdout: found.stdout,
        stderr: found.stderr,
        audit: found.audit,
    };
    Reply::new(text, &output)
}

/// The server's "now" in the user's zone, ISO 8601 with its offset.
pub(crate) fn now_local(config: &Config) -> String {
    config
        .clock
        .now_zoned()
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// `run_at` in the user's zone with its distance from now.
fn describe_stamp(config: &Config, stamp: Stamp) -> String {
    let now = config.clock.now_zoned();
    let at = stamp
        .timestamp()
        .to_zoned_datetime(config.clock.zone().clone());
    when::describe(&at, &now)
}

/// `id [status] due …: summary` for a record as stored; records written by other tools may
/// lack fields, so each one is optional.
fn one_line(config: &Config, task: &Value) -> String {
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(task, |v, key| v.get(key))
            .and_then(Value::as_str)
            .unwrap_or("?")
    };
    let run_at = field(&["run_at"]);
    let when = match Stamp::parse(run_at) {
        Some(stamp) => describe_stamp(config, stamp),
        None => run_at.to_string(),
    };
    format!(
        "{} [{}] due {}: {}",
        field(&["id"]),
        field(&["status"]),
        when,
        field(&["context", "summary"])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_drops_the_cli_heading() {
        assert!(!grammar().contains("--when"));
        assert!(grammar().contains("next friday"));
    }
}
