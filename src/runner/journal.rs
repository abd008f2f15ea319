//! The start journal: the ids of tasks this runner actually started, one per line, appended
//! just before each attempt begins. After a crash it tells recovery which `executing` tasks
//! were only claimed (given back, no attempt spent) and which had started (an interrupted
//! attempt). One runner works a file store at a time, so one journal beside the store serves;
//! it is emptied at the start of every pass, after recovery has read it.
//!
//! It is not flushed to disk per line: a killed process loses nothing (the page cache keeps
//! the lines), and after a power loss a started task merely looks unstarted, so it runs again
//! without counting an attempt — still at least once.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::fsutil;

/// An open journal for one pass.
#[derive(Debug)]
pub struct StartJournal {
    path: PathBuf,
    file: Mutex<File>,
}

impl StartJournal {
    /// The ids a previous runner recorded as started; empty when there is no journal.
    pub fn read(path: &Path) -> Result<HashSet<String>> {
        Ok(Self::read_with_owner(path)?.1)
    }

    /// The pid of the runner that began the journal (its first line, `#runner PID`), and the
    /// ids it recorded as started.
    pub fn read_with_owner(path: &Path) -> Result<(Option<u32>, HashSet<String>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((None, HashSet::new()));
            }
            Err(e) => return Err(Error::io("reading", path)(e)),
        };
        let owner = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("#runner "))
            .and_then(|pid| pid.trim().parse().ok());
        let ids = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        Ok((owner, ids))
    }

    /// Starts a new journal for this pass, owned by this process.
    pub fn begin(path: &Path) -> Result<StartJournal> {
        let header = format!("#runner {}", std::process::id());
        // Begun by this process and nothing started since: there is nothing to empty, and an
        // idle watcher's passes then write nothing at all.
        if std::fs::read(path).is_ok_and(|b| b.strip_suffix(b"\n") == Some(header.as_bytes())) {
            return Self::resume(path);
        }
        fsutil::write_private(path, b"")?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(Error::io("opening", path))?;
        let journal = StartJournal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        };
        journal.write_line(&header)?;
        Ok(journal)
    }

    /// Adds to the journal as it is (a one-task run between passes must not erase what a
    /// crashed pass recorded).
    pub fn resume(path: &Path) -> Result<StartJournal> {
        let file = fsutil::open_append(path)?;
        Ok(StartJournal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Records that `id` is about to start. One `write` of a whole line, so concurrent
    /// workers never interleave.
    pub fn started(&self, id: &str) -> Result<()> {
        self.write_line(id)
    }

    fn write_line(&self, line: &str) -> Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(format!("{line}\n").as_bytes())
            .map_err(Error::io("appending to", &self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_started_is_read_back_and_a_new_pass_starts_empty() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join(".started");
        assert!(StartJournal::read(&path).expect("read").is_empty());
        let j = StartJournal::begin(&path).expect("begin");
        j.started("a").expect("a");
        j.started("b").expect("b");
        let (owner, ids) = StartJournal::read_with_owner(&path).expect("read");
        assert_eq!(ids, ["a", "b"].map(String::from).into());
        assert_eq!(owner, Some(std::process::id()));
        drop(j);
        StartJournal::begin(&path).expect("again");
        assert!(StartJournal::read(&path).expect("read").is_empty());
    }

    #[test]
    fn an_empty_journal_of_this_process_is_kept_and_another_s_is_replaced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join(".started");
        let header = format!("#runner {}\n", std::process::id());
        drop(StartJournal::begin(&path).expect("begin"));
        let before = std::fs::metadata(&path)
            .expect("meta")
            .modified()
            .expect("mtime");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let j = StartJournal::begin(&path).expect("again");
        let after = std::fs::metadata(&path)
            .expect("meta")
            .modified()
            .expect("mtime");
        assert_eq!(before, after, "an idle pass writes nothing");
        j.started("c").expect("c");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            format!("{header}c\n")
        );
        std::fs::write(&path, "#runner 1\n").expect("another runner's");
        drop(StartJournal::begin(&path).expect("begin"));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), header);
    }
}
