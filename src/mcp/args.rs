//! What each MCP tool accepts and returns, as serde types whose JSON Schemas (from `schemars`)
//! are the tools' `inputSchema` and `outputSchema`.
//!
//! Field doc comments are the parameter descriptions a model reads, so they say what a value is
//! for and show one. Closed sets (intent, mode, status, ...) are plain strings here, parsed by
//! the library's own `FromStr`, so the accepted values and the error wording live in one place
//! (`record.rs`); the schemas list the same values from the same constants.
//!
//! Arguments are deserialised by [`parse`], not by rmcp's `Parameters` extractor, so that a
//! malformed call (a missing field, a string where a number belongs, a misspelt key) becomes a
//! tool result the model can correct, with an example of a valid call, rather than a terse
//! protocol-level message.

use std::sync::Arc;

use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Arg, Error, Result};
use crate::ops::schedule::ScheduleRequest;
use crate::record::{AuraLevel, IfLate, Intent, Mode, ResultType, Status};

/// Arguments of `schedule_task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleArgs {
    /// When the task (or, with every or cron, its first occurrence) runs, read in the server's
    /// time zone: "30m", "in 2 hours", "tomorrow 9am", "next friday 3pm", "in 2 days at
    /// 9am", "2026-12-25 9am", "2026-04-08T17:05:00Z" or "now". A repeating phrase ("every
    /// weekday at 9am", "every 2 hours") makes a series that starts at the rule's next time.
    /// Check a one-time expression with normalize_time, a repeating one with dry_run.
    pub when: String,
    /// One sentence saying what the future run should do, e.g. "Resume the architecture review
    /// at the scheduler section". Required unless reorient is true.
    #[serde(default)]
    pub summary: Option<String>,
    /// What the task is for: resume_task (pick work back up), notify (remind someone) or
    /// execute_action (do one concrete thing).
    #[serde(default)]
    #[schemars(schema_with = "intent_schema", extend("default" = "resume_task"))]
    pub intent: Option<String>,
    /// How the future run starts: fresh (a new agent that has only the snapshot) or callback
    /// (the executor hands the task back to an existing agent session). Both are hints for
    /// the executor; the prompt file is the same.
    #[serde(default)]
    #[schemars(schema_with = "mode_schema", extend("default" = "fresh"))]
    pub mode: Option<String>,
    /// The instruction the future run receives; defaults to the summary.
    #[serde(default)]
    pub prompt_template: Option<String>,
    /// How much effort the executor should spend (e.g. which model to use): low, medium or
    /// high. Advisory, kept in the record for the executor; defer itself ignores it.
    #[serde(default)]
    #[schemars(schema_with = "aura_schema", extend("default" = "low"))]
    pub aura_level: Option<String>,
    /// How many times a failed executor run is retried.
    #[serde(default)]
    #[schemars(extend("default" = 0))]
    pub max_retries: Option<u32>,
    /// Facts the future run needs, one short sentence each (what was decided, where you
    /// stopped). Never a transcript.
    #[serde(default)]
    #[schemars(extend("default" = []))]
    pub key_points: Option<Vec<String>>,
    /// Files, URLs or other things to come back to, e.g. "/home/me/notes/review.md". Long
    /// material belongs in a file named here, not in the other fields.
    #[serde(default)]
    #[schemars(extend("default" = []))]
    pub artifacts: Option<Vec<String>>,
    /// Rules the future run must respect, e.g. "do not push to main".
    #[serde(default)]
    #[schemars(extend("default" = []))]
    pub constraints: Option<Vec<String>>,
    /// An explicit task id (1-128 characters from A-Z a-z 0-9 . _ -, not starting with '.'),
    /// e.g. "review_followup". Leave it out to get a generated one; an id already in the store
    /// is refused.
    #[serde(default)]
    pub id: Option<String>,
    /// Build the snapshot from a CONTEXT.md (its orientation, state, constraints, decisions and
    /// references) before adding the fields above. Implied by project or context_file.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub reorient: Option<bool>,
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
    #[schemars(range(min = 1))]
    pub count: Option<u32>,
    /// When the runner finds the task late (a machine asleep at the due time): run runs it
    /// anyway; skip records it as missed instead.
    #[serde(default)]
    #[schemars(schema_with = "if_late_schema", extend("default" = "run"))]
    pub if_late: Option<String>,
    /// With if_late "skip": how late counts as missed, a duration such as "1h".
    #[serde(default)]
    #[schemars(extend("default" = "10m"))]
    pub late_after: Option<String>,
    /// Preview only: return the record and how the time was understood, store nothing.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub dry_run: Option<bool>,
}

