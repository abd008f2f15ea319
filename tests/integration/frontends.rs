//! One request, one answer, one history: every front end (the CLI, MCP over stdio, MCP over
//! HTTP, the JSON API, the dashboard) speaks the same operations, so the same request gives
//! the same record and the same refusal everywhere, and a task tells one story wherever one
//! looks. Also the source rules that keep it so (no front end imports another, no schema
//! written by hand) and the docs' counts.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::mcp::{Server as Stdio, texts};
use crate::on_both_stores;
use crate::serve::{Server as Http, http, rpc_body};
use crate::util::{Env, wait_until};

/// The fields of one schedule request, as JSON (MCP and the API) and as flags (the CLI).
fn request(id: &str, cwd: &Path) -> Value {
    json!({
        "id": id,
        "when": "tomorrow 9am",
        "summary": "The same everywhere",
        "key_points": ["one", "two"],
        "artifacts": ["/notes/a.md"],
        "constraints": ["no pushes"],
        "intent": "notify",
        "mode": "callback",
        "aura_level": "high",
        "prompt_template": "Do it.",
        "max_retries": 2,
        "if_late": "skip",
        "late_after": "1h",
        "session": "sess-5f1c9a2e",
        "cwd": cwd.display().to_string(),
    })
}

fn flags(id: &str, cwd: &Path) -> Vec<String> {
    [
        "schedule",
        "--id",
        id,
        "--when",
        "tomorrow 9am",
        "--summary",
        "The same everywhere",
        "--key-point",
        "one",
        "--key-point",
        "two",
        "--artifact",
        "/notes/a.md",
        "--constraint",
        "no pushes",
        "--intent",
        "notify",
        "--mode",
        "callback",
        "--aura-level",
        "high",
        "--prompt-template",
        "Do it.",
        "--max-retries",
        "2",
        "--if-late",
        "skip",
        "--late-after",
        "1h",
        "--session",
        "sess-5f1c9a2e",
        "--cwd",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(std::iter::once(cwd.display().to_string()))
    .collect()
}

/// A record with what differs between any two schedules (the id, the stamps) taken out.
fn comparable(mut record: Value) -> Value {
    let map = record.as_object_mut().expect("a record");
    map.remove("id");
    map.remove("created_at");
    record
}

/// A `tools/call` over the HTTP transport: initialize a session, then call.
struct HttpMcp<'a> {
    server: &'a Http,
    session: Option<String>,
}

impl HttpMcp<'_> {
    fn open(server: &Http) -> HttpMcp<'_> {
        let mut client = HttpMcp {
            server,
            session: None,
        };
        let init = client.post(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "frontends", "version": "0"}}}));
        assert_eq!(init.status, 200, "{}", init.body);
        client.session = init.header("mcp-session-id").map(str::to_string);
        client.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        client
    }

    fn post(&self, body: &Value) -> crate::serve::Resp {
        self.post_raw(&body.to_string())
    }

    fn post_raw(&self, body: &str) -> crate::serve::Resp {
        let bearer = format!("Bearer {}", self.server.token);
        let mut headers = vec![
            ("Authorization", bearer.as_str()),
            ("Accept", "application/json, text/event-stream"),
            ("Content-Type", "application/json"),
        ];
        if let Some(s) = &self.session {
            headers.push(("Mcp-Session-Id", s.as_str()));
        }
        http(&self.server.addr, "POST", "/mcp", &headers, Some(body))
    }

    fn call(&self, tool: &str, arguments: Value) -> Value {
        let answer = rpc_body(&self.post(&json!({"jsonrpc": "2.0", "id": 7,
            "method": "tools/call", "params": {"name": tool, "arguments": arguments}})));
        answer["result"].clone()
    }
}

