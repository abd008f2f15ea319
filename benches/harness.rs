//! Whole-process benchmark harness for `defer` (`cargo bench`).
//!
//! Builds on the release binary cargo provides, generates stores in the reference format
//! directly (not by calling `defer` 100,000 times), and times real invocations, reporting
//! min / median / max. Comparisons are made as ratios inside one run, because the machine is
//! shared and noisy. Under `cargo test --all-targets` (no `--bench` flag) it runs as a smoke
//! test at a reduced size and asserts only that every measured command succeeded.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

mod common;
mod scale;
mod server;
mod startup;

use common::record;
use startup::startup;

const DEFER: &str = env!("CARGO_BIN_EXE_defer");

/// Sizes and repetitions of one harness run.
struct Plan {
    store_sizes: Vec<usize>,
    big: usize,
    due_sizes: Vec<usize>,
    schedule_reps: usize,
    scan_reps: usize,
    due_reps: usize,
    parse_iterations: usize,
    pg_tasks: usize,
    pg_reps: usize,
    watch_reps: usize,
    startup_reps: usize,
    /// PostgreSQL's store in the `million` section (JSONL's is `big`).
    million: usize,
    /// Due tasks among them, run by one runner.
    million_due: usize,
    page_reps: usize,
    /// How long an idle watcher is left alone while its wake-ups are counted.
    idle: Duration,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            store_sizes: vec![1_000, 10_000, 100_000],
            big: 100_000,
            due_sizes: vec![100, 1_000, 10_000],
            schedule_reps: 41,
            scan_reps: 9,
            due_reps: 3,
            parse_iterations: 200_000,
            pg_tasks: 1_000,
            pg_reps: 5,
            watch_reps: 100,
            startup_reps: 301,
            million: 1_000_000,
            million_due: 10_000,
            page_reps: 50,
            idle: Duration::from_secs(60),
        }
    }

    fn smoke() -> Plan {
        Plan {
            store_sizes: vec![1_000],
            big: 1_000,
            due_sizes: vec![20],
            schedule_reps: 3,
            scan_reps: 2,
            due_reps: 1,
            parse_iterations: 2_000,
            pg_tasks: 100,
            pg_reps: 1,
            watch_reps: 2,
            startup_reps: 3,
            million: 2_000,
            million_due: 20,
            page_reps: 2,
            idle: Duration::from_secs(1),
        }
    }
}

/// min / median / max of a series, in milliseconds.
struct Stats {
    min: f64,
    median: f64,
    max: f64,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    Stats {
        min: ms[0],
        median: ms[ms.len() / 2],
        max: ms[ms.len() - 1],
    }
}

fn fmt(s: &Stats) -> String {
    format!("{:.2} / **{:.2}** / {:.2}", s.min, s.median, s.max)
}

/// Runs `cmd` to completion and returns its wall time; panics if it failed.
fn timed(cmd: &mut Command) -> Duration {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().expect("spawn");
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    wall
}

/// Peak resident memory (KiB) of the command `cmd` would run.
///
/// Measured by a fresh copy of this harness (`--measure-child`), because a child's `ru_maxrss`
/// includes the memory of the process that spawned it (the spawn shares its address space
/// until `exec`): measured from here it would count the harness's own stores.
fn peak_rss_kib(cmd: &Command) -> i64 {
    let mut helper = Command::new(std::env::current_exe().expect("harness path"));
    helper
        .arg("--measure-child")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    helper.env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            helper.env(key, value);
        }
    }
    let out = helper.stdin(Stdio::null()).output().expect("spawn helper");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "measuring {cmd:?} failed: {text}");
    text.trim().parse().expect("helper prints KiB")
}

/// The `--measure-child PROGRAM ARGS...` mode: run it, print its peak RSS in KiB.
fn measure_child(args: &[String]) -> ! {
    let mut cmd = Command::new(&args[0]);
    cmd.args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // Reaped below by wait4, which (unlike `Child::wait`) reports the child's resource usage.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child; status and usage are valid for writes.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let ok = rc == pid && ExitStatus::from_raw(status).success();
    println!("{}", usage.ru_maxrss);
    std::process::exit(if ok { 0 } else { 1 });
}