impl ScheduleArgs {
    /// The library request these arguments ask for (the MCP tool and `POST /api/v1/tasks`
    /// share it); closed sets are parsed by the record's own `FromStr`. `reorient` is the
    /// caller's reading of reorient/project/context_file.
    pub fn into_request(self, reorient: bool) -> Result<ScheduleRequest> {
        Ok(ScheduleRequest {
            when: self.when,
            summary: self.summary,
            intent: closed(Arg::Intent, self.intent.as_deref(), Intent::ALL)?,
            mode: closed(Arg::Mode, self.mode.as_deref(), Mode::ALL)?,
            prompt_template: self.prompt_template,
            aura_level: closed(Arg::AuraLevel, self.aura_level.as_deref(), AuraLevel::ALL)?,
            max_retries: self.max_retries,
            key_points: self.key_points.unwrap_or_default(),
            artifacts: self.artifacts.unwrap_or_default(),
            constraints: self.constraints.unwrap_or_default(),
            context_json: None,
            id: self.id,
            reorient,
            project: self.project,
            context_file: self.context_file.map(std::path::PathBuf::from),
            cwd: self.cwd.map(std::path::PathBuf::from),
            every: self.every,
            cron: self.cron,
            until: self.until,
            count: self.count,
            if_late: closed(Arg::IfLate, self.if_late.as_deref(), IfLate::ALL)?,
            late_after: self.late_after,
            dry_run: self.dry_run.unwrap_or(false),
        })
    }
}

/// A closed set's value (`intent`, `mode`, …) read by the record's own parser; a refusal names
/// the argument and the values it takes.
pub(crate) fn closed<T: std::str::FromStr>(
    arg: Arg,
    value: Option<&str>,
    all: &[&str],
) -> Result<Option<T>, Error> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                Error::invalid_arg(arg, v, format!("use one of {}", all.join(", ")), None)
            })
        })
        .transpose()
}

/// Arguments of `list_tasks`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Only tasks in these statuses, e.g. ["scheduled"] (one name alone is accepted too).
    /// completed, failed and cancelled also search the archives.
    #[serde(default)]
    #[schemars(
        schema_with = "status_list_schema",
        extend("default" = ["scheduled", "executing"])
    )]
    pub status: Option<Value>,
    /// Every task in every status, including the archives. Do not combine with status.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub all: Option<bool>,
    /// Return at most this many records; count and total say how many matched.
    #[serde(default)]
    #[schemars(extend("default" = DEFAULT_LIMIT))]
    pub limit: Option<u32>,
}

/// `list_tasks` returns at most this many records unless asked for more, so one call cannot
/// flood a model's context with a large archive.
pub const DEFAULT_LIMIT: u32 = 100;

/// Arguments of `show_task` and `task_output`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowArgs {
    /// The task id, as returned by schedule_task or list_tasks, e.g. "task_20260408_163500_4821".
    pub id: String,
}

/// Arguments of `cancel_task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelArgs {
    /// The id of a scheduled task, e.g. "task_20260408_163500_4821".
    pub id: String,
    /// Why it is cancelled (kept in the record as cancel_reason), e.g. "done by hand".
    #[serde(default)]
    pub reason: Option<String>,
}

/// Arguments of `reschedule_task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleArgs {
    /// The id of a scheduled task, e.g. "task_20260408_163500_4821".
    pub id: String,
    /// The new time, a time expression read in the server's time zone, e.g. "tomorrow 9am"
    /// or "in 2 hours" (the grammar of schedule_task's `when`).
    pub when: String,
    /// For an occurrence of a repeating task: move the whole series' rule to the new time
    /// (true) or only this occurrence (false).
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub series: Option<bool>,
}

/// Arguments of `retry_task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryArgs {
    /// The id of a failed (or missed) task, active or archived, e.g.
    /// "task_20260408_163500_4821".
    pub id: String,
    /// When to run it again, a time expression read in the server's time zone, e.g. "10m".
    #[serde(default)]
    #[schemars(extend("default" = "now"))]
    pub when: Option<String>,
}

