//! Bulk actions from the Tasks page: retry or cancel the tasks ticked, or every task the
//! filter matches, through [`crate::ops::bulk`]. A confirmation page says how many (and which)
//! before anything changes; the form post carries the CSRF token and the same selection, and
//! the result page lists what was done and what was skipped, with the reason.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::*;
use crate::ops::bulk::{BulkAction, BulkReply, BulkRequest, Skipped};

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/tasks/bulk/confirm", axum::routing::get(confirm))
        .route("/tasks/bulk", axum::routing::post(apply))
}

/// How many of the matched ids the confirmation page names.
const SHOWN: usize = 50;

/// The selection a confirmation or a post carries: ticked ids, or a filter.
#[derive(Debug, Default, Clone)]
struct Selection {
    action: Option<BulkAction>,
    ids: Vec<String>,
    status: Option<String>,
    q: Option<String>,
    since: Option<String>,
    when: Option<String>,
    reason: Option<String>,
    csrf: String,
}

impl Selection {
    /// Reads `a=b&c=d` pairs, a field that repeats (`id`) kept in order.
    fn parse(text: &[u8]) -> Result<Selection, Error> {
        let mut s = Selection::default();
        let non_empty = |v: String| Some(v).filter(|v| !v.trim().is_empty());
        for (key, value) in form_urlencoded::parse(text) {
            let value = value.into_owned();
            match key.as_ref() {
                "action" => {
                    s.action = Some(match value.as_str() {
                        "retry" => BulkAction::Retry,
                        "cancel" => BulkAction::Cancel,
                        other => {
                            return Err(Error::UnknownValue {
                                what: "action",
                                value: other.to_string(),
                                choices: &["retry", "cancel"],
                            });
                        }
                    });
                }
                "id" => s.ids.push(value),
                "status" => s.status = non_empty(value),
                "q" => s.q = non_empty(value),
                "since" => s.since = non_empty(value),
                "when" => s.when = non_empty(value),
                "reason" => s.reason = non_empty(value),
                "csrf" => s.csrf = value,
                _ => {}
            }
        }
        Ok(s)
    }

    /// The request; `yes` once confirmed.
    fn request(&self, yes: bool) -> Result<BulkRequest, Error> {
        let action = self.action.ok_or(Error::Argument {
            arg: crate::error::Arg::Action,
            value: None,
            problem: crate::error::ArgProblem::Missing {
                hint: Some("choose Retry or Cancel"),
            },
        })?;
        let (status, all) = match self.status.as_deref().unwrap_or_default() {
            "" | "all" => (Vec::new(), self.status.as_deref() == Some("all")),
            one => (vec![one.parse()?], false),
        };
        // "all" statuses: every status the action could apply to, and the lifecycle skips
        // the rest.
        let status = if all {
            vec![Status::Scheduled, Status::Failed, Status::Cancelled]
        } else {
            status
        };
        let filtered = !self.ids.is_empty();
        Ok(BulkRequest {
            action,
            ids: self.ids.clone(),
            status: if filtered { Vec::new() } else { status },
            q: if filtered { None } else { self.q.clone() },
            since: if filtered { None } else { self.since.clone() },
            when: self.when.clone(),
            reason: self.reason.clone(),
            yes,
        })
    }
}

#[derive(Template)]
#[template(path = "bulk_confirm.html")]
struct ConfirmPage {
    live: bool,
    nav: &'static str,
    zone: String,
    action: &'static str,
    verb: &'static str,
    count: usize,
    shown: Vec<String>,
    more: usize,
    /// The selection, as hidden fields for the post.
    hidden: Vec<(&'static str, String)>,
    csrf: String,
}

async fn confirm(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let selection = match Selection::parse(query.unwrap_or_default().as_bytes()) {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    let request = match selection.request(false) {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let result = app
        .blocking(move |config, store| ops::bulk::bulk(config, store, &request))
        .await;
    let reply = match result {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    if reply.applied {
        // One match is done at once (the library's rule); show what happened.
        return result_page(&app, &reply);
    }
    let action = reply.action.as_str();
    let mut hidden: Vec<(&'static str, String)> = vec![("action", action.to_string())];
    hidden.extend(selection.ids.iter().map(|id| ("id", id.clone())));
    for (name, value) in [
        ("status", &selection.status),
        ("q", &selection.q),
        ("since", &selection.since),
    ] {
        if let Some(v) = value
            && selection.ids.is_empty()
        {
            hidden.push((name, v.clone()));
        }
    }
    render(
        &ConfirmPage {
            live: false,
            nav: "tasks",
            zone: zone(&app.config),
            action,
            verb: match reply.action {
                BulkAction::Retry => "Retry",
                BulkAction::Cancel => "Cancel",
            },
            count: reply.matched.len(),
            shown: reply.matched.iter().take(SHOWN).map(|i| line(i)).collect(),
            more: reply.matched.len().saturating_sub(SHOWN),
            hidden,
            csrf: app.auth.csrf().to_string(),
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "bulk_done.html")]
struct DonePage {
    live: bool,
    nav: &'static str,
    zone: String,
    message: String,
    done: Vec<String>,
    skipped: Vec<(String, String)>,
}

fn result_page(app: &App, reply: &BulkReply) -> Response {
    render(
        &DonePage {
            live: false,
            nav: "tasks",
            zone: zone(&app.config),
            message: line(&reply.message),
            done: reply.done.iter().map(|i| line(i)).collect(),
            skipped: reply
                .skipped
                .iter()
                .map(|Skipped { id, reason }| (line(id), line(reason)))
                .collect(),
        },
        StatusCode::OK,
    )
}

/// `POST /tasks/bulk` from the confirmation page.
async fn apply(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let selection = match Selection::parse(&body) {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    if let Some(refused) = csrf_refusal(&app, &selection.csrf) {
        return refused;
    }
    let request = match selection.request(true) {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let result = app
        .blocking(move |config, store| ops::bulk::bulk(config, store, &request))
        .await;
    match result {
        Ok(reply) => result_page(&app, &reply),
        Err(e) => error_page(&e),
    }
}
