//! Runner tests: `defer run` and `defer archive` driven end to end — real executors (shell
//! scripts), real processes, real files — against the contract of SPEC §3, §4, §8 and §9.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{
    Env, kill_group, read_jsonl, reference_line, signal_child, signal_pid, wait_until,
};

/// The instant the harness pins `DEFER_NOW` to.
const NOW: &str = "2026-04-08T16:35:00Z";

/// Schedules a task through the real CLI (`defer schedule --compact ARGS`) and returns the
/// printed record.
fn schedule(env: &Env, args: &[&str]) -> Value {
    let mut full = vec!["schedule", "--compact"];
    full.extend_from_slice(args);
    env.ok(&full).json()
}

/// Writes `lines` as the whole store.
fn write_store(env: &Env, lines: &[String]) {
    fs::create_dir_all(env.runtime()).expect("runtime dir");
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(env.tasks_file(), text).expect("write store");
}

/// The record with `id` in the active store (not the archive).
fn active(env: &Env, id: &str) -> Option<Value> {
    env.records().into_iter().find(|r| r["id"] == id)
}

/// The record with `id` in the archive (not the active store).
fn archived(env: &Env, id: &str) -> Option<Value> {
    env.archived().into_iter().find(|r| r["id"] == id)
}

/// Audit log lines containing `needle`.
fn log_lines(env: &Env, needle: &str) -> Vec<String> {
    env.log()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn is_utc_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Whether a process exists and is not a zombie (PID 1 here may not reap orphans).
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z' | 'X'))
        }
        Err(_) => false,
    }
}

fn read_pid(path: &Path) -> u32 {
    let mut pid = None;
    wait_until(Duration::from_secs(5), || {
        pid = fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok());
        pid.is_some()
    });
    pid.unwrap_or_else(|| panic!("no pid in {}", path.display()))
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `defer run` in the background, output discarded.
fn spawn_runner(env: &Env) -> Child {
    env.cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn defer run")
}

/// Leaves task `id` (already scheduled and due) `executing` with no runner: starts a runner
/// whose executor hangs, waits for the claim, then SIGKILLs the runner and the executor.
fn interrupt_runner(env: &mut Env, id: &str) {
    let pid_file = env.dir.path().join(format!("{id}.hang.pid"));
    let hang = env.script(
        &format!("hang-{id}.sh"),
        &format!("echo $$ > '{}'\nexec sleep 30", pid_file.display()),
    );
    env.set("DEFER_EXECUTOR", hang.as_os_str());
    let mut runner = spawn_runner(env);
    let claimed = wait_until(Duration::from_secs(10), || {
        active(env, id).is_some_and(|r| r["status"] == "executing") && pid_file.exists()
    });
    runner.kill().expect("SIGKILL the runner");
    runner.wait().expect("reap the runner");
    assert!(claimed, "task {id} was never seen executing");
    // The executor runs in its own process group, whose id is its pid.
    kill_group(read_pid(&pid_file));
    let record = active(env, id).expect("task still in the store");
    assert_eq!(record["status"], "executing", "{record}");
}

// 1. ---------------------------------------------------------------------------------------

#[test]
fn full_loop_prepares_the_prompt_archives_the_due_task_and_leaves_the_future_one_alone() {
    let env = Env::new();
    let future = schedule(
        &env,
        &["--when", "2h", "--id", "later_1", "--summary", "Not yet"],
    );
    let future_line = String::from_utf8(env.store_bytes()).expect("utf8");
    assert_eq!(future_line.lines().count(), 1);
    assert_eq!(future["status"], "scheduled");

    let demo = schedule(
        &env,
        &[
            "--when",
            "now",
            "--id",
            "demo_1",
            "--summary",
            "Check the nightly build",
            "--intent",
            "notify",
            "--mode",
            "callback",
            "--key-point",
            "CI was red at 02:00",
            "--key-point",
            "Flaky test suspected",
            "--artifact",
            "/srv/ci/report.html",
            "--prompt-template",
            "Open the CI report and list the failing tests.",
        ],
    );
    assert_eq!(demo["run_at"], NOW);

    let run = env.ok(&["run"]);
    assert_eq!(run.stdout, "", "defer run must be quiet on success");
    assert_eq!(run.stderr, "", "defer run must be quiet on success");

    // The prompt artifact, exactly as SPEC §8 lays it out.
    let prompt_path = env.log_dir().join("demo_1.prompt.txt");
    let expected = "You are resuming a deferred task.\n\
                    \n\
                    Task ID: demo_1\n\
                    Intent: notify\n\
                    Mode: callback\n\
                    \n\
                    Summary:\n\
                    Check the nightly build\n\
                    \n\
                    Key Points:\n\
                    - CI was red at 02:00\n\
                    - Flaky test suspected\n\
                    \n\
                    Artifacts:\n\
                    - /srv/ci/report.html\n\
                    \n\
                    Constraints:\n\
                    - (none)\n\
                    \n\
                    Task:\n\
                    Open the CI report and list the failing tests.\n";
    assert_eq!(
        fs::read_to_string(&prompt_path).expect("prompt artifact"),
        expected
    );

    // demo_1 is archived, completed, with a prompt_prepared result pointing at the artifact.
    let archive_file = env.archive_dir().join("deferred_202604.jsonl");
    let in_archive = read_jsonl(&archive_file);
    assert_eq!(in_archive.len(), 1, "{in_archive:?}");
    let done = &in_archive[0];
    assert_eq!(done["id"], "demo_1");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["completed_at"], NOW);
    assert_eq!(done["result"]["type"], "prompt_prepared");
    assert_eq!(
        done["result"]["prompt_path"],
        prompt_path.display().to_string()
    );
    assert!(active(&env, "demo_1").is_none());

    // The future task is untouched, byte for byte.
    assert_eq!(
        String::from_utf8(env.store_bytes()).expect("utf8"),
        future_line
    );

    // The audit trail, each line stamped in UTC.
    let log = env.log();
    for line in log.lines() {
        assert!(is_utc_stamp(&line[..20.min(line.len())]), "{line:?}");
        assert_eq!(line.as_bytes().get(20), Some(&b' '), "{line:?}");
    }
    let wanted = [
        "scheduled id=demo_1 ".to_string(),
        "runner claimed id=demo_1 ".to_string(),
        "executed id=demo_1 mode=prompt_prepared".to_string(),
        format!("archived id=demo_1 file={}", archive_file.display()),
    ];
    let mut last = 0;
    for w in &wanted {
        let at = log
            .lines()
            .position(|l| l[21..].starts_with(w.as_str()))
            .unwrap_or_else(|| panic!("no {w:?} line in the log:\n{log}"));
        assert!(at >= last, "{w:?} out of order in:\n{log}");
        last = at;
    }
    assert!(log_lines(&env, "claimed id=later_1").is_empty(), "{log}");

    // -v: one line per task handled.
    schedule(
        &env,
        &["--when", "now", "--id", "demo_2", "--summary", "Two"],
    );
    schedule(
        &env,
        &["--when", "now", "--id", "demo_3", "--summary", "Three"],
    );
    let verbose = env.ok(&["run", "-v"]);
    assert_eq!(verbose.stderr, "");
    for id in ["demo_2", "demo_3"] {
        let lines: Vec<&str> = verbose.stdout.lines().filter(|l| l.contains(id)).collect();
        assert_eq!(lines.len(), 1, "{id} in {:?}", verbose.stdout);
        assert!(lines[0].contains("completed"), "{lines:?}");
    }
    assert!(!verbose.stdout.contains("later_1"), "{}", verbose.stdout);
    assert!(archived(&env, "demo_2").is_some() && archived(&env, "demo_3").is_some());
}

