//! A loaded JSONL file: the bytes as read, split into lines, with a cheap look at each.
//!
//! Lines are kept as ranges into the original buffer so a rewrite copies every line it does
//! not change byte for byte — unknown fields, key order, even lines that are not JSON.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;

use crate::record::{Stamp, Status, Task};

/// The few fields that decide what happens to a line, read without building the record.
#[derive(Debug, Deserialize)]
pub struct Peek<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub run_at: Option<Cow<'a, str>>,
}

/// What a line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// A record with an id and a known status; `run_at` is read only for scheduled ones,
    /// because only they are ever due.
    Task {
        id: String,
        status: Status,
        run_at: Option<Stamp>,
    },
    /// Whitespace only; dropped on rewrite (the reference skips them too).
    Blank,
    /// Anything else: kept verbatim, skipped, reported.
    Malformed(String),
}

/// One line of the file.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number, for messages.
    pub number: usize,
    /// Byte range in the buffer, without the newline.
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
        let mut lines = Vec::new();
        let mut start = 0;
        let mut number = 0;
        while start < buf.len() {
            let end = buf[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |i| start + i);
            number += 1;
            let kind = classify(&buf[start..end], end == buf.len());
            lines.push(Line {
                number,
                range: start..end,
                kind,
            });
            start = end + 1;
        }
        Loaded { buf, lines }
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
fn classify(bytes: &[u8], last: bool) -> LineKind {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return LineKind::Blank;
    }
    match serde_json::from_slice::<Peek<'_>>(bytes) {
        Ok(peek) => {
            let Some(id) = peek.id else {
                return LineKind::Malformed("record has no \"id\"".into());
            };
            let Some(status) = peek.status else {
                return LineKind::Malformed(format!("record {id} has no \"status\""));
            };
            let status = match status.parse::<Status>() {
                Ok(status) => status,
                Err(_) => {
                    return LineKind::Malformed(format!(
                        "record {id} has unknown status {status:?}"
                    ));
                }
            };
            let run_at = match status {
                Status::Scheduled => match peek.run_at.as_deref().and_then(Stamp::parse) {
                    Some(at) => Some(at),
                    None => {
                        return LineKind::Malformed(format!(
                            "scheduled record {id} has no valid \"run_at\""
                        ));
                    }
                },
                _ => None,
            };
            LineKind::Task {
                id: id.into_owned(),
                status,
                run_at,
            }
        }
        Err(e) if last && e.is_eof() => {
            LineKind::Malformed("truncated last line (an interrupted write?)".into())
        }
        // serde's position is within the line ("line 1 column 7"); the caller names the line.
        Err(e) => LineKind::Malformed(format!(
            "not a JSON task record: {}",
            e.to_string().replace(" at line 1 column ", " at column ")
        )),
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
        assert!(
            matches!(loaded.lines[0].kind, LineKind::Task { ref id, status: Status::Scheduled, run_at: Some(_) } if id == "a")
        );
        assert!(matches!(loaded.lines[2].kind, LineKind::Blank));
        let bad: Vec<usize> = loaded.malformed().map(|(n, _)| n).collect();
        assert_eq!(bad, vec![2, 4, 5, 6]);
        let last = loaded.malformed().last().expect("last").1.to_string();
        assert!(last.contains("truncated"), "{last}");
        assert!(loaded.lacks_final_newline());
        assert_eq!(loaded.bytes(&loaded.lines[1]), b"not json");
    }

    #[test]
    fn crlf_lines_are_read() {
        let loaded = Loaded::parse(b"{\"id\":\"a\",\"status\":\"failed\"}\r\n".to_vec());
        assert!(matches!(loaded.lines[0].kind, LineKind::Task { .. }));
    }
}
