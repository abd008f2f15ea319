//! *Series*: one row per recurring series (as `systemctl list-timers` shows timers), from
//! [`crate::ops::series`]; and the series' own actions: end it (`cancel --series`), or move
//! its anchor (reschedule the next occurrence with the series following).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::*;
use crate::ops::series::{SeriesRequest, SeriesSummary};

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/series", axum::routing::get(series))
        .route("/series/{id}/confirm/{action}", axum::routing::get(confirm))
        .route("/series/{id}/{action}", axum::routing::post(act))
}

struct SeriesRow {
    id: String,
    rule: String,
    summary: String,
    next: String,
    next_relative: String,
    next_id: Option<String>,
    last: String,
    last_class: String,
    counts: String,
    ended: bool,
}

#[derive(Template)]
#[template(path = "series.html")]
struct SeriesPage {
    live: bool,
    nav: &'static str,
    zone: String,
    all: bool,
    done: Option<&'static str>,
    rows: Vec<SeriesRow>,
}

#[derive(Debug, Default, Deserialize)]
struct SeriesParams {
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

fn row(config: &Config, s: &SeriesSummary) -> SeriesRow {
    let (next, next_relative) = match s.next_run {
        Some(at) => (
            config.clock.local(at.timestamp()),
            config.clock.distance(at.timestamp()),
        ),
        None => ("ended".to_string(), String::new()),
    };
    let last = match (&s.last_outcome, s.last_run) {
        (Some(outcome), Some(at)) => format!("{outcome} {}", config.clock.distance(at.timestamp())),
        _ => "not yet".to_string(),
    };
    SeriesRow {
        id: s.id.clone(),
        rule: line(&s.rule),
        summary: line(&s.summary),
        next,
        next_relative,
        next_id: s.next_id.clone(),
        last: line(&last),
        last_class: match s.last_outcome.as_deref() {
            Some("missed") => "failed".to_string(),
            Some(o) => line(o),
            None => String::new(),
        },
        counts: format!(
            "{} completed · {} failed · {} missed",
            s.counts.completed, s.counts.failed, s.counts.missed
        ),
        ended: s.ended,
    }
}

async fn series(State(app): State<Arc<App>>, Query(p): Query<SeriesParams>) -> Response {
    let all = p.all.as_deref().is_some_and(|a| a == "1" || a == "true");
    let result = app
        .blocking(move |config, store| ops::series::series(config, store, &SeriesRequest { all }))
        .await;
    let reply = match result {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let config = &app.config;
    render(
        &SeriesPage {
            live: true,
            nav: "series",
            zone: zone(config),
            all,
            done: match p.done.as_deref() {
                Some("cancel") => Some("Ended: no occurrence follows."),
                Some("move") => {
                    Some("Moved: the next occurrence and those after it follow the new time.")
                }
                _ => None,
            },
            rows: reply.series.iter().map(|s| row(config, s)).collect(),
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "series_confirm.html")]
struct ConfirmPage {
    live: bool,
    nav: &'static str,
    zone: String,
    id: String,
    action: &'static str,
    heading: &'static str,
    explain: &'static str,
    csrf: String,
}

fn words(action: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match action {
        "cancel" => (
            "cancel",
            "End this series",
            "Its pending occurrence is cancelled and no more are scheduled; one running now \
             finishes.",
        ),
        "move" => (
            "move",
            "Move this series",
            "The next occurrence moves to the new time, and the occurrences after it follow \
             from there.",
        ),
        _ => return None,
    })
}

async fn confirm(
    State(app): State<Arc<App>>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some((action, heading, explain)) = words(&action) else {
        return message_page(StatusCode::NOT_FOUND, "Not found", "No such action.");
    };
    render(
        &ConfirmPage {
            live: false,
            nav: "series",
            zone: zone(&app.config),
            id: line(&id),
            action,
            heading,
            explain,
            csrf: app.auth.csrf().to_string(),
        },
        StatusCode::OK,
    )
}

async fn act(
    State(app): State<Arc<App>>,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some((action, ..)) = words(&action) else {
        return message_page(StatusCode::NOT_FOUND, "Not found", "No such action.");
    };
    let form = match posted_form(&app, form, |f| f.csrf.as_str()) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let result = app
        .blocking(move |config, store| -> Result<(), Error> {
            match action {
                "cancel" => {
                    let request = ops::cancel::CancelSeriesRequest {
                        series: id,
                        reason: form.reason.filter(|r| !r.trim().is_empty()),
                    };
                    ops::cancel::cancel_series(config, store, &request).map(drop)
                }
                _ => {
                    // The series' next occurrence carries the anchor.
                    let reply = ops::series::series(config, store, &SeriesRequest { all: false })?;
                    let next = reply
                        .series
                        .iter()
                        .find(|s| s.id == id)
                        .and_then(|s| s.next_id.clone())
                        .ok_or(Error::SeriesNotFound(id))?;
                    let request = ops::reschedule::RescheduleRequest {
                        id: next,
                        when: form.when.unwrap_or_default(),
                        series: true,
                    };
                    ops::reschedule::reschedule(config, store, &request).map(drop)
                }
            }
        })
        .await;
    match result {
        Ok(()) => auth::see_other(&format!("/series?done={action}")),
        Err(e) => error_page(&e),
    }
}