/// Regression: `defer schedule` once failed with EBADF as soon as the store had a line
/// (`Store::insert` read the last byte through an append-only descriptor).
#[test]
fn scheduling_into_a_non_empty_store_keeps_every_task() {
    let env = Env::new();
    env.ok(&[
        "schedule",
        "--when",
        "2h",
        "--id",
        "first",
        "--summary",
        "One",
    ]);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--id",
        "second",
        "--summary",
        "Two",
    ]);
    env.ok(&["schedule", "--when", "now", "--summary", "Three"]);
    assert_eq!(env.records().len(), 3);
    env.ok(&["run"]);
    assert_eq!(active(&env, "first").expect("first")["status"], "scheduled");
    assert_eq!(
        archived(&env, "second").expect("second")["status"],
        "completed"
    );
    assert_eq!(env.archived().len(), 2);
}

// 2. ---------------------------------------------------------------------------------------

#[test]
fn executor_success_stores_stdout_only_and_gets_the_task_on_stdin_and_its_env() {
    let mut env = Env::new();
    let dir = env.dir.path().to_path_buf();
    let exe = env.script(
        "ok.sh",
        &format!(
            "printf 'hello from executor\\nline two\\n'\n\
             echo secret-stderr >&2\n\
             printf '%s\\n' \"$DEFER_TASK_ID\" \"$DEFER_PROMPT_FILE\" \"$DEFER_ATTEMPT\" \
             \"$DEFER_RUNTIME_DIR\" > '{env_file}'\n\
             if [ -f \"$DEFER_PROMPT_FILE\" ]; then echo yes; else echo no; fi > '{prompt_seen}'\n\
             cat > '{stdin_file}'\n\
             exit 0",
            env_file = dir.join("env.txt").display(),
            prompt_seen = dir.join("prompt_seen.txt").display(),
            stdin_file = dir.join("stdin.txt").display(),
        ),
    );
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    schedule(
        &env,
        &["--when", "now", "--id", "exec_ok", "--summary", "Run it"],
    );
    let run = env.ok(&["run"]);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "", "executor stderr must not leak");

    let record = archived(&env, "exec_ok").expect("archived");
    assert_eq!(record["status"], "completed");
    assert_eq!(record["result"]["type"], "executor_output");
    assert_eq!(
        record["result"]["output"],
        "hello from executor\nline two\n"
    );
    assert!(
        !record.to_string().contains("secret-stderr"),
        "stderr leaked into the record: {record}"
    );
    assert_eq!(
        log_lines(&env, "executed id=exec_ok mode=executor").len(),
        1
    );

    let prompt = env.log_dir().join("exec_ok.prompt.txt");
    let env_text = fs::read_to_string(dir.join("env.txt")).expect("env.txt");
    let vars: Vec<&str> = env_text.lines().collect();
    assert_eq!(
        vars,
        [
            "exec_ok",
            &prompt.display().to_string(),
            "1",
            &env.runtime().display().to_string()
        ]
    );
    assert_eq!(
        fs::read_to_string(dir.join("prompt_seen.txt")).expect("seen"),
        "yes\n",
        "the prompt artifact must exist before the executor starts"
    );

    let stdin = fs::read_to_string(dir.join("stdin.txt")).expect("stdin.txt");
    assert!(stdin.ends_with('\n'), "{stdin:?}");
    assert_eq!(stdin.matches('\n').count(), 1, "one line: {stdin:?}");
    let task: Value = serde_json::from_str(stdin.trim_end()).expect("stdin is JSON");
    assert_eq!(task["id"], "exec_ok");
    assert_eq!(task["status"], "executing");
    assert_eq!(task["context"]["summary"], "Run it");
}

// 3. ---------------------------------------------------------------------------------------

