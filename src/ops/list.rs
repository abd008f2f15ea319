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
    /// Only tasks listed since this: how long ago ("24h", "7d") or a past time. A finished
    /// task counts by when it finished, one still to happen by when it is due.
    #[serde(default)]
    pub since: Option<String>,
    /// The order: due (the default: what is to happen by due time, then what happened, latest
    /// first), status, attempts (most first) or changed (latest change first).
    #[serde(default)]
    pub sort: Option<Sort>,
}

/// The orders a listing can be asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    // The listing's own order (`store::order`).
    #[default]
    Due,
    // By status name, each status in the listing's order.
    Status,
    // The most attempts first.
    Attempts,
    // The latest change first (created, started, finished, an attempt ended).
    Changed,
}

impl Sort {
    /// Every value, for help and forms.
    pub const ALL: [(Sort, &'static str); 4] = [
        (Sort::Due, "due"),
        (Sort::Status, "status"),
        (Sort::Attempts, "attempts"),
        (Sort::Changed, "changed"),
    ];

    pub fn as_str(self) -> &'static str {
        Sort::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("due", |(_, n)| n)
    }
}

impl std::str::FromStr for Sort {
    type Err = Error;
    fn from_str(s: &str) -> Result<Sort> {
        Sort::ALL
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(v, _)| *v)
            .ok_or_else(|| Error::UnknownValue {
                what: "sort",
                value: s.to_string(),
                choices: &["due", "status", "attempts", "changed"],
            })
    }
}

impl ListRequest {
    /// The store query this listing means (see [`Query::listing`]), `since` read in the
    /// user's zone.
    pub fn query(&self, config: &Config) -> Result<Query> {
        if self.all && !self.status.is_empty() {
            return Err(Error::arg_conflicts(Arg::Status, Arg::All));
        }
        if let Some(parent) = &self.parent_id {
            validate_id(parent).map_err(|_| {
                Error::invalid_arg(Arg::Parent, parent.clone(), "is not a task id", None)
            })?;
        }
        let since = match self
            .since
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(expr) => Some(super::past_time(config, expr, Arg::Since)?),
        };
        Ok(Query {
            unique_key: self.unique_key.clone(),
            parent_id: self.parent_id.clone(),
            since,
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
    /// How many records matched, on every page (at least this many, with total_capped).
    pub total: usize,
    /// A database counted the first page's matches only up to 10,000 in each part of the
    /// listing (upcoming, finished): at least total match. Later pages count exactly.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub total_capped: bool,
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
    let query = req.query(config)?;
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
    let found = match req.sort.unwrap_or_default() {
        Sort::Due => store.page(&query, &ask)?,
        sort => sorted_page(store, &query, &ask, sort)?,
    };
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
        (found.total, found.total_capped),
        &problems,
        paused.as_ref(),
    );
    Ok(ListReply {
        count: tasks.len(),
        total: found.total,
        total_capped: found.total_capped,
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

/// A page in another order than the listing's: every matching record is read and sorted
/// (stably, so ties keep the listing's order), then the page is cut as
/// [`crate::store::page::by_listing`] cuts it. It reads the whole listing: fine for a
/// person's click on a column, not for a program paging a million tasks (which keeps the
/// default order).
fn sorted_page(
    store: &dyn Store,
    query: &Query,
    ask: &PageAsk,
    sort: Sort,
) -> Result<crate::store::PageFound> {
    let mut all: Vec<(Value, Vec<u8>)> = Vec::new();
    let problems = store.list(query, &mut |line| {
        let record: Value = serde_json::from_slice(line).map_err(|source| Error::Json {
            what: "a stored record".into(),
            source,
        })?;
        if ask
            .text
            .as_deref()
            .is_none_or(|t| crate::store::page::matches_text(&record, t))
        {
            all.push((record, line.to_vec()));
        }
        Ok(())
    })?;
    match sort {
        Sort::Due => {}
        Sort::Status => all.sort_by(|a, b| text_at(&a.0, "status").cmp(text_at(&b.0, "status"))),
        Sort::Attempts => all.sort_by_key(|(r, _)| {
            std::cmp::Reverse(r.get("attempts").and_then(Value::as_u64).unwrap_or(0))
        }),
        Sort::Changed => all.sort_by_key(|(r, _)| std::cmp::Reverse(last_change(r))),
    }
    let start = match &ask.after {
        None => 0,
        Some((offset, id)) => all
            .iter()
            .position(|(r, _)| text_at(r, "id") == id)
            .map_or(*offset, |i| i + 1),
    };
    let total = all.len();
    let lines: Vec<Vec<u8>> = all
        .into_iter()
        .skip(start)
        .take(ask.limit)
        .map(|(_, line)| line)
        .collect();
    Ok(crate::store::PageFound {
        more: start + lines.len() < total,
        lines,
        total,
        total_capped: false,
        start,
        problems,
    })
}

fn text_at<'a>(record: &'a Value, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

/// The latest stamp in a record: created, started, finished, or an attempt's end.
pub fn last_change(record: &Value) -> Option<crate::record::Stamp> {
    let stamps = [
        "created_at",
        "started_at",
        "completed_at",
        "failed_at",
        "cancelled_at",
    ]
    .into_iter()
    .filter_map(|f| crate::record::Stamp::parse(text_at(record, f)));
    let attempts = record
        .get("history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("ended_at").and_then(Value::as_str))
        .filter_map(crate::record::Stamp::parse);
    stamps.chain(attempts).max()
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
    (total, capped): (usize, bool),
    problems: &[String],
    paused: Option<&Pause>,
) -> String {
    let at_least = if capped { "at least " } else { "" };
    let statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
    let which = if statuses.is_empty() {
        "in any status".to_string()
    } else {
        format!("with status {}", statuses.join(" or "))
    };
    let mut text = match total {
        0 => format!("No tasks {which}."),
        1 => format!("1 task {which}:"),
        n => format!("{at_least}{n} tasks {which}:"),
    };
    for task in tasks {
        text.push_str("\n- ");
        text.push_str(&super::show::one_line(config, task));
    }
    if total > tasks.len() {
        text.push_str(&format!(
            "\n(showing {} of {at_least}{total}; pass next_cursor as cursor, or a larger limit, to see \
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
