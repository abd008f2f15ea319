//! Series: the next occurrence after one finishes, and catching up after missed rule times.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::Result;
use crate::record::{Stamp, Status, Task, validate_id};

/// The zone a series' rule is evaluated in: the one its first occurrence was scheduled in
/// (the record's `timezone`), so a runner in another zone keeps the series at the same local
/// time; the runner's zone when that is not a known IANA name.
pub fn series_zone(task: &Task, fallback: &TimeZone) -> TimeZone {
    task.timezone
        .as_deref()
        .and_then(|name| TimeZone::get(name).ok())
        .unwrap_or_else(|| fallback.clone())
}

/// The record of a series' next occurrence after `task` finished (whatever its outcome), or
/// `None` when the task is not recurring, the series was ended, or `count`/`until` is reached.
///
/// The time comes from the rule and this occurrence's *scheduled* time, not from when it ran.
pub fn next_occurrence(task: &Task, zone: &TimeZone, now: Timestamp) -> Result<Option<Task>> {
    let Some(series) = &task.series else {
        return Ok(None);
    };
    if series.ended || series.count.is_some_and(|count| series.occurrence >= count) {
        return Ok(None);
    }
    let from = series
        .scheduled_for
        .timestamp()
        .to_zoned_datetime(series_zone(task, zone));
    let next = series.rule.next(&from, false)?;
    if series
        .until
        .is_some_and(|until| next.timestamp() > until.timestamp())
    {
        return Ok(None);
    }
    let occurrence = series.occurrence.saturating_add(1);
    let mut t = task.clone();
    t.id = format!("{}.{occurrence}", series.id);
    validate_id(&t.id)?;
    t.created_at = Stamp(now);
    t.run_at = Stamp(next.timestamp());
    t.status = Status::Scheduled;
    t.attempts = 0;
    t.started_at = None;
    t.completed_at = None;
    t.failed_at = None;
    t.cancelled_at = None;
    t.cancel_reason = None;
    t.last_attempt_at = None;
    t.last_error = None;
    t.error = None;
    t.result = None;
    if let Some(s) = t.series.as_mut() {
        s.occurrence = occurrence;
        s.scheduled_for = Stamp(next.timestamp());
        s.missed = None;
    }
    Ok(Some(t))
}

/// A series occurrence found after later rule times have passed stands in for the latest of
/// them: it is relabelled to that time and occurrence number, so missed occurrences run once,
/// not in a burst. `count` and `until` still bound it.
pub fn catch_up(task: &mut Task, zone: &TimeZone, now: Timestamp) -> Result<()> {
    let zone = series_zone(task, zone);
    let Some(series) = task.series.as_mut() else {
        return Ok(());
    };
    let scheduled = series.scheduled_for.timestamp().to_zoned_datetime(zone);
    let not_after = series.until.map_or(now, |until| until.timestamp().min(now));
    let max_steps = series
        .count
        .map_or(u32::MAX, |count| count.saturating_sub(series.occurrence));
    if let Some((latest, skipped)) = series
        .rule
        .latest_missed(&scheduled, not_after, max_steps)?
    {
        series.occurrence = series.occurrence.saturating_add(skipped);
        series.missed = Some(skipped);
        series.scheduled_for = Stamp(latest.timestamp());
        task.run_at = series.scheduled_for;
    }
    Ok(())
}
