//! `/metrics` of `defer serve`, scraped over real HTTP and read with a strict parser of the
//! Prometheus text format (0.0.4) written here: every line must be a `# HELP`, a `# TYPE` or
//! a sample of the family typed last; names, label names and escapes as the format defines;
//! no series twice; a histogram's buckets cumulative, ending in `+Inf` equal to its `_count`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::serve::{Resp, Server, http};
use crate::on_both_stores;
use crate::util::Env;

// ---- the parser ---------------------------------------------------------------------------

/// One sample: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A metric family: its `# TYPE`, `# HELP` and samples.
#[derive(Debug, Clone, Default)]
struct Family {
    kind: String,
    help: String,
    samples: Vec<Sample>,
}

/// A parsed scrape.
#[derive(Debug, Default)]
struct Exposition {
    families: BTreeMap<String, Family>,
}

impl Exposition {
    /// Parses `text`, panicking with the line at the first thing the format does not allow.
    fn parse(text: &str) -> Exposition {
        let mut out = Exposition::default();
        let mut current: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "the last line must end"
        );
        for (n, line) in text.lines().enumerate() {
            let at = |why: &str| -> String { format!("line {}: {why}: {line:?}", n + 1) };
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let keyword = parts.next().unwrap_or("");
                let name = parts.next().unwrap_or("");
                let tail = parts.next().unwrap_or("");
                match keyword {
                    "HELP" => {
                        assert!(metric_name(name), "{}", at("bad metric name"));
                        let family = out.families.entry(name.to_string()).or_default();
                        assert!(family.help.is_empty(), "{}", at("a second HELP"));
                        family.help = unescape_help(tail)
                            .unwrap_or_else(|| panic!("{}", at("bad escape in HELP")));
                        current = Some(name.to_string());
                    }
                    "TYPE" => {
                        assert!(metric_name(name), "{}", at("bad metric name"));
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"].contains(&tail),
                            "{}",
                            at("unknown type")
                        );
                        let family = out.families.entry(name.to_string()).or_default();
                        assert!(family.kind.is_empty(), "{}", at("a second TYPE"));
                        assert!(family.samples.is_empty(), "{}", at("TYPE after samples"));
                        family.kind = tail.to_string();
                        current = Some(name.to_string());
                    }
                    _ => {} // a comment
                }
                continue;
            }
            assert!(!line.starts_with('#'), "{}", at("a comment needs '# '"));
            let sample = parse_sample(line).unwrap_or_else(|why| panic!("{}", at(&why)));
            let family_name = current
                .clone()
                .unwrap_or_else(|| panic!("{}", at("a sample before any TYPE")));
            let family = out.families.get_mut(&family_name).expect("family");
            assert!(
                !family.kind.is_empty(),
                "{}",
                at("a sample of an untyped family")
            );
            let allowed: Vec<String> = match family.kind.as_str() {
                "histogram" => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|s| format!("{family_name}{s}"))
                    .collect(),
                "summary" => ["", "_sum", "_count"]
                    .iter()
                    .map(|s| format!("{family_name}{s}"))
                    .collect(),
                _ => vec![family_name.clone()],
            };
            assert!(
                allowed.contains(&sample.name),
                "{}",
                at(&format!("not a sample of {family_name}"))
            );
            let key = format!("{}{:?}", sample.name, sample.labels);
            assert!(seen.insert(key), "{}", at("a series given twice"));
            family.samples.push(sample);
        }
        for (name, family) in &out.families {
            assert!(!family.kind.is_empty(), "{name} has no TYPE");
            if family.kind == "histogram" {
                check_histogram(name, family);
            }
            if family.kind == "counter" {
                for s in &family.samples {
                    assert!(s.value >= 0.0, "{name}: a negative counter");
                }
            }
        }
        out
    }

    fn family(&self, name: &str) -> &Family {
        self.families
            .get(name)
            .unwrap_or_else(|| panic!("no family {name} in {:?}", self.families.keys()))
    }

    /// The value of the series `name{labels}`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.families
            .values()
            .flat_map(|f| &f.samples)
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
            .unwrap_or_else(|| panic!("no series {name}{labels:?}"))
    }
}

