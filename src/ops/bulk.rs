//! Retry or cancel many tasks at once: the ones named, or every one a filter matches. Each
//! task goes through the same operation as a single action (`retry`, `cancel`), so the
//! lifecycle's rules apply one by one: a task whose status does not allow the action is
//! skipped with the reason, the rest go ahead. More than one match is only listed unless the
//! request says `yes`, as `prune` lists before it deletes.

use serde::{Deserialize, Serialize};

use super::cancel::{CancelRequest, cancel};
use super::list::ListRequest;
use super::retry::{RetryRequest, retry};
use super::wire::{null_as_false, one_or_many};
use crate::config::Config;
use crate::error::{Arg, ArgProblem, Error, ErrorKind, Result};
use crate::record::{Status, validate_id};
use crate::store::Store;

/// What to do to each task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    // Schedule failed (or missed) tasks again.
    Retry,
    // Cancel scheduled tasks.
    Cancel,
}

impl BulkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Retry => "retry",
            BulkAction::Cancel => "cancel",
        }
    }

    /// The statuses a filter means when it names none: the ones the action applies to.
    fn default_statuses(self) -> Vec<Status> {
        match self {
            BulkAction::Retry => vec![Status::Failed],
            BulkAction::Cancel => vec![Status::Scheduled],
        }
    }
}

/// Retry or cancel the tasks named in `ids`, or every task the filter (`status`, `q`,
/// `since`) matches.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// "retry" or "cancel".
    pub action: BulkAction,
    /// These tasks (whole ids). Leave out to use the filter instead.
    #[serde(default)]
    pub ids: Vec<String>,
    /// Filter: only tasks in these statuses (default: failed for retry, scheduled for cancel).
    #[serde(default, deserialize_with = "one_or_many")]
    pub status: Vec<Status>,
    /// Filter: only tasks whose id or summary contains this text (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
    /// Filter: only tasks listed since this, e.g. "24h" (a finished task by when it
    /// finished).
    #[serde(default)]
    pub since: Option<String>,
    /// Retry: when to run them (default now).
    #[serde(default)]
    pub when: Option<String>,
    /// Cancel: why (kept as cancel_reason).
    #[serde(default)]
    pub reason: Option<String>,
    /// Act when more than one task matches; without it they are only listed.
    #[serde(default, deserialize_with = "null_as_false")]
    pub yes: bool,
}

/// A task left as it was, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

/// What a bulk action did (or, without `yes`, would do).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BulkReply {
    pub action: BulkAction,
    /// The tasks the request named or the filter matched.
    pub matched: Vec<String>,
    /// false: more than one matched and `yes` was not given, so nothing changed.
    pub applied: bool,
    /// Retried or cancelled.
    pub done: Vec<String>,
    /// Left as they were, each with the reason (a status the action does not apply to).
    pub skipped: Vec<Skipped>,
    /// What happened, in one sentence.
    pub message: String,
}

/// Runs `req`.
pub fn bulk(config: &Config, store: &dyn Store, req: &BulkRequest) -> Result<BulkReply> {
    let matched = matches(config, store, req)?;
    let verb = req.action.as_str();
    if matched.len() > 1 && !req.yes {
        return Ok(BulkReply {
            action: req.action,
            message: format!(
                "{} tasks match; nothing changed: confirm to {verb} them all",
                matched.len()
            ),
            matched,
            applied: false,
            done: Vec::new(),
            skipped: Vec::new(),
        });
    }
    let (mut done, mut skipped) = (Vec::new(), Vec::new());
    for id in &matched {
        let outcome = match req.action {
            BulkAction::Retry => retry(
                config,
                store,
                &RetryRequest {
                    id: id.clone(),
                    when: req.when.clone(),
                },
            )
            .map(drop),
            BulkAction::Cancel => cancel(
                config,
                store,
                &CancelRequest {
                    id: id.clone(),
                    reason: req.reason.clone(),
                },
            )
            .map(drop),
        };
        match outcome {
            Ok(()) => done.push(id.clone()),
            // The task's own state: skip it and go on.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WrongStatus | ErrorKind::NotFound | ErrorKind::Conflict
                ) =>
            {
                skipped.push(Skipped {
                    id: id.clone(),
                    reason: e.to_string(),
                });
            }
            // Anything else (a bad time, the store away) would fail every task the same way.
            Err(e) => return Err(e),
        }
    }
    let mut message = format!(
        "{} of {} task(s): {}",
        match req.action {
            BulkAction::Retry => "retried",
            BulkAction::Cancel => "cancelled",
        },
        matched.len(),
        done.len()
    );
    if !skipped.is_empty() {
        message.push_str(&format!("; {} skipped", skipped.len()));
    }
    Ok(BulkReply {
        action: req.action,
        matched,
        applied: true,
        done,
        skipped,
        message,
    })
}

/// The ids `req` means: its own, or every one its filter lists (in the listing's order).
fn matches(config: &Config, store: &dyn Store, req: &BulkRequest) -> Result<Vec<String>> {
    let filtered = !req.status.is_empty() || req.q.is_some() || req.since.is_some();
    if !req.ids.is_empty() {
        if filtered {
            return Err(Error::arg_conflicts(Arg::Ids, Arg::Status));
        }
        for id in &req.ids {
            validate_id(id)?;
        }
        let mut ids = req.ids.clone();
        ids.dedup();
        return Ok(ids);
    }
    if !filtered {
        return Err(Error::Argument {
            arg: Arg::Ids,
            value: None,
            problem: ArgProblem::Missing {
                hint: Some("name the tasks, or give a filter: status, q (search) or since"),
            },
        });
    }
    let status = if req.status.is_empty() {
        req.action.default_statuses()
    } else {
        req.status.clone()
    };
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = super::list::list(
            config,
            store,
            &ListRequest {
                status: status.clone(),
                q: req.q.clone(),
                since: req.since.clone(),
                limit: Some(super::list::MAX_LIMIT),
                cursor: cursor.take(),
                ..ListRequest::default()
            },
        )?;
        ids.extend(
            page.tasks
                .iter()
                .filter_map(|t| t.get("id").and_then(serde_json::Value::as_str))
                .map(str::to_string),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(ids)
}
