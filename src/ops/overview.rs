//! The overview an operator keeps open: how many tasks are in each state now, and how many
//! completed, failed and were missed per hour over the last day and per day over the last 30
//! (days of `DEFER_TIMEZONE`). One read of the store ([`Store::tally`]); the dashboard's first
//! page, `GET /api/v1/overview` and `/metrics` all answer from it.

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Result;
use crate::lifecycle::Pause;
use crate::record::{Stamp, Status};
use crate::store::{Store, Tally};

/// Where a database stops counting for a person (the overview, a listing's first page).
pub use crate::store::page::COUNT_CAP;

/// How many hours the hourly chart covers, and how many days the daily one.
pub const HOURS: i64 = 24;
pub const DAYS: i64 = 30;

/// The overview; it takes nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OverviewRequest {}

/// The counts of the overview's first row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Counts {
    /// Scheduled (due or not).
    pub scheduled: u64,
    /// Executing now.
    pub executing: u64,
    /// Scheduled and due: waiting for a runner to claim them.
    pub due: u64,
    /// Completed in the last 24 hours.
    pub completed_24h: u64,
    /// Failed in the last 24 hours.
    pub failed_24h: u64,
    /// Skipped as missed in the last 24 hours.
    pub missed_24h: u64,
}

/// Finished tasks in one hour or one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Bucket {
    /// Where the bucket starts, UTC.
    pub start: Stamp,
    /// The bucket in the user's zone: "14:00" for an hour, "Mon 12-07" for a day.
    pub label: String,
    pub completed: u64,
    pub failed: u64,
    pub missed: u64,
}

/// The overview.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OverviewReply {
    pub counts: Counts,
    /// Tasks in the active store (not yet archived) per status, every status named.
    pub active: Vec<StatusCount>,
    /// The last 24 hours, oldest first, the current hour last.
    pub hourly: Vec<Bucket>,
    /// The last 30 days in the user's zone, oldest first, today last.
    pub daily: Vec<Bucket>,
    /// Runners of this store are paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    /// A database stopped counting some status (or the due tasks) at 10,000: those counts
    /// say 10,001 and mean at least that many.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub counts_capped: bool,
    /// The IANA zone the labels are in.
    pub timezone: String,
    /// The overview in words.
    pub message: String,
}

/// How many tasks of the active store are in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StatusCount {
    pub status: Status,
    pub count: u64,
}

/// The overview of `store` now, for a person: a database stops counting a status past
/// [`crate::store::page::COUNT_CAP`] (`counts_capped`), as a listing's first page does.
pub fn overview(
    config: &Config,
    store: &dyn Store,
    _req: &OverviewRequest,
) -> Result<OverviewReply> {
    counted(config, store, Some(COUNT_CAP as u64))
}

/// The overview with every count exact, for `/metrics` (a gauge must not stop at a cap).
pub fn exact(config: &Config, store: &dyn Store) -> Result<OverviewReply> {
    counted(config, store, None)
}

fn counted(config: &Config, store: &dyn Store, cap: Option<u64>) -> Result<OverviewReply> {
    let now = config.clock.now();
    let zone = config.clock.zone().clone();
    // Calendar arithmetic on the present cannot leave jiff's range; were it to, the charts
    // would start at now rather than fail the page.
    let local = now.to_zoned_datetime(zone.clone());
    let today = local.start_of_day().unwrap_or(local);
    let first_day = today
        .checked_sub((DAYS - 1).days())
        .unwrap_or(today.clone());
    let this_hour = Timestamp::from_second(now.as_second().div_euclid(3600) * 3600).unwrap_or(now);
    let first_hour = this_hour
        .checked_sub((HOURS - 1).hours())
        .unwrap_or(this_hour);
    let since = first_day.timestamp().min(first_hour);
    let tally = store.tally(now, since, cap)?;

    let mut hourly: Vec<Bucket> = (0..HOURS)
        .map(|i| {
            let start = first_hour.saturating_add(i.hours()).unwrap_or(first_hour);
            Bucket::empty(
                start,
                start.to_zoned_datetime(zone.clone()).strftime("%H:%M"),
            )
        })
        .collect();
    let mut daily: Vec<Bucket> = (0..DAYS)
        .map(|i| {
            let day = first_day.checked_add(i.days()).unwrap_or(first_day.clone());
            let label = day.strftime("%a %m-%d");
            Bucket::empty(day.timestamp(), label)
        })
        .collect();
    for f in &tally.finished {
        if let Some(b) = hourly
            .iter_mut()
            .rfind(|b| b.start.timestamp() <= f.hour && f.hour >= first_hour)
        {
            b.add(f.status, f.missed, f.count);
        }
        if let Some(b) = daily
            .iter_mut()
            .rfind(|b| b.start.timestamp() <= f.hour && f.hour >= first_day.timestamp())
        {
            b.add(f.status, f.missed, f.count);
        }
    }
    let sum = |pick: fn(&Bucket) -> u64| hourly.iter().map(pick).sum::<u64>();
    let in_state = |s: Status| {
        tally
            .active
            .iter()
            .find(|(t, _)| *t == s)
            .map_or(0, |(_, n)| *n)
    };
    let counts = Counts {
        scheduled: in_state(Status::Scheduled),
        executing: in_state(Status::Executing),
        due: tally.due,
        completed_24h: sum(|b| b.completed),
        failed_24h: sum(|b| b.failed),
        missed_24h: sum(|b| b.missed),
    };
    let paused = super::pause::current(config, store)?;
    let message = format!(
        "{} scheduled ({} due), {} executing; in the last 24 hours {} completed, {} failed, {} \
         missed{}",
        counts.scheduled,
        counts.due,
        counts.executing,
        counts.completed_24h,
        counts.failed_24h,
        counts.missed_24h,
        paused
            .as_ref()
            .map(|p| format!("; {}", super::pause::describe_local(config, p)))
            .unwrap_or_default()
    );
    let message = if tally.capped {
        format!("{message} (a count of 10,001 means more than 10,000)")
    } else {
        message
    };
    Ok(OverviewReply {
        counts,
        active: active_counts(&tally),
        hourly,
        daily,
        paused,
        counts_capped: tally.capped,
        timezone: config.clock.zone_name(),
        message,
    })
}

/// Every status, with its count in the active store (0 when none).
fn active_counts(tally: &Tally) -> Vec<StatusCount> {
    Status::ALL
        .iter()
        .filter_map(|s| s.parse::<Status>().ok())
        .map(|status| StatusCount {
            status,
            count: tally
                .active
                .iter()
                .find(|(t, _)| *t == status)
                .map_or(0, |(_, n)| *n),
        })
        .collect()
}

impl Bucket {
    fn empty(start: Timestamp, label: impl std::fmt::Display) -> Bucket {
        Bucket {
            start: Stamp(start),
            label: label.to_string(),
            completed: 0,
            failed: 0,
            missed: 0,
        }
    }

    /// Counts finished tasks in: completed, failed, missed (a cancel that is not a miss is
    /// not charted: a person chose it).
    fn add(&mut self, status: Status, missed: bool, count: u64) {
        match status {
            Status::Completed => self.completed += count,
            Status::Failed => self.failed += count,
            Status::Cancelled if missed => self.missed += count,
            _ => {}
        }
    }
}
