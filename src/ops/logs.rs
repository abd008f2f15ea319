//! What a task left behind: the prompt artifact, each attempt's output, its audit lines.
//!
//! The attempts come from the record's `history` (see `lifecycle::attempts`), each with the
//! output files the runner wrote for it, so a retried task shows every attempt with its own
//! stdout and stderr, never one attempt's error under another's output. A record written
//! before attempts were kept shows one attempt made from what its record holds.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, PathProblem, Result};
use crate::record::{Attempt, AttemptOutcome, Stamp, Status, Task, validate_id};
use crate::store::Store;

/// The most read from any one file: logs are for reading, not for copying a runaway output.
const MAX_READ: u64 = 4 * 1024 * 1024;

/// What a task left behind.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LogsRequest {
    /// The task id, active or archived, e.g. "task_20260408_163500_4821".
    pub id: String,
}

/// One attempt and what it printed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AttemptLog {
    /// 1 for the first attempt; numbers keep counting across retries.
    pub attempt: u32,
    pub started_at: Stamp,
    /// Absent while it runs.
    pub ended_at: Option<Stamp>,
    /// completed, failed, timed_out, killed, interrupted, released or missed; absent while it
    /// runs.
    pub outcome: Option<AttemptOutcome>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Why it failed (or was given back), as recorded.
    pub error: Option<String>,
    /// What the executor printed on stdout in this attempt (so far, while it runs).
    pub stdout: Option<String>,
    /// What it printed on stderr in this attempt.
    pub stderr: Option<String>,
}

/// Everything `logs` shows for one task.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LogsReply {
    pub id: String,
    pub status: Status,
    /// An attempt is running now: what it printed so far is what is shown.
    pub running: bool,
    /// The prompt artifact's path and text, when it was written.
    pub prompt_path: Option<String>,
    pub prompt: Option<String>,
    /// Each attempt, oldest first.
    pub attempts: Vec<AttemptLog>,
    /// Older attempts the record no longer keeps.
    pub attempts_dropped: u32,
    /// The audit-log lines that name the task, oldest first.
    pub audit: Vec<String>,
    /// What there is, in one sentence.
    pub message: String,
}

impl LogsReply {
    /// The last attempt, when there is one.
    pub fn last(&self) -> Option<&AttemptLog> {
        self.attempts.last()
    }
}

/// Collects the logs of task `req.id`, active or archived.
pub fn logs(config: &Config, store: &dyn Store, req: &LogsRequest) -> Result<LogsReply> {
    validate_id(&req.id)?;
    let id = req.id.as_str();
    let record = store
        .show(id)?
        .ok_or_else(|| Error::NotFound(id.to_string()))?;
    let task: Task = serde_json::from_value(record).map_err(|source| Error::Json {
        what: format!("stored record {id}"),
        source,
    })?;
    let prompt_path = task
        .result
        .as_ref()
        .map(|r| PathBuf::from(&r.prompt_path))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| crate::runner::prompt_path(config, id));
    let prompt = read_capped(&prompt_path)?;
    let attempts = if task.history.is_empty() {
        legacy_attempt(&task)?.into_iter().collect()
    } else {
        task.history
            .iter()
            .map(|a| attempt_log(config, &task, a))
            .collect::<Result<Vec<_>>>()?
    };
    let running = task.status == Status::Executing;
    let audit = audit_lines(&config.log_file, id)?;
    let message = format!(
        "{} [{}]: {} attempt(s){}{}, {} audit line(s).",
        task.id,
        task.status,
        attempts.len() + task.history_dropped as usize,
        if running { ", one running now" } else { "" },
        if prompt.is_some() {
            ", a prompt file"
        } else {
            ""
        },
        audit.len()
    );
    Ok(LogsReply {
        id: task.id.clone(),
        status: task.status,
        running,
        prompt_path: prompt.as_ref().map(|_| prompt_path.display().to_string()),
        prompt,
        attempts,
        attempts_dropped: task.history_dropped,
        audit,
        message,
    })
}

