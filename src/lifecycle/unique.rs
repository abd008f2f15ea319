//! Unique keys: "schedule this exactly once".
//!
//! A task scheduled with a key *holds* it while it is scheduled or executing; a later
//! `schedule` with the same key stores nothing and answers with the holder. With a window
//! (`--unique-for 1h`), a task with the key that completed within it holds the key too, so
//! work that just ran is not scheduled again. Failed and cancelled tasks hold nothing: the
//! work did not happen, so scheduling it again is what a caller wants.
//!
//! A series holds its key as one: each occurrence passes it to the next in the same write,
//! and a re-run of a past occurrence (`retry`) shares it with its series. Anything else that
//! would make a second task with a held key pending (a `retry` of a task whose key another
//! task took meanwhile) is refused.
//!
//! The stores find the tasks that carry a key under their lock (the file lock; a per-key
//! advisory lock on PostgreSQL, whose partial unique index enforces the same rule) and ask
//! the functions here; nothing else decides.

use jiff::Timestamp;

use crate::error::Error;
use crate::record::{Status, Task};

/// What a keyed `schedule` asks: which key, and since when a completed task still holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueAsk {
    pub key: String,
    /// `now - unique_for`; `None` when only pending tasks hold the key.
    pub completed_since: Option<Timestamp>,
}

impl UniqueAsk {
    /// The statuses a store must look at for this ask.
    pub fn statuses(&self) -> &'static [Status] {
        if self.completed_since.is_some() {
            &[Status::Scheduled, Status::Executing, Status::Completed]
        } else {
            &[Status::Scheduled, Status::Executing]
        }
    }
}

/// Whether `task` holds `ask.key` now: it carries the key and is scheduled or executing, or
/// completed no earlier than the window's start.
pub fn holds(task: &Task, ask: &UniqueAsk) -> bool {
    if task.unique_key.as_deref() != Some(ask.key.as_str()) {
        return false;
    }
    match task.status {
        Status::Scheduled | Status::Executing => true,
        Status::Completed => match (ask.completed_since, task.completed_at) {
            (Some(since), Some(done)) => done.timestamp() >= since,
            _ => false,
        },
        Status::Failed | Status::Cancelled => false,
    }
}