#[test]
fn failing_executor_is_retried_until_the_budget_is_spent_then_fails() {
    let mut env = Env::new();
    let exe = env.script("fail.sh", "echo 'boom: disk on fire' >&2\nexit 3");
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    schedule(
        &env,
        &[
            "--when",
            "now",
            "--id",
            "flaky",
            "--summary",
            "Try hard",
            "--max-retries",
            "2",
        ],
    );

    for attempt in 1..=2 {
        let run = env.ok(&["run"]);
        assert_eq!(run.stderr, "", "run {attempt}");
        let r = active(&env, "flaky").unwrap_or_else(|| panic!("active after run {attempt}"));
        assert_eq!(r["status"], "scheduled", "run {attempt}: {r}");
        assert_eq!(r["attempts"], attempt, "{r}");
        assert_eq!(r["last_error"], "boom: disk on fire", "{r}");
        assert_eq!(r["last_attempt_at"], NOW);
        assert_eq!(r["run_at"], NOW, "a zero delay retries now");
        assert_eq!(r["result"]["type"], "retry_scheduled", "{r}");
        assert_eq!(r["result"]["next_run_at"], NOW, "{r}");
        assert!(r.get("failed_at").is_none_or(Value::is_null), "{r}");
        assert_eq!(log_lines(&env, "retry scheduled id=flaky").len(), attempt);
        assert!(archived(&env, "flaky").is_none());
    }
    let retries = log_lines(&env, "retry scheduled id=flaky");
    assert!(retries[0].contains(" attempt=1 "), "{retries:?}");
    assert!(retries[1].contains(" attempt=2 "), "{retries:?}");

    env.ok(&["run"]);
    assert!(active(&env, "flaky").is_none());
    let r = archived(&env, "flaky").expect("archived after the last attempt");
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(r["attempts"], 3, "{r}");
    assert_eq!(r["error"], "boom: disk on fire", "{r}");
    assert_eq!(r["failed_at"], NOW, "{r}");
    assert_eq!(r["result"]["type"], "executor_failed", "{r}");
    assert_eq!(log_lines(&env, "retry scheduled id=flaky").len(), 2);
    assert_eq!(log_lines(&env, "failed id=flaky reason=").len(), 1);
    assert_eq!(log_lines(&env, "runner claimed id=flaky").len(), 3);
}

#[test]
fn retry_waits_for_the_retry_delay() {
    let mut env = Env::new();
    let exe = env.script("fail.sh", "echo nope >&2\nexit 1");
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.set("DEFER_RETRY_DELAY_SECONDS", "120");
    schedule(
        &env,
        &[
            "--when",
            "now",
            "--id",
            "slow_retry",
            "--summary",
            "Wait between tries",
            "--max-retries",
            "1",
        ],
    );
    env.ok(&["run"]);
    let r = active(&env, "slow_retry").expect("rescheduled");
    assert_eq!(r["status"], "scheduled");
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["run_at"], "2026-04-08T16:37:00Z", "DEFER_NOW + 120 s");
    assert_eq!(r["result"]["next_run_at"], "2026-04-08T16:37:00Z");
    assert_eq!(
        log_lines(
            &env,
            "retry scheduled id=slow_retry attempt=1 next_run_at=2026-04-08T16:37:00Z"
        )
        .len(),
        1,
        "{}",
        env.log()
    );

    // Same instant: not due yet.
    let before = env.store_bytes();
    env.ok(&["run"]);
    assert_eq!(
        env.store_bytes(),
        before,
        "a run with nothing due changes nothing"
    );
    assert_eq!(log_lines(&env, "runner claimed id=slow_retry").len(), 1);

    // Two minutes later it runs (and, its budget spent, fails).
    env.set("DEFER_NOW", "2026-04-08T16:37:00Z");
    env.ok(&["run"]);
    assert_eq!(log_lines(&env, "runner claimed id=slow_retry").len(), 2);
    let r = archived(&env, "slow_retry").expect("archived");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["attempts"], 2);
    assert_eq!(r["failed_at"], "2026-04-08T16:37:00Z");
}

// 4. ---------------------------------------------------------------------------------------

#[test]
fn an_unusable_executor_stops_the_run_before_it_claims_anything() {
    for (case, words) in [
        ("no_x_bit", "is not executable; make it so with chmod +x"),
        ("missing", "does not exist"),
        ("directory", "is not a regular file"),
    ] {
        let mut env = Env::new();
        let path: PathBuf = match case {
            "no_x_bit" => {
                let p = env.script("plain.sh", "echo should-not-run");
                fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod");
                p
            }
            "missing" => env.dir.path().join("does/not/exist.sh"),
            _ => env.dir.path().to_path_buf(),
        };
        env.set("DEFER_EXECUTOR", path.as_os_str());
        schedule(
            &env,
            &[
                "--when",
                "now",
                "--id",
                case,
                "--summary",
                "Cannot run",
                "--max-retries",
                "3",
            ],
        );
        let before = env.store_bytes();
        let run = env.fails(&["run"]);
        assert_eq!(run.stderr.lines().count(), 1, "{case}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{case}: {}", run.stderr);
        assert!(
            run.stderr.contains(&path.display().to_string()),
            "{case}: the error names the path: {}",
            run.stderr
        );
        assert_eq!(
            env.store_bytes(),
            before,
            "{case}: nothing claimed or changed"
        );
        assert!(
            env.log()
                .contains("runner stopped reason=executor_unusable")
        );
        // Fixed, the same task runs with its whole budget.
        let ok = env.script("ok.sh", "cat >/dev/null\necho fixed");
        env.set("DEFER_EXECUTOR", ok.as_os_str());
        env.ok(&["run"]);
        let r = archived(&env, case).unwrap_or_else(|| panic!("{case}: not archived"));
        assert_eq!(r["status"], "completed", "{case}: {r}");
        assert_eq!(r["attempts"], 0, "{case}: {r}");
    }
}

// 5. ---------------------------------------------------------------------------------------

