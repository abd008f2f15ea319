//! PostgreSQL-only behaviour: shared queues, leases, rescue, fencing, migrations, and moving
//! tasks between stores. Every test uses its own schema and skips (saying why) without
//! `DEFER_TEST_DATABASE_URL`.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent_defer::Config;
use agent_defer::lifecycle::{self, Happened, Policy, RetryPolicy};
use agent_defer::store::{PgStore, Store};

use crate::util::{Env, kill_group, read_jsonl, reference_line, signal_child, wait_until};

/// A library-level config for `schema` at `now`, for tests that drive the store directly.
fn config(env: &Env, now: &str, lease: &str) -> Config {
    let vars: HashMap<String, OsString> = env
        .vars
        .iter()
        .cloned()
        .chain([
            ("DEFER_NOW".to_string(), OsString::from(now)),
            ("DEFER_LEASE_SECONDS".to_string(), OsString::from(lease)),
        ])
        .collect();
    Config::from_lookup(|k| vars.get(k).cloned()).expect("config")
}

fn connect(env: &Env, now: &str, lease: &str) -> (Config, PgStore) {
    let config = config(env, now, lease);
    let url = config.database_url.clone().expect("url");
    let store = PgStore::connect(&config, &url).expect("connect");
    (config, store)
}

/// Writes `n` due tasks as a JSONL runtime dir and imports it: much faster than `n`
/// `defer schedule` processes.
fn import_due(env: &Env, n: usize) {
    let dir = env.dir.path().join("seed");
    fs::create_dir_all(&dir).expect("mkdir");
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            r#"{{"id":"q{i:05}","created_at":"2026-04-08T16:00:00Z","run_at":"2026-04-08T16:00:00Z","type":"deferred_task","intent":"resume_task","context":{{"summary":"task {i}","key_points":[],"artifacts":[],"constraints":[]}},"execution":{{"mode":"fresh","prompt_template":"go","aura_level":"low"}},"status":"scheduled","attempts":0,"max_retries":0}}"#
        ));
        text.push('\n');
    }
    fs::write(dir.join("deferred.jsonl"), text).expect("seed");
    env.ok(&["import", "--runtime-dir", dir.to_str().expect("utf8")]);
}

