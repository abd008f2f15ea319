//! Series, one line each, as `systemctl list-timers` shows timers: the rule, the next run, the
//! last run and how it ended, and how its occurrences went. A series is the records that share
//! a `series.id` (its first occurrence's id), active and archived, so this reads the whole
//! listing.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Result;
use crate::lifecycle;
use crate::record::{Stamp, Status, Task};
use crate::store::{Query, Store, order};

/// Which series to show.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SeriesRequest {
    /// Ended series too (default: only those with an occurrence still to come).
    #[serde(default, deserialize_with = "super::wire::null_as_false")]
    pub all: bool,
}

/// How a series' occurrences went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SeriesCounts {
    pub completed: u32,
    pub failed: u32,
    pub missed: u32,
    pub cancelled: u32,
}

/// One series.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SeriesSummary {
    /// The series id (its first occurrence's id): what `cancel --series` takes.
    pub id: String,
    /// The rule: `every 1d`, `cron 0 9 * * 1-5`.
    pub rule: String,
    /// The latest occurrence's summary.
    pub summary: String,
    /// The occurrence still to come (scheduled or executing), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_id: Option<String>,
    /// When it is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run: Option<Stamp>,
    /// When the latest finished occurrence finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Stamp>,
    /// How it ended: completed, failed, missed or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<String>,
    pub counts: SeriesCounts,
    /// How many occurrences are on record.
    pub occurrences: u32,
    /// No occurrence will follow: ended by `cancel --series`, or its rule ran out.
    pub ended: bool,
}

/// The series of a store.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SeriesReply {
    /// Soonest next run first; ended series last, latest first.
    pub series: Vec<SeriesSummary>,
    /// How many, in words.
    pub message: String,
}

/// Every series of `store` (with `all`, ended ones too).
pub fn series(_config: &Config, store: &dyn Store, req: &SeriesRequest) -> Result<SeriesReply> {
    let mut found: Vec<(SeriesSummary, Option<Stamp>)> = Vec::new();
    let query = Query {
        statuses: Vec::new(),
        include_archive: true,
        ..Query::default()
    };
    store.list(&query, &mut |line| {
        // A record that does not read is `check`'s business, not the series view's.
        let Ok(task) = Task::from_json(line) else {
            return Ok(());
        };
        let Some(series) = &task.series else {
            return Ok(());
        };
        let at = order::listed_at_of(&task);
        let index = match found.iter().position(|(s, _)| s.id == series.id) {
            Some(i) => i,
            None => {
                found.push((
                    SeriesSummary {
                        id: series.id.clone(),
                        rule: series.rule.text(),
                        summary: String::new(),
                        next_id: None,
                        next_run: None,
                        last_run: None,
                        last_outcome: None,
                        counts: SeriesCounts::default(),
                        occurrences: 0,
                        ended: false,
                    },
                    None,
                ));
                found.len() - 1
            }
        };
        let (summary, latest) = &mut found[index];
        summary.occurrences += 1;
        summary.ended |= series.ended;
        // The listing gives the next occurrence first, then finished ones latest first.
        if summary.summary.is_empty() {
            summary.summary = task.context.summary.clone();
        }
        if order::is_upcoming(task.status) {
            if summary.next_run.is_none() {
                summary.next_run = Some(task.run_at);
                summary.next_id = Some(task.id.clone());
                summary.rule = series.rule.text();
            }
            return Ok(());
        }
        let outcome = match task.status {
            Status::Completed => {
                summary.counts.completed += 1;
                "completed"
            }
            Status::Failed => {
                summary.counts.failed += 1;
                "failed"
            }
            _ if lifecycle::is_missed(&task) => {
                summary.counts.missed += 1;
                "missed"
            }
            _ => {
                summary.counts.cancelled += 1;
                "cancelled"
            }
        };
        if latest.is_none_or(|l| at.is_some_and(|a| a > l)) || summary.last_outcome.is_none() {
            *latest = at;
            summary.last_run = at;
            summary.last_outcome = Some(outcome.to_string());
        }
        Ok(())
    })?;
    let mut series: Vec<SeriesSummary> = found
        .into_iter()
        .map(|(mut s, _)| {
            s.ended |= s.next_run.is_none();
            s
        })
        .filter(|s| req.all || !s.ended)
        .collect();
    series.sort_by(|a, b| match (a.next_run, b.next_run) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b.last_run.cmp(&a.last_run),
    });
    let message = match series.len() {
        0 if req.all => "No series.".to_string(),
        0 => "No series has an occurrence to come (all include ended ones).".to_string(),
        1 => "1 series.".to_string(),
        n => format!("{n} series."),
    };
    Ok(SeriesReply { series, message })
}
