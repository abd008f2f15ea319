//! Running one scheduled task now, due or not (`defer run --id`, the dashboard's "Run now"
//! when no runner lives in the server).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::record::validate_id;
use crate::runner::{self, RunOptions, RunReport};
use crate::store::Store;

/// Run one scheduled task now.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunNowRequest {
    /// The id of a scheduled task, e.g. "task_20260408_163500_4821".
    pub id: String,
}

/// How the run went.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunNowReply {
    /// The record after the run.
    #[cfg_attr(feature = "schema", schemars(with = "crate::record::Task"))]
    pub task: Value,
    /// What happened, in one sentence: "ran task_… now: completed".
    pub message: String,
    /// The `-v` summary of the run.
    #[serde(skip)]
    pub report: RunReport,
}

/// Claims `req.id` now (holding the runner lock, asking the pause like every claim), runs it
/// as a wake would, and reads back its record.
pub fn run_now(
    config: &Config,
    store: &dyn Store,
    req: &RunNowRequest,
    options: &RunOptions,
) -> Result<RunNowReply> {
    validate_id(&req.id)?;
    let report = runner::run_one(config, store, &req.id, options)?;
    let task = store
        .show(&req.id)?
        .ok_or_else(|| Error::NotFound(req.id.clone()))?;
    let status = task
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let how = match status {
        "scheduled" => "it failed and is scheduled to retry",
        "completed" => "completed",
        "failed" => "failed",
        other => other,
    };
    Ok(RunNowReply {
        message: format!("ran {} now: {how}", req.id),
        task,
        report,
    })
}
