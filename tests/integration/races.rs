//! The races of issue 22, each driven end to end through the real `defer` binary: a pause
//! stops every executor start at once, a PostgreSQL row whose record names another task is
//! quarantined, concurrent retries of one archived task let exactly one win, ending a series
//! while an occurrence runs writes (and logs) no successor, and a killed runner's claimed but
//! never started tasks cost no attempt. Each scenario that involves a store runs on both.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::{Env, StoreKind, kill_group, signal_child};

/// Audit log lines containing `needle`.
fn log_lines(env: &Env, needle: &str) -> Vec<String> {
    env.log()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Polls `cond` every `every` until it holds or `limit` has passed; whether it held. For
/// conditions that run `defer` (a database snapshot is an export), which a 20 ms poll would
/// turn into a busy loop on a small machine.
fn poll(limit: Duration, every: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(every);
    }
}

/// Wall-clock milliseconds since the epoch, as `date +%s%3N` prints them.
fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

/// Every record, active then archived, by id (read in that order, so a record the sweep moves
/// meanwhile is seen at least once; the later copy wins).
fn all_by_id(env: &Env) -> HashMap<String, Value> {
    env.records()
        .into_iter()
        .chain(env.archived())
        .map(|r| (r["id"].as_str().expect("id").to_string(), r))
        .collect()
}

/// Sends SIGTERM to a watcher this test started and waits (at most 30 s, then SIGKILL) for it.
fn stop_watcher(mut watcher: Child) -> Output {
    signal_child(&watcher, libc::SIGTERM);
    let stopped = poll(Duration::from_secs(30), Duration::from_millis(50), || {
        matches!(watcher.try_wait(), Ok(Some(_)))
    });
    if !stopped {
        signal_child(&watcher, libc::SIGKILL);
    }
    let out = watcher.wait_with_output().expect("reap the watcher");
    assert!(stopped, "the watcher did not stop on SIGTERM within 30 s");
    out
}

/// The pid a script wrote to `path` (waiting up to 10 s for it); never 0 or 1.
fn read_pid(path: &Path) -> u32 {
    let mut pid = None;
    poll(Duration::from_secs(10), Duration::from_millis(20), || {
        pid = fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .filter(|&p| p > 1);
        pid.is_some()
    });
    pid.unwrap_or_else(|| panic!("no pid in {}", path.display()))
}

/// The outcome of the last attempt in a record's history.
fn last_outcome(record: &Value) -> &str {
    record["history"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|a| a["outcome"].as_str())
        .unwrap_or("")
}

// 1. A pause stops every executor start ------------------------------------------------------

/// Starts recorded by the executor of [`pause_stops_every_executor_start_at_once`]: the
/// wall-clock millisecond of each start and the task it was for.
fn starts(path: &Path) -> Vec<(u128, String)> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (ms, id) = l
                .split_once(' ')
                .unwrap_or_else(|| panic!("bad start line {l:?}"));
            (
                ms.parse().unwrap_or_else(|e| panic!("{l:?}: {e}")),
                id.to_string(),
            )
        })
        .collect()
}