#[test]
fn four_runners_execute_two_thousand_tasks_exactly_once() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    let n = 2000;
    import_due(&env, n);
    let ran = env.dir.path().join("ran.txt");
    let exec = env.script(
        "record.sh",
        &format!(
            "cat >/dev/null\necho \"$DEFER_TASK_ID\" >> '{}'",
            ran.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    env.set("DEFER_CLAIM_BATCH", "50");
    crate::util::run_all_at_once((0..4).map(|_| env.cmd(&["run"])).collect());
    let text = fs::read_to_string(&ran).expect("ran");
    let lines: Vec<&str> = text.lines().collect();
    let unique: HashSet<&str> = lines.iter().copied().collect();
    assert_eq!(unique.len(), n, "every task ran");
    assert_eq!(lines.len(), n, "no task ran twice");
    let completed = env
        .ok(&["list", "--status", "completed", "--compact"])
        .json();
    assert_eq!(completed.as_array().expect("array").len(), n);
    assert_eq!(env.ok(&["list"]).json(), serde_json::json!([]));
    // Each task was claimed exactly once across the four runners.
    let claims = env
        .log()
        .lines()
        .filter(|l| l.contains("runner claimed"))
        .count();
    assert_eq!(claims, n);
}

#[test]
fn a_killed_runner_is_rescued_at_once_and_the_task_completes() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    // The default lease (300 s): the rescue must not wait for it, as the dead runner's
    // liveness lock ended with its connection.
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    let pidfile = env.dir.path().join("exec.pid");
    let slow = env.script(
        "slow.sh",
        &format!("echo $$ > '{}'\nexec sleep 60", pidfile.display()),
    );
    env.set("DEFER_EXECUTOR", slow.as_os_str());
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "k1",
        "--max-retries",
        "1",
    ]);

    let mut runner = env
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pidfile.exists() {
        assert!(Instant::now() < deadline, "executor never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    runner.kill().expect("kill -9");
    let _ = runner.wait();
    // The executor is in its own process group, which the dead runner can no longer kill.
    // (The pid file may still be empty for an instant; never signal group 0 or 1.)
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid = loop {
        let pid = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        if let Some(pid) = pid.filter(|&p| p > 1) {
            break pid;
        }
        assert!(Instant::now() < deadline, "no executor pid");
        std::thread::sleep(Duration::from_millis(20));
    };
    kill_group(pid);
    assert_eq!(env.ok(&["show", "k1"]).json()["status"], "executing");

    // The next wake, at the same instant and well within the lease, rescues it (a failed
    // attempt) and runs it again. The server notices the dead connection at once on a local
    // socket; allow it a moment.
    let ok = env.script("ok.sh", "cat >/dev/null\necho rescued");
    env.set("DEFER_EXECUTOR", ok.as_os_str());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        env.ok(&["run"]);
        if env.ok(&["show", "k1"]).json()["status"] != "executing" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not rescued without waiting for the lease"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = env.ok(&["show", "k1"]).json();
    assert_eq!(t["status"], "completed", "{t}");
    assert_eq!(t["attempts"], 1);
    assert_eq!(t["result"]["output"], "rescued\n");
    assert!(
        env.log().contains("retry scheduled id=k1 attempt=1"),
        "{}",
        env.log()
    );
}

#[test]
fn a_late_outcome_from_a_presumed_dead_runner_is_fenced_off() {
    let Some(env) = Env::postgres() else { return };
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "f1",
        "--max-retries",
        "1",
    ]);
    let policy = Policy {
        retry: RetryPolicy {
            delay: Duration::ZERO,
            backoff: agent_defer::config::Backoff::Fixed,
            max_delay: Duration::ZERO,
        },
        zone: jiff::tz::TimeZone::UTC,
    };
    let t0: jiff::Timestamp = "2026-04-08T16:35:00Z".parse().expect("t0");
    let t1: jiff::Timestamp = "2026-04-08T16:36:00Z".parse().expect("t1");

    // Runner A claims the task, then goes quiet past its lease.
    let (_, a) = connect(&env, "2026-04-08T16:35:00Z", "10");
    let claimed = a
        .claim_due(t0, 10, &HashSet::new(), &mut |t| lifecycle::claim(t, t0))
        .expect("claim");
    assert_eq!(claimed.len(), 1);

    // Runner B finds the lease expired, rescues the task and claims it itself.
    let (_, b) = connect(&env, "2026-04-08T16:36:00Z", "10");
    let rescued = b
        .recover(t1, &mut |t, _| {
            lifecycle::finish(t, Happened::Interrupted, "/p", &policy, t1)
        })
        .expect("recover");
    assert_eq!(rescued.len(), 1);
    let mine = b
        .claim_due(t1, 10, &HashSet::new(), &mut |t| lifecycle::claim(t, t1))
        .expect("claim");
    assert_eq!(mine.len(), 1);

    // A wakes up and reports success: refused, because the claim is no longer A's.
    let late = lifecycle::finish(
        claimed[0].clone(),
        Happened::PromptPrepared,
        "/a",
        &policy,
        t1,
    );
    assert_eq!(
        a.save_outcomes(&mut [late]).expect("save"),
        vec!["f1".to_string()]
    );
    let t = env.ok(&["show", "f1"]).json();
    assert_eq!(
        t["status"], "executing",
        "A's late outcome must not land: {t}"
    );

    // B's outcome lands.
    let done = lifecycle::finish(mine[0].clone(), Happened::PromptPrepared, "/b", &policy, t1);
    assert!(b.save_outcomes(&mut [done]).expect("save").is_empty());
    let t = env.ok(&["show", "f1"]).json();
    assert_eq!(t["status"], "completed");
    assert_eq!(t["attempts"], 1);
    assert_eq!(t["result"]["prompt_path"], "/b");
}

