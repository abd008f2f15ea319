//! A loaded JSONL file: the bytes as read, split into lines, with a cheap look at each.
//!
//! Lines are kept as ranges into the original buffer so a rewrite copies every line it does
//! not change byte for byte — unknown fields, key order, even lines that are not JSON. The
//! look at each line is [`scan::scan`]: a validating pass that picks out `id`, `status` and
//! `run_at` without building the record.

use std::ops::Range;

use super::scan;
use crate::record::{Stamp, Status, Task};

/// The longest line read as a record: 8 MiB. A longer line is kept verbatim, skipped and
/// reported like any malformed line, so one runaway line cannot make every command that reads
/// the store slow. Records `defer` writes stay far below it (see [`crate::record::MAX_RECORD_BYTES`]); the
/// margin is for stores written by the reference tool, which keeps executor output uncapped.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// A UTF-8 byte order mark, which some editors put at the start of a file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What a line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// A record with an id and a known status; `run_at` is read only for scheduled ones,
    /// because only they are ever due.
    Task {
        id: String,
        status: Status,
        run_at: Option<Stamp>,
        /// What a listing orders it by ([`crate::store::order::listed_at`]).
        listed_at: Option<Stamp>,
        /// Skipped by the runner as missed (a `missed` object).
        missed: bool,
        /// Its `unique_key` and `parent_id`, when it has them (most records have neither).
        links: Option<Box<Links>>,
    },
    /// Whitespace only; dropped on rewrite (the reference skips them too).
    Blank,
    /// Anything else: kept verbatim, skipped, reported.
    Malformed(String),
}

/// A record's links to other tasks, as the quick look found them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Links {
    pub unique_key: Option<String>,
    pub parent_id: Option<String>,
}

impl LineKind {
    /// The line's `unique_key` and `parent_id` (both `None` for a line that is not a task).
    pub fn links(&self) -> (Option<&str>, Option<&str>) {
        match self {
            LineKind::Task {
                links: Some(links), ..
            } => (links.unique_key.as_deref(), links.parent_id.as_deref()),
            _ => (None, None),
        }
    }
}

/// One line of the file.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number, for messages.
    pub number: usize,
    /// Byte range in the buffer, without the newline (and without a `\r` before it).
    pub range: Range<usize>,
    pub kind: LineKind,
}

/// A whole file, read once.
#[derive(Debug, Default)]
pub struct Loaded {
    pub buf: Vec<u8>,
    pub lines: Vec<Line>,
}

impl Loaded {
    /// Splits and classifies every line.
    pub fn parse(buf: Vec<u8>) -> Loaded {
        let mut loaded = Loaded {
            buf,
            lines: Vec::new(),
        };
        loaded.lines.reserve(loaded.buf.len() / 512 + 1);
        // A byte order mark (a store saved by a Windows editor) is not part of the first
        // record; a rewrite drops it.
        let start = if loaded.buf.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        loaded.split_from(start, 0);
        loaded
    }

    /// Adds bytes appended to the file since it was read, classifying only the new lines. A
    /// last line that had no newline yet (an append caught halfway) is classified again with
    /// whatever followed it.
    pub fn append(&mut self, more: &[u8]) {
        let mut start = self.buf.len();
        if !self.buf.is_empty()
            && self.buf.last() != Some(&b'\n')
            && let Some(last) = self.lines.pop()
        {
            start = last.range.start;
        }
        let number = self.lines.last().map_or(0, |l| l.number);
        self.buf.extend_from_slice(more);
        if self.lines.is_empty() {
            // The first line again: a byte order mark may only now be whole.
            start = if self.buf.starts_with(BOM) {
                BOM.len()
            } else {
                0
            };
        }
        self.split_from(start, number);
    }

    /// Splits and classifies the lines from byte `start` on, numbering them after `number`.
    fn split_from(&mut self, mut start: usize, mut number: usize) {
        let buf = &self.buf;
        while start < buf.len() {
            let end = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |i| start + i);
            number += 1;
            let body_end = if end > start && buf[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let kind = classify(&buf[start..body_end]);
            self.lines.push(Line {
                number,
                range: start..body_end,
                kind,
            });
            start = end + 1;
        }
    }

    /// The bytes of one line.
    pub fn bytes(&self, line: &Line) -> &[u8] {
        &self.buf[line.range.clone()]
    }

    /// The full record of a task line.
    pub fn task(&self, line: &Line) -> Result<Task, serde_json::Error> {
        Task::from_json(self.bytes(line))
    }

    /// Lines that are not task records, with the reason.
    pub fn malformed(&self) -> impl Iterator<Item = (usize, &str)> {
        self.lines.iter().filter_map(|l| match &l.kind {
            LineKind::Malformed(why) => Some((l.number, why.as_str())),
            _ => None,
        })
    }