/// Arguments of `normalize_time`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeArgs {
    /// The time expression to check, exactly as you would pass it to schedule_task, e.g.
    /// "next friday 3pm".
    pub when: String,
}

/// What `schedule_task` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScheduleOutput {
    /// The task record as stored (or, for a dry run, as it would be stored).
    #[schemars(schema_with = "task_schema")]
    pub task: Value,
    /// The task id.
    pub id: String,
    /// When it runs, UTC (YYYY-MM-DDTHH:MM:SSZ).
    pub run_at: String,
    /// The IANA zone the expression was read in.
    pub timezone: String,
    /// When it runs in that zone, and how far away: "Fri 2026-11-27 09:00 EST, in 22h 59m".
    pub description: String,
    /// The time is already past, so the task is due at the next `defer run`.
    pub in_past: bool,
    /// The task was written to the store (false for a dry run).
    pub stored: bool,
    /// The server's current local time, ISO 8601 with its offset.
    pub now_local: String,
}

/// What `list_tasks` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOutput {
    /// The matching records as stored, in store order (at most limit of them).
    #[schemars(schema_with = "task_list_schema")]
    pub tasks: Vec<Value>,
    /// How many records are in tasks.
    pub count: u32,
    /// How many records matched.
    pub total: u32,
    /// total > count: raise limit to see the rest.
    pub truncated: bool,
    /// The statuses searched (empty means all).
    #[schemars(schema_with = "status_list_schema")]
    pub statuses: Vec<String>,
    /// Whether the archives were searched.
    pub include_archive: bool,
    /// Store lines that are not valid records (kept as they are; `defer check` lists them).
    pub problems: Vec<String>,
}

/// What `show_task` and `cancel_task` return.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskOutput {
    /// The task record.
    #[schemars(schema_with = "task_schema")]
    pub task: Value,
}

/// What `reschedule_task` and `retry_task` return.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RescheduleOutput {
    /// The task record, with its new run_at (and, for a retry, status scheduled).
    #[schemars(schema_with = "task_schema")]
    pub task: Value,
    /// When it now runs, UTC (YYYY-MM-DDTHH:MM:SSZ).
    pub run_at: String,
    /// The IANA zone the expression was read in.
    pub timezone: String,
    /// When it runs in that zone, and how far away: "Fri 2026-11-27 09:00 EST, in 22h 59m".
    pub description: String,
    /// The server's current local time, ISO 8601 with its offset.
    pub now_local: String,
}

/// What `task_output` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LogsOutput {
    /// The task id.
    pub id: String,
    /// Its status now.
    #[schemars(schema_with = "status_schema")]
    pub status: String,
    /// The prompt file the runner wrote for the task (absent before its first run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_path: Option<String>,
    /// That prompt's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What the executor printed on stdout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Its failure text: the error of a failed task, the last error of a retried one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// The audit-log lines that name the task, oldest first.
    pub audit: Vec<String>,
}

/// What `normalize_time` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TimeOutput {
    /// The expression as given.
    pub when: String,
    /// The instant it means, UTC (YYYY-MM-DDTHH:MM:SSZ): what schedule_task would store.
    pub instant: String,
    /// The same instant as Unix seconds.
    pub epoch: i64,
    /// The IANA zone the expression was read in.
    pub timezone: String,
    /// The instant in that zone, ISO 8601 with its offset.
    pub local: String,
    /// A plain sentence: "Fri 2026-11-27 09:00 EST, in 22h 59m".
    pub description: String,
    /// The instant is before now (a task scheduled for it would be due at once).
    pub in_past: bool,
    /// The server's "now", UTC.
    pub now: String,
    /// The server's "now" in its zone, ISO 8601 with its offset.
    pub now_local: String,
}

/// An argument object that does not fit the tool, in words a model can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid arguments for {tool}: {reason}. A valid call looks like {example}")]
pub struct ArgsError {
    pub tool: &'static str,
    pub reason: String,
    pub example: &'static str,
}