fn one_request_through_every_front_end(env: Env) {
    let cwd = env.dir.path().to_path_buf();
    env.ok(&flags("via_cli", &cwd)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let mut stdio = Stdio::ready(&env);
    stdio.ok("schedule_task", request("via_stdio", &cwd));
    let server = Http::start(&env, &[]);
    let mcp = HttpMcp::open(&server);
    let result = mcp.call("schedule_task", request("via_http", &cwd));
    assert_eq!(result["isError"], false, "{result}");
    let created = server.api(
        "POST",
        "/api/v1/tasks",
        Some(&request("via_api", &cwd).to_string()),
    );
    assert_eq!(created.status, 201, "{}", created.body);

    let records: Vec<Value> = ["via_cli", "via_stdio", "via_http", "via_api"]
        .iter()
        .map(|id| env.find(id).unwrap_or_else(|| panic!("{id} stored")))
        .collect();
    let first = comparable(records[0].clone());
    assert_eq!(first["run_at"], "2026-04-09T09:00:00Z", "{first}");
    assert_eq!(first["session"], "sess-5f1c9a2e", "{first}");
    for (record, via) in records.iter().zip(["cli", "stdio", "http", "api"]) {
        assert_eq!(
            comparable(record.clone()),
            first,
            "the record stored through {via} differs"
        );
    }

    // The same invalid request: the same refusal, arguments named as each front end names
    // them (the CLI by flag, the others by field).
    let grammar = "unsupported time expression \"blah\"";
    let cli = env.fails(&["schedule", "--when", "blah", "--summary", "x"]);
    assert!(cli.stderr.contains(grammar), "{}", cli.stderr);
    let bad = json!({"when": "blah", "summary": "x"});
    let over_stdio = texts(&stdio.call("schedule_task", bad.clone())).join("\n");
    let over_http = texts(&mcp.call("schedule_task", bad.clone())).join("\n");
    assert_eq!(over_stdio, over_http, "both MCP transports word it alike");
    let api = server.api("POST", "/api/v1/tasks", Some(&bad.to_string()));
    assert_eq!(api.status, 400);
    let detail = api.json()["detail"].as_str().expect("detail").to_string();
    assert!(
        detail.starts_with("when: unsupported time expression \"blah\""),
        "{detail}"
    );
    assert!(over_stdio.starts_with(&detail), "{over_stdio} / {detail}");
    let cli_message = cli.stderr.trim().trim_start_matches("error: ");
    assert_eq!(
        detail.strip_prefix("when: "),
        Some(cli_message),
        "the CLI says the grammar's message, the others name the field first"
    );
    // A value outside a closed set: the same words too.
    let cli = env.run(&[
        "schedule",
        "--when",
        "1h",
        "--summary",
        "x",
        "--intent",
        "dance",
    ]);
    let values = "unknown intent \"dance\": use one of resume_task, notify, execute_action";
    assert!(cli.stderr.contains(values), "{}", cli.stderr);
    let bad = json!({"when": "1h", "summary": "x", "intent": "dance"});
    assert!(
        texts(&stdio.call("schedule_task", bad.clone()))
            .join("\n")
            .contains(values)
    );
    assert!(
        server
            .api("POST", "/api/v1/tasks", Some(&bad.to_string()))
            .json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains(values))
    );
    let finished = stdio.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
}
on_both_stores!(one_request_through_every_front_end);

/// The request hygiene of stdio applies to `/mcp` too: the same bad message gets the same
/// JSON-RPC error over both transports.
#[test]
fn both_mcp_transports_refuse_a_bad_message_alike() {
    let env = Env::new();
    let mut stdio = Stdio::ready(&env);
    let server = Http::start(&env, &[]);
    let mcp = HttpMcp::open(&server);
    for bad in [
        r#"{"jsonrpc":"2.0","id":41,"method":"tools/call"}"#,
        r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"list_tasks","arguments":[1]}}"#,
        r#"{"jsonrpc":"2.0","id":43,"method":"resources/read","params":{}}"#,
        r#"{"jsonrpc":"1.0","id":44,"method":"ping"}"#,
        r#"{"id":45"#,
    ] {
        stdio.send_line(bad);
        let over_stdio = stdio.next_message();
        let resp = mcp.post_raw(bad);
        assert_eq!(resp.status, 400, "{bad}: {}", resp.body);
        let over_http: Value = serde_json::from_str(&resp.body).expect("a JSON-RPC error");
        assert_eq!(over_stdio, over_http, "{bad}");
        assert!(over_http["error"]["code"].is_i64(), "{over_http}");
    }
    assert!(stdio.finish().status.success());
}

