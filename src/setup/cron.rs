//! The crontab line that runs `defer run` every minute with today's settings, and installing
//! it into (or removing it from) the user's crontab; `defer cron` and `defer doctor` use it.
//!
//! cron starts jobs with an almost empty environment, so the line carries every `DEFER_*`
//! variable set now (except `DEFER_NOW`, which would freeze the runner's clock), `TZ` when
//! it decides the zone, and `PATH` so that executors find the programs they call.
//!
//! The crontab is the user's file, not ours: install and uninstall go through the `crontab`
//! program (`crontab -l` to read, `crontab -` to write, as a person would), touch only the
//! line that ends with [`MARKER`], and copy every other byte through unchanged.
//! `DEFER_CRONTAB` names another program with the same interface (tests use a fake one).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::{Config, VARIABLES};
use crate::error::{Arg, Error, Result};
use crate::output;

/// Ends the crontab line that `defer cron install` manages. `/bin/sh` reads it as a comment,
/// so the job runs exactly the line `defer cron` prints.
pub const MARKER: &str = "# agent-defer";

/// Variables carried into the crontab line, in this order, when set: every runner setting of
/// [`VARIABLES`], then `PATH` so that executors find the programs they call.
pub fn carried() -> impl Iterator<Item = &'static str> {
    VARIABLES
        .iter()
        .filter(|v| v.runner)
        .map(|v| v.name)
        .chain(std::iter::once("PATH"))
}

fn is_carried(name: &str) -> bool {
    carried().any(|c| c == name)
}

/// What a line carries beyond this shell's `defer` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// An executor's variables: `--env` and those kept from the installed line.
    pub env: Vec<(String, String)>,
    /// Flags after `run` (`--fail-on-task-failure`), kept from the installed line.
    pub run_flags: Vec<String>,
}

/// Set on the line so that `defer run` records its wakes as cron's (a run without it counts
/// as by hand; see `runner::Wake`).
pub const ORIGIN: &str = "DEFER_WAKE_ORIGIN";

/// The crontab line for `binary` with the variables `get` returns, then `extra` (the
/// executor's variables: `--env` and those kept from the installed line).
///
/// The line first creates the log directory (private, like every directory `defer`
/// creates), since the `>>` redirect fails, and the runner never starts, when it is missing.
///
/// Refuses a value with a control character: a newline would end the line early and start
/// another crontab entry with whatever follows it (`DEFER_RUNTIME_DIR=$'/x\n* * * * * cmd'`),
/// and no quoting survives that, because cron splits entries before the shell sees them.
pub fn line(
    config: &Config,
    binary: &Path,
    get: impl Fn(&str) -> Option<OsString>,
    extra: &Extra,
) -> Result<String> {
    let log = config.log_file.display().to_string();
    refuse_control(
        "the log file (DEFER_LOG_FILE, DEFER_LOG_DIR or DEFER_RUNTIME_DIR)",
        &log,
    )?;
    let log_dir = crate::fsutil::parent_dir(&config.log_file)
        .display()
        .to_string();
    let mut parts = vec![
        "* * * * *".to_string(),
        format!("(umask 077 && mkdir -p {}) &&", quote(&log_dir)),
    ];
    for name in carried() {
        if let Some(value) = get(name).filter(|v| !v.is_empty()) {
            let value = value.to_string_lossy();
            refuse_control(name, &value)?;
            parts.push(format!("{name}={}", quote(&value)));
        }
    }
    for (name, value) in &extra.env {
        refuse_control(name, value)?;
        parts.push(format!("{name}={}", quote(value)));
    }
    parts.push(format!("{ORIGIN}=cron"));
    let binary = binary.display().to_string();
    refuse_control("the path of the defer binary", &binary)?;
    parts.push(quote(&binary));
    parts.push("run".into());
    for flag in &extra.run_flags {
        refuse_control("a flag of `defer run` on the installed line", flag)?;
        parts.push(quote(flag));
    }
    parts.push(format!(">> {} 2>&1", quote(&log)));
    Ok(parts.join(" "))
}

/// One line naming `what` when `value` holds a control character (newline, carriage return,
/// tab, escape, ...), which could split or disguise the crontab line.
fn refuse_control(what: &str, value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_arg(
            Arg::Env,
            value,
            format!(
                "{what} contains a control character; it cannot go into a crontab line, where \
                 a newline would start a second entry: use a value without one"
            ),
            None,
        ));
    }
    Ok(())
}