/// Deserialises a tool's argument object (absent means `{}`).
///
/// serde's message for a value of the wrong type or out of range does not say which field it
/// is in, so the arguments are first checked against the tool's schema, which names the field
/// and says what it accepts; serde then reports what is left (a missing or unknown field).
pub fn parse<T: DeserializeOwned + JsonSchema + 'static>(
    tool: &'static str,
    example: &'static str,
    args: Map<String, Value>,
) -> Result<T, ArgsError> {
    let error = |reason: String| ArgsError {
        tool,
        reason,
        example,
    };
    // The schema is checked first: it holds bounds serde does not know (`count` is at least
    // 1), and its message names the field where serde's would not.
    if let Some(reason) = first_misfit(&input_schema::<T>(), &args) {
        return Err(error(reason));
    }
    T::deserialize(&Value::Object(args)).map_err(|e| error(e.to_string()))
}

/// The schema of `T` as a tool's `inputSchema`.
pub fn input_schema<T: JsonSchema + 'static>() -> Arc<Map<String, Value>> {
    // Every argument type is a struct, so its schema has root type "object" and this cannot
    // fail; the test suite's tools/list would show it at once if it did.
    let schema = schema_for_input::<T>().unwrap_or_else(|e| panic!("input schema: {e}"));
    let mut schema = Value::Object(schema.as_ref().clone());
    simplify(&mut schema);
    let Value::Object(mut schema) = schema else {
        unreachable!("an object stays an object")
    };
    schema.insert(
        "description".into(),
        Value::String(
            "Optional arguments may be left out, or given as null, for their default.".into(),
        ),
    );
    Arc::new(schema)
}

/// The schema of `T` as a tool's `outputSchema`.
pub fn output_schema<T: JsonSchema + 'static>() -> Arc<Map<String, Value>> {
    let mut schema = Value::Object(schema_for_output::<T>().as_ref().clone());
    simplify(&mut schema);
    let Value::Object(schema) = schema else {
        unreachable!("an object stays an object")
    };
    Arc::new(schema)
}

