//! The tools: their descriptions, the operation each one calls, and how answers and errors
//! are worded for a model.
//!
//! A tool reads its arguments into the operation's request type (`ops::wire::from_json`, the
//! same reading the HTTP API makes), calls the operation, and answers with the reply as
//! `structuredContent` plus two text blocks: the reply's sentence for the model and the same
//! JSON as text for clients that ignore structured content. The schemas are generated from
//! the request and reply types (`ops::schema`). A failure is a result with `isError: true`
//! whose text says what was wrong and shows a valid call: bad input never becomes a protocol
//! error, so the model sees the message and can try again.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::DeferServer;
use crate::config::Config;
use crate::error::{ArgProblem, Error, ErrorKind};
use crate::ops::cancel::CancelRequest;
use crate::ops::list::{ListReply, ListRequest};
use crate::ops::logs::{LogsReply, LogsRequest};
use crate::ops::reschedule::RescheduleRequest;
use crate::ops::retry::RetryRequest;
use crate::ops::schedule::{ScheduleReply, ScheduleRequest};
use crate::ops::schema::{Direction, object_schema};
use crate::ops::show::{ShowReply, ShowRequest};
use crate::ops::time::{NormalizeRequest, TimeReply};
use crate::ops::{self, TaskChange, wire};
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
         Exactly once: pass unique_key (a short name for the work, e.g. \"review:PR-123\") \
         whenever this call might be repeated; while a task with that key is pending, the call \
         stores nothing and returns that task with deduplicated: true (unique_for also covers \
         tasks that completed that recently). session: your agent session id, when the future \
         run should continue this conversation (the executor resumes it if it still exists). \
         Called from a task's run (defer mcp started by the executor), the new task records \
         that task as its parent_id by itself.\n\
         Errors (isError) name the argument and show a valid value.\n\
         Time expressions (`when`, `until`; case-insensitive):\n{}",
        grammar()
    )
}

const LIST_DESCRIPTION: &str = "List deferred tasks: by default the pending ones (status \
scheduled or executing), in the order they were scheduled. status filters by status \
(completed, failed and cancelled tasks are found in the archives too); all: true returns every \
task; q searches ids and summaries; unique_key lists the tasks scheduled with that key, \
parent_id the follow-ups of a task. Returns one page of records (limit, default 50; pass \
next_cursor as cursor for the next), the total, and one line per task with its status, when \
it runs and its summary. Use it to find the id the other tools need. The same list is the \
resource defer://tasks, and each task is defer://tasks/{id}.";

const SHOW_DESCRIPTION: &str = "Show one deferred task by id, wherever it is: pending in the \
store or finished in the archives. The record includes its status, run_at, the snapshot \
(context), attempts and, after a run, result (prompt_path, executor output) or error; \
parent is the task whose run scheduled it and follow_ups the tasks its runs scheduled. An \
unknown id is an error that says how to find ids.";

const CANCEL_DESCRIPTION: &str = "Cancel a scheduled task so it never runs; reason is kept in \
the record. Only a task whose status is scheduled can be cancelled: one that is executing, \
completed, failed or already cancelled is an error naming its status. The cancelled task is \
moved to the archive by the next `defer run`.";

const TIME_DESCRIPTION: &str = "Check how a time expression is understood, without scheduling \
anything: returns the instant (UTC), the time zone it was read in, the local time and a plain \
sentence (\"Fri 2026-11-27 09:00 EST, in 22h 59m\"); for a repeating phrase (\"every weekday \
at 9am\") the series rule and its next three times. Use it before schedule_task when an \
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
runner wrote, each attempt (when it started and ended, its outcome, exit code and error) with \
what the executor printed on stdout and stderr in that attempt, and the audit-log lines that \
name the task. running: true means an attempt is running now. Before the first run only the \
audit lines exist.";

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

/// A tool's `inputSchema`: the request type's schema.
pub fn input_schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut schema = object_schema::<T>(Direction::Request);
    schema.insert(
        "description".into(),
        Value::String(
            "Optional arguments may be left out, or given as null, for their default.".into(),
        ),
    );
    Arc::new(schema)
}