/// The task a new schedule with `ask` answers with instead of storing one, among the
/// records a store found with the key (in any order): a pending one first (the soonest due),
/// else the one that completed last.
pub fn holder(found: Vec<Task>, ask: &UniqueAsk) -> Option<Task> {
    let mut holding: Vec<Task> = found.into_iter().filter(|t| holds(t, ask)).collect();
    holding.sort_by(|a, b| {
        let pending = |t: &Task| !matches!(t.status, Status::Scheduled | Status::Executing);
        pending(a)
            .cmp(&pending(b))
            .then_with(|| match (a.status, b.status) {
                (Status::Completed, Status::Completed) => b.completed_at.cmp(&a.completed_at),
                _ => a.run_at.cmp(&b.run_at),
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    holding.into_iter().next()
}

/// Whether `task`, about to become pending again (a retry), would share its key with
/// `other`, a pending task that carries the same key: refused unless both are occurrences of
/// one series (a series holds its key as one).
pub fn conflict(task: &Task, other: &Task) -> Option<Error> {
    let key = task.unique_key.as_deref()?;
    if task.id == other.id
        || other.unique_key.as_deref() != Some(key)
        || !matches!(other.status, Status::Scheduled | Status::Executing)
    {
        return None;
    }
    let series = |t: &Task| t.series.as_ref().map(|s| s.id.clone());
    if series(task).is_some() && series(task) == series(other) {
        return None;
    }
    Some(Error::UniqueKeyHeld {
        key: key.to_string(),
        holder: other.id.clone(),
        status: other.status.to_string(),
    })
}

/// Whether a change that leaves `task` pending must be checked against the other holders of
/// its key: it carries one and was not pending before (`was` is its status as found).
pub fn needs_check(task: &Task, was: Option<Status>) -> bool {
    task.unique_key.is_some()
        && matches!(task.status, Status::Scheduled | Status::Executing)
        && !matches!(was, Some(Status::Scheduled | Status::Executing))
}

/// Whether a pending `task` shares its key with its series instead of holding it alone: a
/// re-run (`retry`) of an occurrence, which may be pending beside the series' next one. The
/// PostgreSQL store leaves such rows out of its unique index; every other pending task with a
/// key is in it, so the database refuses a second one whatever path wrote it.
pub fn shares_series_key(task: &Task) -> bool {
    task.series.is_some() && task.retried > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Stamp;

    fn task(id: &str, key: Option<&str>, status: Status) -> Task {
        let mut t: Task = serde_json::from_value(serde_json::json!({
            "id": id, "created_at": "2026-04-08T16:00:00Z", "run_at": "2026-04-08T17:00:00Z",
            "status": status.as_str(),
        }))
        .expect("task");
        t.unique_key = key.map(str::to_string);
        t
    }

    fn ask(key: &str, since: Option<&str>) -> UniqueAsk {
        UniqueAsk {
            key: key.into(),
            completed_since: since.and_then(Stamp::parse).map(|s| s.timestamp()),
        }
    }

    #[test]
    fn pending_tasks_hold_their_key_and_finished_ones_do_not() {
        for (status, held) in [
            (Status::Scheduled, true),
            (Status::Executing, true),
            (Status::Completed, false),
            (Status::Failed, false),
            (Status::Cancelled, false),
        ] {
            assert_eq!(holds(&task("a", Some("k"), status), &ask("k", None)), held);
        }
        assert!(!holds(
            &task("a", Some("other"), Status::Scheduled),
            &ask("k", None)
        ));
        assert!(!holds(&task("a", None, Status::Scheduled), &ask("k", None)));
    }

    #[test]
    fn a_window_makes_recently_completed_tasks_hold_the_key() {
        let mut done = task("a", Some("k"), Status::Completed);
        done.completed_at = Stamp::parse("2026-04-08T16:30:00Z");
        assert!(holds(&done, &ask("k", Some("2026-04-08T16:00:00Z"))));
        assert!(holds(&done, &ask("k", Some("2026-04-08T16:30:00Z"))));
        assert!(!holds(&done, &ask("k", Some("2026-04-08T16:31:00Z"))));
        let mut failed = task("b", Some("k"), Status::Failed);
        failed.failed_at = done.completed_at;
        assert!(!holds(&failed, &ask("k", Some("2026-04-08T16:00:00Z"))));
    }

    #[test]
    fn the_holder_is_a_pending_task_before_a_completed_one() {
        let mut done = task("done", Some("k"), Status::Completed);
        done.completed_at = Stamp::parse("2026-04-08T16:30:00Z");
        let pending = task("pending", Some("k"), Status::Scheduled);
        let found = vec![done.clone(), pending.clone()];
        let a = ask("k", Some("2026-04-08T16:00:00Z"));
        assert_eq!(holder(found, &a).map(|t| t.id), Some("pending".into()));
        assert_eq!(holder(vec![done], &a).map(|t| t.id), Some("done".into()));
        assert_eq!(holder(Vec::new(), &a), None);
    }

    #[test]
    fn a_retry_beside_another_holder_is_refused_unless_it_is_the_same_series() {
        let mut retried = task("old", Some("k"), Status::Scheduled);
        let holder = task("new", Some("k"), Status::Scheduled);
        let e = conflict(&retried, &holder).expect("refused");
        assert!(
            e.to_string().contains("held by task new (scheduled)"),
            "{e}"
        );
        let series: crate::record::Series = serde_json::from_value(serde_json::json!({
            "id": "s", "rule": "every 1d", "occurrence": 1,
            "scheduled_for": "2026-04-08T17:00:00Z"
        }))
        .expect("series");
        retried.series = Some(series.clone());
        let mut next = holder.clone();
        next.series = Some(series);
        assert!(
            conflict(&retried, &next).is_none(),
            "one series holds its key as one"
        );
        assert!(
            conflict(&retried, &holder).is_some(),
            "another task is another holder"
        );
        assert!(
            conflict(&holder, &holder).is_none(),
            "a task never conflicts with itself"
        );
    }
}