#[test]
fn executor_timeout_kills_the_executor_and_its_children() {
    let mut env = Env::new();
    let dir = env.dir.path().to_path_buf();
    let child_pid = dir.join("child.pid");
    let exec_pid = dir.join("executor.pid");
    let exe = env.script(
        "hang.sh",
        &format!(
            "sleep 300 &\n\
             echo $! > '{}'\n\
             echo $$ > '{}'\n\
             echo partial-output\n\
             sleep 300",
            child_pid.display(),
            exec_pid.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.set("DEFER_EXECUTOR_TIMEOUT_SECONDS", "1");
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    schedule(
        &env,
        &["--when", "now", "--id", "hangs", "--summary", "Never ends"],
    );

    let started = Instant::now();
    let mut runner = spawn_runner(&env);
    let finished = wait_until(Duration::from_secs(15), || {
        runner.try_wait().expect("try_wait").is_some()
    });
    if !finished {
        let _ = runner.kill();
        let _ = runner.wait();
        for f in [&child_pid, &exec_pid] {
            if let Ok(p) = fs::read_to_string(f) {
                kill_group(p.trim().parse().unwrap_or(0));
            }
        }
        panic!("defer run still running after {:?}", started.elapsed());
    }
    assert!(runner.wait().expect("status").success());

    let r = archived(&env, "hangs").expect("archived");
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(r["attempts"], 1, "{r}");
    assert_eq!(r["result"]["type"], "executor_failed", "{r}");
    let error = r["error"].as_str().expect("error");
    assert!(error.contains("timed out"), "{error}");

    let child = read_pid(&child_pid);
    let exec = read_pid(&exec_pid);
    assert!(
        wait_until(Duration::from_secs(5), || !alive(child) && !alive(exec)),
        "still alive: executor {exec} {}, child {child} {}",
        alive(exec),
        alive(child)
    );
}

// 6. ---------------------------------------------------------------------------------------

#[test]
fn task_left_executing_by_a_killed_runner_is_recovered_and_completed() {
    let mut env = Env::new();
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    schedule(
        &env,
        &[
            "--when",
            "now",
            "--id",
            "orphan",
            "--summary",
            "Survive a crash",
            "--max-retries",
            "1",
        ],
    );
    interrupt_runner(&mut env, "orphan");

    let ok = env.script("fine.sh", "cat > /dev/null\necho recovered-ok");
    env.set("DEFER_EXECUTOR", ok.as_os_str());
    for _ in 0..2 {
        env.ok(&["run"]);
        if archived(&env, "orphan").is_some() {
            break;
        }
    }
    let recovered = log_lines(&env, "retry scheduled id=orphan");
    assert_eq!(recovered.len(), 1, "{}", env.log());
    assert!(recovered[0].contains(" attempt=1 "), "{recovered:?}");

    let r = archived(&env, "orphan").expect("completed within two runs");
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(r["attempts"], 1, "{r}");
    assert_eq!(r["result"]["type"], "executor_output", "{r}");
    assert_eq!(r["result"]["output"], "recovered-ok\n", "{r}");
    assert!(
        env.records().iter().all(|t| t["status"] != "executing"),
        "{:?}",
        env.records()
    );
}

#[test]
fn task_interrupted_without_retries_left_fails_as_interrupted() {
    let mut env = Env::new();
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    schedule(
        &env,
        &["--when", "now", "--id", "fragile", "--summary", "One shot"],
    );
    interrupt_runner(&mut env, "fragile");

    let ok = env.script("fine.sh", "echo should-not-run-again");
    env.set("DEFER_EXECUTOR", ok.as_os_str());
    env.ok(&["run"]);
    let r = archived(&env, "fragile").expect("archived");
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(r["attempts"], 1, "{r}");
    assert_eq!(r["failed_at"], NOW, "{r}");
    assert_eq!(r["result"]["type"], "executor_failed", "{r}");
    let error = r["error"].as_str().expect("error");
    assert!(error.starts_with("interrupted"), "{error}");
    assert_eq!(log_lines(&env, "failed id=fragile reason=").len(), 1);
    assert!(log_lines(&env, "executed id=fragile").is_empty());
    assert!(env.records().is_empty(), "{:?}", env.records());
}

#[test]
fn interrupted_task_result_points_at_its_prompt_artifact() {
    let mut env = Env::new();
    env.set("DEFER_RETRY_DELAY_SECONDS", "0");
    schedule(
        &env,
        &[
            "--when",
            "now",
            "--id",
            "lost_prompt",
            "--summary",
            "Where is my prompt",
        ],
    );
    interrupt_runner(&mut env, "lost_prompt");
    let prompt = env.log_dir().join("lost_prompt.prompt.txt");
    assert!(
        prompt.is_file(),
        "the killed runner had written the artifact"
    );

    env.unset("DEFER_EXECUTOR");
    env.ok(&["run"]);
    let r = archived(&env, "lost_prompt").expect("archived");
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(r["result"]["type"], "executor_failed", "{r}");
    assert_eq!(
        r["result"]["prompt_path"],
        prompt.display().to_string(),
        "{r}"
    );
}

// 7. ---------------------------------------------------------------------------------------

#[test]
fn second_runner_exits_at_once_while_the_first_holds_the_lock() {
    let mut env = Env::new();
    let exe = env.script("slow.sh", "sleep 3\necho slow-done");
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    schedule(
        &env,
        &[
            "--when",
            "now",
            "--id",
            "slowpoke",
            "--summary",
            "Takes a while",
        ],
    );
    let mut first = spawn_runner(&env);
    let claimed = wait_until(Duration::from_secs(10), || {
        active(&env, "slowpoke").is_some_and(|r| r["status"] == "executing")
    });
    if !claimed {
        let _ = first.kill();
        let _ = first.wait();
        panic!("the first runner never claimed the task");
    }

    let started = Instant::now();
    let second = env.run(&["run"]);
    let took = started.elapsed();
    let first_still_running = first.try_wait().expect("try_wait").is_none();
    assert!(second.success(), "{second:?}");
    assert_eq!(second.stdout, "");
    assert_eq!(second.stderr, "");
    assert!(took < Duration::from_secs(2), "second runner took {took:?}");
    assert!(first_still_running, "the test did not overlap the runners");
    assert_eq!(log_lines(&env, "runner skipped reason=lock_held").len(), 1);
    assert_eq!(log_lines(&env, "runner claimed id=slowpoke").len(), 1);

    assert!(first.wait().expect("first runner").success());
    let r = archived(&env, "slowpoke").expect("archived");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["result"]["output"], "slow-done\n");
    assert_eq!(log_lines(&env, "executed id=slowpoke").len(), 1);
}

#[test]
fn runner_does_not_wait_for_a_descendant_holding_the_executor_stdin() {
    let mut env = Env::new();
    let sleeper = env.dir.path().join("sleeper.pid");
    // Keeps stdin open on fd 3 in a background child, never reads it, exits 0 at once.
    let exe = env.script(
        "detach.sh",
        &format!(
            "exec 3<&0\n\
             sleep 15 >/dev/null 2>&1 &\n\
             echo $! > '{}'\n\
             echo started",
            sleeper.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.set("DEFER_EXECUTOR_TIMEOUT_SECONDS", "1");
    // A task whose JSON is far larger than a pipe buffer (64 KiB).
    write_store(&env, &[reference_line("big_stdin", &"k".repeat(200_000))]);

    let mut runner = spawn_runner(&env);
    let finished = wait_until(Duration::from_secs(8), || {
        runner.try_wait().expect("try_wait").is_some()
    });
    if let Some(pid) = fs::read_to_string(&sleeper)
        .ok()
        .and_then(|p| p.trim().parse().ok())
    {
        signal_pid(pid, libc::SIGKILL);
    }
    let status = runner.wait().expect("runner");
    assert!(
        finished,
        "defer run still running 8 s after its executor exited (timeout 1 s)"
    );
    assert!(status.success());
    let r = archived(&env, "big_stdin").expect("archived");
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(r["result"]["output"], "started\n", "{r}");
}

// 8. ---------------------------------------------------------------------------------------

const REFERENCE_TASK: &str = r#"{"id":"ref_task_1","created_at":"2026-04-08T16:00:00Z","run_at":"2026-04-08T16:30:00Z","type":"deferred_task","intent":"resume_task","context":{"summary":"Reference task","key_points":["kp"],"artifacts":[],"constraints":[],"team":"infra","tags":["a","b"]},"execution":{"mode":"fresh","prompt_template":"Continue.","aura_level":"low","model":"big-model","temperature":0.5},"status":"scheduled","attempts":0,"max_retries":0,"reorient_requested":false,"reorient":{"requested":false,"project":null,"explicit_context_file":null},"priority":7,"custom":{"nested":[1,2,{"deep":null}]},"owner":"ops"}"#;

#[test]
fn malformed_line_is_kept_and_reported_and_unknown_fields_survive_a_run() {
    let env = Env::new();
    schedule(
        &env,
        &["--when", "now", "--id", "good_1", "--summary", "Valid one"],
    );
    let mut store = env.store_bytes();
    store.extend_from_slice(b"this is not json\n");
    store.extend_from_slice(REFERENCE_TASK.as_bytes());
    store.push(b'\n');
    fs::write(env.tasks_file(), &store).expect("write store");

    let run = env.ok(&["run"]);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("warning") && run.stderr.contains("line 2"),
        "stderr must warn about line 2: {:?}",
        run.stderr
    );

    let text = fs::read_to_string(env.tasks_file()).expect("store");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines, ["this is not json"], "store: {text:?}");

    assert_eq!(
        archived(&env, "good_1").expect("good_1")["status"],
        "completed"
    );
    let original: Value = serde_json::from_str(REFERENCE_TASK).expect("reference");
    let r = archived(&env, "ref_task_1").expect("reference task archived");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["result"]["type"], "prompt_prepared");
    for key in [
        "priority",
        "custom",
        "owner",
        "reorient",
        "created_at",
        "type",
    ] {
        assert_eq!(r[key], original[key], "top-level {key}");
    }
    for key in ["team", "tags", "summary", "key_points"] {
        assert_eq!(r["context"][key], original["context"][key], "context.{key}");
    }
    for key in ["model", "temperature", "prompt_template", "aura_level"] {
        assert_eq!(
            r["execution"][key], original["execution"][key],
            "execution.{key}"
        );
    }
    // No field of the original record is lost (status/times change, nothing disappears).
    for key in original.as_object().expect("object").keys() {
        assert!(r.get(key).is_some(), "lost field {key}: {r}");
    }
    let prompt = fs::read_to_string(env.log_dir().join("ref_task_1.prompt.txt")).expect("prompt");
    assert!(prompt.ends_with("Task:\nContinue.\n"), "{prompt}");
}

