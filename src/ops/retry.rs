//! Retrying a failed (or missed) task, active or archived: same id, history kept.

use serde::{Deserialize, Serialize};

use super::TaskChange;
use crate::audit;
use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::lifecycle;
use crate::record::validate_id;
use crate::store::Store;
use crate::when;

/// Run a failed or missed task again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// The id of a failed (or missed) task, active or archived, e.g.
    /// "task_20260408_163500_4821".
    pub id: String,
    /// When to run it again, a time expression read in the server's time zone, e.g. "10m".
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "now")))]
    pub when: Option<String>,
}

/// Schedules the failed or missed task again, now or at `when`.
pub fn retry(config: &Config, store: &dyn Store, req: &RetryRequest) -> Result<TaskChange> {
    validate_id(&req.id)?;
    let now = config.clock.now_zoned();
    let when = req.when.as_deref().map(str::trim).filter(|w| !w.is_empty());
    let run_at = match when {
        Some(expr) => when::parse(expr, &now)
            .map_err(|e| Error::time_arg(Arg::When, e))?
            .timestamp(),
        None => now.timestamp(),
    };
    let change = store.modify(&req.id, &mut |found| {
        lifecycle::retry(found, run_at, now.timestamp())
    })?;
    audit::log(
        &config.log_file,
        now.timestamp(),
        "retried",
        &[
            ("id", &change.task.id),
            ("run_at", &change.task.run_at.to_string()),
        ],
    );
    let mut warnings = Vec::new();
    if let Some(expr) = when
        && change.task.run_at.timestamp().as_second() < now.timestamp().as_second()
    {
        warnings.push(super::past_warning(expr, change.task.run_at));
    }
    let message = format!(
        "retrying {} for {} (attempts start over)",
        change.task.id,
        config.clock.describe(change.task.run_at.timestamp())
    );
    Ok(TaskChange::new(config, change.task, message, warnings))
}