/// HTTP statuses follow the error's kind: a refused file is the server's fault (500), a busy
/// runner lock is "try again" (503), never a 400.
#[test]
fn http_statuses_follow_the_kind_of_error() {
    let mut env = Env::new();
    let exe = env.script("ok.sh", "cat > /dev/null\necho done");
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.ok(&["schedule", "--id", "fifo", "--when", "1h", "--summary", "x"]);
    env.ok(&["schedule", "--id", "busy", "--when", "1h", "--summary", "x"]);
    std::fs::create_dir_all(env.log_dir()).expect("log dir");
    let fifo = env.log_dir().join("fifo.prompt.txt");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let server = Http::start(&env, &[]);
    let logs = server.api("GET", "/api/v1/tasks/fifo/logs", None);
    assert_eq!(logs.status, 500, "{}", logs.body);
    assert_eq!(logs.json()["error"], "permission");
    assert!(logs.body.contains("not a regular file"), "{}", logs.body);
    // A runner holds the lock: "run now" from the dashboard is refused with 503.
    let lock = env.runtime().join(".deferred.jsonl.runner.lock");
    let holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .expect("flock");
    assert!(wait_until(Duration::from_secs(5), || {
        env.run(&["run", "-v"]).stdout.contains("skipped")
    }));
    let confirm = server.page("GET", "/tasks/busy/confirm/run", None);
    let csrf = confirm
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf")
        .to_string();
    let refused = server.page("POST", "/tasks/busy/run", Some(&format!("csrf={csrf}")));
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.body.contains("another runner holds the lock"));
    let mut holder = holder;
    let _ = holder.kill();
    let _ = holder.wait();
    // The other kinds.
    server
        .api("GET", "/api/v1/tasks/nope", None)
        .problem(404, "Task not found");
    server
        .api("POST", "/api/v1/tasks/busy/retry", Some("{}"))
        .problem(409, "is scheduled, not failed or missed");
    server
        .api("GET", "/api/v1/tasks?limit=0", None)
        .problem(400, "limit");
}

/// A task retried from the archive is in one place: every listing, count, page and export
/// sees its id once, in its current state.
fn a_retried_task_is_listed_once(mut env: Env) {
    let exe = env.script("fail.sh", "cat > /dev/null\necho nope >&2\nexit 3");
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.ok(&["schedule", "--id", "r1", "--when", "now", "--summary", "x"]);
    env.ok(&["run"]);
    assert_eq!(env.find("r1").expect("r1")["status"], "failed");
    env.ok(&["retry", "r1"]);
    let ok = env.script("ok.sh", "cat > /dev/null\necho fine");
    env.set("DEFER_EXECUTOR", ok.as_os_str());
    env.ok(&["run"]);
    assert_eq!(ids(&env, &["list", "--all", "--json"]), ["r1"]);
    assert!(ids(&env, &["list", "--status", "failed", "--json"]).is_empty());
    assert_eq!(
        ids(&env, &["list", "--status", "completed", "--json"]),
        ["r1"]
    );
    // A retried task that is then cancelled is listed as cancelled, not failed.
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.ok(&["schedule", "--id", "r2", "--when", "now", "--summary", "x"]);
    env.ok(&["run"]);
    env.ok(&["retry", "r2", "--when", "1h"]);
    env.ok(&["cancel", "--id", "r2"]);
    env.ok(&["archive"]);
    assert!(ids(&env, &["list", "--status", "failed", "--json"]).is_empty());
    let e = env.fails(&["retry", "r2"]);
    assert!(
        e.stderr.contains("cancelled (archived), not failed"),
        "{}",
        e.stderr
    );
    assert_eq!(ids(&env, &["list", "--all", "--json"]).len(), 2);
    // doctor counts nothing failed; the export holds each id once.
    let doctor = env.run(&["doctor"]).stdout;
    assert!(!doctor.contains("task(s) failed"), "{doctor}");
    let out = env.dir.path().join("exported");
    env.ok(&["export", "--runtime-dir", out.to_str().expect("utf-8")]);
    let mut lines = Vec::new();
    for entry in walk(&out) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        lines.extend(text.lines().map(String::from).filter(|l| !l.is_empty()));
    }
    assert_eq!(lines.len(), 2, "{lines:?}");
    // The server's pages count it once too.
    let server = Http::start(&env, &[]);
    let page = server.api("GET", "/api/v1/tasks?all=true", None).json();
    assert_eq!(page["total"], 2, "{page}");
}
on_both_stores!(a_retried_task_is_listed_once);

/// The ids a `defer list ...` prints.
fn ids(env: &Env, args: &[&str]) -> Vec<String> {
    env.ok(args)
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or("").to_string())
        .collect()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A cancel's reason is text anyone types: "missed: …" in it does not make the task a missed
/// one (retryable, counted by `doctor`).
fn a_cancel_that_says_missed_stays_a_cancel(env: Env) {
    env.ok(&["schedule", "--id", "c1", "--when", "1h", "--summary", "x"]);
    env.ok(&["cancel", "--id", "c1", "--reason", "missed: by hand"]);
    let e = env.fails(&["retry", "c1"]);
    assert!(
        e.stderr.contains("is cancelled, not failed or missed"),
        "{}",
        e.stderr
    );
    let doctor = env.run(&["doctor"]).stdout;
    assert!(!doctor.contains("task(s) were missed"), "{doctor}");
    let record = env.find("c1").expect("c1");
    assert!(record.get("missed").is_none(), "{record}");
}
on_both_stores!(a_cancel_that_says_missed_stays_a_cancel);

