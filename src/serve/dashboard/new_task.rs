//! *New task*: a form for the fields a person types (summary, when, key points, retries),
//! scheduled through the same operation as every other front end, so the same validation
//! and wording apply. While the time is typed, `preview.js` asks `/tasks/new/preview` how it
//! is read (the `time normalize` operation); without script the form still works and a
//! refusal comes back with what was typed.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::*;
use crate::ops::schedule::ScheduleRequest;
use crate::ops::time::NormalizeRequest;

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/tasks/new", axum::routing::get(form).post(create))
        .route("/tasks/new/preview", axum::routing::get(preview))
        .route("/assets/preview.js", axum::routing::get(preview_js))
}

const PREVIEW_JS: &str = include_str!("../assets/preview.js");

async fn preview_js() -> Response {
    asset(PREVIEW_JS, "text/javascript; charset=utf-8")
}

#[derive(Debug, Default, Deserialize)]
struct NewTask {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    when: String,
    /// One key point per line.
    #[serde(default)]
    key_points: String,
    #[serde(default)]
    max_retries: String,
}

#[derive(Template)]
#[template(path = "new_task.html")]
struct FormPage {
    live: bool,
    nav: &'static str,
    zone: String,
    csrf: String,
    error: Option<String>,
    summary: String,
    when: String,
    key_points: String,
    max_retries: String,
    /// How the time reads, when one was given.
    preview: String,
}

fn form_page(app: &App, values: NewTask, error: Option<String>, status: StatusCode) -> Response {
    let preview = if values.when.trim().is_empty() {
        String::new()
    } else {
        read_time(&app.config, &values.when)
    };
    render(
        &FormPage {
            live: false,
            nav: "new",
            zone: zone(&app.config),
            csrf: app.auth.csrf().to_string(),
            error,
            summary: values.summary,
            when: values.when,
            key_points: values.key_points,
            max_retries: values.max_retries,
            preview,
        },
        status,
    )
}

async fn form(State(app): State<Arc<App>>) -> Response {
    form_page(&app, NewTask::default(), None, StatusCode::OK)
}

/// How `when` reads, in one line: the time, or why it does not read.
fn read_time(config: &Config, when: &str) -> String {
    match ops::time::normalize(
        config,
        &NormalizeRequest {
            when: when.to_string(),
        },
    ) {
        Ok(t) => match &t.rule {
            Some(rule) => line(&format!("repeats ({rule}); first {}", t.description)),
            None if t.in_past => line(&format!(
                "{} — already past: it runs at once",
                t.description
            )),
            None => line(&t.description),
        },
        Err(e) => line(&e.for_fields()),
    }
}

#[derive(Debug, Deserialize)]
struct PreviewParams {
    #[serde(default)]
    when: String,
}

/// `GET /tasks/new/preview?when=…`: how the time reads, as JSON `{"text", "ok"}`.
async fn preview(State(app): State<Arc<App>>, Query(p): Query<PreviewParams>) -> Response {
    let ok = ops::time::normalize(
        &app.config,
        &NormalizeRequest {
            when: p.when.clone(),
        },
    )
    .is_ok();
    let text = read_time(&app.config, &p.when);
    let mut response = axum::Json(serde_json::json!({"ok": ok, "text": text})).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /tasks/new`: schedule, then the task's page (303, so a reload does not repeat it).
async fn create(
    State(app): State<Arc<App>>,
    form: Result<Form<NewTask>, axum::extract::rejection::FormRejection>,
) -> Response {
    let values = match posted_form(&app, form, |f| f.csrf.as_str()) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let max_retries = match values.max_retries.trim() {
        "" => None,
        n => match n.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let error = format!("max retries: {n:?} is not a whole number (0, 1, 2, ...)");
                return form_page(&app, values, Some(error), StatusCode::BAD_REQUEST);
            }
        },
    };
    let request = ScheduleRequest {
        when: values.when.clone(),
        summary: Some(values.summary.clone()).filter(|s| !s.trim().is_empty()),
        key_points: values
            .key_points
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        max_retries,
        ..ScheduleRequest::default()
    };
    let result = app
        .blocking(move |config, store| ops::schedule::schedule(config, store, &request))
        .await;
    match result {
        Ok(reply) => auth::see_other(&format!("/tasks/{}?done=scheduled", reply.id)),
        Err(e) => {
            let status = super::super::status_for(e.kind());
            form_page(&app, values, Some(line(&e.for_fields())), status)
        }
    }
}
