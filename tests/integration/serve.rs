//! `defer serve` over real HTTP on loopback: the real binary on a free port, a small HTTP/1.1
//! client on a `TcpStream` (every request bounded by a timeout), every route and every
//! refusal, on both stores.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::on_both_stores;
use crate::util::{Env, signal_child, signal_pid};

/// A running `defer serve`, stopped with SIGTERM when dropped.
pub struct Server {
    child: Child,
    /// Kept open: the server's later lines must not meet a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
    pub addr: String,
    pub token: String,
}

impl Server {
    pub fn start(env: &Env, extra: &[&str]) -> Server {
        Server::start_with(env, extra, |_| {})
    }

    /// [`Server::start`], with a last word on the command (a resource limit).
    pub fn start_with(
        env: &Env,
        extra: &[&str],
        configure: impl FnOnce(&mut std::process::Command),
    ) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut cmd = env.cmd(&args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        configure(&mut cmd);
        let mut child = cmd.spawn().expect("spawn defer serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        let mut stdout = BufReader::new(stdout);
        stdout.read_line(&mut first).expect("read the first line");
        let addr = first
            .trim()
            .strip_prefix("defer serve: listening on http://")
            .unwrap_or_else(|| {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("unexpected first line {first:?}; stderr: {err}")
            })
            .to_string();
        let token = std::fs::read_to_string(env.runtime().join("serve.token"))
            .expect("token file")
            .trim()
            .to_string();
        Server {
            child,
            _stdout: stdout,
            addr,
            token,
        }
    }

    pub fn port(&self) -> &str {
        self.addr.rsplit(':').next().unwrap_or("")
    }

    /// A request with the bearer token.
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let auth = format!("Bearer {}", self.token);
        http(&self.addr, method, path, &[("Authorization", &auth)], body)
    }

