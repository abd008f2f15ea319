//! `defer cron`: a crontab line that runs this binary every minute with today's settings.
//!
//! cron starts jobs with an almost empty environment, so the line carries every `DEFER_*`
//! variable set now (except `DEFER_NOW`, which would freeze the runner's clock), `TZ` when
//! it decides the zone, and `PATH` so that executors find the programs they call.

use std::ffi::OsString;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::output;

/// Variables carried into the crontab line, in this order, when set.
const CARRIED: &[&str] = &[
    "DEFER_RUNTIME_DIR",
    "DEFER_TASKS_FILE",
    "DEFER_ARCHIVE_DIR",
    "DEFER_LOG_DIR",
    "DEFER_LOG_FILE",
    "DEFER_TIMEZONE",
    "TZ",
    "DEFER_EXECUTOR",
    "DEFER_CONTEXT_FILE",
    "DEFER_RETRY_DELAY_SECONDS",
    "DEFER_RETRY_BACKOFF",
    "DEFER_RETRY_MAX_DELAY_SECONDS",
    "DEFER_PROJECTS_DIR",
    "DEFER_EXECUTOR_TIMEOUT_SECONDS",
    "DEFER_CONCURRENCY",
    "PATH",
];

/// The crontab line for `binary` with the variables `get` returns.
pub fn line(
    config: &Config,
    binary: &std::path::Path,
    get: impl Fn(&str) -> Option<OsString>,
) -> String {
    let mut parts = vec!["* * * * *".to_string()];
    for name in CARRIED {
        if let Some(value) = get(name).filter(|v| !v.is_empty()) {
            parts.push(format!("{name}={}", quote(&value.to_string_lossy())));
        }
    }
    parts.push(quote(&binary.display().to_string()));
    parts.push("run".into());
    parts.push(format!(
        ">> {} 2>&1",
        quote(&config.log_file.display().to_string())
    ));
    parts.join(" ")
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

/// The CLI.
pub fn run(config: &Config) -> Result<()> {
    let binary = std::env::current_exe().map_err(Error::io("locating", "the defer binary"))?;
    if config.clock.is_fixed() {
        eprintln!("note: DEFER_NOW is set; it is left out of the crontab line");
    }
    output::print(&line(config, &binary, |name| std::env::var_os(name)))
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
        );
        assert_eq!(
            line,
            "* * * * * DEFER_TIMEZONE=UTC DEFER_EXECUTOR='/x/my exec' PATH=/usr/bin:/bin \
             /opt/bin/defer run >> /h/data/runtime/logs/deferred.log 2>&1"
        );
        assert_eq!(quote("50%"), "'50\\%'");
    }
}
