//! A small harness: a fresh runtime dir per test and a builder for `defer` invocations.

#![allow(dead_code)]

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The binary under test.
pub fn defer_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_defer"))
}

/// A fresh runtime directory and the environment that points `defer` at it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub vars: Vec<(String, OsString)>,
    /// For a PostgreSQL-backed env: the server URL and this test's own schema (dropped on drop).
    pub database: Option<(String, String)>,
    /// This test's share of the server (see [`Gate`]); let go after the schema is dropped.
    pub gate: Option<Gate>,
}

/// Who may use the test server: every PostgreSQL test shares it, and a test that restarts it
/// has it alone, once no other holds a share, holding new ones back until it is done. The
/// tests of this binary are threads of one process, so a lock in memory is enough.
#[derive(Debug)]
pub struct Gate {
    alone: bool,
}

/// (shares held, a test holding the server alone)
static GATE: std::sync::Mutex<(usize, bool)> = std::sync::Mutex::new((0, false));
static GATE_MOVED: std::sync::Condvar = std::sync::Condvar::new();

impl Gate {
    fn enter(alone: bool) -> Gate {
        // A test alone waits for a moment no other holds a share (at the latest, the end of
        // the other tests); it does not hold new ones back while it waits, because one test
        // may take a second share (a second env) while it holds its first.
        let mut state = GATE.lock().unwrap_or_else(|p| p.into_inner());
        while state.1 || (alone && state.0 > 0) {
            state = GATE_MOVED.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if alone {
            state.1 = true;
        } else {
            state.0 += 1;
        }
        Gate { alone }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let mut state = GATE.lock().unwrap_or_else(|p| p.into_inner());
        if self.alone {
            state.1 = false;
        } else {
            state.0 -= 1;
        }
        GATE_MOVED.notify_all();
    }
}

/// Makes a JSONL test and a PostgreSQL test of a scenario `fn name(env: Env)`; the latter
/// skips, saying why, without `DEFER_TEST_DATABASE_URL`. `setup` adjusts the fresh env.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident) => {
        $crate::on_both_stores!($name, |_env: &mut $crate::util::Env| {});
    };
    ($name:ident, $setup:expr) => {
        mod $name {
            #[test]
            fn jsonl() {
                if let Some(mut env) = $crate::util::Env::with_store($crate::util::StoreKind::Jsonl)
                {
                    ($setup)(&mut env);
                    super::$name(env);
                }
            }

            #[test]
            fn postgres() {
                if let Some(mut env) =
                    $crate::util::Env::with_store($crate::util::StoreKind::Postgres)
                {
                    ($setup)(&mut env);
                    super::$name(env);
                }
            }
        }
    };
}

/// Which store a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Jsonl,
    Postgres,
}

