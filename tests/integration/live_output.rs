//! Watching an agent work: the runner writes each attempt's output to its files as the
//! executor prints it, so `logs` between two lines shows the first, `logs -f` prints each
//! line as it comes, the API and MCP say `running: true` with what is there so far, and the
//! dashboard's tail stream carries it. The executor here prints a line, then waits for the
//! test to release it before printing the second: no timing, only order.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::on_both_stores;
use crate::serve::Server;
use crate::util::{Env, wait_until};

/// An executor that prints "first line" (and a line on stderr), waits for `release`, prints
/// "second line"; returns the release file.
fn two_line_executor(env: &mut Env) -> std::path::PathBuf {
    let release = env.dir.path().join("release");
    let exec = env.script(
        "two.sh",
        &format!(
            "cat >/dev/null\necho 'first line'\necho 'thinking hard' >&2\n\
             i=0\nwhile [ ! -f '{}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n\
             echo 'second line'",
            release.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    release
}

fn output_is_seen_while_the_executor_runs(mut env: Env) {
    env.unset("DEFER_NOW");
    let release = two_line_executor(&mut env);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "watch me",
        "--id",
        "w1",
    ]);
    let mut runner = env
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn defer run");
    // The first line is on record while the executor still waits.
    let started = wait_until(Duration::from_secs(30), || {
        env.run(&["logs", "w1", "--output"])
            .stdout
            .contains("first line")
    });
    assert!(started, "the first line never showed");
    let between = env.ok(&["logs", "w1", "--json"]).json();
    assert_eq!(between["running"], true, "{between}");
    let attempt = &between["attempts"][0];
    assert_eq!(attempt["stdout"], "first line\n", "{between}");
    assert_eq!(attempt["stderr"], "thinking hard\n", "{between}");
    assert!(
        attempt.get("outcome").is_none_or(Value::is_null),
        "{between}"
    );

    // The API says the same, and the dashboard's tail stream carries the line.
    let server = Server::start(&env, &[]);
    let api = server.api("GET", "/api/v1/tasks/w1/logs", None).json();
    assert_eq!(api["running"], true, "{api}");
    let mut tail = std::net::TcpStream::connect(&server.addr).expect("connect");
    tail.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let request = format!(
        "GET /tasks/w1/tail HTTP/1.1\r\nHost: {}\r\nCookie: defer_session={}\r\n\r\n",
        server.addr, server.token
    );
    std::io::Write::write_all(&mut tail, request.as_bytes()).expect("write");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("data: first line") {
        let n = tail.read(&mut buf).expect("the tail stream answers");
        assert!(n > 0, "the tail stream closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("event: out"), "{seen}");

    // `logs -f` prints the first line, and the second only once it is printed.
    let mut follow = env
        .cmd(&["logs", "w1", "-f", "--output"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logs -f");
    let mut lines = BufReader::new(follow.stdout.take().expect("stdout")).lines();
    let mut before = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("a line");
        let first = line == "first line";
        before.push(line);
        if first {
            break;
        }
    }
    assert!(
        !before.iter().any(|l| l.contains("second line")),
        "{before:?}"
    );
    std::fs::write(&release, b"").expect("release");
    let after: Vec<String> = lines.map(|l| l.expect("a line")).collect();
    let status = follow.wait().expect("logs -f ends with the attempt");
    assert!(status.success());
    assert!(
        after.iter().any(|l| l == "[stderr] thinking hard")
            || before.iter().any(|l| l == "[stderr] thinking hard"),
        "{before:?} {after:?}"
    );
    assert!(after.iter().any(|l| l == "second line"), "{after:?}");
    assert!(
        after
            .last()
            .is_some_and(|l| l.contains("ended: attempt 1 (completed, exit 0)")),
        "{after:?}"
    );
    while !seen.contains("event: end") {
        let n = tail.read(&mut buf).expect("the tail stream ends");
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("event: end"), "{seen}");
    assert!(runner.wait().expect("runner").success());

    // After a success its stderr is kept and shown.
    let done = env.ok(&["logs", "w1", "--json"]).json();
    assert_eq!(done["running"], false);
    assert_eq!(
        done["attempts"][0]["stdout"], "first line\nsecond line\n",
        "{done}"
    );
    assert_eq!(done["attempts"][0]["stderr"], "thinking hard\n", "{done}");
    let shown = env.ok(&["logs", "w1", "--output"]).stdout;
    assert!(shown.contains("thinking hard"), "{shown}");
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}
on_both_stores!(output_is_seen_while_the_executor_runs);
