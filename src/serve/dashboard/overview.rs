//! *Overview*, the first page: how many tasks are in each state now (each count a link to
//! the Tasks page filtered to them), and the activity of the last day by the hour and of the
//! last 30 days by the day, from [`crate::ops::overview`].

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::chart::{self, Chart};
use super::*;
use crate::ops::overview::{OverviewReply, OverviewRequest};

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new().route("/", axum::routing::get(overview))
}

/// One count with where it leads.
struct Count {
    /// The count as shown: "10,000+" where a database stopped counting.
    value: String,
    label: &'static str,
    href: &'static str,
    class: &'static str,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    live: bool,
    nav: &'static str,
    zone: String,
    banner: Option<String>,
    counts: Vec<Count>,
    hourly: Chart,
    daily: Chart,
}

async fn overview(State(app): State<Arc<App>>) -> Response {
    let result = app
        .blocking(|config, store| {
            let reply = ops::overview::overview(config, store, &OverviewRequest {})?;
            let banner = banner(config, reply.paused.as_ref());
            Ok((reply, banner))
        })
        .await;
    let (reply, banner) = match result {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    render(
        &OverviewPage {
            live: true,
            nav: "overview",
            zone: zone(&app.config),
            banner,
            counts: counts(&reply),
            hourly: chart::stacked(&reply.hourly, 3),
            daily: chart::stacked(&reply.daily, 5),
        },
        StatusCode::OK,
    )
}

fn counts(reply: &OverviewReply) -> Vec<Count> {
    let c = &reply.counts;
    let cap = ops::overview::COUNT_CAP as u64;
    let shown = |n: u64| {
        if reply.counts_capped && n > cap {
            format!("{cap}+")
        } else {
            n.to_string()
        }
    };
    vec![
        Count {
            value: shown(c.scheduled),
            label: "scheduled",
            href: "/tasks?status=scheduled",
            class: "scheduled",
        },
        Count {
            value: shown(c.due),
            label: "due, not yet claimed",
            href: "/upcoming",
            class: if c.due > 0 { "overdue" } else { "scheduled" },
        },
        Count {
            value: shown(c.executing),
            label: "executing",
            href: "/tasks?status=executing",
            class: "executing",
        },
        Count {
            value: shown(c.completed_24h),
            label: "completed in 24 h",
            href: "/tasks?status=completed&since=24h",
            class: "completed",
        },
        Count {
            value: shown(c.failed_24h),
            label: "failed in 24 h",
            href: "/tasks?status=failed&since=24h",
            class: "failed",
        },
        Count {
            value: shown(c.missed_24h),
            label: "missed in 24 h",
            href: "/tasks?status=cancelled&since=24h",
            class: "missed",
        },
    ]
}
