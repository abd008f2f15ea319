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
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use super::App;
use super::auth;
use crate::config::Config;
use crate::error::Error;
use crate::ops::list::{ListRequest, MAX_LIMIT};
use crate::ops::logs::{AttemptLog, LogsRequest};
use crate::ops::{self, show::ShowRequest};
use crate::output::escape;
use crate::record::{Stamp, Status};

const STYLE: &str = include_str!("assets/style.css");
const LIVE_JS: &str = include_str!("assets/live.js");

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(upcoming))
        .route("/tasks", get(tasks))
        .route("/tasks/{id}", get(task))
        .route("/tasks/{id}/confirm/{action}", get(confirm))
        .route("/tasks/{id}/{action}", axum::routing::post(act))
        .route("/health", get(health))
        .route("/login", get(login))
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

/// A page that only says something (a refusal, an unknown page).
pub fn message_page(status: StatusCode, heading: &str, detail: &str) -> Response {
    let kind = if status.is_success() { "ok" } else { "problem" };
    render(
        &MessagePage {
            live: false,
            nav: "",
            zone: String::new(),
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

#[derive(Debug, Deserialize)]
struct LoginParams {
    #[serde(default)]
    token: String,
}

/// `/login?token=…`: the link `defer serve` prints. Sets the session cookie and goes home.
async fn login(State(app): State<Arc<App>>, Query(params): Query<LoginParams>) -> Response {
    if !app.auth.token_matches(&params.token) {
        return message_page(
            StatusCode::UNAUTHORIZED,
            "Not signed in",
            "This login link does not carry the current token: open the link `defer serve` \
             printed when it started.",
        );
    }
    let mut response = auth::see_other("/");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth::session_cookie(&params.token));
    response
}

// ---- Upcoming ----------------------------------------------------------------------------

struct Mark {
    id: String,
    x: i64,
    y: i64,
    class: &'static str,
    status: String,
    summary: String,
    due: String,
    label: String,
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

/// What the pages warn of above their content: a pause in force, a runner whose wakes fail.
fn banner(config: &crate::config::Config, paused: Option<&ops::pause::Pause>) -> Option<String> {
    let lines: Vec<String> = paused
        .map(|p| ops::pause::describe_local(config, p))
        .into_iter()
        .chain(ops::doctor::runner_fault(config))
        .collect();
    (!lines.is_empty()).then(|| lines.join(" — "))
}

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
            y: 0,
            class,
            status: if class == "overdue" {
                "overdue".into()
            } else {
                line(status)
            },
            label: format!("{summary} ({due})"),
            summary,
            due,
        });
    }
    marks.sort_by_key(|m| m.x);
    // Marks close together are stacked in four rows so each stays clickable.
    let mut last_x = [-1000i64; 4];
    for (i, m) in marks.iter_mut().enumerate() {
        let row = (0..4).find(|&r| m.x - last_x[r] >= 16).unwrap_or(i % 4);
        last_x[row] = m.x;
        m.y = 28 + row as i64 * 18;
    }
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

// ---- Tasks -------------------------------------------------------------------------------

struct Row {
    id: String,
    status: String,
    class: String,
    local: String,
    relative: String,
    attempts: String,
    series: String,
    summary: String,
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
    total: usize,
    rows: Vec<Row>,
    problems: Vec<String>,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TasksParams {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

const STATUS_CHOICES: [(&str, &str); 7] = [
    ("", "pending (scheduled, executing)"),
    ("scheduled", "scheduled"),
    ("executing", "executing"),
    ("completed", "completed"),
    ("failed", "failed"),
    ("cancelled", "cancelled"),
    ("all", "all, archives included"),
];

fn row(config: &Config, record: &Value) -> Row {
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
    }
}

async fn tasks(State(app): State<Arc<App>>, Query(p): Query<TasksParams>) -> Response {
    let status = p.status.clone().unwrap_or_default();
    let statuses = match status.as_str() {
        "" | "all" => Vec::new(),
        one => match one.parse::<Status>() {
            Ok(s) => vec![s],
            Err(e) => return error_page(&e),
        },
    };
    let request = ListRequest {
        status: statuses,
        all: status == "all",
        q: p.q.clone(),
        limit: None,
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
    let q = p.q.unwrap_or_default();
    let next = page.next_cursor.as_ref().map(|c| {
        format!(
            "/tasks?status={}&q={}&cursor={}",
            encode(&status),
            encode(&q),
            encode(c)
        )
    });
    render(
        &TasksPage {
            live: true,
            nav: "tasks",
            zone: zone(config),
            banner,
            statuses: STATUS_CHOICES.to_vec(),
            status,
            q: line(&q),
            total: page.total,
            rows: page.tasks.iter().map(|r| row(config, r)).collect(),
            problems: page.problems,
            next,
        },
        StatusCode::OK,
    )
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
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

// ---- Task --------------------------------------------------------------------------------

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
        .map_or(StatusCode::OK, |e| super::status_for(e.kind()));
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
            l.audit.iter().map(|a| line(a)).collect(),
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

#[derive(Debug, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    when: Option<String>,
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
    let form = match form {
        Ok(Form(form)) => form,
        // A body over the limit is 413, as on every route; anything else the form's fault.
        Err(rejection) => {
            let status = rejection.status();
            let heading = status.canonical_reason().unwrap_or("Bad request");
            return message_page(status, heading, "The form could not be read.");
        }
    };
    if !app.auth.csrf_matches(&form.csrf) {
        return message_page(
            StatusCode::FORBIDDEN,
            "Refused",
            "The form's CSRF token is missing or stale (the server restarted?): go back, \
             reload the page and try again.",
        );
    }
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

// ---- Health ------------------------------------------------------------------------------

struct Card {
    check: String,
    level: String,
    message: String,
}

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    live: bool,
    nav: &'static str,
    zone: String,
    ok: bool,
    cards: Vec<Card>,
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let result = app
        .blocking(|config, _| Ok(ops::doctor::doctor(config, &|name| std::env::var_os(name))))
        .await;
    let health = match result {
        Ok(h) => h,
        Err(e) => return error_page(&e),
    };
    let cards = health
        .findings
        .iter()
        .map(|f| Card {
            check: line(f.check),
            level: f.level.prefix().to_string(),
            message: line(&f.message),
        })
        .collect();
    render(
        &HealthPage {
            live: false,
            nav: "health",
            zone: zone(&app.config),
            ok: health.ok,
            cards,
        },
        StatusCode::OK,
    )
}
