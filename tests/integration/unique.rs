//! Schedule exactly once (`--unique-key`, MCP and API `unique_key`): while a task with a key
//! is scheduled or executing, another schedule with it stores nothing and answers with that
//! task; `--unique-for` also counts tasks that completed that recently. Every scenario runs
//! on both stores, the race one with real processes through the CLI and MCP at once.

use std::process::{Child, Stdio};

use serde_json::{Value, json};

use crate::mcp::Server as Stdio_;
use crate::on_both_stores;
use crate::serve::Server as Http;
use crate::util::Env;

/// The records of every status (active and archived) carrying unique key `key`.
fn carrying(env: &Env, key: &str) -> Vec<Value> {
    env.records()
        .into_iter()
        .chain(env.archived())
        .filter(|r| r["unique_key"] == key)
        .collect()
}

/// An executor that fails (exit 1) without reading much.
fn failing_executor(env: &mut Env) {
    let executor = env.script("fail.sh", "cat >/dev/null; echo 'no luck' >&2; exit 1");
    env.set("DEFER_EXECUTOR", executor.as_os_str());
}

/// Twenty schedules with one key at once, half through the CLI and half through MCP (five
/// `defer mcp` servers, two calls each, sent without waiting): exactly one task is stored,
/// and every answer names it.
fn twenty_concurrent_schedules_with_one_key_leave_one_task(env: Env) {
    let mut servers: Vec<Stdio_> = (0..5).map(|_| Stdio_::ready(&env)).collect();
    let cli: Vec<Child> = (0..10)
        .map(|i| {
            env.cmd(&[
                "schedule",
                "--when",
                "1h",
                "--summary",
                &format!("cli {i}"),
                "--unique-key",
                "race:k",
                "--compact",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn defer schedule")
        })
        .collect();
    let mut pending = Vec::new();
    for (n, server) in servers.iter_mut().enumerate() {
        for i in 0..2 {
            let args = json!({"when": "1h", "summary": format!("mcp {n}.{i}"),
                              "unique_key": "race:k"});
            let id = server.send(
                "tools/call",
                json!({"name": "schedule_task", "arguments": args}),
            );
            pending.push((n, id));
        }
    }
    let mut ids = Vec::new();
    let mut stored = 0;
    for child in cli {
        let out = child.wait_with_output().expect("wait");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        let record: Value = serde_json::from_str(&stdout).expect("a record");
        if record.get("deduplicated") == Some(&Value::Bool(true)) {
            assert!(stderr.contains("already scheduled as "), "{stderr}");
        } else {
            stored += 1;
        }
        ids.push(record["id"].as_str().expect("id").to_string());
    }
    for (n, id) in pending {
        let response = servers[n].response(id);
        let result = &response["result"];
        assert_eq!(result["isError"], false, "{response}");
        let reply = &result["structuredContent"];
        assert_eq!(
            reply["deduplicated"],
            !reply["stored"].as_bool().expect("stored")
        );
        if reply["stored"] == true {
            stored += 1;
        }
        ids.push(reply["id"].as_str().expect("id").to_string());
    }
    for server in servers {
        assert!(server.finish().status.success());
    }
    assert_eq!(stored, 1, "exactly one of the twenty stored a task");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer names the one task: {ids:?}");
    let tasks = carrying(&env, "race:k");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["id"], ids[0].as_str());
    assert_eq!(
        env.log().matches(" scheduled id=").count(),
        1,
        "{}",
        env.log()
    );
}
on_both_stores!(twenty_concurrent_schedules_with_one_key_leave_one_task);

/// A second schedule with a held key exits 0, stores nothing, prints the holder with
/// `"deduplicated": true` and says so on stderr; another key, or a key whose task was
/// cancelled, schedules anew.
fn a_held_key_returns_the_holder_and_stores_nothing(env: Env) {
    let first = env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "first",
        "--unique-key",
        "k",
    ]);
    let first = first.json();
    assert_eq!(first["unique_key"], "k");
    assert!(first.get("deduplicated").is_none(), "{first}");
    let before = env.store_bytes();

    let again = env.ok(&[
        "schedule",
        "--when",
        "3h",
        "--summary",
        "second",
        "--unique-key",
        "k",
    ]);
    let record = again.json();
    assert_eq!(record["id"], first["id"]);
    assert_eq!(record["deduplicated"], true);
    assert_eq!(
        record["context"]["summary"], "first",
        "the holder, as stored"
    );
    let id = first["id"].as_str().expect("id");
    assert!(
        again.stderr.contains(&format!(
            "already scheduled as {id} for Wed 2026-04-08 17:35 UTC"
        )),
        "{}",
        again.stderr
    );
    assert_eq!(env.store_bytes(), before, "nothing was written");
    assert!(
        env.log()
            .contains(&format!("schedule deduplicated id={id}"))
    );

    // A dry run says the same and writes nothing either.
    let dry = env.ok(&[
        "schedule",
        "--when",
        "3h",
        "--summary",
        "x",
        "--unique-key",
        "k",
        "--dry-run",
    ]);
    assert_eq!(dry.json()["id"], id);
    assert!(
        dry.stderr.contains("dry run: already scheduled as"),
        "{}",
        dry.stderr
    );

    let other = env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "other",
        "--unique-key",
        "k2",
    ]);
    assert_ne!(other.json()["id"], first["id"]);
    assert_eq!(
        env.ok(&["list", "--unique-key", "k", "--compact"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // A cancelled task holds nothing.
    env.ok(&["cancel", id]);
    let anew = env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "anew",
        "--unique-key",
        "k",
    ]);
    assert_ne!(anew.json()["id"], first["id"]);
    assert!(anew.json().get("deduplicated").is_none());
    assert_eq!(carrying(&env, "k").len(), 2);

    // Refusals name the argument and write nothing.
    let before = env.store_bytes();
    env.fails(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "x",
        "--unique-for",
        "1h",
    ]);
    let bad = env.fails(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "x",
        "--unique-key",
        " ",
    ]);
    assert!(bad.stderr.contains("--unique-key"), "{}", bad.stderr);
    env.fails(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "x",
        "--unique-key",
        "k",
        "--unique-for",
        "soon",
    ]);
    assert_eq!(env.store_bytes(), before);
}
on_both_stores!(a_held_key_returns_the_holder_and_stores_nothing);

