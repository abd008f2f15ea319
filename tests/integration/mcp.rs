//! `defer mcp`: the real binary, spoken to in newline-delimited JSON-RPC over its stdio, as an
//! agent host does; and the official Python MCP SDK driving it (`tests/interop/`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Env, defer_bin};

/// How long any one answer may take; generous for a loaded CI machine.
const TIMEOUT: Duration = Duration::from_secs(30);

const TOOLS: [&str; 8] = [
    "cancel_task",
    "list_tasks",
    "normalize_time",
    "reschedule_task",
    "retry_task",
    "schedule_task",
    "show_task",
    "task_output",
];

/// A running `defer mcp` and the client side of its stdio.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every line the server wrote to stdout so far.
    stdout: Vec<String>,
    /// Responses read while waiting for another one, by id.
    early: HashMap<u64, Value>,
    stderr: Option<JoinHandle<String>>,
    next_id: u64,
}

/// What a finished server left behind.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: String,
}

impl Server {
    pub fn start(env: &Env) -> Server {
        let mut child = env
            .cmd(&["mcp"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn defer mcp");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        Server {
            stdin: child.stdin.take(),
            child,
            lines,
            stdout: Vec::new(),
            early: HashMap::new(),
            stderr: Some(stderr),
            next_id: 1,
        }
    }

    /// A server that has completed the handshake.
    pub fn ready(env: &Env) -> Server {
        let mut server = Server::start(env);
        server.initialize();
        server
    }

    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.write_all(b"\n"))
            .and_then(|()| stdin.flush())
            .expect("write to defer mcp");
    }

    pub fn notify(&mut self, method: &str) {
        self.send_line(&json!({"jsonrpc": "2.0", "method": method}).to_string());
    }

    /// Sends a request without waiting for its answer; returns its id.
    pub fn send(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        self.send_line(&message.to_string());
        id
    }

    /// Waits for the response to request `id`, keeping others that arrive first.
    pub fn response(&mut self, id: u64) -> Value {
        if let Some(value) = self.early.remove(&id) {
            return value;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no answer to request {id} within {TIMEOUT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("defer mcp closed stdout while request {id} was pending")
                }
            };
            self.stdout.push(line.clone());
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
            assert_eq!(value["jsonrpc"], "2.0", "{line}");
            match value["id"].as_u64() {
                Some(got) if got == id => return value,
                Some(got) => {
                    self.early.insert(got, value);
                }
                None => {} // a notification
            }
        }
    }

    /// The next line the server writes, as JSON (an answer with no id, a batch).
    pub fn next_message(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("no message within {TIMEOUT:?}: {e}"));
        self.stdout.push(line.clone());
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
    }

    /// Sends a request and returns the whole response with its id.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        self.response(id)
    }

    pub fn initialize(&mut self) -> Value {
        self.initialize_as("2025-11-25")
    }

    /// The handshake, asking for protocol revision `version`.
    pub fn initialize_as(&mut self, version: &str) -> Value {
        let response = self.request(
            "initialize",
            json!({
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": {"name": "defer-integration-test", "version": "0"}
            }),
        );
        self.notify("notifications/initialized");
        response["result"].clone()
    }

    /// `tools/call`; returns the result (a tool error is a result too).
    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        assert!(
            response.get("error").is_none(),
            "{tool} answered with a protocol error: {response}"
        );
        response["result"].clone()
    }

    /// A call that must succeed: returns the structured content, after checking the text
    /// blocks (a sentence, then the same JSON as text).
    pub fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let result = self.call(tool, arguments.clone());
        assert_eq!(
            result["isError"], false,
            "{tool} {arguments} failed: {result}"
        );
        let structured = result["structuredContent"].clone();
        assert!(structured.is_object(), "{tool}: {result}");
        let texts = texts(&result);
        assert_eq!(texts.len(), 2, "{tool}: {result}");
        assert!(!texts[0].trim().is_empty());
        let as_text: Value = serde_json::from_str(&texts[1]).expect("second block is JSON");
        assert_eq!(
            as_text, structured,
            "{tool}: the JSON text block is the structured content"
        );
        structured
    }

    /// A call that must be a tool error mentioning each of `needles`; returns its message.
    pub fn err(&mut self, tool: &str, arguments: Value, needles: &[&str]) -> String {
        let result = self.call(tool, arguments.clone());
        assert_eq!(
            result["isError"], true,
            "{tool} {arguments} should have failed: {result}"
        );
        let message = texts(&result).join("\n");
        for needle in needles {
            assert!(
                message.contains(needle),
                "{tool} {arguments}: {message:?} does not mention {needle:?}"
            );
        }
        message
    }

    /// Closes stdin (how a host stops a stdio server) and waits for the exit.
    pub fn finish(mut self) -> Finished {
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("defer mcp did not exit after stdin closed");
            }
            thread::sleep(Duration::from_millis(10));
        };
        self.stdout.extend(self.lines.iter());
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().expect("stderr reader"))
            .unwrap_or_default();
        for line in &self.stdout {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout carried a non-JSON line ({e}): {line:?}"));
            // One message, or the answers to a batch.
            let messages = match value {
                Value::Array(items) => items,
                one => vec![one],
            };
            for message in messages {
                assert_eq!(message["jsonrpc"], "2.0", "stdout carried {line:?}");
            }
        }
        Finished {
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed assertion must not leave a server running.
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn texts(result: &Value) -> Vec<String> {
    result["content"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn initialize_and_list_tools_with_object_schemas() {
    let env = Env::new();
    let mut server = Server::start(&env);
    let init = server.initialize();
    assert_eq!(init["protocolVersion"], "2025-11-25", "{init}");
    assert_eq!(init["serverInfo"]["name"], "defer");
    assert!(init["capabilities"]["tools"].is_object(), "{init}");
    let instructions = init["instructions"].as_str().expect("instructions");
    assert!(
        instructions.contains("Times are read in UTC"),
        "{instructions}"
    );
    assert!(
        instructions.contains("never runs anything"),
        "{instructions}"
    );

    let listed = server.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().expect("tools");
    let mut names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, TOOLS);
    for tool in tools {
        let name = &tool["name"];
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert!(tool["inputSchema"]["properties"].is_object(), "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        let description = tool["description"].as_str().unwrap_or("");
        assert!(description.len() > 100, "{name}: {description:?}");
    }
    let tool = |name: &str| {
        tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(
        tool("schedule_task")["inputSchema"]["required"],
        json!(["when"])
    );
    assert_eq!(tool("show_task")["inputSchema"]["required"], json!(["id"]));
    assert_eq!(
        tool("cancel_task")["inputSchema"]["required"],
        json!(["id"])
    );
    assert_eq!(
        tool("normalize_time")["inputSchema"]["required"],
        json!(["when"])
    );
    let schedule = tool("schedule_task");
    // The time grammar travels with the tool, examples included.
    let description = schedule["description"].as_str().unwrap_or("");
    for example in [
        "next monday 9am",
        "in 2 days at 9am",
        "2026-04-08T17:05:00Z",
    ] {
        assert!(description.contains(example), "{example}");
    }
    assert_eq!(
        schedule["inputSchema"]["properties"]["intent"]["enum"],
        json!(["resume_task", "notify", "execute_action"])
    );
    assert_eq!(tool("list_tasks")["annotations"]["readOnlyHint"], true);

    let done = server.finish();
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(
        done.stdout.len(),
        2,
        "one line per response: {:?}",
        done.stdout
    );
    assert!(
        done.stderr.contains("defer mcp: serving on stdio"),
        "{}",
        done.stderr
    );
}

#[test]
fn normalize_time_gives_the_instant_the_zone_and_a_sentence() {
    let mut env = Env::new();
    env.set("DEFER_TIMEZONE", "America/New_York");
    let mut server = Server::ready(&env);
    let t = server.ok("normalize_time", json!({"when": "tomorrow 9am"}));
    assert_eq!(t["instant"], "2026-04-09T13:00:00Z");
    assert_eq!(t["epoch"], 1_775_739_600);
    assert_eq!(t["timezone"], "America/New_York");
    assert_eq!(t["local"], "2026-04-09T09:00:00-04:00");
    assert_eq!(t["description"], "Thu 2026-04-09 09:00 EDT, in 20h 25m");
    assert_eq!(t["in_past"], false);
    assert_eq!(t["now"], "2026-04-08T16:35:00Z");

    let past = server.ok("normalize_time", json!({"when": "today 9am"}));
    assert_eq!(past["in_past"], true);
    assert!(
        env.store_bytes().is_empty(),
        "normalize_time stores nothing"
    );
    assert!(server.finish().status.success());
}

#[test]
fn schedule_list_show_cancel_round_trip() {
    let env = Env::new();
    let mut server = Server::ready(&env);

    // A dry run says how the time was read and stores nothing.
    let preview = server.ok(
        "schedule_task",
        json!({"when": "30m", "summary": "Preview", "dry_run": true}),
    );
    assert_eq!(preview["stored"], false);
    assert_eq!(preview["run_at"], "2026-04-08T17:05:00Z");
    assert_eq!(preview["description"], "Wed 2026-04-08 17:05 UTC, in 30m");
    assert!(env.store_bytes().is_empty(), "a dry run stores nothing");
    assert!(env.log().is_empty(), "a dry run logs nothing");

    let s = server.ok(
        "schedule_task",
        json!({
            "when": "next friday 3pm",
            "summary": "Resume the architecture review",
            "intent": "notify",
            "mode": "callback",
            "aura_level": "high",
            "prompt_template": "Continue the review.",
            "max_retries": 2,
            "key_points": ["narrowed to scheduler semantics"],
            "artifacts": ["/notes/review.md"],
            "constraints": ["no chat memory"],
            "id": "review_1"
        }),
    );
    assert_eq!(s["stored"], true);
    assert_eq!(s["id"], "review_1");
    assert_eq!(s["run_at"], "2026-04-10T15:00:00Z");
    assert_eq!(s["timezone"], "UTC");
    assert_eq!(s["in_past"], false);
    let stored = env.records();
    assert_eq!(stored.len(), 1);
    assert_eq!(s["task"], stored[0], "the reply carries the stored record");
    let t = &stored[0];
    assert_eq!(t["intent"], "notify");
    assert_eq!(t["execution"]["mode"], "callback");
    assert_eq!(t["execution"]["aura_level"], "high");
    assert_eq!(t["execution"]["prompt_template"], "Continue the review.");
    assert_eq!(t["max_retries"], 2);
    assert_eq!(
        t["context"]["key_points"],
        json!(["narrowed to scheduler semantics"])
    );
    assert_eq!(t["context"]["artifacts"], json!(["/notes/review.md"]));
    assert_eq!(t["context"]["constraints"], json!(["no chat memory"]));
    assert_eq!(t["when"], "next friday 3pm");
    assert!(env.log().contains("scheduled id=review_1"), "{}", env.log());

    // A time already past is accepted (the task is simply due) and said so.
    let result = server.call(
        "schedule_task",
        json!({"when": "today 9am", "summary": "Late", "id": "late_1"}),
    );
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["structuredContent"]["in_past"], true);
    assert!(texts(&result)[0].contains("in the past"), "{result}");

    let listed = server.ok("list_tasks", json!({}));
    assert_eq!(listed["count"], 2);
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["truncated"], false);
    assert_eq!(listed["statuses"], json!(["scheduled", "executing"]));
    let ids: Vec<&Value> = listed["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| &t["id"])
        .collect();
    // Due order: the one already due first.
    assert_eq!(ids, [&json!("late_1"), &json!("review_1")]);
    let limited = server.call("list_tasks", json!({"limit": 1}));
    assert_eq!(limited["structuredContent"]["count"], 1);
    assert_eq!(limited["structuredContent"]["truncated"], true);
    assert!(texts(&limited)[0].contains("showing 1 of 2"), "{limited}");

    let shown = server.ok("show_task", json!({"id": "review_1"}));
    assert_eq!(shown["task"], stored[0]);

    let cancelled = server.call(
        "cancel_task",
        json!({"id": "review_1", "reason": "done by hand"}),
    );
    assert_eq!(cancelled["isError"], false, "{cancelled}");
    let task = &cancelled["structuredContent"]["task"];
    assert_eq!(task["status"], "cancelled");
    assert_eq!(task["cancel_reason"], "done by hand");
    assert_eq!(task["cancelled_at"], "2026-04-08T16:35:00Z");
    assert!(
        texts(&cancelled)[0].starts_with("Cancelled review_1 (it was due Fri 2026-04-10 15:00 UTC"),
        "{cancelled}"
    );
    let stored = env.find("review_1").expect("still stored");
    assert_eq!(stored["status"], "cancelled");

    let pending = server.ok("list_tasks", json!({"status": "scheduled"}));
    assert_eq!(pending["count"], 1);
    let gone = server.ok("list_tasks", json!({"status": ["cancelled"]}));
    assert_eq!(gone["count"], 1);
    assert_eq!(gone["include_archive"], true);
    let every = server.ok("list_tasks", json!({"all": true}));
    assert_eq!(every["count"], 2);
    assert_eq!(every["statuses"], json!([]));
    assert!(server.finish().status.success());
}

#[test]
fn bad_input_is_a_tool_error_and_the_server_keeps_answering() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    server.ok(
        "schedule_task",
        json!({"when": "1h", "summary": "Keep", "id": "keep_1"}),
    );
    server.ok("cancel_task", json!({"id": "keep_1"}));
    let before = env.store_bytes();

    let cases: &[(&str, Value, &[&str])] = &[
        // Time expressions: what was wrong and a valid example.
        (
            "schedule_task",
            json!({"when": "blah", "summary": "x"}),
            &[
                "unsupported time expression \"blah\"",
                "\"30m\"",
                "normalize_time",
            ],
        ),
        (
            "schedule_task",
            json!({"when": "5 minutes ago", "summary": "x"}),
            &["\"ago\""],
        ),
        ("normalize_time", json!({"when": "13pm"}), &["13pm"]),
        (
            "schedule_task",
            json!({"when": "3pm EST", "summary": "x"}),
            &[
                "time zone \"EST\"",
                "DEFER_TIMEZONE",
                "2026-04-08T17:05:00-05:00",
            ],
        ),
        (
            "schedule_task",
            json!({"when": ""}),
            &["when: empty time expression"],
        ),
        (
            "schedule_task",
            json!({"when": "", "summary": "x"}),
            &["empty time expression", "\"30m\""],
        ),
        // A missing summary, in argument terms (not --summary).
        (
            "schedule_task",
            json!({"when": "30m"}),
            &["summary is required", "e.g. \"Resume", "reorient"],
        ),
        (
            "schedule_task",
            json!({"when": "30m", "summary": "   "}),
            &["summary is required"],
        ),
        // Unknown ids, invalid ids, wrong status.
        (
            "show_task",
            json!({"id": "task_nope"}),
            &["Task not found: task_nope", "list_tasks"],
        ),
        (
            "cancel_task",
            json!({"id": "task_nope"}),
            &["Task not found: task_nope"],
        ),
        (
            "cancel_task",
            json!({"id": "keep_1"}),
            &[
                "keep_1 is cancelled, not scheduled",
                "\"status\": [\"scheduled\"]",
            ],
        ),
        (
            "show_task",
            json!({"id": "../etc/passwd"}),
            &["invalid task id", "e.g. \"review_followup\""],
        ),
        (
            "cancel_task",
            json!({"id": ".hidden"}),
            &["invalid task id"],
        ),
        (
            "schedule_task",
            json!({"when": "1h", "summary": "x", "id": "a/b"}),
            &["invalid task id"],
        ),
        // Closed sets name the accepted values.
        (
            "schedule_task",
            json!({"when": "1h", "summary": "x", "intent": "later"}),
            &["intent: unknown intent \"later\": use one of resume_task, notify, execute_action"],
        ),
        (
            "schedule_task",
            json!({"when": "1h", "summary": "x", "mode": "x"}),
            &["fresh, callback"],
        ),
        (
            "list_tasks",
            json!({"status": ["done"]}),
            &["unknown status \"done\"", "completed"],
        ),
        (
            "list_tasks",
            json!({"status": "scheduled", "all": true}),
            &["use status or all, not both"],
        ),
        (
            "list_tasks",
            json!({"status": 3}),
            &["status: must be a name or a list of names"],
        ),
        // Arguments that do not fit the schema: the field is named and a valid call shown.
        (
            "schedule_task",
            json!({"summary": "x"}),
            &["missing field `when`", "A valid call looks like"],
        ),
        (
            "schedule_task",
            json!({"when": 30, "summary": "x"}),
            &["when: must be a string, not the number 30"],
        ),
        (
            "schedule_task",
            json!({"when": "1h", "summary": "x", "max_retries": "two"}),
            &["max_retries: must be a whole number from 0 to 4294967295, not the string \"two\""],
        ),
        (
            "schedule_task",
            json!({"when": "1h", "summary": "x", "key_points": "one"}),
            &["key_points: must be a list, not the string \"one\""],
        ),
        (
            "schedule_task",
            json!({"time": "1h", "summary": "x"}),
            &["unknown field `time`", "`when`"],
        ),
        ("show_task", json!({}), &["missing field `id`", "{\"id\": "]),
        // Reorientation errors speak of arguments, not flags.
        (
            "schedule_task",
            json!({"when": "1h", "context_file": "/nonexistent/CONTEXT.md"}),
            &["context_file \"/nonexistent/CONTEXT.md\": no such file"],
        ),
    ];
    for (tool, arguments, needles) in cases {
        server.err(tool, arguments.clone(), needles);
        // The server still answers the next request.
        let pong = server.request("ping", Value::Null);
        assert_eq!(pong["result"], json!({}), "after {tool} {arguments}");
    }
    // An explicit id already in the store is refused, in argument terms.
    server.ok(
        "schedule_task",
        json!({"when": "1h", "summary": "x", "id": "dup_1"}),
    );
    server.err(
        "schedule_task",
        json!({"when": "1h", "summary": "y", "id": "dup_1"}),
        &[
            "task id \"dup_1\" is already in the store",
            "choose another id",
        ],
    );
    let after: Vec<Value> = env
        .records()
        .into_iter()
        .filter(|r| r["id"] != "dup_1")
        .collect();
    let before: Vec<Value> = String::from_utf8_lossy(&before)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(after, before, "no failed call changed the store");

    // Neither a line that is not JSON nor an unknown tool brings the server down; an unknown
    // tool is a protocol error (the tool list is fixed), not a tool result.
    server.send_line("this is not JSON-RPC");
    let unknown = server.request("tools/call", json!({"name": "run_task", "arguments": {}}));
    assert!(unknown["error"]["code"].is_number(), "{unknown}");
    server.ok("normalize_time", json!({"when": "now"}));

    let done = server.finish();
    assert!(done.status.success(), "{}", done.stderr);
    // Failures are logged on stderr, where hosts keep a server's log.
    assert!(
        done.stderr
            .contains("defer mcp: schedule_task: when: unsupported time expression"),
        "{}",
        done.stderr
    );
}

#[test]
fn calls_sent_without_waiting_run_in_the_order_they_arrive() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    let call = |name: &str, arguments: Value| json!({"name": name, "arguments": arguments});
    let ids = [
        server.send(
            "tools/call",
            call(
                "schedule_task",
                json!({"when": "1h", "summary": "a", "id": "p_1"}),
            ),
        ),
        server.send("tools/call", call("list_tasks", json!({}))),
        server.send("tools/call", call("cancel_task", json!({"id": "p_1"}))),
        server.send("tools/call", call("list_tasks", json!({}))),
        server.send("tools/call", call("show_task", json!({"id": "p_1"}))),
    ];
    let results: Vec<Value> = ids
        .iter()
        .map(|&id| server.response(id)["result"].clone())
        .collect();
    for result in &results {
        assert_eq!(result["isError"], false, "{result}");
    }
    assert_eq!(
        results[1]["structuredContent"]["count"], 1,
        "listed after the schedule"
    );
    assert_eq!(
        results[3]["structuredContent"]["count"], 0,
        "listed after the cancel"
    );
    assert_eq!(
        results[4]["structuredContent"]["task"]["status"],
        "cancelled"
    );
    assert!(server.finish().status.success());
}

#[test]
fn reorient_builds_the_snapshot_from_a_context_file() {
    let env = Env::new();
    let context = env.dir.path().join("CONTEXT.md");
    std::fs::write(
        &context,
        "# Orientation\n- Finish the MCP server\n\n# Current State\n- tools listed\n\n\
         # Key Constraints\n- stdout is protocol only\n",
    )
    .expect("write CONTEXT.md");
    let mut server = Server::ready(&env);
    let s = server.ok(
        "schedule_task",
        json!({"when": "2h", "context_file": context.display().to_string(), "key_points": ["added"]}),
    );
    let task = &s["task"];
    assert_eq!(task["context"]["summary"], "Finish the MCP server");
    assert_eq!(
        task["context"]["key_points"],
        json!(["tools listed", "added"])
    );
    assert_eq!(
        task["context"]["constraints"],
        json!(["stdout is protocol only"])
    );
    assert_eq!(
        task["context"]["reoriented_from"],
        context.display().to_string()
    );
    assert_eq!(
        task["reorient_requested"], true,
        "context_file implies reorient"
    );
    assert!(server.finish().status.success());
}

#[test]
fn a_task_scheduled_through_mcp_is_run_by_defer_run() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    let s = server.ok(
        "schedule_task",
        json!({"when": "now", "summary": "Run me", "key_points": ["from MCP"], "id": "mcp_now"}),
    );
    assert_eq!(s["run_at"], "2026-04-08T16:35:00Z");
    assert_eq!(s["in_past"], false);
    let done = server.finish();
    assert!(done.status.success());
    assert!(
        !env.log_dir().join("mcp_now.prompt.txt").exists(),
        "the server never runs a task"
    );

    env.ok(&["run"]);
    assert!(
        env.records().iter().all(|r| r["id"] != "mcp_now"),
        "archived"
    );
    let archived = env.archived();
    let task = archived
        .iter()
        .find(|r| r["id"] == "mcp_now")
        .expect("in the archive");
    assert_eq!(task["status"], "completed");
    assert_eq!(task["result"]["type"], "prompt_prepared");
    let prompt = std::fs::read_to_string(env.log_dir().join("mcp_now.prompt.txt")).expect("prompt");
    assert!(prompt.contains("Run me"), "{prompt}");
    assert!(prompt.contains("- from MCP"), "{prompt}");
}

