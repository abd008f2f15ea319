//! The task record (SPEC §3): one JSON object per line of the store.
//!
//! Field names are the reference tool's, so a store written by either tool loads in the other.
//! Every object keeps the fields it does not know in a flattened map: users and executors add
//! their own, and a rewrite must not drop them. The JSON Schema of the record (MCP's and the
//! OpenAPI document's) is derived from these types (`schema.rs`), never written by hand.

mod history;
#[cfg(feature = "schema")]
mod schema;
mod spelling;
mod stamp;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

pub use history::{Attempt, AttemptOutcome, HISTORY_KEEP, MAX_ATTEMPT_ERROR};
pub use spelling::keep_spelling;
pub use stamp::Stamp;

/// The largest record `schedule` accepts: 1 MiB as one JSON line. A task is a compact snapshot
/// of intent, never a transcript; long material belongs in a file named by `--artifact`. The
/// runner adds at most a few tens of KiB (capped output and error text) to a record, so a
/// record accepted here always stays readable under [`crate::store::jsonl::lines::MAX_LINE_BYTES`].
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Declares a closed set of lower-case string values with parse, display and serde. Reading
/// goes through `FromStr`, so a stored record, a JSON request and a CLI flag refuse an unknown
/// value in the same words.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every accepted value, for help and error messages.
            pub const ALL: &'static [&'static str] = &[$($text),+];

            /// The value as written in records and on the command line.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<$name> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(Error::UnknownValue {
                        what: $what,
                        value: other.to_string(),
                        choices: Self::ALL,
                    }),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

string_enum!(
    /// What the deferred work is for.
    Intent, "intent" {
        ResumeTask = "resume_task",
        Notify = "notify",
        ExecuteAction = "execute_action",
    }
);

string_enum!(
    /// How the future run starts: a fresh agent, or a callback into an existing one.
    Mode, "mode" {
        Fresh = "fresh",
        Callback = "callback",
    }
);

string_enum!(
    /// Advisory execution-intensity hint, kept for executors.
    AuraLevel, "aura level" {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
);

string_enum!(
    /// Where a task is in its lifecycle (SPEC §4).
    Status, "status" {
        Scheduled = "scheduled",
        Executing = "executing",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
);

string_enum!(
    /// What the last run produced.
    ResultType, "result type" {
        PromptPrepared = "prompt_prepared",
        ExecutorOutput = "executor_output",
        ExecutorFailed = "executor_failed",
        RetryScheduled = "retry_scheduled",
    }
);

impl Status {
    /// Completed, failed and cancelled tasks never change again and are archived.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }
}

fn deferred_task() -> String {
    "deferred_task".to_string()
}

/// One deferred task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(
        description = "A deferred task as stored (one JSONL line); fields not listed here are \
                       kept as they were written."
    )
)]
pub struct Task {
    pub id: String,
    pub created_at: Stamp,
    pub run_at: Stamp,
    #[serde(rename = "type", default = "deferred_task")]
    pub kind: String,
    #[serde(default = "default_intent")]
    pub intent: Intent,
    #[serde(default)]
    pub context: Context,
    #[serde(default)]
    pub execution: Execution,
    pub status: Status,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub max_retries: u32,
    #[serde(default)]
    pub reorient_requested: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorient: Option<Reorient>,
    /// The time expression as typed (**beyond**: shows how the time was understood).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The zone `when` was read in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// **Beyond**: the directory the executor starts in (`--cwd`), absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// **Beyond**: `--unique-key`: while a task with this key is scheduled or executing, a
    /// second `schedule` with the same key stores nothing and answers with that task
    /// ([`crate::lifecycle::unique`]). Occurrences of a series carry their series' key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_key: Option<String>,
    /// **Beyond**: the task whose run scheduled this one (a follow-up): the executor's
    /// `DEFER_TASK_ID` when `schedule` ran under a runner, or `--parent`. A link, not a
    /// dependency: nothing waits for the parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// **Beyond**: an agent's session id (`--session`), opaque to defer: the executor gets it
    /// as `DEFER_TASK_SESSION` and may resume that session instead of starting afresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// **Beyond**: how often `defer retry` scheduled this task again after it failed or was
    /// missed (each retry restores its whole `max_retries` budget).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retried: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Stamp>,
    /// `null` when a task was cancelled without a reason; absent when never cancelled.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub cancel_reason: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
    /// **Beyond**: this task is one occurrence of a recurring series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// **Beyond**: what to do when the runner finds the task later than `late_after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_late: Option<IfLate>,
    /// The `--late-after` limit, read once (as typed: `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_after: Option<LateAfter>,
    /// **Beyond**: set when the runner skipped the task as missed (`if_late: skip` and found
    /// later than `late_after`); the task is then `cancelled`, and `cancel_reason` says the
    /// same in words. Only this field makes a cancelled task a missed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<Missed>,
    /// **Beyond**: the task's attempts, oldest first: one per claim by a runner, opened when
    /// it is claimed and closed with its outcome. At most [`HISTORY_KEEP`] are kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Attempt>,
    /// How many older attempts were dropped from `history` to keep the record small.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub history_dropped: u32,
    /// Fields this tool does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

string_enum!(
    /// The missed-run policy (`--if-late`).
    IfLate, "missed-run policy" {
        Run = "run",
        Skip = "skip",
    }
);

/// How late a task with `--if-late skip` may run, read once: stored as typed (`"1h"`), or as
/// a number of seconds when a program wrote one, and written back in the same form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateAfter {
    raw: LateAfterRaw,
    seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum LateAfterRaw {
    Text(String),
    Seconds(u64),
}

impl LateAfter {
    /// Reads `1h`, `90m`, `2d` (an interval of the time grammar).
    pub fn parse(text: &str) -> Result<LateAfter, crate::when::TimeError> {
        let interval = crate::when::parse_interval(text)?;
        Ok(LateAfter {
            raw: LateAfterRaw::Text(text.trim().to_string()),
            seconds: interval.approx_seconds(),
        })
    }

