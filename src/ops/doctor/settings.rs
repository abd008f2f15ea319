//! Does the runner see what this shell sees? The crontab line (and the systemd unit or launchd
//! plist) that starts `defer run` sets its own variables; a setting exported only in the shell
//! (an executor, a runtime directory, a webhook URL) is invisible to the runner. This check
//! reads those variables and compares the settings they resolve to with this shell's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Finding, Level, Lookup, chain};
use crate::config::{Config, VARIABLES};
use crate::setup::cron::{self, Crontab};

/// Variables only an executor reads (those of `examples/executors/`): a difference is worth
/// a warning, since the runner's executor will not see this shell's value.
const EXECUTOR_VARS: &[&str] = &[
    "DEFER_AGENT_CMD",
    "DEFER_AGENT_FLAGS",
    "DEFER_WEBHOOK_URL",
    "DEFER_NOTES_FILE",
];

/// Runner settings the checks above compare by what they resolve to (a path, a store, a
/// zone); the rest of [`VARIABLES`]' runner settings are compared as written.
const COMPARED_ABOVE: &[&str] = &[
    "DEFER_RUNTIME_DIR",
    "DEFER_TASKS_FILE",
    "DEFER_ARCHIVE_DIR",
    "DEFER_LOG_DIR",
    "DEFER_LOG_FILE",
    "DEFER_TIMEZONE",
    "TZ",
    "DEFER_EXECUTOR",
    "DEFER_DATABASE_URL",
    "DEFER_DATABASE_SCHEMA",
];

/// Something that starts the runner with its own environment.
struct Source {
    /// "the crontab line", "~/.config/systemd/user/defer-watch.service", ...
    label: String,
    vars: Vec<(String, String)>,
    /// How to add a variable to it.
    fix: &'static str,
}

impl Source {
    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The `settings` finding: one line over every source found.
pub(super) fn finding(config: &Config, crontab: &Crontab, shell: &Lookup<'_>) -> Finding {
    let sources = sources(config, crontab);
    if sources.is_empty() {
        return Finding::new(
            "settings",
            Level::Ok,
            "no crontab line or unit starts `defer run`, so there are no runner settings to \
             compare with this shell's",
        );
    }
    let mut level = Level::Ok;
    let mut reports = Vec::new();
    for source in &sources {
        let diffs = compare(config, source, shell);
        if diffs.is_empty() {
            continue;
        }
        let worst = diffs.iter().map(|(l, _)| *l).fold(Level::Ok, max);
        level = max(level, worst);
        let texts: Vec<&str> = diffs.iter().map(|(_, t)| t.as_str()).collect();
        reports.push(format!(
            "{} starts the runner with other settings than this shell: {} ({})",
            source.label,
            texts.join("; "),
            source.fix
        ));
    }
    if reports.is_empty() {
        let labels: Vec<&str> = sources.iter().map(|s| s.label.as_str()).collect();
        return Finding::new(
            "settings",
            Level::Ok,
            format!(
                "the runner sees this shell's store, executor and time zone: {}",
                labels.join("; ")
            ),
        );
    }
    Finding::new("settings", level, reports.join(" — "))
}

fn max(a: Level, b: Level) -> Level {
    let rank = |l: Level| match l {
        Level::Ok => 0,
        Level::Warn => 1,
        Level::Problem => 2,
    };
    if rank(a) >= rank(b) { a } else { b }
}

/// The tagged crontab line (else every line running `defer run`) and the unit files found.
fn sources(config: &Config, crontab: &Crontab) -> Vec<Source> {
    let mut sources = Vec::new();
    if let Ok(text) = crontab.read() {
        let tagged = text.lines().any(cron::is_tagged);
        for (n, line) in text.lines().enumerate() {
            let ours = if tagged {
                cron::is_tagged(line)
            } else {
                cron::runs_defer(line)
            };
            if !ours {
                continue;
            }
            // cron gives every job the `NAME=value` lines above it, then the line's own.
            let mut vars = cron::crontab_env(&text, |l| std::ptr::eq(l, line));
            vars.extend(cron::line_env(line));
            sources.push(Source {
                label: if tagged {
                    "the crontab line".to_string()
                } else {
                    format!("crontab line {}", n + 1)
                },
                vars,
                fix: "`defer cron install` rewrites the line with this shell's settings; \
                      `--env NAME` adds an executor's variable",
            });
        }
    }
    let systemd = config.home.join(".config/systemd/user");
    for name in ["defer-watch.service", "defer-run.service"] {
        let path = systemd.join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            sources.push(Source {
                label: path.display().to_string(),
                vars: systemd_env(&text, &config.home),
                fix: "edit its Environment= lines, then `systemctl --user daemon-reload` and \
                      restart it",
            });
        }
    }
    let launchd = config.home.join("Library/LaunchAgents");
    for name in ["dev.agent-defer.watch.plist", "dev.agent-defer.run.plist"] {
        let path = launchd.join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            sources.push(Source {
                label: path.display().to_string(),
                vars: plist_env(&text),
                fix: "edit its EnvironmentVariables, then `launchctl bootout` and `bootstrap` \
                      it again",
            });
        }
    }
    sources
}

