//! The same scenarios, run against both stores: the JSONL file and PostgreSQL.
//!
//! Each scenario is one function over an [`Env`]; the `both!` macro makes a JSONL test and a
//! PostgreSQL test of it (the latter skips, saying why, without `DEFER_TEST_DATABASE_URL`).
//! Assertions go through the CLI only, so they hold for any store.

use serde_json::Value;

use crate::util::{Env, StoreKind};

macro_rules! both {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[test]
            fn jsonl() {
                if let Some(env) = Env::with_store(StoreKind::Jsonl) {
                    super::$name(env);
                }
            }

            #[test]
            fn postgres() {
                if let Some(env) = Env::with_store(StoreKind::Postgres) {
                    super::$name(env);
                }
            }
        }
    };
}

fn ids(run: &crate::util::Run) -> Vec<String> {
    run.json()
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

fn schedule_list_show_cancel(env: Env) {
    env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "first",
        "--id",
        "a",
    ]);
    env.ok(&[
        "schedule",
        "--when",
        "2h",
        "--summary",
        "second",
        "--id",
        "b",
    ]);
    let generated = env
        .ok(&["--when", "3h", "--summary", "third", "--compact"])
        .json();
    let third = generated["id"].as_str().expect("id").to_string();
    assert!(third.starts_with("task_20260408_163500_"), "{third}");

    assert_eq!(
        ids(&env.ok(&["list"])),
        vec!["a".to_string(), "b".into(), third.clone()]
    );
    let pretty = env.ok(&["list"]).stdout;
    assert!(pretty.starts_with("[\n  {\n    \"id\": \"a\""), "{pretty}");
    assert_eq!(env.ok(&["list", "--compact"]).stdout.lines().count(), 1);

    let shown = env.ok(&["show", "b"]).json();
    assert_eq!(shown["context"]["summary"], "second");
    assert_eq!(shown["run_at"], "2026-04-08T18:35:00Z");

    let cancelled = env
        .ok(&["cancel", "--id", "b", "--reason", "not needed"])
        .json();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "not needed");
    assert_eq!(ids(&env.ok(&["list"])), vec!["a".to_string(), third]);
    assert_eq!(
        ids(&env.ok(&["list", "--status", "cancelled"])),
        vec!["b".to_string()]
    );

    let again = env.fails(&["cancel", "--id", "b"]);
    assert!(
        again.stderr.contains("cancelled, not scheduled"),
        "{}",
        again.stderr
    );
    let missing = env.fails(&["cancel", "--id", "nope"]);
    assert!(
        missing.stderr.contains("Task not found: nope"),
        "{}",
        missing.stderr
    );
    let dup = env.fails(&["schedule", "--when", "1h", "--summary", "x", "--id", "a"]);
    assert!(
        dup.stderr.contains("already in the store"),
        "{}",
        dup.stderr
    );
    let bad = env.fails(&["schedule", "--when", "3pm EST", "--summary", "x"]);
    assert!(bad.stderr.contains("DEFER_TIMEZONE"), "{}", bad.stderr);
    assert_eq!(
        ids(&env.ok(&["list", "--all"])).len(),
        3,
        "refused commands add nothing"
    );
}
both!(schedule_list_show_cancel);

