//! The operations: what anyone can ask of `defer`, each as one request type and one reply
//! type, whichever front end asks.
//!
//! The CLI (`commands/`), MCP over stdio and HTTP (`mcp/`), the JSON API and the dashboard
//! (`serve/`) each turn their wire form into a request here and the reply into their wire
//! form, nothing more; none imports another. Validation, defaults, warnings and the wording
//! of refusals and confirmations live here, once, so a task tells the same story wherever one
//! looks. Every change goes through `lifecycle` (which decides) and a `Store` (which finds,
//! locks and writes). JSON front ends read requests with [`wire`] and describe them with the
//! schemas of [`schema`], generated from these types.
//!
//! | operation | request | reply |
//! |---|---|---|
//! | schedule | [`schedule::ScheduleRequest`] | [`schedule::ScheduleReply`] |
//! | list, one page | [`list::ListRequest`] | [`list::ListReply`] |
//! | show | [`show::ShowRequest`] | [`show::ShowReply`] |
//! | cancel | [`cancel::CancelRequest`] | [`TaskChange`] |
//! | end a series | [`cancel::CancelSeriesRequest`] | [`cancel::CancelSeriesReply`] |
//! | retry | [`retry::RetryRequest`] | [`TaskChange`] |
//! | reschedule | [`reschedule::RescheduleRequest`] | [`TaskChange`] |
//! | run now | [`run_now::RunNowRequest`] | [`run_now::RunNowReply`] |
//! | pause, resume | [`pause::PauseRequest`], [`pause::ResumeRequest`] | [`pause::PauseReply`] |
//! | logs (output) | [`logs::LogsRequest`] | [`logs::LogsReply`] |
//! | why | [`why::WhyRequest`] | [`why::WhyReply`] |
//! | doctor | (none) | [`doctor::DoctorReply`] |
//! | overview | [`overview::OverviewRequest`] | [`overview::OverviewReply`] |
//! | metrics (scrape-time state) | [`metrics::MetricsRequest`] | [`metrics::MetricsReply`] |
//! | normalize a time | [`time::NormalizeRequest`] | [`time::TimeReply`] |
//! | prune | [`prune::PruneRequest`] | [`prune::PruneReply`] |
//! | archive | (none) | [`archive::ArchiveReply`] |

pub mod archive;
pub mod bulk;
pub mod cancel;
pub mod doctor;
pub mod list;
pub mod logs;
pub mod metrics;
pub mod overview;
pub mod pause;
pub mod prune;
pub mod reschedule;
pub mod resolve;
pub mod retry;
pub mod run_now;
pub mod schedule;
#[cfg(feature = "schema")]
pub mod schema;
pub mod series;
pub mod show;
pub mod time;
pub mod why;
pub mod wire;

use serde::Serialize;

use crate::config::Config;
use crate::record::{Stamp, Task};

/// What an operation that changed one task answers: cancel, retry, reschedule.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskChange {
    /// The task record as it now is.
    pub task: Task,
    /// When it runs (or was due), UTC (YYYY-MM-DDTHH:MM:SSZ).
    pub run_at: Stamp,
    /// The IANA zone times are read and shown in.
    pub timezone: String,
    /// When it runs (or was due) in that zone, and how far away: "Fri 2026-11-27 09:00 EST,
    /// in 22h 59m".
    pub description: String,
    /// The server's current local time, ISO 8601 with its offset.
    pub now_local: String,
    /// What happened, in one sentence.
    pub message: String,
    /// Things worth knowing that did not stop it, e.g. a time already past.
    pub warnings: Vec<String>,
}

impl TaskChange {
    /// The reply for `task`, changed as `message` says.
    fn new(config: &Config, task: Task, message: String, warnings: Vec<String>) -> TaskChange {
        TaskChange {
            run_at: task.run_at,
            timezone: config.clock.zone_name(),
            description: config.clock.describe(task.run_at.timestamp()),
            now_local: now_local(config),
            message,
            warnings,
            task,
        }
    }
}

/// A time in the past as `prune --before` and `--since` take it: a duration ago (`90d`, `6
/// months`, `24h`) or a time of the grammar that is not in the future (`2026-01-01`).
pub fn past_time(
    config: &Config,
    expr: &str,
    arg: crate::error::Arg,
) -> crate::error::Result<jiff::Timestamp> {
    use crate::error::{ArgProblem, Error};
    let now = config.clock.now_zoned();
    if let Ok(interval) = crate::when::parse_interval(expr) {
        let back = crate::when::Interval {
            months: -interval.months,
            days: -interval.days,
            nanos: -interval.nanos,
        };
        return back
            .add_to(&now)
            .map(|z| z.timestamp())
            .map_err(|e| Error::time_arg(arg, e));
    }
    let at = crate::when::parse(expr, &now).map_err(|e| Error::time_arg(arg, e))?;
    if at.timestamp() > now.timestamp() {
        return Err(Error::Argument {
            arg,
            value: Some(expr.to_string()),
            problem: ArgProblem::Invalid {
                reason: format!(
                    "it means {}, in the future; give a past time or how long ago",
                    crate::when::local_time(&at)
                ),
                example: Some(if arg == crate::error::Arg::Before {
                    "90d"
                } else {
                    "24h"
                }),
            },
        });
    }
    Ok(at.timestamp())
}

/// "now" in the user's zone, ISO 8601 with its offset: every reply that takes a time says
/// what the server's clock read, so a caller in another zone can check.
pub fn now_local(config: &Config) -> String {
    config
        .clock
        .now_zoned()
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The warning for a time expression that resolved to the past.
pub(crate) fn past_warning(when: &str, run_at: Stamp) -> String {
    format!(
        "{:?} resolves to {run_at}, which is in the past; the task is due now",
        when.trim()
    )
}
