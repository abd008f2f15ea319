//! Recurring tasks, the missed-run policy, and `defer run --watch`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Env, signal_child};

/// A fresh env on the same kind of store as `env`, in New York.
fn another(env: &Env) -> Env {
    let mut fresh = Env::with_store(env.kind()).expect("the store of the running test");
    fresh.set("DEFER_TIMEZONE", "America/New_York");
    fresh
}

/// Runs `defer run` with "now" at each of `stamps`.
fn run_at(env: &mut Env, stamps: &[String]) {
    for now in stamps {
        env.set("DEFER_NOW", now.as_str());
        env.ok(&["run"]);
    }
}

/// `n` instants from `start`, `step` apart, as `DEFER_NOW` values.
fn every(start: &str, step: jiff::SignedDuration, n: i32) -> Vec<String> {
    let start: jiff::Timestamp = start.parse().expect("start");
    (0..n)
        .map(|k| start.checked_add(step * k).expect("in range").to_string())
        .collect()
}

fn completed(env: &Env) -> Vec<Value> {
    let mut done: Vec<Value> = env
        .archived()
        .into_iter()
        .filter(|t| t["status"] == "completed")
        .collect();
    done.sort_by_key(|t| t["run_at"].as_str().unwrap_or("").to_string());
    done
}

fn run_ats(tasks: &[Value]) -> Vec<String> {
    tasks
        .iter()
        .map(|t| t["run_at"].as_str().expect("run_at").to_string())
        .collect()
}

crate::on_both_stores!(
    a_daily_cron_series_stays_at_nine_local_across_both_dst_changes,
    |env: &mut crate::util::Env| {
        env.set("DEFER_TIMEZONE", "America/New_York");
    }
);
fn a_daily_cron_series_stays_at_nine_local_across_both_dst_changes(mut env: Env) {
    env.set("DEFER_NOW", "2026-03-05T12:00:00Z");
    let first = env
        .ok(&[
            "schedule",
            "--cron",
            "0 9 * * *",
            "--summary",
            "standup",
            "--id",
            "daily",
        ])
        .json();
    assert_eq!(first["run_at"], "2026-03-05T14:00:00Z", "09:00 EST");
    assert_eq!(first["series"]["rule"], "cron 0 9 * * *");
    assert_eq!(first["series"]["occurrence"], 1);
    // Wake at 10:00 local every day, across spring forward (Mar 8).
    let days: Vec<String> = (5..=10)
        .map(|d| {
            let offset = if d < 8 { 15 } else { 14 };
            format!("2026-03-{d:02}T{offset}:00:00Z")
        })
        .collect();
    run_at(&mut env, &days);
    assert_eq!(
        run_ats(&completed(&env)),
        vec![
            "2026-03-05T14:00:00Z",
            "2026-03-06T14:00:00Z",
            "2026-03-07T14:00:00Z",
            "2026-03-08T13:00:00Z",
            "2026-03-09T13:00:00Z",
            "2026-03-10T13:00:00Z",
        ]
    );
    let pending = env.records();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], "daily.7");
    assert_eq!(pending[0]["run_at"], "2026-03-11T13:00:00Z");

    // And across fall back (Nov 1).
    let mut env = another(&env);
    env.set("DEFER_NOW", "2026-10-30T12:00:00Z");
    env.ok(&[
        "schedule",
        "--cron",
        "0 9 * * *",
        "--summary",
        "standup",
        "--id",
        "d2",
    ]);
    let days: Vec<String> = (30..=34)
        .map(|d| {
            let (month, day) = if d <= 31 { (10, d) } else { (11, d - 31) };
            let hour = if month == 10 { 14 } else { 15 };
            format!("2026-{month:02}-{day:02}T{hour}:00:00Z")
        })
        .collect();
    run_at(&mut env, &days);
    assert_eq!(
        run_ats(&completed(&env)),
        vec![
            "2026-10-30T13:00:00Z",
            "2026-10-31T13:00:00Z",
            "2026-11-01T14:00:00Z",
            "2026-11-02T14:00:00Z",
            "2026-11-03T14:00:00Z",
        ]
    );
}