/// Single-quotes for `/bin/sh`, and escapes `%`, which cron turns into a newline.
fn quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,=@".contains(&b));
    let quoted = if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    };
    quoted.replace('%', "\\%")
}

/// What an install or uninstall did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The managed line as it now stands (with its tag); `None` after an uninstall.
    pub line: Option<String>,
    /// The crontab was written (false: it already was as asked).
    pub changed: bool,
    /// A managed line was there before (replaced, or removed).
    pub was_there: bool,
    /// 1-based numbers of lines that also run `defer run` without the tag: added by hand.
    pub untagged: Vec<usize>,
}

/// The line for `binary` with the settings `get` returns (the shell's environment).
pub fn current_line(
    config: &Config,
    binary: &Path,
    get: &dyn Fn(&str) -> Option<OsString>,
    extra: &Extra,
) -> Result<String> {
    line(config, binary, get, extra)
}

/// `defer cron install`: puts the line for `binary` into the crontab, keeping the variables
/// and flags of an installed line, with `env` added (values from `get`). The crontab is
/// written only when it changes, so a second install is a no-op rather than a rewrite of the
/// user's file.
pub fn install(
    config: &Config,
    crontab: &Crontab,
    binary: &Path,
    get: &dyn Fn(&str) -> Option<OsString>,
    env: &[String],
    fail_on_failure: bool,
) -> Result<Installed> {
    // Read first: when the crontab cannot be read, that error is the only line printed.
    let current = crontab.read()?;
    let installed = current.split_inclusive('\n').find(|l| is_tagged(l));
    let mut run_flags = installed.map(run_flags).unwrap_or_default();
    let flag = "--fail-on-task-failure";
    if fail_on_failure && !run_flags.iter().any(|f| f == flag) {
        run_flags.push(flag.to_string());
    }
    let extra = Extra {
        env: extra_vars(installed, env, get)?,
        run_flags,
    };
    let line = line(config, binary, get, &extra)?;
    // The line creates the log directory too; doing it now as well makes the first wake
    // work even where the line cannot (a `mkdir` cron's PATH lacks).
    crate::fsutil::ensure_dir(crate::fsutil::parent_dir(&config.log_file))?;
    let updated = with_line(&current, &line);
    let changed = updated != current;
    if changed {
        crontab.write(&updated)?;
    }
    Ok(Installed {
        line: Some(format!("{line} {MARKER}")),
        changed,
        was_there: installed.is_some(),
        untagged: untagged(&updated),
    })
}

/// `defer cron uninstall`: removes the managed line; every other byte stays.
pub fn uninstall(crontab: &Crontab) -> Result<Installed> {
    let current = crontab.read()?;
    let updated = without_line(&current);
    let changed = updated != current;
    if changed {
        crontab.write(&updated)?;
    }
    Ok(Installed {
        line: None,
        changed,
        was_there: changed,
        untagged: untagged(&updated),
    })
}

/// Lines running `defer run` that we did not tag were added by hand; two runners are
/// harmless (the second steps aside) but rarely intended, so the CLI says so.
fn untagged(crontab: &str) -> Vec<usize> {
    crontab
        .split_inclusive('\n')
        .enumerate()
        .filter(|(_, line)| runs_defer(line) && !is_tagged(line))
        .map(|(n, _)| n + 1)
        .collect()
}

/// The variables a re-install keeps beside this shell's settings: those on the installed
/// line that `defer` does not carry itself (an executor's, added by hand or with `--env`),
/// then each `--env NAME` with its value from this shell (replacing a kept one).
fn extra_vars(
    installed: Option<&str>,
    names: &[String],
    get: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Vec<(String, String)>> {
    let mut extra: Vec<(String, String)> = installed
        .map(line_env)
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, _)| !is_carried(name) && name != ORIGIN)
        .collect();
    for name in names {
        if !is_var_name(name) || name == ORIGIN || name == "DEFER_NOW" {
            return Err(Error::invalid_arg(
                Arg::Env,
                name.clone(),
                "not a variable the line can carry; give the name of a variable set in this \
                 shell",
                Some("DEFER_WEBHOOK_URL"),
            ));
        }
        if is_carried(name) {
            continue; // carried from this shell anyway
        }
        let Some(value) = get(name).filter(|v| !v.is_empty()) else {
            return Err(Error::invalid_arg(
                Arg::Env,
                name.clone(),
                "is not set in this shell; export it first (its value goes on the crontab line)",
                None,
            ));
        };
        let value = value.to_string_lossy().into_owned();
        match extra.iter_mut().find(|(n, _)| n == name) {
            Some(kept) => kept.1 = value,
            None => extra.push((name.clone(), value)),
        }
    }
    Ok(extra)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a crontab line (with or without its newline) is the one `install` manages.
