//! Opening and closing a task's attempts (`history` in the record).
//!
//! An attempt opens when a runner claims the task and closes when the lifecycle decides the
//! outcome; nothing else writes one. A closed attempt is never changed again, so a retry adds
//! attempts after the old ones and every view (`logs`, `show`, the API, the dashboard) reads
//! the same story.

use jiff::Timestamp;

use crate::record::{Attempt, AttemptOutcome, HISTORY_KEEP, MAX_ATTEMPT_ERROR, Stamp, Task};

/// What closes an attempt besides its outcome.
#[derive(Debug, Clone, Default)]
pub struct Closing {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub error: Option<String>,
    pub stdout_path: Option<String>,
    pub stderr_path: Option<String>,
}

/// The number the next attempt gets: one more than every attempt so far, dropped ones
/// included.
pub fn next_number(task: &Task) -> u32 {
    let kept = u32::try_from(task.history.len()).unwrap_or(u32::MAX);
    task.history_dropped.saturating_add(kept).saturating_add(1)
}

/// Opens an attempt at `now`. An attempt still open (its runner died before anything closed
/// it) is closed first as interrupted, so the history never holds two open ones.
pub fn open(task: &mut Task, now: Timestamp) {
    if task.history.last().is_some_and(Attempt::is_open) {
        close(
            task,
            AttemptOutcome::Interrupted,
            Closing {
                error: Some("the runner stopped before recording an outcome".into()),
                ..Closing::default()
            },
            now,
        );
    }
    let number = next_number(task);
    task.history.push(Attempt::open(number, Stamp(now)));
    trim(task);
}

/// Closes the open attempt with `outcome`. A task with no open attempt (a record written
/// before attempts were kept, or claimed by an older version) gets one, so the history still
/// says what happened.
pub fn close(task: &mut Task, outcome: AttemptOutcome, closing: Closing, now: Timestamp) {
    if !task.history.last().is_some_and(Attempt::is_open) {
        let started = task.started_at.unwrap_or(Stamp(now));
        let number = next_number(task);
        task.history.push(Attempt::open(number, started));
    }
    let Some(attempt) = task.history.last_mut() else {
        return;
    };
    attempt.ended_at = Some(Stamp(now));
    attempt.outcome = Some(outcome);
    attempt.exit_code = closing.exit_code;
    attempt.signal = closing.signal;
    attempt.error = closing.error.map(|e| cut(&e));
    attempt.stdout_path = closing.stdout_path;
    attempt.stderr_path = closing.stderr_path;
    trim(task);
}

/// Keeps the last [`HISTORY_KEEP`] attempts, counting the ones dropped.
fn trim(task: &mut Task) {
    let over = task.history.len().saturating_sub(HISTORY_KEEP);
    if over > 0 {
        task.history.drain(..over);
        task.history_dropped = task
            .history_dropped
            .saturating_add(u32::try_from(over).unwrap_or(u32::MAX));
    }
}

/// At most [`MAX_ATTEMPT_ERROR`] characters, marked when cut.
fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_ATTEMPT_ERROR {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_ATTEMPT_ERROR).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        Task::from_json(
            br#"{"id":"t","created_at":"2026-04-08T16:00:00Z","run_at":"2026-04-08T16:00:00Z","status":"scheduled"}"#,
        )
        .expect("task")
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_775_664_000 + minute * 60).expect("ts")
    }

    #[test]
    fn attempts_are_numbered_and_closed_once() {
        let mut t = task();
        open(&mut t, at(0));
        close(&mut t, AttemptOutcome::Failed, Closing::default(), at(1));
        open(&mut t, at(2));
        assert_eq!(t.history.len(), 2);
        assert_eq!(t.history[1].attempt, 2);
        assert!(t.history[1].is_open());
        assert_eq!(t.history[0].outcome, Some(AttemptOutcome::Failed));
        // A second open closes a dangling one as interrupted.
        open(&mut t, at(3));
        assert_eq!(t.history[1].outcome, Some(AttemptOutcome::Interrupted));
        assert_eq!(t.history[2].attempt, 3);
    }

    #[test]
    fn only_the_last_attempts_are_kept_and_the_rest_counted() {
        let mut t = task();
        for i in 0..(HISTORY_KEEP as i64 + 5) {
            open(&mut t, at(i));
            close(&mut t, AttemptOutcome::Failed, Closing::default(), at(i));
        }
        assert_eq!(t.history.len(), HISTORY_KEEP);
        assert_eq!(t.history_dropped, 5);
        assert_eq!(t.history[0].attempt, 6);
        assert_eq!(next_number(&t), HISTORY_KEEP as u32 + 6);
    }

    #[test]
    fn a_close_without_an_open_attempt_records_one() {
        let mut t = task();
        let long = "x".repeat(MAX_ATTEMPT_ERROR + 10);
        close(
            &mut t,
            AttemptOutcome::Interrupted,
            Closing {
                error: Some(long),
                ..Closing::default()
            },
            at(5),
        );
        assert_eq!(t.history.len(), 1);
        let error = t.history[0].error.as_deref().expect("error");
        assert_eq!(error.chars().count(), MAX_ATTEMPT_ERROR + 1);
    }
}
