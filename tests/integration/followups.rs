//! Follow-ups and sessions: a task scheduled while an executor runs (`DEFER_TASK_ID` set)
//! records that task as its `parent_id`, lands in the runner's own store (on PostgreSQL
//! through the URL without its password), and is refused rather than written to another
//! store; `show` and `why` tell the chain. A task's `session` reaches the executor, and
//! `examples/executors/agent-cli.sh` resumes it with stand-in agent CLIs, falling back to a
//! fresh run when the session is gone.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::mcp::Server as Stdio;
use crate::on_both_stores;
use crate::util::{Env, defer_bin, make_executable};

/// The password the PostgreSQL scenarios put in the runner's URL: the test server trusts
/// local connections, so it is never checked, only looked for where it must not be.
const PASSWORD: &str = "hunter2-not-for-executors";

/// `url` with [`PASSWORD`] as its password, when it has a user and none yet.
fn with_password(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (userinfo, hosts) = rest.split_once('@')?;
    (!userinfo.contains(':')).then(|| format!("{scheme}://{userinfo}:{PASSWORD}@{hosts}"))
}

/// An executor that writes its environment to `executor.env` and runs `defer` with `args`
/// (its output is the task's result).
fn scheduling_executor(env: &mut Env, args: &str) -> PathBuf {
    let dump = env.dir.path().join("executor.env");
    let script = env.script(
        "follow-up.sh",
        &format!("cat >/dev/null\nenv > '{}'\n{args}", dump.display()),
    );
    env.set("DEFER_EXECUTOR", script.as_os_str());
    dump
}

/// The executor's environment as it saw it.
fn seen_env(dump: &Path) -> String {
    fs::read_to_string(dump).expect("the executor ran and wrote its environment")
}

fn follow_ups_of(env: &Env, id: &str) -> Vec<Value> {
    env.records()
        .into_iter()
        .chain(env.archived())
        .filter(|r| r["parent_id"] == id)
        .collect()
}

/// The executor's `defer schedule --when 1h` makes a follow-up of the running task, in the
/// runner's store; `show` (MCP's reply: `parent`, `follow_ups`), `list --parent` and `why`
/// tell the chain from both ends. On PostgreSQL the runner's URL carries a password, which
/// appears nowhere in the executor's environment.
fn an_executor_schedules_a_follow_up_of_the_running_task(mut env: Env) {
    if let Some((url, _)) = env.database.clone()
        && let Some(secret) = with_password(&url)
    {
        env.set("DEFER_DATABASE_URL", secret.as_str());
    }
    let dump = scheduling_executor(
        &mut env,
        &format!(
            "'{}' schedule --when 1h --summary 'Check the deploy again' --compact",
            defer_bin().display()
        ),
    );
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "deploy",
        "--summary",
        "Deploy",
    ]);
    env.ok(&["run"]);

    let seen = seen_env(&dump);
    assert!(seen.contains("DEFER_TASK_ID=deploy\n"), "{seen}");
    assert!(seen.contains("DEFER_RUNNER_STORE="), "{seen}");
    assert!(
        !seen.contains(PASSWORD),
        "a secret reached the executor:\n{seen}"
    );
    if env.database.is_some() {
        let url = seen
            .lines()
            .find_map(|l| l.strip_prefix("DEFER_DATABASE_URL="))
            .unwrap_or_else(|| panic!("no URL for the executor:\n{seen}"));
        assert!(url.starts_with("postgres"), "{url}");
    } else {
        assert!(!seen.contains("DEFER_DATABASE_URL="), "{seen}");
    }

    let parent = env.find("deploy").expect("parent");
    assert_eq!(parent["status"], "completed", "{parent}");
    let children = follow_ups_of(&env, "deploy");
    assert_eq!(children.len(), 1, "{children:?}");
    let child = &children[0];
    let child_id = child["id"].as_str().expect("id").to_string();
    assert_eq!(child["status"], "scheduled");
    assert_eq!(child["context"]["summary"], "Check the deploy again");
    assert_eq!(child["run_at"], "2026-04-08T17:35:00Z");

    let mut mcp = Stdio::ready(&env);
    let shown = mcp.ok("show_task", json!({"id": "deploy"}));
    assert_eq!(shown["follow_ups_total"], 1, "{shown}");
    assert_eq!(shown["follow_ups"][0]["id"], child_id.as_str());
    assert_eq!(shown["follow_ups"][0]["status"], "scheduled");
    assert!(
        shown["message"]
            .as_str()
            .expect("message")
            .contains("follow-up: ")
    );
    let shown = mcp.ok("show_task", json!({"id": child_id}));
    assert_eq!(shown["parent"]["id"], "deploy", "{shown}");
    assert_eq!(shown["parent"]["summary"], "Deploy");
    assert_eq!(shown["task"]["parent_id"], "deploy");
    assert!(mcp.finish().status.success());

    // The dashboard's task pages link the two.
    let http = crate::serve::Server::start(&env, &[]);
    let page = http.page("GET", "/tasks/deploy", None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<h2>Follow-ups</h2>")
            && page
                .body
                .contains(&format!("<a href=\"/tasks/{child_id}\">{child_id}</a>")),
        "{}",
        page.body
    );
    let page = http.page("GET", &format!("/tasks/{child_id}"), None);
    assert!(
        page.body.contains("follow-up of")
            && page.body.contains("<a href=\"/tasks/deploy\">deploy</a>"),
        "{}",
        page.body
    );
    drop(http);

    let listed = env.ok(&["list", "--parent", "deploy", "--compact"]).json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let why = env.ok(&["why", "deploy"]).stdout;
    assert!(
        why.contains("Follow-ups: its runs scheduled 1 task(s):") && why.contains(&child_id),
        "{why}"
    );
    let why = env.ok(&["why", &child_id]).stdout;
    assert!(why.contains("Follow-up of: deploy [completed]"), "{why}");
}
on_both_stores!(an_executor_schedules_a_follow_up_of_the_running_task);

