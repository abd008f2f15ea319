//! A validating JSON scanner for store lines: checks that a line is one well-formed JSON
//! object and picks out the top-level `id`, `status` and `run_at` strings, without building
//! anything.
//!
//! Every command reads every line of the store, but only a few lines are ever changed, and
//! only three fields decide what happens to a line. Walking the bytes once is several times
//! faster than deserialising (even into a struct that ignores most fields), and it still
//! rejects anything that is not JSON, so lines the store passes on verbatim (`list`, rewrites)
//! are always valid. The scanner also re-indents a valid line for pretty output.

use std::borrow::Cow;

/// How many JSON containers (objects and arrays) one store line may nest, the record's own
/// object included. Deeper nesting is refused rather than risking the stack. It is the limit of
/// serde_json, which parses the lines the scanner accepts (its recursion limit of 128 refuses
/// the 128th nested container), so the scanner never passes a line the full parse refuses;
/// `schedule` refuses a record that would nest deeper, so what it stores can be read back.
pub const MAX_DEPTH: usize = 127;

/// Why a line is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset (0-based) where the problem was found.
    pub at: usize,
    pub what: &'static str,
    /// The line ended in the middle of a value (an interrupted write).
    pub eof: bool,
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at column {}", self.what, self.at + 1)
    }
}

/// The fields that decide what happens to a line, and the stamps a listing orders it by.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    pub id: Option<Cow<'a, str>>,
    pub status: Option<Cow<'a, str>>,
    pub run_at: Option<Cow<'a, str>>,
    /// Read for the listing's order only (the first one of a name counts: a duplicate of
    /// these does not decide anything, so it is not refused).
    pub created_at: Option<Cow<'a, str>>,
    pub completed_at: Option<Cow<'a, str>>,
    pub failed_at: Option<Cow<'a, str>>,
    pub cancelled_at: Option<Cow<'a, str>>,
    /// A top-level `missed` object is present (`crate::lifecycle::is_missed`).
    pub missed: bool,
    /// Read for listings filtered by these links, and for a keyed `schedule`'s look for the
    /// key's holder (the first one of a name counts).
    pub unique_key: Option<Cow<'a, str>>,
    pub parent_id: Option<Cow<'a, str>>,
}

impl Fields<'_> {
    /// A top-level stamp field by name, for [`crate::store::order::listed_at`].
    pub fn stamp(&self, name: &str) -> Option<crate::record::Stamp> {
        let text = match name {
            "run_at" => &self.run_at,
            "created_at" => &self.created_at,
            "completed_at" => &self.completed_at,
            "failed_at" => &self.failed_at,
            "cancelled_at" => &self.cancelled_at,
            _ => return None,
        };
        text.as_deref().and_then(crate::record::Stamp::parse)
    }
}

/// Validates `line` as one JSON object and returns its top-level `id`, `status`, `run_at`
/// when they are strings.
pub fn scan(line: &[u8]) -> Result<Fields<'_>, ScanError> {
    if let Err(e) = std::str::from_utf8(line) {
        // A character cut off by the end of the line is a truncated write, not bad bytes.
        let eof = e.error_len().is_none();
        return Err(ScanError {
            at: e.valid_up_to(),
            what: if eof {
                "line ends inside a character"
            } else {
                "invalid UTF-8"
            },
            eof,
        });
    }
    let mut s = Scanner { b: line, i: 0 };
    let mut fields = Fields::default();
    s.ws();
    s.expect(b'{', "expected a JSON object")?;
    s.ws();
    if s.peek() == Some(b'}') {
        s.i += 1;
    } else {
        loop {
            s.ws();
            let (key, _) = s.string()?;
            s.ws();
            s.expect(b':', "expected ':' after a key")?;
            s.ws();
            let (slot, decides) = match key {
                b"id" => (Some(&mut fields.id), true),
                b"status" => (Some(&mut fields.status), true),
                b"run_at" => (Some(&mut fields.run_at), true),
                b"created_at" => (Some(&mut fields.created_at), false),
                b"completed_at" => (Some(&mut fields.completed_at), false),
                b"failed_at" => (Some(&mut fields.failed_at), false),
                b"cancelled_at" => (Some(&mut fields.cancelled_at), false),
                b"unique_key" => (Some(&mut fields.unique_key), false),
                b"parent_id" => (Some(&mut fields.parent_id), false),
                _ => (None, false),
            };
            match slot {
                Some(slot) if s.peek() == Some(b'"') => {
                    if slot.is_some() && decides {
                        return Err(s.error("duplicate key"));
                    }
                    let (raw, escaped) = s.string()?;
                    if slot.is_none() {
                        *slot = Some(decode(raw, escaped));
                    }
                }
                _ => {
                    // A task the runner skipped as missed carries a `missed` object: the
                    // overview counts those apart from other cancels.
                    if key == b"missed" && s.peek() == Some(b'{') {
                        fields.missed = true;
                    }
                    s.value(1)?
                }
            }
            s.ws();
            match s.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                Some(_) => return Err(s.error_at(s.i - 1, "expected ',' or '}'")),
                None => return Err(s.eof()),
            }
        }
    }
    s.ws();
    if s.i != line.len() {
        return Err(s.error("unexpected characters after the object"));
    }
    Ok(fields)
}