fn defer(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(DEFER);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DEFER_RUNTIME_DIR", dir)
        .env("DEFER_TIMEZONE", "UTC")
        .env("DEFER_NOW", "2026-04-08T16:35:00Z")
        .stdin(Stdio::null());
    cmd
}

/// A fresh runtime dir holding `n` tasks due at `run_at`.
///
/// Every call gets a new directory and none is removed before the end of the harness run:
/// on ext4, creating files right after deleting many (the prompt artifacts of the previous
/// repetition) takes a slow path in the inode allocator, which would be measured as ours.
fn store(root: &Path, name: &str, n: usize, run_at: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = root.join(format!("{name}-{k}"));
    fs::create_dir_all(&dir).expect("mkdir");
    let mut text = String::with_capacity(n * 650);
    for i in 0..n {
        text.push_str(&record(i, run_at));
        text.push('\n');
    }
    fs::write(dir.join("deferred.jsonl"), text).expect("write store");
    dir
}

const FUTURE: &str = "2027-04-08T16:35:00Z";
const PAST: &str = "2026-04-08T16:00:00Z";

/// The harness's sections, in the order they run; any of them named on the command line are
/// the only ones run.
const SECTIONS: &[&str] = &[
    "startup", "schedule", "scan", "due", "parse", "watch", "postgres", "pgscale", "million",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--measure-child") {
        measure_child(&args[2..]);
    }
    let full = args.iter().any(|a| a == "--bench");
    // `cargo bench --bench harness -- postgres due` runs only the sections named.
    let only: Vec<&str> = args[1..]
        .iter()
        .map(String::as_str)
        .filter(|a| SECTIONS.contains(a))
        .collect();
    // Under `cargo bench` every other word is a mistake (under `cargo test`, a test filter).
    if let Some(unknown) = args[1..]
        .iter()
        .find(|a| full && !a.starts_with("--") && !SECTIONS.contains(&a.as_str()))
    {
        eprintln!(
            "harness: no section {unknown:?}; name some of: {}",
            SECTIONS.join(", ")
        );
        std::process::exit(2);
    }
    let wants = |section: &str| only.is_empty() || only.contains(&section);
    let plan = if full { Plan::full() } else { Plan::smoke() };
    let root = tempdir();
    let mut report = Vec::new();
    let mut out = |line: String| {
        println!("{line}");
        report.push(line);
    };
    out(format!(
        "harness: {} mode, binary {DEFER}",
        if full { "full" } else { "smoke" }
    ));

    out(String::new());
    out("| figure | min / **median** / max (ms) | note |".into());
    out("|---|---|---|".into());

    // --- start-up: whole processes, round by round beside at(1) and the previous build.
    if wants("startup") {
        for line in startup(&root, &plan, full) {
            out(line);
        }
    }

    // --- schedule: empty store vs the big store, and the fsync's own cost.
    if wants("schedule") {
        let empty = store(&root, "empty", 0, FUTURE);
        let big = store(&root, "big", plan.big, FUTURE);
        let mut sched_empty = Vec::new();
        let mut sched_big = Vec::new();
        for _ in 0..plan.schedule_reps {
            let args = [
                "schedule",
                "--when",
                "30m",
                "--summary",
                "bench",
                "--compact",
            ];
            sched_empty.push(timed(&mut defer(&empty, &args)));
            sched_big.push(timed(&mut defer(&big, &args)));
        }
        let fsync = fsync_cost(&root, plan.schedule_reps);
        let (se, sb, fs_) = (stats(&sched_empty), stats(&sched_big), stats(&fsync));
        out(format!("| `schedule`, empty store | {} | |", fmt(&se)));
        out(format!(
            "| `schedule`, {}-task store | {} | ratio to empty: **{:.2}×** |",
            plan.big,
            fmt(&sb),
            sb.median / se.median
        ));
        out(format!(
            "| fsync of one appended line (`fdatasync`) | {} | part of each `schedule` |",
            fmt(&fs_)
        ));
    }

    // --- list --compact and run-with-nothing-due over stores of each size.
    if wants("scan") {
        let mut peak_list = 0;
        let mut peak_run = 0;
        for &n in &plan.store_sizes {
            let dir = store(&root, &format!("scan{n}"), n, FUTURE);
            let mut list = Vec::new();
            let mut run = Vec::new();
            for _ in 0..plan.scan_reps {
                list.push(timed(&mut defer(&dir, &["list", "--compact"])));
                run.push(timed(&mut defer(&dir, &["run"])));
            }
            if n == plan.big {
                peak_list = peak_rss_kib(&defer(&dir, &["list", "--compact"]));
                peak_run = peak_rss_kib(&defer(&dir, &["run"]));
            }
            out(format!(
                "| `list --compact`, {n} tasks | {} | |",
                fmt(&stats(&list))
            ));
            out(format!(
                "| `run`, nothing due, {n} future tasks | {} | |",
                fmt(&stats(&run))
            ));
        }
        out(format!(
            "| peak RSS, `list --compact` over {} tasks | {:.1} MiB | |",
            plan.big,
            peak_list as f64 / 1024.0
        ));
        out(format!(
            "| peak RSS, `run` (nothing due) over {} tasks | {:.1} MiB | |",
            plan.big,
            peak_run as f64 / 1024.0
        ));
    }

    // --- run with N due tasks and /bin/true, against spawning /bin/true N times.
    if wants("due") {
        let mut per_task = Vec::new();
        for &n in &plan.due_sizes {
            let mut runs = Vec::new();
            let mut spawns = Vec::new();
            let mut bash_ratios = Vec::new();
            for _ in 0..plan.due_reps {
                let dir = store(&root, &format!("due{n}"), n, PAST);
                let mut cmd = defer(&dir, &["run"]);
                cmd.env("DEFER_EXECUTOR", "/bin/true");
                let bash = spawn_bash(n);
                let run = timed(&mut cmd);
                runs.push(run);
                if let Some(bash) = bash {
                    bash_ratios.push(run.as_secs_f64() / bash.as_secs_f64());
                }
                let archived = count_lines(&dir.join("archive/deferred_202604.jsonl"));
                assert_eq!(archived, n, "every due task must be archived");
                spawns.push(spawn_true(n));
            }
            let dir = store(&root, &format!("due{n}"), n, PAST);
            let mut cmd = defer(&dir, &["run"]);
            cmd.env("DEFER_EXECUTOR", "/bin/true");
            let peak_due = peak_rss_kib(&cmd);
            let (r, s) = (stats(&runs), stats(&spawns));
            let ratio = r.median / s.median;
            per_task.push((n, (r.median - s.median) / n as f64 * 1e3));
            out(format!(
                "| `run`, {n} due, executor `/bin/true` | {} | spawn loop {}; ratio **{ratio:.2}×**; {}peak RSS {:.1} MiB |",
                fmt(&r),
                fmt(&s),
                median_ratio("bash loop", &mut bash_ratios),
                peak_due as f64 / 1024.0
            ));
        }
        for (n, us) in &per_task {
            out(format!(
                "| runner's own cost per due task, N = {n} | {us:.0} µs | (run − spawn loop) / N |"
            ));
        }
    }

    // --- time-expression parsing, in process.
    if wants("parse") {
        let rate = parse_rate(plan.parse_iterations);
        out(format!(
            "| time-expression parsing | {:.0} expressions/s | single thread, mixed forms |",
            rate
        ));
    }

    // --- run --watch: from `schedule --when now` returning to the executor starting.
    if wants("watch") {
        for line in watch(&root, &plan) {
            out(line);
        }
    }

    // --- PostgreSQL: tasks/second with 1, 2 and 4 runners sharing one queue.
    if wants("postgres") || wants("pgscale") {
        match std::env::var("DEFER_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let n = plan.pg_tasks;
                let rounds: &[usize] = if wants("postgres") { &[1, 2, 4] } else { &[] };
                // Each round is paired with a spawn loop and a JSONL run of the same size taken
                // right beside it: on a shared machine the speed drifts between minutes, and a
                // ratio of neighbours is steadier than one of distant figures.
                for &runners in rounds {
                    let (mut walls, mut ratios, mut jsonl) = (Vec::new(), Vec::new(), Vec::new());
                    let mut bash_ratios = Vec::new();
                    for _ in 0..plan.pg_reps {
                        let spawn = spawn_true(n);
                        let bash = spawn_bash(n);
                        let (wall, _) = postgres_round(&root, &url, n, runners);
                        walls.push(wall);
                        ratios.push(wall.as_secs_f64() / spawn.as_secs_f64());
                        if let Some(bash) = bash {
                            bash_ratios.push(wall.as_secs_f64() / bash.as_secs_f64());
                        }
                        if runners == 1 {
                            let dir = store(&root, &format!("pgpair{n}"), n, PAST);
                            let mut cmd = defer(&dir, &["run"]);
                            cmd.env("DEFER_EXECUTOR", "/bin/true");
                            jsonl.push(timed(&mut cmd).as_secs_f64() / spawn.as_secs_f64());
                        }
                    }
                    let wall = stats(&walls);
                    ratios.sort_by(f64::total_cmp);
                    jsonl.sort_by(f64::total_cmp);
                    let beside = jsonl
                        .get(jsonl.len() / 2)
                        .map(|r| format!("; JSONL beside it **{r:.2}×**"))
                        .unwrap_or_default();
                    out(format!(
                        "| PostgreSQL, {n} due, `/bin/true`, {runners} runner(s) | {} | **{:.0} tasks/s**; ratio to the spawn loop beside it **{:.2}×** (median of {}); {}{beside} |",
                        fmt(&wall),
                        n as f64 / (wall.median / 1e3),
                        ratios[ratios.len() / 2],
                        ratios.len(),
                        median_ratio("bash loop", &mut bash_ratios).trim_end_matches("; "),
                    ));
                }
                if wants("pgscale") {
                    for line in postgres_scale(&root, &url, &plan) {
                        out(line);
                    }
                }
            }
            _ => out("| PostgreSQL rows | skipped | DEFER_TEST_DATABASE_URL is not set |".into()),
        }
    }

    // --- a million tasks in PostgreSQL, the same commands over JSONL at `plan.big`.
    if wants("million") {
        for line in scale::million(&root, &plan) {
            out(line);
        }
    }

    if full {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report.md");
        if let Ok(mut f) = File::create(&path) {
            let _ = writeln!(f, "{}", report.join("\n"));
            println!("\nreport written to {}", path.display());
        }
    }
    let _ = fs::remove_dir_all(&root);
}