#[test]
fn recurring_tasks_and_the_missed_run_policy_are_available_over_mcp() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    let s = server.ok(
        "schedule_task",
        json!({"when": "now", "summary": "Stand-up notes", "cron": "0 9 * * 1-5", "count": 3,
               "if_late": "skip", "late_after": "1h", "id": "standup"}),
    );
    assert_eq!(s["task"]["series"]["rule"], "cron 0 9 * * 1-5");
    assert_eq!(s["task"]["series"]["count"], 3);
    assert_eq!(s["task"]["if_late"], "skip");
    assert!(
        s["description"]
            .as_str()
            .expect("s")
            .contains("then cron 0 9 * * 1-5"),
        "{s}"
    );
    // A repeating phrase in `when` is the series rule, as on the CLI.
    let s = server.ok(
        "schedule_task",
        json!({"when": "every weekday at 9am", "summary": "Stand-up", "dry_run": true}),
    );
    assert_eq!(s["task"]["series"]["rule"], "cron 0 9 * * 1-5");
    assert_eq!(s["run_at"], "2026-04-09T09:00:00Z");
    let message = server.err(
        "schedule_task",
        json!({"when": "now", "summary": "x", "every": "0s"}),
        &["every"],
    );
    assert!(
        !message.contains("--every"),
        "argument names, not flags: {message}"
    );
    server.err(
        "schedule_task",
        json!({"when": "now", "summary": "x", "if_late": "maybe"}),
        &["maybe"],
    );
    assert!(server.finish().status.success());
}