/// Each difference between the runner's settings (from `source`) and this shell's.
fn compare(config: &Config, source: &Source, shell: &Lookup<'_>) -> Vec<(Level, String)> {
    let mut diffs = Vec::new();
    // Variables a scheduler's job does not set come from the job's own environment: cron
    // and systemd give it your HOME, nothing else of this shell's.
    let runner = Config::from_lookup(|name| match source.get(name) {
        Some(value) => Some(OsString::from(value)),
        None if name == "HOME" => shell("HOME"),
        None => None,
    });
    let runner = match runner {
        Ok(runner) => runner,
        Err(e) => {
            return vec![(
                Level::Problem,
                format!("a setting the runner cannot use: {}", chain(&e)),
            )];
        }
    };
    let path = |p: &Path| p.display().to_string();
    // A path that follows from a different runtime directory is that one difference, said
    // once; it is its own only when a variable sets it.
    let moved = runner.runtime_dir != config.runtime_dir;
    let own = |names: &[&str]| {
        !moved
            || names
                .iter()
                .any(|n| source.get(n).is_some() || shell(n).is_some_and(|v| !v.is_empty()))
    };
    if moved {
        diffs.push((
            Level::Problem,
            format!(
                "DEFER_RUNTIME_DIR is {} for the runner but {} here",
                path(&runner.runtime_dir),
                path(&config.runtime_dir)
            ),
        ));
    }
    match (&runner.database_url, &config.database_url) {
        (None, None) if runner.tasks_file != config.tasks_file && own(&["DEFER_TASKS_FILE"]) => {
            diffs.push((
                Level::Problem,
                format!(
                    "the runner's store is {} but this shell's is {} (DEFER_TASKS_FILE / \
                 DEFER_RUNTIME_DIR): it never sees the tasks scheduled here",
                    path(&runner.tasks_file),
                    path(&config.tasks_file)
                ),
            ))
        }
        (None, Some(_)) => diffs.push((
            Level::Problem,
            format!(
                "the runner has no DEFER_DATABASE_URL and reads the JSONL file {}, while this \
                 shell schedules into PostgreSQL",
                path(&runner.tasks_file)
            ),
        )),
        (Some(_), None) => diffs.push((
            Level::Problem,
            format!(
                "the runner reads PostgreSQL (DEFER_DATABASE_URL), while this shell schedules \
                 into the JSONL file {}",
                path(&config.tasks_file)
            ),
        )),
        (Some(a), Some(b)) if a != b => diffs.push((
            Level::Problem,
            "DEFER_DATABASE_URL differs (values not shown: they may hold a password)".into(),
        )),
        (Some(_), Some(_)) if runner.database_schema != config.database_schema => diffs.push((
            Level::Problem,
            format!(
                "DEFER_DATABASE_SCHEMA is {} for the runner but {} here",
                runner.database_schema, config.database_schema
            ),
        )),
        _ => {}
    }
    match (&runner.executor, &config.executor) {
        (None, Some(here)) => diffs.push((
            Level::Problem,
            format!(
                "it sets no DEFER_EXECUTOR, so due tasks only get a prompt file, while this \
                 shell has DEFER_EXECUTOR={}",
                path(here)
            ),
        )),
        (Some(there), None) => diffs.push((
            Level::Warn,
            format!(
                "it runs the executor {}, while this shell has no DEFER_EXECUTOR",
                path(there)
            ),
        )),
        (Some(there), Some(here)) if there != here => diffs.push((
            Level::Problem,
            format!(
                "DEFER_EXECUTOR is {} for the runner but {} here",
                path(there),
                path(here)
            ),
        )),
        _ => {}
    }
    if !same_zone(&runner, config) {
        diffs.push((
            Level::Warn,
            format!(
                "the runner's time zone is {} but this shell's is {} (DEFER_TIMEZONE, else TZ): \
                 repeating rules and `why` read times in the runner's",
                runner.clock.zone_name(),
                config.clock.zone_name()
            ),
        ));
    }
    if runner.log_file != config.log_file && own(&["DEFER_LOG_FILE", "DEFER_LOG_DIR"]) {
        diffs.push((
            Level::Warn,
            format!(
                "the runner logs to {} but this shell to {} (DEFER_LOG_FILE / DEFER_LOG_DIR)",
                path(&runner.log_file),
                path(&config.log_file)
            ),
        ));
    }
    if runner.archive_dir != config.archive_dir && own(&["DEFER_ARCHIVE_DIR"]) {
        diffs.push((
            Level::Warn,
            format!(
                "the runner archives to {} but this shell reads {} (DEFER_ARCHIVE_DIR)",
                path(&runner.archive_dir),
                path(&config.archive_dir)
            ),
        ));
    }
    // Every other runner setting, compared as written: a different concurrency, retry delay,
    // timeout or secret policy changes what the runner does with this shell's tasks.
    for var in VARIABLES
        .iter()
        .filter(|v| v.runner && !COMPARED_ABOVE.contains(&v.name))
    {
        let here = shell(var.name)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string_lossy().into_owned());
        let there = source.get(var.name).filter(|v| !v.is_empty());
        if here.as_deref() != there {
            let shown = |v: Option<&str>| v.map_or_else(|| "unset".to_string(), |v| v.to_string());
            diffs.push((
                Level::Warn,
                format!(
                    "{} is {} for the runner but {} here",
                    var.name,
                    shown(there),
                    shown(here.as_deref())
                ),
            ));
        }
    }
    for name in EXECUTOR_VARS {
        let Some(here) = shell(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        match source.get(name) {
            None => diffs.push((
                Level::Warn,
                format!(
                    "{name} is set here but not for the runner, so its executor will not see it"
                ),
            )),
            Some(there) if here != *there => diffs.push((
                Level::Warn,
                format!("{name} differs from this shell's (values not shown)"),
            )),
            Some(_) => {}
        }
    }
    if source.get(cron::ORIGIN).is_none() {
        diffs.push((
            Level::Warn,
            format!(
                "it does not set {}, so the wakes it starts are recorded as by hand",
                cron::ORIGIN
            ),
        ));
    }
    diffs
}

