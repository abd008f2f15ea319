//! The order of every listing, on every store and every front end: what is still to happen
//! first, soonest first (scheduled and executing tasks by `run_at`), then what has happened,
//! most recent first (completed, failed and cancelled tasks by the time they reached that
//! state). People read a list of tasks as an agenda and then a log, as `atq` and `pueue status`
//! do; insertion order said nothing.
//!
//! One rule, two implementations: the file store sorts by [`ListKey`], the database by the
//! `listed_at` column ([`listed_at`], written with every row) and the same tie-break on the
//! id's bytes (`COLLATE "C"`). The conformance suite lists one set of tasks on both and
//! compares.

use jiff::Timestamp;

use crate::record::{Stamp, Status, Task};

/// Whether a status lists in the first part (the agenda) rather than the second (the log).
pub fn is_upcoming(status: Status) -> bool {
    matches!(status, Status::Scheduled | Status::Executing)
}

/// The instant a record is listed by: `run_at` while it is to happen; afterwards the stamp of
/// the state it reached (`completed_at`, `failed_at`, `cancelled_at`), else `created_at`.
/// `stamp` looks a field up by name, so the file store can answer from its quick scan of a
/// line and the database from a typed record.
pub fn listed_at(status: Status, stamp: impl Fn(&str) -> Option<Stamp>) -> Option<Stamp> {
    let own = match status {
        Status::Scheduled | Status::Executing => return stamp("run_at"),
        Status::Completed => "completed_at",
        Status::Failed => "failed_at",
        Status::Cancelled => "cancelled_at",
    };
    stamp(own).or_else(|| stamp("created_at"))
}

/// [`listed_at`] of a typed record.
pub fn listed_at_of(task: &Task) -> Option<Stamp> {
    listed_at(task.status, |field| match field {
        "run_at" => Some(task.run_at),
        "created_at" => Some(task.created_at),
        "completed_at" => task.completed_at,
        "failed_at" => task.failed_at,
        "cancelled_at" => task.cancelled_at,
        _ => None,
    })
}

/// Where a record sits in a listing; smaller lists first. A record without its stamp lists
/// last within its part (the database's `NULLS LAST`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListKey {
    /// The log after the agenda.
    done: bool,
    /// Ascending in the agenda; descending (negated) in the log; absent last in both.
    at: (bool, i128),
    /// The tie-break: the id's bytes.
    id: String,
}

impl ListKey {
    pub fn new(status: Status, listed_at: Option<Stamp>, id: &str) -> ListKey {
        let done = !is_upcoming(status);
        let nanos = |t: Timestamp| t.as_nanosecond();
        let at = match listed_at {
            None => (true, 0),
            Some(s) if done => (false, -nanos(s.timestamp())),
            Some(s) => (false, nanos(s.timestamp())),
        };
        ListKey {
            done,
            at,
            id: id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(status: Status, at: Option<&str>, id: &str) -> ListKey {
        ListKey::new(status, at.and_then(Stamp::parse), id)
    }

    #[test]
    fn the_agenda_comes_first_soonest_first_then_the_log_most_recent_first() {
        let mut keys = [
            key(Status::Completed, Some("2026-01-01T00:00:00Z"), "old-done"),
            key(Status::Scheduled, Some("2026-05-01T00:00:00Z"), "later"),
            key(Status::Failed, Some("2026-03-01T00:00:00Z"), "recent-fail"),
            key(Status::Executing, Some("2026-02-01T00:00:00Z"), "running"),
            key(
                Status::Scheduled,
                Some("2026-05-01T00:00:00Z"),
                "b-same-time",
            ),
            key(Status::Cancelled, None, "no-stamp"),
            key(Status::Scheduled, None, "no-due"),
        ];
        keys.sort();
        let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "running",
                "b-same-time",
                "later",
                "no-due",
                "recent-fail",
                "old-done",
                "no-stamp"
            ]
        );
    }

    #[test]
    fn a_finished_task_is_listed_by_the_time_it_finished() {
        let stamps = |field: &str| match field {
            "created_at" => Stamp::parse("2026-01-01T00:00:00Z"),
            "failed_at" => Stamp::parse("2026-02-02T00:00:00Z"),
            "run_at" => Stamp::parse("2026-01-05T00:00:00Z"),
            _ => None,
        };
        assert_eq!(
            listed_at(Status::Failed, stamps),
            Stamp::parse("2026-02-02T00:00:00Z")
        );
        assert_eq!(
            listed_at(Status::Completed, stamps),
            Stamp::parse("2026-01-01T00:00:00Z"),
            "no completed_at: created_at"
        );
        assert_eq!(
            listed_at(Status::Executing, stamps),
            Stamp::parse("2026-01-05T00:00:00Z")
        );
    }
}
