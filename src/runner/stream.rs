//! An attempt's output, written to its file as it comes (`<id>.<n>.stdout` / `.stderr`), so
//! `defer logs -f`, the dashboard and MCP can show what a twenty-minute executor has printed
//! so far, and nothing but a small buffer is held in memory.
//!
//! A file is created (private, never through a link) at the first byte, so a quiet executor
//! leaves none. It keeps the first [`HEAD_KEEP`] bytes as they are written; past that, only the
//! last [`TAIL_KEEP`] bytes are held, in a ring in memory, and appended at the end after a line
//! that says how much was left out. A follower sees the head live; past it, the rest arrives
//! when the attempt ends.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fsutil;

/// The bytes of an attempt's stream kept from its start, written as they come.
pub const HEAD_KEEP: u64 = 8 * 1024 * 1024;
/// The bytes kept from its end, past the head.
pub const TAIL_KEEP: usize = 1024 * 1024;

/// One stream of one attempt, on its way to its file.
#[derive(Debug)]
pub struct StreamFile {
    path: PathBuf,
    /// Opened at the first byte.
    file: Option<File>,
    /// Bytes seen in all.
    total: u64,
    /// The last bytes past the head (a ring: `tail_at` is where the next byte goes).
    tail: Vec<u8>,
    tail_at: usize,
    /// The first write error; nothing more is written after it.
    failed: Option<String>,
}

impl StreamFile {
    /// A stream whose file, if anything is printed, will be `path`.
    pub fn new(path: PathBuf) -> StreamFile {
        StreamFile {
            path,
            file: None,
            total: 0,
            tail: Vec::new(),
            tail_at: 0,
            failed: None,
        }
    }

    /// Takes the next bytes the executor printed.
    pub fn write(&mut self, bytes: &[u8]) {
        let before = self.total;
        self.total += bytes.len() as u64;
        let head_room = usize::try_from(HEAD_KEEP.saturating_sub(before)).unwrap_or(usize::MAX);
        let (head, rest) = bytes.split_at(bytes.len().min(head_room));
        if !head.is_empty() {
            self.append(head);
        }
        for &b in rest {
            if self.tail.len() < TAIL_KEEP {
                self.tail.push(b);
            } else {
                self.tail[self.tail_at] = b;
                self.tail_at = (self.tail_at + 1) % TAIL_KEEP;
            }
        }
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.file.is_none() {
            match fsutil::create_private(&self.path) {
                Ok(file) => self.file = Some(file),
                Err(e) => {
                    self.failed = Some(crate::error::chain(&e));
                    return;
                }
            }
        }
        if let Some(file) = &mut self.file
            && let Err(e) = file.write_all(bytes)
        {
            self.failed = Some(e.to_string());
        }
    }

    /// Writes the tail (after a line saying what was left out) and returns the file's path:
    /// `None` when nothing was printed, or the file could not be written (said on stderr by
    /// the caller, which knows the task).
    pub fn finish(mut self) -> Result<Option<PathBuf>, String> {
        if self.total == 0 {
            return Ok(None);
        }
        if !self.tail.is_empty() {
            let kept = self.tail.len() as u64;
            let skipped = self.total - HEAD_KEEP - kept;
            let note = format!(
                "\n[defer: {skipped} bytes left out; the first {HEAD_KEEP} and the last {kept} \
                 of {} are kept]\n",
                self.total
            );
            let mut tail = std::mem::take(&mut self.tail);
            tail.rotate_left(self.tail_at);
            self.append(note.as_bytes());
            self.append(&tail);
        }
        if let Some(file) = self.file.take() {
            drop(file);
        }
        match self.failed {
            Some(e) => Err(e),
            None => Ok(Some(self.path)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_stream_leaves_no_file_and_a_short_one_is_kept_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let quiet = StreamFile::new(dir.path().join("q"));
        assert_eq!(quiet.finish(), Ok(None));
        assert!(!dir.path().join("q").exists());
        let mut s = StreamFile::new(dir.path().join("s"));
        s.write(b"one\n");
        // Written as it comes: readable before the end.
        assert_eq!(std::fs::read(dir.path().join("s")).expect("read"), b"one\n");
        s.write(b"two\n");
        let path = s.finish().expect("ok").expect("a file");
        assert_eq!(std::fs::read(path).expect("read"), b"one\ntwo\n");
    }

    #[test]
    fn past_the_head_only_the_tail_is_kept_with_a_note() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = StreamFile::new(dir.path().join("big"));
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..(HEAD_KEEP >> 20) {
            s.write(&chunk);
        }
        s.write(&vec![b'b'; 3 * TAIL_KEEP]);
        s.write(b"THE END");
        let path = s.finish().expect("ok").expect("a file");
        let text = std::fs::read(path).expect("read");
        assert!(text.len() < HEAD_KEEP as usize + TAIL_KEEP + 200);
        assert!(text.starts_with(b"aaaa"));
        assert!(text.ends_with(b"bbbTHE END"));
        let note = String::from_utf8_lossy(&text[HEAD_KEEP as usize..HEAD_KEEP as usize + 200]);
        assert!(note.contains("bytes left out"), "{note}");
    }
}