// 9. ---------------------------------------------------------------------------------------

#[test]
fn a_thousand_due_tasks_all_run_in_one_wake() {
    let mut env = Env::new();
    env.set("DEFER_EXECUTOR", "/bin/true");
    let lines: Vec<String> = (0..1000)
        .map(|i| reference_line(&format!("bulk_{i:04}"), &format!("Bulk task {i}")))
        .collect();
    write_store(&env, &lines);

    let run = env.ok(&["run"]);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "");

    let text = fs::read_to_string(env.tasks_file()).unwrap_or_default();
    assert!(
        text.lines().all(|l| l.trim().is_empty()),
        "active store not empty: {} lines",
        text.lines().count()
    );
    let all = env.archived();
    assert_eq!(all.len(), 1000);
    let mut ids: Vec<&str> = all.iter().map(|r| r["id"].as_str().expect("id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1000, "every task archived exactly once");
    for r in &all {
        assert_eq!(r["status"], "completed", "{r}");
        assert_eq!(r["result"]["type"], "executor_output", "{r}");
    }
    let executed = log_lines(&env, " executed id=bulk_");
    assert_eq!(executed.len(), 1000);
    assert_eq!(log_lines(&env, " runner claimed id=bulk_").len(), 1000);
    assert_eq!(log_lines(&env, " archived id=bulk_").len(), 1000);
}

// 10. --------------------------------------------------------------------------------------

#[test]
fn concurrency_runs_executors_in_parallel() {
    let mut env = Env::new();
    let exe = env.script("nap.sh", "sleep 1\necho napped");
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    env.set("DEFER_CONCURRENCY", "4");
    let lines: Vec<String> = (0..8)
        .map(|i| reference_line(&format!("par_{i}"), "Nap"))
        .collect();
    write_store(&env, &lines);

    let started = Instant::now();
    env.ok(&["run"]);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "8 one-second tasks at concurrency 4 took {took:?}"
    );
    let all = env.archived();
    assert_eq!(all.len(), 8);
    for r in &all {
        assert_eq!(r["status"], "completed", "{r}");
        assert_eq!(r["result"]["output"], "napped\n", "{r}");
    }
    assert!(env.records().is_empty());
}