pub fn is_tagged(line: &str) -> bool {
    line.trim_end().ends_with(&format!(" {MARKER}"))
}

/// `current` with the tagged line set to `line`: an existing tagged line is replaced where it
/// stands (further ones are dropped), else the line is appended. Every other byte is kept; a
/// last line without a newline gets one, since the new line must start on a line of its own.
pub fn with_line(current: &str, line: &str) -> String {
    let tagged = format!("{line} {MARKER}\n");
    let mut out = String::with_capacity(current.len() + tagged.len() + 1);
    let mut placed = false;
    for piece in current.split_inclusive('\n') {
        if !is_tagged(piece) {
            out.push_str(piece);
        } else if !placed {
            out.push_str(&tagged);
            placed = true;
        }
    }
    if !placed {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&tagged);
    }
    out
}

/// `current` without tagged lines; every other byte is kept.
pub fn without_line(current: &str) -> String {
    current
        .split_inclusive('\n')
        .filter(|piece| !is_tagged(piece))
        .collect()
}

/// Whether a crontab line runs `defer ... run` (a comment or an environment line does not).
/// Used by `defer doctor` to find an entry installed by hand as well as ours.
pub fn runs_defer(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return false;
    }
    let mut words = line
        .split_whitespace()
        .take_while(|w| !w.starts_with('#'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '"'));
    words
        .by_ref()
        .any(|w| std::path::Path::new(w).file_name() == Some("defer".as_ref()))
        && words.any(|w| w == "run")
}

