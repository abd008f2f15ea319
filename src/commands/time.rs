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

/// One JSON line per input line: `{"input", "run_at"}` (with `"past": true` for a time already
/// gone), `{"input", "rule", "next"}` for an `every ...` phrase, or `{"input", "error"}`.
fn batch(config: &Config) -> Result<()> {
    let stdin = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lines() {
        let line = line.map_err(Error::io("reading", "stdin"))?;
        let answer = answer(
            &line,
            normalize(config, &NormalizeRequest { when: line.clone() }),
        );
        let written = serde_json::to_writer(&mut out, &answer)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(e) = written {
            return broken_pipe_is_fine(e);
        }
    }
    out.flush().or_else(broken_pipe_is_fine)
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
