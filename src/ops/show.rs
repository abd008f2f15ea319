//! One task by id, wherever it is: the active store first, then the archives.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::record::validate_id;
use crate::store::Store;

/// Show one task.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ShowRequest {
    /// The task id, as returned by schedule or list, e.g. "task_20260408_163500_4821".
    pub id: String,
}

/// The record, as stored (key order and unknown fields as written).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ShowReply {
    /// The task record, with its attempts (`history`).
    #[cfg_attr(feature = "schema", schemars(with = "crate::record::Task"))]
    pub task: Value,
    /// One line: id, status, when it runs (or ran) and its summary.
    pub message: String,
}

/// The record of `req.id`.
pub fn show(config: &Config, store: &dyn Store, req: &ShowRequest) -> Result<ShowReply> {
    // An id that could never exist ("../x") is invalid, not "not found".
    validate_id(&req.id)?;
    let task = store
        .show(&req.id)?
        .ok_or_else(|| Error::NotFound(req.id.clone()))?;
    Ok(ShowReply {
        message: one_line(config, &task),
        task,
    })
}

/// `id [status] due …: summary` for a record as stored; records written by other tools may
/// lack fields, so each one is optional.
pub fn one_line(config: &Config, task: &Value) -> String {
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(task, |v, key| v.get(key))
            .and_then(Value::as_str)
            .unwrap_or("?")
    };
    let run_at = field(&["run_at"]);
    let when = match crate::record::Stamp::parse(run_at) {
        Some(stamp) => config.clock.describe(stamp.timestamp()),
        None => run_at.to_string(),
    };
    format!(
        "{} [{}] due {}: {}",
        field(&["id"]),
        field(&["status"]),
        when,
        field(&["context", "summary"])
    )
}
