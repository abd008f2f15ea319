//! One task by id, wherever it is: the active store first, then the archives.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::record::{Stamp, Status, Task, validate_id};
use crate::store::{Query, Store};

/// Show one task.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ShowRequest {
    /// The task id, as returned by schedule or list, e.g. "task_20260408_163500_4821".
    pub id: String,
}

/// The record, as stored (key order and unknown fields as written), and the tasks it is
/// linked to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ShowReply {
    /// The task record, with its attempts (`history`).
    #[cfg_attr(feature = "schema", schemars(with = "crate::record::Task"))]
    pub task: Value,
    /// The task whose run scheduled this one (its parent_id), when the store still has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<TaskLink>,
    /// Tasks this one's runs scheduled (their parent_id is this id): pending ones soonest
    /// first, then finished ones latest first; at most 50 (follow_ups_total counts all).
    pub follow_ups: Vec<TaskLink>,
    /// How many follow-ups there are in all.
    pub follow_ups_total: usize,
    /// One line: id, status, when it runs (or ran) and its summary; then the parent and the
    /// follow-ups, one line each.
    pub message: String,
}

/// Another task, in brief: enough to say what it is and to ask for it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskLink {
    pub id: String,
    pub status: Status,
    /// When it runs or ran, UTC (YYYY-MM-DDTHH:MM:SSZ).
    pub run_at: Stamp,
    pub summary: String,
}

impl TaskLink {
    fn of(task: &Task) -> TaskLink {
        TaskLink {
            id: task.id.clone(),
            status: task.status,
            run_at: task.run_at,
            summary: task.context.summary.clone(),
        }
    }

    /// `id [status] due …: summary`, as [`one_line`] says a task.
    pub fn line(&self, config: &Config) -> String {
        format!(
            "{} [{}] due {}: {}",
            self.id,
            self.status,
            config.clock.describe(self.run_at.timestamp()),
            self.summary
        )
    }
}

/// How many follow-ups a reply lists.
const MAX_FOLLOW_UPS: usize = 50;

/// A task's links: its parent (when `parent_id` names a task the store has) and its
/// follow-ups (the first 50, and how many there are), archived ones included.
#[derive(Debug)]
pub struct Links {
    pub parent: Option<TaskLink>,
    pub follow_ups: Vec<TaskLink>,
    pub follow_ups_total: usize,
}

/// The links of task `id`, created at `created_at`, whose record names `parent_id`.
pub fn links(
    store: &dyn Store,
    id: &str,
    created_at: Option<Stamp>,
    parent_id: Option<&str>,
) -> Result<Links> {
    let parent = match parent_id.filter(|p| validate_id(p).is_ok()) {
        Some(parent) => store
            .show(parent)?
            .and_then(|record| serde_json::from_value::<Task>(record).ok())
            .map(|task| TaskLink::of(&task)),
        None => None,
    };
    let query = Query {
        parent_id: Some(id.to_string()),
        // A follow-up is created after its parent, so archived no earlier than its month.
        archived_from: created_at.map(|at| at.timestamp().strftime("%Y%m").to_string()),
        ..Query::listing(Vec::new(), true)
    };
    let mut follow_ups = Vec::new();
    let mut follow_ups_total = 0;
    store.list(&query, &mut |line| {
        follow_ups_total += 1;
        if follow_ups.len() < MAX_FOLLOW_UPS
            && let Ok(task) = Task::from_json(line)
        {
            follow_ups.push(TaskLink::of(&task));
        }
        Ok(())
    })?;
    Ok(Links {
        parent,
        follow_ups,
        follow_ups_total,
    })
}

/// The record of `req.id`.
pub fn show(config: &Config, store: &dyn Store, req: &ShowRequest) -> Result<ShowReply> {
    // An id that could never exist ("../x") is invalid, not "not found".
    validate_id(&req.id)?;
    let task = store
        .show(&req.id)?
        .ok_or_else(|| Error::NotFound(req.id.clone()))?;
    let parent_id = task.get("parent_id").and_then(Value::as_str);
    let created_at = task
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(Stamp::parse);
    let links = links(store, &req.id, created_at, parent_id)?;
    let mut message = one_line(config, &task);
    if let Some(parent) = &links.parent {
        message.push_str(&format!("\nfollow-up of {}", parent.line(config)));
    } else if let Some(parent) = parent_id {
        message.push_str(&format!("\nfollow-up of {parent} (no longer in the store)"));
    }
    for follow_up in &links.follow_ups {
        message.push_str(&format!("\nfollow-up: {}", follow_up.line(config)));
    }
    if links.follow_ups_total > links.follow_ups.len() {
        message.push_str(&format!(
            "\n({} more follow-ups: `defer list --parent {} --all`)",
            links.follow_ups_total - links.follow_ups.len(),
            req.id
        ));
    }
    Ok(ShowReply {
        message,
        task,
        parent: links.parent,
        follow_ups: links.follow_ups,
        follow_ups_total: links.follow_ups_total,
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
