//! `/metrics`: the Prometheus text format (version 0.0.4), encoded by the Prometheus project's
//! own `prometheus-client`.
//!
//! Two sources, kept apart on purpose:
//! - **The state now**, read at each scrape through [`crate::ops::metrics`] (the overview's counts
//!   per status, the pause, the wake record): a fresh registry per scrape, so a gauge can never
//!   show a value left over from an earlier read.
//! - **What this process's runner did** (`--run`): [`Attempts`] is the runner's
//!   [`Observer`](crate::runner::Observer), told of every outcome after it is saved; its
//!   counter and histograms live as long as the server and are registered into each scrape's
//!   registry. Without `--run` they are absent rather than a misleading 0.
//!
//! What counts and what is timed is decided in [`crate::ops::metrics`]; this file only names the
//! metrics, picks the buckets and encodes.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::App;
use super::api::ApiError;
use crate::error::Error;
use crate::lifecycle::Change;
use crate::ops::metrics::{self as ops_metrics, MetricsReply, MetricsRequest};
use crate::record::{AttemptOutcome, Stamp};

/// Upper bounds of the run-time histogram, in seconds: a reminder's prompt file takes
/// milliseconds, an agent's session minutes to an hour (the default executor timeout).
const DURATION_BUCKETS: [f64; 13] = [
    0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0,
];

/// Upper bounds of the lateness histogram, in seconds: a watcher starts a due task within a
/// second, cron within its minute; hours and a day show a runner that was away.
const LATENESS_BUCKETS: [f64; 12] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0, 604800.0,
];

pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/metrics", get(scrape))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

/// What this process's runner recorded since the server started.
#[derive(Debug, Clone)]
pub struct Attempts {
    outcomes: Family<OutcomeLabel, Counter>,
    duration: Histogram,
    lateness: Histogram,
}

impl Attempts {
    /// Every outcome starts at 0, so a rate over it exists before the first failure.
    pub fn new() -> Attempts {
        let outcomes = Family::<OutcomeLabel, Counter>::default();
        for outcome in AttemptOutcome::ALL {
            drop(outcomes.get_or_create(&OutcomeLabel {
                outcome: outcome.as_str(),
            }));
        }
        Attempts {
            outcomes,
            duration: Histogram::new(DURATION_BUCKETS),
            lateness: Histogram::new(LATENESS_BUCKETS),
        }
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "defer_task_attempts",
            "Attempts this server's runner (--run) recorded since it started, by how they ended",
            self.outcomes.clone(),
        );
        registry.register(
            "defer_task_duration_seconds",
            "Run time of attempts this server's runner ran to an end (claim to recorded \
             outcome: completed, failed, timed_out, killed)",
            self.duration.clone(),
        );
        registry.register(
            "defer_task_lateness_seconds",
            "How late those attempts started: their claim minus the time they were due",
            self.lateness.clone(),
        );
    }
}

impl Default for Attempts {
    fn default() -> Attempts {
        Attempts::new()
    }
}

impl crate::runner::Observer for Attempts {
    fn recorded(&self, change: &Change, due: Stamp) {
        let Some(measure) = ops_metrics::attempt_of(change, due) else {
            return;
        };
        self.outcomes
            .get_or_create(&OutcomeLabel {
                outcome: measure.outcome.as_str(),
            })
            .inc();
        if let Some(timing) = measure.timing {
            self.duration.observe(timing.duration_seconds);
            self.lateness.observe(timing.lateness_seconds);
        }
    }
}

/// `GET /metrics`.
async fn scrape(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let state = app
        .blocking(|config, store| ops_metrics::metrics(config, store, &MetricsRequest {}))
        .await?;
    let text = encode(&state, app.attempts.as_deref()).map_err(|e| Error::Panicked {
        what: "encoding the metrics",
        detail: e.to_string(),
    })?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(prometheus_client::encoding::prometheus_text::CONTENT_TYPE),
    );
    Ok(response)
}

/// The scrape's text: the state now, then what the runner recorded (with `--run`).
fn encode(state: &MetricsReply, attempts: Option<&Attempts>) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    let tasks = Family::<StatusLabel, Gauge>::default();
    for count in &state.active {
        tasks
            .get_or_create(&StatusLabel {
                status: count.status.as_str(),
            })
            .set(i64::try_from(count.count).unwrap_or(i64::MAX));
    }
    registry.register(
        "defer_tasks",
        "Tasks in the active store (not yet archived) by status, read at scrape time",
        tasks,
    );
    registry.register(
        "defer_store_paused",
        "1 while runners of this store are paused (defer pause), else 0",
        flag(state.paused),
    );
    registry.register(
        "defer_runner_fault",
        "1 while a live long-lived runner on this host fails to wake (see defer doctor), else 0",
        flag(state.runner_fault),
    );
    if let Some(at) = state.last_wake {
        let gauge = Gauge::<i64>::default();
        gauge.set(at.timestamp().as_second());
        registry.register(
            "defer_runner_last_wake_timestamp_seconds",
            "When a runner last woke on this host (Unix time, from the wake record)",
            gauge,
        );
    }
    if let Some(attempts) = attempts {
        attempts.register(&mut registry);
    }
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?;
    Ok(text)
}

fn flag(on: bool) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(i64::from(on));
    gauge
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::overview::StatusCount;
    use crate::record::Status;

    #[test]
    fn every_metric_is_named_typed_and_described() {
        let state = MetricsReply {
            active: vec![
                StatusCount {
                    status: Status::Scheduled,
                    count: 3,
                },
                StatusCount {
                    status: Status::Failed,
                    count: 1,
                },
            ],
            paused: true,
            last_wake: Stamp::parse("2026-04-08T16:35:00Z"),
            runner_fault: false,
        };
        let attempts = Attempts::new();
        attempts.duration.observe(2.0);
        let text = encode(&state, Some(&attempts)).expect("encoded");
        for line in [
            "# TYPE defer_tasks gauge",
            "defer_tasks{status=\"scheduled\"} 3",
            "defer_tasks{status=\"failed\"} 1",
            "defer_store_paused 1",
            "defer_runner_fault 0",
            "defer_runner_last_wake_timestamp_seconds 1775666100",
            "# TYPE defer_task_attempts_total counter",
            "defer_task_attempts_total{outcome=\"timed_out\"} 0",
            "# TYPE defer_task_duration_seconds histogram",
            "defer_task_duration_seconds_bucket{le=\"5\"} 1",
            "defer_task_duration_seconds_count 1",
            "defer_task_lateness_seconds_count 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
        }
        let without = encode(&state, None).expect("encoded");
        assert!(!without.contains("defer_task_attempts"), "{without}");
    }
}