/// Makes a generated schema one that every client reads the same way:
///
/// - an optional field is its plain type (`"integer"`, not `["integer", "null"]`): simple
///   clients (form-based ones, the MCP Inspector) convert a typed-in value only when `type`
///   names one type. Leaving a field out (or sending null) means its default.
/// - schemars' non-standard `format`s (`uint32`, `int64`) are dropped: strict validators
///   refuse unknown formats. Their bounds become `minimum`/`maximum`.
/// - `"default": null` is dropped (it tells a model nothing and contradicts the type), and
///   descriptions from wrapped doc comments are joined into one line.
fn simplify(schema: &mut Value) {
    match schema {
        Value::Object(node) => {
            if let Some(Value::Array(types)) = node.get("type") {
                let not_null: Vec<Value> = types
                    .iter()
                    .filter(|t| t.as_str() != Some("null"))
                    .cloned()
                    .collect();
                if let [only] = not_null.as_slice() {
                    node.insert("type".into(), only.clone());
                }
            }
            if let Some(Value::String(format)) = node.get("format") {
                let bounds: Option<(i64, u64)> = match format.as_str() {
                    "uint8" => Some((0, u8::MAX.into())),
                    "uint16" => Some((0, u16::MAX.into())),
                    "uint32" => Some((0, u32::MAX.into())),
                    _ => None,
                };
                if !STANDARD_FORMATS.contains(&format.as_str()) {
                    node.remove("format");
                    if let Some((min, max)) = bounds {
                        node.entry("minimum").or_insert(min.into());
                        node.entry("maximum").or_insert(max.into());
                    }
                }
            }
            if node.get("default") == Some(&Value::Null) {
                node.remove("default");
            }
            if let Some(Value::String(text)) = node.get_mut("description") {
                *text = text.replace('\n', " ");
            }
            for (key, child) in node.iter_mut() {
                // Property names and enum values are data, not schemas.
                if key != "enum" && key != "const" && key != "default" {
                    simplify(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(simplify),
        _ => {}
    }
}

/// The `format` values of JSON Schema 2020-12 itself.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Arguments that accept one item where their schema says a list (`status: "failed"`).
const ONE_OR_MANY: &[&str] = &["status"];

/// The first top-level argument the schema does not allow, in words: its JSON type, an item
/// of a list, or a number out of range.
fn first_misfit(schema: &Map<String, Value>, args: &Map<String, Value>) -> Option<String> {
    let properties = schema.get("properties")?.as_object()?;
    args.iter().find_map(|(key, value)| {
        let property = properties.get(key)?;
        if value.is_null() && !schema_requires(schema, key) {
            return None; // null means "left out"
        }
        let allowed = allowed_types(property);
        let fits = allowed.is_empty() || allowed.iter().any(|t| has_type(value, t));
        if !fits {
            if ONE_OR_MANY.contains(&key.as_str()) && value.is_string() {
                return None;
            }
            let wanted = allowed
                .iter()
                .map(|t| with_article(t))
                .collect::<Vec<_>>()
                .join(" or ");
            return Some(match range_of(property) {
                Some(range) if value.is_number() || value.is_string() => {
                    format!("{key} must be {wanted} {range}, not {}", describe(value))
                }
                _ => format!("{key} must be {wanted}, not {}", describe(value)),
            });
        }
        if let Value::Array(items) = value {
            let item_schema = property.get("items")?;
            let item_types = allowed_types(item_schema);
            let (i, item) = items
                .iter()
                .enumerate()
                .find(|(_, item)| !item_types.iter().any(|t| has_type(item, t)))?;
            return Some(format!(
                "{key} must be a list of {}s; item {} is {}",
                item_types.join(" or "),
                i + 1,
                describe(item)
            ));
        }
        if let (Some(range), Some(n)) = (range_of(property), value.as_number()) {
            let below = property
                .get("minimum")
                .and_then(Value::as_f64)
                .zip(n.as_f64())
                .is_some_and(|(min, n)| n < min);
            let above = property
                .get("maximum")
                .and_then(Value::as_f64)
                .zip(n.as_f64())
                .is_some_and(|(max, n)| n > max);
            if below || above {
                return Some(format!(
                    "{key} must be a whole number {range}, not {}",
                    describe(value)
                ));
            }
        }
        None
    })
}

fn schema_requires(schema: &Map<String, Value>, key: &str) -> bool {
    schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|k| k.as_str() == Some(key)))
}

/// `from 0 to 4294967295`, `of at least 1`: an integer property's bounds in words.
fn range_of(property: &Value) -> Option<String> {
    let min = property.get("minimum").and_then(Value::as_i64);
    let max = property.get("maximum").and_then(Value::as_u64);
    match (min, max) {
        (Some(min), Some(max)) => Some(format!("from {min} to {max}")),
        (Some(min), None) => Some(format!("of at least {min}")),
        (None, Some(max)) => Some(format!("of at most {max}")),
        (None, None) => None,
    }
}

/// The `type`s a property allows, looking through `anyOf`.
fn allowed_types(property: &Value) -> Vec<String> {
    match property.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => property
            .get("anyOf")
            .and_then(Value::as_array)
            .map(|options| options.iter().flat_map(allowed_types).collect())
            .unwrap_or_default(),
    }
}

fn has_type(value: &Value, json_type: &str) -> bool {
    match json_type {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => true,
    }
}

fn with_article(json_type: &str) -> String {
    match json_type {
        "array" => "a list".into(),
        "object" => "an object".into(),
        "integer" => "a whole number".into(),
        "boolean" => "true or false".into(),
        other => format!("a {other}"),
    }
}

/// A value as a message shows it; a long string is cut (the reply and the log line stay
/// readable whatever was sent).
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", crate::error::quote_value(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// `status` as a list of names: one string or an array of strings; empty means the default.
pub fn status_names(value: Option<Value>) -> Result<Vec<String>, String> {
    let bad = || {
        format!(
            "status must be a status name or a list of them, e.g. [\"scheduled\"] (one of {})",
            Status::ALL.join(", ")
        )
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

// The defaults in the field attributes are the library's (`Intent::ResumeTask`, ...); a unit
// test checks each one is a member of its set.
fn enum_schema(values: &[&str]) -> Schema {
    json_schema!({ "type": "string", "enum": values })
}

fn intent_schema(_: &mut SchemaGenerator) -> Schema {
    enum_schema(Intent::ALL)
}

fn mode_schema(_: &mut SchemaGenerator) -> Schema {
    enum_schema(Mode::ALL)
}

fn aura_schema(_: &mut SchemaGenerator) -> Schema {
    enum_schema(AuraLevel::ALL)
}

fn if_late_schema(_: &mut SchemaGenerator) -> Schema {
    enum_schema(IfLate::ALL)
}

fn status_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": Status::ALL })
}

fn status_list_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "string", "enum": Status::ALL }
    })
}