/// A tool's `outputSchema`: the reply type's schema.
pub fn output_schema<T: JsonSchema>() -> Arc<JsonObject> {
    Arc::new(object_schema::<T>(Direction::Reply))
}

/// A tool's successful answer.
#[derive(Debug)]
pub(super) struct Reply {
    /// One or a few sentences for the model.
    text: String,
    /// The structured result; its shape is the tool's output schema.
    structured: Value,
}

/// Why a call failed, worded for the model that made it.
#[derive(Debug)]
pub(super) struct ToolError(String);

/// Reads `arguments` as the tool's request, calls `op`, and words the reply: its sentence
/// (first letter up, a full stop), then each warning as a note.
fn call<Req, Rep>(
    tool: &'static str,
    example: &'static str,
    arguments: JsonObject,
    op: impl FnOnce(Req) -> Result<Rep, Error>,
    text: impl FnOnce(&Rep) -> (String, Vec<String>),
) -> Result<Reply, ToolError>
where
    Req: DeserializeOwned,
    Rep: Serialize,
{
    let request: Req = wire::from_json(Value::Object(arguments))
        .map_err(|e| ToolError(explain(tool, example, &e)))?;
    let reply = op(request).map_err(|e| ToolError(explain(tool, example, &e)))?;
    let (sentence, warnings) = text(&reply);
    let mut text = as_sentence(&sentence);
    for warning in warnings {
        text.push_str(&format!(" Note: {}.", warning.trim_end_matches('.')));
    }
    let structured = serde_json::to_value(&reply).map_err(|source| {
        ToolError(explain(
            tool,
            example,
            &Error::Json {
                what: "the tool result".into(),
                source,
            },
        ))
    })?;
    Ok(Reply { text, structured })
}

/// `scheduled x for y` → `Scheduled x for y.`
fn as_sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', ':', '\n']) && !out.contains('\n') {
        out.push('.');
    }
    out
}

