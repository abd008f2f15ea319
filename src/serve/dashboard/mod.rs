//! The dashboard: server-rendered HTML for people, over the same `ops` and store calls as the
//! API.
//!
//! Pages: *Upcoming* (`/`, an SVG timeline of the next 24 hours or 7 days), *Tasks*
//! (`/tasks`, a filtered, paged table), *Task* (`/tasks/{id}`, the record, prompt, output and
//! audit lines, with cancel / retry / reschedule / run now), *Health* (`/health`, the doctor's
//! checks). Templates are askama's (`src/serve/templates`, checked at compile time) and
//! escape every value for HTML; stored text is also passed through
//! [`crate::output::escape`] so control characters and bidirectional overrides show as
//! `\u{…}` instead of reordering what follows. Everything works with JavaScript off: actions
//! are a confirmation page and a form post (CSRF token, Origin checked); `live.js` only
//! reloads the list pages when the store changes.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::App;
use super::auth;

mod bulk;
mod chart;
mod health;
mod new_task;
mod overview;
mod series;
mod task;
mod tasks;
mod upcoming;

use crate::config::Config;
use crate::error::Error;
use crate::ops::list::{ListRequest, MAX_LIMIT};
use crate::ops::logs::{AttemptLog, LogsRequest};
use crate::ops::{self, show::ShowRequest};
use crate::output::escape;
use crate::record::{Stamp, Status};
use tasks::row;

const STYLE: &str = include_str!("../assets/style.css");
const LIVE_JS: &str = include_str!("../assets/live.js");

/// The zone every page names in its header, the refusals made before a handler runs (the
/// sign-in check) included: the server's, fixed for its life.
static ZONE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The dashboard's routes, for a server reading times in `config`'s zone.
pub fn routes(config: &Config) -> Router<Arc<App>> {
    let _ = ZONE.set(config.clock.zone_name());
    Router::new()
        .merge(overview::routes())
        .merge(upcoming::routes())
        .merge(new_task::routes())
        .merge(tasks::routes())
        .merge(bulk::routes())
        .merge(task::routes())
        .merge(series::routes())
        .merge(health::routes())
        .route("/events", get(super::live::events))
        .route("/assets/style.css", get(style))
        .route("/assets/live.js", get(live_js))
        .fallback(no_page)
}

async fn no_page() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page: Upcoming, Tasks and Health are in the menu.",
    )
}

async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

async fn live_js() -> Response {
    asset(LIVE_JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// One line of stored text, safe to show: control characters and bidi overrides escaped
/// (the template then escapes it for HTML).
fn line(text: &str) -> String {
    escape(text).into_owned()
}

/// Stored text of several lines (a prompt, an output): newlines kept, everything else as
/// [`line`].
fn lines(text: &str) -> String {
    text.split('\n')
        .map(|l| escape(l.strip_suffix('\r').unwrap_or(l)).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_at<'a>(record: &'a Value, pointer: &str) -> &'a str {
    record
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn zone(config: &Config) -> String {
    config.clock.zone_name()
}

fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {e}"),
        )
            .into_response(),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    live: bool,
    nav: &'a str,
    zone: String,
    heading: &'a str,
    kind: &'a str,
    detail: &'a str,
}

/// A posted form whose CSRF token is this server's: every action the dashboard takes reads its
/// form through this, so a refusal reads the same everywhere. A body the form cannot be read
/// from keeps its rejection's status (413 over the limit).
pub fn posted_form<T>(
    app: &App,
    form: Result<axum::extract::Form<T>, axum::extract::rejection::FormRejection>,
    csrf: impl Fn(&T) -> &str,
) -> Result<T, Box<Response>> {
    let form = match form {
        Ok(axum::extract::Form(form)) => form,
        Err(rejection) => {
            let status = rejection.status();
            let heading = status.canonical_reason().unwrap_or("Bad request");
            return Err(Box::new(message_page(
                status,
                heading,
                "The form could not be read.",
            )));
        }
    };
    match csrf_refusal(app, csrf(&form)) {
        Some(refused) => Err(Box::new(refused)),
        None => Ok(form),
    }
}

/// The refusal page, unless `given` is this server's CSRF token.
pub fn csrf_refusal(app: &App, given: &str) -> Option<Response> {
    if app.auth.csrf_matches(given) {
        return None;
    }
    Some(message_page(
        StatusCode::FORBIDDEN,
        "Refused",
        "The form's CSRF token is missing or stale (the server restarted?): go back, reload \
         the page and try again.",
    ))
}

/// The form of a confirmation page's action (a task's or a series'): the token, and what the
/// action may take.
#[derive(Debug, serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub when: Option<String>,
}

/// A page that only says something (a refusal, an unknown page).
pub fn message_page(status: StatusCode, heading: &str, detail: &str) -> Response {
    let kind = if status.is_success() { "ok" } else { "problem" };
    render(
        &MessagePage {
            live: false,
            nav: "",
            zone: ZONE.get().cloned().unwrap_or_default(),
            heading,
            kind,
            detail,
        },
        status,
    )
}

fn error_page(e: &Error) -> Response {
    let status = super::status_for(e.kind());
    message_page(
        status,
        status.canonical_reason().unwrap_or("Error"),
        &line(&e.for_fields()),
    )
}

/// What the pages warn of above their content: a pause in force, a runner whose wakes fail.
fn banner(config: &crate::config::Config, paused: Option<&ops::pause::Pause>) -> Option<String> {
    let lines: Vec<String> = paused
        .map(|p| ops::pause::describe_local(config, p))
        .into_iter()
        .chain(ops::doctor::runner_fault(config))
        .collect();
    (!lines.is_empty()).then(|| lines.join(" — "))
}
