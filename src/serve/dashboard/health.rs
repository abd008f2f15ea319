//! *Health*: the checks of `defer doctor`.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::*;

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new().route("/health", axum::routing::get(health))
}

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