/// A watcher with claimed tasks queued behind busy workers starts none of them once
/// `defer pause` has returned: each is given back `scheduled` with no attempt spent (its
/// history closes a `released` attempt, the audit log says `reason=paused`), and after
/// `defer resume` every task runs, each exactly once.
fn pause_stops_every_executor_start_at_once(mut env: Env) {
    env.unset("DEFER_NOW");
    env.set("DEFER_CONCURRENCY", "2");
    if env.kind() == StoreKind::Postgres {
        env.set("DEFER_CLAIM_BATCH", "10");
    }
    let marks = env.dir.path().join("starts");
    let exec = env.script(
        "mark.sh",
        &format!(
            "echo \"$(date +%s%3N) $DEFER_TASK_ID\" >> '{}'\ncat >/dev/null\nsleep 0.3\necho ok",
            marks.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    let ids: Vec<String> = (0..40).map(|i| format!("p{i:02}")).collect();
    for id in &ids {
        env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", id]);
    }
    let watcher = env.spawn_watcher();
    let some_started = poll(Duration::from_secs(30), Duration::from_millis(20), || {
        starts(&marks).len() >= 3
    });
    let paused = env.run(&["pause"]);
    let paused_at = now_ms();
    if !some_started || !paused.success() {
        let out = stop_watcher(watcher);
        panic!(
            "no executor started ({some_started}) or pause failed ({paused:?}); watcher: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    sleep(Duration::from_secs(3));

    let before_resume = starts(&marks);
    let snapshot = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| all_by_id(&env)));
    let late: Vec<&(u128, String)> = before_resume
        .iter()
        .filter(|(ms, _)| *ms > paused_at)
        .collect();
    let started: HashSet<&str> = before_resume.iter().map(|(_, id)| id.as_str()).collect();

    // Nothing here may panic before the watcher is stopped.
    let resumed = env.run(&["resume"]);
    let all_done = resumed.success()
        && poll(Duration::from_secs(90), Duration::from_millis(250), || {
            starts(&marks).len() >= ids.len() && {
                let list = env.run(&["list", "--compact"]);
                list.success() && list.stdout.trim() == "[]"
            }
        });
    let out = stop_watcher(watcher);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(resumed.success(), "{resumed:?}");
    let records = snapshot.unwrap_or_else(|_| panic!("reading the store failed: {stderr}"));

    assert!(
        late.is_empty(),
        "executors started after `defer pause` returned at {paused_at} ms: {late:?}"
    );
    assert!(
        started.len() < ids.len(),
        "the pause came too late to hold anything back: {before_resume:?}"
    );
    let mut held = 0;
    for id in &ids {
        let r = records
            .get(id)
            .unwrap_or_else(|| panic!("{id} missing: {records:?}"));
        if started.contains(id.as_str()) {
            assert_eq!(r["status"], "completed", "started before the pause: {r}");
            continue;
        }
        assert_eq!(r["status"], "scheduled", "held by the pause: {r}");
        assert_eq!(r["attempts"], 0, "no attempt spent: {r}");
        if r["history"].as_array().is_some_and(|h| !h.is_empty()) {
            // Claimed before the pause, then given back unstarted.
            held += 1;
            assert_eq!(last_outcome(r), "released", "{r}");
            let attempt = r["history"].as_array().and_then(|h| h.last()).expect("one");
            assert_eq!(
                attempt["error"], "runners were paused before it started",
                "{r}"
            );
            assert_eq!(
                log_lines(&env, &format!("released id={id} reason=paused")).len(),
                1,
                "{}",
                env.log()
            );
        }
    }
    assert!(
        held >= 1,
        "no claimed task was held back by the pause (the test proved nothing): {records:?}"
    );
    assert_eq!(
        log_lines(&env, "reason=paused").len(),
        held,
        "one audit line per task given back: {}",
        env.log()
    );

    assert!(all_done, "not every task ran after resume: {stderr}");
    assert!(out.status.success(), "{stderr}");
    let after = starts(&marks);
    let mut ran: Vec<&str> = after.iter().map(|(_, id)| id.as_str()).collect();
    ran.sort_unstable();
    assert_eq!(ran, ids, "every task started exactly once");
    let records = all_by_id(&env);
    for id in &ids {
        let r = &records[id];
        assert_eq!(r["status"], "completed", "{r}");
        assert_eq!(r["attempts"], 0, "{r}");
        assert_eq!(last_outcome(r), "completed", "{r}");
    }
}
crate::on_both_stores!(pause_stops_every_executor_start_at_once);

// 2. A PostgreSQL row whose record names another task ----------------------------------------

/// A row's stored `record` text and status, read straight from the table.
fn row(client: &mut postgres::Client, schema: &str, id: &str) -> (String, String) {
    let r = client
        .query_one(
            &format!("SELECT record, status FROM \"{schema}\".tasks WHERE id = $1"),
            &[&id],
        )
        .unwrap_or_else(|e| panic!("row {id}: {e}"));
    (r.get(0), r.get(1))
}

/// A row whose record says it is another task (a hand edit) is quarantined: `check` and
/// `doctor` report it, no runner runs it (as itself or as the task it names), and the task it
/// names keeps its own record and runs with its own content.
#[test]
fn postgres_a_row_whose_record_names_another_task_is_quarantined() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    let ran = env.dir.path().join("ran");
    let exec = env.script(
        "record.sh",
        &format!(
            "read line\necho \"$DEFER_TASK_ID $line\" >> '{}'\necho ok",
            ran.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    // B is due; A is not, for now.
    plant_row_b_naming_a(&env, "1h", "now");
    let (url, schema) = env.database.clone().expect("database");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let a_before = row(&mut client, &schema, "A");
    let b_before = row(&mut client, &schema, "B");
    assert!(b_before.0.contains(r#""id":"A""#), "{b_before:?}");
    assert!(b_before.0.contains("bravo content"), "{b_before:?}");
    assert_eq!(b_before.1, "scheduled");
    let quarantined = "row B of the task table holds a record of task A; it is quarantined";

    let check = env.fails(&["check"]);
    assert!(
        check
            .stdout
            .lines()
            .any(|l| l.contains(&format!("{schema}.tasks:")) && l.contains(quarantined)),
        "{check:?}"
    );
    let doctor = env.run(&["doctor"]);
    assert!(!doctor.success(), "{doctor:?}");
    assert!(
        doctor
            .stdout
            .lines()
            .any(|l| l.contains("not valid task records") && l.contains(quarantined)),
        "{doctor:?}"
    );
    let shown = env.run(&["show", "B"]);
    assert!(
        !shown.success() && shown.stderr.contains(quarantined),
        "{shown:?}"
    );
    // Listings and exports leave it out, saying so, instead of showing a second task A.
    let listed = env.ok(&["list", "--compact"]);
    let listed_ids: Vec<Value> = listed
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(listed_ids, [Value::from("A")], "{listed:?}");
    assert!(listed.stderr.contains(quarantined), "{listed:?}");
    let out = env.dir.path().join("exported");
    let export = env.ok(&["export", "--runtime-dir", out.to_str().expect("utf8")]);
    assert!(
        export.stderr.contains("row B") && export.stderr.contains("not exported"),
        "{export:?}"
    );
    let exported = fs::read_to_string(out.join("deferred.jsonl")).expect("exported store");
    assert_eq!(exported.lines().count(), 1, "{exported}");
    assert!(exported.contains("alpha content"), "{exported}");
    let by_id = env.run(&["run", "--id", "B"]);
    assert!(
        !by_id.success() && by_id.stderr.contains(quarantined),
        "{by_id:?}"
    );

    // B is due; A is not. Wake after wake, nothing runs and neither row changes.
    for _ in 0..3 {
        let run = env.ok(&["run"]);
        assert!(run.stderr.contains(quarantined), "{run:?}");
        assert!(!ran.exists(), "{:?}", fs::read_to_string(&ran));
        assert_eq!(row(&mut client, &schema, "A"), a_before, "A untouched");
        assert_eq!(row(&mut client, &schema, "B"), b_before, "B untouched");
    }
    let a = env.ok(&["show", "A"]).json();
    assert_eq!(a["context"]["summary"], "alpha content", "{a}");
    assert_eq!(a["status"], "scheduled", "{a}");

    // Once A is due it runs with its own content; row B still never runs. (How often A runs
    // is the business of the next test.)
    env.set("DEFER_NOW", "2026-04-08T18:00:00Z");
    env.ok(&["run"]);
    env.ok(&["run"]);
    let text = fs::read_to_string(&ran).expect("A ran");
    assert!(!text.is_empty(), "A ran");
    for line in text.lines() {
        assert!(line.starts_with("A {"), "{text}");
        let stdin: Value = serde_json::from_str(&line[2..]).expect("task JSON");
        assert_eq!(stdin["id"], "A");
        assert_eq!(stdin["context"]["summary"], "alpha content", "{stdin}");
    }
    assert!(!text.contains("bravo content"), "{text}");
    let a = env.ok(&["show", "A"]).json();
    assert_eq!(a["status"], "completed", "{a}");
    assert_eq!(a["context"]["summary"], "alpha content", "{a}");
    assert_eq!(row(&mut client, &schema, "B"), b_before, "B untouched");
    // The audit log names B once: when it was scheduled; no runner claimed or ran it.
    let b_lines = log_lines(&env, "id=B ");
    assert_eq!(b_lines.len(), 1, "{}", env.log());
    assert!(
        b_lines[0][21..].starts_with("scheduled id=B "),
        "{b_lines:?}"
    );
}

/// Schedules task A (`--when a_when`, summary "alpha content") and task B (`--when b_when`,
/// "bravo content"), then edits row B's record by hand so that it names task A.
fn plant_row_b_naming_a(env: &Env, a_when: &str, b_when: &str) {
    for (id, when, summary) in [
        ("A", a_when, "alpha content"),
        ("B", b_when, "bravo content"),
    ] {
        env.ok(&["schedule", "--when", when, "--summary", summary, "--id", id]);
    }
    let (url, schema) = env.database.clone().expect("database");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let edited = client
        .execute(
            &format!(
                "UPDATE \"{schema}\".tasks SET record = replace(record, '\"id\":\"B\"', \
                 '\"id\":\"A\"') WHERE id = 'B'"
            ),
            &[],
        )
        .expect("edit row B");
    assert_eq!(edited, 1, "row B edited");
}

/// A due task found in the same claim as a skipped row that sorts before it (here the
/// quarantined row of the test above) is claimed once and run once in that wake.
#[test]
fn postgres_a_task_due_behind_a_skipped_row_is_claimed_and_run_once() {
    let Some(mut env) = Env::postgres() else {
        return;
    };
    let ran = env.dir.path().join("ran");
    let exec = env.script(
        "record.sh",
        &format!(
            "cat >/dev/null\necho \"$DEFER_TASK_ID\" >> '{}'\necho ok",
            ran.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    // Both due; B sorts first.
    plant_row_b_naming_a(&env, "2026-04-08T16:30:00Z", "2026-04-08T16:00:00Z");
    let run = env.ok(&["run", "-v"]);
    let text = fs::read_to_string(&ran).unwrap_or_default();
    assert_eq!(text, "A\n", "A runs once in the wake: {run:?}");
    assert_eq!(
        log_lines(&env, "runner claimed id=A ").len(),
        1,
        "{}",
        env.log()
    );
    assert!(run.stdout.contains("claimed 1 "), "{run:?}");
    let a = env.ok(&["show", "A"]).json();
    assert_eq!(a["status"], "completed", "{a}");
    assert_eq!(a["history"].as_array().map(Vec::len), Some(1), "{a}");
}

// 3. Concurrent retries of one archived task -------------------------------------------------

/// Six `defer retry` processes of one archived failed task, each for another time, at once:
/// one restores it, the other five are refused (the task is then scheduled), the stored
/// `run_at` is the winner's and the audit log has one `retried` line. Three rounds, to give
/// the race three chances.
fn concurrent_retries_of_one_archived_task_let_exactly_one_win(mut env: Env) {
    let fail = env.script("fail.sh", "cat >/dev/null\necho boom >&2\nexit 3");
    env.set("DEFER_EXECUTOR", fail.as_os_str());
    let ids = ["f1", "f2", "f3"];
    for id in ids {
        env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", id]);
    }
    env.ok(&["run"]);
    for id in ids {
        let archived = env
            .archived()
            .into_iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} archived"));
        assert_eq!(archived["status"], "failed", "{archived}");
    }
    for id in ids {
        let retries: Vec<(usize, Child)> = (1..=6)
            .map(|hours| {
                let when = format!("{hours}h");
                let child = env
                    .cmd(&["retry", id, "--when", &when, "--compact"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn retry");
                (hours, child)
            })
            .collect();
        let outs: Vec<(usize, Output)> = retries
            .into_iter()
            .map(|(hours, c)| (hours, c.wait_with_output().expect("wait retry")))
            .collect();
        let (winners, losers): (Vec<_>, Vec<_>) =
            outs.iter().partition(|(_, out)| out.status.success());
        assert_eq!(winners.len(), 1, "{id}: exactly one retry wins: {outs:?}");
        let (hours, won) = winners[0];
        let expected = format!("2026-04-08T{:02}:35:00Z", 16 + hours);
        let printed: Value = serde_json::from_slice(&won.stdout).expect("winner prints the task");
        assert_eq!(printed["run_at"], expected.as_str(), "{printed}");
        for (_, out) in &losers {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.code().is_some_and(|c| c != 0), "{id}: {out:?}");
            assert_eq!(out.stdout, b"", "{id}: a refusal prints no task");
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{id}: one clear line: {stderr}");
            assert!(
                lines[0].starts_with("error: ")
                    && lines[0].contains(&format!("task {id} is scheduled, not failed or missed")),
                "{id}: {stderr}"
            );
        }
        let shown = env.ok(&["show", id]).json();
        assert_eq!(shown["status"], "scheduled", "{shown}");
        assert_eq!(
            shown["run_at"],
            expected.as_str(),
            "the winner's time: {shown}"
        );
        assert_eq!(shown["retried"], 1, "{shown}");
        assert_eq!(shown["attempts"], 0, "{shown}");
        assert_eq!(
            env.records().iter().filter(|r| r["id"] == id).count(),
            1,
            "{id} is active once"
        );
        assert!(
            env.archived().iter().all(|r| r["id"] != id),
            "{id} left the archive"
        );
        let retried = log_lines(&env, &format!("retried id={id} "));
        assert_eq!(retried.len(), 1, "{}", env.log());
        assert!(
            retried[0].ends_with(&format!("retried id={id} run_at={expected}")),
            "{retried:?}"
        );
    }
}
crate::on_both_stores!(concurrent_retries_of_one_archived_task_let_exactly_one_win);

// 4. Ending a series while an occurrence runs ------------------------------------------------

/// Every value of an `id=` field in the audit log.
fn logged_ids(log: &str) -> HashSet<String> {
    log.lines()
        .flat_map(|l| l.split(' '))
        .filter_map(|w| w.strip_prefix("id="))
        .map(|id| id.trim_matches('"').to_string())
        .collect()
}

/// `cancel --series` while an occurrence executes says it will finish; when it does, no
/// successor is written, none is scheduled later, and the audit log names no occurrence that
/// was never written.
fn ending_a_series_while_an_occurrence_runs_writes_no_successor(mut env: Env) {
    let dir = env.dir.path().to_path_buf();
    let ran = dir.join("ran");
    let gate = dir.join("gate");
    // Holds its occurrence `executing` until the test opens the gate (30 s at most).
    let exec = env.script(
        "held.sh",
        &format!(
            "cat >/dev/null\necho \"$DEFER_TASK_ID\" >> '{}'\ni=0\n\
             while [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\necho finished",
            ran.display(),
            gate.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    env.ok(&[
        "schedule",
        "--every",
        "1h",
        "--when",
        "now",
        "--summary",
        "hourly",
        "--id",
        "s",
    ]);
    let mut runner = env
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn runner");
    let running = poll(Duration::from_secs(20), Duration::from_millis(20), || {
        ran.exists()
    });
    let during = env.ok(&["show", "s"]).json();
    let ended = env.run(&["cancel", "--series", "s"]);
    fs::write(&gate, "").expect("open the gate");
    let finished = poll(Duration::from_secs(30), Duration::from_millis(50), || {
        matches!(runner.try_wait(), Ok(Some(_)))
    });
    if !finished {
        signal_child(&runner, libc::SIGKILL);
    }
    let out = runner.wait_with_output().expect("reap runner");
    let runner_stderr = String::from_utf8_lossy(&out.stderr);
    assert!(running, "the occurrence never started: {runner_stderr}");
    assert!(finished, "the runner did not finish: {runner_stderr}");
    assert!(out.status.success(), "{runner_stderr}");
    assert_eq!(during["status"], "executing", "{during}");

    assert!(ended.success(), "{ended:?}");
    assert!(
        ended.stderr.contains(
            "ended series s; s is running now and will finish, with no occurrence after it"
        ),
        "{ended:?}"
    );
    assert_eq!(ended.stdout.trim(), "[]", "nothing scheduled to cancel");

    let s = env.ok(&["show", "s"]).json();
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["series"]["ended"], true, "{s}");
    assert!(env.find("s.2").is_none(), "no successor written");
    let pending = |env: &Env| -> Vec<Value> {
        env.records()
            .into_iter()
            .filter(|r| r["series"]["id"] == "s" && r["status"] == "scheduled")
            .collect()
    };
    assert_eq!(pending(&env), Vec::<Value>::new());
    let again = env.fails(&["cancel", "--series", "s"]);
    assert!(
        again.stderr.contains("no scheduled occurrence"),
        "{}",
        again.stderr
    );
    // Hours later nothing of the series runs again.
    env.set("DEFER_NOW", "2026-04-08T19:35:00Z");
    env.ok(&["run"]);
    assert_eq!(fs::read_to_string(&ran).expect("ran"), "s\n", "ran once");
    assert!(env.find("s.2").is_none());
    assert_eq!(pending(&env), Vec::<Value>::new());

    let log = env.log();
    assert!(log_lines(&env, "series next").is_empty(), "{log}");
    assert_eq!(
        log_lines(&env, "series ended id=s series=s").len(),
        1,
        "{log}"
    );
    for id in logged_ids(&log) {
        assert!(
            env.find(&id).is_some(),
            "the audit log names {id}, which is in neither the store nor the archive:\n{log}"
        );
    }
}
crate::on_both_stores!(ending_a_series_while_an_occurrence_runs_writes_no_successor);

// 5. A killed runner's unstarted claims ------------------------------------------------------

/// Concurrency 1, three due tasks, the first one's executor hangs; the runner is killed
/// (SIGKILL) with all three claimed. The next runner counts an interrupted attempt for the
/// started task only (failed: `max_retries` 0); the two never started run with no attempt
/// spent, and the audit log says `reason=not_started` for each.
fn a_killed_runners_unstarted_claims_cost_no_attempt(mut env: Env) {
    let dir = env.dir.path().to_path_buf();
    let pid_file = dir.join("hang.pid");
    let hung = dir.join("hung");
    let hang = env.script(
        "hang.sh",
        &format!(
            "cat >/dev/null\necho \"$DEFER_TASK_ID\" > '{}'\necho $$ > '{}'\nexec sleep 30",
            hung.display(),
            pid_file.display()
        ),
    );
    env.set("DEFER_EXECUTOR", hang.as_os_str());
    for (id, at) in [
        ("a", "2026-04-08T16:30:00Z"),
        ("b", "2026-04-08T16:31:00Z"),
        ("c", "2026-04-08T16:32:00Z"),
    ] {
        env.ok(&["schedule", "--when", at, "--summary", "x", "--id", id]);
    }
    let mut runner = env
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn runner");
    let executing = |env: &Env| -> Vec<String> {
        let mut ids: Vec<String> = env
            .records()
            .into_iter()
            .filter(|r| r["status"] == "executing")
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect();
        ids.sort();
        ids
    };
    let claimed = poll(Duration::from_secs(20), Duration::from_millis(50), || {
        pid_file.exists() && executing(&env) == ["a", "b", "c"]
    });
    runner.kill().expect("SIGKILL the runner");
    runner.wait().expect("reap the runner");
    // The executor runs in its own process group, whose id is its pid.
    kill_group(read_pid(&pid_file));
    assert!(claimed, "the three tasks were never seen claimed");
    assert_eq!(
        fs::read_to_string(&hung).expect("hung").trim(),
        "a",
        "the earliest task started first"
    );
    assert_eq!(executing(&env), ["a", "b", "c"]);

    let marks = dir.join("ran");
    let ok = env.script(
        "ok.sh",
        &format!(
            "cat >/dev/null\necho \"$DEFER_TASK_ID\" >> '{}'\necho fine",
            marks.display()
        ),
    );
    env.set("DEFER_EXECUTOR", ok.as_os_str());
    // A database notices the dead runner's session (its liveness lock) a moment later.
    let recovered = poll(Duration::from_secs(15), Duration::from_millis(100), || {
        env.ok(&["run"]);
        executing(&env).is_empty()
    });
    assert!(recovered, "still executing: {:?}", executing(&env));

    let a = env.find("a").expect("a");
    assert_eq!(a["status"], "failed", "a had started: {a}");
    assert_eq!(a["attempts"], 1, "{a}");
    assert!(
        a["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("interrupted")),
        "{a}"
    );
    assert_eq!(last_outcome(&a), "interrupted", "{a}");
    for id in ["b", "c"] {
        let t = env.find(id).expect(id);
        assert_eq!(t["status"], "completed", "{id} never started: {t}");
        assert_eq!(t["attempts"], 0, "{t}");
        assert!(t.get("last_error").is_none_or(Value::is_null), "{t}");
        let outcomes: Vec<&str> = t["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|a| a["outcome"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(outcomes, ["released", "completed"], "{t}");
        assert_eq!(
            log_lines(&env, &format!("released id={id} reason=not_started")).len(),
            1,
            "{}",
            env.log()
        );
    }
    assert_eq!(
        log_lines(&env, "reason=not_started").len(),
        2,
        "{}",
        env.log()
    );
    assert_eq!(
        log_lines(&env, "failed id=a reason=interrupted").len(),
        1,
        "{}",
        env.log()
    );
    let mut ran: Vec<String> = fs::read_to_string(&marks)
        .expect("ran")
        .lines()
        .map(str::to_string)
        .collect();
    ran.sort();
    assert_eq!(ran, ["b", "c"], "a is not run again; b and c once each");
}
crate::on_both_stores!(a_killed_runners_unstarted_claims_cost_no_attempt);
