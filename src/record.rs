//! The task record (SPEC §3): one JSON object per line of the store.
//!
//! Field names are the reference tool's, so a store written by either tool loads in the other.
//! Every object keeps the fields it does not know in a flattened map: users and executors add
//! their own, and a rewrite must not drop them.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The largest record `schedule` accepts: 1 MiB as one JSON line. A task is a compact snapshot
/// of intent, never a transcript; long material belongs in a file named by `--artifact`. The
/// runner adds at most a few tens of KiB (capped output and error text) to a record, so a
/// record accepted here always stays readable under [`crate::store::jsonl::lines::MAX_LINE_BYTES`].
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// A UTC instant written as `YYYY-MM-DDTHH:MM:SSZ`, the only form the reference writes.
///
/// Reading accepts any RFC 3339 instant (a hand-edited `+02:00` offset still means the same
/// instant); sub-second parts are dropped when writing, as the reference never has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub Timestamp);

impl Stamp {
    /// Parses an RFC 3339 instant.
    pub fn parse(text: &str) -> Option<Stamp> {
        text.parse::<Timestamp>().ok().map(Stamp)
    }

    /// The instant.
    pub fn timestamp(self) -> Timestamp {
        self.0
    }
}

impl From<Timestamp> for Stamp {
    fn from(ts: Timestamp) -> Stamp {
        Stamp(ts)
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Stamp, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Stamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a UTC stamp like 2026-04-08T17:05:00Z"
            ))
        })
    }
}

/// Declares a closed set of lower-case string values with parse, display and serde.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
                    other => Err(Error::Invalid(format!(
                        "unknown {} {:?}: use one of {}",
                        $what,
                        other,
                        Self::ALL.join(", ")
                    ))),
                }
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
    /// Fields this tool does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

string_enum!(
    /// The missed-run policy (`--if-late`).
    IfLate, "--if-late value" {
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

fn default_intent() -> Intent {
    Intent::ResumeTask
}

/// Distinguishes `"cancel_reason": null` (present) from a missing field.
fn present_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The compact snapshot of intent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// `new` (a record re-serialised after a change) with every member whose value did not change
/// written exactly as in `original`, the line it replaces.
///
/// A record is parsed into `f64`-backed numbers, so without this an unknown field such as
/// `"custom": 123456789012345678901234567890` came back as `1.2345678901234568e+29`, `1e2`
/// as `100.0` and `-0` as `-0.0` after any change to the record. Members are matched by key,
/// at every level of nested objects; one whose parsed value is the same in both lines keeps
/// its original text, so only what the change touched is written anew. (serde_json's
/// `arbitrary_precision` would keep big numbers but still respell `1e2` as `1e+2`, and it
/// changes the error messages of typed fields, which MCP shows to models.) If either line
/// is not a JSON object, `new` is returned as is.
pub fn keep_spelling(original: &[u8], new: &str) -> String {
    let Ok(original) = std::str::from_utf8(original) else {
        return new.to_string();
    };
    let original = original.strip_suffix('\r').unwrap_or(original);
    merge_spelling(original, new).unwrap_or_else(|| new.to_string())
}

/// The object `new` with members taken from `original` where their values are equal.
fn merge_spelling(original: &str, new: &str) -> Option<String> {
    let old = members(original)?;
    let fresh = members(new)?;
    let mut out = String::with_capacity(new.len() + 16);
    out.push('{');
    for (i, (key, raw)) in fresh.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        let before = old.iter().find(|(k, _)| k == key).map(|(_, r)| r.get());
        out.push_str(&member_text(before, raw.get()));
    }
    out.push('}');
    Some(out)
}

/// The text of one member: the original's when its value is unchanged; a nested object merged
/// member by member; else the new text.
fn member_text(before: Option<&str>, after: &str) -> String {
    let Some(before) = before else {
        return after.to_string();
    };
    if before == after {
        return before.to_string();
    }
    let parsed = |t: &str| serde_json::from_str::<Value>(t).ok();
    match (parsed(before), parsed(after)) {
        (Some(b), Some(a)) if b == a => before.to_string(),
        (Some(Value::Object(_)), Some(Value::Object(_))) => {
            merge_spelling(before, after).unwrap_or_else(|| after.to_string())
        }
        _ => after.to_string(),
    }
}

/// The members of a JSON object, in order, with their raw text.
fn members(text: &str) -> Option<Vec<(String, &serde_json::value::RawValue)>> {
    struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
    impl<'de> serde::de::Visitor<'de> for Visitor<'de> {
        type Value = Vec<(String, &'de serde_json::value::RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(
            self,
            mut map: M,
        ) -> Result<Self::Value, M::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, &'de serde_json::value::RawValue>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let out =
        serde::Deserializer::deserialize_map(&mut de, Visitor(std::marker::PhantomData)).ok()?;
    de.end().ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