crate::on_both_stores!(every_hour_has_no_drift_over_forty_eight_occurrences);
fn every_hour_has_no_drift_over_forty_eight_occurrences(mut env: Env) {
    let exec = env.script("slow.sh", "cat >/dev/null\necho ok");
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    env.set("DEFER_NOW", "2026-04-08T10:00:00Z");
    env.ok(&[
        "schedule",
        "--every",
        "1h",
        "--when",
        "now",
        "--summary",
        "tick",
        "--id",
        "h",
    ]);
    // Each wake comes 7 minutes after the hour: later than due, but the rule does not drift.
    let wakes = every(
        "2026-04-08T10:07:00Z",
        jiff::SignedDuration::from_hours(1),
        48,
    );
    run_at(&mut env, &wakes);
    let done = completed(&env);
    assert_eq!(done.len(), 48);
    for (k, task) in done.iter().enumerate() {
        let expected: jiff::Timestamp = "2026-04-08T10:00:00Z".parse().expect("ts");
        let expected = expected
            .checked_add(jiff::SignedDuration::from_hours(k as i64))
            .expect("add");
        assert_eq!(
            task["run_at"],
            expected.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
        );
        assert_eq!(task["series"]["occurrence"], k + 1);
    }
}

crate::on_both_stores!(
    times_in_a_dst_gap_or_fold_run_exactly_once,
    |env: &mut crate::util::Env| {
        env.set("DEFER_TIMEZONE", "America/New_York");
    }
);
fn times_in_a_dst_gap_or_fold_run_exactly_once(mut env: Env) {
    // 02:30 does not exist on 2026-03-08 in New York.
    env.set("DEFER_NOW", "2026-03-07T12:00:00Z");
    env.ok(&[
        "schedule",
        "--cron",
        "30 2 * * *",
        "--summary",
        "gap",
        "--id",
        "g",
    ]);
    let wakes = every(
        "2026-03-07T12:00:00Z",
        jiff::SignedDuration::from_mins(30),
        48,
    );
    run_at(&mut env, &wakes);
    let on_gap_day = completed(&env)
        .iter()
        .filter(|t| {
            let at: jiff::Timestamp = t["run_at"].as_str().expect("s").parse().expect("ts");
            let local =
                at.to_zoned_datetime(jiff::tz::TimeZone::get("America/New_York").expect("tz"));
            local.date().to_string() == "2026-03-08"
        })
        .count();
    assert_eq!(on_gap_day, 1, "{:?}", run_ats(&completed(&env)));

    // 01:30 happens twice on 2026-11-01.
    let mut env = another(&env);
    env.set("DEFER_NOW", "2026-10-31T12:00:00Z");
    env.ok(&[
        "schedule",
        "--cron",
        "30 1 * * *",
        "--summary",
        "fold",
        "--id",
        "f",
    ]);
    let wakes = every(
        "2026-10-31T12:00:00Z",
        jiff::SignedDuration::from_mins(30),
        48,
    );
    run_at(&mut env, &wakes);
    let done = run_ats(&completed(&env));
    let fold_day: Vec<&String> = done
        .iter()
        .filter(|r| r.starts_with("2026-11-01"))
        .collect();
    assert_eq!(
        fold_day,
        vec!["2026-11-01T05:30:00Z"],
        "the earlier 01:30 only: {done:?}"
    );
}

crate::on_both_stores!(count_and_until_end_a_series);
fn count_and_until_end_a_series(mut env: Env) {
    env.set("DEFER_NOW", "2026-04-08T10:00:00Z");
    let t = env.ok(&[
        "schedule",
        "--every",
        "1h",
        "--count",
        "3",
        "--summary",
        "three",
        "--id",
        "c",
    ]);
    assert!(
        t.stderr.contains("then every 1h, 3 times in all"),
        "{}",
        t.stderr
    );
    assert_eq!(
        t.json()["run_at"],
        "2026-04-08T11:00:00Z",
        "no --when: one interval from now"
    );
    let wakes: Vec<String> = (11..=16)
        .map(|h| format!("2026-04-08T{h}:00:00Z"))
        .collect();
    run_at(&mut env, &wakes);
    assert_eq!(completed(&env).len(), 3);
    assert!(env.records().is_empty(), "no fourth occurrence");

    let mut env = Env::with_store(env.kind()).expect("same store");
    env.set("DEFER_NOW", "2026-04-08T10:00:00Z");
    env.ok(&[
        "schedule",
        "--every",
        "1d",
        "--when",
        "now",
        "--until",
        "2026-04-10T12:00:00Z",
        "--summary",
        "until",
        "--id",
        "u",
    ]);
    let wakes: Vec<String> = (8..=12)
        .map(|d| format!("2026-04-{d:02}T10:00:00Z"))
        .collect();
    run_at(&mut env, &wakes);
    assert_eq!(
        run_ats(&completed(&env)),
        vec![
            "2026-04-08T10:00:00Z",
            "2026-04-09T10:00:00Z",
            "2026-04-10T10:00:00Z"
        ]
    );
    assert!(env.records().is_empty());
}