/// `--unique-for`: a task with the key that completed within the window holds it (found in
/// the archive, where the run swept it); outside the window, or without one, it does not;
/// a failed task never does.
fn unique_for_covers_tasks_completed_within_the_window(mut env: Env) {
    let done = env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "report",
        "--unique-key",
        "daily",
    ]);
    let done_id = done.json()["id"].as_str().expect("id").to_string();
    env.ok(&["run"]);
    assert!(env.records().is_empty(), "completed and archived");

    let within = env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "report again",
        "--unique-key",
        "daily",
        "--unique-for",
        "1h",
    ]);
    assert_eq!(within.json()["id"], done_id.as_str());
    assert_eq!(within.json()["deduplicated"], true);
    assert!(
        within
            .stderr
            .contains(&format!("already completed as {done_id}")),
        "{}",
        within.stderr
    );
    assert!(env.records().is_empty(), "nothing stored");

    // Two hours later the window of 1h no longer reaches it.
    env.set("DEFER_NOW", "2026-04-08T18:40:00Z");
    let outside = env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "report again",
        "--unique-key",
        "daily",
        "--unique-for",
        "1h",
    ]);
    assert!(
        outside.json().get("deduplicated").is_none(),
        "{}",
        outside.stdout
    );
    assert_ne!(outside.json()["id"], done_id.as_str());

    // Without a window a completed task holds nothing.
    let env2 = Env::with_store(env.kind()).expect("same kind of store");
    env2.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "r",
        "--unique-key",
        "d2",
    ]);
    env2.ok(&["run"]);
    let plain = env2.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "r",
        "--unique-key",
        "d2",
    ]);
    assert!(plain.json().get("deduplicated").is_none());

    // A failed task holds nothing, window or not.
    let mut env3 = Env::with_store(env.kind()).expect("same kind of store");
    failing_executor(&mut env3);
    env3.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "r",
        "--unique-key",
        "d3",
    ]);
    env3.run(&["run"]);
    assert_eq!(carrying(&env3, "d3")[0]["status"], "failed");
    let after_failure = env3.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "r",
        "--unique-key",
        "d3",
        "--unique-for",
        "1d",
    ]);
    assert!(after_failure.json().get("deduplicated").is_none());
}
on_both_stores!(unique_for_covers_tasks_completed_within_the_window);