/// Writes a valid JSON `line` indented as `serde_json::to_string_pretty` would, starting at
/// `indent` levels (for records inside a pretty array). Strings and numbers are copied as
/// written. Call only on lines [`scan`] accepted.
pub fn pretty(line: &[u8], indent: usize, out: &mut Vec<u8>) {
    let mut level = indent;
    let mut i = 0;
    let b = line;
    let newline = |out: &mut Vec<u8>, level: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', level * 2));
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                out.extend_from_slice(&b[start..=i.min(b.len() - 1)]);
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && b[j] == close {
                    out.push(c);
                    out.push(close);
                    i = j;
                } else {
                    out.push(c);
                    level += 1;
                    newline(out, level);
                }
            }
            b'}' | b']' => {
                level = level.saturating_sub(1);
                newline(out, level);
                out.push(c);
            }
            b',' => {
                out.push(b',');
                newline(out, level);
            }
            b':' => out.extend_from_slice(b": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
        i += 1;
    }
}

fn decode(raw: &[u8], escaped: bool) -> Cow<'_, str> {
    if !escaped {
        // `scan` checked UTF-8 for the whole line.
        return String::from_utf8_lossy(raw);
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    Cow::Owned(serde_json::from_slice::<String>(&quoted).unwrap_or_default())
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn error(&self, what: &'static str) -> ScanError {
        self.error_at(self.i, what)
    }

    fn error_at(&self, at: usize, what: &'static str) -> ScanError {
        ScanError {
            at,
            what,
            eof: false,
        }
    }

    fn eof(&self) -> ScanError {
        ScanError {
            at: self.b.len(),
            what: "line ends inside a value",
            eof: true,
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), ScanError> {
        match self.peek() {
            Some(x) if x == c => {
                self.i += 1;
                Ok(())
            }
            Some(_) => Err(self.error(what)),
            None => Err(self.eof()),
        }
    }

    /// A string; returns its raw contents and whether it holds escapes.
    fn string(&mut self) -> Result<(&'a [u8], bool), ScanError> {
        self.expect(b'"', "expected a string")?;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Fast path: plain bytes.
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            match self.next() {
                Some(b'"') => return Ok((&self.b[start..self.i - 1], escaped)),
                Some(b'\\') => {
                    escaped = true;
                    match self.next() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        Some(b'u') => {
                            for _ in 0..4 {
                                match self.next() {
                                    Some(h) if h.is_ascii_hexdigit() => {}
                                    Some(_) => {
                                        return Err(self.error_at(self.i - 1, "bad \\u escape"));
                                    }
                                    None => return Err(self.eof()),
                                }
                            }
                        }
                        Some(_) => return Err(self.error_at(self.i - 1, "bad escape")),
                        None => return Err(self.eof()),
                    }
                }
                Some(_) => return Err(self.error_at(self.i - 1, "control character in a string")),
                None => return Err(self.eof()),
            }
        }
    }

    /// One value inside `depth` containers.
    fn value(&mut self, depth: usize) -> Result<(), ScanError> {
        if matches!(self.peek(), Some(b'{' | b'[')) && depth >= MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.eof()),
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.string()?;
                    self.ws();
                    self.expect(b':', "expected ':' after a key")?;
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b'}') => return Ok(()),
                        Some(_) => return Err(self.error_at(self.i - 1, "expected ',' or '}'")),
                        None => return Err(self.eof()),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b']') => return Ok(()),
                        Some(_) => return Err(self.error_at(self.i - 1, "expected ',' or ']'")),
                        None => return Err(self.eof()),
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), ScanError> {
        let end = self.i + word.len();
        if end > self.b.len() && word.starts_with(&self.b[self.i..]) {
            return Err(self.eof());
        }
        if self.b.get(self.i..end) == Some(word) {
            self.i = end;
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), ScanError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            None => return Err(self.eof()),
            _ => return Err(self.error("bad number")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(if self.peek().is_none() {
                    self.eof()
                } else {
                    self.error("bad number")
                });
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(if self.peek().is_none() {
                    self.eof()
                } else {
                    self.error("bad number")
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record whose `x` holds `arrays` nested arrays.
    fn nested(arrays: usize) -> String {
        format!(r#"{{"x":{}1{}}}"#, "[".repeat(arrays), "]".repeat(arrays))
    }

    #[test]
    fn the_depth_limit_is_serde_jsons() {
        let deepest = nested(MAX_DEPTH - 1);
        assert!(scan(deepest.as_bytes()).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(&deepest).is_ok());
        let too_deep = nested(MAX_DEPTH);
        assert_eq!(
            scan(too_deep.as_bytes()).map_err(|e| e.what),
            Err("nesting too deep")
        );
        assert!(serde_json::from_str::<serde_json::Value>(&too_deep).is_err());
    }

    #[test]
    fn picks_top_level_fields_only() {
        let line = br#"{"context":{"id":"inner","status":"failed"},"id":"a\u0062","status":"scheduled","run_at":"2026-01-01T00:00:00Z","n":-1.5e3,"x":[true,false,null,{}]}"#;
        let f = scan(line).expect("valid");
        assert_eq!(f.id.as_deref(), Some("ab"));
        assert_eq!(f.status.as_deref(), Some("scheduled"));
        assert_eq!(f.run_at.as_deref(), Some("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn agrees_with_serde_on_validity() {
        let cases: &[&[u8]] = &[
            b"{}",
            b" { } ",
            b"{\"a\":1}",
            b"{\"a\":01}",
            b"{\"a\":1.}",
            b"{\"a\":-}",
            b"{\"a\":1e}",
            b"{\"a\":tru}",
            b"{\"a\":\"x}",
            b"{\"a\":\"\\q\"}",
            b"{\"a\":\"\x01\"}",
            b"{\"a\":[1,]}",
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"{\"a\":1} x",
            b"[1]",
            b"\"s\"",
            b"",
            b"{\"a\":{\"b\":[1,2,{\"c\":\"\\u00e9\"}]}}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":1}\r",
        ];
        for case in cases {
            let ours = scan(case).is_ok();
            let serde =
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(case).is_ok();
            assert_eq!(ours, serde, "{:?}", String::from_utf8_lossy(case));
        }
    }

    #[test]
    fn truncation_is_recognised() {
        for cut in [
            &b"{\"id\":\"a\",\"st"[..],
            b"{\"a\":[1,2",
            b"{\"a\":tr",
            b"{\"a\":1.",
            b"{",
        ] {
            let e = scan(cut).expect_err("truncated");
            assert!(e.eof, "{:?} {e:?}", String::from_utf8_lossy(cut));
        }
    }

    #[test]
    fn pretty_matches_serde_json() {
        let line = br#"{"id":"a","context":{"summary":"x \"q\" , : { [","key_points":[],"artifacts":["p"],"o":{}},"n":[1,{"a":null}],"e":{}}"#;
        let mut ours = Vec::new();
        pretty(line, 0, &mut ours);
        let value: serde_json::Value = serde_json::from_slice(line).expect("json");
        let expected = serde_json::to_string_pretty(&value).expect("pretty");
        assert_eq!(String::from_utf8(ours).expect("utf8"), expected);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let mut line = b"{\"a\":".to_vec();
        line.extend(std::iter::repeat_n(b'[', 100_000));
        assert!(scan(&line).is_err());
    }
}