/// An executor whose `defer` would write to another store than its runner's (here it points
/// at another runtime directory and drops the database URL) is refused with the fix in the
/// message: the task fails saying so, nothing is written anywhere.
fn a_follow_up_for_another_store_is_refused(mut env: Env) {
    let elsewhere = env.dir.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).expect("dir");
    scheduling_executor(
        &mut env,
        &format!(
            "env -u DEFER_DATABASE_URL DEFER_RUNTIME_DIR='{}' '{}' schedule --when 1h --summary lost",
            elsewhere.display(),
            defer_bin().display()
        ),
    );
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "p",
        "--summary",
        "parent",
    ]);
    env.run(&["run"]);
    let parent = env.find("p").expect("parent");
    assert_eq!(parent["status"], "failed", "{parent}");
    let error = parent["error"].as_str().expect("error");
    for needle in [
        "this defer runs under task p, whose runner uses ",
        "but it would write to file ",
        "a follow-up stored here would never run",
        "or unset DEFER_TASK_ID",
    ] {
        assert!(error.contains(needle), "{error:?} lacks {needle:?}");
    }
    assert!(follow_ups_of(&env, "p").is_empty());
    let stray = elsewhere.join("deferred.jsonl");
    assert!(
        fs::read(&stray).unwrap_or_default().is_empty(),
        "nothing was written to {}",
        stray.display()
    );
}
on_both_stores!(a_follow_up_for_another_store_is_refused);