fn task_schema(_: &mut SchemaGenerator) -> Schema {
    Schema::try_from(task_record_schema()).unwrap_or_else(|e| panic!("task schema: {e}"))
}

fn task_list_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "array", "items": task_record_schema() })
}

/// The task record (SPEC §3) as JSON Schema: every field this tool knows, with its type and
/// closed sets; fields it does not know are allowed (users and executors add their own, and
/// they are kept). Only the fields every readable record has are required, since records
/// written by other tools leave the rest out.
pub fn task_record_schema() -> Value {
    let string = || json!({ "type": "string" });
    let stamp = |what: &str| json!({ "type": "string", "description": format!("{what}, UTC (YYYY-MM-DDTHH:MM:SSZ)") });
    let text_or_null = |what: &str| json!({ "anyOf": [{ "type": "string" }, { "type": "null" }], "description": what });
    let strings = || json!({ "type": "array", "items": { "type": "string" } });
    let closed = |values: &[&str]| json!({ "type": "string", "enum": values });
    let count = |what: &str| json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX, "description": what });
    json!({
        "type": "object",
        "description": "A deferred task as stored (one JSONL line); fields not listed here are kept as they were written.",
        "required": ["id", "created_at", "run_at", "status"],
        "properties": {
            "id": string(),
            "created_at": stamp("When it was scheduled"),
            "run_at": stamp("When it runs (or ran)"),
            "type": { "type": "string", "const": "deferred_task" },
            "intent": closed(Intent::ALL),
            "context": {
                "type": "object",
                "description": "The snapshot of intent.",
                "properties": {
                    "summary": string(),
                    "key_points": strings(),
                    "artifacts": strings(),
                    "constraints": strings(),
                    "reoriented_from": text_or_null("The CONTEXT.md it was built from.")
                }
            },
            "execution": {
                "type": "object",
                "properties": {
                    "mode": closed(Mode::ALL),
                    "prompt_template": text_or_null("The instruction for the future run."),
                    "aura_level": closed(AuraLevel::ALL)
                }
            },
            "status": closed(Status::ALL),
            "attempts": count("Executor runs that failed so far."),
            "max_retries": count("How many failed runs are retried."),
            "reorient_requested": { "type": "boolean" },
            "reorient": {
                "type": "object",
                "properties": {
                    "requested": { "type": "boolean" },
                    "project": text_or_null("The project whose CONTEXT.md was read."),
                    "explicit_context_file": text_or_null("The CONTEXT.md named explicitly.")
                }
            },
            "when": { "type": "string", "description": "The time expression as given." },
            "timezone": { "type": "string", "description": "The zone it was read in." },
            "cwd": { "type": "string", "description": "The directory the executor starts in." },
            "retried": {
                "type": "integer", "minimum": 0,
                "description": "How often retry_task scheduled it again."
            },
            "started_at": stamp("When the last run started"),
            "completed_at": stamp("When it completed"),
            "failed_at": stamp("When it failed for good"),
            "cancelled_at": stamp("When it was cancelled"),
            "cancel_reason": text_or_null("Why it was cancelled."),
            "last_attempt_at": stamp("When the last failed run was"),
            "last_error": text_or_null("The last failed run's error."),
            "error": text_or_null("Why it failed."),
            "result": {
                "type": "object",
                "properties": {
                    "type": closed(ResultType::ALL),
                    "output": text_or_null("The executor's output (capped)."),
                    "next_run_at": stamp("When a retry runs"),
                    "prompt_path": string(),
                    "exit_code": { "anyOf": [{ "type": "integer" }, { "type": "null" }] },
                    "output_path": text_or_null("The executor's full output.")
                }
            },
            "series": {
                "type": "object",
                "description": "For an occurrence of a repeating task.",
                "properties": {
                    "id": string(),
                    "rule": { "type": "string", "description": "\"every 1d\" or \"cron 0 9 * * 1-5\"." },
                    "occurrence": count("1 for the first occurrence."),
                    "scheduled_for": stamp("The rule's time for this occurrence"),
                    "count": count("Stop after this many occurrences."),
                    "until": stamp("No occurrence after this instant"),
                    "missed": count("Occurrences this one stood in for."),
                    "ended": { "type": "boolean" }
                }
            },
            "if_late": closed(IfLate::ALL),
            "late_after": {
                "anyOf": [{ "type": "string" }, { "type": "integer", "minimum": 0 }],
                "description": "How late counts as missed: as typed (\"1h\") or seconds."
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn a_missing_field_names_it_and_shows_a_valid_call() {
        let err = parse::<TimeArgs>("normalize_time", r#"{"when": "30m"}"#, Map::new())
            .expect_err("when is required");
        assert_eq!(
            err.to_string(),
            "invalid arguments for normalize_time: missing field `when`. A valid call looks \
             like {\"when\": \"30m\"}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_field() {
        let err = parse::<ScheduleArgs>("schedule_task", "{}", object(json!({"when": 30})))
            .expect_err("when is a string");
        assert_eq!(err.reason, "when must be a string, not the number 30");
        let err = parse::<ScheduleArgs>(
            "schedule_task",
            "{}",
            object(json!({"when": "1h", "summary": "s", "key_points": ["a", 2]})),
        )
        .expect_err("key points are strings");
        assert_eq!(
            err.reason,
            "key_points must be a list of strings; item 2 is the number 2"
        );
        let err = parse::<ScheduleArgs>(
            "schedule_task",
            "{}",
            object(json!({"when": "1h", "max_retries": "2"})),
        )
        .expect_err("retries are a number");
        assert_eq!(
            err.reason,
            "max_retries must be a whole number from 0 to 4294967295, not the string \"2\""
        );
        // A number out of range names the field and the range, not serde's `u32`.
        for (value, shown) in [(json!(-1), "-1"), (json!(4_294_967_296_u64), "4294967296")] {
            let err = parse::<ScheduleArgs>(
                "schedule_task",
                "{}",
                object(json!({"when": "1h", "max_retries": value})),
            )
            .expect_err("out of range");
            assert_eq!(
                err.reason,
                format!(
                    "max_retries must be a whole number from 0 to 4294967295, not the number \
                     {shown}"
                )
            );
        }
        let err = parse::<ScheduleArgs>(
            "schedule_task",
            "{}",
            object(json!({"when": "1h", "count": 0})),
        )
        .expect_err("count is at least 1");
        assert_eq!(
            err.reason,
            "count must be a whole number from 1 to 4294967295, not the number 0"
        );
        let err = parse::<ScheduleArgs>(
            "schedule_task",
            "{}",
            object(json!({"when": "1h", "dry_run": "true"})),
        )
        .expect_err("a boolean");
        assert_eq!(
            err.reason,
            "dry_run must be true or false, not the string \"true\""
        );
    }

    /// Every property of every input schema, with its name.
    fn input_properties() -> Vec<(String, Value)> {
        let schemas = [
            input_schema::<ScheduleArgs>(),
            input_schema::<ListArgs>(),
            input_schema::<ShowArgs>(),
            input_schema::<CancelArgs>(),
            input_schema::<RescheduleArgs>(),
            input_schema::<RetryArgs>(),
            input_schema::<TimeArgs>(),
        ];
        schemas
            .iter()
            .flat_map(|s| {
                s["properties"]
                    .as_object()
                    .expect("properties")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_input_property_has_one_plain_type_and_a_valid_default() {
        for (name, property) in input_properties() {
            let Some(Value::String(t)) = property.get("type") else {
                panic!("{name}: {property}")
            };
            assert_ne!(t, "null", "{name}");
            assert!(property.get("format").is_none(), "{name}: {property}");
            if let (Some(default), Some(Value::Array(values))) =
                (property.get("default"), property.get("enum"))
            {
                assert!(values.contains(default), "{name}: {property}");
            }
        }
        let schedule = input_schema::<ScheduleArgs>();
        let p = &schedule["properties"];
        assert_eq!(p["count"]["minimum"], 1);
        assert_eq!(p["count"]["maximum"], u32::MAX);
        assert_eq!(p["if_late"]["enum"], json!(["run", "skip"]));
        assert_eq!(p["intent"]["default"], "resume_task");
        assert_eq!(p["mode"]["default"], "fresh");
        assert_eq!(p["aura_level"]["default"], "low");
        assert_eq!(p["dry_run"]["default"], false);
        let list = input_schema::<ListArgs>();
        assert_eq!(
            list["properties"]["status"]["default"],
            json!(["scheduled", "executing"])
        );
        assert_eq!(list["properties"]["limit"]["default"], DEFAULT_LIMIT);
    }

    #[test]
    fn output_schemas_describe_the_task_record_and_use_no_custom_formats() {
        for schema in [
            output_schema::<ScheduleOutput>(),
            output_schema::<TaskOutput>(),
            output_schema::<RescheduleOutput>(),
        ] {
            assert_eq!(schema["properties"]["task"]["type"], "object");
            assert_eq!(
                schema["properties"]["task"]["properties"]["status"]["enum"],
                json!(Status::ALL)
            );
        }
        let list = output_schema::<ListOutput>();
        assert_eq!(list["properties"]["tasks"]["items"]["type"], "object");
        let text = serde_json::to_string(&*list).expect("json");
        assert!(!text.contains("\"format\""), "{text}");
    }

    #[test]
    fn the_task_schema_knows_every_field_a_record_can_have() {
        let task = crate::record::Task::from_json(
            br#"{"id":"t","created_at":"2026-04-08T16:35:00Z","run_at":"2026-04-08T16:35:00Z",
                "status":"failed","started_at":"2026-04-08T16:35:00Z",
                "completed_at":"2026-04-08T16:35:00Z","failed_at":"2026-04-08T16:35:00Z",
                "cancelled_at":"2026-04-08T16:35:00Z","cancel_reason":null,
                "last_attempt_at":"2026-04-08T16:35:00Z","last_error":"e","error":"e",
                "when":"now","timezone":"UTC","cwd":"/srv/project","if_late":"skip",
                "late_after":"1h","retried":1,
                "reorient":{"requested":true,"project":null,"explicit_context_file":null},
                "result":{"type":"executor_failed","output":"o","prompt_path":"/p",
                          "exit_code":1,"output_path":"/o"},
                "series":{"id":"t","rule":"every 1d","occurrence":1,
                          "scheduled_for":"2026-04-08T16:35:00Z","count":2,
                          "until":"2026-04-09T16:35:00Z","missed":1,"ended":true}}"#,
        )
        .expect("a record");
        let record = serde_json::to_value(&task).expect("json");
        let schema = task_record_schema();
        fn covered(value: &Value, schema: &Value, path: &str) {
            let Value::Object(fields) = value else { return };
            for (key, inner) in fields {
                let sub = &schema["properties"][key];
                assert!(!sub.is_null(), "{path}.{key} is not in the task schema");
                covered(inner, sub, &format!("{path}.{key}"));
            }
        }
        covered(&record, &schema, "task");
    }

    #[test]
    fn schemas_are_tidy_for_models() {
        let schema = input_schema::<ScheduleArgs>();
        let text = serde_json::to_string(&*schema).expect("json");
        assert!(!text.contains("\\n"), "{text}");
        assert!(!text.contains("\"default\":null"), "{text}");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["when"]));
        assert_eq!(
            schema["properties"]["intent"]["enum"],
            json!(["resume_task", "notify", "execute_action"])
        );
    }

    #[test]
    fn a_misspelt_key_lists_the_real_ones() {
        let err = parse::<ShowArgs>("show_task", "{}", object(json!({"task_id": "x"})))
            .expect_err("unknown field");
        assert!(err.reason.contains("unknown field `task_id`"), "{err}");
        assert!(err.reason.contains("`id`"), "{err}");
    }

    #[test]
    fn nulls_count_as_absent() {
        let args: ScheduleArgs = parse(
            "schedule_task",
            "{}",
            object(json!({"when": "30m", "key_points": null, "dry_run": null})),
        )
        .expect("nulls are accepted");
        assert_eq!(args.key_points, None);
        assert_eq!(args.dry_run, None);
    }

    #[test]
    fn status_is_one_name_or_a_list() {
        assert_eq!(status_names(None), Ok(vec![]));
        assert_eq!(
            status_names(Some(json!("failed"))),
            Ok(vec!["failed".into()])
        );
        assert_eq!(
            status_names(Some(json!(["scheduled", "executing"]))),
            Ok(vec!["scheduled".into(), "executing".into()])
        );
        assert!(status_names(Some(json!(3))).is_err());
        assert!(status_names(Some(json!([3]))).is_err());
    }
}