/// The official Python MCP SDK (`mcp` on PyPI) drives `defer mcp` through
/// `tests/interop/mcp_client.py`. `.ci/run` installs it in a throwaway virtualenv and sets
/// `DEFER_MCP_PYTHON`; without that variable the test says why it is skipped and passes.
#[test]
fn the_official_python_sdk_drives_the_server() {
    let Some(python) = std::env::var_os("DEFER_MCP_PYTHON").filter(|v| !v.is_empty()) else {
        eprintln!(
            "skipping the MCP interop test: DEFER_MCP_PYTHON is not set (point it at a Python \
             with the `mcp` package installed, as .ci/run does)"
        );
        return;
    };
    let env = Env::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/mcp_client.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg(defer_bin())
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in &env.vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the Python MCP client");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the Python MCP client did not finish within 120s");
        }
        thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python MCP client failed ({:?})\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    // What the client did is in the store: the cancelled task, archived or not.
    let task = env.find("interop_1").expect("the client's task");
    assert_eq!(task["status"], "cancelled");
}

/// Raw JSON-RPC that rmcp alone answers wrongly, each answered as JSON-RPC 2.0 and MCP say,
/// and the server still serving after each.
#[test]
fn raw_json_rpc_is_answered_by_the_book() {
    let env = Env::new();
    let mut server = Server::start(&env);
    // Before the handshake a batch is refused: no revision with batches was negotiated.
    server.send_line(r#"[{"jsonrpc":"2.0","id":90,"method":"ping"}]"#);
    let refused = server.next_message();
    assert_eq!(refused["id"], Value::Null, "{refused}");
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    let init = server.initialize_as("2025-03-26");
    assert_eq!(init["protocolVersion"], "2025-03-26", "{init}");

    let cases: &[(&str, Value, i64)] = &[
        ("this is not JSON", Value::Null, -32700),
        (r#"{"jsonrpc":"2.0","id":1,"method":"#, Value::Null, -32700),
        (r#"{"foo":1}"#, Value::Null, -32600),
        (
            r#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#,
            Value::Null,
            -32600,
        ),
        (
            r#"{"jsonrpc":"1.0","id":41,"method":"ping"}"#,
            json!(41),
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":42,"method":"tools/call"}"#,
            json!(42),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":43,"method":"tools/call","params":{"name":"list_tasks","arguments":[1]}}"#,
            json!(43),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":44,"method":"tools/call","params":{"name":"list_tasks","arguments":"x"}}"#,
            json!(44),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":45,"method":"tools/call","params":{"arguments":{}}}"#,
            json!(45),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":46,"method":"tools/call","params":7}"#,
            json!(46),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":47,"method":"resources/read","params":{}}"#,
            json!(47),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":48,"method":"no/such/method"}"#,
            json!(48),
            -32601,
        ),
        (
            r#"{"jsonrpc":"2.0","id":49,"method":"resources/read","params":{"uri":"defer://tasks/nope"}}"#,
            json!(49),
            -32002,
        ),
    ];
    for (line, id, code) in cases {
        server.send_line(line);
        let answer = server.next_message();
        assert_eq!(answer["jsonrpc"], "2.0", "{line}: {answer}");
        let object = answer.as_object().expect("an object");
        assert!(
            object.contains_key("id"),
            "{line}: an error has an id member: {answer}"
        );
        assert_eq!(&answer["id"], id, "{line}: {answer}");
        assert_eq!(answer["error"]["code"], *code, "{line}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
        let pong = server.request("ping", Value::Null);
        assert_eq!(pong["result"], json!({}), "still serving after {line}");
    }

    // A batch, in the revision that has them: one array of answers, the original ids, the
    // refused item answered in it, nothing for the notification.
    server.send_line(
        r#"[{"jsonrpc":"2.0","id":"a","method":"ping"},
            {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}},
            {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"normalize_time","arguments":{"when":"1h"}}},
            {"jsonrpc":"2.0","id":8,"method":"tools/call"}]"#
            .replace('\n', "")
            .as_str(),
    );
    let batch = server.next_message();
    let answers = batch
        .as_array()
        .unwrap_or_else(|| panic!("an array: {batch}"));
    assert_eq!(answers.len(), 3, "{batch}");
    let by_id = |id: Value| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer for {id}: {batch}"))
    };
    assert_eq!(by_id(json!("a"))["result"], json!({}));
    assert_eq!(
        by_id(json!(7))["result"]["structuredContent"]["instant"],
        "2026-04-08T17:35:00Z"
    );
    assert_eq!(by_id(json!(8))["error"]["code"], -32602);
    // A message over the 16 MiB limit is skipped whole and answered with its id (the
    // `oversized` filter finds it); the next one is read.
    server.send_line(&format!(
        r#"{{"jsonrpc":"2.0","id":50,"x":"{}"}}"#,
        "x".repeat(17 << 20)
    ));
    let too_long = server.next_message();
    assert_eq!(too_long["id"], 50, "{too_long}");
    assert_eq!(too_long["error"]["code"], -32600, "{too_long}");
    assert_eq!(server.request("ping", Value::Null)["result"], json!({}));
    // A batch of things that are not messages: an array of errors (JSON-RPC 2.0, section 6).
    server.send_line("[1, 2]");
    let errors = server.next_message();
    assert_eq!(errors[0]["id"], Value::Null, "{errors}");
    assert_eq!(errors[1]["error"]["code"], -32600, "{errors}");
    // A batch of notifications only is not answered; the next request is.
    server.send_line(r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#);
    assert_eq!(server.request("ping", Value::Null)["result"], json!({}));
    let done = server.finish();
    assert!(done.status.success(), "{}", done.stderr);
}

/// In a revision without batches (2025-06-18 and later), a batch is refused with the reason.
#[test]
fn a_batch_is_refused_in_revisions_without_batches() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    server.send_line(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#);
    let refused = server.next_message();
    assert_eq!(refused["id"], Value::Null, "{refused}");
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("2025-03-26"), "{message}");
    assert!(message.contains("2025-11-25"), "{message}");
    assert!(server.finish().status.success());
}