/// A pause set while a runner is busy stops the runner's refills too: a task that falls due
/// meanwhile is not claimed until the pause ends.
fn a_pause_stops_a_running_runner_from_claiming(mut env: Env) {
    env.unset("DEFER_NOW");
    let release = env.dir.path().join("release");
    let exe = env.script(
        "held.sh",
        &format!(
            // Bounded (60 s), so a test that fails before releasing it leaves nothing running.
            "cat > /dev/null\ni=0\nwhile [ ! -f '{}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\necho done",
            release.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.set("DEFER_CONCURRENCY", "2");
    env.ok(&[
        "schedule",
        "--id",
        "first",
        "--when",
        "now",
        "--summary",
        "x",
    ]);
    env.ok(&[
        "schedule",
        "--id",
        "later",
        "--when",
        "2s",
        "--summary",
        "x",
    ]);
    let mut runner = env
        .cmd(&["run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    assert!(wait_until(Duration::from_secs(15), || {
        env.find("first")
            .is_some_and(|r| r["status"] == "executing")
    }));
    env.ok(&["pause"]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(env.find("later").expect("later")["status"], "scheduled");
    std::fs::write(&release, b"").expect("release");
    let status = runner.wait().expect("wait");
    assert!(status.success());
    assert_eq!(env.find("later").expect("later")["status"], "scheduled");
    assert!(env.log().contains("runner paused"), "{}", env.log());
    env.ok(&["resume"]);
    env.ok(&["run"]);
    assert_eq!(env.find("later").expect("later")["status"], "completed");
}
on_both_stores!(a_pause_stops_a_running_runner_from_claiming);

// ---- source rules and docs ----------------------------------------------------------------

fn source(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sources_under(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    walk(&root.join(dir))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (p.display().to_string(), text)
        })
        .collect()
}

#[test]
fn front_ends_do_not_import_one_another() {
    for (path, text) in sources_under("src/serve") {
        for forbidden in [
            "crate::mcp::args",
            "crate::cli",
            "crate::commands",
            "crate::mcp::tools",
        ] {
            assert!(!text.contains(forbidden), "{path} uses {forbidden}");
        }
        // The one thing `serve` takes from `mcp` is the service it mounts.
        for line in text.lines().filter(|l| l.contains("crate::mcp::")) {
            assert!(line.contains("crate::mcp::http"), "{path}: {line}");
        }
    }
    for (path, text) in sources_under("src/mcp") {
        for forbidden in ["crate::cli", "crate::commands", "crate::serve"] {
            assert!(!text.contains(forbidden), "{path} uses {forbidden}");
        }
        // Schemas are generated from the types: no hand-written schema objects.
        assert!(
            !text.contains("json_schema!"),
            "{path} writes a schema by hand"
        );
        assert!(
            !text.contains("\"properties\""),
            "{path} writes a schema by hand"
        );
    }
    // `defer mcp` and `defer serve` start their front end; no other command reaches in.
    for (path, text) in sources_under("src/commands") {
        for line in text
            .lines()
            .filter(|l| l.contains("crate::mcp") || l.contains("crate::serve"))
        {
            let launch = [
                "crate::mcp::serve(",
                "crate::serve::serve(",
                "crate::serve::ServeOptions",
                "crate::serve::login_link(",
            ];
            assert!(launch.iter().any(|l| line.contains(l)), "{path}: {line}");
        }
    }
    for (path, text) in sources_under("src/ops") {
        for forbidden in [
            "crate::cli",
            "crate::commands",
            "crate::mcp",
            "crate::serve",
        ] {
            assert!(!text.contains(forbidden), "{path} uses {forbidden}");
        }
    }
}

#[test]
fn the_catch_all_error_is_rare() {
    let mut sites = 0;
    for (_, text) in sources_under("src") {
        sites += text.matches("Error::Invalid(").count();
    }
    assert!(sites < 10, "{sites} uses of a catch-all error");
}

/// Each count the docs give is the code's.
#[test]
fn the_docs_count_what_the_code_has() {
    let env = Env::new();
    let mut stdio = Stdio::ready(&env);
    let tools = stdio.request("tools/list", Value::Null)["result"]["tools"]
        .as_array()
        .expect("tools")
        .len();
    assert!(stdio.finish().status.success());
    let words = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    let said = format!("{} tools", words[tools]);
    for doc in ["README.md", "docs/mcp.md", "docs/serve.md"] {
        let text = source(doc);
        for word in words {
            let claim = format!("{word} tools");
            if text.contains(&claim) {
                assert_eq!(claim, said, "{doc} says {claim:?}; tools/list has {tools}");
            }
        }
        assert!(text.contains(&said), "{doc} should say {said:?}");
    }
    // docs/mcp.md describes both transports.
    let mcp = source("docs/mcp.md");
    assert!(!mcp.contains("stdio only"), "docs/mcp.md");
    assert!(mcp.contains("/mcp"), "docs/mcp.md names the HTTP transport");
    // Every variable defer reads is in the README's table and on the crontab line's list.
    let readme = source("README.md");
    for var in agent_defer::config::VARIABLES {
        assert!(
            readme.contains(&format!("| `{}` |", var.name)),
            "README's table lacks {}",
            var.name
        );
    }
    // The reasons docs/lifecycle.md lists are the ones the code emits.
    let lifecycle = source("docs/lifecycle.md");
    let reasons = source("src/lifecycle/mod.rs");
    let section = lifecycle
        .split("`failed` lines carry a short `reason` (")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .expect("the reasons sentence");
    for reason in section.split(',').map(|r| r.trim().trim_matches('`')) {
        let quoted = format!("\"{reason}\"");
        assert!(
            reasons.contains(&quoted),
            "docs/lifecycle.md lists {reason}, which the code never emits"
        );
    }
}

/// Every variable `Config` reads is in [`agent_defer::config::VARIABLES`], so `--help`, the
/// crontab line and `doctor` carry it.
#[test]
fn every_variable_config_reads_is_listed_once() {
    let text = source("src/config.rs");
    // Settings, and what the runner sets for executors (read by the `defer` one runs).
    let listed: Vec<&str> = agent_defer::config::VARIABLES
        .iter()
        .chain(agent_defer::config::EXECUTOR_VARIABLES)
        .map(|v| v.name)
        .collect();
    for piece in text
        .split("var(\"")
        .skip(1)
        .chain(text.split("path(\"").skip(1))
    {
        let name = piece.split('"').next().unwrap_or("");
        if name.starts_with("DEFER_") {
            assert!(
                listed.contains(&name),
                "{name} is read but not in VARIABLES"
            );
        }
    }
    let keep = agent_defer::setup::cron::carried().any(|n| n == "DEFER_EXECUTOR_KEEP_SECRETS");
    assert!(keep, "the crontab line carries DEFER_EXECUTOR_KEEP_SECRETS");
    // What the runner sets for an executor is never a setting: not on the crontab line, and
    // documented with the executor contract; and the runner sets each of them.
    let schema = source("docs/task-schema.md");
    let runner = source("src/runner/attempt.rs");
    for var in agent_defer::config::EXECUTOR_VARIABLES {
        assert!(
            !agent_defer::setup::cron::carried().any(|n| n == var.name),
            "{} is carried on the crontab line",
            var.name
        );
        assert!(
            schema.contains(&format!("`{}`", var.name)),
            "docs/task-schema.md does not document {}",
            var.name
        );
        assert!(
            runner.contains(&format!("\"{}\"", var.name)),
            "the runner never sets {}",
            var.name
        );
    }
}

/// The CLI's exit code follows the error's kind (README, "Exit codes").
#[test]
fn exit_codes_follow_the_kind_of_error() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.ok(&["schedule", "--id", "t1", "--when", "1h", "--summary", "x"]);
    let code = |args: &[&str]| env.run(args).code;
    assert_eq!(
        code(&["schedule", "--when", "blah", "--summary", "x"]),
        Some(1)
    );
    assert_eq!(code(&["show", "nope"]), Some(1));
    assert_eq!(code(&["retry", "t1"]), Some(1), "wrong status");
    assert_eq!(code(&["schedule", "--nonsense"]), Some(2), "a usage error");
    // Another runner holds the lock: try again later.
    let lock = env.runtime().join(".deferred.jsonl.runner.lock");
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .expect("flock");
    assert!(wait_until(Duration::from_secs(5), || lock.exists()
        && env.run(&["run", "-v"]).stdout.contains("skipped")));
    let busy = env.fails(&["run", "--id", "t1"]);
    assert_eq!(busy.code, Some(3), "{}", busy.stderr);
    let _ = holder.kill();
    let _ = holder.wait();
    // A runtime directory others may write: the host needs attention.
    std::fs::set_permissions(env.runtime(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let refused = env.fails(&["list"]);
    assert_eq!(refused.code, Some(4), "{}", refused.stderr);
    assert!(refused.stderr.contains("chmod 700"), "{}", refused.stderr);
}