/// The variables a crontab line sets for the `defer … run` it starts: the `NAME=value` words
/// just before the binary, read as `/bin/sh` reads them (quotes, `\%`). Empty when the line
/// does not run `defer run`.
pub fn line_env(line: &str) -> Vec<(String, String)> {
    defer_command(line)
        .map(|(before, _)| {
            before
                .iter()
                .filter_map(|w| w.split_once('='))
                .filter(|(name, _)| is_var_name(name))
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The flags a crontab line gives `defer run` (`--fail-on-task-failure`, `-v`), which a
/// re-install keeps.
pub fn run_flags(line: &str) -> Vec<String> {
    defer_command(line)
        .map(|(_, after)| {
            after
                .into_iter()
                .skip_while(|w| w != "run")
                .skip(1)
                .collect()
        })
        .unwrap_or_default()
}

/// The words of the `defer … run` command of a crontab line: those before the binary and
/// those after it.
fn defer_command(line: &str) -> Option<(Vec<String>, Vec<String>)> {
    // cron turns `\%` into `%` before the shell reads the command.
    let line = line.replace("\\%", "%");
    let line = line.trim();
    // The schedule: five fields, or one `@daily`-style word.
    let fields = if line.starts_with('@') { 1 } else { 5 };
    let mut rest = line;
    for _ in 0..fields {
        rest = rest.trim_start();
        rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
    }
    for command in sh_words(rest).split(|w| w.is_none()) {
        let words: Vec<&str> = command.iter().flatten().map(String::as_str).collect();
        let Some(at) = words
            .iter()
            .position(|w| Path::new(w).file_name() == Some("defer".as_ref()))
        else {
            continue;
        };
        if !words[at + 1..].contains(&"run") {
            continue;
        }
        let owned = |ws: &[&str]| ws.iter().map(|w| (*w).to_string()).collect();
        return Some((owned(&words[..at]), owned(&words[at + 1..])));
    }
    None
}

/// The `NAME=value` lines of a crontab (cron sets them for every job below them), up to the
/// line for which `stop` says yes.
pub fn crontab_env(text: &str, stop: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for line in text.lines() {
        if stop(line) {
            break;
        }
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        let Some((name, value)) = trimmed.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if !is_var_name(name) {
            continue;
        }
        let value = value.trim();
        let value = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(a, b)| value.strip_prefix(*a).and_then(|v| v.strip_suffix(*b)))
            .unwrap_or(value);
        vars.retain(|(n, _): &(String, String)| n != name);
        vars.push((name.to_string(), value.to_string()));
    }
    vars
}

/// `text` split as `/bin/sh` splits a simple command list: words with quotes removed, and
/// `None` where an operator (`&&`, `;`, `|`, a redirect, a parenthesis) separates commands.
/// Stops at a comment. Enough for the lines `defer cron` writes and lines written like them.
fn sh_words(text: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    let flush = |out: &mut Vec<Option<String>>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            out.push(Some(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(next) = chars.next() {
                                if !matches!(next, '"' | '\\' | '$' | '`') {
                                    word.push('\\');
                                }
                                word.push(next);
                            }
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => flush(&mut out, &mut word, &mut in_word),
            '&' | ';' | '|' | '<' | '>' | '(' | ')' => {
                flush(&mut out, &mut word, &mut in_word);
                out.push(None);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    flush(&mut out, &mut word, &mut in_word);
    out
}

/// The user's crontab, through the `crontab` program.
#[derive(Debug, Clone)]
pub struct Crontab {
    program: PathBuf,
}

impl Crontab {
    /// The program the configuration names (`DEFER_CRONTAB`, else `crontab` from `PATH`).
    pub fn from_config(config: &Config) -> Crontab {
        Crontab {
            program: config.crontab.clone(),
        }
    }

    /// A crontab read and written through `program`.
    pub fn with_program(program: impl Into<PathBuf>) -> Crontab {
        Crontab {
            program: program.into(),
        }
    }

    /// The program used.
    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    /// The crontab's text; empty when the user has none (`crontab -l` says "no crontab for").
    pub fn read(&self) -> Result<String> {
        let output = self
            .command()
            .arg("-l")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.spawn_error(e))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            return String::from_utf8(output.stdout).map_err(|_| {
                self.problem(format!(
                    "`{} -l` printed text that is not UTF-8; edit the crontab with `crontab -e`",
                    self.program.display()
                ))
            });
        }
        if stderr.to_ascii_lowercase().contains("no crontab for") {
            return Ok(String::new());
        }
        Err(self.failed("-l", &output.status, &stderr))
    }

    /// Replaces the crontab with `text` (`crontab -`, the text on stdin).
    pub fn write(&self, text: &str) -> Result<()> {
        let mut child = self
            .command()
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error(e))?;
        let written = match child.stdin.take() {
            Some(mut stdin) => stdin.write_all(text.as_bytes()),
            None => Ok(()),
        };
        let output = child
            .wait_with_output()
            .map_err(Error::io("waiting for", self.program.clone()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(self.failed("-", &output.status, &stderr));
        }
        written.map_err(Error::io(
            "writing the new crontab to",
            self.program.clone(),
        ))
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }

    fn spawn_error(&self, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::NotFound {
            self.problem(format!(
                "crontab program not found: {} (install cron, set DEFER_CRONTAB to the crontab \
                 program, or use a systemd timer or launchd job: docs/scheduling.md)",
                self.program.display()
            ))
        } else {
            Error::io("running", self.program.clone())(e)
        }
    }

    fn failed(&self, arg: &str, status: &std::process::ExitStatus, stderr: &str) -> Error {
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        self.problem(format!(
            "`{} {arg}` failed ({status}){}{}; your crontab was not changed",
            self.program.display(),
            if first.is_empty() { "" } else { ": " },
            output::escape(first.trim())
        ))
    }

    fn problem(&self, problem: String) -> Error {
        Error::Crontab {
            program: self.program.clone(),
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_carries_settings_and_quotes_them() {
        let config = Config::from_lookup(|k| match k {
            "HOME" => Some("/h".into()),
            "DEFER_TIMEZONE" => Some("UTC".into()),
            _ => None,
        })
        .expect("config");
        let line = line(
            &config,
            std::path::Path::new("/opt/bin/defer"),
            |k| match k {
                "DEFER_EXECUTOR" => Some("/x/my exec".into()),
                "DEFER_TIMEZONE" => Some("UTC".into()),
                "DEFER_NOW" => Some("2026-01-01T00:00:00Z".into()),
                "PATH" => Some("/usr/bin:/bin".into()),
                _ => None,
            },
            &Extra {
                env: vec![("DEFER_WEBHOOK_URL".into(), "https://x/y?a=1&b=50%".into())],
                run_flags: Vec::new(),
            },
        )
        .expect("line");
        assert_eq!(
            line,
            "* * * * * (umask 077 && mkdir -p /h/data/runtime/logs) && DEFER_TIMEZONE=UTC \
             DEFER_EXECUTOR='/x/my exec' PATH=/usr/bin:/bin \
             DEFER_WEBHOOK_URL='https://x/y?a=1&b=50\\%' DEFER_WAKE_ORIGIN=cron \
             /opt/bin/defer run >> /h/data/runtime/logs/deferred.log 2>&1"
        );
        assert!(runs_defer(&line));
        assert_eq!(
            line_env(&line),
            [
                ("DEFER_TIMEZONE".to_string(), "UTC".to_string()),
                ("DEFER_EXECUTOR".to_string(), "/x/my exec".to_string()),
                ("PATH".to_string(), "/usr/bin:/bin".to_string()),
                (
                    "DEFER_WEBHOOK_URL".to_string(),
                    "https://x/y?a=1&b=50%".to_string()
                ),
                ("DEFER_WAKE_ORIGIN".to_string(), "cron".to_string()),
            ]
        );
        let refused = super::line(
            &config,
            std::path::Path::new("/opt/bin/defer"),
            |_| None,
            &Extra {
                env: vec![("DEFER_AGENT_CMD".into(), "a\n* * * * * evil".into())],
                run_flags: Vec::new(),
            },
        );
        assert!(refused.is_err());
        assert_eq!(quote("50%"), "'50\\%'");
    }

    #[test]
    fn reads_the_variables_of_hand_written_lines() {
        let env = |l: &str| line_env(l);
        assert_eq!(
            env("@reboot A=1 B=\"two words\" /usr/bin/defer run --watch # note"),
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "two words".to_string())
            ]
        );
        assert_eq!(
            env("*/5 * * * * cd /x; X='it'\\''s' defer run >>/l 2>&1").len(),
            1
        );
        assert!(env("* * * * * A=1 defer list").is_empty());
        assert_eq!(
            run_flags(
                "* * * * * A=1 /b/defer run --fail-on-task-failure -v >> /l 2>&1 # agent-defer"
            ),
            ["--fail-on-task-failure", "-v"]
        );
        assert!(run_flags("* * * * * /b/defer run >> /l 2>&1").is_empty());
        let table = "MAILTO=me\nDEFER_RUNTIME_DIR = \"/r\"\n# X=1\n* * * * * defer run\nLATE=1\n";
        assert_eq!(
            crontab_env(table, |l| l.contains("defer run")),
            [
                ("MAILTO".to_string(), "me".to_string()),
                ("DEFER_RUNTIME_DIR".to_string(), "/r".to_string())
            ]
        );
    }

    #[test]
    fn install_replaces_in_place_and_keeps_other_bytes() {
        let others = "# my jobs\nMAILTO=me\n*/5 * * * * backup\n";
        let once = with_line(others, "* * * * * /bin/defer run");
        assert_eq!(once, format!("{others}* * * * * /bin/defer run {MARKER}\n"));
        let twice = with_line(&once, "* * * * * /bin/defer run");
        assert_eq!(twice, once);
        let mid = format!("a\n* * * * * old run {MARKER}\nb");
        assert_eq!(
            with_line(&mid, "new"),
            format!("a\nnew {MARKER}\nb"),
            "replaced where it stood; the last line keeps its missing newline"
        );
        assert_eq!(with_line("x", "new"), format!("x\nnew {MARKER}\n"));
        assert_eq!(with_line("", "new"), format!("new {MARKER}\n"));
    }

    #[test]
    fn uninstall_removes_only_tagged_lines() {
        let text = format!("a\n1 2 3 4 5 x {MARKER}\n  \nb {MARKER}   \nc");
        assert_eq!(without_line(&text), "a\n  \nc");
        assert_eq!(without_line("# agent-defer\n"), "# agent-defer\n");
    }

    #[test]
    fn finds_lines_that_run_defer() {
        for yes in [
            "* * * * * /home/u/.cargo/bin/defer run >> /x 2>&1",
            "* * * * * A=b '/p a/defer' run",
            "@reboot defer run --watch",
        ] {
            assert!(runs_defer(yes), "{yes}");
        }
        for no in [
            "# * * * * * defer run",
            "DEFER_RUNTIME_DIR=/x",
            "* * * * * defer-run run",
            "* * * * * defer list # run",
            "* * * * * run defer",
            "",
        ] {
            assert!(!runs_defer(no), "{no}");
        }
    }
}