/// A retried MCP call (same arguments, same key) answers with the same task id and stores
/// nothing new; so does the JSON API, with 200 instead of 201.
fn a_retried_call_returns_the_same_task(env: Env) {
    let args = json!({"when": "tomorrow 9am", "summary": "Review PR 123",
                      "unique_key": "review:PR-123"});
    let mut server = Stdio_::ready(&env);
    let first = server.ok("schedule_task", args.clone());
    assert_eq!(first["stored"], true);
    assert_eq!(first["deduplicated"], false);
    let retried = server.call("schedule_task", args.clone());
    assert_eq!(retried["isError"], false, "{retried}");
    let reply = &retried["structuredContent"];
    assert_eq!(reply["id"], first["id"]);
    assert_eq!(reply["stored"], false);
    assert_eq!(reply["deduplicated"], true);
    let text = crate::mcp::texts(&retried).join("\n");
    assert!(text.contains("Already scheduled as"), "{text}");
    assert!(text.contains("nothing new was stored"), "{text}");
    assert!(text.contains("(deduplicated: true)"), "{text}");
    assert!(server.finish().status.success());

    let http = Http::start(&env, &[]);
    let again = http.api("POST", "/api/v1/tasks", Some(&args.to_string()));
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["id"], first["id"]);
    assert_eq!(again.json()["deduplicated"], true);
    let fresh = json!({"when": "1h", "summary": "x", "unique_key": "another"});
    let created = http.api("POST", "/api/v1/tasks", Some(&fresh.to_string()));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["deduplicated"], false);
    let listed = http.api("GET", "/api/v1/tasks?unique_key=review%3APR-123", None);
    assert_eq!(listed.json()["total"], 1, "{}", listed.body);
    // The dashboard's task page shows the key.
    let id = first["id"].as_str().expect("id");
    let page = http.page("GET", &format!("/tasks/{id}"), None);
    assert!(
        page.body
            .contains("<th scope=\"row\">unique key</th><td>review:PR-123</td>"),
        "{}",
        page.body
    );
    assert_eq!(carrying(&env, "review:PR-123").len(), 1);
}
on_both_stores!(a_retried_call_returns_the_same_task);

/// A series holds its key as one: each occurrence passes it to the next (no conflict, no
/// deduplication against itself), a schedule with the key answers with the pending
/// occurrence, and a re-run of a failed occurrence beside the next one is allowed.
fn a_series_holds_its_key_as_one(mut env: Env) {
    failing_executor(&mut env);
    let first = env.ok(&[
        "schedule",
        "--when",
        "now",
        "--every",
        "1d",
        "--summary",
        "nightly",
        "--unique-key",
        "nightly",
        "--id",
        "night",
    ]);
    assert_eq!(first.json()["unique_key"], "nightly");
    env.run(&["run"]);
    let tasks = carrying(&env, "nightly");
    let next: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["status"] == "scheduled")
        .collect();
    assert_eq!(next.len(), 1, "{tasks:?}");
    assert_eq!(next[0]["id"], "night.2");
    assert!(
        tasks
            .iter()
            .any(|t| t["id"] == "night" && t["status"] == "failed")
    );

    let again = env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "x",
        "--unique-key",
        "nightly",
    ]);
    assert_eq!(again.json()["id"], "night.2");
    assert_eq!(again.json()["deduplicated"], true);

    // Re-running the failed first occurrence beside the second is fine: one series.
    env.ok(&["retry", "night", "--when", "2h"]);
    let pending = env
        .ok(&["list", "--unique-key", "nightly", "--compact"])
        .json();
    let ids: Vec<&str> = pending
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["night", "night.2"], "{pending}");
}
on_both_stores!(a_series_holds_its_key_as_one);

/// `retry` of a task whose key another pending task took meanwhile is refused, naming that
/// task, and changes nothing; once the other one is cancelled, the retry goes through.
fn a_retry_beside_another_holder_is_refused(mut env: Env) {
    failing_executor(&mut env);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "a",
        "--unique-key",
        "k",
        "--id",
        "t1",
    ]);
    env.run(&["run"]);
    assert_eq!(env.find("t1").expect("t1")["status"], "failed");
    env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "b",
        "--unique-key",
        "k",
        "--id",
        "t2",
    ]);
    let before = (env.store_bytes(), env.archived());
    let refused = env.fails(&["retry", "t1"]);
    assert!(
        refused
            .stderr
            .contains("unique key \"k\" is held by task t2 (scheduled)")
            && refused.stderr.contains("cancel t2 first"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.code, Some(1));
    assert_eq!(
        (env.store_bytes(), env.archived()),
        before,
        "nothing changed"
    );
    env.ok(&["cancel", "t2"]);
    env.ok(&["retry", "t1"]);
    assert_eq!(env.find("t1").expect("t1")["status"], "scheduled");
}
on_both_stores!(a_retry_beside_another_holder_is_refused);

/// The database's partial unique index holds the rule whatever path writes a row: an import
/// that would bring a second pending task with a held key is refused whole.
#[test]
fn the_database_refuses_a_second_pending_task_with_a_key_from_any_path() {
    let Some(env) = Env::postgres() else {
        return;
    };
    env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "a",
        "--unique-key",
        "k",
        "--id",
        "held",
    ]);
    let dir = env.dir.path().join("incoming");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut line: Value =
        serde_json::from_str(&crate::util::reference_line("intruder", "b")).expect("line");
    line["unique_key"] = json!("k");
    std::fs::write(dir.join("deferred.jsonl"), format!("{line}\n")).expect("write");
    let refused = env.fails(&["import", "--runtime-dir", dir.to_str().expect("utf8")]);
    assert!(
        refused
            .stderr
            .contains("unique key \"k\" is held by another pending task"),
        "{}",
        refused.stderr
    );
    assert!(env.find("intruder").is_none());
}
