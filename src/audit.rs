//! The audit log (SPEC §8): one line per event, `<UTC stamp> <event> key=value…`.
//!
//! Each line goes out in a single `write` on an `O_APPEND` file, so lines from concurrent
//! processes interleave whole. The log is a record for people, not a source of truth, so a
//! failure to write it is reported on stderr and never undoes the change it describes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::fsutil;
use crate::record::Stamp;

/// Appends one event line; `fields` are `(key, value)` pairs in order.
pub fn log(path: &Path, at: Timestamp, event: &str, fields: &[(&str, &str)]) {
    AuditLog::new(path).log(at, event, fields);
}

/// The audit log kept open for a series of events (a run logs several per task).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Option<File>,
}

impl AuditLog {
    /// Opens lazily, on the first event.
    pub fn new(path: &Path) -> AuditLog {
        AuditLog {
            path: path.to_path_buf(),
            file: None,
        }
    }

    /// Appends one event line; `fields` are `(key, value)` pairs in order.
    pub fn log(&mut self, at: Timestamp, event: &str, fields: &[(&str, &str)]) {
        let mut line = format!("{} {event}", Stamp(at));
        for (key, value) in fields {
            line.push(' ');
            line.push_str(key);
            line.push('=');
            push_value(&mut line, value);
        }
        line.push('\n');
        if self.file.is_none() {
            match fsutil::open_append(&self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    eprintln!("warning: audit log not written: {e}");
                    return;
                }
            }
        }
        if let Some(f) = &mut self.file
            && let Err(e) = f.write_all(line.as_bytes())
        {
            eprintln!(
                "warning: audit log not written: {}: {e}",
                self.path.display()
            );
            self.file = None;
        }
    }
}

/// Values with spaces, quotes or control characters are JSON-quoted so a line stays one line
/// and splits on spaces; plain values (ids, stamps, paths) are written bare, as the reference
/// writes them.
fn push_value(line: &mut String, value: &str) {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\\');
    if plain {
        line.push_str(value);
    } else {
        line.push_str(&serde_json::Value::from(value).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_reference_shape() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("logs/deferred.log");
        let at: Timestamp = "2026-04-08T16:35:00Z".parse().expect("ts");
        log(&path, at, "cancelled", &[("id", "t1")]);
        log(
            &path,
            at,
            "failed",
            &[("id", "t2"), ("reason", "exit 3: boom\nnext")],
        );
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "2026-04-08T16:35:00Z cancelled id=t1\n\
             2026-04-08T16:35:00Z failed id=t2 reason=\"exit 3: boom\\nnext\"\n"
        );
    }
}