/// The rules of the parent, through the CLI and MCP as an executor's `defer` sees them:
/// `--parent ID` links to any task, `--no-parent` (no_parent) links to none, a stated runner
/// store that is not this one refuses, and a `DEFER_TASK_ID` this store does not have (a
/// runner that does not say its store) refuses too, unless `--no-parent`.
fn the_parent_is_the_running_task_unless_said_otherwise(mut env: Env) {
    env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--id",
        "running",
        "--summary",
        "a running task",
    ]);
    env.ok(&[
        "schedule",
        "--when",
        "1h",
        "--id",
        "other",
        "--summary",
        "another task",
    ]);
    // What the runner would say about this store, as its executors see it.
    let dump = scheduling_executor(&mut env, "true");
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "probe",
        "--summary",
        "probe",
    ]);
    env.ok(&["run"]);
    env.unset("DEFER_EXECUTOR");
    let store = seen_env(&dump)
        .lines()
        .find_map(|l| l.strip_prefix("DEFER_RUNNER_STORE=").map(str::to_string))
        .expect("DEFER_RUNNER_STORE");

    env.set("DEFER_TASK_ID", "running");
    env.set("DEFER_RUNNER_STORE", store.as_str());
    let linked = env
        .ok(&["schedule", "--when", "2h", "--summary", "auto"])
        .json();
    assert_eq!(linked["parent_id"], "running");
    let explicit = env.ok(&[
        "schedule",
        "--when",
        "2h",
        "--summary",
        "x",
        "--parent",
        "other",
    ]);
    assert_eq!(explicit.json()["parent_id"], "other");
    let none = env
        .ok(&["schedule", "--when", "2h", "--summary", "x", "--no-parent"])
        .json();
    assert!(none.get("parent_id").is_none(), "{none}");
    env.fails(&[
        "schedule",
        "--when",
        "2h",
        "--summary",
        "x",
        "--parent",
        "nosuch",
    ]);
    env.fails(&[
        "schedule",
        "--when",
        "2h",
        "--summary",
        "x",
        "--parent",
        "a",
        "--no-parent",
    ]);

    let mut mcp = Stdio::ready(&env);
    let by_mcp = mcp.ok("schedule_task", json!({"when": "2h", "summary": "via mcp"}));
    assert_eq!(by_mcp["task"]["parent_id"], "running", "{by_mcp}");
    let unlinked = mcp.ok(
        "schedule_task",
        json!({"when": "2h", "summary": "unlinked", "no_parent": true}),
    );
    assert!(unlinked["task"].get("parent_id").is_none());
    assert!(mcp.finish().status.success());

    let before = env.store_bytes();
    env.set("DEFER_RUNNER_STORE", "file /somewhere/else/deferred.jsonl");
    let refused = env.fails(&["schedule", "--when", "2h", "--summary", "x"]);
    assert!(
        refused
            .stderr
            .contains("whose runner uses file /somewhere/else/deferred.jsonl"),
        "{}",
        refused.stderr
    );
    env.unset("DEFER_RUNNER_STORE");
    env.set("DEFER_TASK_ID", "ghost");
    let ghost = env.fails(&["schedule", "--when", "2h", "--summary", "x"]);
    assert!(
        ghost
            .stderr
            .contains("DEFER_TASK_ID names task ghost, which this store")
            && ghost.stderr.contains("--no-parent"),
        "{}",
        ghost.stderr
    );
    assert_eq!(env.store_bytes(), before, "refusals write nothing");
    let unlinked = env.ok(&["schedule", "--when", "2h", "--summary", "x", "--no-parent"]);
    assert!(unlinked.json().get("parent_id").is_none());
}
on_both_stores!(the_parent_is_the_running_task_unless_said_otherwise);

/// The agent CLI executor of `examples/`.
fn agent_cli() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/executors/agent-cli.sh")
}

/// A stand-in for an agent CLI, alone on `PATH` with the tools the executor needs: it
/// appends its argv (one line, words joined by spaces) to `<name>.argv` and each stdin to
/// `<name>.stdin.N`; a resumed session whose id starts with `gone` answers as a CLI does for
/// a session it does not have, one starting with `fail` fails otherwise, anything else
/// succeeds, printing which run it was.
fn stand_in(env: &mut Env, name: &str, not_found: &str) -> PathBuf {
    let bin = env.dir.path().join(format!("bin-{name}"));
    fs::create_dir_all(&bin).expect("bin");
    for tool in [
        "sh", "cat", "grep", "mktemp", "head", "tr", "rm", "env", "wc",
    ] {
        if let Some(found) = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
        {
            let _ = std::os::unix::fs::symlink(found, bin.join(tool));
        }
    }
    let record = env.dir.path().join(name);
    let script = bin.join(name);
    fs::write(
        &script,
        format!(
            r#"#!/bin/sh
n=$(cat '{record}.argv' 2>/dev/null | wc -l | tr -d ' ')
echo "$*" >> '{record}.argv'
cat > '{record}.stdin.'"$n"
case " $* " in
  *" gone"*) echo "{not_found}" >&2; exit 1 ;;
  *" fail"*) echo "rate limited" >&2; exit 3 ;;
esac
echo "{name} run $n"
"#,
            record = record.display()
        ),
    )
    .expect("write stand-in");
    make_executable(&script);
    env.set("PATH", bin.as_os_str());
    env.set("DEFER_EXECUTOR", agent_cli().as_os_str());
    record
}

