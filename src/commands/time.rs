//! `defer time normalize|epoch EXPR`: what an expression means, without scheduling.
//!
//! An `every ...` phrase prints the rule's next three times, so the user sees the rule before
//! scheduling it. `normalize -` reads one expression per line on stdin and answers each with
//! one JSON line, so a script can check many expressions with one process.

use std::io::{self, BufRead, BufWriter, Write};

use serde_json::{Value, json};

use crate::cli::TimeCommand;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::time::{NormalizeRequest, TimeReply, normalize};
use crate::output;

/// The CLI.
pub fn run(config: &Config, command: TimeCommand) -> Result<()> {
    let (expr, epoch) = match command {
        TimeCommand::Normalize { expr } if expr == "-" => return batch(config),
        TimeCommand::Normalize { expr } => (expr, false),
        TimeCommand::Epoch { expr } => (expr, true),
    };
    let reply = normalize(config, &NormalizeRequest { when: expr.clone() })?;
    let show = |at: crate::record::Stamp| {
        if epoch {
            at.timestamp().as_second().to_string()
        } else {
            at.to_string()
        }
    };
    if reply.rule.is_some() {
        let lines: Vec<String> = reply.next.iter().map(|&at| show(at)).collect();
        return output::print(&lines.join("\n"));
    }
    if reply.in_past {
        eprintln!(
            "warning: {expr:?} resolves to {}, which is in the past",
            reply.instant
        );
    }
    output::print(&show(reply.instant))
}

/// The longest input line read as an expression (a time expression is a few words): a longer
/// one is answered with an error and skipped without being held in memory.
pub const MAX_LINE: usize = 4096;

/// One JSON line per input line: `{"input", "run_at"}` (with `"past": true` for a time already
/// gone), `{"input", "rule", "next"}` for an `every ...` phrase, or `{"input", "error"}` — also
/// for a line that is not UTF-8 or is longer than [`MAX_LINE`], so one bad line never ends
/// the batch.
fn batch(config: &Config) -> Result<()> {
    let mut stdin = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut number = 0usize;
    while let Some(line) = read_line(&mut stdin, MAX_LINE).map_err(Error::io("reading", "stdin"))? {
        number += 1;
        let answer = match line {
            Line::Text(text) => {
                let reply = normalize(config, &NormalizeRequest { when: text.clone() });
                answer(&text, reply)
            }
            Line::NotUtf8(bytes) => json!({
                "input": String::from_utf8_lossy(&bytes),
                "error": format!("line {number} is not valid UTF-8; write the expression as text"),
            }),
            Line::TooLong(bytes) => json!({
                "input": "",
                "error": format!(
                    "line {number} is {bytes} bytes long, over the {MAX_LINE}-byte limit for one \
                     expression; it was skipped"
                ),
            }),
        };
        let written = serde_json::to_writer(&mut out, &answer)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(e) = written {
            return broken_pipe_is_fine(e);
        }
    }
    out.flush().or_else(broken_pipe_is_fine)
}

/// One input line, read with a bound.
enum Line {
    Text(String),
    NotUtf8(Vec<u8>),
    /// Over the bound: its length in bytes (the rest was read and dropped).
    TooLong(usize),
}

/// The next line of `input` without its newline (and `\r`), holding at most `max` bytes of
/// it; `None` at the end.
fn read_line(input: &mut impl BufRead, max: usize) -> io::Result<Option<Line>> {
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut seen = false;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        seen = true;
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        total += chunk.len();
        if kept.len() < max {
            let room = max - kept.len();
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        let consumed = done.unwrap_or(buf.len());
        input.consume(consumed);
        if done.is_some() {
            break;
        }
    }
    if !seen {
        return Ok(None);
    }
    if total > max {
        return Ok(Some(Line::TooLong(total)));
    }
    if kept.last() == Some(&b'\r') {
        kept.pop();
    }
    Ok(Some(match String::from_utf8(kept) {
        Ok(text) => Line::Text(text),
        Err(e) => Line::NotUtf8(e.into_bytes()),
    }))
}

fn answer(line: &str, reply: Result<TimeReply>) -> Value {
    match reply {
        Ok(reply) if reply.rule.is_some() => json!({
            "input": line,
            "rule": reply.rule,
            "next": reply.next.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        Ok(reply) if reply.in_past => {
            json!({"input": line, "run_at": reply.instant.to_string(), "past": true})
        }
        Ok(reply) => json!({"input": line, "run_at": reply.instant.to_string()}),
        Err(e) => json!({"input": line, "error": e.to_string()}),
    }
}

/// A closed pipe (`... | head -1`) is not an error: the reader has what it wanted.
fn broken_pipe_is_fine(e: io::Error) -> Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::io("writing", "stdout")(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut reader = std::io::Cursor::new(input.to_vec());
        let mut out = Vec::new();
        while let Some(line) = read_line(&mut reader, max).expect("read") {
            out.push(match line {
                Line::Text(t) => format!("text:{t}"),
                Line::NotUtf8(_) => "not utf-8".into(),
                Line::TooLong(n) => format!("too long:{n}"),
            });
        }
        out
    }

    #[test]
    fn lines_are_read_with_a_bound_and_bad_bytes_stay_on_their_line() {
        assert_eq!(
            lines(b"a\nb\r\n\nc", 10),
            ["text:a", "text:b", "text:", "text:c"]
        );
        assert_eq!(
            lines(b"ok\n\xff\xfe\nthen", 10),
            ["text:ok", "not utf-8", "text:then"]
        );
        assert_eq!(
            lines(b"0123456789ABC\nnext\n", 10),
            ["too long:13", "text:next"]
        );
        assert!(lines(b"", 10).is_empty());
    }
}
