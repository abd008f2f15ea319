//! Security tests: the defences SECURITY.md promises, each tried with the attack it stops.
//!
//! - A runtime directory (or store) that another user could write to is refused, as ssh
//!   refuses a private key with loose permissions.
//! - No symlink planted where `defer` writes, and no id in the store, makes it write outside
//!   its directories.
//! - The executor is run directly, never through a shell; task text reaches it only as data;
//!   it gets the documented variables and no open file of the runner's.
//! - Everything `defer` writes is private (`0600` files, `0700` directories), whatever the
//!   umask, and files an older tool left readable are narrowed when `defer` writes them.
//! - Nothing an executor or a task says can forge a line of the audit log.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::Env;

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

/// A runtime directory with one scheduled task in it.
fn env_with_a_task() -> Env {
    let env = Env::new();
    env.ok(&["schedule", "--id", "t1", "--when", "1h", "--summary", "x"]);
    env
}

/// Every command that touches the runtime fails with one line naming `path` and `fix`, and
/// the store is left as it was; commands that do not touch it still work.
fn assert_refused(env: &Env, path: &Path, fix: &str) {
    let before = env.store_bytes();
    for args in [
        &["schedule", "--when", "1h", "--summary", "y"][..],
        &["list"][..],
        &["show", "t1"][..],
        &["cancel", "--id", "t1"][..],
        &["run"][..],
        &["archive"][..],
        &["check"][..],
    ] {
        let run = env.fails(args);
        assert!(
            run.stderr.contains(&path.display().to_string()) && run.stderr.contains(fix),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(env.store_bytes(), before);
    env.ok(&["time", "normalize", "tomorrow 9am"]);
    env.ok(&["cron"]);
}

#[test]
fn a_runtime_dir_others_or_the_group_can_write_is_refused() {
    let env = env_with_a_task();
    let runtime = env.runtime();
    for loose in [0o777, 0o770, 0o733, 0o1777, 0o720] {
        chmod(&runtime, loose);
        assert_refused(&env, &runtime, &format!("chmod 700 {}", runtime.display()));
    }
    // Readable by others is allowed (the files inside are 0600): a directory made by the
    // reference tool under umask 022 keeps working.
    chmod(&runtime, 0o755);
    env.ok(&["list"]);
    chmod(&runtime, 0o700);
    env.ok(&["run"]);
}

#[test]
fn separate_log_archive_and_store_dirs_are_checked_too() {
    let mut env = env_with_a_task();
    for var in ["DEFER_LOG_DIR", "DEFER_ARCHIVE_DIR"] {
        let dir = env.dir.path().join(format!("{var}-dir"));
        fs::create_dir_all(&dir).expect("mkdir");
        chmod(&dir, 0o777);
        env.set(var, dir.as_os_str());
        let run = env.fails(&["list"]);
        assert!(
            run.stderr.contains(&format!("chmod 700 {}", dir.display())),
            "{var}: {}",
            run.stderr
        );
        chmod(&dir, 0o700);
        env.ok(&["list"]);
    }
    let store_dir = env.dir.path().join("store-dir");
    fs::create_dir_all(&store_dir).expect("mkdir");
    chmod(&store_dir, 0o775);
    env.set(
        "DEFER_TASKS_FILE",
        store_dir.join("tasks.jsonl").as_os_str(),
    );
    let run = env.fails(&["schedule", "--when", "1h", "--summary", "x"]);
    assert!(
        run.stderr.contains("writable by its group"),
        "{}",
        run.stderr
    );
    assert!(!store_dir.join("tasks.jsonl").exists());
}

#[test]
fn a_store_file_others_can_write_is_refused() {
    let env = env_with_a_task();
    chmod(&env.tasks_file(), 0o666);
    assert_refused(
        &env,
        &env.tasks_file(),
        &format!("chmod 600 {}", env.tasks_file().display()),
    );
    // Readable (a store written by the reference tool) is accepted, and made private by
    // the next write.
    chmod(&env.tasks_file(), 0o644);
    env.ok(&["schedule", "--when", "1h", "--summary", "x"]);
    assert_eq!(mode(&env.tasks_file()), 0o600);
}

#[test]
fn a_parent_others_can_write_is_refused_unless_sticky() {
    let mut env = Env::new();
    let open = env.dir.path().join("open");
    let runtime = open.join("runtime");
    fs::create_dir_all(&runtime).expect("mkdir");
    chmod(&runtime, 0o700);
    chmod(&open, 0o777);
    env.set("DEFER_RUNTIME_DIR", runtime.as_os_str());
    let run = env.fails(&["list"]);
    assert!(
        run.stderr.contains(&format!("{} (above", open.display())) && run.stderr.contains("sticky"),
        "{}",
        run.stderr
    );
    // Not there yet: the check looks at the nearest existing parent.
    env.set(
        "DEFER_RUNTIME_DIR",
        open.join("not-yet/runtime").as_os_str(),
    );
    env.fails(&["schedule", "--when", "1h", "--summary", "x"]);
    assert!(!open.join("not-yet").exists(), "nothing is created");
    // With the sticky bit (like /tmp) others cannot replace what is ours.
    chmod(&open, 0o1777);
    env.ok(&["schedule", "--when", "1h", "--summary", "x"]);
    assert_eq!(mode(&open.join("not-yet")), 0o700);
}

#[test]
fn a_symlinked_runtime_dir_is_checked_where_the_link_lives_too() {
    let mut env = Env::new();
    let real = env.dir.path().join("real-runtime");
    fs::create_dir_all(&real).expect("real");
    chmod(&real, 0o700);
    let open = env.dir.path().join("open");
    fs::create_dir_all(&open).expect("open");
    let link = open.join("runtime");
    symlink(&real, &link).expect("link");
    env.set("DEFER_RUNTIME_DIR", link.as_os_str());
    // The target is private, but anyone could swap the link in a world-writable directory.
    chmod(&open, 0o777);
    let run = env.fails(&["list"]);
    assert!(
        run.stderr.contains(&format!("{} (above", open.display())),
        "{}",
        run.stderr
    );
    chmod(&open, 0o755);
    env.ok(&["schedule", "--when", "1h", "--summary", "x"]);
    assert!(real.join("deferred.jsonl").exists());
}

#[test]
fn a_runtime_dir_owned_by_another_user_is_refused() {
    let env = env_with_a_task();
    let runtime = env.runtime();
    // Needs root (or CAP_CHOWN) to hand the directory to someone else.
    if std::os::unix::fs::chown(&runtime, Some(4242), None).is_err() {
        eprintln!("skipping: cannot chown (not root)");
        return;
    }
    let run = env.fails(&["list"]);
    assert!(
        run.stderr.contains("is owned by uid 4242"),
        "{}",
        run.stderr
    );
    std::os::unix::fs::chown(&runtime, Some(0), None).expect("chown back");
    env.ok(&["list"]);
}

// ---------------------------------------------------------------------------------------------
// Symlinks and ids

/// Every file in `root`, recursively (symlinks not followed).
fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path.clone());
            }
            out.insert(path);
        }
    }
    out
}