/// The server tests may use, from `DEFER_TEST_DATABASE_URL` (set by `.ci/run`).
pub fn test_database_url() -> Option<String> {
    std::env::var("DEFER_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A schema name no other test (or test run) uses.
pub fn unique_schema() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops a test schema and everything in it.
pub fn drop_schema(url: &str, schema: &str) {
    if let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.database {
            drop_schema(url, schema);
        }
    }
}

impl Env {
    /// Runtime dir in a temp dir, zone UTC, now pinned to 2026-04-08T16:35:00Z.
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env = Env {
            dir,
            vars: Vec::new(),
            database: None,
            gate: None,
        };
        let runtime = env.runtime();
        env.set("DEFER_RUNTIME_DIR", runtime.as_os_str());
        env.set("HOME", env.dir.path().join("home").as_os_str());
        env.set("DEFER_TIMEZONE", "UTC");
        env.set("DEFER_NOW", "2026-04-08T16:35:00Z");
        env
    }

    /// An env whose store is a fresh schema on the test server; `None` (after printing why)
    /// when no server is configured, so the test can return early.
    pub fn postgres() -> Option<Env> {
        Env::postgres_gated(false)
    }

    /// [`Env::postgres`] for a test that stops or restarts the server: it runs alone.
    pub fn postgres_alone() -> Option<Env> {
        Env::postgres_gated(true)
    }

    fn postgres_gated(alone: bool) -> Option<Env> {
        let Some(url) = test_database_url() else {
            eprintln!("skipped: DEFER_TEST_DATABASE_URL is not set (.ci/run sets it)");
            return None;
        };
        let mut env = Env::new();
        env.gate = Some(Gate::enter(alone));
        let schema = unique_schema();
        env.set("DEFER_DATABASE_URL", url.as_str());
        env.set("DEFER_DATABASE_SCHEMA", schema.as_str());
        env.database = Some((url, schema));
        Some(env)
    }

    /// An env for `kind`, or `None` when that store is not available here.
    pub fn with_store(kind: StoreKind) -> Option<Env> {
        match kind {
            StoreKind::Jsonl => Some(Env::new()),
            StoreKind::Postgres => Env::postgres(),
        }
    }

    /// Sets (or replaces) a variable for every later invocation.
    pub fn set(&mut self, key: &str, value: impl Into<OsString>) -> &mut Env {
        let value = value.into();
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_string(), value));
        self
    }

    /// Removes a variable.
    pub fn unset(&mut self, key: &str) -> &mut Env {
        self.vars.retain(|(k, _)| k != key);
        self
    }

    pub fn runtime(&self) -> PathBuf {
        self.dir.path().join("runtime")
    }

    pub fn tasks_file(&self) -> PathBuf {
        self.runtime().join("deferred.jsonl")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.runtime().join("logs")
    }

    pub fn log_file(&self) -> PathBuf {
        self.log_dir().join("deferred.log")
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.runtime().join("archive")
    }

    /// A `defer` command with this environment (and nothing inherited but PATH).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(defer_bin());
        cmd.args(args).env_clear().stdin(Stdio::null());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// `defer run --watch` in the background, its stderr piped for the test to read.
    pub fn spawn_watcher(&self) -> std::process::Child {
        self.cmd(&["run", "--watch"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watcher")
    }

    /// Runs `defer args...` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.cmd(args).output().expect("spawn defer");
        Run::from(output)
    }

    /// Runs and asserts success.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(
            run.success(),
            "defer {args:?} failed: code {:?}\nstdout: {}\nstderr: {}",
            run.code,
            run.stdout,
            run.stderr
        );
        run
    }

    /// Runs and asserts failure with a one-line error on stderr.
    pub fn fails(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(
            !run.success(),
            "defer {args:?} should have failed\nstdout: {}\nstderr: {}",
            run.stdout,
            run.stderr
        );
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one error line, got {:?}",
            run.stderr
        );
        assert!(lines[0].starts_with("error: "), "{:?}", lines[0]);
        run
    }

    /// Where the store's records can be read as JSONL files: the runtime dir itself, or for a
    /// database a fresh `defer export` of it, so assertions read any store the same way.
    pub fn snapshot(&self) -> PathBuf {
        if self.database.is_none() {
            return self.runtime();
        }
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = self
            .dir
            .path()
            .join(format!("snapshot-{}", N.fetch_add(1, Ordering::Relaxed)));
        self.ok(&["export", "--runtime-dir", dir.to_str().expect("utf8")]);
        dir
    }

    /// The store's bytes (empty when it does not exist).
    pub fn store_bytes(&self) -> Vec<u8> {
        fs::read(self.snapshot().join("deferred.jsonl")).unwrap_or_default()
    }

    /// Every record in the active store.
    pub fn records(&self) -> Vec<Value> {
        read_jsonl(&self.snapshot().join("deferred.jsonl"))
    }

    /// Every record in every archive file.
    pub fn archived(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if let Ok(entries) = fs::read_dir(self.snapshot().join("archive")) {
            let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("entry").path()).collect();
            paths.sort();
            for p in paths {
                out.extend(read_jsonl(&p));
            }
        }
        out
    }

    /// The record with `id`, wherever it is.
    pub fn find(&self, id: &str) -> Option<Value> {
        self.records()
            .into_iter()
            .chain(self.archived())
            .find(|r| r["id"] == id)
    }

    /// Whether this env's store is a database.
    pub fn kind(&self) -> StoreKind {
        if self.database.is_some() {
            StoreKind::Postgres
        } else {
            StoreKind::Jsonl
        }
    }

    /// The audit log's text.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    /// Writes an executable script and returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        make_executable(&path);
        path
    }
}

pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = fs::metadata(path).expect("meta").permissions();
    perms.set_mode(0o755);
    fs::set_permissions(path, perms).expect("chmod");
}

/// Parses every non-empty line of a JSONL file.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// A finished invocation.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }
}

/// A due task line in the reference tool's format (no `when`/`timezone`).
pub fn reference_line(id: &str, summary: &str) -> String {
    serde_json::json!({
        "id": id,
        "created_at": "2026-04-08T16:00:00Z",
        "run_at": "2026-04-08T16:30:00Z",
        "type": "deferred_task",
        "intent": "resume_task",
        "context": {"summary": summary, "key_points": [], "artifacts": [], "constraints": []},
        "execution": {"mode": "fresh", "prompt_template": summary, "aura_level": "low"},
        "status": "scheduled",
        "attempts": 0,
        "max_retries": 0,
        "reorient_requested": false,
        "reorient": {"requested": false, "project": null, "explicit_context_file": null}
    })
    .to_string()
}

/// Starts every command at once, waits for all, and asserts each succeeded.
pub fn run_all_at_once(commands: Vec<Command>) {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut cmd| {
            cmd.stdout(Stdio::null()).stderr(Stdio::piped());
            cmd.spawn().expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Polls `cond` every 20 ms until it holds or `limit` has passed; whether it held. Tests wait on
/// what they can observe (a file, a status) rather than sleeping a guessed time.
pub fn wait_until(limit: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Sends `signal` to one process a test started, by its own pid; whether it was delivered (a
/// process already gone is not an error here). Never pid 0 or 1, and never through the `kill`
/// program: procps-ng 4.0.2 turns `kill -9 -PGID` into `kill(-1)`, which signals everything.
pub fn signal_pid(pid: u32, signal: libc::c_int) -> bool {
    assert!(pid > 1, "refusing to signal pid {pid}");
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        panic!("pid {pid} does not fit a pid_t");
    };
    // SAFETY: kill(2) takes plain integers and has no memory-safety preconditions; pid > 1, so
    // the signal reaches that one process alone.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Sends `signal` to a child this test spawned and has not yet reaped.
pub fn signal_child(child: &std::process::Child, signal: libc::c_int) {
    assert!(
        signal_pid(child.id(), signal),
        "signal {signal} to {}",
        child.id()
    );
}

/// SIGKILL to the process group `pgid` (an executor's: the runner starts each in its own
/// group), best effort. Never group 0 or 1: group 0 is the caller's own (the test harness and
/// everything started beside it).
pub fn kill_group(pgid: u32) {
    if pgid <= 1 {
        return;
    }
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: killpg(2) takes plain integers; pgid > 1 names one group, never the caller's.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}
