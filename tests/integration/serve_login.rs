//! The dashboard's login over real HTTP: the session cookie's attributes and lifetime, the
//! `next=` landing (local paths only), `defer serve --print-login`, the 401 page that names it,
//! and a token that never reaches a log.

use std::time::{Duration, Instant};

use serde_json::json;

use super::serve::{Resp, Server, http};
use crate::util::Env;

/// `GET /login?QUERY` on `server`.
fn login(server: &Server, query: &str) -> Resp {
    http(&server.addr, "GET", &format!("/login?{query}"), &[], None)
}

/// The cookie's attributes, lower-cased, without the name=value pair.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

#[test]
fn the_session_cookie_is_private_strict_and_lasts_thirty_days_or_session_days() {
    let env = Env::new();
    for (flags, days) in [(&[][..], 30u64), (&["--session-days", "7"][..], 7)] {
        let server = Server::start(&env, flags);
        let r = login(&server, &format!("token={}", server.token));
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), Some("/"));
        let cookie = r.header("set-cookie").expect("a cookie");
        assert!(
            cookie.starts_with(&format!("defer_session={};", server.token)),
            "{cookie}"
        );
        let attrs = attributes(cookie);
        for want in [
            format!("max-age={}", days * 86_400),
            "httponly".to_string(),
            "samesite=strict".to_string(),
            "path=/".to_string(),
        ] {
            assert!(attrs.contains(&want), "{want} not in {cookie}");
        }
        // The cookie it set opens the dashboard.
        let page = server.page("GET", "/tasks", None);
        assert_eq!(page.status, 200);
        drop(server.stop());
    }
    for bad in ["0", "401", "many"] {
        let run = env.run(&["serve", "--listen", "127.0.0.1:0", "--session-days", bad]);
        assert_eq!(run.code, Some(2), "--session-days {bad}: {}", run.stderr);
    }
}

#[test]
fn next_lands_on_local_paths_and_ignores_anything_else() {
    let env = Env::new();
    let server = Server::start(&env, &[]);
    let token = &server.token;
    for (next, lands) in [
        ("/tasks", "/tasks"),
        (
            "%2Ftasks%3Fstatus%3Dfailed%26q%3Dx",
            "/tasks?status=failed&q=x",
        ),
        ("/health", "/health"),
        // Another host, however it is spelled: ignored, home instead.
        ("//evil.example", "/"),
        ("%2F%2Fevil.example%2Fpath", "/"),
        ("http://evil", "/"),
        ("http%3A%2F%2Fevil", "/"),
        ("https://evil.example/", "/"),
        ("%2F%5Cevil", "/"),
        ("%2F%5C%5Cevil.example", "/"),
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%0A%2Fevil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("tasks", "/"),
        ("", "/"),
    ] {
        let r = login(&server, &format!("token={token}&next={next}"));
        assert_eq!(r.status, 303, "next={next}: {}", r.body);
        assert_eq!(r.header("location"), Some(lands), "next={next}");
        assert!(r.header("set-cookie").is_some(), "next={next}");
    }
    // `next` before the token, as a link may put it.
    let r = login(&server, &format!("next=/tasks&token={token}"));
    assert_eq!(r.header("location"), Some("/tasks"));
    // A wrong token goes nowhere and sets nothing, whatever `next` says.
    let r = login(&server, "token=nope&next=/tasks");
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.header("location"), None);
    assert_eq!(r.header("set-cookie"), None);
    assert!(r.body.contains("defer serve --print-login"), "{}", r.body);
    drop(server.stop());
}

#[test]
fn the_401_page_names_the_command_that_prints_the_login_link() {
    let env = Env::new();
    let server = Server::start(&env, &[]);
    for path in ["/", "/tasks?status=failed", "/health"] {
        let r = http(&server.addr, "GET", path, &[], None);
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{path}"
        );
        assert!(r.body.contains("Not signed in"), "{}", r.body);
        assert!(r.body.contains("defer serve --print-login"), "{}", r.body);
        assert!(
            !r.body.contains(&server.token),
            "the page never shows the token"
        );
    }
    // The way back to the page asked for, as a `next` the login honours.
    let r = http(&server.addr, "GET", "/tasks?status=failed", &[], None);
    assert!(
        r.body.contains("next=/tasks%3Fstatus%3Dfailed"),
        "{}",
        r.body
    );
    // A wrong cookie is the same refusal.
    let r = http(
        &server.addr,
        "GET",
        "/tasks",
        &[("Cookie", "defer_session=stale")],
        None,
    );
    assert_eq!(r.status, 401);
    assert!(r.body.contains("defer serve --print-login"), "{}", r.body);
    drop(server.stop());
}

