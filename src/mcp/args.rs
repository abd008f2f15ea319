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
use serde_json::{Map, Value};

use crate::error::Result;
use crate::ops::schedule::ScheduleRequest;
use crate::record::{AuraLevel, Intent, Mode, Status};

/// Arguments of `schedule_task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleArgs {
    /// When the task should run, read in the server's time zone: "30m", "in 2 hours",
    /// "tomorrow 9am", "next friday 3pm", "in 2 days at 9am", "2026-12-25 9am",
    /// "2026-04-08T17:05:00Z" or "now". Check an interpretation first with normalize_time.
    pub when: String,
    /// One sentence saying what the future run should do, e.g. "Resume the architecture review
    /// at the scheduler section". Required unless reorient is true.
    #[serde(default)]
    pub summary: Option<String>,
    /// What the task is for: resume_task (default; pick work back up), notify (remind someone)
    /// or execute_action (do one concrete thing).
    #[serde(default)]
    #[schemars(schema_with = "intent_schema")]
    pub intent: Option<String>,
    /// How the future run starts: fresh (default; a new agent with only the snapshot) or
    /// callback (resume inside an existing agent session).
    #[serde(default)]
    #[schemars(schema_with = "mode_schema")]
    pub mode: Option<String>,
    /// The instruction the future run receives; defaults to the summary.
    #[serde(default)]
    pub prompt_template: Option<String>,
    /// Advisory intensity hint for the executor: low (default), medium or high.
    #[serde(default)]
    #[schemars(schema_with = "aura_schema")]
    pub aura_level: Option<String>,
    /// How many times a failed executor run is retried (default 0).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Facts the future run needs, one short sentence each (what was decided, where you
    /// stopped). Never a transcript.
    #[serde(default)]
    pub key_points: Option<Vec<String>>,
    /// Files, URLs or other things to come back to, e.g. "/home/me/notes/review.md".
    #[serde(default)]
    pub artifacts: Option<Vec<String>>,
    /// Rules the future run must respect, e.g. "do not push to main".
    #[serde(default)]
    pub constraints: Option<Vec<String>>,
    /// An explicit task id (1-128 characters from A-Z a-z 0-9 . _ -, not starting with '.'),
    /// e.g. "review_followup". Omit it to get a generated one; an id already in the store is
    /// refused.
    #[serde(default)]
    pub id: Option<String>,
    /// Build the snapshot from a CONTEXT.md (its orientation, state, constraints, decisions and
    /// references) before adding the fields above. Implied by project or context_file.
    #[serde(default)]
    pub reorient: Option<bool>,
    /// With reorient: use the CONTEXT.md of this project (a directory name under the server's
    /// DEFER_PROJECTS_DIR), e.g. "agent-defer".
    #[serde(default)]
    pub project: Option<String>,
    /// With reorient: use this CONTEXT.md (an absolute path, or one starting with ~/).
    #[serde(default)]
    pub context_file: Option<String>,
    /// Repeat: schedule a new occurrence this long after each one, e.g. "1d", "2h", "1 week".
    /// `when` is then the first occurrence. Do not combine with cron.
    #[serde(default)]
    pub every: Option<String>,
    /// Repeat on a five-field cron rule "minute hour day-of-month month day-of-week" in the
    /// server's time zone, e.g. "0 9 * * 1-5" (weekdays at 09:00). The first occurrence is the
    /// rule's first time at or after `when` (use "now").
    #[serde(default)]
    pub cron: Option<String>,
    /// With every or cron: no occurrence after this time, e.g. "2026-12-31".
    #[serde(default)]
    pub until: Option<String>,
    /// With every or cron: stop after this many occurrences.
    #[serde(default)]
    pub count: Option<u32>,
    /// When the runner finds the task late (a laptop asleep at the due time): "run" (default)
    /// runs it anyway; "skip" records it as missed instead.
    #[serde(default)]
    pub if_late: Option<String>,
    /// With if_late "skip": how late counts as missed, e.g. "1h" (default "10m").
    #[serde(default)]
    pub late_after: Option<String>,
    /// Preview only: return the record and how the time was understood, store nothing.
    #[serde(default)]
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
            intent: self.intent.as_deref().map(str::parse).transpose()?,
            mode: self.mode.as_deref().map(str::parse).transpose()?,
            prompt_template: self.prompt_template,
            aura_level: self.aura_level.as_deref().map(str::parse).transpose()?,
            max_retries: self.max_retries,
            key_points: self.key_points.unwrap_or_default(),
            artifacts: self.artifacts.unwrap_or_default(),
            constraints: self.constraints.unwrap_or_default(),
            context_json: None,
            id: self.id,
            reorient,
            project: self.project,
            context_file: self.context_file.map(std::path::PathBuf::from),
            every: self.every,
            cron: self.cron,
            until: self.until,
            count: self.count,
            if_late: self.if_late.as_deref().map(str::parse).transpose()?,
            late_after: self.late_after,
            dry_run: self.dry_run.unwrap_or(false),
        })
    }
}

