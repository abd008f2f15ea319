//! The `million` section: one store of `plan.million` tasks in PostgreSQL and one of `plan.big`
//! tasks in JSONL, each holding `plan.million_due` due tasks, the rest in the future, and a
//! tenth as many failed tasks in the archive; then every command an operator runs against a
//! store that size, timed and with its peak resident memory, and the due tasks run beside the
//! spawn loops that are their floor.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::common::record;
use super::server::{Client, Server};
use super::{
    DEFER, FUTURE, PAST, Plan, defer, fmt, median_ratio, peak_rss_kib, spawn_bash, spawn_true,
    stats, timed,
};

/// Before every due task: `run` then finds nothing to do.
const EARLY: &str = "2026-04-08T15:00:00Z";

/// A runtime dir in the reference format: `n` active tasks of which the first `due` are due
/// at `PAST`, and `n / 10` failed ones in the archive. Written through a buffer: a million
/// records are 650 MB.
fn seed(root: &Path, name: &str, n: usize, due: usize) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(dir.join("archive")).expect("mkdir");
    let mut active = BufWriter::new(File::create(dir.join("deferred.jsonl")).expect("create"));
    for i in 0..n {
        let at = if i < due { PAST } else { FUTURE };
        writeln!(active, "{}", record(i, at)).expect("write");
    }
    active.flush().expect("flush");
    let archive = dir.join("archive/deferred_202604.jsonl");
    let mut archive = BufWriter::new(File::create(archive).expect("create"));
    for i in n..n + n / 10 {
        let failed = record(i, PAST).replace(
            r#""status":"scheduled","attempts":0"#,
            r#""status":"failed","attempts":1"#,
        );
        writeln!(archive, "{failed}").expect("write");
    }
    archive.flush().expect("flush");
    dir
}

/// Wall time and peak RSS (KiB) of one run of `cmd`, measured by the harness's helper.
fn timed_rss(cmd: &Command) -> (Duration, i64) {
    let start = Instant::now();
    let rss = peak_rss_kib(cmd);
    (start.elapsed(), rss)
}

fn mib(kib: i64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Median wall time of `reps` requests for `path` after one to warm up.
fn page(client: &mut Client, path: &str, reps: usize) -> Vec<Duration> {
    assert_eq!(client.request("GET", path, ""), 200, "GET {path}");
    (0..reps)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(client.request("GET", path, ""), 200, "GET {path}");
            start.elapsed()
        })
        .collect()
}

/// p50 and p99 of `samples`, in ms.
pub fn p50_p99(samples: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99))
}

/// The rows for one store: `label` names it, `env` points `defer` at it, `n`/`due` describe
/// `seed`, the runtime dir it is imported from.
fn rows(
    root: &Path,
    plan: &Plan,
    label: &str,
    env: &[(&str, &str)],
    seed: &Path,
    n: usize,
    due: usize,
) -> Vec<String> {
    let work = root.join(format!("scale-work-{label}"));
    fs::create_dir_all(&work).expect("mkdir");
    let cmd = |args: &[&str]| {
        let mut c = defer(&work, args);
        c.envs(env.iter().copied());
        c
    };
    let mut lines = Vec::new();
    let archived = n / 10;

    let import = cmd(&["import", "--runtime-dir", seed.to_str().expect("utf8")]);
    let (wall, rss) = timed_rss(&import);
    lines.push(format!(
        "| {label}: `import` of {n} active + {archived} archived tasks | {:.0} ms | **{:.0} tasks/s**; peak RSS {} |",
        wall.as_secs_f64() * 1e3,
        (n + archived) as f64 / wall.as_secs_f64(),
        mib(rss)
    ));

    let idle = || {
        let mut c = cmd(&["run"]);
        c.env("DEFER_NOW", EARLY);
        c
    };
    let runs: Vec<Duration> = (0..plan.scan_reps).map(|_| timed(&mut idle())).collect();
    lines.push(format!(
        "| {label}: `run`, nothing due, {n} tasks | {} | peak RSS {} |",
        fmt(&stats(&runs)),
        mib(peak_rss_kib(&idle()))
    ));

    let failed = || cmd(&["list", "--status", "failed", "--compact"]);
    let lists: Vec<Duration> = (0..plan.scan_reps.min(3))
        .map(|_| timed(&mut failed()))
        .collect();
    lines.push(format!(
        "| {label}: `list --status failed` ({archived} archived failures, piped) | {} | peak RSS {} |",
        fmt(&stats(&lists)),
        mib(peak_rss_kib(&failed()))
    ));

    let mut server = Server::start(DEFER.as_ref(), &work, env);
    for (what, path) in [
        ("API `GET /api/v1/tasks`, first page of 50", "/api/v1/tasks"),
        ("dashboard `GET /tasks`, first page", "/tasks"),
        ("dashboard `GET /`, the overview", "/"),
    ] {
        let samples = page(&mut server.client, path, plan.page_reps);
        let (p50, p99) = p50_p99(&samples);
        lines.push(format!(
            "| {label}: {what} | {} | p50 {p50:.2} ms, p99 {p99:.2} ms over {} requests |",
            fmt(&stats(&samples)),
            samples.len()
        ));
    }
    lines.push(format!(
        "| {label}: peak RSS of `defer serve` after those pages | {} | |",
        mib(server.peak_rss_kib() as i64)
    ));
    server.stop();

    let mut run = cmd(&["run"]);
    run.env("DEFER_EXECUTOR", "/bin/true");
    let bash = spawn_bash(due);
    let spawn = spawn_true(due);
    let (wall, rss) = timed_rss(&run);
    let mut ratios: Vec<f64> = bash
        .map(|b| wall.as_secs_f64() / b.as_secs_f64())
        .into_iter()
        .collect();
    let done = cmd(&["list", "--status", "completed", "--compact"])
        .output()
        .expect("list");
    let completed = serde_json::from_slice::<serde_json::Value>(&done.stdout)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0);
    assert_eq!(completed, due, "{label}: every due task completed");
    lines.push(format!(
        "| {label}: `run`, {due} due among {n}, `/bin/true` | {:.0} ms | {}ratio to the Rust spawn loop {:.2}× ({:.0} ms); peak RSS {} |",
        wall.as_secs_f64() * 1e3,
        median_ratio("bash loop", &mut ratios),
        wall.as_secs_f64() / spawn.as_secs_f64(),
        spawn.as_secs_f64() * 1e3,
        mib(rss)
    ));
    lines
}

/// The section: PostgreSQL at `plan.million` (when a database is configured), JSONL at
/// `plan.big`.
pub fn million(root: &Path, plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    match std::env::var("DEFER_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let n = plan.million;
            let dir = seed(root, "million-seed", n, plan.million_due);
            let schema = format!("bench_million_{}", std::process::id());
            let env = [
                ("DEFER_DATABASE_URL", url.as_str()),
                ("DEFER_DATABASE_SCHEMA", schema.as_str()),
                ("DEFER_CLAIM_BATCH", "50"),
            ];
            lines.extend(rows(
                root,
                plan,
                "PostgreSQL",
                &env,
                &dir,
                n,
                plan.million_due,
            ));
            let _ = fs::remove_dir_all(&dir);
            if let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
        _ => lines.push(
            "| PostgreSQL at a million tasks | skipped | DEFER_TEST_DATABASE_URL is not set |"
                .into(),
        ),
    }
    let n = plan.big;
    let dir = seed(root, "jsonl-scale-seed", n, plan.million_due);
    lines.extend(rows(root, plan, "JSONL", &[], &dir, n, plan.million_due));
    lines
}
