//! The dashboard in a real browser: headless Chromium driven through WebDriver
//! (`chromedriver`, raw WebDriver HTTP calls through the small client in `serve.rs`). Skipped,
//! with the reason printed, where `/usr/bin/chromedriver` is absent (`.ci/run` installs the
//! Debian packages `chromium` and `chromium-driver`). Screenshots of every page go to
//! `target/serve-screenshots/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::serve::{Server, http, http_within};
use crate::util::Env;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The key WebDriver wraps element references in.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session, both ended on drop.
struct Browser {
    driver: Child,
    addr: String,
    session: String,
    /// chromedriver's log, kept in the profile folder.
    log: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a browser session. Starting a browser is the environment's part,
    /// not the dashboard's: on a loaded machine chromedriver has been seen to drop the first
    /// new-session request without an answer, so a start is tried three times, each with a
    /// fresh chromedriver and profile, and a final failure reports chromedriver's own log.
    fn start() -> Browser {
        let mut failures = Vec::new();
        for attempt in 1..=3 {
            match Browser::try_start() {
                Ok(browser) => return browser,
                Err(why) => failures.push(format!("attempt {attempt}: {why}")),
            }
        }
        panic!("no browser session:\n{}", failures.join("\n"));
    }

    fn try_start() -> Result<Browser, String> {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("addr").port()
        };
        let profile = tempfile::tempdir().expect("profile dir");
        let log = profile.path().join("chromedriver.log");
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr = format!("127.0.0.1:{port}");
        let failed = |driver: &mut Child, what: String| {
            let exit = driver.try_wait().ok().flatten();
            let _ = driver.kill();
            let _ = driver.wait();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            format!(
                "{what}; chromedriver {}; its log ends:\n{}",
                exit.map_or("still running".to_string(), |s| format!("exited ({s})")),
                tail.join("\n")
            )
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(&addr).is_ok() {
                let status = http(&addr, "GET", "/status", &[], None);
                if status.status == 200 && status.json()["value"]["ready"] == true {
                    break;
                }
            }
            if Instant::now() >= deadline {
                return Err(failed(&mut driver, "not ready within 60 s".into()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            format!(
                "--user-data-dir={}",
                profile.path().join("chrome").display()
            ),
        ]);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let caps = caps.to_string();
        let r = http_within(
            &addr,
            "POST",
            "/session",
            &[],
            Some(caps.as_bytes()),
            Duration::from_secs(180),
        );
        let answer: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        let session = answer["value"]["sessionId"].as_str().map(str::to_string);
        match session {
            Some(session) if r.status == 200 => Ok(Browser {
                driver,
                addr,
                session,
                log,
                _profile: profile,
            }),
            _ => Err(failed(
                &mut driver,
                format!("new session answered {}: {}", r.status, r.body),
            )),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string());
        let full = format!("/session/{}{path}", self.session);
        let send = || {
            // Generous: on two busy cores (the whole suite running) a page load can take long.
            http_within(
                &self.addr,
                method,
                &full,
                &[],
                body.as_deref().map(str::as_bytes),
                Duration::from_secs(180),
            )
        };
        let mut r = send();
        // chromedriver has been seen, on a loaded machine, to close a connection without an
        // answer. A request that changes nothing but the page shown is sent once more; for
        // any other, or a second silence, the failure says what chromedriver logged.
        if r.status == 0 && (method == "GET" || path == "/url") {
            std::thread::sleep(Duration::from_millis(500));
            r = send();
        }
        if r.status == 0 {
            let alive = Path::new(&format!("/proc/{}", self.driver.id())).exists();
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "{method} {path}: chromedriver gave no answer (it is {}); its log ends:\n{}",
                if alive { "still running" } else { "gone" },
                tail.join("\n")
            );
        }
        let status = r.status;
        (status, r.json()["value"].clone())
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method, path, body);
        assert_eq!(status, 200, "{method} {path}: {value}");
        value
    }

    fn go(&self, url: &str) {
        self.ok("POST", "/url", Some(json!({"url": url})));
    }

    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, value) = self.call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            );
            if status == 200 {
                return value[ELEMENT].as_str().expect("element id").to_string();
            }
            assert!(Instant::now() < deadline, "no element {css:?}: {value}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.ok("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.ok("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn source(&self) -> String {
        self.ok("GET", "/source", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// No alert, confirm or prompt dialog is open.
    #[track_caller]
    fn no_dialog(&self) {
        let (status, value) = self.call("GET", "/alert/text", None);
        assert_eq!(status, 404, "a dialog is open: {value}");
        assert_eq!(value["error"], "no such alert", "{value}");
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let data = self.ok("GET", "/screenshot", None);
        let png = base64(data.as_str().expect("base64"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/serve-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            &self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            &[],
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (WebDriver screenshots).
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn the_dashboard_in_headless_chromium() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        eprintln!(
            "skipped: {CHROMEDRIVER} or {CHROMIUM} is absent (apt-get install chromium \
             chromium-driver; .ci/run does)"
        );
        return;
    }
    let env = Env::new();
    let server = Server::start(&env, &[]);
    let schedule = |body: Value| {
        let r = server.api("POST", "/api/v1/tasks", Some(&body.to_string()));
        assert_eq!(r.status, 201, "{}", r.body);
    };
    schedule(
        json!({"when": "3h", "summary": "Water the plants", "id": "plants",
        "key_points": ["the balcony ones first"]}),
    );
    schedule(
        json!({"when": "tomorrow 9am", "summary": "Resume the architecture review",
        "id": "review", "every": "1d"}),
    );
    schedule(json!({"when": "2026-04-08 10:00", "summary": "An overdue reminder", "id": "late"}));
    schedule(json!({"when": "5h", "id": "hostile",
        "summary": "<script>alert('xss')</script>\"><img src=x onerror=alert(1)> \u{202e}gnp.exe \u{1b}[31m",
        "key_points": ["<svg onload=alert(2)>"]}));
    let base = format!("http://{}", server.addr);
    let browser = Browser::start();

    // Not signed in: the dashboard refuses and says how to sign in.
    browser.go(&format!("{base}/tasks"));
    assert!(browser.source().contains("login link"));

    // Log in with the printed link: the Overview; then Upcoming, the task a mark on the
    // timeline.
    browser.go(&format!("{base}/login?token={}", server.token));
    assert!(browser.text("h1").contains("Overview"));
    browser.go(&format!("{base}/upcoming"));
    assert!(browser.text("h1").contains("Upcoming"));
    browser.find("svg#timeline a[href='/tasks/plants'] circle.mark.scheduled");
    browser.find("svg#timeline circle.mark.overdue");
    browser.no_dialog();
    browser.screenshot("upcoming");
    browser.go(&format!("{base}/upcoming?range=7d"));
    browser.find("svg#timeline a[href='/tasks/review']");
    browser.screenshot("upcoming-7d");

    // The Tasks table.
    browser.go(&format!("{base}/tasks"));
    let table = browser.text("table#tasks");
    assert!(table.contains("Water the plants"), "{table}");
    assert!(table.contains("in 3h"), "{table}");
    assert!(
        table.contains("every 1d") || table.contains("1d"),
        "{table}"
    );
    browser.no_dialog();
    browser.screenshot("tasks");

    // The hostile summary shows as text and runs nothing.
    browser.go(&format!("{base}/tasks/hostile"));
    browser.no_dialog();
    let heading = browser.text("h1");
    assert!(
        heading.contains("<script>alert('xss')</script>"),
        "{heading}"
    );
    assert!(heading.contains("\\u{202e}gnp.exe"), "{heading}");
    browser.screenshot("hostile");

    // Open a task from the table, cancel it through the confirmation page, see the result.
    browser.go(&format!("{base}/tasks"));
    browser.click("a[href='/tasks/plants']");
    assert!(browser.text("h1").contains("Water the plants"));
    browser.screenshot("task");
    browser.click("a.button.cancel");
    assert!(browser.text("h1").contains("Cancel this task"));
    browser.screenshot("confirm");
    let reason = browser.find("input[name='reason']");
    browser.ok(
        "POST",
        &format!("/element/{reason}/value"),
        Some(json!({"text": "it rained"})),
    );
    browser.click("button#confirm");
    let result = browser.text("#result");
    assert!(
        result.contains("Cancelled: the task will not run."),
        "{result}"
    );
    let record = browser.text("table.record");
    assert!(
        record.contains("cancelled") && record.contains("it rained"),
        "{record}"
    );
    browser.screenshot("cancelled");
    let stored = server.api("GET", "/api/v1/tasks/plants", None).json();
    assert_eq!(stored["task"]["status"], "cancelled");

    // Health.
    browser.go(&format!("{base}/health"));
    browser.find("section.card");
    browser.screenshot("health");
    browser.no_dialog();

    // The dark scheme follows the system setting.
    browser.ok(
        "POST",
        "/goog/cdp/execute",
        Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]}})),
    );
    browser.go(&format!("{base}/tasks"));
    browser.screenshot("tasks-dark");
    browser.go(&format!("{base}/upcoming"));
    browser.screenshot("upcoming-dark");
    browser.go(&format!("{base}/"));
    browser.screenshot("overview-dark");
}