    /// A request with the dashboard's session cookie (and this server's Origin on a POST).
    pub fn page(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let cookie = format!("defer_session={}", self.token);
        let origin = format!("http://{}", self.addr);
        let mut headers = vec![("Cookie", cookie.as_str())];
        if method == "POST" {
            headers.push(("Origin", &origin));
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        http(&self.addr, method, path, &headers, body)
    }

    /// SIGTERM, then the exit status (within 15 s).
    pub fn stop(mut self) -> (Option<i32>, String) {
        signal_pid(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return (status.code(), err);
            }
            assert!(
                Instant::now() < deadline,
                "defer serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// A problem+json refusal with `status` whose detail contains `needle`.
    #[track_caller]
    pub fn problem(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let detail = self.json()["detail"].as_str().unwrap_or("").to_string();
        assert!(detail.contains(needle), "{detail:?} lacks {needle:?}");
    }
}

/// One request on a new connection (`Connection: close`), bounded by a 20 s timeout.
/// `Host` defaults to `addr`; a header named here replaces it.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    http_bytes(addr, method, path, headers, body.map(str::as_bytes))
}

pub fn http_bytes(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Resp {
    http_within(addr, method, path, headers, body, Duration::from_secs(20))
}

/// [`http_bytes`] with its own read timeout (a browser loading a page on a busy machine).
pub fn http_within(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    timeout: Duration,
) -> Resp {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(timeout)).expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || method == "POST" {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    // A refusal may come before the whole body was read; that is fine.
    let _ = stream.write_all(body);
    parse(&read_response(&mut stream))
}

/// Reads one response: to the end of its `Content-Length`, of its last chunk, or of the
/// connection (some servers keep it open despite `Connection: close`).
fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let body = raw.len() - end - 4;
            if length.is_some_and(|n| body >= n)
                || (head.contains("transfer-encoding: chunked") && raw.ends_with(b"0\r\n\r\n"))
            {
                return raw;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return raw,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

fn parse(raw: &[u8]) -> Resp {
    // No answer (a closed connection, a timeout) is status 0, for the caller's assertion to
    // report.
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Resp {
            status: 0,
            headers: Vec::new(),
            body: format!("no complete answer: {:?}", String::from_utf8_lossy(raw)),
        };
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        let stop = (start + size).min(data.len());
        out.extend_from_slice(&data[start..stop]);
        data = &data[(stop + 2).min(data.len())..];
    }
    out
}

fn schedule(server: &Server, body: Value) -> Value {
    let r = server.api("POST", "/api/v1/tasks", Some(&body.to_string()));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

fn ids(page: &Value) -> Vec<String> {
    page["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect()
}

// ---- the API ------------------------------------------------------------------------------

fn api_routes_answer(env: Env) {
    let server = Server::start(&env, &[]);
    // schedule: 201, the record and how the time was read; a dry run is 200 and stores nothing.
    let out = schedule(
        &server,
        json!({"when": "tomorrow 9am", "summary": "review the scheduler", "id": "review_1"}),
    );
    assert_eq!(out["id"], "review_1");
    assert_eq!(out["run_at"], "2026-04-09T09:00:00Z");
    assert!(
        out["description"]
            .as_str()
            .expect("serve test")
            .contains("Thu 2026-04-09 09:00")
    );
    let dry = server.api(
        "POST",
        "/api/v1/tasks",
        Some(r#"{"when": "2h", "summary": "x", "dry_run": true}"#),
    );
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(dry.json()["stored"], false);

    // show
    let shown = server.api("GET", "/api/v1/tasks/review_1", None);
    assert_eq!(shown.status, 200);
    assert_eq!(
        shown.json()["task"]["context"]["summary"],
        "review the scheduler"
    );

    // list with a status filter, and pagination by cursor over five more tasks
    for i in 0..5 {
        schedule(
            &server,
            json!({"when": "1h", "summary": format!("page task {i}")}),
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/tasks?status=scheduled&limit=2".to_string();
    for _ in 0..5 {
        let page = server.api("GET", &path, None);
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        assert_eq!(page["total"], 6);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/tasks?status=scheduled&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    // Due order: tomorrow's task after the five due in an hour.
    assert_eq!(seen[5], "review_1", "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 6);
    let searched = server.api("GET", "/api/v1/tasks?q=SCHEDULER", None).json();
    assert_eq!(ids(&searched), ["review_1"]);
    let none = server
        .api("GET", "/api/v1/tasks?status=failed", None)
        .json();
    assert_eq!(none["total"], 0);

    // reschedule, then cancel; a second cancel is a 409; cancel of an unknown id a 404
    let moved = server.api(
        "POST",
        "/api/v1/tasks/review_1/reschedule",
        Some(r#"{"when": "2026-04-10 10:00"}"#),
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["task"]["run_at"], "2026-04-10T10:00:00Z");
    let cancelled = server.api(
        "POST",
        "/api/v1/tasks/review_1/cancel",
        Some(r#"{"reason": "done by hand"}"#),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["task"]["status"], "cancelled");
    server
        .api("POST", "/api/v1/tasks/review_1/cancel", None)
        .problem(409, "task review_1 is cancelled, not scheduled");
    server
        .api(
            "POST",
            "/api/v1/tasks/review_1/reschedule",
            Some(r#"{"when": "1h"}"#),
        )
        .problem(409, "is cancelled");
    server
        .api("POST", "/api/v1/tasks/review_1/retry", None)
        .problem(409, "not failed or missed");
    server
        .api("POST", "/api/v1/tasks/no_such_task/cancel", None)
        .problem(404, "Task not found: no_such_task");
    server
        .api("GET", "/api/v1/tasks/no_such_task", None)
        .problem(404, "Task not found: no_such_task");
    server
        .api("GET", "/api/v1/tasks/no_such_task/logs", None)
        .problem(404, "Task not found");

    // logs
    let logs = server.api("GET", "/api/v1/tasks/review_1/logs", None);
    assert_eq!(logs.status, 200, "{}", logs.body);
    let audit = logs.json()["audit"].to_string();
    assert!(audit.contains("cancelled"), "{audit}");

    // time normalize and health
    let time = server.api(
        "GET",
        "/api/v1/time/normalize?when=next%20friday%203pm",
        None,
    );
    assert_eq!(time.status, 200, "{}", time.body);
    assert_eq!(time.json()["instant"], "2026-04-10T15:00:00Z");
    let health = server.api("GET", "/api/v1/health", None);
    assert_eq!(health.status, 200);
    let checks: Vec<String> = health.json()["findings"]
        .as_array()
        .expect("serve test")
        .iter()
        .map(|f| f["check"].as_str().expect("serve test").to_string())
        .collect();
    assert!(checks.contains(&"store".to_string()), "{checks:?}");

    // bad input: 400 with the CLI's wording, by field name
    server
        .api(
            "POST",
            "/api/v1/tasks",
            Some(r#"{"when": "blah", "summary": "x"}"#),
        )
        .problem(400, "unsupported time expression \"blah\"");
    server
        .api(
            "POST",
            "/api/v1/tasks",
            Some(r#"{"when": "3pm EST", "summary": "x"}"#),
        )
        .problem(400, "DEFER_TIMEZONE");
    server
        .api(
            "POST",
            "/api/v1/tasks",
            Some(r#"{"when": "1h", "summary": "x", "colour": 1}"#),
        )
        .problem(400, "unknown field `colour`");
    server
        .api(
            "POST",
            "/api/v1/tasks",
            Some(r#"{"when": "1h", "summary": "x", "intent": "dance"}"#),
        )
        .problem(400, "dance");
    server
        .api("POST", "/api/v1/tasks", Some("{not json"))
        .problem(400, "not valid JSON");
    server
        .api(
            "POST",
            "/api/v1/tasks",
            Some(r#"{"when": "1h", "summary": "x", "id": "../etc"}"#),
        )
        .problem(400, "invalid task id");
    server
        .api("GET", "/api/v1/tasks/..bad/logs", None)
        .problem(400, "invalid task id");
    server
        .api("GET", "/api/v1/tasks?status=sleeping", None)
        .problem(400, "sleeping");
    server
        .api("GET", "/api/v1/tasks?cursor=garbage", None)
        .problem(400, "cursor");
    server
        .api("GET", "/api/v1/tasks?limit=0", None)
        .problem(400, "limit");
    server
        .api("GET", "/api/v1/time/normalize?when=yesterday", None)
        .problem(400, "yesterday");
    server.api(
        "POST",
        "/api/v1/tasks",
        Some(r#"{"when": "1h", "summary": "x", "id": "page_dup"}"#),
    );
    server
        .api(
            "POST",
            "/api/v1/tasks",
            Some(r#"{"when": "1h", "summary": "x", "id": "page_dup"}"#),
        )
        .problem(409, "already in the store");
    server
        .api("GET", "/api/v1/nothing", None)
        .problem(404, "no such route");
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("defer serve: stopped"), "{stderr}");
}
on_both_stores!(api_routes_answer);

/// A failed task is retried over the API.
fn retry_over_the_api(env: Env) {
    let executor = env.runtime().join("fail.sh");
    std::fs::create_dir_all(env.runtime()).expect("serve test");
    std::fs::write(&executor, "#!/bin/sh\necho broken >&2\nexit 3\n").expect("serve test");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&executor, std::fs::Permissions::from_mode(0o700))
        .expect("serve test");
    let mut env = env;
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "will fail",
        "--id",
        "fails_1",
    ]);
    env.ok(&["run"]);
    let server = Server::start(&env, &[]);
    let shown = server.api("GET", "/api/v1/tasks/fails_1", None).json();
    assert_eq!(shown["task"]["status"], "failed");
    let retried = server.api(
        "POST",
        "/api/v1/tasks/fails_1/retry",
        Some(r#"{"when": "10m"}"#),
    );
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.json()["task"]["status"], "scheduled");
    assert_eq!(retried.json()["task"]["run_at"], "2026-04-08T16:45:00Z");
    let logs = server.api("GET", "/api/v1/tasks/fails_1/logs", None).json();
    assert!(
        logs["attempts"][0]["stderr"]
            .as_str()
            .unwrap_or("")
            .contains("broken"),
        "{logs}"
    );
    assert_eq!(logs["attempts"][0]["outcome"], "failed", "{logs}");
}
on_both_stores!(retry_over_the_api);

// ---- refusals -----------------------------------------------------------------------------

fn every_refusal(env: Env) {
    let server = Server::start(&env, &[]);
    let addr = server.addr.clone();
    // No token, a wrong token: 401 with WWW-Authenticate, on the API and on /mcp.
    for path in [
        "/api/v1/tasks",
        "/api/v1/health",
        "/api/v1/openapi.json",
        "/mcp",
    ] {
        let r = http(&addr, "GET", path, &[], None);
        r.problem(401, "missing token");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        http(
            &addr,
            "GET",
            path,
            &[("Authorization", "Bearer nope")],
            None,
        )
        .problem(401, "wrong token");
    }
    http(
        &addr,
        "POST",
        "/api/v1/tasks",
        &[],
        Some(r#"{"when":"1h","summary":"x"}"#),
    )
    .problem(401, "missing token");
    let bearer = format!("Bearer {}", server.token);
    // DNS rebinding: a foreign Host is refused even with the token.
    http(
        &addr,
        "GET",
        "/api/v1/tasks",
        &[
            ("Authorization", &bearer),
            ("Host", "attacker.example:8277"),
        ],
        None,
    )
    .problem(403, "not this server's address");
    let page = http(&addr, "GET", "/", &[("Host", "attacker.example")], None);
    assert_eq!(page.status, 403);
    // localhost with the bound port is this server.
    let local = format!("localhost:{}", server.port());
    let ok = http(
        &addr,
        "GET",
        "/api/v1/health",
        &[("Authorization", &bearer), ("Host", &local)],
        None,
    );
    assert_eq!(ok.status, 200);
    // A foreign Origin.
    http(
        &addr,
        "POST",
        "/api/v1/tasks",
        &[
            ("Authorization", &bearer),
            ("Origin", "http://evil.example"),
        ],
        Some(r#"{"when":"1h","summary":"x"}"#),
    )
    .problem(403, "Origin");
    // The dashboard: no cookie, a wrong cookie.
    for path in ["/", "/tasks", "/health", "/events", "/tasks/x"] {
        let r = http(&addr, "GET", path, &[], None);
        assert_eq!(r.status, 401, "{path}");
        assert!(r.body.contains("login link"), "{}", r.body);
        let r = http(
            &addr,
            "GET",
            path,
            &[("Cookie", "defer_session=wrong")],
            None,
        );
        assert_eq!(r.status, 401, "{path}");
    }
    // Login: a wrong token is refused; the right one sets the cookie and goes home.
    let r = http(&addr, "GET", "/login?token=wrong", &[], None);
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    let r = http(
        &addr,
        "GET",
        &format!("/login?token={}", server.token),
        &[],
        None,
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    let cookie = r.header("set-cookie").expect("cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Form posts: the CSRF token, the Origin, both required.
    schedule(
        &server,
        json!({"when": "1h", "summary": "keep me", "id": "keep_1"}),
    );
    let r = server.page("POST", "/tasks/keep_1/cancel", Some("reason=x"));
    assert_eq!(r.status, 403);
    assert!(r.body.contains("CSRF"), "{}", r.body);
    let r = server.page("POST", "/tasks/keep_1/cancel", Some("csrf=0123&reason=x"));
    assert_eq!(r.status, 403);
    let cookie = format!("defer_session={}", server.token);
    let r = http(
        &addr,
        "POST",
        "/tasks/keep_1/cancel",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some("csrf=x"),
    );
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Origin"), "{}", r.body);
    let r = http(
        &addr,
        "POST",
        "/tasks/keep_1/cancel",
        &[
            ("Cookie", &cookie),
            ("Origin", "http://evil.example"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some("csrf=x"),
    );
    assert_eq!(r.status, 403);
    let still = server.api("GET", "/api/v1/tasks/keep_1", None).json();
    assert_eq!(still["task"]["status"], "scheduled");
    // A body over 1 MiB.
    let big = format!(r#"{{"when":"1h","summary":"{}"}}"#, "x".repeat(1_100_000));
    let r = http(
        &addr,
        "POST",
        "/api/v1/tasks",
        &[("Authorization", &bearer)],
        Some(&big),
    );
    assert_eq!(r.status, 413, "{}", r.body);
    // A dashboard form over 1 MiB: 413 as well, not 400.
    let big_form = format!("csrf=x&reason={}", "x".repeat(1_100_000));
    let r = server.page("POST", "/tasks/keep_1/cancel", Some(&big_form));
    assert_eq!(r.status, 413, "{}", r.body);
    // The scheme of Authorization is case-insensitive (RFC 7235).
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let auth = format!("{scheme} {}", server.token);
        let r = http(
            &addr,
            "GET",
            "/api/v1/tasks",
            &[("Authorization", &auth)],
            None,
        );
        assert_eq!(r.status, 200, "{scheme}: {}", r.body);
    }
    // Every answer carries the security headers.
    let r = server.page("GET", "/tasks", None);
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}
on_both_stores!(every_refusal);

#[test]
fn the_token_file_is_private_and_kept() {
    let env = Env::new();
    let first = Server::start(&env, &[]);
    let token = first.token.clone();
    assert_eq!(token.len(), 64);
    use std::os::unix::fs::PermissionsExt;
    let path = env.runtime().join("serve.token");
    let mode = std::fs::metadata(&path)
        .expect("serve test")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    drop(first.stop());
    let second = Server::start(&env, &[]);
    assert_eq!(second.token, token);
    drop(second.stop());
    // A token others can read is refused, with the fix.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("serve test");
    let run = env.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.code, Some(4), "a refused file is the host's to fix");
    assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
}

#[test]
fn a_non_loopback_address_is_served_with_a_warning() {
    let env = Env::new();
    let mut child = env
        .cmd(&["serve", "--listen", "0.0.0.0:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("serve test"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("serve test");
    signal_child(&child, libc::SIGTERM);
    let _ = child.wait();
    assert!(line.contains("warning") && line.contains("TLS"), "{line}");
}

// ---- the dashboard --------------------------------------------------------------------------

const HOSTILE: [&str; 5] = [
    "<script>alert('xss')</script>",
    "\"><img src=x onerror=alert(1)>",
    "bell\u{7}and\u{1b}[31mred",
    "\u{202e}gnp.exe",
    "</title><svg onload=alert(2)>",
];

fn hostile_summaries_are_escaped(env: Env) {
    let server = Server::start(&env, &[]);
    for (i, summary) in HOSTILE.iter().enumerate() {
        schedule(
            &server,
            json!({"when": "1h", "summary": summary, "id": format!("hostile_{i}"), "key_points": [summary]}),
        );
    }
    let mut pages = vec![
        "/".to_string(),
        "/tasks".to_string(),
        "/tasks?q=%3Cscript".to_string(),
    ];
    for i in 0..HOSTILE.len() {
        pages.push(format!("/tasks/hostile_{i}"));
        pages.push(format!("/tasks/hostile_{i}/confirm/cancel"));
    }
    for path in &pages {
        let r = server.page("GET", path, None);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        for raw in [
            "<script>alert",
            "<img",
            "<svg onload",
            "onerror=alert(1)>",
            "\u{202e}",
            "\u{1b}",
        ] {
            assert!(!r.body.contains(raw), "{path} contains {raw:?}");
        }
        if path.starts_with("/tasks/hostile_0") {
            assert!(r.body.contains("&#60;script&#62;"), "{path}");
        }
    }
    let r = server.page("GET", "/tasks/hostile_3", None);
    assert!(r.body.contains("\\u{202e}gnp.exe"), "{}", r.body);
    let r = server.page("GET", "/tasks/hostile_2", None);
    assert!(r.body.contains("bell\\u{7}and\\u{1b}[31mred"), "{}", r.body);
}
on_both_stores!(hostile_summaries_are_escaped);

/// Value of the hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[at..]
        .split('"')
        .next()
        .expect("serve test")
        .to_string()
}

fn dashboard_pages_and_actions(env: Env) {
    let server = Server::start(&env, &[]);
    schedule(
        &server,
        json!({"when": "3h", "summary": "water the plants", "id": "plants"}),
    );
    schedule(
        &server,
        json!({"when": "2026-04-01 09:00", "summary": "late one", "id": "late"}),
    );
    let overview = server.page("GET", "/", None);
    assert_eq!(overview.status, 200);
    assert!(overview.body.contains("id=\"counts\""), "{}", overview.body);
    assert!(
        overview.body.contains("svg id=\"hourly\""),
        "{}",
        overview.body
    );
    let home = server.page("GET", "/upcoming", None);
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("href=\"/tasks/plants\""),
        "{}",
        home.body
    );
    assert!(
        home.body.contains("class=\"mark overdue\""),
        "{}",
        home.body
    );
    assert!(home.body.contains("<svg"), "{}", home.body);
    let week = server.page("GET", "/upcoming?range=7d", None);
    assert!(week.body.contains("7 days"));
    let list = server.page("GET", "/tasks", None);
    assert!(
        list.body.contains("water the plants") && list.body.contains("in 3h"),
        "{}",
        list.body
    );
    let filtered = server.page("GET", "/tasks?status=&q=PLANTS", None);
    assert!(filtered.body.contains("water the plants") && !filtered.body.contains("late one"));
    let health = server.page("GET", "/health", None);
    assert!(health.body.contains("class=\"card"), "{}", health.body);
    let task = server.page("GET", "/tasks/plants", None);
    assert!(
        task.body.contains("/tasks/plants/confirm/cancel"),
        "{}",
        task.body
    );
    let nothing = server.page("GET", "/no/such/page", None);
    assert_eq!(nothing.status, 404);
    assert!(nothing.body.contains("no such page"), "{}", nothing.body);
    let unknown = server.page("GET", "/tasks/nope", None);
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("Task not found: nope"));

    // Reschedule, then cancel, through the confirmation forms.
    let confirm = server.page("GET", "/tasks/plants/confirm/reschedule", None);
    let csrf = csrf_of(&confirm.body);
    let r = server.page(
        "POST",
        "/tasks/plants/reschedule",
        Some(&format!("csrf={csrf}&when=blah")),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("unsupported time expression"), "{}", r.body);
    let r = server.page(
        "POST",
        "/tasks/plants/reschedule",
        Some(&format!("csrf={csrf}&when=5h")),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = server.page(
        "POST",
        "/tasks/plants/cancel",
        Some(&format!("csrf={csrf}&reason=rain")),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/tasks/plants?done=cancel"));
    let page = server.page("GET", "/tasks/plants?done=cancel", None);
    assert!(
        page.body.contains("Cancelled: the task will not run."),
        "{}",
        page.body
    );
    assert!(page.body.contains("rain"));
    let again = server.page(
        "POST",
        "/tasks/plants/cancel",
        Some(&format!("csrf={csrf}")),
    );
    assert_eq!(again.status, 409);
    assert!(
        again.body.contains("is cancelled, not scheduled"),
        "{}",
        again.body
    );

    // Run now (no executor: the prompt is prepared and the task completes).
    let r = server.page("POST", "/tasks/late/run", Some(&format!("csrf={csrf}")));
    assert_eq!(r.status, 303, "{}", r.body);
    let page = server.page("GET", "/tasks/late?done=run", None);
    assert!(page.body.contains("completed"), "{}", page.body);
    assert!(
        page.body.contains("You are resuming a deferred task."),
        "{}",
        page.body
    );

    // Assets need no token and are what the pages name.
    let css = http(&server.addr, "GET", "/assets/style.css", &[], None);
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let js = http(&server.addr, "GET", "/assets/live.js", &[], None);
    assert!(js.body.contains("EventSource"));
}
on_both_stores!(dashboard_pages_and_actions);

// ---- live updates ---------------------------------------------------------------------------

fn a_change_reaches_the_event_stream(env: Env) {
    let server = Server::start(&env, &[]);
    let mut stream = TcpStream::connect(&server.addr).expect("serve test");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("serve test");
    write!(
        stream,
        "GET /events HTTP/1.1\r\nHost: {}\r\nCookie: defer_session={}\r\nAccept: text/event-stream\r\n\r\n",
        server.addr, server.token
    )
    .expect("serve test");
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).expect("serve test");
    assert!(status.contains("200"), "{status}");
    // Give the watcher a moment to see the store as it is, then change it.
    std::thread::sleep(Duration::from_millis(600));
    schedule(&server, json!({"when": "1h", "summary": "live"}));
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).unwrap_or(0);
        if line.contains("event: change") {
            break;
        }
        assert!(n > 0 && Instant::now() < deadline, "no change event");
    }
    // SIGTERM ends open event streams: the server stops promptly.
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}
on_both_stores!(a_change_reaches_the_event_stream);

// ---- --run ------------------------------------------------------------------------------------

fn serve_run_runs_due_tasks(mut env: Env) {
    env.unset("DEFER_NOW");
    let server = Server::start(&env, &["--run"]);
    let out = schedule(&server, json!({"when": "now", "summary": "run me"}));
    let id = out["id"].as_str().expect("serve test").to_string();
    // Generous: the whole suite shares two cores with this server.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let task = server
            .api("GET", &format!("/api/v1/tasks/{id}"), None)
            .json();
        if task["task"]["status"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "not run: {task}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    let log = std::fs::read_to_string(env.log_file()).expect("serve test");
    assert!(log.contains("watch stopped"), "{log}");
}
on_both_stores!(serve_run_runs_due_tasks);

/// Polls `GET path` until `pred` holds of the answer (60 s: the suite shares two cores).
fn poll_api(server: &Server, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // A connection closed unanswered (the server still at its connection cap while it
        // notices connections a test just dropped) is asked again, like any answer that does
        // not match yet.
        let answer = server.api("GET", path, None);
        let body = if answer.status == 0 {
            Value::Null
        } else {
            answer.json()
        };
        if pred(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never matched: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn runner_finding(health: &Value) -> Value {
    health["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check"] == "runner"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The executor vanishes for a while: the runner inside `serve` reports it (health, the
/// dashboard's banner, the audit log), keeps the task, and runs it once the file is back;
/// the server never stops answering.
fn serve_run_survives_a_missing_executor(mut env: Env) {
    env.unset("DEFER_NOW");
    let marker = env.dir.path().join("ran");
    let exec = env.script(
        "exec.sh",
        &format!("cat >/dev/null\necho ran >> '{}'", marker.display()),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    let server = Server::start(&env, &["--run"]);
    let away = env.dir.path().join("exec.sh.away");
    std::fs::rename(&exec, &away).expect("move the executor away");
    let out = schedule(&server, json!({"when": "now", "summary": "wait for me"}));
    let id = out["id"].as_str().expect("id").to_string();
    let health = poll_api(&server, "/api/v1/health", |h| {
        runner_finding(h)["level"] == "problem"
            && runner_finding(h)["message"]
                .as_str()
                .is_some_and(|m| m.contains("fails to wake since"))
    });
    let message = runner_finding(&health)["message"].to_string();
    assert!(message.contains("exec.sh"), "names the executor: {message}");
    let page = server.page("GET", "/tasks", None);
    assert!(
        page.body.contains("fails to wake since"),
        "the dashboard's banner says so: {}",
        page.body
    );
    let task = server
        .api("GET", &format!("/api/v1/tasks/{id}"), None)
        .json();
    assert_eq!(task["task"]["status"], "scheduled", "kept: {task}");
    std::fs::rename(&away, &exec).expect("put the executor back");
    poll_api(&server, &format!("/api/v1/tasks/{id}"), |t| {
        t["task"]["status"] == "completed"
    });
    let health = poll_api(&server, "/api/v1/health", |h| {
        runner_finding(h)["level"] != "problem"
    });
    assert!(
        !runner_finding(&health)["message"]
            .to_string()
            .contains("fails to wake"),
        "{health}"
    );
    assert_eq!(
        std::fs::read_to_string(&marker)
            .expect("ran")
            .lines()
            .count(),
        1
    );
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("trying again in"), "{stderr}");
    assert!(stderr.contains("wakes work again"), "{stderr}");
    let log = std::fs::read_to_string(env.log_file()).expect("log");
    assert!(log.contains("runner fault"), "{log}");
    assert!(log.contains("runner recovered"), "{log}");
}
on_both_stores!(serve_run_survives_a_missing_executor);

/// Whether the server has closed this connection: end of stream or a reset within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // An answer (a 408, say) before the close: keep reading.
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// A client that sends half a request head, and one that stays connected after its answer,
/// are both let go after the header timeout; the server keeps answering others.
#[test]
fn half_sent_requests_and_idle_connections_are_closed_after_the_header_timeout() {
    let env = Env::new();
    let server = Server::start(&env, &["--header-timeout", "1"]);
    let mut half = TcpStream::connect(&server.addr).expect("connect");
    half.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: ")
        .expect("write");
    let mut idle = TcpStream::connect(&server.addr).expect("connect");
    let request = format!(
        "GET /api/v1/health HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        server.addr, server.token
    );
    idle.write_all(request.as_bytes()).expect("write");
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).expect("an answer");
    assert_eq!(&head, b"HTTP/1.1 200");
    // A connection that says nothing at all is closed too.
    let mut silent = TcpStream::connect(&server.addr).expect("connect");
    for (name, stream) in [
        ("half-sent", &mut half),
        ("idle keep-alive", &mut idle),
        ("silent", &mut silent),
    ] {
        assert!(
            closed_within(stream, Duration::from_secs(10)),
            "the {name} connection is still open 10 s after a 1 s header timeout"
        );
    }
    assert_eq!(server.api("GET", "/api/v1/health", None).status, 200);
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}

/// Under a descriptor limit of 256, 300 connections that never finish a request cannot
/// take the descriptors the runner needs: the server holds at most the cap (256 less the
/// reserve), closes the rest at once, runs due tasks meanwhile, and answers again once they
/// go.
fn connections_past_the_cap_do_not_starve_the_runner(mut env: Env) {
    env.unset("DEFER_NOW");
    let marker = env.dir.path().join("ran");
    let exec = env.script(
        "exec.sh",
        &format!("cat >/dev/null\necho ran >> '{}'", marker.display()),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    let server = Server::start_with(&env, &["--run", "--header-timeout", "120"], |cmd| {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child being started.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 256,
                    rlim_max: 256,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let held: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut s = TcpStream::connect(&server.addr).ok()?;
            s.write_all(b"GET / HTTP/1.1\r\n").ok()?;
            Some(s)
        })
        .collect();
    for i in 0..5 {
        env.ok(&[
            "schedule",
            "--when",
            "now",
            "--summary",
            "while crowded",
            "--id",
            &format!("crowded_{i}"),
        ]);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&marker).map_or(0, |m| m.lines().count()) < 5 {
        assert!(
            Instant::now() < deadline,
            "the runner did not run the due tasks while 300 connections were held"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Closed ones read as end of stream at once; open ones have nothing to read.
    std::thread::sleep(Duration::from_millis(500));
    let open = held
        .iter()
        .filter(|s| {
            s.set_nonblocking(true).expect("nonblocking");
            let mut buf = [0u8; 1];
            matches!(s.peek(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    let cap = 256 - (128 + 8);
    assert!(
        open <= cap,
        "{open} connections held open, over the cap of {cap}"
    );
    assert!(open >= 16, "only {open} connections were served");
    drop(held);
    let health = poll_api(&server, "/api/v1/health", |h| h["findings"].is_array());
    assert!(health["findings"].is_array());
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("wake failed"), "{stderr}");
}
on_both_stores!(connections_past_the_cap_do_not_starve_the_runner);

// ---- MCP over Streamable HTTP ---------------------------------------------------------------

/// The JSON-RPC message in a Streamable HTTP answer (JSON, or the last `data:` of SSE).
pub fn rpc_body(r: &Resp) -> Value {
    if r.header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"))
    {
        let data = r
            .body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .rfind(|d| d.starts_with('{'))
            .unwrap_or_else(|| panic!("no data in {}", r.body));
        serde_json::from_str(data).expect("serve test")
    } else {
        r.json()
    }
}

fn mcp_over_http(env: Env) {
    let server = Server::start(&env, &[]);
    let bearer = format!("Bearer {}", server.token);
    let post = |session: Option<&str>, body: Value| {
        let mut headers = vec![
            ("Authorization", bearer.as_str()),
            ("Accept", "application/json, text/event-stream"),
        ];
        if let Some(s) = session {
            headers.push(("Mcp-Session-Id", s));
        }
        http(
            &server.addr,
            "POST",
            "/mcp",
            &headers,
            Some(&body.to_string()),
        )
    };
    let init = post(
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}}),
    );
    assert_eq!(init.status, 200, "{}", init.body);
    let session = init.header("mcp-session-id").map(str::to_string);
    let answer = rpc_body(&init);
    assert_eq!(answer["result"]["serverInfo"]["name"], "defer", "{answer}");
    let note = post(
        session.as_deref(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert!(note.status == 202 || note.status == 200, "{}", note.status);
    let tools = rpc_body(&post(
        session.as_deref(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .expect("serve test")
        .iter()
        .map(|t| t["name"].as_str().expect("serve test"))
        .collect();
    for tool in [
        "schedule_task",
        "list_tasks",
        "show_task",
        "cancel_task",
        "normalize_time",
    ] {
        assert!(names.contains(&tool), "{names:?}");
    }
    let called = rpc_body(&post(
        session.as_deref(),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "schedule_task",
            "arguments": {"when": "1h", "summary": "from mcp over http", "id": "mcp_http"}}}),
    ));
    assert_eq!(called["result"]["isError"], false, "{called}");
    let shown = server.api("GET", "/api/v1/tasks/mcp_http", None).json();
    assert_eq!(shown["task"]["context"]["summary"], "from mcp over http");
    // A foreign Host is refused on /mcp too.
    let r = http(
        &server.addr,
        "POST",
        "/mcp",
        &[("Authorization", &bearer), ("Host", "evil.example")],
        Some("{}"),
    );
    assert_eq!(r.status, 403);
}
on_both_stores!(mcp_over_http);

/// Sessions live in the server's memory: past 100 a new one closes the one idle longest
/// (not the oldest), and the others carry on.
#[test]
fn mcp_http_sessions_are_capped_and_the_longest_idle_goes_first() {
    let env = Env::new();
    let server = Server::start(&env, &[]);
    let bearer = format!("Bearer {}", server.token);
    let post = |session: Option<&str>, body: Value| {
        let mut headers = vec![
            ("Authorization", bearer.as_str()),
            ("Accept", "application/json, text/event-stream"),
        ];
        if let Some(s) = session {
            headers.push(("Mcp-Session-Id", s));
        }
        http(
            &server.addr,
            "POST",
            "/mcp",
            &headers,
            Some(&body.to_string()),
        )
    };
    let open = || {
        let init = post(
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"}}}),
        );
        assert_eq!(init.status, 200, "{}", init.body);
        let session = init
            .header("mcp-session-id")
            .expect("a session id")
            .to_string();
        let note = post(
            Some(&session),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        );
        assert!(note.status == 202 || note.status == 200, "{}", note.status);
        session
    };
    let list = |session: &str| {
        post(
            Some(session),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
    };
    let first = open();
    let second = open();
    // The first is used again: the second is now the one idle longest.
    assert_eq!(list(&first).status, 200);
    let rest: Vec<String> = (0..99).map(|_| open()).collect();
    let gone = list(&second);
    assert_eq!(
        gone.status, 404,
        "the session idle longest is closed past the cap: {}",
        gone.body
    );
    for session in [&first, &rest[0], &rest[98]] {
        let r = list(session);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(rpc_body(&r)["result"]["tools"].is_array());
    }
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}

// ---- OpenAPI ----------------------------------------------------------------------------------

#[test]
fn the_openapi_document_matches_the_routes_and_the_checked_in_copy() {
    let env = Env::new();
    let server = Server::start(&env, &[]);
    let r = server.api("GET", "/api/v1/openapi.json", None);
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.0.3");
    // Every $ref resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().expect("serve test");
        assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
    }
    // Every documented path is a route (not the API's 404).
    let paths = doc["paths"].as_object().expect("serve test");
    assert_eq!(paths.len(), 14);
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "nope");
        for method in ops.as_object().expect("serve test").keys() {
            let r = server.api(&method.to_uppercase(), &concrete, Some("{}"));
            assert!(!r.body.contains("no such route"), "{method} {path}");
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("serve test");
    // Replies are shared components; request bodies are inlined where the route reads them.
    assert_eq!(
        doc["paths"]["/api/v1/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["required"],
        json!(["when"])
    );
    for name in [
        "ScheduleReply",
        "ListReply",
        "TaskChange",
        "Task",
        "LogsReply",
        "Problem",
        "DoctorReply",
        "OverviewReply",
        "SeriesReply",
        "BulkReply",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    let pretty = serde_json::to_string_pretty(&doc).expect("serve test") + "\n";
    let copy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    if std::env::var_os("DEFER_UPDATE_OPENAPI").is_some() {
        std::fs::write(&copy, &pretty).expect("serve test");
    }
    let checked_in = std::fs::read_to_string(&copy).unwrap_or_default();
    assert!(
        checked_in == pretty,
        "docs/openapi.json is out of date: run `DEFER_UPDATE_OPENAPI=1 cargo test openapi`"
    );
}

/// The operator's routes: the overview's counts agree with the listing, bulk actions by ids
/// or by filter (listed without `yes` when more than one), the series view.
fn overview_bulk_and_series_over_the_api(env: Env) {
    let server = Server::start(&env, &[]);
    for i in 0..3 {
        schedule(
            &server,
            json!({"when": "2h", "summary": format!("job {i}"), "id": format!("j{i}")}),
        );
    }
    schedule(
        &server,
        json!({"when": "2026-04-01 09:00", "summary": "late", "id": "late"}),
    );
    schedule(
        &server,
        json!({"when": "every weekday at 9am", "summary": "standup", "id": "s1"}),
    );
    let overview = server.api("GET", "/api/v1/overview", None).json();
    assert_eq!(overview["counts"]["scheduled"], 5, "{overview}");
    assert_eq!(overview["counts"]["due"], 1, "{overview}");
    assert_eq!(overview["hourly"].as_array().map(Vec::len), Some(24));
    assert_eq!(overview["daily"].as_array().map(Vec::len), Some(30));
    let listed = server.api("GET", "/api/v1/tasks", None).json();
    assert_eq!(listed["total"], overview["counts"]["scheduled"]);

    // By ids: the cancelled one is skipped with the reason on a second pass.
    let bulk = |body: Value| {
        let r = server.api("POST", "/api/v1/tasks/bulk", Some(&body.to_string()));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };
    let first = bulk(json!({"action": "cancel", "ids": ["j0"]}));
    assert_eq!(first["done"], json!(["j0"]), "{first}");
    let preview = bulk(json!({"action": "cancel", "ids": ["j0", "j1"]}));
    assert_eq!(preview["applied"], false, "{preview}");
    let second = bulk(json!({"action": "cancel", "ids": ["j0", "j1"], "yes": true}));
    assert_eq!(second["done"], json!(["j1"]), "{second}");
    assert_eq!(second["skipped"][0]["id"], "j0", "{second}");
    // By filter.
    let filtered = bulk(json!({"action": "cancel", "q": "job", "yes": true}));
    assert_eq!(filtered["done"], json!(["j2"]), "{filtered}");
    // Ids and a filter together are refused.
    let both = server.api(
        "POST",
        "/api/v1/tasks/bulk",
        Some(&json!({"action": "cancel", "ids": ["late"], "q": "x"}).to_string()),
    );
    assert_eq!(both.status, 400, "{}", both.body);

    let series = server.api("GET", "/api/v1/series", None).json();
    assert_eq!(series["series"][0]["id"], "s1", "{series}");
    assert_eq!(series["series"][0]["rule"], "cron 0 9 * * 1-5", "{series}");
    let sorted = server
        .api("GET", "/api/v1/tasks?all=true&sort=status", None)
        .json();
    let statuses: Vec<&str> = sorted["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["status"].as_str().unwrap_or(""))
        .collect();
    let mut expected = statuses.clone();
    expected.sort();
    assert_eq!(statuses, expected, "{sorted}");
}
on_both_stores!(overview_bulk_and_series_over_the_api);