// 11. --------------------------------------------------------------------------------------

#[test]
fn large_output_is_capped_in_the_record_and_kept_whole_in_a_private_file() {
    let mut env = Env::new();
    let exe = env.script("loud.sh", "head -c 100000 /dev/zero | tr '\\0' x");
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    schedule(
        &env,
        &["--when", "now", "--id", "loud", "--summary", "Talk a lot"],
    );
    env.ok(&["run"]);

    let r = archived(&env, "loud").expect("archived");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["result"]["type"], "executor_output");
    let output = r["result"]["output"].as_str().expect("output");
    assert!(
        output.len() < 20_000,
        "record output is {} bytes",
        output.len()
    );
    assert!(
        output.starts_with("xxxx"),
        "{}",
        &output[..40.min(output.len())]
    );
    assert!(
        output.contains("truncat"),
        "must say it was cut: {output:.80}"
    );

    let full_path = PathBuf::from(r["result"]["output_path"].as_str().expect("output_path"));
    assert_eq!(full_path, env.log_dir().join("loud.1.stdout"));
    assert_eq!(
        r["history"][0]["stdout_path"].as_str(),
        full_path.to_str(),
        "the attempt names its output file"
    );
    let full = fs::read(&full_path).expect("full output");
    assert_eq!(full.len(), 100_000);
    assert!(full.iter().all(|&b| b == b'x'));

    let prompt = env.log_dir().join("loud.prompt.txt");
    assert_eq!(mode(&prompt), 0o600, "prompt artifact mode");
    assert_eq!(mode(&full_path), 0o600, "output file mode");
    assert_eq!(mode(&env.log_dir()), 0o700, "log dir mode");
    assert_eq!(mode(&env.archive_dir()), 0o700, "archive dir mode");
    assert_eq!(
        mode(&env.archive_dir().join("deferred_202604.jsonl")),
        0o600
    );
}

// 12. --------------------------------------------------------------------------------------

#[test]
fn archive_sweeps_a_cancelled_task_and_show_still_finds_it() {
    let env = Env::new();
    schedule(
        &env,
        &[
            "--when",
            "1h",
            "--id",
            "never",
            "--summary",
            "Changed my mind",
        ],
    );
    env.ok(&["cancel", "--id", "never", "--reason", "r"]);
    assert_eq!(
        active(&env, "never").expect("still active")["status"],
        "cancelled"
    );

    let out = env.ok(&["archive"]);
    let file = env.archive_dir().join("deferred_202604.jsonl");
    assert!(out.stdout.contains("never"), "{:?}", out.stdout);
    assert!(
        out.stdout.contains(&file.display().to_string()),
        "{:?}",
        out.stdout
    );
    assert!(active(&env, "never").is_none());
    let in_file = read_jsonl(&file);
    assert_eq!(in_file.len(), 1);
    assert_eq!(in_file[0]["id"], "never");
    assert_eq!(in_file[0]["status"], "cancelled");
    assert_eq!(log_lines(&env, "cancelled id=never").len(), 1);
    assert_eq!(
        log_lines(&env, &format!("archived id=never file={}", file.display())).len(),
        1
    );

    let shown = env.ok(&["show", "never"]).json();
    assert_eq!(shown["id"], "never");
    assert_eq!(shown["status"], "cancelled");
    assert_eq!(shown["cancel_reason"], "r");
    assert_eq!(shown["cancelled_at"], NOW);

    // A second sweep has nothing to do.
    let again = env.ok(&["archive"]);
    assert_eq!(again.stdout, "");
    assert_eq!(read_jsonl(&file).len(), 1);
}

#[test]
fn a_signalled_run_finishes_the_running_executor_and_gives_back_the_rest() {
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let mut env = Env::new();
        let started = env.dir.path().join("started");
        let exec = env.script(
            "slow.sh",
            &format!(
                "cat >/dev/null\necho x >> {}\nsleep 2\necho done",
                started.display()
            ),
        );
        env.set("DEFER_EXECUTOR", exec.as_os_str());
        let lines: Vec<String> = (0..5)
            .map(|i| reference_line(&format!("t{i}"), "slow"))
            .collect();
        write_store(&env, &lines);
        let runner = env
            .cmd(&["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        assert!(wait_until(Duration::from_secs(10), || started.exists()));
        signal_child(&runner, signal);
        let out = runner.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "signal {signal}: {stderr}");
        assert!(stderr.contains("scheduled again"), "{stderr}");
        let records = env.records();
        let archived = env.archived();
        let completed = archived
            .iter()
            .filter(|t| t["status"] == "completed")
            .count();
        let waiting: Vec<&Value> = records
            .iter()
            .filter(|t| t["status"] == "scheduled")
            .collect();
        assert_eq!(completed, 1, "the running executor finished: {archived:?}");
        assert_eq!(waiting.len(), 4, "the rest are given back: {records:?}");
        assert!(
            waiting.iter().all(|t| t["attempts"] == 0),
            "no attempt spent"
        );
        assert_eq!(
            fs::read_to_string(&started)
                .expect("started")
                .lines()
                .count(),
            1,
            "nothing else started after the signal"
        );
    }
}