    /// Whether the file ends without a newline (an interrupted append).
    pub fn lacks_final_newline(&self) -> bool {
        self.buf.last().is_some_and(|&b| b != b'\n')
    }
}

/// Reads just enough of a line to know what it is.
pub fn classify(bytes: &[u8]) -> LineKind {
    if bytes.len() > MAX_LINE_BYTES {
        return LineKind::Malformed(format!(
            "line is {} bytes, over the {} MiB limit for a record",
            bytes.len(),
            MAX_LINE_BYTES / (1024 * 1024)
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return LineKind::Blank;
    }
    let fields = match scan::scan(bytes) {
        Ok(fields) => fields,
        Err(e) if e.eof => {
            return LineKind::Malformed(format!("truncated line, an interrupted write? ({e})"));
        }
        Err(e) => return LineKind::Malformed(format!("not a JSON task record: {e}")),
    };
    let Some(id) = fields.id.as_deref() else {
        return LineKind::Malformed("record has no string \"id\"".into());
    };
    let Some(status) = fields.status.as_deref() else {
        return LineKind::Malformed(format!("record {id:?} has no string \"status\""));
    };
    let Ok(status) = status.parse::<Status>() else {
        return LineKind::Malformed(format!("record {id:?} has unknown status {status:?}"));
    };
    let run_at = match status {
        Status::Scheduled => match fields.run_at.as_deref().and_then(Stamp::parse) {
            Some(at) => Some(at),
            None => {
                return LineKind::Malformed(format!(
                    "scheduled record {id:?} has no valid \"run_at\""
                ));
            }
        },
        _ => None,
    };
    let listed_at = crate::store::order::listed_at(status, |name| fields.stamp(name));
    let links = (fields.unique_key.is_some() || fields.parent_id.is_some()).then(|| {
        Box::new(Links {
            unique_key: fields.unique_key.map(|k| k.into_owned()),
            parent_id: fields.parent_id.map(|p| p.into_owned()),
        })
    });
    LineKind::Task {
        id: id.to_string(),
        status,
        run_at,
        listed_at,
        missed: fields.missed,
        links,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_classified_and_kept() {
        let text = b"{\"id\":\"a\",\"status\":\"scheduled\",\"run_at\":\"2026-01-01T00:00:00Z\"}\n\
            not json\n\
            \n\
            {\"id\":\"b\",\"status\":\"weird\"}\n\
            {\"status\":\"scheduled\"}\n\
            {\"id\":\"c\",\"status\":\"compl";
        let loaded = Loaded::parse(text.to_vec());
        assert_eq!(loaded.lines.len(), 6);
        assert!(matches!(
            loaded.lines[0].kind,
            LineKind::Task { ref id, status: Status::Scheduled, run_at: Some(_), .. } if id == "a"
        ));
        assert!(matches!(loaded.lines[2].kind, LineKind::Blank));
        let bad: Vec<usize> = loaded.malformed().map(|(n, _)| n).collect();
        assert_eq!(bad, vec![2, 4, 5, 6]);
        let last = loaded.malformed().last().expect("last").1.to_string();
        assert!(last.contains("truncated"), "{last}");
        assert!(loaded.lacks_final_newline());
        assert_eq!(loaded.bytes(&loaded.lines[1]), b"not json");
    }

    /// Whatever the point an append was caught at (mid-line, mid-CRLF, right after a
    /// newline), reading the rest later gives the lines a read of the whole file gives.
    #[test]
    fn appended_bytes_are_classified_as_a_whole_read_would() {
        let text: &[u8] = b"\xEF\xBB\xBF{\"id\":\"a\",\"status\":\"scheduled\",\"run_at\":\"2026-01-01T00:00:00Z\"}\n\
            not json\r\n\
            \n\
            {\"id\":\"b\",\"status\":\"failed\"}\r\n\
            {\"id\":\"c\",\"status\":\"compl";
        let whole = Loaded::parse(text.to_vec());
        let key = |l: &Loaded| -> Vec<(usize, std::ops::Range<usize>, LineKind)> {
            l.lines
                .iter()
                .map(|x| (x.number, x.range.clone(), x.kind.clone()))
                .collect()
        };
        for cut in 1..text.len() {
            let mut read = Loaded::parse(text[..cut].to_vec());
            read.append(&text[cut..]);
            assert_eq!(read.buf, whole.buf, "cut at {cut}");
            assert_eq!(key(&read), key(&whole), "cut at {cut}");
        }
    }

    #[test]
    fn crlf_lines_are_read() {
        let loaded = Loaded::parse(b"{\"id\":\"a\",\"status\":\"failed\"}\r\n".to_vec());
        assert!(matches!(loaded.lines[0].kind, LineKind::Task { .. }));
        assert_eq!(
            loaded.bytes(&loaded.lines[0]),
            b"{\"id\":\"a\",\"status\":\"failed\"}"
        );
    }
}