#[test]
fn leases_are_renewed_while_the_executor_runs() {
    let Some(env) = Env::postgres() else { return };
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "l1"]);
    let t0: jiff::Timestamp = "2026-04-08T16:35:00Z".parse().expect("t0");
    let (_, a) = connect(&env, "2026-04-08T16:35:00Z", "10");
    a.claim_due(t0, 10, &HashSet::new(), &mut |t| lifecycle::claim(t, t0))
        .expect("claim");
    // Renewed at 16:35:20, the lease runs to 16:35:30: a rescuer at 16:35:25 finds nothing.
    a.renew_leases("2026-04-08T16:35:20Z".parse().expect("ts"))
        .expect("renew");
    let (_, b) = connect(&env, "2026-04-08T16:35:25Z", "10");
    let t: jiff::Timestamp = "2026-04-08T16:35:25Z".parse().expect("ts");
    let policy = Policy {
        retry: RetryPolicy {
            delay: Duration::ZERO,
            backoff: agent_defer::config::Backoff::Fixed,
            max_delay: Duration::ZERO,
        },
        zone: jiff::tz::TimeZone::UTC,
    };
    let rescued = b
        .recover(t, &mut |task, _| {
            lifecycle::finish(task, Happened::Interrupted, "/p", &policy, t)
        })
        .expect("recover");
    assert!(rescued.is_empty(), "a renewed lease is not rescued");
}

