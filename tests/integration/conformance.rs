//! One conformance suite for every `Store`: each scenario drives the trait directly, with the
//! lifecycle deciding every change, and runs against the JSONL store and (with
//! `DEFER_TEST_DATABASE_URL`) PostgreSQL. A backend passes when it finds, locks and writes
//! exactly what the lifecycle decided, the way River's `riverdrivertest` checks its drivers.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;

use agent_defer::error::Error;
use agent_defer::lifecycle::{self, Change, Happened, Policy, Prepared};
use agent_defer::record::{Status, Task};
use agent_defer::store::{self, Imported, Part, Query, Store, import_record};
use agent_defer::{Config, ops};
use jiff::Timestamp;

use crate::util::{Env, StoreKind};

/// The configuration of `env` with "now" at `now`, and a store opened from it.
fn open(env: &Env, now: &str) -> (Config, Box<dyn Store>) {
    let vars: HashMap<String, OsString> = env
        .vars
        .iter()
        .cloned()
        .chain([
            ("DEFER_NOW".to_string(), OsString::from(now)),
            ("DEFER_LEASE_SECONDS".to_string(), OsString::from("10")),
        ])
        .collect();
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let store = store::open(&config).expect("open store");
    (config, store)
}

fn ts(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

/// A scheduled record as the reference writes it, with `extra` JSON fields spliced in.
fn task(id: &str, run_at: &str, extra: &str) -> Task {
    let line = format!(
        r#"{{"id":"{id}","created_at":"2026-04-08T16:00:00Z","run_at":"{run_at}","type":"deferred_task","intent":"resume_task","context":{{"summary":"task {id}","key_points":[],"artifacts":[],"constraints":[]}},"execution":{{"mode":"fresh","prompt_template":"go","aura_level":"low"}},"status":"scheduled","attempts":0,"max_retries":0{extra}}}"#
    );
    Task::from_json(line.as_bytes()).expect("task")
}

fn ids(store: &dyn Store, query: &Query) -> Vec<String> {
    let mut out = Vec::new();
    store
        .list(query, &mut |line| {
            let t = Task::from_json(line).expect("listed record parses");
            out.push(t.id);
            Ok(())
        })
        .expect("list");
    out
}

fn status_of(store: &dyn Store, id: &str) -> String {
    let record = store.show(id).expect("show").expect("found");
    record["status"].as_str().expect("status").to_string()
}

fn claim_all(store: &dyn Store, now: Timestamp) -> Vec<Task> {
    store
        .claim_due(now, usize::MAX, &HashSet::new(), &mut |t| {
            lifecycle::claim(t, now)
        })
        .expect("claim")
}

/// Claims every due task and saves each as run (its prompt prepared); the changes saved.
fn run_all_due(store: &dyn Store, config: &Config, now: Timestamp) -> Vec<Change> {
    let mut changes: Vec<Change> = claim_all(store, now)
        .into_iter()
        .map(|t| prepared(t, config, now))
        .collect();
    store.save_outcomes(&mut changes).expect("save");
    changes
}

fn prepared(task: Task, config: &Config, now: Timestamp) -> Change {
    lifecycle::finish(
        task,
        Happened::PromptPrepared,
        "/p",
        &Policy::from_config(config),
        now,
    )
}

const NOW: &str = "2026-04-08T16:35:00Z";

fn insert_and_duplicate_ids(env: Env) {
    let (_, store) = open(&env, NOW);
    store
        .insert(&task("a", "2026-04-08T17:00:00Z", ""), true)
        .expect("insert");
    let e = store
        .insert(&task("a", "2026-04-08T18:00:00Z", ""), true)
        .expect_err("a second record with the same id is refused");
    assert!(matches!(e, Error::DuplicateId(ref id) if id == "a"), "{e}");
    assert_eq!(ids(&*store, &Query::default()), vec!["a"]);
}
crate::on_both_stores!(insert_and_duplicate_ids);

fn list_filters_by_status_and_archive(env: Env) {
    let (config, store) = open(&env, NOW);
    for id in ["s1", "s2", "done"] {
        store
            .insert(&task(id, "2026-04-08T16:00:00Z", ""), true)
            .expect("insert");
    }
    let now = ts(NOW);
    let claimed: Vec<Task> = claim_all(&*store, now)
        .into_iter()
        .filter(|t| t.id == "done")
        .collect();
    let mut changes: Vec<Change> = claimed
        .into_iter()
        .map(|t| prepared(t, &config, now))
        .collect();
    assert!(store.save_outcomes(&mut changes).expect("save").is_empty());
    let executing = Query {
        statuses: vec![Status::Executing],
        include_archive: false,
        ..Query::default()
    };
    let mut running = ids(&*store, &executing);
    running.sort();
    assert_eq!(running, vec!["s1", "s2"]);
    store.archive().expect("archive");
    let completed = Query {
        statuses: vec![Status::Completed],
        include_archive: false,
        ..Query::default()
    };
    assert!(ids(&*store, &completed).is_empty(), "archived, not active");
    let completed = Query {
        statuses: vec![Status::Completed],
        include_archive: true,
        ..Query::default()
    };
    assert_eq!(ids(&*store, &completed), vec!["done"]);
}
crate::on_both_stores!(list_filters_by_status_and_archive);

/// Every listing, on every store: what is to happen first, soonest first (ties by id), then
/// what happened, most recent first (by the stamp of the state it reached, else created_at);
/// active and archived alike. The pages of `ops::list` walk the same order.
fn listings_are_in_due_order_then_latest_first(env: Env) {
    let (config, store) = open(&env, NOW);
    let done = |id: &str, status: &str, stamp: Option<(&str, &str)>| {
        let extra = match stamp {
            Some((field, at)) => format!(r#","{field}":"{at}""#),
            None => String::new(),
        };
        let line = String::from_utf8(task(id, "2026-04-07T08:00:00Z", &extra).to_line().into())
            .expect("utf8")
            .replace(
                r#""status":"scheduled""#,
                &format!(r#""status":"{status}""#),
            );
        Task::from_json(line.as_bytes()).expect("task")
    };
    // Archived first (the sweep takes every finished task), then finished ones left active.
    for t in [
        done(
            "c1",
            "completed",
            Some(("completed_at", "2026-04-07T12:00:00Z")),
        ),
        done("f1", "failed", Some(("failed_at", "2026-04-07T13:00:00Z"))),
    ] {
        store.insert(&t, true).expect("insert");
    }
    store.archive().expect("archive");
    for t in [
        task("s1", "2026-04-09T10:00:00Z", ""),
        task("s3", "2026-04-09T09:00:00Z", ""),
        task("s2", "2026-04-09T09:00:00Z", ""),
        done(
            "x1",
            "cancelled",
            Some(("cancelled_at", "2026-04-07T11:00:00Z")),
        ),
        // No completed_at: listed by created_at (2026-04-08T16:00), the latest of the log.
        done("c2", "completed", None),
        task("e1", "2026-04-08T09:30:00Z", ""),
    ] {
        store.insert(&t, true).expect("insert");
    }
    let now = ts(NOW);
    let claimed = store
        .claim_due(
            now,
            10,
            &HashSet::from(["s1".into(), "s2".into(), "s3".into()]),
            &mut |t| lifecycle::claim(t, now),
        )
        .expect("claim e1");
    assert_eq!(claimed.len(), 1, "e1 is executing");
    let all = Query::listing(Vec::new(), true);
    let expected = ["e1", "s2", "s3", "s1", "c2", "f1", "c1", "x1"];
    assert_eq!(ids(&*store, &all), expected);
    assert_eq!(
        ids(&*store, &Query::listing(Vec::new(), false)),
        ["e1", "s2", "s3", "s1"]
    );
    // Pages of three, cursor to cursor, walk the same order.
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = ops::list::list(
            &config,
            &*store,
            &ops::list::ListRequest {
                all: true,
                limit: Some(3),
                cursor: cursor.clone(),
                ..Default::default()
            },
        )
        .expect("page");
        assert_eq!(page.total, expected.len());
        paged.extend(
            page.tasks
                .iter()
                .map(|t| t["id"].as_str().expect("id").to_string()),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, expected);
}
crate::on_both_stores!(listings_are_in_due_order_then_latest_first);

/// The overview's counts read the same on every store: the active store per status, the due
/// ones, and the finished ones (active or archived) by the hour they finished, misses apart.
fn tallies_count_states_and_finished_hours(env: Env) {
    let (_config, store) = open(&env, NOW);
    let finished = |id: &str, status: &str, field: &str, at: &str, extra: &str| {
        let line = String::from_utf8(
            task(
                id,
                "2026-04-08T08:00:00Z",
                &format!(r#","{field}":"{at}"{extra}"#),
            )
            .to_line()
            .into(),
        )
        .expect("utf8")
        .replace(
            r#""status":"scheduled""#,
            &format!(r#""status":"{status}""#),
        );
        Task::from_json(line.as_bytes()).expect("task")
    };
    // Archived: one an hour ago, one 40 days ago (before the window).
    for t in [
        finished(
            "a1",
            "completed",
            "completed_at",
            "2026-04-08T15:40:00Z",
            "",
        ),
        finished(
            "a2",
            "completed",
            "completed_at",
            "2026-02-27T10:00:00Z",
            "",
        ),
    ] {
        store.insert(&t, true).expect("insert");
    }
    store.archive().expect("archive");
    let missed =
        r#","missed":{"due_at":"2026-04-08T14:00:00Z","late_seconds":900,"late_after":"10m"}"#;
    for t in [
        task("due", "2026-04-08T16:00:00Z", ""),
        task("later", "2026-04-09T16:00:00Z", ""),
        finished(
            "c1",
            "completed",
            "completed_at",
            "2026-04-08T15:10:00Z",
            "",
        ),
        finished("f1", "failed", "failed_at", "2026-04-08T16:20:00Z", ""),
        finished(
            "m1",
            "cancelled",
            "cancelled_at",
            "2026-04-08T14:15:00Z",
            missed,
        ),
        finished(
            "x1",
            "cancelled",
            "cancelled_at",
            "2026-04-08T14:30:00Z",
            "",
        ),
    ] {
        store.insert(&t, true).expect("insert");
    }
    let since = ts("2026-03-10T00:00:00Z");
    let tally = store.tally(ts(NOW), since, None).expect("tally").sorted();
    // A cap above every count changes nothing; one below them makes a database stop at it.
    let roomy = store.tally(ts(NOW), since, Some(100)).expect("tally");
    assert_eq!(roomy.sorted(), tally);
    assert!(!tally.capped);
    let tight = store
        .tally(ts(NOW), since, Some(1))
        .expect("tally")
        .sorted();
    match env.kind() {
        StoreKind::Jsonl => assert_eq!(tight, tally, "the file store counts exactly"),
        StoreKind::Postgres => {
            assert!(tight.capped);
            assert_eq!(tight.active, tally.active, "2 means at least 2 here");
            assert_eq!(tight.due, 1, "a count under the cap is exact");
        }
    }
    let active: Vec<(&str, u64)> = tally.active.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    assert_eq!(
        active,
        [
            ("cancelled", 2),
            ("completed", 1),
            ("failed", 1),
            ("scheduled", 2)
        ]
    );
    assert_eq!(tally.due, 1);
    let hours: Vec<(String, &str, bool, u64)> = tally
        .finished
        .iter()
        .map(|f| (f.hour.to_string(), f.status.as_str(), f.missed, f.count))
        .collect();
    assert_eq!(
        hours,
        [
            ("2026-04-08T14:00:00Z".to_string(), "cancelled", false, 1),
            ("2026-04-08T14:00:00Z".to_string(), "cancelled", true, 1),
            ("2026-04-08T15:00:00Z".to_string(), "completed", false, 2),
            ("2026-04-08T16:00:00Z".to_string(), "failed", false, 1),
        ]
    );
}
crate::on_both_stores!(tallies_count_states_and_finished_hours);

fn claim_takes_due_tasks_earliest_first_within_limit_and_exclusions(env: Env) {
    let (_, store) = open(&env, NOW);
    store
        .insert(&task("late", "2026-04-08T16:30:00Z", ""), true)
        .expect("insert");
    store
        .insert(&task("early", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    store
        .insert(&task("middle", "2026-04-08T16:10:00Z", ""), true)
        .expect("insert");
    store
        .insert(&task("future", "2026-04-08T17:00:00Z", ""), true)
        .expect("insert");
    let now = ts(NOW);
    let exclude: HashSet<String> = ["middle".to_string()].into();
    let claimed = store
        .claim_due(now, 1, &exclude, &mut |t| lifecycle::claim(t, now))
        .expect("claim");
    assert_eq!(
        claimed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        vec!["early"]
    );
    assert_eq!(claimed[0].status, Status::Executing);
    let rest = store
        .claim_due(now, 10, &exclude, &mut |t| lifecycle::claim(t, now))
        .expect("claim");
    assert_eq!(
        rest.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        vec!["late"],
        "excluded and future tasks stay"
    );
    assert_eq!(status_of(&*store, "middle"), "scheduled");
    assert_eq!(status_of(&*store, "future"), "scheduled");
    assert_eq!(
        store.next_due().expect("next due"),
        Some(ts("2026-04-08T16:10:00Z"))
    );
}
crate::on_both_stores!(claim_takes_due_tasks_earliest_first_within_limit_and_exclusions);

fn outcomes_are_saved_as_decided(env: Env) {
    let (config, store) = open(&env, NOW);
    let mut retried = task("retry", "2026-04-08T16:00:00Z", "");
    retried.max_retries = 1;
    store.insert(&retried, true).expect("insert");
    store
        .insert(&task("ok", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    let now = ts(NOW);
    let policy = Policy::from_config(&config);
    let mut changes: Vec<Change> = claim_all(&*store, now)
        .into_iter()
        .map(|t| {
            let happened = if t.id == "retry" {
                Happened::ExecutorRan {
                    run: lifecycle::ExecutorRun {
                        exit_code: Some(1),
                        error: Some("boom".into()),
                        ..Default::default()
                    },
                    success: false,
                }
            } else {
                Happened::PromptPrepared
            };
            lifecycle::finish(t, happened, "/p", &policy, now)
        })
        .collect();
    assert!(store.save_outcomes(&mut changes).expect("save").is_empty());
    let r = store.show("retry").expect("show").expect("found");
    assert_eq!(r["status"], "scheduled");
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["last_error"], "boom");
    assert_eq!(r["result"]["type"], "retry_scheduled");
    assert_eq!(status_of(&*store, "ok"), "completed");
}
crate::on_both_stores!(outcomes_are_saved_as_decided);

fn tasks_of_a_gone_runner_are_recovered(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(&task("r", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    claim_all(&*store, ts(NOW));
    drop(store);
    // Later, another process (and for a database: past the 10 s lease).
    let later = "2026-04-08T16:45:00Z";
    let (_, store) = open(&env, later);
    let _lock = store.try_runner_lock().expect("lock").expect("free");
    let policy = Policy::from_config(&config);
    let recovered = store
        .recover(ts(later), &mut |t, _| {
            lifecycle::finish(t, Happened::Interrupted, "/p", &policy, ts(later))
        })
        .expect("recover");
    assert_eq!(recovered.len(), 1);
    let r = store.show("r").expect("show").expect("found");
    assert_eq!(r["status"], "failed");
    assert!(
        r["error"]
            .as_str()
            .expect("error")
            .starts_with("interrupted")
    );
}
crate::on_both_stores!(tasks_of_a_gone_runner_are_recovered);

fn cancel_refuses_every_status_but_scheduled(env: Env) {
    let (config, store) = open(&env, NOW);
    let now = ts(NOW);
    let policy = Policy::from_config(&config);
    for id in ["run", "done", "old"] {
        store
            .insert(&task(id, "2026-04-08T16:00:00Z", ""), true)
            .expect("insert");
    }
    store
        .insert(&task("wait", "2026-04-08T18:00:00Z", ""), true)
        .expect("insert");
    let claimed = claim_all(&*store, now);
    let mut changes: Vec<Change> = claimed
        .into_iter()
        .filter(|t| t.id != "run")
        .map(|t| prepared(t, &config, now))
        .collect();
    store.save_outcomes(&mut changes).expect("save");
    let cancel = |id: &str| {
        let before = env.store_bytes();
        let result = store.modify(id, &mut |found| {
            lifecycle::cancel(found, Some("no longer needed"), &policy, now)
        });
        if result.is_err() {
            assert_eq!(env.store_bytes(), before, "a refused cancel writes nothing");
        }
        result
    };
    let e = cancel("run").expect_err("executing");
    assert!(e.to_string().contains("is executing, not scheduled"), "{e}");
    let e = cancel("done").expect_err("completed");
    assert!(e.to_string().contains("is completed, not scheduled"), "{e}");
    assert_eq!(store.archive().expect("archive").len(), 2);
    let e = cancel("old").expect_err("archived");
    assert!(e.to_string().contains("completed (archived)"), "{e}");
    let e = cancel("nope").expect_err("missing");
    assert!(matches!(e, Error::NotFound(_)), "{e}");
    let change = cancel("wait").expect("scheduled");
    assert_eq!(change.task.status, Status::Cancelled);
    let r = store.show("wait").expect("show").expect("found");
    assert_eq!(r["status"], "cancelled");
    assert_eq!(r["cancel_reason"], "no longer needed");
    let e = cancel("wait").expect_err("already cancelled");
    assert!(e.to_string().contains("is cancelled"), "{e}");
}
crate::on_both_stores!(cancel_refuses_every_status_but_scheduled);

const SERIES: &str = r#","timezone":"UTC","series":{"id":"s","rule":"every 1h","occurrence":1,"scheduled_for":"2026-04-08T16:00:00Z","count":3}"#;

fn series_next_occurrence_is_written_with_the_outcome(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(&task("s", "2026-04-08T16:00:00Z", SERIES), true)
        .expect("insert");
    let mut now = ts(NOW);
    let mut done = Vec::new();
    for _ in 0..5 {
        let claimed = claim_all(&*store, now);
        let mut changes: Vec<Change> = claimed
            .into_iter()
            .map(|t| {
                done.push(t.id.clone());
                prepared(t, &config, now)
            })
            .collect();
        store.save_outcomes(&mut changes).expect("save");
        now = now
            .checked_add(jiff::SignedDuration::from_hours(1))
            .expect("time");
    }
    assert_eq!(done, vec!["s", "s.2", "s.3"], "--count 3 ends the series");
    let all = Query {
        statuses: vec![],
        include_archive: true,
        ..Query::default()
    };
    assert_eq!(ids(&*store, &all).len(), 3);
    assert_eq!(
        store.show("s.2").expect("show").expect("found")["run_at"],
        "2026-04-08T17:00:00Z",
        "from the scheduled time, not the run time"
    );
}
crate::on_both_stores!(series_next_occurrence_is_written_with_the_outcome);

fn until_ends_a_series(env: Env) {
    let (config, store) = open(&env, NOW);
    let series = r#","timezone":"UTC","series":{"id":"u","rule":"every 1h","occurrence":1,"scheduled_for":"2026-04-08T16:00:00Z","until":"2026-04-08T16:30:00Z"}"#;
    store
        .insert(&task("u", "2026-04-08T16:00:00Z", series), true)
        .expect("insert");
    let now = ts(NOW);
    let mut changes: Vec<Change> = claim_all(&*store, now)
        .into_iter()
        .map(|t| prepared(t, &config, now))
        .collect();
    assert!(changes[0].next.is_none(), "17:00 is after --until");
    store.save_outcomes(&mut changes).expect("save");
    assert_eq!(ids(&*store, &Query::default()), vec!["u"]);
}
crate::on_both_stores!(until_ends_a_series);

fn ending_a_series_while_it_runs(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(&task("s", "2026-04-08T16:00:00Z", SERIES), true)
        .expect("insert");
    let now = ts(NOW);
    let claimed = claim_all(&*store, now);
    // While "s" runs, its series is ended.
    let ended = ops::cancel::cancel_series(&config, &*store, &series_request("s")).expect("end");
    assert!(ended.cancelled.is_empty(), "nothing scheduled to cancel");
    assert_eq!(ended.running, vec!["s"], "the running occurrence is named");
    let mut changes: Vec<Change> = claimed
        .into_iter()
        .map(|t| prepared(t, &config, now))
        .collect();
    assert!(changes[0].next.is_some(), "decided before the end was seen");
    store.save_outcomes(&mut changes).expect("save");
    let r = store.show("s").expect("show").expect("found");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["series"]["ended"], true, "the end mark is kept");
    assert!(
        store.show("s.2").expect("show").is_none(),
        "no occurrence follows an ended series"
    );
    // A pending occurrence is cancelled by the end.
    store
        .insert(
            &task(
                "t",
                "2026-04-08T18:00:00Z",
                &SERIES.replace("\"s\"", "\"t\""),
            ),
            true,
        )
        .expect("insert");
    let ended = ops::cancel::cancel_series(&config, &*store, &series_request("t")).expect("end");
    assert_eq!(ended.cancelled.len(), 1);
    // Nothing left to end: refused, nothing changed.
    let before = env.store_bytes();
    let e = ops::cancel::cancel_series(&config, &*store, &series_request("t"))
        .expect_err("already ended");
    assert!(matches!(e, Error::SeriesNotFound(_)), "{e}");
    assert_eq!(env.store_bytes(), before);
    assert_eq!(status_of(&*store, "t"), "cancelled");
}
crate::on_both_stores!(ending_a_series_while_it_runs);

fn a_late_task_is_recorded_as_missed(env: Env) {
    let (config, store) = open(&env, NOW);
    let late = r#","if_late":"skip","late_after":"5m""#;
    store
        .insert(&task("late", "2026-04-08T16:00:00Z", late), true)
        .expect("insert");
    store
        .insert(&task("ontime", "2026-04-08T16:33:00Z", late), true)
        .expect("insert");
    let now = ts(NOW);
    let policy = Policy::from_config(&config);
    let mut changes = Vec::new();
    for t in claim_all(&*store, now) {
        match lifecycle::prepare(t, &policy, now) {
            Prepared::Skip(change) => changes.push(change),
            Prepared::Run { task, .. } => changes.push(prepared(task, &config, now)),
        }
    }
    store.save_outcomes(&mut changes).expect("save");
    let r = store.show("late").expect("show").expect("found");
    assert_eq!(r["status"], "cancelled");
    assert!(
        r["cancel_reason"]
            .as_str()
            .expect("reason")
            .contains("35m late")
    );
    assert_eq!(status_of(&*store, "ontime"), "completed");
}
crate::on_both_stores!(a_late_task_is_recorded_as_missed);

fn archive_sweeps_terminal_tasks_and_show_finds_them(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(&task("a", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    store
        .insert(&task("b", "2026-04-08T18:00:00Z", ""), true)
        .expect("insert");
    let now = ts(NOW);
    run_all_due(&*store, &config, now);
    let archived = store.archive().expect("archive");
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].id, "a");
    assert!(
        archived[0].file.display().to_string().contains("202604"),
        "month of completed_at: {}",
        archived[0].file.display()
    );
    assert!(store.archive().expect("again").is_empty(), "swept once");
    assert_eq!(status_of(&*store, "a"), "completed");
    assert_eq!(ids(&*store, &Query::default()), vec!["b"]);
}
crate::on_both_stores!(archive_sweeps_terminal_tasks_and_show_finds_them);

fn a_second_runner_cannot_overwrite_the_first(env: Env) {
    let (config, a) = open(&env, NOW);
    a.insert(&task("f", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    let lock_a = a.try_runner_lock().expect("lock").expect("free");
    let now = ts(NOW);
    let claimed = claim_all(&*a, now);
    let (_, b) = open(&env, "2026-04-08T16:45:00Z");
    match env.kind() {
        // One runner works a file at a time: the second cannot even start.
        StoreKind::Jsonl => {
            assert!(b.try_runner_lock().expect("lock").is_none());
            drop(lock_a);
        }
        // Runners share a database; B rescues the expired claim, and A's late outcome is
        // refused by the fencing check.
        StoreKind::Postgres => {
            let later = ts("2026-04-08T16:45:00Z");
            let policy = Policy::from_config(&config);
            b.recover(later, &mut |t, _| {
                lifecycle::finish(t, Happened::Interrupted, "/b", &policy, later)
            })
            .expect("rescue");
            let mut late: Vec<Change> = claimed
                .into_iter()
                .map(|t| prepared(t, &config, now))
                .collect();
            assert_eq!(
                a.save_outcomes(&mut late).expect("save"),
                vec!["f".to_string()]
            );
            assert_eq!(status_of(&*b, "f"), "failed");
        }
    }
}
crate::on_both_stores!(a_second_runner_cannot_overwrite_the_first);

fn export_and_import_round_trip(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(
            &task("keep", "2026-04-08T18:00:00Z", r#","custom":{"x":[1,2]}"#),
            true,
        )
        .expect("insert");
    store
        .insert(&task("done", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    let now = ts(NOW);
    run_all_due(&*store, &config, now);
    store.archive().expect("archive");
    let first = exported(&*store);
    assert_eq!(first.len(), 2);
    let fresh = Env::with_store(env.kind()).expect("same store kind");
    let (_, other) = open(&fresh, NOW);
    let imported = import_lines(&*other, &first).expect("import");
    assert_eq!(
        (imported.active, imported.archived, imported.superseded),
        (1, 1, 0)
    );
    assert_eq!(exported(&*other), first, "byte for byte");
    let active_only: Vec<_> = first.iter().filter(|(m, _)| m.is_none()).cloned().collect();
    let e = import_lines(&*other, &active_only).expect_err("an id already there is refused");
    assert!(
        matches!(e, Error::DuplicateId(ref id) if id == "keep"),
        "{e}"
    );
    assert_eq!(exported(&*other), first, "a refused import writes nothing");
}
crate::on_both_stores!(export_and_import_round_trip);

/// Every record of a store, part by part: `(month, line)`, `None` for the active part.
fn exported(s: &dyn Store) -> Vec<(Option<String>, Vec<u8>)> {
    let mut out: Vec<(Option<String>, Vec<u8>)> = Vec::new();
    for part in [Part::Active, Part::Archived] {
        s.export(part, &mut |month, line| {
            out.push((month.map(str::to_string), line.to_vec()));
            Ok(())
        })
        .expect("export");
    }
    out
}

/// Imports `(month, line)` pairs as `defer import` does: parsed by `import_record`, handed
/// over part by part.
fn import_lines(
    s: &dyn Store,
    lines: &[(Option<String>, Vec<u8>)],
) -> agent_defer::Result<Imported> {
    s.import(&mut |part, sink| {
        for (month, line) in lines {
            if month.is_none() != matches!(part, Part::Active) {
                continue;
            }
            let task = import_record(line).unwrap_or_else(|reason| panic!("{reason}"));
            sink(month.as_deref(), line, &task)?;
        }
        Ok(())
    })
}

fn an_import_given_the_same_id_twice_writes_nothing(env: Env) {
    let (_, store) = open(&env, NOW);
    store
        .insert(&task("there", "2026-04-08T18:00:00Z", ""), true)
        .expect("insert");
    let before = exported(&*store);
    let line = |id: &str| task(id, "2026-04-08T18:00:00Z", "").to_line().into_bytes();
    let twice = vec![(None, line("new")), (None, line("new"))];
    let e = import_lines(&*store, &twice).expect_err("an id given twice is refused");
    assert!(
        matches!(e, Error::DuplicateId(ref id) if id == "new"),
        "{e}"
    );
    assert_eq!(exported(&*store), before, "nothing written");
}
crate::on_both_stores!(an_import_given_the_same_id_twice_writes_nothing);

fn an_import_refuses_a_second_holder_of_a_unique_key(env: Env) {
    let (_, store) = open(&env, NOW);
    let mut held = task("held", "2026-04-08T18:00:00Z", "");
    held.unique_key = Some("k".into());
    store.insert(&held, true).expect("insert");
    let before = exported(&*store);
    let mut again = task("again", "2026-04-08T19:00:00Z", "");
    again.unique_key = Some("k".into());
    let line = again.to_line().into_bytes();
    let e = import_lines(&*store, &[(None, line)]).expect_err("the key is held");
    assert!(
        matches!(
            e,
            Error::UniqueKeyTaken { .. } | Error::UniqueKeyHeld { .. }
        ),
        "{e}"
    );
    assert_eq!(exported(&*store), before, "nothing written");
}
crate::on_both_stores!(an_import_refuses_a_second_holder_of_a_unique_key);

fn an_archived_copy_of_an_active_task_is_superseded(env: Env) {
    let (_, store) = open(&env, NOW);
    store
        .insert(&task("both", "2026-04-08T18:00:00Z", ""), true)
        .expect("insert");
    let mut old = task("both", "2026-04-08T10:00:00Z", "");
    old.status = Status::Failed;
    let line = old.to_line().into_bytes();
    let imported = import_lines(&*store, &[(Some("202604".into()), line)]).expect("import");
    assert_eq!((imported.archived, imported.superseded), (0, 1));
    let after = exported(&*store);
    assert_eq!(after.len(), 1, "only the active record: {after:?}");
    assert!(after[0].0.is_none());
}
crate::on_both_stores!(an_archived_copy_of_an_active_task_is_superseded);

fn retry_brings_a_failed_task_back_from_the_archive(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(&task("f", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    let now = ts(NOW);
    let policy = Policy::from_config(&config);
    let mut changes: Vec<Change> = claim_all(&*store, now)
        .into_iter()
        .map(|t| lifecycle::finish(t, Happened::Interrupted, "/p", &policy, now))
        .collect();
    store.save_outcomes(&mut changes).expect("save");
    store.archive().expect("archive");
    assert_eq!(status_of(&*store, "f"), "failed");
    let task = ops::retry::retry(&config, &*store, &retry_request("f", Some("in 1h")))
        .expect("retry")
        .task;
    assert_eq!(task.status, Status::Scheduled);
    assert_eq!(task.run_at.to_string(), "2026-04-08T17:35:00Z");
    let r = store.show("f").expect("show").expect("found");
    assert_eq!(r["status"], "scheduled", "the active copy wins: {r}");
    assert_eq!(r["attempts"], 0);
    assert_eq!(r["retried"], 1);
    assert_eq!(ids(&*store, &Query::default()), vec!["f"]);
    // A second retry of a scheduled task is refused and changes nothing.
    let before = env.store_bytes();
    let e = ops::retry::retry(&config, &*store, &retry_request("f", None)).expect_err("scheduled");
    assert!(
        e.to_string().contains("is scheduled, not failed or missed"),
        "{e}"
    );
    assert_eq!(env.store_bytes(), before);
}
crate::on_both_stores!(retry_brings_a_failed_task_back_from_the_archive);

fn reschedule_moves_a_scheduled_task_and_refuses_others(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(&task("r", "2026-04-08T17:00:00Z", ""), true)
        .expect("insert");
    store
        .insert(&task("busy", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    claim_all(&*store, ts(NOW));
    let task = ops::reschedule::reschedule(&config, &*store, &moved("r", "tomorrow 9am"))
        .expect("ok")
        .task;
    assert_eq!(task.run_at.to_string(), "2026-04-09T09:00:00Z");
    let r = store.show("r").expect("show").expect("found");
    assert_eq!(r["run_at"], "2026-04-09T09:00:00Z");
    assert_eq!(r["when"], "tomorrow 9am");
    assert_eq!(
        store.next_due().expect("next"),
        Some(ts("2026-04-09T09:00:00Z"))
    );
    let before = env.store_bytes();
    let e =
        ops::reschedule::reschedule(&config, &*store, &moved("busy", "1h")).expect_err("executing");
    assert!(e.to_string().contains("is executing, not scheduled"), "{e}");
    let e =
        ops::reschedule::reschedule(&config, &*store, &moved("r", "blah")).expect_err("bad time");
    assert!(e.to_string().contains("unsupported time expression"), "{e}");
    let e =
        ops::reschedule::reschedule(&config, &*store, &moved("nope", "1h")).expect_err("unknown");
    assert!(matches!(e, Error::NotFound(_)), "{e}");
    assert_eq!(env.store_bytes(), before, "refusals change nothing");
}
crate::on_both_stores!(reschedule_moves_a_scheduled_task_and_refuses_others);

fn a_task_can_be_claimed_by_id_before_it_is_due(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(&task("later", "2026-04-09T09:00:00Z", ""), true)
        .expect("insert");
    let now = ts(NOW);
    let change = store
        .claim_id("later", now, &mut |found| lifecycle::claim_now(found, now))
        .expect("claim");
    assert_eq!(change.task.status, Status::Executing);
    // Its outcome is accepted: the claim is this process's (fencing passes on a database).
    let done = prepared(change.task, &config, now);
    assert!(store.save_outcomes(&mut [done]).expect("save").is_empty());
    assert_eq!(status_of(&*store, "later"), "completed");
    let e = store
        .claim_id("later", now, &mut |found| lifecycle::claim_now(found, now))
        .expect_err("completed");
    assert!(e.to_string().contains("is completed"), "{e}");
}
crate::on_both_stores!(a_task_can_be_claimed_by_id_before_it_is_due);

fn an_archived_id_is_not_reused(env: Env) {
    let (config, store) = open(&env, NOW);
    store
        .insert(&task("once", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    let now = ts(NOW);
    run_all_due(&*store, &config, now);
    store.archive().expect("archive");
    let e = store
        .insert(&task("once", "2026-04-09T16:00:00Z", ""), true)
        .expect_err("the id is in the archive");
    assert!(matches!(e, Error::ArchivedId(_)), "{e}");
    assert!(e.to_string().contains("choose another id"), "{e}");
    assert_eq!(
        status_of(&*store, "once"),
        "completed",
        "show is unambiguous"
    );
}
crate::on_both_stores!(an_archived_id_is_not_reused);

/// The ids of a page's lines.
fn page_ids(found: &store::PageFound) -> Vec<String> {
    found
        .lines
        .iter()
        .map(|l| Task::from_json(l).expect("paged record parses").id)
        .collect()
}

/// A store's own pages (a database answers with queries) are the pages of its listing: the
/// same records, total and start, page after page, for every filter and page size, and when
/// the record a cursor names has gone.
fn pages_are_the_pages_of_the_listing(env: Env) {
    let (config, store) = open(&env, NOW);
    for i in 0..7 {
        let at = if i % 2 == 1 {
            "2026-04-08T16:00:00Z"
        } else {
            "2026-04-09T16:00:00Z"
        };
        store
            .insert(&task(&format!("t{i}"), at, ""), true)
            .expect("insert");
    }
    // t1, t3 and t5 run and are archived; the rest stay scheduled.
    let now = ts(NOW);
    run_all_due(&*store, &config, now);
    assert_eq!(store.archive().expect("archive").len(), 3);

    let queries = [
        Query::listing(Vec::new(), false),
        Query::listing(Vec::new(), true),
        Query::listing(vec![Status::Completed], false),
        Query::listing(vec![Status::Cancelled], false),
    ];
    for query in &queries {
        let listed = ids(&*store, query);
        for limit in 1..=4 {
            let mut walked = Vec::new();
            let mut after = None;
            loop {
                let ask = store::PageAsk {
                    after: after.clone(),
                    limit,
                    ..store::PageAsk::default()
                };
                let found = store.page(query, &ask).expect("page");
                let expected = store::page::by_listing(&*store, query, &ask).expect("listing");
                let seen = (page_ids(&found), found.total, found.start, found.more);
                let want = (
                    page_ids(&expected),
                    expected.total,
                    expected.start,
                    expected.more,
                );
                assert_eq!(seen, want, "{query:?}, limit {limit}, after {after:?}");
                assert_eq!(found.total, listed.len());
                walked.extend(page_ids(&found));
                if !found.more {
                    break;
                }
                let last = walked.last().expect("a record").clone();
                after = Some((found.start + found.lines.len(), last));
            }
            assert_eq!(walked, listed, "{query:?}, limit {limit}");
        }
        // A cursor whose record no longer matches starts at its offset.
        let ask = store::PageAsk {
            after: Some((1, "gone".into())),
            limit: 2,
            ..store::PageAsk::default()
        };
        let found = store.page(query, &ask).expect("page");
        let expected = store::page::by_listing(&*store, query, &ask).expect("listing");
        assert_eq!(
            (page_ids(&found), found.start),
            (page_ids(&expected), expected.start),
            "{query:?}"
        );
        let rest: Vec<String> = listed.iter().skip(1).take(2).cloned().collect();
        assert_eq!(page_ids(&found), rest, "{query:?}");
    }
    // A search matches the id or the summary, in any case.
    let ask = store::PageAsk {
        limit: 10,
        ..store::PageAsk::default()
    }
    .with_text(Some(" TASK T4 "));
    let found = store
        .page(&Query::listing(Vec::new(), true), &ask)
        .expect("page");
    assert_eq!((page_ids(&found), found.total), (vec!["t4".to_string()], 1));
}
crate::on_both_stores!(pages_are_the_pages_of_the_listing);

/// A database counts only the first page's matches up to the cap (a million rows take longer
/// to count than to page) and says so; later pages, and the file store, count exactly.
fn a_first_page_over_the_cap_says_at_least(env: Env) {
    let (config, store) = open(&env, NOW);
    let n = store::page::COUNT_CAP + 50;
    let lines: Vec<(Option<String>, Vec<u8>)> = (0..n)
        .map(|i| {
            let t = task(&format!("c{i:05}"), "2026-04-09T16:00:00Z", "");
            (None, t.to_line().into_bytes())
        })
        .collect();
    import_lines(&*store, &lines).expect("import");
    let query = Query::listing(Vec::new(), false);
    let first = store::PageAsk {
        limit: 50,
        ..store::PageAsk::default()
    };
    let found = store.page(&query, &first).expect("page");
    assert_eq!(page_ids(&found).len(), 50);
    assert!(found.more);
    match env.kind() {
        StoreKind::Postgres => {
            assert!(found.total_capped, "the first page stops counting");
            assert_eq!(
                found.total,
                store::page::COUNT_CAP + 1,
                "at least this many"
            );
        }
        StoreKind::Jsonl => assert_eq!((found.total, found.total_capped), (n, false)),
    }
    let last = page_ids(&found).pop().expect("a record");
    let second = store::PageAsk {
        after: Some((50, last)),
        limit: 50,
        ..store::PageAsk::default()
    };
    let found = store.page(&query, &second).expect("page");
    assert_eq!(
        (found.total, found.total_capped, found.start),
        (n, false, 50)
    );
    // The overview stops the same way; /metrics' exact overview does not.
    let view = ops::overview::overview(&config, &*store, &ops::overview::OverviewRequest {})
        .expect("overview");
    let exact = ops::overview::exact(&config, &*store).expect("overview");
    assert_eq!(exact.counts.scheduled, n as u64);
    assert!(!exact.counts_capped);
    match env.kind() {
        StoreKind::Postgres => {
            assert!(view.counts_capped);
            assert_eq!(view.counts.scheduled, store::page::COUNT_CAP as u64 + 1);
            assert!(
                view.message.contains("more than 10,000"),
                "{}",
                view.message
            );
        }
        StoreKind::Jsonl => assert_eq!(view.counts, exact.counts),
    }
}
crate::on_both_stores!(a_first_page_over_the_cap_says_at_least);

fn series_request(series: &str) -> ops::cancel::CancelSeriesRequest {
    ops::cancel::CancelSeriesRequest {
        series: series.into(),
        reason: None,
    }
}

fn retry_request(id: &str, when: Option<&str>) -> ops::retry::RetryRequest {
    ops::retry::RetryRequest {
        id: id.into(),
        when: when.map(String::from),
    }
}

fn moved(id: &str, when: &str) -> ops::reschedule::RescheduleRequest {
    ops::reschedule::RescheduleRequest {
        id: id.into(),
        when: when.into(),
        series: false,
    }
}

/// An idle watcher's rescan on a database is one look, not a pass: it must see what a pass
/// would find (a due time, a claim out, a finished task not yet archived, the pause). The
/// file store has no cheaper look than its pass.
fn a_quick_look_sees_what_a_pass_would_find(env: Env) {
    let (_config, store) = open(&env, NOW);
    let Some(empty) = store.quick_look().expect("look") else {
        assert_eq!(
            env.kind(),
            StoreKind::Jsonl,
            "only the file store has no look"
        );
        return;
    };
    assert_eq!(empty, store::QuickLook::default(), "an empty store");
    store
        .insert(&task("later", "2026-04-08T18:00:00Z", ""), true)
        .expect("insert");
    store
        .insert(&task("due", "2026-04-08T16:00:00Z", ""), true)
        .expect("insert");
    let look = store.quick_look().expect("look").expect("a look");
    assert_eq!(look.next_due, Some(ts("2026-04-08T16:00:00Z")));
    assert!(!look.unsettled);
    let claimed = claim_all(&*store, ts(NOW));
    assert_eq!(claimed.len(), 1);
    let look = store.quick_look().expect("look").expect("a look");
    assert_eq!(look.next_due, Some(ts("2026-04-08T18:00:00Z")));
    assert!(look.unsettled, "a claim is out");
    let pause = lifecycle::Pause {
        since: agent_defer::record::Stamp(ts(NOW)),
        until: None,
    };
    store.set_pause(Some(&pause)).expect("pause");
    let look = store.quick_look().expect("look").expect("a look");
    assert_eq!(look.pause, Some(pause));
}
crate::on_both_stores!(a_quick_look_sees_what_a_pass_would_find);
