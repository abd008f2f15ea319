//! The JSON API under `/api/v1`: the CLI's operations over HTTP.
//!
//! Every route calls the same `ops` function (or store query) as the CLI and MCP, and words
//! errors the same way (`Error::for_fields`, arguments by their JSON field names). Refusals are
//! `application/problem+json` (RFC 9457): 400 bad input, 401 no or wrong token, 403 a foreign
//! Host or Origin, 404 an unknown id, 409 a task in the wrong status (or an id in use), 413 a
//! body over 1 MiB, 503 an unreachable database, 500 anything else.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::App;
use crate::error::Error;
use crate::mcp::args::{ScheduleArgs, ScheduleOutput, TimeOutput};
use crate::ops::{cancel, logs, reschedule, retry, schedule};
use crate::record::{Status, validate_id};
use crate::store::{PageAsk, Query as StoreQuery, Store};

/// Page size of `GET /tasks` unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 1000;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/tasks", get(list_tasks).post(schedule_task))
        .route("/api/v1/tasks/{id}", get(show_task))
        .route("/api/v1/tasks/{id}/cancel", post(cancel_task))
        .route("/api/v1/tasks/{id}/retry", post(retry_task))
        .route("/api/v1/tasks/{id}/reschedule", post(reschedule_task))
        .route("/api/v1/tasks/{id}/logs", get(task_logs))
        .route("/api/v1/time/normalize", get(normalize_time))
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/{*rest}", axum::routing::any(not_found))
}

/// A refusal as `application/problem+json`.
pub fn problem(status: StatusCode, detail: &str) -> Response {
    let body = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: detail.into(),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// The body of every refusal (RFC 9457).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase, e.g. "Not Found".
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What was wrong and how to fix it, worded as the CLI words it (arguments by their JSON
    /// field names), e.g. "Task not found: task_20260408_163500_4821".
    pub detail: String,
}

/// A library error as an HTTP answer.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError(e)
    }
}

/// The status that fits an error.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::WrongStatus { .. } | Error::DuplicateId(_) | Error::LockTimeout { .. } => {
            StatusCode::CONFLICT
        }
        Error::Argument { .. }
        | Error::Time(_)
        | Error::InvalidId(_)
        | Error::Invalid(_)
        | Error::Json { .. }
        | Error::Context(_) => StatusCode::BAD_REQUEST,
        Error::DatabaseUnreachable { .. } | Error::Database { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem(status_of(&self.0), &self.0.for_fields())
    }
}

type ApiResult<T> = Result<axum::Json<T>, ApiError>;

/// A request body as `T`, refusing unknown fields with serde's own words.
fn body<T: DeserializeOwned>(bytes: &Bytes, example: &str) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(Error::Invalid(format!(
            "the request body is not a valid JSON object for this route: {e} (e.g. {example})"
        )))
    })
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "no such route: /api/v1/openapi.json lists the routes",
    )
}

const SCHEDULE_EXAMPLE: &str =
    r#"{"when": "tomorrow 9am", "summary": "Resume the architecture review"}"#;

/// `POST /api/v1/tasks`: `schedule_task`'s arguments, `schedule_task`'s result. 201 when
/// stored, 200 for a dry run.
async fn schedule_task(
    State(app): State<Arc<App>>,
    bytes: Bytes,
) -> Result<(StatusCode, axum::Json<ScheduleOutput>), ApiError> {
    let args: ScheduleArgs = body(&bytes, SCHEDULE_EXAMPLE)?;
    let output = app
        .blocking(move |config, store| {
            let reorient = args.reorient.unwrap_or(false)
                || args.project.is_some()
                || args.context_file.is_some();
            let req = args.into_request(reorient)?;
            let scheduled = schedule::schedule(config, store, &req)?;
            crate::mcp::tools::schedule_output(config, &scheduled, !req.dry_run)
        })
        .await?;
    let status = if output.stored {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(output)))
}

/// Query of `GET /api/v1/tasks`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Comma-separated statuses, e.g. `scheduled,executing` (the default). Terminal statuses
    /// also search the archives.
    #[serde(default)]
    pub status: Option<String>,
    /// Every task in every status, archives included. Do not combine with status.
    #[serde(default)]
    pub all: Option<bool>,
    /// Only tasks whose id or summary contains this text (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
    /// Page size (default 50, at most 1000).
    #[serde(default)]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One page of `GET /api/v1/tasks`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Page {
    /// The records as stored, in store order (the order they were scheduled).
    pub tasks: Vec<Value>,
    /// How many records this page holds.
    pub count: usize,
    /// How many records match, on every page.
    pub total: usize,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Store lines that are not valid records and were skipped (`defer check` lists them).
    pub problems: Vec<String>,
}

