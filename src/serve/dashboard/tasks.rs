//! *Tasks*: the filtered, paged, sortable table, and the bulk actions on it.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::ops::list::Sort;

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new().route("/tasks", axum::routing::get(tasks))
}

pub(super) struct Row {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) class: String,
    pub(super) local: String,
    pub(super) relative: String,
    pub(super) attempts: String,
    pub(super) series: String,
    pub(super) summary: String,
    /// The latest change, in words ("3m ago").
    pub(super) changed: String,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    live: bool,
    nav: &'static str,
    zone: String,
    /// Runners are paused: said above the table.
    banner: Option<String>,
    statuses: Vec<(&'static str, &'static str)>,
    status: String,
    q: String,
    since: String,
    sort: &'static str,
    /// Column headings that sort: (label, sort key, link).
    sorts: Vec<(&'static str, &'static str, String)>,
    total: usize,
    /// `total` is a lower bound (a database stopped counting).
    total_capped: bool,
    rows: Vec<Row>,
    problems: Vec<String>,
    next: Option<String>,
    /// The filter as a query string, for "select all matching".
    filter: String,
}

#[derive(Debug, Default, Deserialize)]
struct TasksParams {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

impl TasksParams {
    /// The statuses and `all` the status choice means.
    fn statuses(&self) -> Result<(Vec<Status>, bool), Error> {
        match self.status.as_deref().unwrap_or_default() {
            "" => Ok((Vec::new(), false)),
            "all" => Ok((Vec::new(), true)),
            one => Ok((vec![one.parse::<Status>()?], false)),
        }
    }

    /// The filter as a query string (without the sort and cursor).
    fn filter(&self) -> String {
        format!(
            "status={}&q={}&since={}",
            encode(self.status.as_deref().unwrap_or_default()),
            encode(self.q.as_deref().unwrap_or_default()),
            encode(self.since.as_deref().unwrap_or_default())
        )
    }
}

const STATUS_CHOICES: [(&str, &str); 7] = [
    ("", "pending (scheduled, executing)"),
    ("scheduled", "scheduled"),
    ("executing", "executing"),
    ("completed", "completed"),
    ("failed", "failed"),
    ("cancelled", "cancelled (and missed)"),
    ("all", "all, archives included"),
];

pub(super) fn row(config: &Config, record: &Value) -> Row {
    let status = text_at(record, "/status");
    let (local, relative) = match Stamp::parse(text_at(record, "/run_at")) {
        Some(stamp) => {
            let d = config.clock.describe(stamp.timestamp());
            match d.split_once(", ") {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None => (d, String::new()),
            }
        }
        None => (line(text_at(record, "/run_at")), String::new()),
    };
    let attempts = match (
        record.get("attempts").and_then(Value::as_u64),
        record.get("max_retries").and_then(Value::as_u64),
    ) {
        (Some(a), Some(m)) if m > 0 => format!("{a} of {}", m + 1),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    };
    let series = record
        .get("series")
        .map(|s| {
            let rule = text_at(s, "/rule");
            match s.get("occurrence").and_then(Value::as_u64) {
                Some(n) => format!("{} #{n}", line(rule)),
                None => line(rule),
            }
        })
        .unwrap_or_default();
    let known = ["scheduled", "executing", "completed", "failed", "cancelled"];
    Row {
        id: text_at(record, "/id").to_string(),
        status: line(status),
        class: if known.contains(&status) {
            status.to_string()
        } else {
            String::new()
        },
        local,
        relative,
        attempts,
        series,
        summary: line(text_at(record, "/context/summary")),
        changed: ops::list::last_change(record)
            .map(|s| config.clock.distance(s.timestamp()))
            .unwrap_or_default(),
    }
}

async fn tasks(State(app): State<Arc<App>>, Query(p): Query<TasksParams>) -> Response {
    let (statuses, all) = match p.statuses() {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    let sort = match p.sort.as_deref().filter(|s| !s.is_empty()) {
        None => Sort::Due,
        Some(s) => match s.parse::<Sort>() {
            Ok(s) => s,
            Err(e) => return error_page(&e),
        },
    };
    let request = ListRequest {
        status: statuses,
        all,
        q: p.q.clone(),
        since: p.since.clone().filter(|s| !s.trim().is_empty()),
        sort: Some(sort),
        cursor: p.cursor.clone(),
        ..ListRequest::default()
    };
    let result = app
        .blocking(move |config, store| {
            let page = ops::list::list(config, store, &request)?;
            let banner = banner(config, page.paused.as_ref());
            Ok((page, banner))
        })
        .await;
    let (page, banner) = match result {
        Ok(page) => page,
        Err(e) => return error_page(&e),
    };
    let config = &app.config;
    let filter = p.filter();
    let next = page.next_cursor.as_ref().map(|c| {
        format!(
            "/tasks?{filter}&sort={}&cursor={}",
            sort.as_str(),
            encode(c)
        )
    });
    let sorts = Sort::ALL
        .iter()
        .map(|(s, name)| {
            let label = match s {
                Sort::Due => "Due",
                Sort::Status => "Status",
                Sort::Attempts => "Attempts",
                Sort::Changed => "Last change",
            };
            (label, *name, format!("/tasks?{filter}&sort={name}"))
        })
        .collect();
    render(
        &TasksPage {
            live: true,
            nav: "tasks",
            zone: zone(config),
            banner,
            statuses: STATUS_CHOICES.to_vec(),
            status: p.status.clone().unwrap_or_default(),
            q: line(p.q.as_deref().unwrap_or_default()),
            since: line(p.since.as_deref().unwrap_or_default()),
            sort: sort.as_str(),
            sorts,
            total: page.total,
            total_capped: page.total_capped,
            rows: page.tasks.iter().map(|r| row(config, r)).collect(),
            problems: page.problems,
            next,
            filter,
        },
        StatusCode::OK,
    )
}

/// Percent-encodes a query value.
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