#[test]
fn two_hosts_migrating_at_once_both_succeed() {
    let Some(env) = Env::postgres() else { return };
    let children: Vec<_> = (0..2)
        .map(|_| {
            let mut cmd = env.cmd(&["db", "migrate"]);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd.spawn().expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(status["version"], status["latest"]);
        assert_eq!(status["pending"], serde_json::json!([]));
    }
    let status = env.ok(&["db", "status"]).json();
    assert_eq!(status["version"], status["latest"]);
    assert_eq!(status["version"], 8);
    // The schema works.
    env.ok(&["schedule", "--when", "1h", "--summary", "x", "--id", "m1"]);
    assert_eq!(env.ok(&["show", "m1"]).json()["id"], "m1");
}

/// Migration 6 fills in the listing's order for rows written before it: a store upgraded
/// in place lists as a fresh one does, and a row whose record is not JSON is listed last
/// instead of failing the migration.
#[test]
fn rows_written_before_the_listing_order_are_ordered_after_the_upgrade() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    env.set("DEFER_NOW", "2026-04-08T16:35:00Z");
    for (id, when) in [("late", "3h"), ("soon", "1h"), ("mid", "2h")] {
        env.ok(&["schedule", "--when", when, "--summary", "x", "--id", id]);
    }
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "ran"]);
    env.ok(&["run"]);
    let (url, schema) = env.database.clone().expect("database");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    // Back to version 5: no listing column (nor what migration 7 added), as an older defer
    // left the schema.
    client
        .batch_execute(&format!(
            "ALTER TABLE \"{schema}\".tasks DROP COLUMN listed_at, DROP COLUMN unique_key,
                 DROP COLUMN unique_shared, DROP COLUMN parent_id, DROP COLUMN missed;
             ALTER TABLE \"{schema}\".archive DROP COLUMN listed_at, DROP COLUMN unique_key,
                 DROP COLUMN parent_id, DROP COLUMN missed;
             DELETE FROM \"{schema}\".migrations WHERE version >= 6;"
        ))
        .expect("downgrade");
    // The next command applies what is pending, as on a host that upgraded defer.
    let status = env.ok(&["db", "migrate"]).json();
    assert_eq!(status["version"], status["latest"], "{status}");
    let listed: Vec<String> = env
        .ok(&["list", "--all", "--compact"])
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(listed, ["soon", "mid", "late", "ran"]);
    let filled: i64 = client
        .query_one(
            &format!(
                "SELECT (SELECT count(*) FROM \"{schema}\".tasks WHERE listed_at IS NOT NULL)
                      + (SELECT count(*) FROM \"{schema}\".archive WHERE listed_at IS NOT NULL)"
            ),
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(filled, 4);
}

#[test]
fn db_commands_need_a_database() {
    let env = Env::new();
    let run = env.fails(&["db", "status"]);
    assert!(run.stderr.contains("DEFER_DATABASE_URL"), "{}", run.stderr);
    let mut bad = Env::new();
    bad.set("DEFER_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none");
    let run = bad.fails(&["list"]);
    assert!(
        run.stderr
            .contains("cannot reach the database at 127.0.0.1:1 (is PostgreSQL running there")
            && run.stderr.contains("Connection refused")
            && run.stderr.lines().count() == 1,
        "one line naming the host: {}",
        run.stderr
    );
    bad.set("DEFER_DATABASE_SCHEMA", "Robert'); DROP TABLE x;--");
    let run = bad.fails(&["list"]);
    assert!(
        run.stderr.contains("DEFER_DATABASE_SCHEMA"),
        "{}",
        run.stderr
    );
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let store = fs::read(dir.join("deferred.jsonl")).expect("store");
    let mut out = vec![("deferred.jsonl".to_string(), store)];
    if let Ok(entries) = fs::read_dir(dir.join("archive")) {
        let mut names: Vec<_> = entries.map(|e| e.expect("entry").file_name()).collect();
        names.sort();
        for name in names {
            let rel = format!("archive/{}", name.to_string_lossy());
            out.push((rel.clone(), fs::read(dir.join(&rel)).expect("archive")));
        }
    }
    out
}

#[test]
fn export_import_export_round_trips_byte_identical() {
    let Some(first) = Env::postgres() else { return };
    // A store with active, executing-free, archived and cancelled tasks and unknown fields.
    first.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "ran",
        "--id",
        "x1",
    ]);
    first.ok(&[
        "schedule",
        "--when",
        "2h",
        "--summary",
        "pending \"quoted\" ünï",
        "--id",
        "x2",
        "--context-json",
        r#"{"team":{"name":"infra","size":3}}"#,
    ]);
    first.ok(&[
        "schedule",
        "--when",
        "3h",
        "--summary",
        "dropped",
        "--id",
        "x3",
    ]);
    first.ok(&["cancel", "--id", "x3"]);
    first.ok(&["run"]);
    let dir1 = first.dir.path().join("export1");
    first.ok(&["export", "--runtime-dir", dir1.to_str().expect("utf8")]);

    let Some(second) = Env::postgres() else {
        return;
    };
    second.ok(&["import", "--runtime-dir", dir1.to_str().expect("utf8")]);
    let dir2 = second.dir.path().join("export2");
    second.ok(&["export", "--runtime-dir", dir2.to_str().expect("utf8")]);
    assert_eq!(
        files(&dir1),
        files(&dir2),
        "export → import → export is lossless"
    );
    assert_eq!(read_jsonl(&dir1.join("deferred.jsonl")).len(), 1);
    assert_eq!(
        read_jsonl(&dir1.join("archive/deferred_202604.jsonl")).len(),
        2
    );

    // And through a JSONL store: JSONL → PostgreSQL → JSONL.
    let jsonl = Env::new();
    jsonl.ok(&["import", "--runtime-dir", dir1.to_str().expect("utf8")]);
    assert_eq!(
        jsonl.ok(&["show", "x2"]).json()["context"]["team"]["size"],
        3
    );
    let dir3 = jsonl.dir.path().join("export3");
    jsonl.ok(&["export", "--runtime-dir", dir3.to_str().expect("utf8")]);
    assert_eq!(files(&dir1), files(&dir3));

    // Importing again is refused whole: the ids are taken; nothing is added.
    let again = second.fails(&["import", "--runtime-dir", dir1.to_str().expect("utf8")]);
    assert!(
        again.stderr.contains("already in the store"),
        "{}",
        again.stderr
    );
    assert_eq!(
        second
            .ok(&["list", "--all", "--compact"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[test]
fn a_reference_store_moves_to_postgres_losslessly() {
    let Some(env) = Env::postgres() else { return };
    let src = env.dir.path().join("reference");
    fs::create_dir_all(src.join("archive")).expect("mkdir");
    let fixture = include_str!("../data/reference_store.jsonl");
    fs::write(src.join("deferred.jsonl"), fixture).expect("fixture");
    env.ok(&["import", "--runtime-dir", src.to_str().expect("utf8")]);
    let out = env.dir.path().join("back");
    env.ok(&["export", "--runtime-dir", out.to_str().expect("utf8")]);
    assert_eq!(
        fs::read_to_string(out.join("deferred.jsonl")).expect("back"),
        fixture
    );
}

#[test]
fn a_row_that_is_not_a_record_is_skipped_and_reported_not_blocking_the_queue() {
    let Some(env) = Env::postgres() else { return };
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "valid",
        "--id",
        "good",
    ]);
    let (url, schema) = env.database.clone().expect("database");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    // Due earlier than the valid task, and missing created_at.
    client
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".tasks (id, status, run_at, record)
                 VALUES ('poison', 'scheduled', '2026-04-08T16:00:00Z', $1)"
            ),
            &[&r#"{"id":"poison","run_at":"2026-04-08T16:00:00Z","status":"scheduled"}"#],
        )
        .expect("plant");
    let run = env.ok(&["run"]);
    assert_eq!(
        run.stderr.matches("warning:").count(),
        1,
        "reported once: {}",
        run.stderr
    );
    assert_eq!(env.ok(&["show", "good"]).json()["status"], "completed");
    let check = env.fails(&["check"]);
    assert!(
        check.stdout.contains("missing field `created_at`"),
        "{check:?}"
    );
}