/// Whether two zones keep the same clock: the same name, or the same offsets over the next
/// year (`UTC` and `Etc/UTC`, a link and its target).
fn same_zone(a: &Config, b: &Config) -> bool {
    if a.clock.zone_name() == b.clock.zone_name() {
        return true;
    }
    let now = b.clock.now();
    (0..=26).all(|fortnight| {
        let at = now
            .checked_add(jiff::SignedDuration::from_hours(24 * 14 * fortnight))
            .unwrap_or(now);
        a.clock.zone().to_offset(at) == b.clock.zone().to_offset(at)
    })
}

/// The variables of a systemd unit: `Environment=` assignments (quoted or not, several per
/// line) and the files `EnvironmentFile=` names, with `%h` as the home directory and `%%` as
/// `%`.
fn systemd_env(text: &str, home: &Path) -> Vec<(String, String)> {
    let expand = |v: &str| {
        v.replace("%%", "\u{0}")
            .replace("%h", &home.display().to_string())
            .replace('\u{0}', "%")
    };
    let mut vars = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Environment=") {
            for word in unit_words(rest) {
                if let Some((name, value)) = word.split_once('=') {
                    vars.push((name.to_string(), expand(value)));
                }
            }
        } else if let Some(rest) = line.strip_prefix("EnvironmentFile=") {
            let file = PathBuf::from(expand(rest.trim().trim_start_matches('-')));
            if let Ok(text) = std::fs::read_to_string(file) {
                vars.extend(cron::crontab_env(&text, |_| false));
            }
        }
    }
    vars
}

/// Words of a unit's value: split on spaces, `"…"` and `'…'` keep spaces.
fn unit_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The `EnvironmentVariables` dictionary of a launchd plist.
fn plist_env(text: &str) -> Vec<(String, String)> {
    // Comments may show other settings; they are not part of the dictionary.
    let mut plain = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        plain.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    plain.push_str(rest);
    let Some(dict) = plain
        .split_once("<key>EnvironmentVariables</key>")
        .and_then(|(_, after)| after.split_once("<dict>"))
        .and_then(|(_, after)| after.split_once("</dict>"))
        .map(|(inside, _)| inside)
    else {
        return Vec::new();
    };
    let unescape = |v: &str| {
        v.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    };
    let mut vars = Vec::new();
    let mut rest = dict;
    while let Some((_, after)) = rest.split_once("<key>") {
        let Some((name, after)) = after.split_once("</key>") else {
            break;
        };
        let Some((_, after)) = after.split_once("<string>") else {
            break;
        };
        let Some((value, after)) = after.split_once("</string>") else {
            break;
        };
        vars.push((unescape(name.trim()), unescape(value)));
        rest = after;
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_environment_lines_are_read_with_quotes_and_specifiers() {
        let unit = "[Service]\nEnvironment=DEFER_RUNTIME_DIR=%h/data/runtime\n\
                    Environment=\"A=one two\" B=3%%\n#Environment=C=no\n";
        assert_eq!(
            systemd_env(unit, Path::new("/home/u")),
            [
                (
                    "DEFER_RUNTIME_DIR".to_string(),
                    "/home/u/data/runtime".to_string()
                ),
                ("A".to_string(), "one two".to_string()),
                ("B".to_string(), "3%".to_string()),
            ]
        );
    }

    #[test]
    fn plist_environment_dictionary_is_read() {
        let plist = "<dict><!-- <key>EnvironmentVariables</key> --><key>EnvironmentVariables</key>\n\
                     <dict>\n<key>DEFER_EXECUTOR</key>\n<string>/a &amp; b</string>\n\
                     <key>TZ</key><string>UTC</string></dict></dict>";
        assert_eq!(
            plist_env(plist),
            [
                ("DEFER_EXECUTOR".to_string(), "/a & b".to_string()),
                ("TZ".to_string(), "UTC".to_string()),
            ]
        );
    }
}
