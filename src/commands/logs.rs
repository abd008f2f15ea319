//! `defer logs ID`: what a task left behind — the prompt artifact, its audit lines and each
//! attempt's stdout and stderr under its own heading — for active and archived tasks, over
//! [`crate::ops::logs`].
//!
//! `-f` follows a task that is executing: the record is read every 200 ms, new audit lines are
//! printed as they appear, and the attempts once the run has finished.
//!
//! On a terminal, stored and executor text is shown escaped line by line
//! ([`output::escape`]); piped, it is printed as it is, so `defer logs ID --output > file`
//! gives the executor's own bytes (as text).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::cli::LogsArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::logs::{AttemptLog, LogsReply, LogsRequest, logs};
use crate::ops::resolve::{Scope, resolve};
use crate::output;
use crate::record::Status;
use crate::store::Store;

/// How often `-f` reads the record.
const POLL: Duration = Duration::from_millis(200);

/// Which parts to print.
#[derive(Debug, Clone, Copy)]
struct Parts {
    prompt: bool,
    output: bool,
    audit: bool,
}

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: LogsArgs) -> Result<()> {
    let request = LogsRequest {
        id: resolve(store, &args.id, Scope::Any)?,
    };
    let mut found = logs(config, store, &request)?;
    if args.json {
        return output::print_json(&found, false);
    }
    let all = !(args.prompt || args.output || args.audit);
    let parts = Parts {
        prompt: all || args.prompt,
        output: all || args.output,
        audit: all || args.audit,
    };
    let printer = Printer {
        escape: std::io::stdout().is_terminal(),
        headings: all,
    };
    if parts.prompt {
        printer.prompt(&found)?;
    }
    if parts.audit {
        printer.heading("audit")?;
        for line in &found.audit {
            printer.line(line)?;
        }
    }
    if args.follow && found.status == Status::Executing {
        let mut shown = found.audit.len();
        if parts.audit {
            printer.note(&format!(
                "following {}: executing; its output shows when the attempt ends",
                output::escape(&found.id)
            ))?;
        }
        while found.status == Status::Executing {
            std::thread::sleep(POLL);
            found = logs(config, store, &request)?;
            if parts.audit {
                for line in found.audit.iter().skip(shown) {
                    printer.line(line)?;
                }
            }
            shown = found.audit.len();
        }
    }
    if parts.output {
        printer.output(&found)?;
    }
    Ok(())
}

/// Prints sections to stdout.
struct Printer {
    /// Show text escaped (a terminal).
    escape: bool,
    /// Mark each part with a `== part ==` heading (when more than one part is printed).
    headings: bool,
}

impl Printer {
    fn write(&self, text: &str) -> Result<()> {
        let mut out = std::io::stdout().lock();
        match out
            .write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
        {
            // `defer logs ID | head`: the reader has what it wanted.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Error::io("writing", "stdout")(e)),
            Ok(()) => Ok(()),
        }
    }

    fn heading(&self, name: &str) -> Result<()> {
        if self.headings {
            self.write(&format!("== {name} =="))
        } else {
            Ok(())
        }
    }

    /// A note for a person (only under headings: a single part prints only its text).
    fn note(&self, text: &str) -> Result<()> {
        if self.headings {
            self.write(&format!("({text})"))
        } else {
            Ok(())
        }
    }

    /// One line of stored text.
    fn line(&self, text: &str) -> Result<()> {
        if self.escape {
            self.write(&output::escape(text))
        } else {
            self.write(text)
        }
    }

    /// Multi-line stored text: escaped line by line on a terminal, so lines stay lines.
    fn block(&self, text: &str) -> Result<()> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        if !self.escape {
            return self.write(text);
        }
        let shown: Vec<String> = text
            .split('\n')
            .map(|l| output::escape(l).into_owned())
            .collect();
        self.write(&shown.join("\n"))
    }

    fn prompt(&self, logs: &LogsReply) -> Result<()> {
        match (&logs.prompt, &logs.prompt_path) {
            (Some(prompt), path) => {
                let name = path
                    .as_ref()
                    .map(|p| format!("prompt: {}", output::escape(p)))
                    .unwrap_or_else(|| "prompt".into());
                self.heading(&name)?;
                self.block(prompt)
            }
            (None, _) => {
                self.heading("prompt")?;
                self.note("no prompt artifact (it is written when the task runs)")
            }
        }
    }

    /// Each attempt under its own heading, with its stdout and then its stderr. Asked for
    /// alone (`--output`) with a single attempt, its stdout is printed bare and its stderr
    /// marked, so `defer logs ID --output > file` keeps the executor's own text.
    fn output(&self, logs: &LogsReply) -> Result<()> {
        if logs.attempts_dropped > 0 {
            self.write(&format!(
                "({} older attempt(s) are no longer kept in the record)",
                logs.attempts_dropped
            ))?;
        }
        if logs.attempts.is_empty() {
            self.heading("attempts")?;
            return self.note("no attempt yet (it runs when it is due)");
        }
        let bare = !self.headings && logs.attempts.len() == 1;
        for attempt in &logs.attempts {
            if !bare {
                self.write(&format!("== {} ==", attempt_heading(attempt)))?;
            }
            match &attempt.stdout {
                Some(text) => self.block(text)?,
                None if attempt.stderr.is_none() => match &attempt.error {
                    Some(error) => {
                        self.write(&format!("(no output; {})", output::escape(error)))?
                    }
                    None => self.write("(no output)")?,
                },
                None => {}
            }
            if let Some(text) = &attempt.stderr {
                // Always marked, so it is never mistaken for stdout.
                self.write(if bare { "== stderr ==" } else { "-- stderr --" })?;
                self.block(text)?;
            }
        }
        Ok(())
    }
}

/// `attempt 2 (completed, exit 0)`, `attempt 3 (running since Mon 2026-12-07 09:00 EST)`.
fn attempt_heading(a: &AttemptLog) -> String {
    let how = match (a.outcome, a.exit_code, a.signal) {
        (None, _, _) => format!("running since {}", a.started_at),
        (Some(outcome), Some(code), _) => format!("{outcome}, exit {code}"),
        (Some(outcome), None, Some(signal)) => format!("{outcome}, signal {signal}"),
        (Some(outcome), None, None) => outcome.to_string(),
    };
    format!("attempt {} ({how})", a.attempt)
}