/// Ends every server session of this test's `defer` processes (they connect with the
/// application name `app`), as a server restart or a failover would.
fn terminate_sessions(url: &str, app: &str) -> i64 {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    client
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&app],
        )
        .expect("terminate")
        .get(0)
}

#[test]
fn a_watcher_survives_its_database_connections_being_cut() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    let (url, schema) = env.database.clone().expect("database");
    let app = format!("defer_{schema}");
    let sep = if url.contains('?') { '&' } else { '?' };
    env.set(
        "DEFER_DATABASE_URL",
        format!("{url}{sep}application_name={app}").as_str(),
    );
    env.unset("DEFER_NOW");
    let watcher = env.spawn_watcher();
    let wake = env.runtime().join(".runner-wake.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !wake.exists() {
        assert!(Instant::now() < deadline, "watcher never woke");
        std::thread::sleep(Duration::from_millis(50));
    }
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "before",
    ]);
    let done = |env: &Env, id: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = env.ok(&["show", id]).json()["status"].clone();
            if status == "completed" {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert!(done(&env, "before"));
    // Cut the watcher's connections (its store and its LISTEN), then give it work.
    assert!(terminate_sessions(&url, &app) >= 1);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "after",
    ]);
    let recovered = done(&env, "after");
    signal_child(&watcher, libc::SIGTERM);
    let out = watcher.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        recovered,
        "the watcher must carry on after reconnecting: {stderr}"
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("connecting again") || stderr.contains("trying again"),
        "it says what happened: {stderr}"
    );
}

