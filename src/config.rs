//! Configuration: the environment variables of the contract (SPEC §2), resolved once.
//!
//! [`VARIABLES`] lists every variable `defer` reads, once: `--help`, the crontab line,
//! `doctor`'s comparison of the runner's settings with the shell's, and the README's table
//! (checked by a test) all follow it. The library reads the environment only through a
//! [`Config`] (or a lookup a front end passes in); that is what lets tests point every path at
//! a temporary directory and pin "now" with `DEFER_NOW`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::clock::Clock;
use crate::error::{Error, Result};

/// One environment variable `defer` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// The value when unset, in words.
    pub default: &'static str,
    pub meaning: &'static str,
    /// It changes what a runner does, so the crontab line carries it (from the shell that
    /// runs `defer cron`) and `doctor` compares the runner's value with the shell's.
    pub runner: bool,
}

const fn var(
    name: &'static str,
    default: &'static str,
    meaning: &'static str,
    runner: bool,
) -> Variable {
    Variable {
        name,
        default,
        meaning,
        runner,
    }
}

/// Every variable `defer` reads, in the order the docs list them.
pub const VARIABLES: &[Variable] = &[
    var(
        "DEFER_RUNTIME_DIR",
        "~/data/runtime",
        "root of all runtime state",
        true,
    ),
    var(
        "DEFER_TASKS_FILE",
        "$DEFER_RUNTIME_DIR/deferred.jsonl",
        "active task store",
        true,
    ),
    var(
        "DEFER_ARCHIVE_DIR",
        "$DEFER_RUNTIME_DIR/archive",
        "monthly archives",
        true,
    ),
    var(
        "DEFER_LOG_DIR",
        "$DEFER_RUNTIME_DIR/logs",
        "prompt artifacts, outputs, audit log",
        true,
    ),
    var(
        "DEFER_LOG_FILE",
        "$DEFER_LOG_DIR/deferred.log",
        "audit log",
        true,
    ),
    var(
        "DEFER_TIMEZONE",
        "TZ, else the system zone",
        "IANA zone for time expressions; unknown names are errors",
        true,
    ),
    var(
        "TZ",
        "the system zone",
        "the zone when DEFER_TIMEZONE is unset",
        true,
    ),
    var(
        "DEFER_EXECUTOR",
        "none",
        "executable that receives the task JSON on stdin",
        true,
    ),
    var(
        "DEFER_CONTEXT_FILE",
        "none",
        "fallback CONTEXT.md for --reorient",
        true,
    ),
    var(
        "DEFER_RETRY_DELAY_SECONDS",
        "60",
        "delay before retrying a failed executor",
        true,
    ),
    var(
        "DEFER_RETRY_BACKOFF",
        "fixed",
        "exponential: delay × 2^(attempt−1), jittered, capped",
        true,
    ),
    var(
        "DEFER_RETRY_MAX_DELAY_SECONDS",
        "3600",
        "cap for exponential backoff",
        true,
    ),
    var(
        "DEFER_NOW",
        "real clock",
        "RFC 3339 instant used as \"now\" everywhere (tests, previews); never carried to a \
         runner",
        false,
    ),
    var(
        "DEFER_PROJECTS_DIR",
        "~/data/research/projects",
        "root searched by --project",
        true,
    ),
    var(
        "DEFER_EXECUTOR_TIMEOUT_SECONDS",
        "3600",
        "an executor running longer is killed with its process group",
        true,
    ),
    var(
        "DEFER_EXECUTOR_KEEP_SECRETS",
        "unset",
        "1 passes DEFER_DATABASE_URL and libpq secrets (PGPASSWORD, ...) to the executor; by \
         default they are removed from its environment",
        true,
    ),
    var(
        "DEFER_CONCURRENCY",
        "1",
        "executors one runner runs at once",
        true,
    ),
    var(
        "DEFER_DATABASE_URL",
        "unset",
        "use PostgreSQL instead of the JSONL file",
        true,
    ),
    var(
        "DEFER_DATABASE_SCHEMA",
        "defer",
        "schema for the tables",
        true,
    ),
    var(
        "DEFER_LEASE_SECONDS",
        "300",
        "how long a database claim lasts without renewal",
        true,
    ),
    var(
        "DEFER_CLAIM_BATCH",
        "100",
        "tasks a database runner claims per round",
        true,
    ),
    var(
        "DEFER_CRONTAB",
        "crontab on PATH",
        "the program `defer cron install|uninstall` and `defer doctor` read (-l) and write (-) \
         the crontab with",
        false,
    ),
    var(
        "DEFER_WAKE_ORIGIN",
        "unset (by hand)",
        "who started this `defer run`: cron on the line `defer cron` writes, systemd / \
         launchd in the contrib units; doctor tells a scheduler's wake from a hand run by it",
        false,
    ),
];