crate::on_both_stores!(a_task_found_too_late_is_skipped_with_the_reason);
fn a_task_found_too_late_is_skipped_with_the_reason(mut env: Env) {
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "stale",
        "--id",
        "late",
        "--if-late",
        "skip",
        "--late-after",
        "1h",
    ]);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "fine",
        "--id",
        "ok",
        "--if-late",
        "skip",
    ]);
    env.set("DEFER_NOW", "2026-04-08T19:35:00Z"); // 3 h later
    let mut env_ok = env.cmd(&["run"]);
    let run = crate::util::Run::from(env_ok.output().expect("run"));
    assert!(run.success(), "{}", run.stderr);
    let t = env.find("late").expect("archived");
    assert_eq!(t["status"], "cancelled");
    let reason = t["cancel_reason"].as_str().expect("reason");
    assert!(
        reason.starts_with("missed: due at 2026-04-08T16:35:00Z, found 3h late"),
        "{reason}"
    );
    assert!(reason.contains("late_after 1h"), "{reason}");
    // Default late-after (10m) also applies; a task with no policy runs however late.
    assert_eq!(env.find("ok").expect("archived")["status"], "cancelled");
    assert!(env.log().contains("missed id=late"), "{}", env.log());
    assert!(
        !env.log_dir().join("late.prompt.txt").exists(),
        "a skipped task is not prepared"
    );

    let mut env = Env::with_store(env.kind()).expect("same store");
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "runs",
        "--id",
        "r",
    ]);
    env.set("DEFER_NOW", "2026-04-08T19:35:00Z");
    env.ok(&["run"]);
    assert_eq!(env.find("r").expect("archived")["status"], "completed");
}