/// What a form-based client (the MCP Inspector) sends: every optional argument as the plain
/// JSON type its schema names, and null for fields left empty.
#[test]
fn every_optional_argument_as_its_plain_json_type() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    let listed = server.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().expect("tools").clone();
    let plain = |tool: &str, key: &str| -> String {
        let schema = &tools.iter().find(|t| t["name"] == tool).expect("tool")["inputSchema"]["properties"]
            [key];
        schema["type"]
            .as_str()
            .unwrap_or_else(|| panic!("{tool}.{key} has one plain type: {schema}"))
            .to_string()
    };
    let all = json!({
        "when": "tomorrow 9am", "summary": "Every option", "intent": "notify",
        "mode": "callback", "prompt_template": "Do it", "aura_level": "high",
        "max_retries": 2, "key_points": ["k"], "artifacts": ["/a"], "constraints": ["c"],
        "id": "form_1", "reorient": false, "every": "1d", "until": "2026-04-20 23:59",
        "count": 3, "if_late": "skip", "late_after": "1h", "dry_run": false
    });
    for (key, value) in all.as_object().expect("object") {
        let wanted = plain("schedule_task", key);
        let fits = match wanted.as_str() {
            "string" => value.is_string(),
            "integer" => value.is_u64(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            other => panic!("{key}: unexpected type {other}"),
        };
        assert!(fits, "{key}: {value} is not a {wanted}");
    }
    let s = server.ok("schedule_task", all);
    let task = &s["task"];
    assert_eq!(task["intent"], "notify");
    assert_eq!(task["execution"]["mode"], "callback");
    assert_eq!(task["execution"]["aura_level"], "high");
    assert_eq!(task["max_retries"], 2);
    assert_eq!(task["series"]["count"], 3);
    assert_eq!(task["if_late"], "skip");
    assert_eq!(task["late_after"], "1h");
    assert_eq!(s["stored"], true);
    // Empty form fields sent as null mean "left out", for every optional argument alike.
    let mut nulls = serde_json::Map::new();
    for key in [
        "summary",
        "intent",
        "mode",
        "prompt_template",
        "aura_level",
        "max_retries",
        "key_points",
        "artifacts",
        "constraints",
        "id",
        "reorient",
        "project",
        "context_file",
        "every",
        "cron",
        "until",
        "count",
        "if_late",
        "late_after",
        "dry_run",
    ] {
        nulls.insert(key.into(), Value::Null);
    }
    nulls.insert("when".into(), json!("1h"));
    nulls.insert("summary".into(), json!("Nulls"));
    let s = server.ok("schedule_task", Value::Object(nulls));
    assert_eq!(s["task"]["intent"], "resume_task");
    assert_eq!(s["task"]["max_retries"], 0);
    let l = server.ok(
        "list_tasks",
        json!({"status": ["scheduled"], "all": false, "limit": 1}),
    );
    assert_eq!(
        (l["count"].clone(), l["total"].clone()),
        (json!(1), json!(2))
    );
    let l = server.ok(
        "list_tasks",
        json!({"status": null, "all": null, "limit": null}),
    );
    assert_eq!(l["count"], 2);
    server.ok(
        "reschedule_task",
        json!({"id": "form_1", "when": "2h", "series": false}),
    );
    // Strings where the schema says a number or a boolean are refused with the field named
    // (a client that did not convert gets told, not guessed at).
    server.err(
        "schedule_task",
        json!({"when": "1h", "summary": "x", "dry_run": "true"}),
        &["dry_run: must be true or false, not the string \"true\""],
    );
    server.err(
        "list_tasks",
        json!({"limit": "1"}),
        &["limit: must be a whole number from 0 to 4294967295, not the string \"1\""],
    );
    assert!(server.finish().status.success());
}

