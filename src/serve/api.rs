//! The JSON API under `/api/v1`: the operations (`ops`) over HTTP.
//!
//! Each route reads its request type from the body or the query (`ops::wire`, as MCP reads
//! tool arguments; a path's id joins the body), calls the operation, and answers with its reply
//! type. Refusals are `application/problem+json` (RFC 9457) with the status the error's kind
//! maps to ([`super::status_for`]): 400 bad input, 401 no or wrong token, 403 a foreign Host
//! or Origin, 404 an unknown id, 409 a task in the wrong status or a conflict, 413 a body
//! over 1 MiB, 503 an unavailable store or lock, 500 anything else.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::App;
use crate::error::{Error, ErrorKind};
use crate::ops::cancel::CancelRequest;
use crate::ops::list::ListRequest;
use crate::ops::logs::LogsRequest;
use crate::ops::pause::{PauseRequest, ResumeRequest};
use crate::ops::reschedule::RescheduleRequest;
use crate::ops::retry::RetryRequest;
use crate::ops::schedule::ScheduleRequest;
use crate::ops::show::ShowRequest;
use crate::ops::time::NormalizeRequest;
use crate::ops::{self, wire};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/tasks", get(list_tasks).post(schedule_task))
        .route("/api/v1/tasks/bulk", post(bulk_tasks))
        .route("/api/v1/tasks/{id}", get(show_task))
        .route("/api/v1/tasks/{id}/cancel", post(cancel_task))
        .route("/api/v1/tasks/{id}/retry", post(retry_task))
        .route("/api/v1/tasks/{id}/reschedule", post(reschedule_task))
        .route("/api/v1/tasks/{id}/logs", get(task_logs))
        .route("/api/v1/time/normalize", get(normalize_time))
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/series", get(series))
        .route("/api/v1/pause", post(pause))
        .route("/api/v1/resume", post(resume))
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/{*rest}", axum::routing::any(not_found))
}

/// A refusal as `application/problem+json`.
pub fn problem(status: StatusCode, kind: &str, detail: &str) -> Response {
    let body = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        error: kind.to_string(),
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
    /// The kind of error: bad_argument, not_found, wrong_status, conflict, unavailable,
    /// permission, internal; or unauthorized, forbidden, too_large, no_route for refusals
    /// made before any operation.
    pub error: String,
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.0.kind();
        if kind == ErrorKind::Internal || kind == ErrorKind::Permission {
            // The detail may name server paths; the log keeps it for the operator too.
            eprintln!("defer serve: {}", crate::error::chain(&self.0));
        }
        problem(super::status_for(kind), kind.as_str(), &self.0.for_fields())
    }
}

type ApiResult<T> = Result<axum::Json<T>, ApiError>;

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such route: /api/v1/openapi.json lists the routes",
    )
}

/// A body with the path's id in it: the request types name the task in the request, the
/// API in the path. An id in the body too must be the same.
fn with_path_id<T: DeserializeOwned>(bytes: &Bytes, id: String) -> Result<T, Error> {
    let mut body = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(Error::Request {
                    field: String::new(),
                    reason: "the request body must be a JSON object of named fields".into(),
                });
            }
            Err(e) => {
                return Err(Error::Request {
                    field: String::new(),
                    reason: format!("the request body is not valid JSON ({e})"),
                });
            }
        }
    };
    if let Some(given) = body.get("id").and_then(Value::as_str)
        && given != id
    {
        return Err(Error::Request {
            field: "id".into(),
            reason: format!("the body names {given:?} but the path {id:?}; leave it out"),
        });
    }
    body.insert("id".into(), Value::String(id));
    wire::from_json(Value::Object(body))
}

/// `POST /api/v1/tasks`: 201 when stored; 200 for a dry run, and when a task already holds
/// the request's unique_key (`deduplicated`: that task is the answer, nothing was stored).
async fn schedule_task(
    State(app): State<Arc<App>>,
    bytes: Bytes,
) -> Result<(StatusCode, axum::Json<ops::schedule::ScheduleReply>), ApiError> {
    let req: ScheduleRequest = wire::from_body(&bytes)?;
    let reply = app
        .blocking(move |config, store| ops::schedule::schedule(config, store, &req))
        .await?;
    let status = if reply.stored {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(reply)))
}

