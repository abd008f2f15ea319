//! The audit log (SPEC §8): one line per event, `<UTC stamp> <event> key=value…`.
//!
//! Each line goes out in a single `write` on an `O_APPEND` file, so lines from concurrent
//! processes interleave whole. The log is a record for people, not a source of truth, so a
//! failure to write it is reported on stderr and never undoes the change it describes.
//!
//! **Line boundaries.** A write cut short (a full disk takes what fits) leaves part of a line;
//! every write first looks at the log's last byte and starts with a newline when it is not one,
//! so the next line starts on a line of its own. Readers read the log lossily (`ops::logs`),
//! so a cut inside a multi-byte character shows as a replacement character and nothing else.
//!
//! **Rotation.** A log past [`ROTATE_BYTES`] (10 MiB) is renamed to `deferred.log.1` (replacing
//! the previous one) by the process whose write took it over the limit; the next event starts
//! a new file. The rename happens under a `flock` of the log and only while the path still
//! names the file that was written, so two processes never rotate twice; a process holding the
//! old file (a `--watch` runner) notices after its next write and reopens the path.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::fsutil;
use crate::record::Stamp;

/// The size past which the audit log is rotated to `<log>.1`.
pub const ROTATE_BYTES: u64 = 10 * 1024 * 1024;

/// `deferred.log` → `deferred.log.1`.
pub fn rotated_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".1");
    path.with_file_name(name)
}

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
        if let Some(f) = &mut self.file {
            if !ends_a_line(f) {
                line.insert(0, '\n');
            }
            if let Err(e) = f.write_all(line.as_bytes()) {
                eprintln!(
                    "warning: audit log not written: {}: {e}",
                    self.path.display()
                );
                self.file = None;
            } else if f.metadata().is_ok_and(|m| m.len() > ROTATE_BYTES) {
                rotate(&self.path, f);
                // Whether this process rotated it or another did, the next event goes to
                // whatever the path names then.
                self.file = None;
            }
        }
    }
}

/// Whether the file is empty or ends with a newline (a cut write leaves neither).
fn ends_a_line(file: &File) -> bool {
    use std::os::unix::fs::FileExt;
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return true;
    };
    if len == 0 {
        return true;
    }
    let mut last = [0u8];
    match file.read_at(&mut last, len - 1) {
        Ok(1) => last[0] == b'\n',
        _ => true,
    }
}

/// Renames the full log `file` (open at `path`) to `<path>.1`, unless another process already
/// did. Best effort, like every audit write.
fn rotate(path: &Path, file: &File) {
    use std::os::unix::fs::MetadataExt;
    if file.lock().is_err() {
        return;
    }
    let same = match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    };
    if same && let Err(e) = std::fs::rename(path, rotated_path(path)) {
        eprintln!("warning: audit log not rotated: {}: {e}", path.display());
    }
    let _ = file.unlock();
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
    fn a_log_past_the_limit_is_rotated_once() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("deferred.log");
        let at: Timestamp = "2026-04-08T16:35:00Z".parse().expect("ts");
        let big = usize::try_from(ROTATE_BYTES).expect("size");
        std::fs::write(&path, "x".repeat(big)).expect("fill");
        let mut held = AuditLog::new(&path);
        held.log(at, "first", &[]);
        assert!(
            !path.exists(),
            "rotated after the write that passed the limit"
        );
        let old = std::fs::read_to_string(rotated_path(&path)).expect("rotated");
        assert!(old.ends_with(" first\n"));
        held.log(at, "second", &[]);
        assert_eq!(
            std::fs::read_to_string(&path).expect("new log"),
            "2026-04-08T16:35:00Z second\n"
        );
    }

    #[test]
    fn a_line_cut_short_does_not_swallow_the_next() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("deferred.log");
        let at: Timestamp = "2026-04-08T16:35:00Z".parse().expect("ts");
        // A write cut inside "é" by a full disk.
        std::fs::write(&path, b"2026-04-08T16:35:00Z failed id=t1 error=caf\xc3").expect("cut");
        log(&path, at, "cancelled", &[("id", "t2")]);
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(
            text.lines().last(),
            Some("2026-04-08T16:35:00Z cancelled id=t2"),
            "{text}"
        );
    }

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