#[test]
fn a_watcher_whose_lock_file_is_deleted_reports_it_takes_the_lock_again_and_carries_on() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    let mut watcher = env.spawn_watcher();
    let wake = env.runtime().join(".runner-wake.json");
    assert!(wait_until(Duration::from_secs(10), || wake.exists()));
    let lock = env.runtime().join(".deferred.jsonl.runner.lock");
    fs::remove_file(&lock).expect("rm lock");
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "after",
    ]);
    // The fault is reported, the lock taken again (a new file), and the task then runs.
    let ran = wait_until(Duration::from_secs(15), || {
        archived(&env, "after").is_some()
    });
    signal_child(&watcher, libc::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || {
        matches!(watcher.try_wait(), Ok(Some(_)))
    }));
    let out = watcher.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(ran, "the task runs once the lock is held again: {stderr}");
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("runner lock file was deleted or replaced"),
        "{stderr}"
    );
    assert!(lock.exists(), "a new lock file");
    let log = env.log();
    assert!(log.contains("runner fault"), "{log}");
    assert!(log.contains("runner recovered"), "{log}");
    assert_eq!(
        archived(&env, "after").expect("after")["status"],
        "completed"
    );
}

#[test]
fn a_watcher_reports_an_unreadable_due_line_once_and_does_not_spin() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    // The quick look sees a due record; the full record lacks created_at.
    let mut bad: Value = serde_json::from_str(&reference_line("bad", "x")).expect("json");
    bad.as_object_mut().expect("object").remove("created_at");
    write_store(&env, &[bad.to_string()]);
    let mut watcher = env.spawn_watcher();
    sleep(Duration::from_millis(1500));
    signal_child(&watcher, libc::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || {
        matches!(watcher.try_wait(), Ok(Some(_)))
    }));
    let out = watcher.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("warning:").count(),
        1,
        "one report, not one per wake: {stderr}"
    );
    assert_eq!(
        env.store_bytes(),
        format!("{bad}\n").into_bytes(),
        "kept as is"
    );
}

#[test]
fn a_killed_runner_costs_an_attempt_only_for_the_task_it_had_started() {
    let mut env = Env::new();
    let lines: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|id| reference_line(id, "x"))
        .collect();
    write_store(&env, &lines);
    // Concurrency 1: the runner claims all three, starts "a" and hangs in it.
    interrupt_runner(&mut env, "a");
    for id in ["b", "c"] {
        assert_eq!(active(&env, id).expect(id)["status"], "executing");
    }
    // `why` predicts what recovery will do, from the same journal.
    let why = env.ok(&["why", "a"]).stdout;
    assert!(why.contains("counts this as a failed attempt"), "{why}");
    let why = env.ok(&["why", "b"]).stdout;
    assert!(why.contains("with no attempt spent"), "{why}");
    let ok = env.script("ok.sh", "cat >/dev/null\necho fine");
    env.set("DEFER_EXECUTOR", ok.as_os_str());
    env.ok(&["run"]);
    let a = archived(&env, "a").expect("a");
    assert_eq!(
        a["status"], "failed",
        "a had started: an interrupted attempt"
    );
    assert!(
        a["error"]
            .as_str()
            .expect("error")
            .starts_with("interrupted")
    );
    for id in ["b", "c"] {
        let t = archived(&env, id).expect(id);
        assert_eq!(
            t["status"], "completed",
            "{id} never started: it simply runs: {t}"
        );
        assert_eq!(t["attempts"], 0, "{t}");
        assert!(t.get("last_error").is_none(), "{t}");
    }
    assert_eq!(
        log_lines(&env, "reason=not_started").len(),
        2,
        "{}",
        env.log()
    );
}

#[test]
fn a_watcher_claims_nothing_while_its_runtime_dir_is_open_to_others_and_says_so() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    let mut watcher = env.spawn_watcher();
    let wake = env.runtime().join(".runner-wake.json");
    assert!(wait_until(Duration::from_secs(10), || wake.exists()));
    // Scheduled (which an open directory refuses) just before it is opened; due while open.
    env.ok(&[
        "schedule",
        "--when",
        "2s",
        "--summary",
        "x",
        "--id",
        "while-open",
    ]);
    let due = Instant::now() + Duration::from_secs(3);
    fs::set_permissions(env.runtime(), fs::Permissions::from_mode(0o777)).expect("chmod");
    // The wake record carries the fault (what doctor, health and the dashboard read).
    let reported = wait_until(Duration::from_secs(10), || {
        fs::read_to_string(&wake).is_ok_and(|w| w.contains("chmod 700"))
    });
    let doctor = env.run(&["doctor"]);
    sleep(due.saturating_duration_since(Instant::now()));
    assert_eq!(
        active(&env, "while-open").expect("still active")["status"],
        "scheduled",
        "nothing claimed while the directory is open"
    );
    fs::set_permissions(env.runtime(), fs::Permissions::from_mode(0o700)).expect("chmod back");
    let ran = wait_until(Duration::from_secs(20), || {
        archived(&env, "while-open").is_some()
    });
    signal_child(&watcher, libc::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || {
        matches!(watcher.try_wait(), Ok(Some(_)))
    }));
    let out = watcher.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(reported, "the wake record names the fault: {stderr}");
    assert!(
        doctor.stdout.contains("chmod 700") && doctor.stdout.contains("fails to wake since"),
        "doctor reports the runner's fault: {}",
        doctor.stdout
    );
    assert!(
        ran,
        "the task runs once the directory is private again: {stderr}"
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("chmod 700"), "{stderr}");
    let log = env.log();
    assert!(log.contains("runner fault"), "{log}");
    assert!(log.contains("runner recovered"), "{log}");
}