/// Buckets named by `le`, cumulative, the last `+Inf` and equal to `_count`; `_sum` present.
fn check_histogram(name: &str, family: &Family) {
    let buckets: Vec<(f64, f64)> = family
        .samples
        .iter()
        .filter(|s| s.name.ends_with("_bucket"))
        .map(|s| {
            let le = s
                .labels
                .get("le")
                .unwrap_or_else(|| panic!("{name}: a bucket without le"));
            (
                parse_value(le).unwrap_or_else(|| panic!("{name}: le {le:?}")),
                s.value,
            )
        })
        .collect();
    assert!(!buckets.is_empty(), "{name}: no buckets");
    for pair in buckets.windows(2) {
        assert!(pair[0].0 < pair[1].0, "{name}: bounds not increasing");
        assert!(pair[0].1 <= pair[1].1, "{name}: buckets not cumulative");
    }
    let last = buckets.last().expect("a bucket");
    assert!(last.0.is_infinite(), "{name}: no +Inf bucket");
    let count = family
        .samples
        .iter()
        .find(|s| s.name == format!("{name}_count"))
        .unwrap_or_else(|| panic!("{name}: no _count"));
    assert_eq!(last.1, count.value, "{name}: +Inf bucket is not _count");
    assert!(
        family
            .samples
            .iter()
            .any(|s| s.name == format!("{name}_sum")),
        "{name}: no _sum"
    );
}

