//! Writing results to stdout: JSON pretty by default, one line with `--compact`.
//!
//! A closed pipe (`defer list | head -1`) is not an error: the reader has what it wanted.

use std::io::{self, Write};

use serde::Serialize;

use crate::error::{Error, Result};

/// Serialises `value` as pretty or compact JSON.
pub fn json<T: Serialize + ?Sized>(value: &T, compact: bool) -> String {
    let text = if compact {
        serde_json::to_string(value)
    } else {
        serde_json::to_string_pretty(value)
    };
    // Our values are maps, strings and numbers; serialising them cannot fail.
    text.unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Prints `text` and a newline to stdout.
pub fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    let written = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::io("writing", "stdout")(e)),
        _ => Ok(()),
    }
}

/// Prints a value as JSON.
pub fn print_json<T: Serialize + ?Sized>(value: &T, compact: bool) -> Result<()> {
    print(&json(value, compact))
}

/// Text from a record, an executor or a file, made safe to print on a terminal: control
/// characters (escape sequences, bell, carriage return, newlines) and the bidirectional
/// overrides are shown as `\u{1b}`-style escapes, so stored text can never move the cursor,
/// retitle the window or hide what follows it. Printable text, including non-ASCII, is kept.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(escape("plain café"), "plain café");
        assert_eq!(escape("a\u{1b}]0;owned\u{7}b"), "a\\u{1b}]0;owned\\u{7}b");
        assert_eq!(escape("x\r\ny"), "x\\u{d}\\u{a}y");
        assert_eq!(escape("\u{202e}evil"), "\\u{202e}evil");
    }
}
