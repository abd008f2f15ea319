//! `defer serve` under load (`cargo bench --bench serve`): requests per second and p50/p99
//! latency of `GET /api/v1/tasks` (the first page) over a 100,000-task store and of `POST
//! /api/v1/tasks` (schedule), from one client on one keep-alive loopback connection.
//!
//! The store is written directly in the reference format (as `benches/harness.rs` does). Under
//! `cargo test --all-targets` (no `--bench` flag) it runs as a smoke test: 1,000 tasks, a few
//! requests, and only checks that every answer was a success.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
mod server;

use server::{Client, Server};

const DEFER: &str = env!("CARGO_BIN_EXE_defer");
/// Far enough ahead that no task is due while the bench runs.
const FUTURE: &str = "2027-04-08T16:35:00Z";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn measure(client: &mut Client, n: usize, method: &str, path: &str, body: &str, ok: u16) -> String {
    let mut times = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let status = client.request(method, path, body);
        times.push(t.elapsed());
        assert_eq!(status, ok, "{method} {path}");
    }
    summary(times, start.elapsed())
}

fn summary(mut times: Vec<Duration>, total: Duration) -> String {
    let n = times.len();
    times.sort();
    format!(
        "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({n} requests)",
        n as f64 / total.as_secs_f64(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
    )
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (tasks, gets, posts) = if full {
        (100_000, 200, 1_000)
    } else {
        (1_000, 5, 5)
    };
    let base = std::env::var_os("DEFER_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("defer-serve-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("bench dir");
    let mut text = String::with_capacity(tasks * 650);
    for i in 0..tasks {
        text.push_str(&common::record(i, FUTURE));
        text.push('\n');
    }
    fs::write(dir.join("deferred.jsonl"), text).expect("write store");
    println!(
        "serve bench: {} mode, {tasks} tasks, binary {DEFER}",
        if full { "full" } else { "smoke" }
    );
    println!("-- JSONL store");
    let mut server = Server::start(DEFER.as_ref(), &dir, &[]);
    pages(&mut server.client, tasks, gets);
    changes(&mut server.client, tasks, gets, posts);
    println!(
        "peak RSS of defer serve: {:.1} MiB",
        server.peak_rss_kib() as f64 / 1024.0
    );
    server.stop();

    // The same store imported into PostgreSQL: pages are counted and read by queries.
    match std::env::var("DEFER_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("serve_bench_{}", std::process::id());
            let db = [
                ("DEFER_DATABASE_URL", url.as_str()),
                ("DEFER_DATABASE_SCHEMA", schema.as_str()),
            ];
            let work = dir.join("pg");
            fs::create_dir_all(&work).expect("pg dir");
            let import = Command::new(DEFER)
                .args(["import", "--runtime-dir"])
                .arg(&dir)
                .env("DEFER_RUNTIME_DIR", &work)
                .envs(db)
                .output()
                .expect("import");
            assert!(import.status.success(), "import: {import:?}");
            println!("-- PostgreSQL store");
            let mut server = Server::start(DEFER.as_ref(), &work, &db);
            pages(&mut server.client, tasks, gets);
            println!(
                "peak RSS of defer serve: {:.1} MiB",
                server.peak_rss_kib() as f64 / 1024.0
            );
            server.stop();
            if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
        _ => println!("-- PostgreSQL store: skipped, DEFER_TEST_DATABASE_URL is not set"),
    }
    let _ = fs::remove_dir_all(&dir);
}

/// The first page, from the API and as the dashboard's Tasks page.
fn pages(client: &mut Client, tasks: usize, gets: usize) {
    // Warm the page cache and the server.
    client.request("GET", "/api/v1/tasks", "");
    let list = measure(client, gets, "GET", "/api/v1/tasks", "", 200);
    println!("GET /api/v1/tasks (first page of 50, {tasks} tasks): {list}");
    client.request("GET", "/tasks", "");
    let page = measure(client, gets, "GET", "/tasks", "", 200);
    println!("GET /tasks (dashboard Tasks page, first page, {tasks} tasks): {page}");
}

/// Schedule, and the first page right after a change.
fn changes(client: &mut Client, tasks: usize, gets: usize, posts: usize) {
    let body = r#"{"when": "30m", "summary": "bench"}"#;
    let post = measure(client, posts, "POST", "/api/v1/tasks", body, 201);
    println!("POST /api/v1/tasks (schedule, {tasks}-task store): {post}");
    // The store just changed before every one of these: nothing read before can be reused.
    let mut times = Vec::with_capacity(gets);
    for _ in 0..gets {
        assert_eq!(client.request("POST", "/api/v1/tasks", body), 201);
        let t = Instant::now();
        assert_eq!(client.request("GET", "/tasks", ""), 200);
        times.push(t.elapsed());
    }
    let busy = times.iter().sum();
    let changed = summary(times, busy);
    println!("GET /tasks right after a schedule (first page, {tasks} tasks): {changed}");
    // A cancel rewrites the store (a new file): the next page reads it from scratch.
    let rewrites = gets.min(20);
    let mut times = Vec::with_capacity(rewrites);
    for i in 0..rewrites {
        let cancel = format!("/api/v1/tasks/task_20260408_163500_{i:06}/cancel");
        assert_eq!(client.request("POST", &cancel, "{}"), 200);
        let t = Instant::now();
        assert_eq!(client.request("GET", "/tasks", ""), 200);
        times.push(t.elapsed());
    }
    let busy = times.iter().sum();
    let rewritten = summary(times, busy);
    println!("GET /tasks right after a cancel (first page, {tasks} tasks): {rewritten}");
}