    /// The limit in seconds.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// As the user gave it (`1h`), for messages.
    pub fn text(&self) -> String {
        match &self.raw {
            LateAfterRaw::Text(text) => text.clone(),
            LateAfterRaw::Seconds(secs) => format!("{secs}s"),
        }
    }
}

impl Serialize for LateAfter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.raw {
            LateAfterRaw::Text(text) => s.serialize_str(text),
            LateAfterRaw::Seconds(secs) => s.serialize_u64(*secs),
        }
    }
}

impl<'de> Deserialize<'de> for LateAfter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LateAfter, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            Seconds(u64),
            Text(std::borrow::Cow<'a, str>),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(secs) => Ok(LateAfter {
                raw: LateAfterRaw::Seconds(secs),
                seconds: i64::try_from(secs).unwrap_or(i64::MAX),
            }),
            Raw::Text(text) => LateAfter::parse(&text)
                .map_err(|e| serde::de::Error::custom(format!("late_after {text:?}: {e}"))),
        }
    }
}

/// The link from an occurrence to its series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Series {
    /// The series' id: the id of its first occurrence.
    pub id: String,
    /// `every 1d` or `cron 0 9 * * *`, parsed when the record is read.
    pub rule: crate::recur::Rule,
    /// 1 for the first occurrence; skipped (missed) ones are counted too.
    pub occurrence: u32,
    /// The rule's time for this occurrence (`run_at` moves when a failure is retried).
    pub scheduled_for: Stamp,
    /// Stop after this many occurrences (`--count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// No occurrence after this instant (`--until`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Stamp>,
    /// Occurrences this one stood in for, when the runner found several missed at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<u32>,
    /// `cancel --series` ended the series: no further occurrence is written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ended: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a task was skipped as missed, as the runner found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Missed {
    /// When it was due.
    pub due_at: Stamp,
    /// How late the runner found it, in seconds.
    pub late_seconds: i64,
    /// The limit it was past, as given (`late_after`, default `10m`).
    pub late_after: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_intent() -> Intent {
    Intent::ResumeTask
}

/// Distinguishes `"cancel_reason": null` (present) from a missing field.
fn present_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The compact snapshot of intent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Context {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub key_points: Vec<String>,
    #[serde(default)]
    pub artifacts: Vec<String>,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reoriented_from: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How the future run should go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Execution {
    #[serde(default = "default_mode")]
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<String>,
    #[serde(default = "default_aura")]
    pub aura_level: AuraLevel,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_mode() -> Mode {
    Mode::Fresh
}

fn default_aura() -> AuraLevel {
    AuraLevel::Low
}

impl Default for Execution {
    fn default() -> Execution {
        Execution {
            mode: Mode::Fresh,
            prompt_template: None,
            aura_level: AuraLevel::Low,
            extra: Map::new(),
        }
    }
}

/// Whether (and from where) the context was rebuilt from a CONTEXT.md.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reorient {
    #[serde(default)]
    pub requested: bool,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub explicit_context_file: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The outcome of the last run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskResult {
    #[serde(rename = "type")]
    pub kind: ResultType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_at: Option<Stamp>,
    #[serde(default)]
    pub prompt_path: String,
    /// **Beyond**: the executor's exit code, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// **Beyond**: where the full output went when `output` had to be capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_path: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Task {
    /// Parses one store line.
    pub fn from_json(line: &[u8]) -> Result<Task, serde_json::Error> {
        serde_json::from_slice(line)
    }

    /// One line, as stored.
    pub fn to_line(&self) -> String {
        // A record of strings, numbers and maps cannot fail to serialise.
        serde_json::to_string(self).unwrap_or_else(unreachable_json)
    }

    /// Indented JSON, as printed by default.
    pub fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(unreachable_json)
    }

    /// The instruction for the future run: the template, else the summary.
    pub fn prompt_text(&self) -> &str {
        match &self.execution.prompt_template {
            Some(t) if !t.is_empty() => t,
            _ => &self.context.summary,
        }
    }
}

fn unreachable_json(e: serde_json::Error) -> String {
    // serde_json only fails on non-string map keys or failing Serialize impls; we have neither.
    format!("{{\"error\":\"record could not be serialised: {e}\"}}")
}

/// Ids name files (`<id>.prompt.txt`), so only a safe alphabet is accepted.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId(id.to_string()))
    }
}

