//! The names of the files a task leaves in the log directory, in one place: the runner writes
//! them, `logs` reads them (through the record's paths), `prune` recognises them.
//!
//! - `<id>.prompt.txt`: the prompt artifact (SPEC §8), one per task, rewritten each attempt.
//! - `<id>.<n>.stdout` and `<id>.<n>.stderr`: what the executor printed in attempt `n`, each
//!   written only when it printed something, so a quiet executor leaves no files.
//! - `<id>.output.txt`: the full stdout of an older version's run whose record copy was
//!   capped; still recognised by `prune`.

use std::path::PathBuf;

use crate::config::Config;

/// Which of an attempt's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn suffix(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// What a file in the log directory is, and whose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskFile {
    Prompt { id: String },
    Output { id: String },
}

/// `$DEFER_LOG_DIR/<id>.prompt.txt`.
pub fn prompt_path(config: &Config, id: &str) -> PathBuf {
    config.log_dir.join(format!("{id}.prompt.txt"))
}

/// `$DEFER_LOG_DIR/<id>.<attempt>.stdout` (or `.stderr`).
pub fn output_path(config: &Config, id: &str, attempt: u32, stream: Stream) -> PathBuf {
    config
        .log_dir
        .join(format!("{id}.{attempt}.{}", stream.suffix()))
}

/// The task a log-directory file belongs to, from its name; `None` for anything else (the
/// audit log, a file of the user's).
pub fn task_file(name: &str) -> Option<TaskFile> {
    if let Some(id) = name.strip_suffix(".prompt.txt") {
        return Some(TaskFile::Prompt { id: id.to_string() });
    }
    if let Some(id) = name.strip_suffix(".output.txt") {
        return Some(TaskFile::Output { id: id.to_string() });
    }
    let rest = name
        .strip_suffix(".stdout")
        .or_else(|| name.strip_suffix(".stderr"))?;
    let (id, attempt) = rest.rsplit_once('.')?;
    (!id.is_empty() && !attempt.is_empty() && attempt.bytes().all(|b| b.is_ascii_digit()))
        .then(|| TaskFile::Output { id: id.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let output = |id: &str| Some(TaskFile::Output { id: id.into() });
        assert_eq!(task_file("t.1.stdout"), output("t"));
        assert_eq!(task_file("a.b_c.12.stderr"), output("a.b_c"));
        assert_eq!(task_file("t.output.txt"), output("t"));
        assert_eq!(
            task_file("t.prompt.txt"),
            Some(TaskFile::Prompt { id: "t".into() })
        );
        assert_eq!(task_file("deferred.log"), None);
        assert_eq!(task_file("t.x.stdout"), None);
        assert_eq!(task_file(".stdout"), None);
    }
}