/// The errors a model meets most, each naming the argument to fix.
#[test]
fn argument_errors_name_the_argument_and_stay_short() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    server.err(
        "schedule_task",
        json!({"when": "1h", "summary": "x", "max_retries": -1}),
        &["max_retries: must be a whole number from 0 to 4294967295, not the number -1"],
    );
    server.err(
        "schedule_task",
        json!({"when": "tomorrow 9am", "summary": "x", "every": "1d", "until": "blah"}),
        &["until: unsupported time expression \"blah\""],
    );
    let zero = server.err(
        "schedule_task",
        json!({"when": "1h", "summary": "x", "if_late": "skip", "late_after": "0s"}),
        &["late_after", "more than zero"],
    );
    assert!(!zero.contains("repeat"), "{zero}");
    server.err(
        "schedule_task",
        json!({"when": "1h", "summary": "x", "every": "1d", "count": 0}),
        &["count \"0\": a series needs at least one occurrence"],
    );
    server.err(
        "schedule_task",
        json!({"when": "1h", "summary": "x", "if_late": "maybe"}),
        &["if_late: unknown missed-run policy \"maybe\": use one of run, skip"],
    );
    let huge = "x".repeat(1 << 20);
    let message = server.err(
        "schedule_task",
        json!({"when": huge, "summary": "x"}),
        &["when: time expression \"xxxx", "is 1048576 characters long"],
    );
    assert!(message.len() < 1000, "{} bytes", message.len());
    let message = server.err(
        "schedule_task",
        json!({"when": "1h", "intent": huge, "summary": "x"}),
        &["intent \"xxxx"],
    );
    assert!(message.len() < 1000, "{} bytes", message.len());
    let message = server.err(
        "schedule_task",
        json!({"when": "1h", "summary": "x".repeat(1_100_000)}),
        &["over the 1024 KiB limit", "pass it with artifacts"],
    );
    assert!(!message.contains("--artifact"), "{message}");
    let done = server.finish();
    let longest = done.stderr.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 3000, "a {longest}-byte log line");
}

