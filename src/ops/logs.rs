//! What a task left behind: the prompt artifact, the executor's output, its audit lines.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::record::{Status, Task, validate_id};
use crate::store::Store;

/// The most read from any one file: logs are for reading, not for copying a runaway output.
const MAX_READ: u64 = 4 * 1024 * 1024;

/// Everything `defer logs` shows for one task.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Logs {
    pub id: String,
    pub status: Status,
    /// The prompt artifact's path and text, when it was written.
    pub prompt_path: Option<PathBuf>,
    pub prompt: Option<String>,
    /// What the executor printed on stdout: the full file when the record's copy was capped.
    pub stdout: Option<String>,
    /// Its failure text (stderr, else stdout): the error of a failed task, the last error of
    /// a retried one.
    pub stderr: Option<String>,
    /// The audit-log lines that name the task.
    pub audit: Vec<String>,
}

/// Collects the logs of task `id`, active or archived.
pub fn logs(config: &Config, store: &dyn Store, id: &str) -> Result<Logs> {
    validate_id(id)?;
    let record = store
        .show(id)?
        .ok_or_else(|| Error::NotFound(id.to_string()))?;
    let task: Task = serde_json::from_value(record).map_err(|source| Error::Json {
        what: format!("stored record {id}"),
        source,
    })?;
    let result = task.result.as_ref();
    let prompt_path = result
        .map(|r| PathBuf::from(&r.prompt_path))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| crate::runner::prompt_path(config, id));
    let prompt = read_capped(&prompt_path)?;
    let stdout = match result.and_then(|r| r.output_path.as_deref()) {
        Some(path) => {
            read_capped(Path::new(path))?.or_else(|| result.and_then(|r| r.output.clone()))
        }
        None => result.and_then(|r| r.output.clone()),
    };
    let stderr = task.error.clone().or_else(|| task.last_error.clone());
    Ok(Logs {
        id: task.id.clone(),
        status: task.status,
        prompt_path: prompt.as_ref().map(|_| prompt_path),
        prompt,
        stdout,
        stderr,
        audit: audit_lines(&config.log_file, id)?,
    })
}

/// The audit lines with the field `id=<id>`.
pub fn audit_lines(log_file: &Path, id: &str) -> Result<Vec<String>> {
    let file = match std::fs::File::open(log_file) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("reading", log_file)(e)),
    };
    let field = format!("id={id}");
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(Error::io("reading", log_file))?;
        if line.split(' ').any(|word| word == field) {
            out.push(line);
        }
    }
    Ok(out)
}

/// A regular file's text (lossy UTF-8, at most [`MAX_READ`] bytes), or `None` when absent.
fn read_capped(path: &Path) -> Result<Option<String>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", path)(e)),
    };
    if !meta.is_file() {
        return Err(Error::Invalid(format!(
            "{} is not a regular file; refusing to read it",
            path.display()
        )));
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
