//! `defer time normalize|epoch EXPR`: what an expression means, without scheduling.
//!
//! An `every ...` phrase prints the rule's next three times, so the user sees the rule before
//! scheduling it. `normalize -` reads one expression per line on stdin and answers each with
//! one JSON line, so a script can check many expressions with one process.

use std::io::{self, BufRead, BufWriter, Write};

use jiff::{Timestamp, ZonedDateTime};
use serde_json::{Value, json};

use crate::cli::TimeCommand;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::output;
use crate::record::Stamp;
use crate::recur::Rule;
use crate::when;

/// How many times of a repeating rule are shown.
const SHOWN: usize = 3;

/// The CLI.
pub fn run(config: &Config, command: TimeCommand) -> Result<()> {
    let now = config.clock.now_zoned();
    let (expr, epoch) = match command {
        TimeCommand::Normalize { expr } if expr == "-" => return batch(&now),
        TimeCommand::Normalize { expr } => (expr, false),
        TimeCommand::Epoch { expr } => (expr, true),
    };
    let show = |at: Timestamp| {
        if epoch {
            at.as_second().to_string()
        } else {
            Stamp(at).to_string()
        }
    };
    if let Some(times) = repeat_times(&expr, &now)? {
        let lines: Vec<String> = times.iter().map(|z| show(z.timestamp())).collect();
        return output::print(&lines.join("\n"));
    }
    let at = when::parse(&expr, &now)?;
    if at.timestamp().as_second() < now.timestamp().as_second() {
        eprintln!(
            "warning: {expr:?} resolves to {}, which is in the past",
            Stamp(at.timestamp())
        );
    }
    output::print(&show(at.timestamp()))
}

/// The next times of an `every ...` phrase, or `None` when `expr` is a one-off time.
fn repeat_times(expr: &str, now: &ZonedDateTime) -> Result<Option<Vec<ZonedDateTime>>> {
    let Some(spec) = when::parse_repeat(expr)? else {
        return Ok(None);
    };
    let rule = Rule::parse(&spec.rule)?;
    let mut times = Vec::with_capacity(SHOWN);
    let mut at = now.clone();
    for _ in 0..SHOWN {
        at = rule.next(&at, false)?;
        times.push(at.clone());
    }
    Ok(Some(times))
}

/// One JSON line per input line: `{"input", "run_at"}` (with `"past": true` for a time already
/// gone), `{"input", "rule", "next"}` for an `every ...` phrase, or `{"input", "error"}`.
fn batch(now: &ZonedDateTime) -> Result<()> {
    let stdin = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lines() {
        let line = line.map_err(Error::io("reading", "stdin"))?;
        let answer = answer(&line, now);
        let written = serde_json::to_writer(&mut out, &answer)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(e) = written {
            return broken_pipe_is_fine(e);
        }
    }
    out.flush().or_else(broken_pipe_is_fine)
}

fn answer(line: &str, now: &ZonedDateTime) -> Value {
    match when::parse_repeat(line) {
        Ok(Some(spec)) => match repeat_times(line, now) {
            Ok(times) => json!({
                "input": line,
                "rule": spec.rule,
                "next": times
                    .unwrap_or_default()
                    .iter()
                    .map(|z| Stamp(z.timestamp()).to_string())
                    .collect::<Vec<_>>(),
            }),
            Err(e) => json!({"input": line, "error": e.to_string()}),
        },
        Ok(None) => match when::parse(line, now) {
            Ok(at) if at.timestamp().as_second() < now.timestamp().as_second() => {
                json!({"input": line, "run_at": Stamp(at.timestamp()).to_string(), "past": true})
            }
            Ok(at) => json!({"input": line, "run_at": Stamp(at.timestamp()).to_string()}),
            Err(e) => json!({"input": line, "error": e.to_string()}),
        },
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