crate::on_both_stores!(a_series_that_missed_five_occurrences_runs_once);
fn a_series_that_missed_five_occurrences_runs_once(mut env: Env) {
    let log = env.dir.path().join("ran.txt");
    let exec = env.script(
        "count.sh",
        &format!(
            "cat >/dev/null\necho \"$DEFER_TASK_ID $DEFER_LATENESS_SECONDS\" >> '{}'",
            log.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    env.set("DEFER_NOW", "2026-04-08T10:00:00Z");
    env.ok(&[
        "schedule",
        "--every",
        "1h",
        "--when",
        "now",
        "--summary",
        "s",
        "--id",
        "s",
    ]);
    env.ok(&["run"]);
    // The laptop sleeps through 11:00 … 15:00 and wakes at 15:20.
    env.set("DEFER_NOW", "2026-04-08T15:20:00Z");
    env.ok(&["run"]);
    env.ok(&["run"]);
    let ran = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = ran.lines().collect();
    assert_eq!(
        lines,
        vec!["s 0", "s.2 1200"],
        "one catch-up run, 20 min late"
    );
    let caught_up = env.find("s.2").expect("archived");
    assert_eq!(
        caught_up["series"]["occurrence"], 6,
        "stands in for 11:00 … 15:00"
    );
    assert_eq!(caught_up["series"]["missed"], 4);
    assert_eq!(caught_up["run_at"], "2026-04-08T15:00:00Z");
    let next = env.records();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["id"], "s.7");
    assert_eq!(next[0]["run_at"], "2026-04-08T16:00:00Z");
}

crate::on_both_stores!(cancelling_an_occurrence_schedules_the_next_and_cancel_series_ends_it);
fn cancelling_an_occurrence_schedules_the_next_and_cancel_series_ends_it(env: Env) {
    env.ok(&[
        "schedule",
        "--every",
        "1d",
        "--when",
        "1h",
        "--summary",
        "x",
        "--id",
        "cs",
    ]);
    let t = env.ok(&["cancel", "--id", "cs"]).json();
    assert_eq!(t["status"], "cancelled");
    let pending = env.records();
    let next = pending
        .iter()
        .find(|r| r["status"] == "scheduled")
        .expect("next");
    assert_eq!(next["id"], "cs.2");
    assert_eq!(next["run_at"], "2026-04-09T17:35:00Z");

    let ended = env
        .ok(&["cancel", "--series", "cs", "--reason", "done"])
        .json();
    assert_eq!(ended[0]["id"], "cs.2");
    assert_eq!(ended[0]["series"]["ended"], true);
    assert!(env.records().iter().all(|r| r["status"] != "scheduled"));
    let again = env.fails(&["cancel", "--series", "cs"]);
    assert!(
        again.stderr.contains("no scheduled occurrence"),
        "{}",
        again.stderr
    );
}

crate::on_both_stores!(bad_recurrence_flags_are_refused_and_change_nothing);
fn bad_recurrence_flags_are_refused_and_change_nothing(env: Env) {
    for (args, needle) in [
        (&["schedule", "--summary", "x"][..], "--when"),
        (
            &["schedule", "--cron", "0 9 * *", "--summary", "x"][..],
            "five fields",
        ),
        (
            &["schedule", "--cron", "99 9 * * *", "--summary", "x"][..],
            "cron",
        ),
        (
            &["schedule", "--every", "0s", "--summary", "x"][..],
            "--every",
        ),
        (
            &[
                "schedule",
                "--every",
                "1d",
                "--cron",
                "0 9 * * *",
                "--summary",
                "x",
            ][..],
            "cron",
        ),
        (
            &["schedule", "--when", "1h", "--count", "3", "--summary", "x"][..],
            "--every",
        ),
        (
            &[
                "schedule",
                "--every",
                "1h",
                "--count",
                "0",
                "--summary",
                "x",
            ][..],
            "count",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--late-after",
                "1h",
                "--summary",
                "x",
            ][..],
            "--if-late",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--if-late",
                "maybe",
                "--summary",
                "x",
            ][..],
            "if-late",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--if-late",
                "skip",
                "--late-after",
                "soon",
                "--summary",
                "x",
            ][..],
            "--late-after",
        ),
        (
            &[
                "schedule",
                "--every",
                "1h",
                "--until",
                "2026-01-01",
                "--summary",
                "x",
            ][..],
            "before the first occurrence",
        ),
    ] {
        let run = env.fails(args);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
    assert!(env.store_bytes().is_empty());
}

