//! *Upcoming*: an SVG timeline of what is due in the next 24 hours or 7 days, with the list
//! below it.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::*;

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new().route("/upcoming", axum::routing::get(upcoming))
}

struct Mark {
    id: String,
    x: i64,
    class: &'static str,
    status: String,
    summary: String,
    due: String,
    label: String,
    /// The group (pixel column) it is drawn in.
    group: usize,
    /// The first of its group in the list: the group's anchor.
    first: bool,
}

/// What the timeline draws at one pixel column: one task (a dot with its label on hover and
/// keyboard focus, linking to the task), or several (a dot with their count, linking to their
/// rows in the list below).
struct Point {
    x: i64,
    class: &'static str,
    /// One task: its id.
    id: Option<String>,
    count: usize,
    label: String,
    /// Where the label is drawn: kept inside the drawing at both ends.
    label_x: i64,
    anchor: &'static str,
    group: usize,
}

struct Tick {
    x: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "upcoming.html")]
struct UpcomingPage {
    live: bool,
    nav: &'static str,
    zone: String,
    /// Runners are paused: said above the timeline.
    banner: Option<String>,
    range: String,
    range_label: &'static str,
    ranges: Vec<(&'static str, &'static str)>,
    marks: Vec<Mark>,
    points: Vec<Point>,
    ticks: Vec<Tick>,
    overdue: usize,
    executing: usize,
    width: i64,
    height: i64,
    left: i64,
    axis_y: i64,
}

#[derive(Debug, Deserialize)]
struct UpcomingParams {
    #[serde(default)]
    range: Option<String>,
}

const WIDTH: i64 = 1000;
const HEIGHT: i64 = 130;
/// The strip at the left where overdue and executing tasks sit.
const LEFT: i64 = 40;

async fn upcoming(State(app): State<Arc<App>>, Query(p): Query<UpcomingParams>) -> Response {
    let (range, label, secs): (&str, &str, i64) = match p.range.as_deref() {
        Some("7d") => ("7d", "7 days", 7 * 86_400),
        _ => ("24h", "24 hours", 86_400),
    };
    let result = app
        .blocking(move |config, store| {
            let page = ops::list::list(
                config,
                store,
                &ListRequest {
                    limit: Some(MAX_LIMIT),
                    ..ListRequest::default()
                },
            )?;
            let banner = banner(config, page.paused.as_ref());
            Ok((page.tasks, banner, zone(config), config.clock.now()))
        })
        .await;
    let (records, banner, zone, now) = match result {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let config = &app.config;
    let span = (WIDTH - LEFT - 10) as f64;
    let mut marks = Vec::new();
    let (mut overdue, mut executing) = (0, 0);
    for record in &records {
        let Some(run_at) = Stamp::parse(text_at(record, "/run_at")) else {
            continue;
        };
        let until = run_at.timestamp().as_second() - now.as_second();
        if until > secs {
            continue;
        }
        let status = text_at(record, "/status");
        let class = if status == "executing" {
            executing += 1;
            "executing"
        } else if until < 0 {
            overdue += 1;
            "overdue"
        } else {
            "scheduled"
        };
        let x = if until <= 0 {
            LEFT / 2
        } else {
            LEFT + (until as f64 / secs as f64 * span) as i64
        };
        let summary = line(text_at(record, "/context/summary"));
        let due = config.clock.describe(run_at.timestamp());
        marks.push(Mark {
            id: text_at(record, "/id").to_string(),
            x,
            class,
            status: if class == "overdue" {
                "overdue".into()
            } else {
                line(status)
            },
            label: format!("{summary} ({due})"),
            summary,
            due,
            group: 0,
            first: false,
        });
    }
    marks.sort_by_key(|m| m.x);
    let points = group(&mut marks);
    let ticks = ticks(config, now, secs, span);
    render(
        &UpcomingPage {
            live: true,
            nav: "upcoming",
            zone,
            banner,
            range: range.into(),
            range_label: label,
            ranges: vec![("24h", "24 hours"), ("7d", "7 days")],
            marks,
            points,
            ticks,
            overdue,
            executing,
            width: WIDTH,
            height: HEIGHT,
            left: LEFT,
            axis_y: HEIGHT - 22,
        },
        StatusCode::OK,
    )
}

/// How close (in SVG units) two dots may be before they share one: a dot is 14 wide.
const COLUMN: i64 = 14;

/// Groups marks (sorted by x) that fall within one column into one point each, numbering
/// the groups on the marks so the list can link to them.
fn group(marks: &mut [Mark]) -> Vec<Point> {
    let mut points: Vec<Point> = Vec::new();
    for m in marks.iter_mut() {
        let joins = points.last().is_some_and(|p| m.x - p.x < COLUMN);
        if !joins {
            points.push(Point {
                x: m.x,
                class: m.class,
                id: Some(m.id.clone()),
                count: 0,
                label: m.label.clone(),
                label_x: 0,
                anchor: "middle",
                group: points.len() + 1,
            });
        }
        let p = points.last_mut().expect("a point was just pushed");
        p.count += 1;
        m.group = p.group;
        m.first = !joins;
        if p.count > 1 {
            p.id = None;
            p.label = format!("{} tasks due around {}", p.count, m.due);
            // Overdue or executing among them colours the group.
            if m.class != "scheduled" {
                p.class = m.class;
            }
        }
    }
    for p in &mut points {
        (p.label_x, p.anchor) = if p.x < WIDTH / 4 {
            (p.x - 7, "start")
        } else if p.x > WIDTH * 3 / 4 {
            (p.x + 7, "end")
        } else {
            (p.x, "middle")
        };
    }
    points
}

/// Hour marks (every 3 h over a day) or midnights (over a week), in the user's zone.
fn ticks(config: &Config, now: jiff::Timestamp, secs: i64, span: f64) -> Vec<Tick> {
    let step = if secs <= 86_400 { 3 * 3600 } else { 86_400 };
    let zone = config.clock.zone().clone();
    let local = now.to_zoned_datetime(zone);
    // The first whole step after now, in local time.
    let first_offset = if step == 86_400 {
        86_400 - (local.hour() as i64 * 3600 + local.minute() as i64 * 60)
    } else {
        let into = (local.hour() as i64 % 3) * 3600 + local.minute() as i64 * 60;
        step - into
    };
    let mut ticks = Vec::new();
    let mut offset = first_offset;
    while offset < secs {
        let at = jiff::Timestamp::from_second(now.as_second() + offset)
            .unwrap_or(now)
            .to_zoned_datetime(config.clock.zone().clone());
        let label = if step == 86_400 {
            at.strftime("%a %d").to_string()
        } else {
            at.strftime("%H:%M").to_string()
        };
        ticks.push(Tick {
            x: LEFT + (offset as f64 / secs as f64 * span) as i64,
            label,
        });
        offset += step;
    }
    ticks
}
