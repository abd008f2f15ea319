//! Pausing every runner of a store, and resuming them.

use serde::{Deserialize, Serialize};

use crate::audit;
use crate::config::Config;
use crate::error::{Arg, Error, Result};
pub use crate::lifecycle::Pause;
use crate::record::Stamp;
use crate::store::Store;
use crate::when;

/// Stop every runner of this store from claiming tasks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// End the pause by itself at this time (a time expression, e.g. "2h" or "tomorrow 9am");
    /// without it only resume ends it.
    #[serde(default)]
    pub until: Option<String>,
}

/// End a pause.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {}

/// The pause now in force (none after a resume).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PauseReply {
    /// The pause in force, if any.
    pub pause: Option<Pause>,
    /// A pause was in force before this request.
    pub was_paused: bool,
    /// What happened, in one sentence.
    pub message: String,
}

/// Pauses runners until `req.until` or until `resume`. Replaces a pause already in force, so
/// `pause --until` also extends or shortens one. A time already past is refused: it would
/// store a pause that is over at once.
pub fn pause(config: &Config, store: &dyn Store, req: &PauseRequest) -> Result<PauseReply> {
    let now = config.clock.now_zoned();
    let until = match req
        .until
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(expr) => {
            let at = when::parse(expr, &now).map_err(|e| Error::time_arg(Arg::Until, e))?;
            if at.timestamp() <= now.timestamp() {
                return Err(Error::invalid_arg(
                    Arg::Until,
                    expr,
                    format!(
                        "means {}, which is not in the future; give a time to come",
                        config.clock.describe(at.timestamp())
                    ),
                    Some("2h"),
                ));
            }
            Some(Stamp(at.timestamp()))
        }
        None => None,
    };
    let was_paused = current(config, store)?.is_some();
    let pause = Pause {
        since: Stamp(now.timestamp()),
        until,
    };
    store.set_pause(Some(&pause))?;
    // A runner asks the pause before each executor start and keeps the answer for
    // `PAUSE_FRESH`: waiting longer than that here means that once this returns, no runner of
    // the store starts another executor (a claim sees the pause at once).
    std::thread::sleep(crate::runner::PAUSE_SETTLE);
    let until_text = until.map_or_else(|| "resume".to_string(), |u| u.to_string());
    audit::log(
        &config.log_file,
        now.timestamp(),
        "paused",
        &[("until", &until_text)],
    );
    let message = match until {
        Some(until) => format!(
            "paused: runners claim nothing until {}",
            config.clock.describe(until.timestamp())
        ),
        None => "paused: runners claim nothing until `defer resume`".to_string(),
    };
    Ok(PauseReply {
        pause: Some(pause),
        was_paused,
        message,
    })
}

/// Ends a pause.
pub fn resume(config: &Config, store: &dyn Store, _req: &ResumeRequest) -> Result<PauseReply> {
    let was_paused = store.pause_state()?.is_some();
    store.set_pause(None)?;
    if was_paused {
        audit::log(&config.log_file, config.clock.now(), "resumed", &[]);
    }
    Ok(PauseReply {
        pause: None,
        was_paused,
        message: if was_paused {
            "resumed: the next wake runs what is due".into()
        } else {
            "not paused; nothing to resume".into()
        },
    })
}

/// The pause in force now, if any.
pub fn current(config: &Config, store: &dyn Store) -> Result<Option<Pause>> {
    let now = config.clock.now();
    Ok(store.pause_state()?.filter(|p| p.in_force(now)))
}

/// `runners of this store are paused since Mon 2026-12-07 09:00 EST until Mon 2026-12-07
/// 11:00 EST (or until `defer resume`)`, in the user's zone.
pub fn describe_local(config: &Config, pause: &Pause) -> String {
    let since = config.clock.local(pause.since.timestamp());
    match pause.until {
        Some(until) => format!(
            "runners of this store are paused since {since} until {} (or until `defer resume`)",
            config.clock.describe(until.timestamp())
        ),
        None => format!("runners of this store are paused since {since} until `defer resume`"),
    }
}