#[test]
fn watch_runs_a_task_within_a_second_of_its_time_and_stops_on_sigterm() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    let mut watcher = env.spawn_watcher();
    // Let it take the lock and settle.
    let wake = env.runtime().join(".runner-wake.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !wake.exists() {
        assert!(Instant::now() < deadline, "watcher never woke");
        std::thread::sleep(Duration::from_millis(20));
    }
    let scheduled = env.ok(&[
        "schedule",
        "--when",
        "2s",
        "--summary",
        "soon",
        "--id",
        "soon",
    ]);
    let run_at: jiff::Timestamp = scheduled.json()["run_at"]
        .as_str()
        .expect("s")
        .parse()
        .expect("ts");
    env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "later",
        "--id",
        "later",
    ]);

    // A cron wake while the watcher lives steps aside.
    let cron = env.ok(&["run", "-v"]);
    assert!(cron.stdout.contains("skipped"), "{}", cron.stdout);

    let deadline = Instant::now() + Duration::from_secs(15);
    let done = loop {
        if let Some(t) = env.find("soon").filter(|t| t["status"] == "completed") {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not run the task"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let started: jiff::Timestamp = done["started_at"].as_str().expect("s").parse().expect("ts");
    let latency = started.as_second() - run_at.as_second();
    assert!(
        (0..=1).contains(&latency),
        "started {latency}s after its run_at"
    );

    // SIGTERM: a clean stop, the lock released, the future task untouched.
    signal_child(&watcher, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = watcher.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "watcher did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    assert!(env.log().contains("watch stopped"), "{}", env.log());
    assert_eq!(env.find("later").expect("later")["status"], "scheduled");
    let after = env.ok(&["run", "-v"]);
    assert!(
        !after.stdout.contains("skipped"),
        "the lock was released: {}",
        after.stdout
    );
}

#[test]
fn watch_survives_the_store_being_replaced() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    let mut watcher = env
        .cmd(&["run", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watcher");
    std::thread::sleep(Duration::from_millis(500));
    // Another program replaces the file wholesale (e.g. an editor or a sync tool).
    let line = r#"{"id":"swapped","created_at":"2026-01-01T00:00:00Z","run_at":"2026-01-01T00:00:00Z","status":"scheduled","context":{"summary":"from a replaced file"}}"#;
    let tmp = env.runtime().join("replacement.tmp");
    std::fs::create_dir_all(env.runtime()).expect("mkdir");
    std::fs::write(&tmp, format!("{line}\n")).expect("write");
    std::fs::rename(&tmp, env.tasks_file()).expect("rename");
    let deadline = Instant::now() + Duration::from_secs(10);
    while env
        .find("swapped")
        .is_none_or(|t| t["status"] != "completed")
    {
        assert!(
            Instant::now() < deadline,
            "the replaced store was not picked up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_child(&watcher, libc::SIGTERM);
    let _ = watcher.wait();
}

/// `why` and `run` ask the lifecycle the same question, so what `why` predicts is what `run`
/// does: with and without an explicit `--late-after`, before and past the limit.
fn why_and_run_agree_on_missed_runs(mut env: Env) {
    for (id, extra) in [("dflt", None), ("hour", Some("1h"))] {
        let mut args = vec![
            "schedule",
            "--when",
            "now",
            "--if-late",
            "skip",
            "--summary",
            "x",
            "--id",
            id,
        ];
        if let Some(limit) = extra {
            args.extend(["--late-after", limit]);
        }
        env.ok(&args);
    }
    env.set("DEFER_NOW", "2026-04-08T16:50:00Z");
    let why = env.ok(&["why", "dflt"]).stdout;
    assert!(
        why.contains("more than 10m late") && why.contains("past the 10m limit"),
        "{why}"
    );
    let why = env.ok(&["why", "hour"]).stdout;
    assert!(why.contains("more than 1h late"), "{why}");
    assert!(!why.contains("past the"), "{why}");
    env.ok(&["run"]);
    let skipped = env.find("dflt").expect("dflt");
    assert_eq!(
        skipped["status"], "cancelled",
        "why said it would be skipped"
    );
    assert!(
        skipped["cancel_reason"]
            .as_str()
            .expect("reason")
            .contains("late_after 10m")
    );
    assert_eq!(
        env.find("hour").expect("hour")["status"],
        "completed",
        "why said it would run"
    );
}
crate::on_both_stores!(why_and_run_agree_on_missed_runs);

/// A series occurrence found after missed rule times: `why` says it stands in for them, and
/// `run` runs it once and schedules the next from the rule.
fn why_and_run_agree_on_a_series_that_missed_occurrences(mut env: Env) {
    env.set("DEFER_NOW", "2026-04-08T10:00:00Z");
    env.ok(&[
        "schedule",
        "--every",
        "1h",
        "--summary",
        "hourly",
        "--id",
        "h",
    ]);
    env.set("DEFER_NOW", "2026-04-08T14:30:00Z");
    let why = env.ok(&["why", "h"]).stdout;
    assert!(why.contains("Series: occurrence 1 of series h"), "{why}");
    env.ok(&["run"]);
    let done = completed(&env);
    assert_eq!(done.len(), 1, "missed occurrences run once");
    assert_eq!(done[0]["series"]["missed"], 3);
    let why = env.ok(&["why", "h.5"]).stdout;
    assert!(why.contains("Series: occurrence 5 of series h"), "{why}");
    assert_eq!(
        env.find("h.5").expect("next")["run_at"],
        "2026-04-08T15:00:00Z"
    );
}
crate::on_both_stores!(why_and_run_agree_on_a_series_that_missed_occurrences);