/// One recorded attempt, with the text of its output files: the paths the record names, or,
/// for the attempt running now, the files its executor is writing ([`live_files`]).
fn attempt_log(config: &Config, task: &Task, attempt: &Attempt) -> Result<AttemptLog> {
    let live = (attempt.is_open() && task.status == Status::Executing)
        .then(|| live_files(config, &task.id, attempt.attempt));
    let read = |path: &Option<String>, stream: usize| match (path, &live) {
        (Some(path), _) => read_capped(Path::new(path)),
        (None, Some(files)) => read_capped(&files[stream]),
        (None, None) => Ok(None),
    };
    Ok(AttemptLog {
        attempt: attempt.attempt,
        started_at: attempt.started_at,
        ended_at: attempt.ended_at,
        outcome: attempt.outcome,
        exit_code: attempt.exit_code,
        signal: attempt.signal,
        error: attempt.error.clone(),
        stdout: read(&attempt.stdout_path, 0)?,
        stderr: read(&attempt.stderr_path, 1)?,
    })
}

/// The files attempt `number` of task `id` writes its stdout and stderr to while it runs
/// (written as the executor prints; see `runner::stream`), for a follower such as `logs -f`.
pub fn live_files(config: &Config, id: &str, number: u32) -> [PathBuf; 2] {
    use crate::runner::files::{Stream, output_path};
    [
        output_path(config, id, number, Stream::Stdout),
        output_path(config, id, number, Stream::Stderr),
    ]
}

/// A record from before attempts were kept: one attempt from what the record says of its last
/// run, when it ran at all.
fn legacy_attempt(task: &Task) -> Result<Option<AttemptLog>> {
    let Some(started) = task.started_at else {
        return Ok(None);
    };
    let result = task.result.as_ref();
    let stdout = match result.and_then(|r| r.output_path.as_deref()) {
        Some(path) => {
            read_capped(Path::new(path))?.or_else(|| result.and_then(|r| r.output.clone()))
        }
        None => result.and_then(|r| r.output.clone()),
    };
    let outcome = match task.status {
        Status::Completed => Some(AttemptOutcome::Completed),
        Status::Failed => Some(AttemptOutcome::Failed),
        _ => None,
    };
    Ok(Some(AttemptLog {
        attempt: task.attempts.max(1),
        started_at: started,
        ended_at: task.completed_at.or(task.failed_at),
        outcome,
        exit_code: result.and_then(|r| r.exit_code),
        signal: None,
        error: task.error.clone().or_else(|| task.last_error.clone()),
        stdout,
        stderr: None,
    }))
}

/// The audit lines with the field `id=<id>`. Read bytewise and lossily: a line cut by a full
/// disk (or any byte that is not UTF-8) shows as replacement characters, never as an error
/// that hides every task's logs.
pub fn audit_lines(log_file: &Path, id: &str) -> Result<Vec<String>> {
    let bytes = match std::fs::read(log_file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("reading", log_file)(e)),
    };
    let field = format!("id={id}");
    let finder = memchr::memmem::Finder::new(field.as_bytes());
    Ok(bytes
        .split(|&b| b == b'\n')
        .filter(|line| finder.find(line).is_some())
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .filter(|line| line.split(' ').any(|word| word == field))
        .collect())
}

/// A regular file's text (lossy UTF-8, at most [`MAX_READ`] bytes), or `None` when absent.
pub fn read_capped(path: &Path) -> Result<Option<String>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", path)(e)),
    };
    if let Some(what) = crate::fsutil::not_regular(&meta) {
        return Err(Error::unsafe_path(path, PathProblem::NotRegular { what }));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_READ).read_to_end(&mut bytes))
        .map_err(Error::io("reading", path))?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if meta.len() > MAX_READ {
        text.push_str(&format!(
            "\n[defer: cut at {MAX_READ} of {} bytes; the whole file is {}]\n",
            meta.len(),
            path.display()
        ));
    }
    Ok(Some(text))
}