#[test]
fn symlinks_planted_where_defer_writes_are_never_followed() {
    let mut env = Env::new();
    let executor = env.script("exec.sh", "echo ok");
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    env.ok(&["schedule", "--id", "seed", "--when", "1h", "--summary", "x"]);
    let target = env.dir.path().join("precious.txt");
    let plant = |link: &Path| {
        fs::write(&target, "precious\n").expect("target");
        let _ = fs::remove_file(link);
        symlink(&target, link).expect("symlink");
    };
    let untouched = || assert_eq!(fs::read_to_string(&target).expect("read"), "precious\n");
    let runtime = env.runtime();

    // The writer lock and the runner lock.
    for lock in [".deferred.jsonl.lock", ".deferred.jsonl.runner.lock"] {
        plant(&runtime.join(lock));
        let args: &[&str] = if lock.contains("runner") {
            &["run"]
        } else {
            &["schedule", "--when", "1h", "--summary", "x"]
        };
        let run = env.fails(args);
        assert!(
            run.stderr.contains("symbolic link"),
            "{lock}: {}",
            run.stderr
        );
        untouched();
        fs::remove_file(runtime.join(lock)).expect("unplant");
    }

    // The audit log: the change happens, the log line is refused with a warning.
    plant(&env.log_file());
    let run = env.ok(&[
        "schedule",
        "--id",
        "logged",
        "--when",
        "1h",
        "--summary",
        "x",
    ]);
    assert!(
        run.stderr.contains("audit log not written"),
        "{}",
        run.stderr
    );
    untouched();
    fs::remove_file(env.log_file()).expect("unplant");

    // A prompt artifact: the task does not start (a host problem, so no attempt is spent),
    // nothing is written through the link, and the run exits non-zero so cron reports it.
    env.ok(&["schedule", "--id", "p1", "--when", "now", "--summary", "x"]);
    plant(&env.log_dir().join("p1.prompt.txt"));
    let run = env.fails(&["run"]);
    assert!(run.stderr.contains("stay scheduled"), "{}", run.stderr);
    untouched();
    let p1 = env.find("p1").expect("p1 is kept");
    assert_eq!(p1["status"], "scheduled", "{p1}");
    assert_eq!(p1["attempts"], 0, "{p1}");
    assert!(
        p1["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("prompt artifact"),
        "{p1}"
    );

    // An archive month file: the sweep refuses it and the task stays in the store.
    env.ok(&["schedule", "--id", "c1", "--when", "1h", "--summary", "x"]);
    env.ok(&["cancel", "--id", "c1"]);
    fs::create_dir_all(env.archive_dir()).expect("archive dir");
    plant(&env.archive_dir().join("deferred_202604.jsonl"));
    let run = env.fails(&["archive"]);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    untouched();
    assert!(env.records().iter().any(|r| r["id"] == "c1"));

    fs::remove_file(env.archive_dir().join("deferred_202604.jsonl")).expect("unplant");
    env.ok(&["archive"]);
    untouched();

    // A link planted under a temp file name (of a process that does not exist) is swept
    // away by the next rewrite, never written through.
    let temp = runtime.join(".deferred.jsonl.tmp.2147483646.0");
    plant(&temp);
    env.ok(&["cancel", "--id", "seed"]);
    untouched();
    assert!(
        fs::symlink_metadata(&temp).is_err(),
        "stale temp link removed"
    );
}

#[test]
fn ids_in_a_hand_edited_store_cannot_name_paths() {
    let mut env = Env::new();
    let executor = env.script("exec.sh", "echo ran >> \"$DEFER_PROMPT_FILE.ran\"");
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    fs::create_dir_all(env.runtime()).expect("runtime");
    let hostile = [
        "../../escaped",
        "/tmp/absolute",
        "a/b",
        ".hidden",
        "..",
        "nul\u{0}byte",
        "new\nline",
        &"x".repeat(300),
    ];
    let mut text = String::new();
    for id in hostile {
        text.push_str(
            &serde_json::json!({
                "id": id, "created_at": "2026-04-08T16:00:00Z", "run_at": "2026-04-08T16:00:00Z",
                "status": "scheduled", "context": {"summary": "evil"}
            })
            .to_string(),
        );
        text.push('\n');
    }
    fs::write(env.tasks_file(), text).expect("store");
    let before = tree(env.dir.path());

    env.ok(&["run"]);

    // Only the locks, the log and the archive are new: no prompt file for any of these ids,
    // inside the runtime directory or out of it.
    for path in tree(env.dir.path()).difference(&before) {
        assert!(
            path.starts_with(env.runtime())
                && (path.parent() != Some(env.log_dir().as_path()) || path == &env.log_file()),
            "unexpected file {}",
            path.display()
        );
    }
    assert!(!Path::new("/tmp/absolute.prompt.txt").exists());
    let archived = env.archived();
    assert_eq!(archived.len(), hostile.len());
    for record in &archived {
        assert_eq!(record["status"], "failed", "{record}");
        assert!(
            record["error"]
                .as_str()
                .unwrap_or("")
                .contains("invalid task id"),
            "{record}"
        );
    }
    // The CLI refuses such ids outright.
    for id in ["../x", "a/b", ".x"] {
        env.fails(&["schedule", "--id", id, "--when", "1h", "--summary", "x"]);
        let run = env.run(&["show", id]);
        assert!(!run.success());
    }
}

// ---------------------------------------------------------------------------------------------
// The executor

#[test]
fn the_executor_is_never_run_through_a_shell() {
    let mut env = Env::new();
    let canary = env.dir.path().join("pwned");
    let canary_str = canary.display().to_string();
    // A "path" that a shell would run as two commands.
    env.set(
        "DEFER_EXECUTOR",
        format!("/bin/echo hi; touch {canary_str}"),
    );
    env.ok(&["schedule", "--id", "a", "--when", "now", "--summary", "x"]);
    // Not a program: the run stops before claiming, naming the whole value as one path.
    let run = env.fails(&["run"]);
    assert!(!canary.exists());
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert_eq!(env.find("a").expect("a")["status"], "scheduled");

    // Task text full of shell syntax reaches the executor as data, byte for byte.
    let received = env.dir.path().join("stdin.json");
    let executor = env.script("cat.sh", &format!("cat > '{}'", received.display()));
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    let nasty = format!(
        "$(touch {canary_str}) `touch {canary_str}` ; touch {canary_str} && echo \"' \\ \u{1b}[2J"
    );
    env.ok(&[
        "schedule",
        "--id",
        "b",
        "--when",
        "now",
        "--summary",
        &nasty,
        "--key-point",
        &nasty,
    ]);
    env.ok(&["run"]);
    assert!(!canary.exists(), "task text was run by a shell");
    let got: Value =
        serde_json::from_slice(&fs::read(&received).expect("executor got stdin")).expect("json");
    assert_eq!(got["context"]["summary"], nasty.as_str());
    assert_eq!(got["context"]["key_points"][0], nasty.as_str());
}

#[test]
fn the_executor_gets_the_documented_environment_and_no_open_files_of_the_runner() {
    let mut env = Env::new();
    let dump = env.dir.path().join("dump");
    let executor = env.script(
        "env.sh",
        &format!(
            "env > '{d}.env'\n\
             for fd in /proc/$$/fd/*; do readlink \"$fd\"; done > '{d}.fds'",
            d = dump.display()
        ),
    );
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    env.set("SOME_USER_SETTING", "kept");
    env.ok(&["schedule", "--id", "e1", "--when", "now", "--summary", "x"]);
    env.ok(&["run"]);

    let text = fs::read_to_string(dump.with_extension("env")).expect("env dump");
    let mut got: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
        .collect();
    // What the shell itself adds.
    for shell in ["PWD", "OLDPWD", "SHLVL", "_"] {
        got.remove(shell);
    }
    let mut want: BTreeSet<String> = env.vars.iter().map(|(k, _)| k.clone()).collect();
    want.insert("PATH".into());
    // The documented additions (docs/task-schema.md). A new one belongs in this list only
    // after a look at what it could leak.
    for added in [
        "DEFER_TASK_ID",
        "DEFER_PROMPT_FILE",
        "DEFER_ATTEMPT",
        "DEFER_RUNTIME_DIR",
        "DEFER_LATENESS_SECONDS",
        // Which store the runner uses: a path, or a database's user, host and name (no
        // password: `followups::an_executor_schedules_a_follow_up_of_the_running_task`).
        "DEFER_RUNNER_STORE",
    ] {
        want.insert(added.into());
    }
    assert_eq!(
        got, want,
        "the executor's environment is the runner's plus the documented variables"
    );

    let fds = fs::read_to_string(dump.with_extension("fds")).expect("fd dump");
    let runtime = env.runtime().display().to_string();
    for target in fds.lines() {
        assert!(
            !target.contains(&runtime) && !target.contains("deferred"),
            "the executor inherited a runner file: {target}\n{fds}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Permissions

/// `defer` with a umask of 000, as a careless crontab might set it.
fn run_with_umask_000(env: &Env, args: &[&str]) {
    let mut sh = std::process::Command::new("/bin/sh");
    sh.arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(crate::util::defer_bin())
        .args(args)
        .env_clear()
        .envs(env.vars.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        sh.env("PATH", path);
    }
    let out = sh.output().expect("spawn");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn everything_defer_writes_is_private_whatever_the_umask() {
    let mut env = Env::new();
    // Output over the 16 KiB record cap; the attempt's whole output goes to <id>.1.stdout.
    let executor = env.script("big.sh", "head -c 40000 /dev/zero | tr '\\0' x");
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    run_with_umask_000(
        &env,
        &["schedule", "--id", "u1", "--when", "now", "--summary", "x"],
    );
    run_with_umask_000(&env, &["run"]);
    let output = env.log_dir().join("u1.1.stdout");
    assert!(output.exists(), "the large output was saved");
    for dir in [env.runtime(), env.log_dir(), env.archive_dir()] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for file in tree(&env.runtime()) {
        if file.is_file() {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
}

#[test]
fn readable_files_left_by_an_older_tool_are_made_private_when_written() {
    let env = Env::new();
    fs::create_dir_all(env.log_dir()).expect("logs");
    fs::create_dir_all(env.archive_dir()).expect("archive");
    let legacy = [
        env.tasks_file(),
        env.log_file(),
        env.log_dir().join("m1.prompt.txt"),
        env.archive_dir().join("deferred_202604.jsonl"),
    ];
    for file in &legacy {
        fs::write(file, "").expect("legacy file");
        chmod(file, 0o644);
    }
    env.ok(&["schedule", "--id", "m1", "--when", "now", "--summary", "x"]);
    env.ok(&["run"]);
    for file in &legacy {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}

// ---------------------------------------------------------------------------------------------
// The audit log

#[test]
fn nothing_a_task_or_an_executor_says_can_forge_an_audit_line() {
    let mut env = Env::new();
    let forged = "2026-04-08T16:35:00Z executed id=forged mode=executor";
    let executor = env.script(
        "liar.sh",
        &format!("printf 'boom\\n{forged}\\n' >&2\nexit 3"),
    );
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    env.ok(&[
        "schedule",
        "--id",
        "f1",
        "--when",
        "now",
        "--summary",
        &format!("x\n{forged}"),
    ]);
    env.ok(&["schedule", "--id", "f2", "--when", "1h", "--summary", "x"]);
    env.ok(&["cancel", "--id", "f2", "--reason", &format!("r\n{forged}")]);
    env.ok(&["run"]);
    let log = env.log();
    for line in log.lines() {
        assert!(!line.starts_with(forged), "forged line in the log:\n{log}");
        let mut words = line.split(' ');
        let stamp = words.next().unwrap_or("");
        assert!(
            stamp.len() == 20 && stamp.ends_with('Z'),
            "not an event line: {line:?}"
        );
    }
    assert!(log.contains("failed id=f1"), "{log}");
}

/// Runs `defer args` with a deadline: a FIFO or `/dev/zero` must be refused at once, never
/// block or read forever.
fn within_seconds(
    env: &Env,
    args: &[&str],
    extra: &[(&str, &std::path::Path)],
) -> crate::util::Run {
    let mut cmd = env.cmd(args);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn defer");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("defer {args:?} {extra:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::util::Run::from(child.wait_with_output().expect("output"))
}

/// A store or context file that is a FIFO or a device is refused with one line: before, a
/// FIFO hung `list`, `/dev/zero` was read until memory ran out, and `--context-file
/// /dev/zero` said "not found".
#[test]
fn a_fifo_or_device_as_store_or_context_file_is_refused() {
    let env = Env::new();
    env.ok(&["schedule", "--when", "1h", "--summary", "x", "--id", "a"]);
    let fifo = env.runtime().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let zero = std::path::Path::new("/dev/zero");
    for odd in [fifo.as_path(), zero] {
        for args in [
            &["list"][..],
            &["show", "a"],
            &["cancel", "--id", "a"],
            &["check"],
        ] {
            let run = within_seconds(&env, args, &[("DEFER_TASKS_FILE", odd)]);
            assert!(!run.success(), "{args:?} with {odd:?}");
            let line = run.stderr.trim_end();
            assert!(
                !line.contains('\n') && line.starts_with("error: "),
                "{args:?}: {line:?}"
            );
            if odd == fifo.as_path() {
                assert!(line.contains("not a regular file"), "{line:?}");
            }
        }
        let file = odd.to_str().expect("utf-8 path");
        for args in [
            &["reorient", "--context-file", file][..],
            &[
                "schedule",
                "--when",
                "1h",
                "--reorient",
                "--context-file",
                file,
            ],
        ] {
            let run = within_seconds(&env, args, &[]);
            assert!(!run.success(), "{args:?}");
            let line = run.stderr.trim_end();
            assert!(
                !line.contains('\n') && line.contains("not a regular file"),
                "{args:?}: {line:?}"
            );
        }
        let run = within_seconds(&env, &["reorient"], &[("DEFER_CONTEXT_FILE", odd)]);
        assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    }
    assert_eq!(env.ok(&["show", "a"]).json()["status"], "scheduled");
}

/// What the executor saw in its environment: `NAME=value` lines.
fn executor_env(env: &mut Env, tag: &str) -> String {
    let dump = env.dir.path().join(format!("{tag}.env"));
    let executor = env.script(
        &format!("{tag}.sh"),
        &format!("cat >/dev/null; env > '{}'", dump.display()),
    );
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    env.ok(&["schedule", "--id", tag, "--when", "now", "--summary", "x"]);
    env.ok(&["run"]);
    fs::read_to_string(&dump).expect("env dump")
}

/// The database URL (which may hold a password) and libpq's secrets do not reach the
/// executor unless `DEFER_EXECUTOR_KEEP_SECRETS=1` says so.
#[test]
fn the_executor_does_not_inherit_database_secrets() {
    let secrets = [
        ("PGPASSWORD", "hunter2"),
        ("PGSERVICEFILE", "/home/u/.pg_service.conf"),
        ("DEFER_TEST_DATABASE_URL", "postgres://u:hunter2@db/test"),
    ];
    let mut env = Env::new();
    for (k, v) in secrets {
        env.set(k, v);
    }
    env.set("SOME_USER_SETTING", "kept");
    let seen = executor_env(&mut env, "strip");
    assert!(seen.contains("SOME_USER_SETTING=kept"), "{seen}");
    for (k, _) in secrets {
        assert!(
            !seen.contains(&format!("{k}=")),
            "{k} reached the executor:\n{seen}"
        );
    }
    env.set("DEFER_EXECUTOR_KEEP_SECRETS", "1");
    let seen = executor_env(&mut env, "keep");
    for (k, v) in secrets {
        assert!(
            seen.contains(&format!("{k}={v}")),
            "{k} was not passed:\n{seen}"
        );
    }

    // The password file's path is not a secret (the executor, as the same user, can read
    // the file anyway): it stays, so the `defer` an executor runs logs in the runner's way.
    env.set("DEFER_EXECUTOR_KEEP_SECRETS", "0");
    env.set("PGPASSFILE", "/home/u/.pgpass");
    let seen = executor_env(&mut env, "passfile");
    assert!(seen.contains("PGPASSFILE=/home/u/.pgpass"), "{seen}");

    // With the PostgreSQL store, its own URL comes back without its password (when a test
    // server is configured; the server trusts local connections, so the password is only
    // looked for, never checked).
    if let Some(mut env) = Env::postgres() {
        let (url, _) = env.database.clone().expect("database");
        let with_password = url.replacen("://postgres@", "://postgres:hunter2@", 1);
        env.set("DEFER_DATABASE_URL", with_password.as_str());
        let seen = executor_env(&mut env, "pg");
        assert!(!seen.contains("hunter2"), "{seen}");
        if with_password != url {
            assert!(
                seen.contains(&format!("DEFER_DATABASE_URL={url}\n")),
                "{seen}"
            );
        }
        env.set("DEFER_EXECUTOR_KEEP_SECRETS", "1");
        let seen = executor_env(&mut env, "pg-keep");
        assert!(
            seen.contains(&format!("DEFER_DATABASE_URL={with_password}\n")),
            "{seen}"
        );
    }
}

/// A grandchild that leaves the executor's process group with `setsid` is still ended when
/// the executor times out: the runner is its subreaper and kills what its executors left.
#[cfg(target_os = "linux")]
#[test]
fn a_setsid_grandchild_does_not_outlive_the_executor_timeout() {
    let mut env = Env::new();
    let pid_file = env.dir.path().join("grandchild.pid");
    let executor = env.script(
        "escape.sh",
        &format!(
            "cat >/dev/null; setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $! > '{}'; sleep 60",
            pid_file.display()
        ),
    );
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    env.set("DEFER_EXECUTOR_TIMEOUT_SECONDS", "1");
    env.ok(&["schedule", "--id", "esc", "--when", "now", "--summary", "x"]);
    env.run(&["run"]);
    let pid: i32 = fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(pid > 1);
    // Gone, or at most a zombie about to be reaped by whoever adopted it.
    let state = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let alive = state
        .rsplit_once(')')
        .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'));
    if alive && state.contains("(sleep)") {
        // Clean up the process this test started before failing.
        // SAFETY: kill takes plain integers; pid > 1 is the sleep our executor started.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    assert!(
        !(alive && state.contains("(sleep)")),
        "the setsid grandchild survived: {state}"
    );
    let task = env.find("esc").expect("task").to_string();
    assert!(task.contains("timed out"), "{task}");
}

/// Text from a hand-edited store (ids, summaries, errors) reaches the terminal escaped in
/// `doctor` and `why`: no ESC or BEL byte gets through.
#[test]
fn doctor_and_why_escape_what_the_store_says() {
    let env = Env::new();
    env.ok(&["schedule", "--id", "seed", "--when", "1h", "--summary", "x"]);
    let hostile = "\u{1b}]0;owned\u{7}\u{1b}[31mred";
    let mut ok: Value =
        serde_json::from_str(&crate::util::reference_line("ok1", hostile)).expect("json");
    ok["status"] = Value::from("failed");
    ok["last_error"] = Value::from(format!("boom {hostile}"));
    ok["attempts"] = Value::from(1);
    let mut stuck: Value = serde_json::from_str(&crate::util::reference_line(
        &format!("bad{hostile}"),
        hostile,
    ))
    .expect("json");
    stuck["status"] = Value::from("executing");
    let mut due: Value =
        serde_json::from_str(&crate::util::reference_line("due1", hostile)).expect("json");
    due["run_at"] = Value::from("2026-04-08T10:00:00Z");
    let text = format!("{ok}\n{stuck}\n{due}\n{{\"id\":\"{}\"\n", "\\u001b[2Jx");
    let mut store = fs::read(env.tasks_file()).expect("store");
    store.extend_from_slice(text.as_bytes());
    fs::write(env.tasks_file(), store).expect("write store");

    for args in [
        &["doctor"][..],
        &["why", "ok1"],
        &["why", "due1"],
        &["run", "-v"],
        &["why", "bad\u{1b}x"],
    ] {
        let run = env.run(args);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains('\u{1b}') && !all.contains('\u{7}'),
            "{args:?} let a control character through: {all:?}"
        );
    }
    let why = env.ok(&["why", "ok1"]).stdout;
    assert!(why.contains("\\u{1b}"), "{why}");
}