/// The longest unique key: a key names a piece of work ("review:PR-123"), not its content.
pub const MAX_UNIQUE_KEY: usize = 200;

/// Why `key` cannot be a unique key, if it cannot: empty, longer than [`MAX_UNIQUE_KEY`]
/// bytes, or holding control characters (it is printed in messages and views).
pub fn unique_key_problem(key: &str) -> Option<String> {
    if key.trim().is_empty() {
        Some("is empty; give a short name for the piece of work, or leave it out".into())
    } else if key.len() > MAX_UNIQUE_KEY {
        Some(format!(
            "is {} bytes long; use at most {MAX_UNIQUE_KEY} (a name for the work, not its text)",
            key.len()
        ))
    } else if key.chars().any(char::is_control) {
        Some("holds control characters; use printable text".into())
    } else {
        None
    }
}

/// Why `session` cannot be a session id, if it cannot. The executor passes it to an agent
/// CLI as an argument (`claude -p --resume SESSION`), and the text of a task may come from
/// anywhere, so only the alphabet of ids is accepted (agent CLIs use UUIDs), and never a
/// leading `-` that a CLI could read as a flag.
pub fn session_problem(session: &str) -> Option<String> {
    let ok = !session.is_empty()
        && session.len() <= 128
        && !session.starts_with(['-', '.'])
        && session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    (!ok).then(|| {
        "use 1-128 characters from A-Z a-z 0-9 . _ -, not starting with '-' or '.' (an agent \
         CLI's session id, such as a UUID)"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_keys_and_sessions_are_checked() {
        assert!(unique_key_problem("review:PR-123 (main)").is_none());
        for bad in ["", "  ", "a\nb", "a\u{1b}[31m", &"k".repeat(201)] {
            assert!(unique_key_problem(bad).is_some(), "{bad:?}");
        }
        assert!(session_problem("5f1c9a2e-1b3c-4c7a-9b0e-0a1b2c3d4e5f").is_none());
        for bad in [
            "",
            "-r",
            "--dangerously-skip-permissions",
            ".x",
            "a b",
            "a;b",
            "é",
        ] {
            assert!(session_problem(bad).is_some(), "{bad:?}");
        }
    }

    const REFERENCE: &str = r#"{"id":"task_20260408_163500_4821","created_at":"2026-04-08T16:35:00Z","run_at":"2026-04-08T16:45:00Z","type":"deferred_task","intent":"resume_task","context":{"summary":"Resume architecture review","key_points":["a","b"],"artifacts":["/abs/notes.md"],"constraints":["No chat memory"],"reoriented_from":"/abs/CONTEXT.md","team":"infra"},"execution":{"mode":"fresh","prompt_template":"Continue.","aura_level":"low","model":"x"},"status":"scheduled","attempts":0,"max_retries":2,"reorient_requested":true,"reorient":{"requested":true,"project":null,"explicit_context_file":"/abs/CONTEXT.md"},"custom":{"nested":[1,2,3]},"priority":7}"#;

    #[test]
    fn reference_record_round_trips_without_losing_a_field() {
        let task = Task::from_json(REFERENCE.as_bytes()).expect("parse");
        assert_eq!(task.extra.get("priority"), Some(&Value::from(7)));
        assert_eq!(task.context.extra.get("team"), Some(&Value::from("infra")));
        assert_eq!(task.execution.extra.get("model"), Some(&Value::from("x")));
        let again: Value = serde_json::from_str(&task.to_line()).expect("reparse");
        let original: Value = serde_json::from_str(REFERENCE).expect("original");
        assert_eq!(again, original);
    }

    #[test]
    fn cancel_reason_null_is_kept() {
        let line = r#"{"id":"a","created_at":"2026-04-08T16:35:00Z","run_at":"2026-04-08T16:45:00Z","status":"cancelled","cancelled_at":"2026-04-08T16:40:00Z","cancel_reason":null}"#;
        let task = Task::from_json(line.as_bytes()).expect("parse");
        assert_eq!(task.cancel_reason, Some(None));
        assert!(task.to_line().contains(r#""cancel_reason":null"#));
    }

    #[test]
    fn stamps_are_written_in_the_reference_form() {
        let s = Stamp::parse("2026-04-08T19:05:00.25+02:00").expect("stamp");
        assert_eq!(s.to_string(), "2026-04-08T17:05:00Z");
    }

    #[test]
    fn ids_are_validated() {
        for ok in [
            "task_20260408_163500_4821",
            "a",
            "A.b-c_9",
            &"x".repeat(128),
        ] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "a b",
            "é",
            &"x".repeat(129),
            "a\nb",
        ] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn enums_reject_unknown_values_with_the_choices() {
        let err = "later".parse::<Intent>().expect_err("unknown").to_string();
        assert!(err.contains("resume_task, notify, execute_action"), "{err}");
    }
}