/// `GET /api/v1/tasks`.
async fn list_tasks(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
) -> ApiResult<ops::list::ListReply> {
    let req: ListRequest = wire::from_query(query.as_deref().unwrap_or(""))?;
    let reply = app
        .blocking(move |config, store| ops::list::list(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

/// `GET /api/v1/tasks/{id}`.
async fn show_task(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<ops::show::ShowReply> {
    let req = ShowRequest { id };
    let reply = app
        .blocking(move |config, store| ops::show::show(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

async fn cancel_task(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<ops::TaskChange> {
    let req: CancelRequest = with_path_id(&bytes, id)?;
    let reply = app
        .blocking(move |config, store| ops::cancel::cancel(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

async fn retry_task(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<ops::TaskChange> {
    let req: RetryRequest = with_path_id(&bytes, id)?;
    let reply = app
        .blocking(move |config, store| ops::retry::retry(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

async fn reschedule_task(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<ops::TaskChange> {
    let req: RescheduleRequest = with_path_id(&bytes, id)?;
    let reply = app
        .blocking(move |config, store| ops::reschedule::reschedule(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

async fn task_logs(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<ops::logs::LogsReply> {
    let req = LogsRequest { id };
    let reply = app
        .blocking(move |config, store| ops::logs::logs(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

/// `GET /api/v1/time/normalize?when=…`.
async fn normalize_time(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
) -> ApiResult<ops::time::TimeReply> {
    let req: NormalizeRequest = wire::from_query(query.as_deref().unwrap_or(""))?;
    let reply = app
        .blocking(move |config, _| ops::time::normalize(config, &req))
        .await?;
    Ok(axum::Json(reply))
}

/// `POST /api/v1/pause`.
async fn pause(State(app): State<Arc<App>>, bytes: Bytes) -> ApiResult<ops::pause::PauseReply> {
    let req: PauseRequest = wire::from_body(&bytes)?;
    let reply = app
        .blocking(move |config, store| ops::pause::pause(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

/// `POST /api/v1/resume`.
async fn resume(State(app): State<Arc<App>>, bytes: Bytes) -> ApiResult<ops::pause::PauseReply> {
    let req: ResumeRequest = wire::from_body(&bytes)?;
    let reply = app
        .blocking(move |config, store| ops::pause::resume(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

/// `POST /api/v1/tasks/bulk`: retry or cancel the tasks named, or every task a filter
/// matches (more than one only listed unless `yes`).
async fn bulk_tasks(State(app): State<Arc<App>>, bytes: Bytes) -> ApiResult<ops::bulk::BulkReply> {
    let req: ops::bulk::BulkRequest = wire::from_body(&bytes)?;
    let reply = app
        .blocking(move |config, store| ops::bulk::bulk(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

/// `GET /api/v1/overview`: counts per state and the activity of the last day and month.
async fn overview(State(app): State<Arc<App>>) -> ApiResult<ops::overview::OverviewReply> {
    let reply = app
        .blocking(|config, store| {
            ops::overview::overview(config, store, &ops::overview::OverviewRequest {})
        })
        .await?;
    Ok(axum::Json(reply))
}

/// `GET /api/v1/series?all=true`: one line per recurring series.
async fn series(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
) -> ApiResult<ops::series::SeriesReply> {
    let req: ops::series::SeriesRequest = wire::from_query(query.as_deref().unwrap_or(""))?;
    let reply = app
        .blocking(move |config, store| ops::series::series(config, store, &req))
        .await?;
    Ok(axum::Json(reply))
}

/// `GET /api/v1/health`: `defer doctor --json`'s checks, compared with this server's own
/// environment as `doctor` compares the shell's.
async fn health(State(app): State<Arc<App>>) -> ApiResult<ops::doctor::DoctorReply> {
    let reply = app
        .blocking(|config, _| Ok(ops::doctor::doctor(config, &|name| std::env::var_os(name))))
        .await?;
    Ok(axum::Json(reply))
}

async fn openapi() -> axum::Json<Value> {
    axum::Json(super::openapi::document())
}
