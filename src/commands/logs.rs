//! `defer logs ID`: what a task left behind — the prompt artifact, its audit lines and each
//! attempt's stdout and stderr under its own heading — for active and archived tasks, over
//! [`crate::ops::logs`].
//!
//! `-f` follows a task that is executing: what its executor prints, line by line as it comes
//! (the runner writes each attempt's output to its files as it is printed), and new audit
//! lines as they appear, until the attempt ends.
//!
//! On a terminal, stored and executor text is shown escaped line by line
//! ([`output::escape`]); piped, it is printed as it is, so `defer logs ID --output > file`
//! gives the executor's own bytes (as text).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::cli::LogsArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops;
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
    let found = logs(config, store, &request)?;
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
        return follow(config, store, &request, found, parts, &printer);
    }
    if parts.output {
        printer.output(&found)?;
    }
    Ok(())
}

/// `-f` on an executing task: the attempts that ended, then the running one's output line by
/// line as the executor prints it (read from the files it is written to; stderr lines marked
/// `[stderr]`), and new audit lines as they appear, until the attempt ends.
fn follow(
    config: &Config,
    store: &dyn Store,
    request: &LogsRequest,
    mut found: LogsReply,
    parts: Parts,
    printer: &Printer,
) -> Result<()> {
    let running = found
        .last()
        .filter(|a| a.outcome.is_none())
        .map(|a| a.attempt);
    if parts.output {
        let mut ended = found.clone();
        ended.attempts.retain(|a| a.outcome.is_some());
        if !ended.attempts.is_empty() {
            printer.output(&ended)?;
        }
    }
    let mut tails = running
        .map(|n| ops::logs::live_files(config, &found.id, n).map(Tail::new))
        .filter(|_| parts.output);
    if let (Some(n), true) = (running, parts.output) {
        printer.write(&format!(
            "== attempt {n} (running; following what it prints) =="
        ))?;
    }
    let mut shown = found.audit.len();
    loop {
        if let Some([out, err]) = tails.as_mut() {
            for line in out.lines(false)? {
                printer.line(&line)?;
            }
            for line in err.lines(false)? {
                printer.line(&format!("[stderr] {line}"))?;
            }
        }
        if parts.audit {
            for line in found.audit.iter().skip(shown) {
                printer.line(line)?;
            }
        }
        shown = found.audit.len();
        if found.status != Status::Executing {
            break;
        }
        std::thread::sleep(POLL);
        found = logs(config, store, request)?;
    }
    if let Some([out, err]) = tails.as_mut() {
        // What came after the last newline, and anything written at the very end.
        for line in out.lines(true)? {
            printer.line(&line)?;
        }
        for line in err.lines(true)? {
            printer.line(&format!("[stderr] {line}"))?;
        }
    }
    if let Some(n) = running
        && let Some(a) = found.attempts.iter().find(|a| a.attempt == n)
    {
        printer.write(&format!(
            "== {} ==",
            attempt_heading(a).replacen("attempt", "ended: attempt", 1)
        ))?;
    }
    Ok(())
}

/// A file being followed: how far it has been read, and a line not yet ended.
struct Tail {
    path: std::path::PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl Tail {
    fn new(path: std::path::PathBuf) -> Tail {
        Tail {
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// The whole lines written since the last call (with `all`, the unended rest too).
    fn lines(&mut self, all: bool) -> Result<Vec<String>> {
        use std::io::{Seek, SeekFrom};
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            // Not written yet: the executor printed nothing there so far.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("reading", &self.path)(e)),
        };
        file.seek(SeekFrom::Start(self.offset))
            .map_err(Error::io("reading", &self.path))?;
        let mut more = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut more)
            .map_err(Error::io("reading", &self.path))?;
        self.offset += more.len() as u64;
        self.partial.extend_from_slice(&more);
        let mut lines = Vec::new();
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            lines.push(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
        }
        if all && !self.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned());
        }
        Ok(lines)
    }
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
