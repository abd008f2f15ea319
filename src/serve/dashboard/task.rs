//! *Task*: one record with its prompt, attempts and audit lines, and the single actions
//! (cancel, retry, reschedule, run now) through a confirmation page.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::*;

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/tasks/{id}", axum::routing::get(task))
        .route(
            "/tasks/{id}/tail",
            axum::routing::get(super::super::live::tail),
        )
        .route("/assets/tail.js", axum::routing::get(tail_js))
        .route("/tasks/{id}/confirm/{action}", axum::routing::get(confirm))
        .route("/tasks/{id}/{action}", axum::routing::post(act))
}

const TAIL_JS: &str = include_str!("../assets/tail.js");

async fn tail_js() -> Response {
    asset(TAIL_JS, "text/javascript; charset=utf-8")
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    live: bool,
    nav: &'static str,
    zone: String,
    id: String,
    summary: String,
    done: Option<&'static str>,
    error: Option<String>,
    actions: Vec<(&'static str, &'static str)>,
    fields: Vec<(&'static str, String)>,
    lists: Vec<(&'static str, Vec<String>)>,
    prompt: Option<String>,
    attempts: Vec<AttemptView>,
    attempts_dropped: u32,
    audit: Vec<String>,
    json: String,
    /// The task whose run scheduled this one.
    parent: Option<LinkView>,
    /// The tasks this one's runs scheduled, and how many more there are.
    follow_ups: Vec<LinkView>,
    follow_ups_more: usize,
}

/// A linked task on the task page: a link when its id can name a page, and a line.
struct LinkView {
    /// The id, when it is one a URL can carry (a hand-edited record may hold anything).
    href: Option<String>,
    id: String,
    line: String,
}

impl LinkView {
    fn of(config: &Config, link: &ops::show::TaskLink) -> LinkView {
        LinkView {
            href: crate::record::validate_id(&link.id)
                .is_ok()
                .then(|| link.id.clone()),
            id: line(&link.id),
            line: format!(
                "{}, due {}: {}",
                link.status,
                config.clock.describe(link.run_at.timestamp()),
                line(&link.summary)
            ),
        }
    }
}

/// One attempt on the task page.
struct AttemptView {
    heading: String,
    started: String,
    ended: String,
    error: Option<String>,
    stdout: Option<String>,
    stderr: Option<String>,
    /// Running now: its output is followed live (`tail.js`).
    running: bool,
}

impl AttemptView {
    fn of(config: &Config, a: &AttemptLog) -> AttemptView {
        let how = match (a.outcome, a.exit_code, a.signal) {
            (None, _, _) => "running".to_string(),
            (Some(o), Some(code), _) => format!("{o}, exit {code}"),
            (Some(o), None, Some(signal)) => format!("{o}, signal {signal}"),
            (Some(o), None, None) => o.to_string(),
        };
        AttemptView {
            heading: format!("Attempt {} ({how})", a.attempt),
            started: config.clock.describe(a.started_at.timestamp()),
            ended: a
                .ended_at
                .map(|e| config.clock.describe(e.timestamp()))
                .unwrap_or_default(),
            error: a.error.as_deref().map(line),
            stdout: a.stdout.as_deref().map(lines),
            stderr: a.stderr.as_deref().map(lines),
            running: a.outcome.is_none(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct TaskParams {
    #[serde(default)]
    done: Option<String>,
}

/// The result line after an action; a fixed text per action, so nothing from the URL is
/// shown.
fn done_text(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "cancel" => "Cancelled: the task will not run.",
        "retry" => "Scheduled again: the runner will pick it up when it is due.",
        "reschedule" => "Rescheduled: the task runs at its new time.",
        "run" => "Ran now: the outcome is below.",
        "scheduled" => "Scheduled: the runner picks it up when it is due.",
        "queued" => "Due now: the runner in this server picks it up within a second.",
        _ => return None,
    })
}

async fn task(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(p): Query<TaskParams>,
) -> Response {
    task_page(&app, id, done_text(p.done.as_deref()), None).await
}

async fn task_page(
    app: &App,
    id: String,
    done: Option<&'static str>,
    error: Option<Error>,
) -> Response {
    let status = error
        .as_ref()
        .map_or(StatusCode::OK, |e| super::super::status_for(e.kind()));
    let result = app
        .blocking(move |config, store| {
            let shown = ops::show::show(config, store, &ShowRequest { id: id.clone() })?;
            // The logs are a bonus: a task whose files are gone still shows.
            let logs = ops::logs::logs(config, store, &LogsRequest { id }).ok();
            Ok((shown, logs))
        })
        .await;
    let (shown, logs) = match result {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let config = &app.config;
    let record = &shown.task;
    let r = row(config, record);
    let status_text = text_at(record, "/status");
    let mut actions = Vec::new();
    if status_text == "scheduled" {
        actions.push(("run", "Run now"));
        actions.push(("reschedule", "Reschedule"));
        actions.push(("cancel", "Cancel"));
    }
    // Retry takes failed and missed tasks: the lifecycle's own rule says which.
    let retryable = serde_json::from_value::<crate::record::Task>(record.clone())
        .is_ok_and(|t| t.status == Status::Failed || crate::lifecycle::is_missed(&t));
    if retryable {
        actions.push(("retry", "Retry"));
    }
    let stamp = |pointer: &str| {
        Stamp::parse(text_at(record, pointer))
            .map(|s| config.clock.describe(s.timestamp()))
            .unwrap_or_default()
    };
    let mut fields = vec![
        ("id", r.id.clone()),
        ("status", r.status.clone()),
        ("due", stamp("/run_at")),
        ("created", stamp("/created_at")),
        ("intent", line(text_at(record, "/intent"))),
        ("mode", line(text_at(record, "/execution/mode"))),
        ("attempts", r.attempts.clone()),
    ];
    for (name, pointer) in [
        ("series", ""),
        ("as typed", "/when"),
        ("unique key", "/unique_key"),
        ("session", "/session"),
        ("started", "/started_at"),
        ("completed", "/completed_at"),
        ("failed", "/failed_at"),
        ("cancelled", "/cancelled_at"),
        ("cancel reason", "/cancel_reason"),
        ("last error", "/last_error"),
        ("error", "/error"),
        ("result", "/result/type"),
    ] {
        let value = match name {
            "series" => r.series.clone(),
            _ if pointer.ends_with("_at") => stamp(pointer),
            _ => line(text_at(record, pointer)),
        };
        if !value.is_empty() {
            fields.push((name, value));
        }
    }
    let list = |pointer: &str| -> Vec<String> {
        record
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(line).collect())
            .unwrap_or_default()
    };
    let lists: Vec<(&'static str, Vec<String>)> = [
        ("Key points", list("/context/key_points")),
        ("Artifacts", list("/context/artifacts")),
        ("Constraints", list("/context/constraints")),
    ]
    .into_iter()
    .filter(|(_, items)| !items.is_empty())
    .collect();
    let json = serde_json::to_string_pretty(record).unwrap_or_default();
    let (prompt, attempts, attempts_dropped, audit) = match logs {
        Some(l) => (
            l.prompt.as_deref().map(lines),
            l.attempts
                .iter()
                .rev()
                .map(|a| AttemptView::of(config, a))
                .collect(),
            l.attempts_dropped,
            l.audit.iter().map(|a| local_audit(config, a)).collect(),
        ),
        None => (None, Vec::new(), 0, Vec::new()),
    };
    render(
        &TaskPage {
            live: false,
            nav: "tasks",
            zone: zone(config),
            id: r.id.clone(),
            summary: r.summary.clone(),
            done,
            error: error.map(|e| line(&e.for_fields())),
            actions,
            fields,
            lists,
            prompt,
            attempts,
            attempts_dropped,
            audit,
            json: lines(&json),
            parent: shown.parent.as_ref().map(|p| LinkView::of(config, p)),
            follow_ups: shown
                .follow_ups
                .iter()
                .map(|f| LinkView::of(config, f))
                .collect(),
            follow_ups_more: shown.follow_ups_total - shown.follow_ups.len(),
        },
        status,
    )
}

/// An audit line with its UTC stamp shown in the user's zone (`2026-04-08 18:35:00 CEST
/// scheduled id=…`), as every other time on the page is; a line without one as it is.
fn local_audit(config: &Config, text: &str) -> String {
    let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
    match Stamp::parse(first) {
        Some(at) => {
            let local = at
                .timestamp()
                .to_zoned_datetime(config.clock.zone().clone());
            line(&format!(
                "{} {rest}",
                local.strftime("%Y-%m-%d %H:%M:%S %Z")
            ))
        }
        None => line(text),
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    live: bool,
    nav: &'static str,
    zone: String,
    id: String,
    summary: String,
    action: &'static str,
    verb: &'static str,
    verb_lower: &'static str,
    explain: &'static str,
    csrf: String,
}

fn action_words(action: &str) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    Some(match action {
        "cancel" => (
            "cancel",
            "Cancel this task",
            "cancel it",
            "It will not run. The record is kept and archived by the next run.",
        ),
        "retry" => (
            "retry",
            "Retry this task",
            "retry it",
            "It is scheduled again with the same id; its history is kept.",
        ),
        "reschedule" => (
            "reschedule",
            "Reschedule this task",
            "reschedule it",
            "It keeps its id and snapshot and runs at the new time.",
        ),
        "run" => (
            "run",
            "Run this task now",
            "run it now",
            "It runs now, through the executor if one is configured, as `defer run --id` would.",
        ),
        _ => return None,
    })
}

async fn confirm(
    State(app): State<Arc<App>>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some((action, verb, verb_lower, explain)) = action_words(&action) else {
        return message_page(StatusCode::NOT_FOUND, "Not found", "No such action.");
    };
    let result = app
        .blocking(move |config, store| {
            ops::show::show(config, store, &ShowRequest { id }).map(|r| r.task)
        })
        .await;
    let record = match result {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    render(
        &ConfirmPage {
            live: false,
            nav: "tasks",
            zone: zone(&app.config),
            id: text_at(&record, "/id").to_string(),
            summary: line(text_at(&record, "/context/summary")),
            action,
            verb,
            verb_lower,
            explain,
            csrf: app.auth.csrf().to_string(),
        },
        StatusCode::OK,
    )
}

/// `POST /tasks/{id}/{action}` from a confirmation page: the change, then the task page
/// with a result line (303 on success, so a reload does not repeat it).
async fn act(
    State(app): State<Arc<App>>,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some((action, ..)) = action_words(&action) else {
        return message_page(StatusCode::NOT_FOUND, "Not found", "No such action.");
    };
    let form = match posted_form(&app, form, |f| f.csrf.as_str()) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let watching = app.watching;
    let task_id = id.clone();
    let result = app
        .blocking(move |config, store| -> Result<&'static str, Error> {
            let id = task_id;
            let non_empty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
            match action {
                "cancel" => {
                    let request = ops::cancel::CancelRequest {
                        id,
                        reason: non_empty(form.reason),
                    };
                    ops::cancel::cancel(config, store, &request)?;
                    Ok("cancel")
                }
                "retry" => {
                    let request = ops::retry::RetryRequest {
                        id,
                        when: non_empty(form.when),
                    };
                    ops::retry::retry(config, store, &request)?;
                    Ok("retry")
                }
                "reschedule" => {
                    let request = ops::reschedule::RescheduleRequest {
                        id,
                        when: form.when.unwrap_or_default(),
                        series: false,
                    };
                    ops::reschedule::reschedule(config, store, &request)?;
                    Ok("reschedule")
                }
                _ if watching => {
                    // The runner in this process holds the runner lock: make the task due
                    // and let it run it.
                    let request = ops::reschedule::RescheduleRequest {
                        id,
                        when: "now".into(),
                        series: false,
                    };
                    ops::reschedule::reschedule(config, store, &request)?;
                    Ok("queued")
                }
                _ => {
                    let options = crate::runner::RunOptions::default();
                    ops::run_now::run_now(
                        config,
                        store,
                        &ops::run_now::RunNowRequest { id },
                        &options,
                    )?;
                    Ok("run")
                }
            }
        })
        .await;
    match result {
        Ok(done) => auth::see_other(&format!("/tasks/{id}?done={done}")),
        Err(e) => task_page(&app, id, None, Some(e)).await,
    }
}