impl ListParams {
    /// The store query and the page these parameters ask for.
    pub fn resolve(&self) -> Result<(StoreQuery, usize), Error> {
        let all = self.all.unwrap_or(false);
        let statuses = self
            .status
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse::<Status>)
            .collect::<Result<Vec<_>, _>>()?;
        if all && !statuses.is_empty() {
            return Err(Error::Invalid(
                "pass either status or all, not both (all already includes every status)".into(),
            ));
        }
        let query = crate::commands::list::query(&crate::cli::ListArgs {
            statuses,
            all,
            json: false,
            compact: false,
        });
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::Invalid(format!(
                "limit {limit} is out of range: use 1 to {MAX_LIMIT}"
            )));
        }
        Ok((query, limit))
    }
}

/// One page of the records `query` matches (and `text`, if any), after `cursor`.
///
/// A cursor is `OFFSET.ID`: the page starts after the record `ID` (the last one shown), so a
/// task archived meanwhile does not make the next page skip one; if `ID` no longer matches,
/// it starts at `OFFSET`. The store finds the page ([`Store::page`]).
pub fn page(
    store: &dyn Store,
    query: &StoreQuery,
    text: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page, Error> {
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            let parsed = c
                .split_once('.')
                .and_then(|(n, id)| Some((n.parse::<usize>().ok()?, id)))
                .filter(|(_, id)| validate_id(id).is_ok());
            match parsed {
                Some((n, id)) => Some((n, id.to_string())),
                None => {
                    return Err(Error::Invalid(format!(
                        "cursor {c:?} is not one this server gave out: pass next_cursor from \
                         the previous page, or leave it out for the first page"
                    )));
                }
            }
        }
    };
    let ask = PageAsk {
        after,
        limit,
        ..PageAsk::default()
    }
    .with_text(text);
    let found = store.page(query, &ask)?;
    let tasks = found
        .lines
        .iter()
        .map(|line| {
            serde_json::from_slice::<Value>(line).map_err(|source| Error::Json {
                what: "a stored record".into(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if found.more {
        tasks
            .last()
            .and_then(|t| t.get("id"))
            .and_then(Value::as_str)
            .map(|id| format!("{}.{id}", found.start + tasks.len()))
    } else {
        None
    };
    Ok(Page {
        count: tasks.len(),
        total: found.total,
        next_cursor,
        tasks,
        problems: found
            .problems
            .iter()
            .map(|p| format!("{} line {}: {}", p.file.display(), p.line, p.reason))
            .collect(),
    })
}

/// `GET /api/v1/tasks`.
async fn list_tasks(
    State(app): State<Arc<App>>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Page> {
    let Query(params) = params.map_err(|e| ApiError(Error::Invalid(e.body_text())))?;
    let page = app
        .blocking(move |_, store| {
            let (query, limit) = params.resolve()?;
            page(
                store,
                &query,
                params.q.as_deref(),
                params.cursor.as_deref(),
                limit,
            )
        })
        .await?;
    Ok(axum::Json(page))
}

/// A task record, as stored or as changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskReply {
    /// The full record (SPEC §3), unknown fields kept.
    pub task: Value,
    /// For reschedule and retry: when it now runs, in the server's zone, e.g. "Fri
    /// 2026-11-27 09:00 EST, in 22h 59m".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn task_value(task: &crate::record::Task) -> Result<Value, Error> {
    serde_json::to_value(task).map_err(|source| Error::Json {
        what: "the task record".into(),
        source,
    })
}

/// `GET /api/v1/tasks/{id}`.
async fn show_task(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult<TaskReply> {
    let task = app
        .blocking(move |_, store| {
            validate_id(&id)?;
            store.show(&id)?.ok_or(Error::NotFound(id))
        })
        .await?;
    Ok(axum::Json(TaskReply {
        task,
        description: None,
    }))
}

/// Body of `POST /api/v1/tasks/{id}/cancel`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Why, kept in the record as cancel_reason, e.g. "done by hand".
    #[serde(default)]
    pub reason: Option<String>,
}

async fn cancel_task(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<TaskReply> {
    let b: CancelBody = body(&bytes, r#"{"reason": "done by hand"}"#)?;
    let task = app
        .blocking(move |config, store| {
            task_value(&cancel::cancel(config, store, &id, b.reason.as_deref())?)
        })
        .await?;
    Ok(axum::Json(TaskReply {
        task,
        description: None,
    }))
}

/// Body of `POST /api/v1/tasks/{id}/retry`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    /// When to run it again (a time expression); default now.
    #[serde(default)]
    pub when: Option<String>,
}

async fn retry_task(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<TaskReply> {
    let b: RetryBody = body(&bytes, r#"{"when": "10m"}"#)?;
    let (task, description) = app
        .blocking(move |config, store| {
            let task = retry::retry(config, store, &id, b.when.as_deref())?;
            let description = describe(config, task.run_at);
            Ok((task_value(&task)?, description))
        })
        .await?;
    Ok(axum::Json(TaskReply {
        task,
        description: Some(description),
    }))
}

/// Body of `POST /api/v1/tasks/{id}/reschedule`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    /// The new time (a time expression), e.g. "tomorrow 9am".
    pub when: String,
    /// For a series: move its rule anchor too, so later occurrences follow.
    #[serde(default)]
    pub series: Option<bool>,
}

async fn reschedule_task(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<TaskReply> {
    let b: RescheduleBody = body(&bytes, r#"{"when": "tomorrow 9am"}"#)?;
    let (task, description) = app
        .blocking(move |config, store| {
            let (task, description) =
                reschedule::reschedule(config, store, &id, &b.when, b.series.unwrap_or(false))?;
            Ok((task_value(&task)?, description))
        })
        .await?;
    Ok(axum::Json(TaskReply {
        task,
        description: Some(description),
    }))
}

/// `run_at` in the server's zone, with its distance from now.
pub fn describe(config: &crate::config::Config, stamp: crate::record::Stamp) -> String {
    let now = config.clock.now_zoned();
    let at = stamp
        .timestamp()
        .to_zoned_datetime(config.clock.zone().clone());
    crate::when::describe(&at, &now)
}

async fn task_logs(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let logs = app
        .blocking(move |config, store| {
            let logs = logs::logs(config, store, &id)?;
            serde_json::to_value(logs).map_err(|source| Error::Json {
                what: "the logs".into(),
                source,
            })
        })
        .await?;
    Ok(axum::Json(logs))
}

/// Query of `GET /api/v1/time/normalize`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeParams {
    /// A time expression, e.g. "next friday 3pm".
    pub when: String,
}

async fn normalize_time(
    State(app): State<Arc<App>>,
    params: Result<Query<TimeParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<TimeOutput> {
    let Query(params) = params.map_err(|e| {
        ApiError(Error::Invalid(format!(
            "{} (e.g. ?when=tomorrow%209am)",
            e.body_text()
        )))
    })?;
    let output = app
        .blocking(move |config, _| crate::mcp::tools::time_output(config, params.when))
        .await?;
    Ok(axum::Json(output))
}

/// `GET /api/v1/health`: `defer doctor --json`'s checks.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// No check found a problem (warnings allowed).
    pub ok: bool,
    /// One per check: `check` (a stable name), `level` (ok, warn, problem), `message`.
    pub findings: Vec<Value>,
}

async fn health(State(app): State<Arc<App>>) -> ApiResult<Health> {
    let health = app.blocking(|config, _| Ok(health_of(config))).await?;
    Ok(axum::Json(health))
}

/// The doctor's findings.
pub fn health_of(config: &crate::config::Config) -> Health {
    use crate::commands::doctor::{Level, diagnose};
    // Compared with what this server process was started with, as `doctor` compares the shell.
    let findings = diagnose(
        config,
        &crate::commands::cron::Crontab::from_env(),
        &|name| std::env::var_os(name),
    );
    Health {
        ok: findings.iter().all(|f| f.level != Level::Problem),
        findings: findings
            .iter()
            .map(|f| json!({"check": f.check, "level": f.level, "message": f.message}))
            .collect(),
    }
}

async fn openapi() -> axum::Json<Value> {
    axum::Json(super::openapi::document())
}