fn metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// HELP text: `\\` and `\n` are the only escapes.
fn unescape_help(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// `name`, optional `{k="v",…}`, a space, the value, optionally a space and a timestamp.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| "no value".to_string())?;
    let name = &line[..name_end];
    if !metric_name(name) {
        return Err("bad metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let end = loop {
            // A label name up to `=`, or the closing brace.
            let Some(&(start, c)) = chars.peek() else {
                return Err("unclosed labels".into());
            };
            if c == '}' {
                break start + 1;
            }
            let mut key_end = start;
            while let Some(&(i, c)) = chars.peek() {
                if c == '=' {
                    key_end = i;
                    break;
                }
                chars.next();
            }
            let key = &inner[start..key_end];
            if !label_name(key) {
                return Err(format!("bad label name {key:?}"));
            }
            chars.next(); // '='
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("a label value must be quoted".into());
            }
            let mut value = String::new();
            loop {
                match chars.next() {
                    None => return Err("unclosed label value".into()),
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        _ => return Err("bad escape in a label value".into()),
                    },
                    Some((_, '\n')) => return Err("a raw newline in a label value".into()),
                    Some((_, c)) => value.push(c),
                }
            }
            if labels.insert(key.to_string(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            match chars.peek().map(|&(_, c)| c) {
                Some(',') => {
                    chars.next();
                }
                Some('}') => {}
                _ => return Err("labels must be separated by ','".into()),
            }
        };
        rest = &inner[end..];
    }
    let rest = rest
        .strip_prefix(' ')
        .ok_or_else(|| "no space before the value".to_string())?;
    let mut fields = rest.split(' ');
    let value = fields
        .next()
        .and_then(parse_value)
        .ok_or_else(|| format!("bad value in {rest:?}"))?;
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if fields.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

#[test]
fn the_parser_refuses_what_the_format_does_not_allow() {
    let good = "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\n";
    let parsed = Exposition::parse(good);
    assert_eq!(parsed.value("a_total", &[("x", "q\"\\\n")]), 1.0);
    for bad in [
        "a 1\n",                                        // no TYPE
        "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", // a series twice
        "# TYPE a gauge\nb 1\n",                        // another family's sample
        "# TYPE a gauge\na{x=1} 1\n",                   // unquoted label value
        "# TYPE a gauge\na{x=\"\\q\"} 1\n",             // bad escape
        "# TYPE a gauge\na one\n",                      // bad value
        "# TYPE a gauge\na 1",                          // unterminated last line
        "# TYPE a histogram\na_bucket{le=\"1\"} 2\na_bucket{le=\"+Inf\"} 1\na_sum 1\na_count 1\n",
        "# TYPE a histogram\na_bucket{le=\"1\"} 1\na_sum 1\na_count 1\n", // no +Inf
        "# TYPE a gauge\n# TYPE a gauge\na 1\n",                          // TYPE twice
        "# TYPE 1a gauge\n",                                              // bad name
    ] {
        let refused = std::panic::catch_unwind(|| Exposition::parse(bad)).is_err();
        assert!(refused, "accepted {bad:?}");
    }
}

// ---- scraping -----------------------------------------------------------------------------

/// `GET /metrics` with the bearer token; it must be the text format and parse.
fn scrape(server: &Server) -> Exposition {
    let r = server.api("GET", "/metrics", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    Exposition::parse(&r.body)
}

fn schedule(server: &Server, body: Value) -> String {
    let r = server.api("POST", "/api/v1/tasks", Some(&body.to_string()));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().expect("id").to_string()
}

/// `defer_tasks{status}` is `defer list`'s count of each status, on the same store, and the
/// gauges of the state are there.
fn tasks_gauge_counts_what_list_counts(env: Env) {
    let server = Server::start(&env, &[]);
    for i in 0..4 {
        schedule(
            &server,
            json!({"when": "tomorrow 9am", "summary": format!("later {i}")}),
        );
    }
    schedule(&server, json!({"when": "in 1m", "summary": "soon"}));
    let cancelled = schedule(
        &server,
        json!({"when": "tomorrow 10am", "summary": "dropped"}),
    );
    env.ok(&["cancel", &cancelled, "--reason", "not needed"]);

    let metrics = scrape(&server);
    assert_eq!(metrics.family("defer_tasks").kind, "gauge");
    assert!(!metrics.family("defer_tasks").help.is_empty());
    let mut total = 0.0;
    for status in ["scheduled", "executing", "completed", "failed", "cancelled"] {
        let listed = env.ok(&["list", "--status", status, "--json"]).json();
        let listed = listed.as_array().expect("a JSON array").len() as f64;
        let gauge = metrics.value("defer_tasks", &[("status", status)]);
        assert_eq!(gauge, listed, "{status}");
        total += gauge;
    }
    assert_eq!(total, 6.0);
    assert_eq!(
        metrics.value("defer_tasks", &[("status", "scheduled")]),
        5.0
    );
    assert_eq!(
        metrics.value("defer_tasks", &[("status", "cancelled")]),
        1.0
    );
    assert_eq!(metrics.value("defer_store_paused", &[]), 0.0);
    assert_eq!(metrics.value("defer_runner_fault", &[]), 0.0);
    // No runner woke here and none runs in the server: nothing to say about either.
    assert!(
        !metrics
            .families
            .contains_key("defer_runner_last_wake_timestamp_seconds")
    );
    assert!(!metrics.families.contains_key("defer_task_attempts_total"));

    env.ok(&["pause"]);
    env.ok(&["run"]);
    let metrics = scrape(&server);
    assert_eq!(metrics.value("defer_store_paused", &[]), 1.0);
    // DEFER_NOW is 2026-04-08T16:35:00Z in these tests: the wake record says so.
    assert_eq!(
        metrics.value("defer_runner_last_wake_timestamp_seconds", &[]),
        1_775_666_100.0
    );
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}
on_both_stores!(tasks_gauge_counts_what_list_counts);

/// Polls `/metrics` until `pred` holds (60 s: the suite shares the machine).
fn scrape_until(server: &Server, pred: impl Fn(&Exposition) -> bool) -> Exposition {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = scrape(server);
        if pred(&metrics) {
            return metrics;
        }
        assert!(Instant::now() < deadline, "never matched: {metrics:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// With `--run`: after tasks ran, the attempts counter per outcome and the histograms' counts
/// match the attempts the tasks' histories hold.
fn the_runner_counts_its_attempts(mut env: Env) {
    env.unset("DEFER_NOW");
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    let exec = env.script(
        "exec.sh",
        "input=$(cat)\ncase \"$input\" in *fail-me*) echo no >&2; exit 3;; esac\nexit 0",
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    let server = Server::start(&env, &["--run"]);
    let before = scrape(&server);
    for outcome in [
        "completed",
        "failed",
        "timed_out",
        "killed",
        "interrupted",
        "released",
        "missed",
    ] {
        assert_eq!(
            before.value("defer_task_attempts_total", &[("outcome", outcome)]),
            0.0,
            "{outcome} is named from the start"
        );
    }
    assert_eq!(before.family("defer_task_attempts_total").kind, "counter");
    assert_eq!(before.value("defer_task_duration_seconds_count", &[]), 0.0);

    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(schedule(
            &server,
            json!({"when": "now", "summary": format!("ok {i}")}),
        ));
    }
    ids.push(schedule(
        &server,
        json!({"when": "now", "summary": "fail-me once", "max_retries": 0}),
    ));
    ids.push(schedule(
        &server,
        json!({"when": "now", "summary": "fail-me twice", "max_retries": 1}),
    ));
    // Five tasks, six attempts: three complete, two fail with no retry left after the
    // second try of the last one.
    let metrics = scrape_until(&server, |m| {
        m.value("defer_task_attempts_total", &[("outcome", "completed")]) == 3.0
            && m.value("defer_task_attempts_total", &[("outcome", "failed")]) == 3.0
    });
    let mut attempts = 0;
    for id in &ids {
        let show = server
            .api("GET", &format!("/api/v1/tasks/{id}"), None)
            .json();
        let status = show["task"]["status"].as_str().unwrap_or("").to_string();
        assert!(["completed", "failed"].contains(&status.as_str()), "{show}");
        attempts += show["task"]["history"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(attempts, 6);
    let counted: f64 = metrics
        .family("defer_task_attempts_total")
        .samples
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(counted, 6.0);
    for histogram in ["defer_task_duration_seconds", "defer_task_lateness_seconds"] {
        assert_eq!(metrics.family(histogram).kind, "histogram");
        assert_eq!(
            metrics.value(&format!("{histogram}_count"), &[]),
            6.0,
            "{histogram}"
        );
        assert_eq!(
            metrics.value(&format!("{histogram}_bucket"), &[("le", "+Inf")]),
            6.0
        );
        assert!(metrics.value(&format!("{histogram}_sum"), &[]) >= 0.0);
    }
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}
on_both_stores!(the_runner_counts_its_attempts);

#[test]
fn metrics_need_the_token() {
    let env = Env::new();
    let server = Server::start(&env, &[]);
    let r = http(&server.addr, "GET", "/metrics", &[], None);
    unauthorized(&r);
    let r = http(
        &server.addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer not-the-token")],
        None,
    );
    unauthorized(&r);
    // The dashboard's cookie is not a bearer token.
    let cookie = format!("defer_session={}", server.token);
    let r = http(
        &server.addr,
        "GET",
        "/metrics",
        &[("Cookie", &cookie)],
        None,
    );
    unauthorized(&r);
    scrape(&server);
    drop(server.stop());
}

fn unauthorized(r: &Resp) {
    r.problem(401, "token");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
}

#[test]
fn metrics_public_serves_on_loopback_only() {
    let env = Env::new();
    let server = Server::start(&env, &["--metrics-public"]);
    let r = http(&server.addr, "GET", "/metrics", &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    Exposition::parse(&r.body);
    // Only /metrics is open: the API still needs the token, and so does the dashboard.
    let r = http(&server.addr, "GET", "/api/v1/tasks", &[], None);
    assert_eq!(r.status, 401, "{}", r.body);
    let r = http(&server.addr, "GET", "/tasks", &[], None);
    assert_eq!(r.status, 401, "{}", r.body);
    // The Host check still holds (DNS rebinding).
    let r = http(
        &server.addr,
        "GET",
        "/metrics",
        &[("Host", "evil.example")],
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    drop(server.stop());

    for addr in ["0.0.0.0:0", "[::]:0"] {
        let run = env.run(&["serve", "--listen", addr, "--metrics-public"]);
        if addr.starts_with('[') && run.stderr.contains("cannot listen") {
            continue; // no IPv6 on this host
        }
        assert_eq!(run.code, Some(1), "{addr}: {}", run.stderr);
        assert!(
            run.stderr.contains("--metrics-public") && run.stderr.contains("loopback"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "nothing was served: {}", run.stdout);
    }
}
