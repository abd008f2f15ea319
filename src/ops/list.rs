//! Listing tasks: which records a listing means (default statuses, when the archives are
//! searched), one page of them with a cursor, and what a reply says. The CLI streams the
//! whole listing (`ListRequest::query`); MCP, the API and the dashboard ask for pages.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::lifecycle::Pause;
use crate::ops::wire::{null_as_false, one_or_many};
use crate::record::{Status, validate_id};
use crate::store::{PageAsk, Query, Store};

/// Page size unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 1000;

/// Which tasks to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Only tasks in these statuses, e.g. ["scheduled"] (one name, or names separated by
    /// commas, are accepted too). completed, failed and cancelled also search the archives.
    #[serde(default, deserialize_with = "one_or_many")]
    #[cfg_attr(
        feature = "schema",
        schemars(extend("default" = ["scheduled", "executing"]))
    )]
    pub status: Vec<Status>,
    /// Every task in every status, including the archives. Do not combine with status.
    #[serde(default, deserialize_with = "null_as_false")]
    pub all: bool,
    /// Only tasks whose id or summary contains this text (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
    /// At most this many records (1 to 1000); total says how many matched.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(range(min = 1, max = 1000), extend("default" = 50))
    )]
    pub limit: Option<u32>,
    /// next_cursor of the previous page; leave it out for the first page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Only tasks scheduled with this unique_key, e.g. "review:PR-123".
    #[serde(default)]
    pub unique_key: Option<String>,
    /// Only the follow-ups of this task: tasks whose parent_id it is.
    #[serde(default)]
    pub parent_id: Option<String>,
}

impl ListRequest {
    /// The store query this listing means (see [`Query::listing`]).
    pub fn query(&self) -> Result<Query> {
        if self.all && !self.status.is_empty() {
            return Err(Error::arg_conflicts(Arg::Status, Arg::All));
        }
        if let Some(parent) = &self.parent_id {
            validate_id(parent).map_err(|_| {
                Error::invalid_arg(Arg::Parent, parent.clone(), "is not a task id", None)
            })?;
        }
        Ok(Query {
            unique_key: self.unique_key.clone(),
            parent_id: self.parent_id.clone(),
            ..Query::listing(self.status.clone(), self.all)
        })
    }

    /// The page size asked for.
    pub fn limit(&self) -> Result<usize> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::invalid_arg(
                Arg::Limit,
                limit.to_string(),
                format!("out of range: use 1 to {MAX_LIMIT}"),
                Some("50"),
            ));
        }
        Ok(usize::try_from(limit).unwrap_or(usize::MAX))
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ListReply {
    /// The records as stored, in the listing's order (at most limit of them).
    #[cfg_attr(feature = "schema", schemars(with = "Vec<crate::record::Task>"))]
    pub tasks: Vec<Value>,
    /// How many records are in tasks.
    pub count: usize,
    /// How many records matched, on every page.
    pub total: usize,
    /// total is more than this page shows: pass next_cursor as cursor for the next page.
    pub truncated: bool,
    /// Pass as cursor for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The statuses searched (empty means all).
    pub statuses: Vec<Status>,
    /// Whether the archives were searched.
    pub include_archive: bool,
    /// Store lines that are not valid records (kept as they are; `defer check` lists them).
    pub problems: Vec<String>,
    /// Runners of this store are paused: nothing is claimed until the pause ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    /// The page in words: how many tasks, then one line per task.
    pub message: String,
}

/// One page of the listing `req` asks for.
pub fn list(config: &Config, store: &dyn Store, req: &ListRequest) -> Result<ListReply> {
    let query = req.query()?;
    let limit = req.limit()?;
    let after = match req.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(parse_cursor(cursor)?),
    };
    let ask = PageAsk {
        after,
        limit,
        ..PageAsk::default()
    }
    .with_text(req.q.as_deref());
    let found = store.page(&query, &ask)?;
    let tasks = found
        .lines
        .iter()
        .map(|line| {
            serde_json::from_slice::<Value>(line).map_err(|source| Error::Json {
                what: "a stored record".into(),
                source,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = if found.more {
        tasks
            .last()
            .and_then(|t| t.get("id"))
            .and_then(Value::as_str)
            .map(|id| format!("{}.{id}", found.start + tasks.len()))
    } else {
        None
    };
    let problems: Vec<String> = found
        .problems
        .iter()
        .map(|p| format!("{} line {}: {}", p.file.display(), p.line, p.reason))
        .collect();
    let paused = super::pause::current(config, store)?;
    let message = words(
        config,
        &query,
        &tasks,
        found.total,
        &problems,
        paused.as_ref(),
    );
    Ok(ListReply {
        count: tasks.len(),
        total: found.total,
        truncated: found.more,
        next_cursor,
        tasks,
        statuses: query.statuses.clone(),
        include_archive: query.include_archive,
        problems,
        paused,
        message,
    })
}

/// A cursor is `OFFSET.ID`: the page starts after the record `ID` (the last one shown), so a
/// task archived meanwhile does not make the next page skip one; if `ID` no longer matches,
/// it starts at `OFFSET`.
fn parse_cursor(cursor: &str) -> Result<(usize, String)> {
    cursor
        .split_once('.')
        .and_then(|(n, id)| Some((n.parse::<usize>().ok()?, id.to_string())))
        .filter(|(_, id)| validate_id(id).is_ok())
        .ok_or_else(|| {
            Error::invalid_arg(
                Arg::Cursor,
                cursor,
                "is not one this server gave out: pass next_cursor from the previous page, or \
                 leave it out for the first page",
                None,
            )
        })
}

/// `3 tasks with status scheduled or executing:` and a line per task.
fn words(
    config: &Config,
    query: &Query,
    tasks: &[Value],
    total: usize,
    problems: &[String],
    paused: Option<&Pause>,
) -> String {
    let statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
    let which = if statuses.is_empty() {
        "in any status".to_string()
    } else {
        format!("with status {}", statuses.join(" or "))
    };
    let mut text = match total {
        0 => format!("No tasks {which}."),
        1 => format!("1 task {which}:"),
        n => format!("{n} tasks {which}:"),
    };
    for task in tasks {
        text.push_str("\n- ");
        text.push_str(&super::show::one_line(config, task));
    }
    if total > tasks.len() {
        text.push_str(&format!(
            "\n(showing {} of {total}; pass next_cursor as cursor, or a larger limit, to see \
             more)",
            tasks.len()
        ));
    }
    if total == 0 && !query.include_archive {
        text.push_str(" {\"all\": true} also searches finished and archived tasks.");
    }
    if !problems.is_empty() {
        text.push_str(&format!(
            "\n{} store line(s) are not valid records and were skipped (kept as they are; \
             `defer check` lists them).",
            problems.len()
        ));
    }
    if let Some(pause) = paused {
        text.push_str(&format!(
            "\nNote: {}.",
            super::pause::describe_local(config, pause)
        ));
    }
    text
}