/// reschedule_task, retry_task and task_output over MCP, on tasks the CLI and the runner made.
#[test]
fn reschedule_retry_and_output_call_the_library_operations() {
    let mut env = Env::new();
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "Fails",
        "--id",
        "f_1",
    ]);
    env.set("DEFER_EXECUTOR", "/bin/false");
    env.ok(&["run"]);
    let mut server = Server::ready(&env);
    server.ok(
        "schedule_task",
        json!({"when": "1h", "summary": "Later", "id": "r_1"}),
    );
    let moved = server.ok(
        "reschedule_task",
        json!({"id": "r_1", "when": "tomorrow 9am"}),
    );
    assert_eq!(moved["run_at"], "2026-04-09T09:00:00Z");
    assert_eq!(moved["task"]["run_at"], "2026-04-09T09:00:00Z");
    assert_eq!(moved["timezone"], "UTC");
    assert_eq!(moved["now_local"], "2026-04-08T16:35:00+00:00");
    server.err(
        "reschedule_task",
        json!({"id": "r_1", "when": "blah"}),
        &["when: unsupported time expression \"blah\""],
    );
    server.err(
        "reschedule_task",
        json!({"id": "f_1", "when": "1h"}),
        &["failed"],
    );

    let out = server.ok("task_output", json!({"id": "f_1"}));
    assert_eq!(out["status"], "failed");
    assert!(
        out["prompt"].as_str().unwrap_or("").contains("Fails"),
        "{out}"
    );
    assert!(!out["audit"].as_array().expect("audit").is_empty(), "{out}");
    let again = server.ok("retry_task", json!({"id": "f_1", "when": "10m"}));
    assert_eq!(again["task"]["status"], "scheduled");
    assert_eq!(again["run_at"], "2026-04-08T16:45:00Z");
    server.err(
        "retry_task",
        json!({"id": "r_1"}),
        &[
            "r_1 is scheduled",
            "list_tasks with {\"status\": [\"failed\", \"cancelled\"]} shows the tasks that can be retried",
        ],
    );
    server.err(
        "task_output",
        json!({"id": "nope"}),
        &["Task not found: nope"],
    );
    assert!(server.finish().status.success());
}