#[test]
fn a_task_runs_in_the_directory_it_was_scheduled_for() {
    let mut env = Env::new();
    let project = env.dir.path().join("project");
    fs::create_dir_all(&project).expect("mkdir");
    let seen = env.dir.path().join("seen");
    let exec = env.script(
        "where.sh",
        &format!(
            "cat >/dev/null\npwd > '{0}'\necho \"$DEFER_TASK_CWD\" >> '{0}'",
            seen.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    let relative_ok = env
        .cmd(&[
            "schedule",
            "--when",
            "now",
            "--summary",
            "x",
            "--id",
            "here",
            "--cwd",
        ])
        .arg(&project)
        .output()
        .expect("schedule");
    assert!(relative_ok.status.success());
    let canonical = fs::canonicalize(&project).expect("canonical");
    assert_eq!(
        active(&env, "here").expect("here")["cwd"],
        canonical.display().to_string()
    );
    env.ok(&["run"]);
    let text = fs::read_to_string(&seen).expect("executor ran");
    let lines: Vec<&str> = text.lines().collect();
    let dir = canonical.display().to_string();
    assert_eq!(
        lines,
        [dir.as_str(), dir.as_str()],
        "pwd and DEFER_TASK_CWD"
    );

    // A directory that does not exist is refused at schedule time, store unchanged.
    let before = env.store_bytes();
    let run = env.fails(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--cwd",
        "/no/such/dir",
    ]);
    assert!(
        run.stderr.contains("--cwd \"/no/such/dir\""),
        "{}",
        run.stderr
    );
    assert_eq!(env.store_bytes(), before);

    // One that vanished before the run fails the task, saying so.
    let gone = env.dir.path().join("gone");
    fs::create_dir_all(&gone).expect("mkdir");
    let out = env
        .cmd(&[
            "schedule",
            "--when",
            "now",
            "--summary",
            "x",
            "--id",
            "lost",
            "--cwd",
        ])
        .arg(&gone)
        .output()
        .expect("schedule");
    assert!(out.status.success());
    fs::remove_dir(&gone).expect("rmdir");
    env.ok(&["run"]);
    let lost = archived(&env, "lost").expect("lost");
    assert_eq!(lost["status"], "failed");
    assert!(
        lost["error"]
            .as_str()
            .expect("error")
            .contains("no longer exists"),
        "{lost}"
    );
}

#[test]
fn the_watcher_starts_a_task_that_falls_due_while_another_runs() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    env.set("DEFER_CONCURRENCY", "2");
    let marks = env.dir.path().join("marks");
    fs::create_dir_all(&marks).expect("mkdir");
    // "long" runs for 8 s; every task marks when it starts and when it ends.
    let exec = env.script(
        "mark.sh",
        &format!(
            "cat >/dev/null\ntouch '{0}'/\"$DEFER_TASK_ID\".start\n\
             [ \"$DEFER_TASK_ID\" = long ] && sleep 8\ntouch '{0}'/\"$DEFER_TASK_ID\".end",
            marks.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    let mut watcher = env.spawn_watcher();
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "long",
    ]);
    assert!(wait_until(Duration::from_secs(10), || marks
        .join("long.start")
        .exists()));
    // Due two seconds into the long one.
    env.ok(&["schedule", "--when", "2s", "--summary", "x", "--id", "soon"]);
    let started = wait_until(Duration::from_secs(15), || {
        marks.join("soon.start").exists()
    });
    let long_still_running = !marks.join("long.end").exists();
    signal_child(&watcher, libc::SIGTERM);
    let _ = wait_until(Duration::from_secs(15), || {
        matches!(watcher.try_wait(), Ok(Some(_)))
    });
    let out = watcher.wait_with_output().expect("wait");
    assert!(started, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        long_still_running,
        "the task due meanwhile started in the free slot, not after the long one"
    );
}

#[test]
fn a_runner_never_takes_a_live_watchers_task_for_interrupted() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    let marks = env.dir.path().join("marks");
    fs::create_dir_all(&marks).expect("mkdir");
    let exec = env.script(
        "slow.sh",
        &format!(
            "cat >/dev/null\ntouch '{0}'/\"$DEFER_TASK_ID\".start\nsleep 3\necho done",
            marks.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exec.as_os_str());
    let watcher = env.spawn_watcher();
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "w"]);
    assert!(wait_until(Duration::from_secs(10), || marks
        .join("w.start")
        .exists()));
    // The lock file goes away under the watcher; a cron wake then gets a lock of its own.
    fs::remove_file(env.runtime().join(".deferred.jsonl.runner.lock")).expect("rm lock");
    env.ok(&["run"]);
    assert!(
        env.log().contains("recovery skipped reason=runner_alive"),
        "{}",
        env.log()
    );
    let mut watcher = watcher;
    let stopped = wait_until(Duration::from_secs(15), || {
        matches!(watcher.try_wait(), Ok(Some(_)))
    });
    if !stopped {
        signal_child(&watcher, libc::SIGKILL);
    }
    let _ = watcher.wait_with_output();
    env.ok(&["run"]);
    let all: Vec<Value> = env
        .archived()
        .into_iter()
        .filter(|t| t["id"] == "w")
        .collect();
    assert_eq!(all.len(), 1, "one record, run once: {all:?}");
    assert_eq!(all[0]["status"], "completed", "{all:?}");
    assert_eq!(all[0]["attempts"], 0);
}

/// An idle watcher sleeps until it is told of a change: with a rescan of an hour, a task
/// scheduled "now" by another process still runs, woken by the file notification.
#[test]
fn a_watcher_is_woken_by_a_change_another_process_makes() {
    let mut env = Env::new();
    env.unset("DEFER_NOW");
    let watcher = env
        .cmd(&["run", "--watch", "--rescan", "3600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watcher");
    let wake = env.runtime().join(".runner-wake.json");
    assert!(wait_until(Duration::from_secs(10), || wake.exists()));
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--id",
        "woken",
    ]);
    let ran = wait_until(Duration::from_secs(30), || {
        archived(&env, "woken").is_some()
    });
    signal_child(&watcher, libc::SIGTERM);
    let out = watcher.wait_with_output().expect("wait");
    assert!(
        ran,
        "not woken by the change: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}