/// What the runner adds to an executor's environment (besides `DEFER_RUNTIME_DIR`, and the
/// database URL without its password: see [`crate::runner::executor`]). They are not
/// settings: `defer cron` never carries them and the README's table does not list them;
/// `docs/task-schema.md` ("Executor contract") does. `defer` itself reads two of them when
/// an executor runs it: `DEFER_TASK_ID` (what it schedules is a follow-up of that task) and
/// `DEFER_RUNNER_STORE` (it must write to the store of the runner that ran that task).
pub const EXECUTOR_VARIABLES: &[Variable] = &[
    var(
        "DEFER_TASK_ID",
        "set by the runner",
        "the running task's id; a task scheduled while it is set records it as parent_id",
        false,
    ),
    var(
        "DEFER_PROMPT_FILE",
        "set by the runner",
        "the prompt artifact, already written",
        false,
    ),
    var(
        "DEFER_ATTEMPT",
        "set by the runner",
        "1 for the first run, 2 for the first retry, ...",
        false,
    ),
    var(
        "DEFER_LATENESS_SECONDS",
        "set by the runner",
        "how long after its run_at the task started",
        false,
    ),
    var(
        "DEFER_TASK_CWD",
        "set by the runner when the task has a cwd",
        "the task's working directory",
        false,
    ),
    var(
        "DEFER_TASK_SESSION",
        "set by the runner when the task has a session",
        "the agent session to resume",
        false,
    ),
    var(
        "DEFER_RUNNER_STORE",
        "set by the runner",
        "which store the runner uses (a description without secrets); `defer schedule` \
         refuses to write to another one while DEFER_TASK_ID is set",
        false,
    ),
];

/// The names of [`VARIABLES`], comma-separated, for `--help`.
pub fn variable_names() -> String {
    VARIABLES
        .iter()
        .map(|v| v.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a failed executor's retry is delayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// Always `DEFER_RETRY_DELAY_SECONDS` (the reference tool's behaviour, and the default).
    Fixed,
    /// `delay × 2^(attempt-1)`, capped at `DEFER_RETRY_MAX_DELAY_SECONDS`, with jitter.
    Exponential,
}

