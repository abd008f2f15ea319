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