/// The operator's pages, on both stores: the overview's counts and chart, a bulk retry of 51
/// failed tasks, the new-task form with its live preview, the series view, a task with two
/// attempts, and the timeline's grouped dots.
fn the_operator_pages_in_headless_chromium(mut env: Env) {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        eprintln!(
            "skipped: {CHROMEDRIVER} or {CHROMIUM} is absent (apt-get install chromium \
             chromium-driver; .ci/run does)"
        );
        return;
    }
    let store = match env.kind() {
        crate::util::StoreKind::Jsonl => "jsonl",
        crate::util::StoreKind::Postgres => "postgres",
    };
    // Seeded an hour before the server's "now": 50 tasks that fail, one that fails twice
    // (a retry), a series and three tasks due at the same minute.
    let fail = env.script(
        "fail.sh",
        "cat >/dev/null\necho 'the build broke' >&2\nexit 3",
    );
    env.set("DEFER_EXECUTOR", fail.as_os_str());
    env.set("DEFER_NOW", "2026-04-08T15:00:00Z");
    for i in 0..50 {
        env.ok(&[
            "schedule",
            "--when",
            "now",
            "--summary",
            &format!("nightly build {i}"),
        ]);
    }
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "flaky deploy",
        "--id",
        "twice",
        "--max-retries",
        "1",
    ]);
    env.ok(&["run"]);
    env.set("DEFER_NOW", "2026-04-08T15:05:00Z");
    env.ok(&["run"]);
    env.set("DEFER_NOW", "2026-04-08T16:00:00Z");
    env.ok(&[
        "schedule",
        "--when",
        "every weekday at 9am",
        "--summary",
        "Standup notes",
    ]);
    for i in 0..3 {
        env.ok(&[
            "schedule",
            "--when",
            "2h",
            "--summary",
            &format!("batch {i}"),
        ]);
    }
    let server = Server::start(&env, &[]);
    let base = format!("http://{}", server.addr);
    let browser = Browser::start();
    browser.go(&format!("{base}/login?token={}", server.token));

    // The overview: counts that link to their tasks, and the chart of the last day.
    let counts = browser.text("ul#counts");
    assert!(
        counts.contains("51") && counts.contains("failed in 24 h"),
        "{counts}"
    );
    browser.find("a.tally.failed[href='/tasks?status=failed&since=24h']");
    browser.find("svg#hourly rect.seg.failed");
    browser.find("svg#daily rect.seg.failed");
    browser.no_dialog();
    browser.screenshot(&format!("overview-{store}"));

    // A running task's page shows what its executor prints, as it prints it, then reloads
    // when the attempt ends.
    let release = env.dir.path().join("release");
    let two = env.script(
        "two.sh",
        &format!(
            "cat >/dev/null\necho 'first line'\necho 'thinking' >&2\n\
             i=0\nwhile [ ! -f '{}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n\
             echo 'second line'",
            release.display()
        ),
    );
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "watch me",
        "--id",
        "live",
    ]);
    let mut runner = env
        .cmd(&["run", "--id", "live"])
        .env("DEFER_EXECUTOR", &two)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn defer run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.api("GET", "/api/v1/tasks/live/logs", None).json()["running"] != true {
        assert!(Instant::now() < deadline, "live never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.go(&format!("{base}/tasks/live"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !browser.text("pre#live-out").contains("first line") {
        assert!(Instant::now() < deadline, "no live output");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!browser.text("pre#live-out").contains("second line"));
    browser.screenshot(&format!("task-live-{store}"));
    std::fs::write(&release, b"").expect("release");
    assert!(runner.wait().expect("runner").success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !browser.source().contains("Attempt 1 (completed, exit 0)") {
        assert!(
            Instant::now() < deadline,
            "the page did not reload at the end"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(browser.text("main").contains("second line"));

    // Three tasks due at the same minute share one dot with their count, linking below.
    browser.go(&format!("{base}/upcoming"));
    let group = browser.text("svg#timeline text.mark-count");
    assert_eq!(group, "3");
    let link = browser.find("svg#timeline a.mark-link[href^='#group-']");
    let href = browser.ok("GET", &format!("/element/{link}/attribute/href"), None);
    let anchor = href
        .as_str()
        .expect("href")
        .trim_start_matches('#')
        .to_string();
    browser.find(&format!("tr#{anchor}"));
    browser.screenshot(&format!("upcoming-grouped-{store}"));

    // Bulk retry of every failed task: a confirmation that says how many, then the result.
    browser.go(&format!("{base}/tasks?status=failed"));
    browser.click("a#retry-all");
    assert_eq!(browser.text("h1"), "Retry 51 tasks?");
    browser.screenshot(&format!("bulk-confirm-{store}"));
    browser.click("button#confirm");
    let result = browser.text("#result");
    assert!(result.contains("retried of 51 task(s): 51"), "{result}");
    browser.screenshot(&format!("bulk-retried-{store}"));
    let failed = server
        .api("GET", "/api/v1/tasks?status=failed", None)
        .json();
    assert_eq!(failed["total"], 0, "{failed}");

    // A task with two attempts shows both, newest first, with their errors.
    browser.go(&format!("{base}/tasks/twice"));
    let attempts = browser.text("main");
    assert!(
        attempts.contains("Attempt 2 (failed, exit 3)")
            && attempts.contains("Attempt 1 (failed, exit 3)"),
        "{attempts}"
    );
    browser.screenshot(&format!("task-two-attempts-{store}"));

    // The new-task form reads the time as it is typed, then schedules.
    browser.go(&format!("{base}/tasks/new"));
    let when = browser.find("input#when");
    browser.ok(
        "POST",
        &format!("/element/{when}/value"),
        Some(json!({"text": "tomorrow 9am"})),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !browser
        .text("output#preview")
        .contains("Thu 2026-04-09 09:00")
    {
        assert!(
            Instant::now() < deadline,
            "no preview: {}",
            browser.text("output#preview")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let summary = browser.find("input#summary");
    browser.ok(
        "POST",
        &format!("/element/{summary}/value"),
        Some(json!({"text": "Made in the browser"})),
    );
    browser.screenshot(&format!("new-task-{store}"));
    browser.click("button#create");
    assert!(browser.text("#result").contains("Scheduled"));
    assert_eq!(browser.text("h1"), "Made in the browser");

    // The series view.
    browser.go(&format!("{base}/series"));
    let series = browser.text("table#series");
    assert!(
        series.contains("cron 0 9 * * 1-5") && series.contains("Standup notes"),
        "{series}"
    );
    browser.screenshot(&format!("series-{store}"));

    browser.no_dialog();
}
crate::on_both_stores!(the_operator_pages_in_headless_chromium);