/// Resolved settings for one invocation.
#[derive(Debug, Clone)]
pub struct Config {
    pub runtime_dir: PathBuf,
    pub tasks_file: PathBuf,
    pub archive_dir: PathBuf,
    pub log_dir: PathBuf,
    pub log_file: PathBuf,
    /// The user's zone and the clock (real or `DEFER_NOW`), together because every time
    /// expression needs both.
    pub clock: Clock,
    pub executor: Option<PathBuf>,
    pub context_file: Option<PathBuf>,
    pub projects_dir: PathBuf,
    /// `$HOME`, for the reorientation lookup chain (`~/data/research/CONTEXT.md`).
    pub home: PathBuf,
    pub retry_delay: Duration,
    pub retry_backoff: Backoff,
    pub retry_max_delay: Duration,
    pub executor_timeout: Duration,
    pub concurrency: usize,
    /// `DEFER_EXECUTOR_KEEP_SECRETS=1`: pass the database URL and libpq secrets to the
    /// executor (by default they are removed from its environment; see
    /// [`crate::runner::executor::SECRET_VARS`]).
    pub executor_keep_secrets: bool,
    /// `DEFER_DATABASE_URL`: when set, tasks live in PostgreSQL instead of the JSONL file.
    pub database_url: Option<String>,
    /// `DEFER_DATABASE_SCHEMA` (default `defer`): the schema holding the tables.
    pub database_schema: String,
    /// `DEFER_LEASE_SECONDS` (default 300): how long a database claim lasts without renewal.
    pub lease: Duration,
    /// `DEFER_CLAIM_BATCH` (default 100): tasks a database runner claims per round.
    pub claim_batch: usize,
    /// `DEFER_WAKE_ORIGIN`: who started this `defer run` (`cron` on the line `defer cron`
    /// writes, `systemd` / `launchd` in the contrib units); unset means by hand.
    pub wake_origin: Option<String>,
    /// `DEFER_CRONTAB`: the crontab program (default `crontab` on `PATH`).
    pub crontab: PathBuf,
    /// `DEFER_TASK_ID`: set when an executor runs this `defer`; what it schedules is a
    /// follow-up of that task.
    pub running_task: Option<String>,
    /// `DEFER_RUNNER_STORE`: the store of the runner that started that executor
    /// ([`crate::store::Store::identity`]).
    pub runner_store: Option<String>,
    /// libpq's password file: `PGPASSFILE`, else `~/.pgpass`. Read for a database URL that
    /// carries no password, so the password can stay out of the URL (and of the crontab line
    /// and every executor's environment).
    pub passfile: PathBuf,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config> {
        Config::from_lookup(|name| std::env::var_os(name))
    }