/// The watcher on each store: its voluntary context switches while idle (every thread's,
/// over `plan.idle`), beside the build named by `DEFER_BENCH_BASELINE` when set, then the
/// time from `schedule --when now` (another process) to the executor starting.
fn watch(root: &Path, plan: &Plan) -> Vec<String> {
    let url = std::env::var("DEFER_TEST_DATABASE_URL").unwrap_or_default();
    let mut stores = vec!["JSONL"];
    if !url.is_empty() {
        stores.push("PostgreSQL");
    }
    // Each round gets a schema of its own: the baseline may be a build that refuses a schema
    // a newer build migrated.
    let mut schemas = Vec::new();
    let mut env_for = |label: &str| -> Vec<(String, String)> {
        if label == "JSONL" {
            return Vec::new();
        }
        let schema = format!("bench_watch_{}_{}", std::process::id(), schemas.len());
        schemas.push(schema.clone());
        vec![
            ("DEFER_DATABASE_URL".into(), url.clone()),
            ("DEFER_DATABASE_SCHEMA".into(), schema),
        ]
    };
    let baseline = std::env::var_os("DEFER_BENCH_BASELINE").map(PathBuf::from);
    let minutes = plan.idle.as_secs_f64() / 60.0;
    let mut lines = Vec::new();
    for label in stores {
        let this = watch_round(root, plan, Path::new(DEFER), &env_for(label));
        let before = baseline
            .as_deref()
            .map(|b| watch_round(root, plan, b, &env_for(label)));
        let beside = before
            .as_ref()
            .map(|(switches, _)| {
                format!(
                    "; the baseline build beside it: {switches} ({:.1} a minute)",
                    *switches as f64 / minutes
                )
            })
            .unwrap_or_default();
        lines.push(format!(
            "| `run --watch` idle, {label}: voluntary context switches over {:.0} s | {} ({:.1} a minute) | all threads, nothing due{beside} |",
            plan.idle.as_secs_f64(),
            this.0,
            this.0 as f64 / minutes
        ));
        let (p50, p99) = scale::p50_p99(&this.1);
        lines.push(format!(
            "| `run --watch`, {label}: `schedule --when now` → executor started | {} | p50 {p50:.1} ms, p99 {p99:.1} ms over {} samples |",
            fmt(&stats(&this.1)),
            this.1.len()
        ));
    }
    if !url.is_empty()
        && let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls)
    {
        for schema in schemas {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
    lines
}

/// Voluntary context switches of every thread of process `pid`.
fn voluntary_switches(pid: u32) -> u64 {
    let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    threads
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

/// Starts `bin`'s watcher on a fresh empty store, counts its wake-ups while idle, then
/// schedules tasks due now one at a time and measures how long until the executor (which
/// records the moment it starts) runs each.
fn watch_round(
    root: &Path,
    plan: &Plan,
    bin: &Path,
    env: &[(String, String)],
) -> (u64, Vec<Duration>) {
    let dir = store(root, "watch", 0, FUTURE);
    let marks = dir.join("started");
    fs::create_dir_all(&marks).expect("mkdir");
    let exec = dir.join("mark.sh");
    fs::write(
        &exec,
        format!(
            "#!/bin/sh\ncat >/dev/null\ntouch '{}/'\"$DEFER_TASK_ID\"\n",
            marks.display()
        ),
    )
    .expect("script");
    let mut perms = fs::metadata(&exec).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&exec, perms).expect("chmod");
    // Every command of the round is `bin`'s: a baseline may refuse a schema a newer build made.
    let watch_cmd = |args: &[&str]| {
        let mut cmd = defer(&dir, args);
        cmd.env_remove("DEFER_NOW")
            .env("DEFER_EXECUTOR", &exec)
            .envs(env.iter().map(|(k, v)| (k, v)));
        startup::with_program(&mut cmd, bin);
        cmd
    };
    // Creates the schema (and its tables) before the watcher starts, so that the first
    // schedule below is not the one to pay for it.
    timed(&mut watch_cmd(&["list", "--compact"]));
    let mut watcher = watch_cmd(&["run", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watcher");
    std::thread::sleep(Duration::from_millis(500));
    let first = voluntary_switches(watcher.id());
    std::thread::sleep(plan.idle);
    let idle = voluntary_switches(watcher.id()).saturating_sub(first);
    let mut samples = Vec::with_capacity(plan.watch_reps);
    for i in 0..plan.watch_reps {
        let id = format!("w{i}");
        let start = Instant::now();
        timed(&mut watch_cmd(&[
            "schedule",
            "--when",
            "now",
            "--summary",
            "w",
            "--id",
            &id,
        ]));
        let mark = marks.join(&id);
        while !mark.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "watcher missed {id}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        samples.push(start.elapsed());
    }
    let pid = libc::pid_t::try_from(watcher.id()).expect("pid fits");
    assert!(pid > 1, "refusing to signal pid {pid}");
    // SAFETY: kill(2) takes plain integers; pid > 1 is the watcher this harness started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let _ = watcher.wait();
    (idle, samples)
}

/// Imports `n` due tasks into a fresh schema, starts `runners` runners at once, and returns
/// the wall time until all exited and how many tasks completed.
fn postgres_round(root: &Path, url: &str, n: usize, runners: usize) -> (Duration, usize) {
    let schema = format!("bench_{}_{runners}", std::process::id());
    let seed = store(root, &format!("pgseed{runners}"), n, PAST);
    let with_db = |cmd: &mut Command| {
        cmd.env("DEFER_DATABASE_URL", url)
            .env("DEFER_DATABASE_SCHEMA", &schema)
            .env("DEFER_EXECUTOR", "/bin/true")
            .env("DEFER_CLAIM_BATCH", "50");
    };
    let work = root.join(format!("pgwork{runners}"));
    fs::create_dir_all(&work).expect("mkdir");
    let mut import = defer(
        &work,
        &["import", "--runtime-dir", seed.to_str().expect("utf8")],
    );
    with_db(&mut import);
    timed(&mut import);
    let start = Instant::now();
    let children: Vec<_> = (0..runners)
        .map(|_| {
            let mut cmd = defer(&work, &["run"]);
            with_db(&mut cmd);
            cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
            cmd.spawn().expect("spawn runner")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success(), "runner failed");
    }
    let wall = start.elapsed();
    let mut list = defer(&work, &["list", "--status", "completed", "--compact"]);
    with_db(&mut list);
    let out = list.stderr(Stdio::inherit()).output().expect("list");
    let done = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0);
    assert_eq!(done, n, "every task completed");
    if let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
    (wall, done)
}

/// PostgreSQL beside the JSONL figures: `schedule`, `list` and a run with nothing due over
/// `plan.big` tasks, and the time from `kill -9` of a runner to its task's rescue.
fn postgres_scale(root: &Path, url: &str, plan: &Plan) -> Vec<String> {
    let schema = format!("bench_scale_{}", std::process::id());
    let work = root.join("pgscale");
    fs::create_dir_all(&work).expect("mkdir");
    let db = |args: &[&str]| {
        let mut cmd = defer(&work, args);
        cmd.env("DEFER_DATABASE_URL", url)
            .env("DEFER_DATABASE_SCHEMA", &schema);
        cmd
    };
    let seed = store(root, "pgbig", plan.big, FUTURE);
    let start = Instant::now();
    timed(&mut db(&[
        "import",
        "--runtime-dir",
        seed.to_str().expect("utf8"),
    ]));
    let import = start.elapsed();
    let mut lines = vec![format!(
        "| PostgreSQL: import of {} tasks | {:.0} ms | one transaction |",
        plan.big,
        import.as_secs_f64() * 1e3
    )];
    let schedules: Vec<Duration> = (0..plan.schedule_reps)
        .map(|_| {
            timed(&mut db(&[
                "schedule",
                "--when",
                "30m",
                "--summary",
                "bench",
                "--compact",
            ]))
        })
        .collect();
    lines.push(format!(
        "| PostgreSQL: `schedule`, {}-task table | {} | one round trip |",
        plan.big,
        fmt(&stats(&schedules))
    ));
    let mut list = Vec::new();
    let mut run = Vec::new();
    for _ in 0..plan.scan_reps {
        list.push(timed(&mut db(&["list", "--compact"])));
        run.push(timed(&mut db(&["run"])));
    }
    lines.push(format!(
        "| PostgreSQL: `list --compact`, {} tasks | {} | |",
        plan.big,
        fmt(&stats(&list))
    ));
    lines.push(format!(
        "| PostgreSQL: `run`, nothing due, {} future tasks | {} | index-only |",
        plan.big,
        fmt(&stats(&run))
    ));
    lines.push(format!(
        "| PostgreSQL: `kill -9` of a runner → its task rescued by the next wake | {} | default 300 s lease not waited for |",
        fmt(&stats(&[rescue_time(&work, url, &schema)]))
    ));
    if let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
    lines
}

/// Claims a task with a runner whose executor hangs, kills the runner with SIGKILL (and the
/// executor's group), then times `defer run` wakes until the task is no longer `executing`.
fn rescue_time(work: &Path, url: &str, schema: &str) -> Duration {
    let pidfile = work.join("hang.pid");
    let hang = work.join("hang.sh");
    fs::write(
        &hang,
        format!(
            "#!/bin/sh
echo $$ > '{}'
exec sleep 60
",
            pidfile.display()
        ),
    )
    .expect("script");
    let mut perms = fs::metadata(&hang).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&hang, perms).expect("chmod");
    let db = |args: &[&str], exec: &Path| {
        let mut cmd = defer(work, args);
        cmd.env("DEFER_DATABASE_URL", url)
            .env("DEFER_DATABASE_SCHEMA", schema)
            .env("DEFER_EXECUTOR", exec)
            .env_remove("DEFER_NOW");
        cmd
    };
    timed(&mut db(
        &[
            "schedule",
            "--when",
            "now",
            "--summary",
            "k",
            "--id",
            "rescue-me",
        ],
        &hang,
    ));
    let mut runner = db(&["run"], &hang)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn runner");
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        let pid = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok());
        if let Some(pid) = pid.filter(|&p| p > 1) {
            break pid;
        }
        assert!(Instant::now() < deadline, "the executor never started");
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = runner.kill();
    let _ = runner.wait();
    // SAFETY: killpg on the group of the executor this harness started (pid > 1 checked).
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
    let start = Instant::now();
    loop {
        timed(&mut db(&["run"], Path::new("/bin/true")));
        let out = db(&["show", "rescue-me"], Path::new("/bin/true"))
            .output()
            .expect("show");
        let record: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        if record["status"] != "executing" {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never rescued");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Median-able series of appending one record-sized line and `fdatasync`ing it.
fn fsync_cost(root: &Path, reps: usize) -> Vec<Duration> {
    let path = root.join("fsync-probe.jsonl");
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open probe");
    let line = format!("{}\n", record(0, FUTURE));
    (0..reps)
        .map(|_| {
            let start = Instant::now();
            f.write_all(line.as_bytes()).expect("write");
            f.sync_data().expect("fdatasync");
            start.elapsed()
        })
        .collect()
}

/// `label` and the median of `ratios` (each a run over the bash loop timed beside it), or
/// nothing where bash is missing.
fn median_ratio(label: &str, ratios: &mut [f64]) -> String {
    if ratios.is_empty() {
        return String::new();
    }
    ratios.sort_by(f64::total_cmp);
    format!(
        "ratio to the {label} beside it **{:.2}×** (median of {}); ",
        ratios[ratios.len() / 2],
        ratios.len()
    )
}

/// bash running `/bin/true` `n` times (`for ((i=0;i<n;i++)); do /bin/true; done`): the spawn
/// loop a shell user would write, each a fork of bash and an exec, the floor the issue set
/// the runner against. `None` where there is no bash.
fn spawn_bash(n: usize) -> Option<Duration> {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("for ((i=0;i<{n};i++)); do /bin/true; done"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let status = cmd.status().ok()?;
    let wall = start.elapsed();
    status.success().then_some(wall)
}

/// Spawning `/bin/true` `n` times from a tight loop: the floor for running `n` executors.
fn spawn_true(n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let status = Command::new("/bin/true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .status()
            .expect("spawn /bin/true");
        assert!(status.success());
    }
    start.elapsed()
}

fn parse_rate(iterations: usize) -> f64 {
    use agent_defer::when;
    let now: jiff::Timestamp = "2026-04-08T16:35:00Z".parse().expect("ts");
    let zone = jiff::tz::TimeZone::get("America/New_York").expect("zone");
    let now = now.to_zoned_datetime(zone);
    let exprs = [
        "30m",
        "in 2 hours",
        "tomorrow 9am",
        "next friday 3pm",
        "1d2h30m",
        "3:30 p.m.",
        "2026-04-08T17:05:00Z",
        "in half an hour",
        "9am tomorrow",
        "2026-12-25 9am",
    ];
    let start = Instant::now();
    let mut ok = 0usize;
    for i in 0..iterations {
        if when::parse(std::hint::black_box(exprs[i % exprs.len()]), &now).is_ok() {
            ok += 1;
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(ok, iterations, "every benchmark expression parses");
    iterations as f64 / elapsed.as_secs_f64()
}

fn count_lines(path: &Path) -> usize {
    fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

fn tempdir() -> PathBuf {
    let base = std::env::var_os("DEFER_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("defer-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("bench dir");
    dir
}