#[test]
fn a_runner_whose_connection_is_cut_records_outcomes_on_a_new_one() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    let (url, schema) = env.database.clone().expect("database");
    let app = format!("defer_run_{schema}");
    let sep = if url.contains('?') { '&' } else { '?' };
    env.set(
        "DEFER_DATABASE_URL",
        format!("{url}{sep}application_name={app}").as_str(),
    );
    let started = env.dir.path().join("started");
    let slow = env.script(
        "slow.sh",
        &format!(
            "cat >/dev/null\ntouch '{}'\nsleep 1.5\necho fine",
            started.display()
        ),
    );
    env.set("DEFER_EXECUTOR", slow.as_os_str());
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "cut"]);
    let runner = env
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started.exists() {
        assert!(Instant::now() < deadline, "executor never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(terminate_sessions(&url, &app) >= 1);
    let out = runner.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let t = env.ok(&["show", "cut"]).json();
    assert_eq!(t["status"], "completed", "{t} {stderr}");
    assert_eq!(t["result"]["output"], "fine\n");
}

/// Runs `defer run` with `exec` as the executor, in the background.
fn spawn_runner(env: &Env, exec: &Path) -> std::process::Child {
    env.cmd(&["run"])
        .env("DEFER_EXECUTOR", exec)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn runner")
}

#[test]
fn one_of_three_runners_killed_its_tasks_are_rescued_by_the_others_at_once() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    env.unset("DEFER_NOW");
    env.set("DEFER_CLAIM_BATCH", "2");
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    let marks = env.dir.path().join("marks");
    fs::create_dir_all(&marks).expect("mkdir");
    // Each execution leaves a file named after the task and the executor's pid; the first
    // runner's executors hang, so it holds its claims until it is killed.
    let hang = env.script(
        "hang.sh",
        &format!(
            "cat >/dev/null\ntouch '{}'/\"$DEFER_TASK_ID.$$\"\nexec sleep 60",
            marks.display()
        ),
    );
    let quick = env.script(
        "quick.sh",
        &format!(
            "cat >/dev/null\ntouch '{}'/\"$DEFER_TASK_ID.$$\"",
            marks.display()
        ),
    );
    for i in 0..6 {
        env.ok(&[
            "schedule",
            "--when",
            "now",
            "--summary",
            "x",
            "--id",
            &format!("q{i}"),
            "--max-retries",
            "1",
        ]);
    }
    let mut doomed = spawn_runner(&env, &hang);
    assert!(wait_until(Duration::from_secs(20), || {
        fs::read_dir(&marks).map(|d| d.count()).unwrap_or(0) >= 1
    }));
    let victim: String = fs::read_dir(&marks)
        .expect("marks")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .expect("a mark");
    let (task, pid) = victim.split_once('.').expect("id.pid");
    let pid: u32 = pid.parse().expect("pid");
    doomed.kill().expect("kill -9 the runner");
    let _ = doomed.wait();
    kill_group(pid);
    // Two other runners, default 300 s lease: the dead runner's task is rescued at once.
    let others: Vec<_> = (0..2).map(|_| spawn_runner(&env, &quick)).collect();
    for runner in others {
        let out = runner.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    env.ok(&["run"]);
    let rescued = env.ok(&["show", task]).json();
    assert_eq!(rescued["status"], "completed", "{rescued}");
    assert_eq!(
        rescued["attempts"], 1,
        "the killed attempt counts: {rescued}"
    );
    for i in 0..6 {
        let t = env.ok(&["show", &format!("q{i}")]).json();
        assert_eq!(t["status"], "completed", "{t}");
    }
}

#[test]
fn a_paused_runner_past_its_lease_is_fenced_off() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    env.unset("DEFER_NOW");
    env.set("DEFER_LEASE_SECONDS", "3");
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    let started = env.dir.path().join("started");
    let slow = env.script(
        "slow.sh",
        &format!(
            "cat >/dev/null\ntouch '{}'\nsleep 2\necho late",
            started.display()
        ),
    );
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "f",
        "--max-retries",
        "1",
    ]);
    let frozen = spawn_runner(&env, &slow);
    assert!(wait_until(Duration::from_secs(20), || started.exists()));
    // Frozen: its session stays open (so the liveness lock holds), but it renews nothing.
    signal_child(&frozen, libc::SIGSTOP);
    std::thread::sleep(Duration::from_secs(4));
    let quick = env.script("quick.sh", "cat >/dev/null\necho rescuer");
    let out = env
        .cmd(&["run"])
        .env("DEFER_EXECUTOR", &quick)
        .output()
        .expect("rescue");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        env.ok(&["show", "f"]).json()["result"]["output"],
        "rescuer\n"
    );
    signal_child(&frozen, libc::SIGCONT);
    let out = frozen.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = env.ok(&["show", "f"]).json();
    assert_eq!(
        t["result"]["output"], "rescuer\n",
        "the late outcome was refused: {t}"
    );
    assert!(
        env.log()
            .contains("outcome rejected id=f reason=lease_lost"),
        "{}",
        env.log()
    );
}

/// A runner on a shared queue claims its next batch while the last task of the current one
/// runs (its workers never wait for the database), and holds no more than that batch ahead:
/// the rest stays free for other runners.
#[test]
fn the_next_batch_is_claimed_while_the_last_task_of_a_batch_runs() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    env.set("DEFER_CLAIM_BATCH", "2");
    let dir = env.dir.path().to_path_buf();
    // The second task waits until the test lets it go; the others finish at once.
    let exec = env.script(
        "exec.sh",
        &format!(
            "cat >/dev/null\nif [ \"$DEFER_TASK_ID\" = b ]; then\n  touch '{0}/b.started'\n  \
             while [ ! -e '{0}/release' ]; do sleep 0.05; done\nfi",
            dir.display()
        ),
    );
    for id in ["a", "b", "c", "d", "e", "f"] {
        env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", id]);
    }
    let runner = spawn_runner(&env, &exec);
    let started = dir.join("b.started");
    assert!(wait_until(Duration::from_secs(30), || started.exists()));
    let status = |id: &str| env.ok(&["show", id]).json()["status"].clone();
    // While b (the last of the first batch) runs, c and d are claimed; e and f are not.
    let claimed_ahead = wait_until(Duration::from_secs(10), || {
        status("c") == "executing" && status("d") == "executing"
    });
    let (e, f) = (status("e"), status("f"));
    fs::write(dir.join("release"), "").expect("release");
    let out = runner.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(claimed_ahead, "c and d were not claimed ahead: {stderr}");
    assert_eq!(
        (e.as_str(), f.as_str()),
        (Some("scheduled"), Some("scheduled"))
    );
    assert!(out.status.success(), "{stderr}");
    for id in ["a", "b", "c", "d", "e", "f"] {
        assert_eq!(status(id), "completed", "{id}: {stderr}");
    }
}