    /// Resolves settings from any variable lookup; tests pass a map.
    pub fn from_lookup(get: impl Fn(&str) -> Option<OsString>) -> Result<Config> {
        // Empty values count as unset, as `${VAR:-default}` does in the reference scripts.
        let var = |name: &str| get(name).filter(|v| !v.is_empty());
        let path = |name: &str| var(name).map(|v| expand_tilde(PathBuf::from(v), &get));

        let home = get("HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let runtime_dir = path("DEFER_RUNTIME_DIR").unwrap_or_else(|| home.join("data/runtime"));
        let tasks_file =
            path("DEFER_TASKS_FILE").unwrap_or_else(|| runtime_dir.join("deferred.jsonl"));
        let archive_dir = path("DEFER_ARCHIVE_DIR").unwrap_or_else(|| runtime_dir.join("archive"));
        let log_dir = path("DEFER_LOG_DIR").unwrap_or_else(|| runtime_dir.join("logs"));
        let log_file = path("DEFER_LOG_FILE").unwrap_or_else(|| log_dir.join("deferred.log"));
        let projects_dir =
            path("DEFER_PROJECTS_DIR").unwrap_or_else(|| home.join("data/research/projects"));
        let passfile = path("PGPASSFILE").unwrap_or_else(|| home.join(".pgpass"));

        let zone = resolve_zone(var("DEFER_TIMEZONE"), var("TZ"))?;
        let now = match var("DEFER_NOW") {
            None => None,
            Some(raw) => {
                let text = raw.to_string_lossy().into_owned();
                let ts: Timestamp = text.trim().parse().map_err(|e| Error::Config {
                    var: "DEFER_NOW",
                    value: text.clone(),
                    reason: format!("{e}; use an RFC 3339 instant such as 2026-04-08T17:05:00Z"),
                })?;
                Some(ts)
            }
        };

        let retry_backoff = match var("DEFER_RETRY_BACKOFF") {
            None => Backoff::Fixed,
            Some(v) => match v.to_string_lossy().trim().to_ascii_lowercase().as_str() {
                "fixed" => Backoff::Fixed,
                "exponential" => Backoff::Exponential,
                other => {
                    return Err(Error::Config {
                        var: "DEFER_RETRY_BACKOFF",
                        value: other.to_string(),
                        reason: "use \"fixed\" or \"exponential\"".into(),
                    });
                }
            },
        };

        Ok(Config {
            runtime_dir,
            tasks_file,
            archive_dir,
            log_dir,
            log_file,
            clock: Clock::new(zone, now),
            executor: path("DEFER_EXECUTOR"),
            context_file: path("DEFER_CONTEXT_FILE"),
            projects_dir,
            home,
            retry_delay: Duration::from_secs(delay(&var, "DEFER_RETRY_DELAY_SECONDS", 60)?),
            retry_backoff,
            retry_max_delay: Duration::from_secs(delay(
                &var,
                "DEFER_RETRY_MAX_DELAY_SECONDS",
                3600,
            )?),
            executor_timeout: Duration::from_secs(seconds(
                &var,
                "DEFER_EXECUTOR_TIMEOUT_SECONDS",
                3600,
                1,
            )?),
            concurrency: usize::try_from(seconds(&var, "DEFER_CONCURRENCY", 1, 1)?)
                .unwrap_or(usize::MAX),
            executor_keep_secrets: match var("DEFER_EXECUTOR_KEEP_SECRETS") {
                None => false,
                Some(v) if v == "1" => true,
                Some(v) if v == "0" => false,
                Some(v) => {
                    return Err(Error::Config {
                        var: "DEFER_EXECUTOR_KEEP_SECRETS",
                        value: v.to_string_lossy().into_owned(),
                        reason: "use 1 to pass secrets to the executor, or 0 (the default)".into(),
                    });
                }
            },
            database_url: var("DEFER_DATABASE_URL").map(|v| v.to_string_lossy().into_owned()),
            database_schema: schema_name(var("DEFER_DATABASE_SCHEMA"))?,
            lease: Duration::from_secs(seconds(&var, "DEFER_LEASE_SECONDS", 300, 3)?),
            claim_batch: usize::try_from(seconds(&var, "DEFER_CLAIM_BATCH", 100, 1)?)
                .unwrap_or(usize::MAX),
            wake_origin: wake_origin(var("DEFER_WAKE_ORIGIN"))?,
            crontab: var("DEFER_CRONTAB")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("crontab")),
            running_task: var("DEFER_TASK_ID").map(|v| v.to_string_lossy().trim().to_string()),
            runner_store: var("DEFER_RUNNER_STORE").map(|v| v.to_string_lossy().into_owned()),
            passfile,
        })
    }

    /// Directory holding the tasks file (locks and temp files live beside it).
    pub fn tasks_dir(&self) -> &Path {
        self.tasks_file.parent().unwrap_or_else(|| Path::new("."))
    }

    /// Refuses runtime directories (and a task store) that another user could write to, as
    /// ssh refuses a private key with loose permissions (see `SECURITY.md`): whoever can add
    /// a line to the store chooses what the executor is asked to do.
    pub fn check_permissions(&self) -> Result<()> {
        let mut dirs: Vec<&Path> = vec![
            &self.runtime_dir,
            self.tasks_dir(),
            &self.archive_dir,
            &self.log_dir,
        ];
        if let Some(parent) = self.log_file.parent() {
            dirs.push(parent);
        }
        let mut checked: Vec<&Path> = Vec::with_capacity(dirs.len());
        for dir in dirs {
            if !checked.contains(&dir) {
                crate::fsutil::check_private_dir(dir)?;
                checked.push(dir);
            }
        }
        crate::fsutil::check_private_file(&self.tasks_file)
    }
}

/// A schema name is spliced into SQL, so only a plain identifier is accepted.
fn schema_name(raw: Option<OsString>) -> Result<String> {
    let Some(raw) = raw else {
        return Ok("defer".to_string());
    };
    let name = raw.to_string_lossy().trim().to_string();
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(Error::Config {
            var: "DEFER_DATABASE_SCHEMA",
            value: name,
            reason: "use a lower-case identifier such as defer or team_tasks".into(),
        })
    }
}