/// The pending list and each task as MCP resources.
#[test]
fn tasks_are_resources() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    server.ok(
        "schedule_task",
        json!({"when": "1h", "summary": "Res", "id": "res_1"}),
    );
    let listed = server.request("resources/list", json!({}));
    let uris: Vec<&str> = listed["result"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert_eq!(uris, ["defer://tasks", "defer://tasks/res_1"]);
    let templates = server.request("resources/templates/list", json!({}));
    assert_eq!(
        templates["result"]["resourceTemplates"][0]["uriTemplate"],
        "defer://tasks/{id}"
    );
    let read = server.request("resources/read", json!({"uri": "defer://tasks"}));
    let contents = &read["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "application/json");
    let tasks: Value =
        serde_json::from_str(contents["text"].as_str().expect("text")).expect("json");
    assert_eq!(tasks[0]["id"], "res_1");
    server.ok("cancel_task", json!({"id": "res_1"}));
    let one = server.request("resources/read", json!({"uri": "defer://tasks/res_1"}));
    let task: Value =
        serde_json::from_str(one["result"]["contents"][0]["text"].as_str().expect("text"))
            .expect("json");
    assert_eq!(task["status"], "cancelled");
    let missing = server.request("resources/read", json!({"uri": "defer://elsewhere"}));
    assert_eq!(missing["error"]["code"], -32002, "{missing}");
    assert!(server.finish().status.success());
}

/// The official TypeScript SDK (`@modelcontextprotocol/sdk` on npm) drives `defer mcp`
/// through `tests/interop/mcp_client.mjs`, and Ajv in strict mode compiles every schema.
/// `.ci/run` installs both in a throwaway folder and sets `DEFER_MCP_NODE_DIR`; without it
/// the test says why it is skipped and passes.
#[test]
fn the_official_typescript_sdk_drives_the_server() {
    let Some(dir) = std::env::var_os("DEFER_MCP_NODE_DIR").filter(|v| !v.is_empty()) else {
        eprintln!(
            "skipping the TypeScript MCP interop test: DEFER_MCP_NODE_DIR is not set (point it \
             at a folder whose node_modules has @modelcontextprotocol/sdk and ajv, as .ci/run \
             does)"
        );
        return;
    };
    let env = Env::new();
    // ES modules resolve packages from their own folder, so the script runs from a copy in
    // a folder beside that node_modules.
    let script_dir = tempfile::Builder::new()
        .prefix("defer-mcp-interop-")
        .tempdir_in(&dir)
        .expect("a folder for the script");
    let script = script_dir.path().join("mcp_client.mjs");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/mcp_client.mjs"),
        &script,
    )
    .expect("copy the script");
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .arg(defer_bin())
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in &env.vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn node");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the TypeScript MCP client did not finish within 120s");
        }
        thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the TypeScript MCP client failed ({:?})\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    let task = env.find("interop_ts").expect("the client's task");
    assert_eq!(task["status"], "cancelled");
}

/// A request over the 16 MiB line limit gets an error answer with its id (rmcp alone drops it
/// without a word, and the client waits forever); the server then keeps answering.
#[test]
fn a_request_over_the_line_limit_is_answered_and_the_server_keeps_serving() {
    let env = Env::new();
    let mut server = Server::ready(&env);
    let big = "x".repeat(17 * 1024 * 1024);
    let line = json!({
        "jsonrpc": "2.0",
        "id": 4242,
        "method": "tools/call",
        "params": {"name": "schedule_task", "arguments": {"when": "1h", "summary": big}}
    })
    .to_string();
    server.send_line(&line);
    let answer = server.response(4242);
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("over the 16 MiB limit")
            && message.contains(&(line.len() + 1).to_string()),
        "{answer}"
    );
    server.ok("normalize_time", json!({"when": "1h"}));
    let finished = server.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
    assert!(env.records().is_empty());
}