/// Whether the sessions named `app` are encrypted (`None` while there are none).
fn sessions_encrypted(url: &str, app: &str) -> Option<bool> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let rows = client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = $1",
            &[&app],
        )
        .expect("pg_stat_ssl");
    let first: bool = rows.first()?.get(0);
    assert!(rows.iter().all(|r| r.get::<_, bool>(0) == first));
    Some(first)
}

/// Without an `sslmode`, a server on this machine is spoken to in plain text (libpq's
/// `allow`): encryption over loopback protects nothing and halves the speed of a big `list`.
/// An explicit `sslmode=prefer` still encrypts where the server offers TLS.
#[test]
fn a_server_on_this_machine_is_spoken_to_in_plain_text_unless_the_url_asks() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    let (url, schema) = env.database.clone().expect("database");
    let server_tls = {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let on: String = client.query_one("SHOW ssl", &[]).expect("ssl").get(0);
        on == "on"
    };
    env.unset("DEFER_NOW");
    let sep = if url.contains('?') { '&' } else { '?' };
    for (mode, encrypted) in [("", false), ("&sslmode=prefer", server_tls)] {
        let app = format!("tls_{schema}_{}", mode.len());
        env.set(
            "DEFER_DATABASE_URL",
            format!("{url}{sep}application_name={app}{mode}").as_str(),
        );
        let watcher = env.spawn_watcher();
        let mut seen = None;
        wait_until(Duration::from_secs(20), || {
            seen = sessions_encrypted(&url, &app);
            seen.is_some()
        });
        signal_child(&watcher, libc::SIGTERM);
        let out = watcher.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(seen, Some(encrypted), "url mode {mode:?}: {stderr}");
    }
}

/// The test server's own cluster tools, where this test may use them: a server on this
/// machine, Debian's `pg_ctlcluster`, and one cluster under `/etc/postgresql`.
struct Cluster {
    version: String,
}

impl Cluster {
    fn find(url: &str) -> Result<Cluster, String> {
        if !(url.contains("@127.0.0.1") || url.contains("@localhost")) {
            return Err("the test server is not on this machine".into());
        }
        let versions: Vec<String> = fs::read_dir("/etc/postgresql")
            .map_err(|e| format!("no /etc/postgresql ({e})"))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let [version] = versions.as_slice() else {
            return Err(format!(
                "not one cluster version in /etc/postgresql: {versions:?}"
            ));
        };
        let cluster = Cluster {
            version: version.clone(),
        };
        if !cluster.ctl("status") {
            return Err("`pg_ctlcluster … status` does not answer for this user".into());
        }
        Ok(cluster)
    }

    fn ctl(&self, action: &str) -> bool {
        Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &self.version, "main", action])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// Starts the server again if it is down when this is dropped, however the test ended: the
/// tests after it need it.
struct StartAgainOnDrop<'a>(&'a Cluster);

impl Drop for StartAgainOnDrop<'_> {
    fn drop(&mut self) {
        if !self.0.ctl("status") {
            self.0.ctl("start");
        }
    }
}