/// A scheduler's name: one short lower-case word, since it is shown in `doctor` and `why`.
fn wake_origin(raw: Option<OsString>) -> Result<Option<String>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let name = raw.to_string_lossy().trim().to_string();
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(Some(name))
    } else {
        Err(Error::Config {
            var: "DEFER_WAKE_ORIGIN",
            value: name,
            reason: "use a short lower-case word naming the scheduler, such as cron, systemd \
                     or launchd"
                .into(),
        })
    }
}

/// Parses a whole non-negative number from a variable, with a default and a lower bound.
fn seconds(
    var: &impl Fn(&str) -> Option<OsString>,
    name: &'static str,
    default: u64,
    min: u64,
) -> Result<u64> {
    let Some(raw) = var(name) else {
        return Ok(default);
    };
    let text = raw.to_string_lossy().trim().to_string();
    match text.parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(Error::Config {
            var: name,
            value: text,
            reason: format!("use a whole number of at least {min}"),
        }),
    }
}

/// The longest retry delay: 30 days. A larger one used to be accepted and, added to now,
/// clamped to the year 9999, so the retry silently never came.
pub const MAX_RETRY_DELAY_SECONDS: u64 = 30 * 86_400;

/// A retry delay in seconds, 0 to [`MAX_RETRY_DELAY_SECONDS`].
fn delay(var: &impl Fn(&str) -> Option<OsString>, name: &'static str, default: u64) -> Result<u64> {
    let n = seconds(var, name, default, 0)?;
    if n > MAX_RETRY_DELAY_SECONDS {
        return Err(Error::Config {
            var: name,
            value: n.to_string(),
            reason: format!(
                "at most {MAX_RETRY_DELAY_SECONDS} seconds (30 days); a retry further away \
                 is better scheduled as a new task"
            ),
        });
    }
    Ok(n)
}

/// `~/x` in a variable means `$HOME/x`, as a shell would have expanded it.
fn expand_tilde(path: PathBuf, get: &impl Fn(&str) -> Option<OsString>) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => match get("HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home).join(rest),
            _ => path,
        },
        Err(_) => path,
    }
}