/// The library's message worded for a model: arguments by their field names, a request that
/// does not fit with a valid call, and an unknown id or a wrong status with the tool that finds
/// a valid one.
fn explain(tool: &str, example: &str, e: &Error) -> String {
    match e {
        Error::Request { .. } => {
            format!("invalid arguments for {tool}: {e}. A valid call looks like {example}")
        }
        Error::NotFound(id) => format!(
            "Task not found: {id}. list_tasks shows the ids of pending tasks; list_tasks with \
             {{\"all\": true}} also shows finished and archived ones"
        ),
        Error::WrongStatus {
            allowed, action, ..
        } => {
            // Missed occurrences are stored as cancelled (with `missed` set).
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
        _ if e.kind() == ErrorKind::Unavailable => format!(
            "{}. The store is not available right now; the same call can be retried",
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
        Err(ToolError(message)) => {
            let message = cut(message);
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

/// The text of a change: its sentence and warnings.
fn change_text(reply: &TaskChange) -> (String, Vec<String>) {
    (reply.message.clone(), reply.warnings.clone())
}

#[tool_router(vis = "pub(super)")]
impl DeferServer {
    #[tool(
        description = schedule_description(),
        input_schema = input_schema::<ScheduleRequest>(),
        output_schema = output_schema::<ScheduleReply>(),
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
            call(
                "schedule_task",
                SCHEDULE_EXAMPLE,
                arguments,
                |req: ScheduleRequest| ops::schedule::schedule(config, store, &req),
                |reply| {
                    let mut text = reply.message.clone();
                    if reply.deduplicated {
                        text.push_str(
                            ". The task returned is that task (deduplicated: true); a second \
                             task needs another unique_key",
                        );
                    } else if !reply.stored {
                        text.push_str(
                            ". Nothing was stored; call schedule_task again without dry_run to \
                             store it",
                        );
                    }
                    (text, reply.warnings.clone())
                },
            )
        })
        .await
    }

    #[tool(
        description = LIST_DESCRIPTION,
        input_schema = input_schema::<ListRequest>(),
        output_schema = output_schema::<ListReply>(),
        annotations(title = "List deferred tasks", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_tasks(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("list_tasks", move |config, store| {
            call(
                "list_tasks",
                LIST_EXAMPLE,
                arguments,
                |req: ListRequest| ops::list::list(config, store, &req),
                |reply| (reply.message.clone(), Vec::new()),
            )
        })
        .await
    }

    #[tool(
        description = SHOW_DESCRIPTION,
        input_schema = input_schema::<ShowRequest>(),
        output_schema = output_schema::<ShowReply>(),
        annotations(title = "Show a deferred task", read_only_hint = true, open_world_hint = false)
    )]
    async fn show_task(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("show_task", move |config, store| {
            call(
                "show_task",
                SHOW_EXAMPLE,
                arguments,
                |req: ShowRequest| ops::show::show(config, store, &req),
                |reply| (reply.message.clone(), Vec::new()),
            )
        })
        .await
    }

    #[tool(
        description = CANCEL_DESCRIPTION,
        input_schema = input_schema::<CancelRequest>(),
        output_schema = output_schema::<TaskChange>(),
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
            call(
                "cancel_task",
                CANCEL_EXAMPLE,
                arguments,
                |req: CancelRequest| ops::cancel::cancel(config, store, &req),
                |reply| {
                    let (text, warnings) = change_text(reply);
                    (
                        format!("{text}, and the next `defer run` archives it"),
                        warnings,
                    )
                },
            )
        })
        .await
    }

    #[tool(
        description = TIME_DESCRIPTION,
        input_schema = input_schema::<NormalizeRequest>(),
        output_schema = output_schema::<TimeReply>(),
        annotations(title = "Check a time expression", read_only_hint = true, open_world_hint = false)
    )]
    async fn normalize_time(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("normalize_time", move |config, _| {
            call(
                "normalize_time",
                TIME_EXAMPLE,
                arguments,
                |req: NormalizeRequest| ops::time::normalize(config, &req),
                |reply| (reply.message.clone(), Vec::new()),
            )
        })
        .await
    }

    #[tool(
        description = RESCHEDULE_DESCRIPTION,
        input_schema = input_schema::<RescheduleRequest>(),
        output_schema = output_schema::<TaskChange>(),
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
            call(
                "reschedule_task",
                RESCHEDULE_EXAMPLE,
                arguments,
                |req: RescheduleRequest| ops::reschedule::reschedule(config, store, &req),
                change_text,
            )
        })
        .await
    }

    #[tool(
        description = RETRY_DESCRIPTION,
        input_schema = input_schema::<RetryRequest>(),
        output_schema = output_schema::<TaskChange>(),
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
            call(
                "retry_task",
                RETRY_EXAMPLE,
                arguments,
                |req: RetryRequest| ops::retry::retry(config, store, &req),
                |reply| {
                    let (text, warnings) = change_text(reply);
                    (
                        format!("{text}; the next `defer run` after that runs it"),
                        warnings,
                    )
                },
            )
        })
        .await
    }

    #[tool(
        description = OUTPUT_DESCRIPTION,
        input_schema = input_schema::<LogsRequest>(),
        output_schema = output_schema::<LogsReply>(),
        annotations(title = "What a task's run left behind", read_only_hint = true, open_world_hint = false)
    )]
    async fn task_output(&self, arguments: JsonObject) -> CallToolResult {
        self.blocking("task_output", move |config, store| {
            call(
                "task_output",
                OUTPUT_EXAMPLE,
                arguments,
                |req: LogsRequest| ops::logs::logs(config, store, &req),
                |reply| (reply.message.clone(), Vec::new()),
            )
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
            Err(ToolError(
                Error::Panicked {
                    what: tool,
                    detail: e.to_string(),
                }
                .to_string(),
            ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_drops_the_cli_heading() {
        assert!(!grammar().contains("--when"));
        assert!(grammar().contains("next friday"));
    }

    #[test]
    fn replies_read_as_sentences() {
        assert_eq!(as_sentence("scheduled x for y"), "Scheduled x for y.");
        assert_eq!(as_sentence("done."), "Done.");
    }
}
