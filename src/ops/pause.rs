//! Pausing every runner of a store, and resuming them.

use crate::audit;
use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::lifecycle::Pause;
use crate::record::Stamp;
use crate::store::Store;
use crate::when;

/// Pauses runners until `until` (a time expression) or until `resume`. Replaces a pause
/// already in force, so `pause --until` also extends or shortens one.
pub fn pause(config: &Config, store: &dyn Store, until: Option<&str>) -> Result<Pause> {
    let now = config.clock.now_zoned();
    let until = match until.map(str::trim).filter(|u| !u.is_empty()) {
        Some(expr) => Some(Stamp(
            when::parse(expr, &now)
                .map_err(|e| Error::time_arg(Arg::Until, e))?
                .timestamp(),
        )),
        None => None,
    };
    let pause = Pause {
        since: Stamp(now.timestamp()),
        until,
    };
    store.set_pause(Some(&pause))?;
    let until_text = until.map_or_else(|| "resume".to_string(), |u| u.to_string());
    audit::log(
        &config.log_file,
        now.timestamp(),
        "paused",
        &[("until", &until_text)],
    );
    Ok(pause)
}

/// Ends a pause; `false` when none was stored.
pub fn resume(config: &Config, store: &dyn Store) -> Result<bool> {
    let was = store.pause_state()?.is_some();
    store.set_pause(None)?;
    if was {
        audit::log(&config.log_file, config.clock.now(), "resumed", &[]);
    }
    Ok(was)
}

/// The pause in force now, if any.
pub fn current(config: &Config, store: &dyn Store) -> Result<Option<Pause>> {
    let now = config.clock.now();
    Ok(store.pause_state()?.filter(|p| p.in_force(now)))
}