fn run_completes_due_tasks_and_archives_them(env: Env) {
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "due",
        "--id",
        "due1",
    ]);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "keep fields",
        "--id",
        "due2",
        "--context-json",
        r#"{"team":"infra","key_points":["k"]}"#,
    ]);
    env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "later",
        "--id",
        "later",
    ]);
    let run = env.ok(&["run"]);
    assert_eq!(run.stdout, "", "quiet on success");

    for id in ["due1", "due2"] {
        let t = env.ok(&["show", id]).json();
        assert_eq!(t["status"], "completed", "{t}");
        assert_eq!(t["result"]["type"], "prompt_prepared");
        assert_eq!(t["completed_at"], "2026-04-08T16:35:00Z");
    }
    assert_eq!(env.ok(&["show", "due2"]).json()["context"]["team"], "infra");
    let prompt = std::fs::read_to_string(env.log_dir().join("due1.prompt.txt")).expect("prompt");
    assert!(prompt.starts_with("You are resuming a deferred task.\n\nTask ID: due1\n"));

    assert_eq!(ids(&env.ok(&["list"])), vec!["later".to_string()]);
    let mut done = ids(&env.ok(&["list", "--status", "completed"]));
    done.sort();
    assert_eq!(done, vec!["due1".to_string(), "due2".into()]);
    let second = env.ok(&["run", "-v"]);
    assert!(second.stdout.contains("claimed 0"), "{}", second.stdout);
    let log = env.log();
    assert!(
        log.contains("executed id=due1 mode=prompt_prepared"),
        "{log}"
    );
    assert!(log.contains("archived id=due1 "), "{log}");
}
both!(run_completes_due_tasks_and_archives_them);

fn failures_are_retried_then_failed(mut env: Env) {
    let exec = env.script(
        "fail.sh",
        "cat >/dev/null\necho \"broken: $DEFER_ATTEMPT\" >&2\nexit 4",
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "r",
        "--max-retries",
        "1",
    ]);
    env.ok(&["run"]);
    let t = env.ok(&["show", "r"]).json();
    assert_eq!(t["status"], "scheduled", "{t}");
    assert_eq!(t["attempts"], 1);
    assert_eq!(t["last_error"], "broken: 1");
    assert_eq!(t["result"]["type"], "retry_scheduled");
    env.ok(&["run"]);
    let t = env.ok(&["show", "r"]).json();
    assert_eq!(t["status"], "failed", "{t}");
    assert_eq!(t["attempts"], 2);
    assert_eq!(t["error"], "broken: 2");
    assert_eq!(t["result"]["type"], "executor_failed");
    assert_eq!(t["result"]["exit_code"], 4);
    assert!(
        env.log().contains("failed id=r reason=executor_nonzero"),
        "{}",
        env.log()
    );
}
both!(failures_are_retried_then_failed);

fn executor_output_is_the_result(mut env: Env) {
    let exec = env.script(
        "ok.sh",
        "read line\necho \"done $DEFER_TASK_ID\"\necho \"$line\" | grep -q '\"status\":\"executing\"'",
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "e1"]);
    env.ok(&["run"]);
    let t: Value = env.ok(&["show", "e1"]).json();
    assert_eq!(t["status"], "completed", "{t}");
    assert_eq!(t["result"]["type"], "executor_output");
    assert_eq!(t["result"]["output"], "done e1\n");
}
both!(executor_output_is_the_result);

/// `{"summary":"deep","x":[[…1…]]}` with `arrays` nested arrays inside the context object.
fn deep_context(arrays: usize) -> String {
    format!(
        r#"{{"summary":"deep","x":{}1{}}}"#,
        "[".repeat(arrays),
        "]".repeat(arrays)
    )
}

/// One depth limit: what `schedule` accepts, every command reads back; one level more is
/// refused at once, with the store unchanged.
fn nesting_schedule_accepts_is_read_back(env: Env) {
    // The record (1) holds the context (1) holding 126 arrays: 128 levels, one too many.
    let before = env.store_bytes();
    let listed = env.ok(&["list"]).stdout;
    let run = env.fails(&[
        "schedule",
        "--when",
        "now",
        "--context-json",
        &deep_context(126),
    ]);
    assert!(
        run.stderr.contains("--context-json") && run.stderr.contains("at most 126"),
        "{}",
        run.stderr
    );
    assert_eq!(env.store_bytes(), before);
    assert_eq!(env.ok(&["list"]).stdout, listed);

    // The deepest accepted context: shown, cancelled and run.
    let deepest = deep_context(125);
    for (id, when) in [("deep_run", "now"), ("deep_cancel", "1h")] {
        env.ok(&[
            "schedule",
            "--when",
            when,
            "--id",
            id,
            "--context-json",
            &deepest,
        ]);
    }
    let shown = env.ok(&["show", "deep_cancel"]).json();
    assert_eq!(shown["context"]["summary"], "deep");
    env.ok(&["cancel", "--id", "deep_cancel"]);
    assert_eq!(
        env.ok(&["show", "deep_cancel"]).json()["status"],
        "cancelled"
    );
    env.ok(&["run"]);
    let done = env.ok(&["show", "deep_run"]).json();
    assert_eq!(done["status"], "completed", "{done}");
    let check = env.run(&["check"]);
    assert!(check.success(), "{}{}", check.stdout, check.stderr);
}
both!(nesting_schedule_accepts_is_read_back);