/// `DEFER_TIMEZONE`, else `TZ`, else the system zone. An unknown name is an error, never a
/// silent fallback to UTC: a wrong zone would schedule every task at the wrong hour.
fn resolve_zone(defer_tz: Option<OsString>, tz: Option<OsString>) -> Result<TimeZone> {
    if let Some(name) = defer_tz {
        let name = name.to_string_lossy().trim().to_string();
        return crate::zoneinfo::get(&name).ok_or_else(|| Error::Config {
            var: "DEFER_TIMEZONE",
            value: name,
            reason: "unknown time zone; use an IANA name such as America/New_York or UTC".into(),
        });
    }
    if let Some(name) = tz {
        let name = name.to_string_lossy().trim().to_string();
        // `TZ=:Area/City` and `TZ=:/path` are glibc spellings; a POSIX rule such as
        // `EST5EDT,M3.2.0,M11.1.0` is valid too.
        let bare = name.strip_prefix(':').unwrap_or(&name);
        if let Some(zone) = crate::zoneinfo::get(bare) {
            return Ok(zone);
        }
        if bare.starts_with('/') {
            if let Ok(data) = std::fs::read(bare)
                && let Ok(zone) = TimeZone::tzif(bare, &data)
            {
                return Ok(zone);
            }
        } else if let Ok(zone) = TimeZone::posix(bare) {
            return Ok(zone);
        }
        return Err(Error::Config {
            var: "TZ",
            value: name,
            reason: "unknown time zone; set DEFER_TIMEZONE to an IANA name such as \
                     America/New_York"
                .into(),
        });
    }
    crate::zoneinfo::system().map_err(|e| Error::Config {
        var: "DEFER_TIMEZONE",
        value: String::new(),
        reason: format!("the system time zone could not be read ({e}); set DEFER_TIMEZONE"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_reference_layout() {
        let c = config(&[("HOME", "/home/u"), ("DEFER_TIMEZONE", "UTC")]).expect("config");
        assert_eq!(c.runtime_dir, PathBuf::from("/home/u/data/runtime"));
        assert_eq!(
            c.tasks_file,
            PathBuf::from("/home/u/data/runtime/deferred.jsonl")
        );
        assert_eq!(c.archive_dir, PathBuf::from("/home/u/data/runtime/archive"));
        assert_eq!(c.log_dir, PathBuf::from("/home/u/data/runtime/logs"));
        assert_eq!(
            c.log_file,
            PathBuf::from("/home/u/data/runtime/logs/deferred.log")
        );
        assert_eq!(
            c.projects_dir,
            PathBuf::from("/home/u/data/research/projects")
        );
        assert_eq!(c.retry_delay, Duration::from_secs(60));
        assert_eq!(c.executor_timeout, Duration::from_secs(3600));
        assert_eq!(c.concurrency, 1);
        assert_eq!(c.retry_backoff, Backoff::Fixed);
        assert!(c.executor.is_none());
    }

    #[test]
    fn derived_paths_follow_overrides() {
        let c = config(&[
            ("HOME", "/h"),
            ("DEFER_RUNTIME_DIR", "/r"),
            ("DEFER_LOG_DIR", "~/logs"),
            ("DEFER_TIMEZONE", "UTC"),
        ])
        .expect("config");
        assert_eq!(c.tasks_file, PathBuf::from("/r/deferred.jsonl"));
        assert_eq!(c.log_file, PathBuf::from("/h/logs/deferred.log"));
    }

    #[test]
    fn zone_resolution_prefers_defer_timezone_then_tz() {
        let c = config(&[("DEFER_TIMEZONE", "America/New_York"), ("TZ", "Asia/Tokyo")])
            .expect("config");
        assert_eq!(c.clock.zone_name(), "America/New_York");
        let c = config(&[("TZ", "Asia/Tokyo")]).expect("config");
        assert_eq!(c.clock.zone_name(), "Asia/Tokyo");
    }

    #[test]
    fn bad_values_are_errors_naming_the_variable() {
        for (vars, needle) in [
            (vec![("DEFER_TIMEZONE", "Mars/Olympus")], "DEFER_TIMEZONE"),
            (vec![("TZ", "Nowhere/Special")], "TZ"),
            (vec![("DEFER_NOW", "yesterday")], "DEFER_NOW"),
            (
                vec![("DEFER_RETRY_DELAY_SECONDS", "-1")],
                "DEFER_RETRY_DELAY_SECONDS",
            ),
            (vec![("DEFER_CONCURRENCY", "0")], "DEFER_CONCURRENCY"),
            (
                vec![("DEFER_RETRY_DELAY_SECONDS", "99999999999")],
                "at most 2592000 seconds",
            ),
            (
                vec![("DEFER_RETRY_MAX_DELAY_SECONDS", "2592001")],
                "DEFER_RETRY_MAX_DELAY_SECONDS",
            ),
            (
                vec![("DEFER_RETRY_BACKOFF", "random")],
                "DEFER_RETRY_BACKOFF",
            ),
        ] {
            let mut vars = vars;
            vars.push(("HOME", "/h"));
            let err = config(&vars).expect_err("must be refused").to_string();
            assert!(err.contains(needle), "{err:?} should name {needle}");
        }
    }

    #[test]
    fn defer_now_pins_the_clock() {
        let c = config(&[
            ("DEFER_NOW", "2026-04-08T17:05:00Z"),
            ("DEFER_TIMEZONE", "UTC"),
        ])
        .expect("config");
        assert_eq!(c.clock.now().to_string(), "2026-04-08T17:05:00Z");
    }
}