fn argv(record: &Path) -> Vec<String> {
    fs::read_to_string(record.with_extension("argv"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `--session ID` is stored and handed to the executor; `agent-cli.sh` resumes it with
/// `claude -p --resume ID` (the prompt on stdin), and when claude says the session is gone it
/// starts a fresh run with the rehydration prompt, whose output alone is the result. Any
/// other failure of the resumed run fails the task; no session, no resume.
fn claude_resumes_a_session_and_starts_afresh_when_it_is_gone(mut env: Env) {
    let record = stand_in(
        &mut env,
        "claude",
        "No conversation found with session ID: gone-7f9f",
    );
    let live = env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "live",
        "--summary",
        "continue",
        "--session",
        "5f1c9a2e-1b3c-4c7a",
    ]);
    assert_eq!(live.json()["session"], "5f1c9a2e-1b3c-4c7a");
    env.ok(&["run"]);
    let done = env.find("live").expect("live");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["output"], "claude run 0\n");
    assert_eq!(argv(&record), vec!["-p --resume 5f1c9a2e-1b3c-4c7a"]);
    let prompt = fs::read(env.log_dir().join("live.prompt.txt")).expect("prompt");
    assert_eq!(
        fs::read(record.with_extension("stdin.0")).expect("stdin"),
        prompt
    );

    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "gone",
        "--summary",
        "again",
        "--session",
        "gone-7f9f",
    ]);
    env.ok(&["run"]);
    let done = env.find("gone").expect("gone");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["result"]["output"], "claude run 2\n",
        "only the fresh run's output"
    );
    assert_eq!(
        argv(&record)[1..],
        ["-p --resume gone-7f9f".to_string(), "-p".to_string()]
    );
    let prompt = fs::read(env.log_dir().join("gone.prompt.txt")).expect("prompt");
    for n in [1, 2] {
        let stdin = fs::read(record.with_extension(format!("stdin.{n}"))).expect("stdin");
        assert_eq!(stdin, prompt, "run {n} read the rehydration prompt");
    }
    let logs = env.ok(&["logs", "gone"]).stdout;
    assert!(logs.contains("could not be resumed"), "{logs}");

    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "flaky",
        "--summary",
        "x",
        "--session",
        "fail-1",
    ]);
    env.run(&["run"]);
    let failed = env.find("flaky").expect("flaky");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .expect("error")
            .contains("rate limited"),
        "{failed}"
    );
    assert_eq!(argv(&record).len(), 4, "no fresh run after another failure");

    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "plain",
        "--summary",
        "x",
    ]);
    env.ok(&["run"]);
    assert_eq!(argv(&record).last().map(String::as_str), Some("-p"));
}
on_both_stores!(claude_resumes_a_session_and_starts_afresh_when_it_is_gone);

/// The same with codex: `codex exec resume ID -`, then `codex exec -` when the session is
/// gone.
fn codex_resumes_a_session_and_starts_afresh_when_it_is_gone(mut env: Env) {
    let record = stand_in(&mut env, "codex", "Error: thread/session not found: gone-1");
    env.set("DEFER_AGENT_FLAGS", "--skip-git-repo-check");
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "a",
        "--summary",
        "x",
        "--session",
        "sess-1",
    ]);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "b",
        "--summary",
        "y",
        "--session",
        "gone-1",
    ]);
    env.ok(&["run"]);
    assert_eq!(
        env.find("a").expect("a")["result"]["output"],
        "codex run 0\n"
    );
    assert_eq!(
        env.find("b").expect("b")["result"]["output"],
        "codex run 2\n"
    );
    assert_eq!(
        argv(&record),
        vec![
            "exec --skip-git-repo-check resume sess-1 -",
            "exec --skip-git-repo-check resume gone-1 -",
            "exec --skip-git-repo-check -",
        ]
    );
}
on_both_stores!(codex_resumes_a_session_and_starts_afresh_when_it_is_gone);

/// A session id is the one thing from a task that reaches an agent's command line: anything
/// but an id's alphabet is refused when scheduling (so `--resume --dangerous-flag` cannot be
/// planted), and a hand-edited record's is not passed on.
#[test]
fn a_session_that_could_be_a_flag_never_reaches_the_agent() {
    let mut env = Env::new();
    for bad in ["-rf", "a b", "x;rm", ""] {
        let refused = env.fails(&[
            "schedule",
            "--when",
            "now",
            "--summary",
            "x",
            &format!("--session={bad}"),
        ]);
        assert!(refused.stderr.contains("--session"), "{}", refused.stderr);
    }
    let record = stand_in(&mut env, "claude", "No conversation found");
    let mut line: Value =
        serde_json::from_str(&crate::util::reference_line("planted", "x")).expect("line");
    line["session"] = json!("--dangerously-skip-permissions");
    fs::create_dir_all(env.runtime()).expect("runtime");
    fs::write(env.tasks_file(), format!("{line}\n")).expect("write");
    env.ok(&["run"]);
    assert_eq!(env.find("planted").expect("planted")["status"], "completed");
    assert_eq!(argv(&record), vec!["-p"]);
}