/// The server restarts while two runners work through 1,000 tasks: both say so, and when later
/// wakes have run, every task is completed, none lost, none run more often than its attempts
/// allow. Runs alone (no other test uses the server meanwhile); skipped where this test may
/// not restart the server.
#[test]
fn two_runners_through_a_server_restart_lose_nothing() {
    let Some(mut env) = Env::postgres_alone() else {
        return;
    };
    let (url, _) = env.database.clone().expect("database");
    let cluster = match Cluster::find(&url) {
        Ok(cluster) => cluster,
        Err(why) => {
            eprintln!("skipped: cannot restart the test server here: {why}");
            return;
        }
    };
    let _start_again = StartAgainOnDrop(&cluster);
    const N: usize = 1000;
    let seed = env.dir.path().join("seed");
    fs::create_dir_all(&seed).expect("seed dir");
    let lines: Vec<String> = (0..N)
        .map(|i| {
            reference_line(&format!("r{i:04}"), "through a restart")
                .replace("\"max_retries\":0", "\"max_retries\":3")
        })
        .collect();
    fs::write(seed.join("deferred.jsonl"), lines.join("\n") + "\n").expect("seed");
    env.ok(&[
        "import",
        "--runtime-dir",
        seed.to_str().expect("utf-8 path"),
    ]);
    env.set("DEFER_CLAIM_BATCH", "20");
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    let marks = env.dir.path().join("marks.txt");
    let exec = env.script(
        "exec.sh",
        &format!(
            "cat >/dev/null\necho \"$DEFER_TASK_ID\" >> '{}'\nsleep 0.01",
            marks.display()
        ),
    );
    let runs = || {
        fs::read_to_string(&marks)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let mut runners: Vec<_> = (0..2).map(|_| spawn_runner(&env, &exec)).collect();
    assert!(wait_until(Duration::from_secs(60), || runs() >= 150));
    let before = runs();
    assert!(cluster.ctl("restart"), "pg_ctlcluster restart failed");
    assert!(
        wait_until(Duration::from_secs(180), || runners
            .iter_mut()
            .all(|r| r.try_wait().expect("try_wait").is_some())),
        "the runners did not end"
    );
    let reports: Vec<String> = runners
        .into_iter()
        .map(|r| {
            let out = r.wait_with_output().expect("wait");
            String::from_utf8_lossy(&out.stderr).into_owned()
        })
        .collect();
    eprintln!("at the restart {before} runs; the runners said: {reports:#?}");
    assert!(before < N, "the restart came after the work: {before} runs");
    for report in &reports {
        assert!(
            !report.trim().is_empty(),
            "a runner said nothing of the restart"
        );
    }
    // Later wakes (cron's) rescue what the runners left and run the rest.
    for _ in 0..10 {
        let run = env.cmd(&["run"]).env("DEFER_EXECUTOR", &exec).output();
        let run = run.expect("run");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let left = env.ok(&["list", "--compact"]).json();
        if left.as_array().is_some_and(Vec::is_empty) {
            break;
        }
    }
    let all = env.ok(&["list", "--all", "--compact"]).json();
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), N, "every task is in the store once");
    let text = fs::read_to_string(&marks).expect("marks");
    let mut executions: HashMap<&str, u64> = HashMap::new();
    for id in text.lines() {
        *executions.entry(id).or_default() += 1;
    }
    for task in all {
        let id = task["id"].as_str().expect("id");
        assert_eq!(task["status"], "completed", "{task}\n{reports:?}");
        let attempts = task["attempts"].as_u64().expect("attempts");
        let ran = executions.get(id).copied().unwrap_or(0);
        assert!(
            (1..=attempts + 1).contains(&ran),
            "{id} ran {ran} times with {attempts} attempts counted"
        );
    }
}

/// A watcher on PostgreSQL sleeps until a `NOTIFY` on its channel: a due row written straight
/// into the table (no notification) waits, and a `NOTIFY` from another connection wakes the
/// watcher, which runs it — with a rescan of an hour, nothing else could have.
#[test]
fn a_watcher_is_woken_by_a_notify_from_another_connection() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    env.unset("DEFER_NOW");
    let watcher = env
        .cmd(&["run", "--watch", "--rescan", "3600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watcher");
    let wake = env.runtime().join(".runner-wake.json");
    assert!(wait_until(Duration::from_secs(10), || wake.exists()));
    // A task scheduled as usual (its own NOTIFY) runs: the watcher listens.
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "first",
    ]);
    assert!(wait_until(Duration::from_secs(30), || {
        env.run(&["show", "first"]).stdout.contains("\"completed\"")
    }));
    // A row written without a notification, then a NOTIFY from this test's own connection.
    let line = reference_line("quiet", "x").replace("2026-04-08T16:30:00Z", "2020-01-01T00:00:00Z");
    let (url, schema) = env.database.clone().expect("database");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    client
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".tasks (id, status, run_at, record, listed_at)
                 VALUES ('quiet', 'scheduled', '2020-01-01T00:00:00Z', $1, '2020-01-01T00:00:00Z')"
            ),
            &[&line],
        )
        .expect("insert");
    client
        .execute(&format!("SELECT pg_notify('defer_{schema}', '')"), &[])
        .expect("notify");
    let ran = wait_until(Duration::from_secs(30), || {
        env.run(&["show", "quiet"]).stdout.contains("\"completed\"")
    });
    signal_child(&watcher, libc::SIGTERM);
    let out = watcher.wait_with_output().expect("wait");
    assert!(
        ran,
        "not woken by the NOTIFY: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}