/// `pause` stops claiming on any store; `resume` (or the end of `--until`) lets the next wake
/// run what fell due, under the missed-run policy.
fn pause_and_resume(mut env: Env) {
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "p1"]);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "skip",
        "--if-late",
        "skip",
        "--late-after",
        "10m",
    ]);
    let paused = env.ok(&["pause"]);
    assert!(paused.stderr.contains("paused"), "{}", paused.stderr);
    // Every claim path asks the pause: a wake says why it claimed nothing...
    let run = env.ok(&["run", "-v"]);
    assert!(
        run.stdout.contains(
            "runners of this store are paused since Wed 2026-04-08 16:35 UTC until `defer \
             resume`: claimed nothing"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(env.ok(&["show", "p1"]).json()["status"], "scheduled");
    // ... `run --id` is refused and changes nothing ...
    let before = env.store_bytes();
    let refused = env.fails(&["run", "--id", "p1"]);
    assert!(
        refused.stderr.contains("paused") && refused.stderr.contains("defer resume"),
        "{}",
        refused.stderr
    );
    assert_eq!(env.store_bytes(), before);
    // ... and `why` names the pause, not another store.
    let why = env.ok(&["why", "p1"]).stdout;
    assert!(
        why.contains("Why it has not run: runners of this store are paused since"),
        "{why}"
    );
    assert!(!why.contains("another store"), "{why}");
    let list = env.ok(&["list"]);
    assert!(
        list.stderr.contains("runners of this store are paused"),
        "{}",
        list.stderr
    );
    assert!(
        env.log().contains("runner paused until=resume"),
        "{}",
        env.log()
    );
    // Resumed an hour later: the plain task runs, the one with a 10m limit is missed.
    env.set("DEFER_NOW", "2026-04-08T17:35:00Z");
    env.ok(&["resume"]);
    env.ok(&["run"]);
    assert_eq!(env.ok(&["show", "p1"]).json()["status"], "completed");
    assert_eq!(env.ok(&["show", "skip"]).json()["status"], "cancelled");
    // A pause with an end ends by itself; an end already past is refused.
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "p2"]);
    let past = env.fails(&["pause", "--until", "2020-01-01"]);
    assert!(past.stderr.contains("not in the future"), "{}", past.stderr);
    env.ok(&["pause", "--until", "30m"]);
    env.ok(&["run"]);
    assert_eq!(env.ok(&["show", "p2"]).json()["status"], "scheduled");
    env.set("DEFER_NOW", "2026-04-08T18:06:00Z");
    env.ok(&["run"]);
    assert_eq!(env.ok(&["show", "p2"]).json()["status"], "completed");
    assert!(
        env.log().contains("paused until=2026-04-08T18:05:00Z"),
        "{}",
        env.log()
    );
}
both!(pause_and_resume);

fn doctor_says_when_runners_are_paused(env: Env) {
    env.ok(&["pause", "--until", "2h"]);
    let run = env.run(&["doctor"]);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("warn: runners are paused until")),
        "{}",
        run.stdout
    );
    env.ok(&["resume"]);
    let run = env.run(&["doctor"]);
    assert!(!run.stdout.contains("paused"), "{}", run.stdout);
}
both!(doctor_says_when_runners_are_paused);