/// Arguments of `list_tasks`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Only tasks in these statuses, e.g. ["scheduled"] (a single string is accepted too).
    /// Default: scheduled and executing. completed, failed and cancelled also search the
    /// archives.
    #[serde(default)]
    #[schemars(schema_with = "status_list_schema")]
    pub status: Option<Value>,
    /// Every task in every status, including the archives. Do not combine with status.
    #[serde(default)]
    pub all: Option<bool>,
    /// Return at most this many records (default 100); count and total say how many matched.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Arguments of `show_task`.
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
}

/// What `list_tasks` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOutput {
    /// The matching records as stored, in store order (at most limit of them).
    pub tasks: Vec<Value>,
    /// How many records are in tasks.
    pub count: usize,
    /// How many records matched.
    pub total: usize,
    /// total > count: raise limit to see the rest.
    pub truncated: bool,
    /// The statuses searched (empty means all).
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
    pub task: Value,
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
/// serde's message for a value of the wrong type does not say which field it is in, so on
/// failure the arguments are checked against the tool's schema to name the field.
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
    let args = Value::Object(args);
    T::deserialize(&args).map_err(|e| {
        let named = args
            .as_object()
            .and_then(|args| first_wrong_type(&input_schema::<T>(), args));
        error(named.unwrap_or_else(|| e.to_string()))
    })
}

/// The schema of `T` as a tool's `inputSchema`.
pub fn input_schema<T: JsonSchema + 'static>() -> Arc<Map<String, Value>> {
    // Every argument type is a struct, so its schema has root type "object" and this cannot
    // fail; the test suite's tools/list would show it at once if it did.
    let schema = schema_for_input::<T>().unwrap_or_else(|e| panic!("input schema: {e}"));
    Arc::new(tidy(&schema))
}

/// The schema of `T` as a tool's `outputSchema`.
pub fn output_schema<T: JsonSchema + 'static>() -> Arc<Map<String, Value>> {
    Arc::new(tidy(&schema_for_output::<T>()))
}

/// Property descriptions come from wrapped doc comments, so their line breaks are joined into
/// spaces; `"default": null` (from `#[serde(default)]` on an `Option`) is dropped because it
/// does not match an enum property's own schema and tells a model nothing.
fn tidy(schema: &Map<String, Value>) -> Map<String, Value> {
    let mut schema = schema.clone();
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for property in properties.values_mut() {
            let Value::Object(property) = property else {
                continue;
            };
            if property.get("default") == Some(&Value::Null) {
                property.remove("default");
            }
            if let Some(Value::String(text)) = property.get_mut("description") {
                *text = text.replace('\n', " ");
            }
        }
    }
    schema
}

/// The first top-level argument whose JSON type the schema does not allow, in words.
fn first_wrong_type(schema: &Map<String, Value>, args: &Map<String, Value>) -> Option<String> {
    let properties = schema.get("properties")?.as_object()?;
    args.iter().find_map(|(key, value)| {
        let property = properties.get(key)?;
        let allowed = allowed_types(property);
        if allowed.is_empty() || allowed.iter().any(|t| has_type(value, t)) {
            if let (Value::Array(items), Some(item_schema)) = (value, property.get("items")) {
                let item_types = allowed_types(item_schema);
                if let Some((i, item)) = items
                    .iter()
                    .enumerate()
                    .find(|(_, item)| !item_types.iter().any(|t| has_type(item, t)))
                {
                    return Some(format!(
                        "`{key}` must be a list of {}s; item {} is {}",
                        item_types.join(" or "),
                        i + 1,
                        describe(item)
                    ));
                }
            }
            return None;
        }
        let wanted: Vec<&str> = allowed
            .iter()
            .map(|t| t.as_str())
            .filter(|t| *t != "null")
            .collect();
        Some(format!(
            "`{key}` must be {}, not {}",
            wanted
                .iter()
                .map(|t| with_article(t))
                .collect::<Vec<_>>()
                .join(" or "),
            describe(value)
        ))
    })
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
        other => format!("a {other}"),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
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

fn status_list_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "array", "items": { "type": "string", "enum": Status::ALL } },
            { "type": "string", "enum": Status::ALL }
        ]
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
        assert_eq!(err.reason, "`when` must be a string, not the number 30");
        let err = parse::<ScheduleArgs>(
            "schedule_task",
            "{}",
            object(json!({"when": "1h", "summary": "s", "key_points": ["a", 2]})),
        )
        .expect_err("key points are strings");
        assert_eq!(
            err.reason,
            "`key_points` must be a list of strings; item 2 is the number 2"
        );
        let err = parse::<ScheduleArgs>(
            "schedule_task",
            "{}",
            object(json!({"when": "1h", "max_retries": "2"})),
        )
        .expect_err("retries are a number");
        assert_eq!(
            err.reason,
            "`max_retries` must be a whole number, not the string \"2\""
        );
        // A type the schema allows but serde refuses still gets serde's message.
        let err = parse::<ScheduleArgs>(
            "schedule_task",
            "{}",
            object(json!({"when": "1h", "max_retries": -1})),
        )
        .expect_err("retries are not negative");
        assert!(err.reason.contains("-1"), "{err}");
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