#[test]
fn print_login_prints_the_link_from_the_token_file_and_starts_no_server() {
    let env = Env::new();
    // No server ever started here: no token, no link, and no token made by asking.
    let run = env.fails(&["serve", "--print-login"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("no login link yet"), "{}", run.stderr);
    assert!(run.stderr.contains("serve.token"), "{}", run.stderr);
    assert!(!env.runtime().join("serve.token").exists());

    let server = Server::start(&env, &[]);
    let token = server.token.clone();
    // The default address, and the running server's own: the port is in use, so a command
    // that tried to listen there would fail; this one only reads the token file.
    let run = env.ok(&["serve", "--print-login"]);
    assert_eq!(
        run.stdout,
        format!("http://127.0.0.1:8277/login?token={token}\n")
    );
    let started = Instant::now();
    let run = env.ok(&["serve", "--print-login", "--listen", &server.addr, "--run"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    let link = run.stdout.trim().to_string();
    assert_eq!(link, format!("http://{}/login?token={token}", server.addr));
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // The link it printed signs a browser in.
    let path = link
        .strip_prefix(&format!("http://{}", server.addr))
        .expect("a link to this server");
    let r = http(
        &server.addr,
        "GET",
        &format!("{path}&next=/health"),
        &[],
        None,
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/health"));
    assert!(r.header("set-cookie").is_some());

    let run = env.ok(&["serve", "--print-login", "--listen", "[::1]:9000"]);
    assert_eq!(
        run.stdout,
        format!("http://[::1]:9000/login?token={token}\n")
    );
    // A port picked at start cannot be known beforehand: refused, saying so.
    let run = env.fails(&["serve", "--print-login", "--listen", "127.0.0.1:0"]);
    assert!(run.stderr.contains("--listen"), "{}", run.stderr);
    assert!(run.stderr.contains("free port"), "{}", run.stderr);
    let run = env.fails(&["serve", "--print-login", "--listen", "not an address"]);
    assert!(run.stderr.contains("--listen"), "{}", run.stderr);
    drop(server.stop());

    // A token file others can read is refused here too, with the fix.
    use std::os::unix::fs::PermissionsExt;
    let path = env.runtime().join("serve.token");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let run = env.fails(&["serve", "--print-login"]);
    assert_eq!(run.code, Some(4));
    assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
    assert!(!run.stderr.contains(&token), "{}", run.stderr);
}

/// Signing in (right and wrong tokens, with `next`), the API, MCP, `/metrics`, a refused
/// request and a task run by `--run`: the token is in none of stderr or the audit log.
#[test]
fn the_token_never_reaches_a_log() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    let server = Server::start(&env, &["--run"]);
    let token = server.token.clone();
    assert_eq!(
        login(&server, &format!("token={token}&next=/tasks")).status,
        303
    );
    assert_eq!(login(&server, &format!("token={token}x")).status, 401);
    let body = json!({"when": "now", "summary": "log nothing secret"}).to_string();
    let r = server.api("POST", "/api/v1/tasks", Some(&body));
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_string();
    assert_eq!(server.api("GET", "/metrics", None).status, 200);
    assert_eq!(server.page("GET", "/tasks", None).status, 200);
    let wrong = format!("Bearer {token}0");
    let r = http(
        &server.addr,
        "GET",
        "/api/v1/tasks",
        &[("Authorization", &wrong)],
        None,
    );
    assert_eq!(r.status, 401);
    assert!(!r.body.contains(&token));
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
    assert!(!stderr.contains(&token), "stderr: {stderr}");
    let audit = std::fs::read_to_string(env.log_file()).expect("the audit log");
    assert!(audit.contains("executed"), "{audit}");
    assert!(!audit.contains(&token), "audit log: {audit}");
}
