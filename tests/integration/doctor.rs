//! `defer doctor`, `defer why` and `defer cron install|uninstall`, driven through the real
//! binary. The crontab is a fake `crontab` program (a shell script keeping the table in a file
//! of the test's temp dir) named by `DEFER_CRONTAB`: no test reads or writes a real crontab.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Env, Run, signal_child};

/// The instant the harness pins `DEFER_NOW` to.
const NOW: &str = "2026-04-08T16:35:00Z";

/// Installs a fake `crontab` in the env's temp dir and points `DEFER_CRONTAB` at it; returns
/// the file holding the table. `initial` is the table before the test (`None`: the user has
/// no crontab, and `crontab -l` says so the way the real one does).
fn fake_crontab(env: &mut Env, initial: Option<&str>) -> PathBuf {
    let table = env.dir.path().join("crontab.txt");
    if let Some(text) = initial {
        fs::write(&table, text).expect("write crontab");
    }
    let script = env.script(
        "fake-crontab",
        &format!(
            r#"f='{}'
case "$1" in
  -l) [ -f "$f" ] || {{ echo "no crontab for tester" >&2; exit 1; }}; cat "$f" ;;
  -) cat > "$f" ;;
  *) echo "fake crontab: unexpected arguments: $*" >&2; exit 2 ;;
esac"#,
            table.display()
        ),
    );
    env.set("DEFER_CRONTAB", script.as_os_str());
    table
}

/// A `defer run` line as a person might write it by hand, with this env's settings.
fn hand_line(env: &Env, binary: &str) -> String {
    format!(
        "* * * * * DEFER_RUNTIME_DIR={} DEFER_TIMEZONE=UTC DEFER_WAKE_ORIGIN=cron {binary} run\n",
        env.runtime().display()
    )
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn tagged_lines(table: &str) -> Vec<&str> {
    table
        .lines()
        .filter(|l| l.ends_with(" # agent-defer"))
        .collect()
}

/// A scheduled record in the reference format, due at `run_at`.
fn task_line(id: &str, run_at: &str, extra: Value) -> String {
    let mut record = json!({
        "id": id,
        "created_at": "2026-04-08T12:00:00Z",
        "run_at": run_at,
        "type": "deferred_task",
        "intent": "resume_task",
        "context": {"summary": format!("summary of {id}"), "key_points": [], "artifacts": [], "constraints": []},
        "execution": {"mode": "fresh", "prompt_template": "do it", "aura_level": "low"},
        "status": "scheduled",
        "attempts": 0,
        "max_retries": 0,
        "reorient_requested": false
    });
    if let (Some(map), Value::Object(more)) = (record.as_object_mut(), extra) {
        map.extend(more);
    }
    record.to_string()
}

/// Writes `lines` as the whole active store.
fn write_store(env: &Env, lines: &[String]) {
    fs::create_dir_all(env.runtime()).expect("runtime dir");
    fs::write(env.tasks_file(), format!("{}\n", lines.join("\n"))).expect("write store");
}

/// Runs `defer run` once as cron would (the origin the installed line sets), with "now"
/// pinned to `at` (records a wake at that instant).
fn wake_at(env: &Env, at: &str) {
    let run = env
        .cmd(&["run"])
        .env("DEFER_NOW", at)
        .env("DEFER_WAKE_ORIGIN", "cron")
        .output()
        .expect("spawn defer run");
    assert!(run.status.success(), "{run:?}");
}

/// The output's lines starting with `prefix`.
fn lines_with<'a>(run: &'a Run, prefix: &str) -> Vec<&'a str> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with(prefix))
        .collect()
}

fn assert_line(run: &Run, prefix: &str, needles: &[&str]) {
    let found = lines_with(run, prefix)
        .into_iter()
        .any(|l| needles.iter().all(|n| l.contains(n)));
    assert!(
        found,
        "no {prefix:?} line containing {needles:?} in:\n{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// doctor

#[test]
fn doctor_passes_on_a_healthy_setup() {
    let mut env = Env::new();
    let table = fake_crontab(&mut env, Some("MAILTO=me\n"));
    let executor = env.script("exec.sh", "cat >/dev/null; echo done");
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    env.ok(&["cron", "install"]);
    assert_eq!(tagged_lines(&read(&table)).len(), 1);
    let id = env
        .ok(&[
            "schedule",
            "--compact",
            "--when",
            "2h",
            "--summary",
            "later",
        ])
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    wake_at(&env, NOW);

    let run = env.ok(&["doctor"]);
    assert!(
        run.stdout.lines().all(|l| l.starts_with("ok: ")),
        "{}",
        run.stdout
    );
    assert_line(
        &run,
        "ok: ",
        &["time zone UTC", "now is Wed 2026-04-08 16:35 UTC"],
    );
    assert_line(
        &run,
        "ok: ",
        &["store: the JSONL file", "1 scheduled, 0 executing"],
    );
    assert_line(
        &run,
        "ok: ",
        &["the runner last woke Wed 2026-04-08 16:35 UTC, now (cron"],
    );
    assert_line(
        &run,
        "ok: ",
        &["1 crontab line running `defer run` (installed by `defer cron install`)"],
    );
    assert_line(&run, "ok: ", &["executor", "is executable"]);
    assert_line(
        &run,
        "ok: ",
        &[&format!("no task is due; the next, {id}, is due"), "in 2h"],
    );
    assert_line(&run, "ok: ", &["no task is executing"]);
    assert_line(
        &run,
        "ok: ",
        &["every line of the store and the archives is a valid task record"],
    );
    assert_eq!(run.stderr, "");

    let json = env.ok(&["doctor", "--json"]).json();
    let checks = json.as_array().expect("array");
    let names: Vec<&str> = checks.iter().filter_map(|c| c["check"].as_str()).collect();
    assert_eq!(
        names,
        [
            "clock",
            "permissions",
            "dirs",
            "store",
            "runner",
            "wakeup",
            "settings",
            "executor",
            "due",
            "executing",
            "outcomes",
            "lines"
        ]
    );
    assert!(
        checks
            .iter()
            .all(|c| c["level"] == "ok" && c["message"].is_string())
    );
}

#[test]
fn doctor_reports_each_problem_in_a_broken_setup() {
    let mut env = Env::new();
    fake_crontab(&mut env, None);
    let executor = env.dir.path().join("not-executable.sh");
    fs::write(&executor, "#!/bin/sh\n").expect("write");
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    write_store(
        &env,
        &[
            task_line("late_1", "2026-04-08T13:35:00Z", json!({})),
            "{not a record".to_string(),
        ],
    );

    let run = env.run(&["doctor"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stderr.trim(),
        "error: 6 check(s) need attention: see the `problem:` lines above"
    );
    assert_line(
        &run,
        "problem: ",
        &[
            "the runner has never woken on this host",
            "defer cron install",
        ],
    );
    assert_line(
        &run,
        "problem: ",
        &[
            "nothing wakes the runner on this host: no crontab line runs `defer run`, and no watcher is installed",
            "contrib/systemd/defer-watch.service",
        ],
    );
    assert_line(
        &run,
        "problem: ",
        &[
            &format!("DEFER_EXECUTOR {} is not executable", executor.display()),
            "chmod +x",
        ],
    );
    assert_line(
        &run,
        "problem: ",
        &[
            "1 task is due and not run; the most overdue, late_1, was due Wed 2026-04-08 13:35 UTC, 3h late",
            "defer why late_1",
        ],
    );
    assert_line(
        &run,
        "problem: ",
        &[
            "1 line(s) are not valid task records (first: ",
            "deferred.jsonl:2:",
            "defer check",
        ],
    );
    assert_line(&run, "ok: ", &["time zone UTC"]);
    assert_line(&run, "ok: ", &["and the store are writable by you only"]);

    let json = env.run(&["doctor", "--json"]);
    assert_eq!(json.code, Some(1));
    let levels: Vec<(String, String)> = json
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap_or("").to_string(),
                c["level"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let problems: Vec<&str> = levels
        .iter()
        .filter(|(_, l)| l == "problem")
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(
        problems,
        ["dirs", "runner", "wakeup", "executor", "due", "lines"]
    );
    // The log directory does not exist: a cron line's redirect would fail.
    assert_line(
        &run,
        "problem: ",
        &[
            "logs does not exist: a cron line's `>> ",
            "defer cron install",
        ],
    );
}

#[test]
fn doctor_sees_a_wake_older_than_the_due_task() {
    let mut env = Env::new();
    let line = hand_line(&env, "/usr/local/bin/defer");
    fake_crontab(&mut env, Some(&line));
    write_store(
        &env,
        &[task_line("late_2", "2026-04-08T13:35:00Z", json!({}))],
    );
    wake_at(&env, "2026-04-08T12:35:00Z");

    let run = env.run(&["doctor"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_line(
        &run,
        "problem: ",
        &[
            "the runner last woke Wed 2026-04-08 12:35 UTC, 4h ago (cron, pid ",
            "task late_2 has been due since Wed 2026-04-08 13:35 UTC without a wake",
        ],
    );
    assert_line(&run, "problem: ", &["the most overdue, late_2", "3h late"]);
    // A line installed by hand counts as a wake-up too.
    assert_line(&run, "ok: ", &["1 crontab line running `defer run`"]);
    assert_line(&run, "ok: ", &["no executor (DEFER_EXECUTOR is unset)"]);
}

#[test]
fn doctor_counts_a_watcher_unit_and_warns_about_an_idle_runner() {
    let mut env = Env::new();
    fake_crontab(&mut env, Some("# nothing here\n"));
    let units = env.dir.path().join("home/.config/systemd/user");
    fs::create_dir_all(&units).expect("units dir");
    let unit = format!(
        "[Service]\nEnvironment=DEFER_RUNTIME_DIR={} \"DEFER_TIMEZONE=UTC\"\n\
         Environment=DEFER_WAKE_ORIGIN=systemd\n",
        env.runtime().display()
    );
    fs::write(units.join("defer-watch.service"), unit).expect("unit");
    wake_at(&env, "2026-04-08T10:00:00Z");
    fs::create_dir_all(env.log_dir()).expect("log dir");

    let run = env.ok(&["doctor"]);
    assert_line(&run, "ok: ", &["wakes the runner: ", "defer-watch.service"]);
    // Nothing is due, so an old wake is a warning, not a failure.
    assert_line(
        &run,
        "warn: ",
        &[
            "the runner last woke Wed 2026-04-08 10:00 UTC, 6h 35m ago",
            "nothing is due",
        ],
    );
}

#[test]
fn doctor_counts_a_live_watcher_as_the_wakeup() {
    let mut env = Env::new();
    env.unset("DEFER_NOW"); // `--watch` runs on the real clock
    fake_crontab(&mut env, None);
    let mut watcher = env
        .cmd(&["run", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watcher");
    let wake = env.runtime().join(".runner-wake.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !read(&wake).contains("\"watch\"") {
        assert!(
            Instant::now() < deadline,
            "the watcher never recorded a wake"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = env.run(&["doctor"]);

    signal_child(&watcher, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while watcher.try_wait().expect("try_wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "the watcher did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    assert!(run.success(), "{run:?}");
    let pid = watcher.id();
    assert_line(
        &run,
        "ok: ",
        &["the runner last woke", &format!("(watch, pid {pid})")],
    );
    assert_line(
        &run,
        "ok: ",
        &[&format!(
            "wakes the runner: a `defer run --watch` process (pid {pid})"
        )],
    );
}

#[test]
fn doctor_reports_tasks_left_executing_by_a_dead_runner() {
    let mut env = Env::new();
    let line = hand_line(&env, "defer");
    fake_crontab(&mut env, Some(&line));
    write_store(
        &env,
        &[task_line(
            "orphan",
            "2026-04-08T16:00:00Z",
            json!({"status": "executing", "started_at": "2026-04-08T16:01:00Z"}),
        )],
    );
    wake_at(&env, NOW);
    // The wake above recovered the orphan; put it back as a runner that died would leave it.
    write_store(
        &env,
        &[task_line(
            "orphan",
            "2026-04-08T16:00:00Z",
            json!({"status": "executing", "started_at": "2026-04-08T16:01:00Z"}),
        )],
    );
    let run = env.ok(&["doctor"]);
    assert_line(
        &run,
        "warn: ",
        &[
            "1 task(s) executing (the longest, orphan, started Wed 2026-04-08 16:01 UTC, 34m ago) but no runner holds the lock",
            "recovers them",
        ],
    );
}

#[test]
fn doctor_reports_a_runtime_dir_others_can_write() {
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env::new();
    let line = hand_line(&env, "defer");
    fake_crontab(&mut env, Some(&line));
    wake_at(&env, NOW);
    fs::set_permissions(env.runtime(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let run = env.run(&["doctor"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_line(
        &run,
        "problem: ",
        &["is writable by group and others (mode 0777)", "chmod 700"],
    );
}

#[test]
fn doctor_reports_an_unreachable_database_without_crashing() {
    let mut env = Env::new();
    fake_crontab(&mut env, None);
    env.set(
        "DEFER_DATABASE_URL",
        "postgres://nobody@127.0.0.1:1/nothing",
    );
    let run = env.run(&["doctor"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_line(
        &run,
        "problem: ",
        &["cannot open the task store: ", "DEFER_DATABASE_URL"],
    );
    assert_line(&run, "ok: ", &["time zone UTC"]);
    // With a shared database other hosts may run the tasks: this host's silence is a warning.
    assert_line(
        &run,
        "warn: ",
        &["the runner has never woken on this host (fine if runners on other hosts"],
    );
    // Nothing has run here yet: no runtime directory either.
    assert!(
        run.stderr.starts_with("error: 2 check(s) need attention"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// why

fn why(env: &Env, id: &str) -> String {
    env.ok(&["why", id]).stdout
}

#[test]
fn why_explains_a_future_task() {
    let env = Env::new();
    let id = env
        .ok(&[
            "schedule",
            "--compact",
            "--when",
            "2h",
            "--summary",
            "Ping the team",
        ])
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let text = why(&env, &id);
    assert!(
        text.starts_with(&format!("{id}: \"Ping the team\"\n")),
        "{text}"
    );
    assert!(text.contains("Where: the active store"), "{text}");
    assert!(
        text.contains("Status: scheduled — waiting for its time"),
        "{text}"
    );
    assert!(
        text.contains(
            "Due: it is due Wed 2026-04-08 18:35 UTC, in 2h (as typed: \"2h\", read in UTC)."
        ),
        "{text}"
    );
    assert!(
        text.contains("Why it has not run: it is in the future; the first runner wake after Wed 2026-04-08 18:35 UTC runs it. But the runner has never woken on this host"),
        "{text}"
    );
}

#[test]
fn why_explains_a_due_task_the_runner_has_not_reached() {
    let env = Env::new();
    write_store(
        &env,
        &[task_line("waiting", "2026-04-08T13:35:00Z", json!({}))],
    );
    wake_at(&env, "2026-04-08T12:35:00Z");
    let text = why(&env, "waiting");
    assert!(
        text.contains("Due: it was due Wed 2026-04-08 13:35 UTC, 3h ago."),
        "{text}"
    );
    assert!(
        text.contains("Why it has not run: the runner last woke Wed 2026-04-08 12:35 UTC, 4h ago (cron), before this task became due, and nothing has woken it since"),
        "{text}"
    );

    let fresh = Env::new();
    write_store(
        &fresh,
        &[task_line("never", "2026-04-08T13:35:00Z", json!({}))],
    );
    let text = why(&fresh, "never");
    assert!(
        text.contains("Why it has not run: the runner has never woken on this host"),
        "{text}"
    );
}

#[test]
fn why_explains_a_completed_archived_task() {
    let env = Env::new();
    let id = env
        .ok(&[
            "schedule",
            "--compact",
            "--when",
            "now",
            "--summary",
            "done soon",
        ])
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    env.ok(&["run"]);
    let text = why(&env, &id);
    assert!(text.contains("Where: the archive"), "{text}");
    assert!(
        text.contains("Status: completed Wed 2026-04-08 16:35 UTC, now — it ran"),
        "{text}"
    );
    assert!(
        text.contains("Result: no executor was configured, so the prompt was written to "),
        "{text}"
    );
    assert!(text.contains(&format!("{id}.prompt.txt")), "{text}");
    assert!(!text.contains("Why it has not run"), "{text}");
}

#[test]
fn why_explains_a_failed_task_with_its_error() {
    let mut env = Env::new();
    let executor = env.script(
        "fail.sh",
        "cat >/dev/null; echo 'connection refused' >&2; exit 3",
    );
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    let id = env
        .ok(&["schedule", "--compact", "--when", "now", "--summary", "x"])
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    env.ok(&["run"]);
    let text = why(&env, &id);
    assert!(
        text.contains(
            "Status: failed Wed 2026-04-08 16:35 UTC, now — it gave up after 1 attempt(s)"
        ),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
    assert!(
        text.contains("Attempts: 1 failed run(s) of at most 1 (max_retries 0)"),
        "{text}"
    );
    assert!(
        text.contains("Result: the executor failed with exit code 3"),
        "{text}"
    );
}

#[test]
fn why_explains_a_cancelled_task_with_its_reason() {
    let env = Env::new();
    let id = env
        .ok(&["schedule", "--compact", "--when", "1h", "--summary", "x"])
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    env.ok(&["cancel", "--id", &id, "--reason", "done by hand"]);
    let text = why(&env, &id);
    assert!(text.contains("Where: the active store"), "{text}");
    assert!(
        text.contains("Status: cancelled Wed 2026-04-08 16:35 UTC, now — it will not run. Reason: \"done by hand\""),
        "{text}"
    );
}

#[test]
fn why_explains_a_series_occurrence_and_its_missed_run_policy() {
    let env = Env::new();
    write_store(
        &env,
        &[task_line(
            "daily_3",
            "2026-04-08T13:35:00Z",
            json!({
                "series": {"id": "daily_1", "rule": "every 1d", "occurrence": 3,
                           "scheduled_for": "2026-04-08T13:35:00Z", "count": 5},
                "if_late": "skip",
                "late_after": "1h"
            }),
        )],
    );
    let text = why(&env, "daily_3");
    assert!(
        text.contains("Series: occurrence 3 of series daily_1 (rule \"every 1d\"), scheduled for Wed 2026-04-08 13:35 UTC, 3h ago; the series stops after 5 occurrences."),
        "{text}"
    );
    assert!(text.contains("defer cancel --series daily_1"), "{text}");
    assert!(
        text.contains("Missed-run policy: if a runner finds it more than 1h late it is skipped"),
        "{text}"
    );
    assert!(
        text.contains(
            "It is already 3h late, past the 1h limit: the next wake records it as skipped."
        ),
        "{text}"
    );
}

#[test]
fn why_an_unknown_id_is_not_found() {
    let env = Env::new();
    let run = env.fails(&["why", "task_nope"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.trim(), "error: Task not found: task_nope");
}

// ---------------------------------------------------------------------------------------------
// cron install / uninstall

/// Other entries, ending without a newline (as a hand-edited file can).
const OTHERS: &str = "# my jobs\nMAILTO=me@example.com\nSHELL=/bin/bash\n\n*/5 * * * * /usr/bin/backup --quiet  \n0 3 * * * echo '50% done'";

#[test]
fn cron_install_twice_leaves_one_tagged_line_and_the_rest_untouched() {
    let mut env = Env::new();
    let table = fake_crontab(&mut env, Some(OTHERS));
    let printed = env.ok(&["cron"]).stdout;

    let first = env.ok(&["cron", "install"]);
    let installed = read(&table);
    assert_eq!(
        installed,
        format!("{OTHERS}\n{} # agent-defer\n", printed.trim_end()),
        "the line `defer cron` prints, tagged, after the user's entries"
    );
    assert_eq!(
        first.stdout.trim_end(),
        format!("{} # agent-defer", printed.trim_end())
    );
    assert!(
        first.stderr.contains("added the agent-defer line"),
        "{}",
        first.stderr
    );

    let second = env.ok(&["cron", "install"]);
    assert_eq!(read(&table), installed, "a second install changes nothing");
    assert!(
        second.stderr.contains("already in your crontab"),
        "{}",
        second.stderr
    );
    assert_eq!(tagged_lines(&read(&table)).len(), 1);

    // A changed setting replaces the tagged line where it stands.
    env.set("DEFER_CONCURRENCY", "4");
    let third = env.ok(&["cron", "install"]);
    assert!(third.stderr.contains("replaced"), "{}", third.stderr);
    let replaced = read(&table);
    assert_eq!(tagged_lines(&replaced).len(), 1);
    assert!(tagged_lines(&replaced)[0].contains("DEFER_CONCURRENCY=4"));
    assert!(replaced.starts_with(&format!("{OTHERS}\n")));
}

#[test]
fn cron_uninstall_removes_only_the_tagged_line() {
    let others = "MAILTO=me\n* * * * * /opt/defer run\n0 1 * * * other\n";
    let mut env = Env::new();
    let table = fake_crontab(&mut env, Some(others));
    env.ok(&["cron", "install"]);
    assert_eq!(tagged_lines(&read(&table)).len(), 1);

    let run = env.ok(&["cron", "uninstall"]);
    assert_eq!(read(&table), others, "byte for byte what was there before");
    assert!(
        run.stderr.contains("removed the agent-defer line"),
        "{}",
        run.stderr
    );
    // The hand-made `defer run` line is the user's: kept, and pointed out.
    assert!(
        run.stderr
            .contains("line 2 of your crontab also runs `defer run`"),
        "{}",
        run.stderr
    );

    let again = env.ok(&["cron", "uninstall"]);
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    assert_eq!(read(&table), others);

    // Without a final newline, only the newline that install had to add stays.
    fs::write(&table, OTHERS).expect("reset");
    env.ok(&["cron", "install"]);
    env.ok(&["cron", "uninstall"]);
    assert_eq!(read(&table), format!("{OTHERS}\n"));
}

#[test]
fn cron_install_into_an_empty_crontab() {
    let mut env = Env::new();
    let table = fake_crontab(&mut env, None);
    env.ok(&["cron", "install"]);
    let text = read(&table);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(" run >> "), "{text}");
    assert!(text.ends_with(" # agent-defer\n"), "{text}");
}

#[test]
fn cron_install_without_a_crontab_program_is_a_clear_error() {
    let mut env = Env::new();
    env.set(
        "DEFER_CRONTAB",
        env.dir.path().join("no-such-crontab").as_os_str(),
    );
    let run = env.fails(&["cron", "install"]);
    assert!(
        run.stderr.contains("crontab program not found: ") && run.stderr.contains("DEFER_CRONTAB"),
        "{}",
        run.stderr
    );

    // The default program is looked up on PATH; an empty PATH finds none.
    let empty = env.dir.path().join("empty-bin");
    fs::create_dir_all(&empty).expect("dir");
    env.unset("DEFER_CRONTAB");
    let run = env
        .cmd(&["cron", "uninstall"])
        .env("PATH", &empty)
        .output()
        .expect("spawn");
    let run = Run::from(run);
    assert_eq!(run.code, Some(4), "the host needs a crontab program");
    assert!(
        run.stderr
            .starts_with("error: crontab program not found: crontab (install cron"),
        "{}",
        run.stderr
    );
}

#[test]
fn cron_install_reports_a_failing_crontab_and_changes_nothing() {
    let mut env = Env::new();
    let script = env.script(
        "broken-crontab",
        "echo 'crontab: permission denied' >&2; exit 1",
    );
    env.set("DEFER_CRONTAB", script.as_os_str());
    let run = env.fails(&["cron", "install"]);
    assert!(
        run.stderr.contains(
            "-l` failed (exit status: 1): crontab: permission denied; your crontab was not changed"
        ),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// contrib units

#[test]
fn contrib_units_run_the_watcher_and_the_plist_is_well_formed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib");
    let unit = read(&root.join("systemd/defer-watch.service"));
    for needle in [
        "\nExecStart=%h/.cargo/bin/defer run --watch\n",
        "\nRestart=on-failure\n",
        "\nEnvironment=DEFER_RUNTIME_DIR=",
        "\nKillMode=mixed\n",
        "\nEnvironment=DEFER_WAKE_ORIGIN=systemd\n",
        "\nWantedBy=default.target\n",
    ] {
        assert!(
            unit.contains(needle),
            "defer-watch.service lacks {needle:?}"
        );
    }

    let plist = read(&root.join("launchd/dev.agent-defer.watch.plist"));
    for needle in [
        "<string>dev.agent-defer.watch</string>",
        "<string>run</string>\n        <string>--watch</string>",
        "<key>KeepAlive</key>\n    <true/>",
        "<key>RunAtLoad</key>\n    <true/>",
        "<key>EnvironmentVariables</key>",
        "<key>StandardOutPath</key>",
        "<key>StandardErrorPath</key>",
        "<key>DEFER_WAKE_ORIGIN</key>\n        <string>launchd</string>",
    ] {
        assert!(plist.contains(needle), "the plist lacks {needle:?}");
    }
    // Every unit raises the descriptor limit (systemd's default soft limit is 1,024, an
    // agent's on macOS 256): the server keeps descriptors in reserve for its runner.
    for unit in ["defer-watch.service", "defer-serve.service"] {
        let text = read(&root.join("systemd").join(unit));
        assert!(
            text.contains("\nLimitNOFILE="),
            "{unit} sets no LimitNOFILE"
        );
    }
    for name in ["watch", "serve"] {
        let text = read(&root.join(format!("launchd/dev.agent-defer.{name}.plist")));
        for key in ["SoftResourceLimits", "HardResourceLimits"] {
            let at = text
                .find(&format!("<key>{key}</key>"))
                .unwrap_or_else(|| panic!("the {name} plist lacks {key}"));
            assert!(
                text[at..].contains("<key>NumberOfFiles</key>"),
                "the {name} plist's {key} has no NumberOfFiles"
            );
        }
    }
    // XML forbids "--" inside a comment; plutil (and launchd) would refuse the file.
    let mut rest = plist.as_str();
    while let Some(start) = rest.find("<!--") {
        let after = &rest[start + 4..];
        let end = after.find("-->").expect("unclosed comment");
        assert!(
            !after[..end].contains("--"),
            "comment holds \"--\": {}",
            &after[..end]
        );
        rest = &after[end + 3..];
    }
}

// ---------------------------------------------------------------------------------------------
// what the runner sees (issue 18)

/// The `check` finding of `defer doctor --json`: (level, message).
fn finding(env: &Env, check: &str) -> (String, String) {
    let run = env.run(&["doctor", "--json"]);
    let json = run.json();
    let found = json
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["check"] == check)
        .map(|c| {
            (
                c["level"].as_str().unwrap_or("").to_string(),
                c["message"].as_str().unwrap_or("").to_string(),
            )
        });
    found.unwrap_or_else(|| panic!("no {check} finding in {}", run.stdout))
}

#[test]
fn doctor_catches_a_shell_cron_mismatch_in_executor_and_store() {
    let mut env = Env::new();
    fake_crontab(&mut env, None);
    env.ok(&["cron", "install"]);
    let (level, message) = finding(&env, "settings");
    assert_eq!(level, "ok", "{message}");

    // An executor exported after the install: the shell has it, the runner does not.
    let executor = env.script("exec.sh", "cat >/dev/null");
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    let (level, message) = finding(&env, "settings");
    assert_eq!(level, "problem", "{message}");
    assert!(
        message.contains("the crontab line starts the runner with other settings than this shell: it sets no DEFER_EXECUTOR, so due tasks only get a prompt file"),
        "{message}"
    );
    assert!(
        message.contains("`defer cron install` rewrites"),
        "{message}"
    );

    // Another runtime directory in the shell: the runner reads another store.
    let elsewhere = env.dir.path().join("elsewhere");
    env.set("DEFER_RUNTIME_DIR", elsewhere.as_os_str());
    let (level, message) = finding(&env, "settings");
    assert_eq!(level, "problem", "{message}");
    assert!(
        message.contains(&format!(
            "DEFER_RUNTIME_DIR is {} for the runner but {} here",
            env.runtime().display(),
            elsewhere.display()
        )),
        "{message}"
    );
    let run = env.run(&["doctor"]);
    assert_eq!(run.code, Some(1), "{run:?}");

    // An executor's variable only the shell has is a warning; `--env` carries it.
    env.set("DEFER_RUNTIME_DIR", env.runtime().as_os_str());
    env.set("DEFER_WEBHOOK_URL", "https://hooks.example/x");
    env.ok(&["cron", "install"]);
    let (level, message) = finding(&env, "settings");
    assert_eq!(level, "warn", "{message}");
    assert!(
        message.contains("DEFER_WEBHOOK_URL is set here but not for the runner"),
        "{message}"
    );
    env.ok(&["cron", "install", "--env", "DEFER_WEBHOOK_URL"]);
    let (level, message) = finding(&env, "settings");
    assert_eq!(level, "ok", "{message}");
}

#[test]
fn doctor_reads_a_systemd_unit_and_a_launchd_plist() {
    let mut env = Env::new();
    fake_crontab(&mut env, None);
    let home = env.dir.path().join("home");
    let units = home.join(".config/systemd/user");
    fs::create_dir_all(&units).expect("units");
    fs::write(
        units.join("defer-watch.service"),
        "[Service]\nEnvironment=DEFER_RUNTIME_DIR=%h/data/runtime\n",
    )
    .expect("unit");
    let agents = home.join("Library/LaunchAgents");
    fs::create_dir_all(&agents).expect("agents");
    let plist = format!(
        "<plist><dict><key>EnvironmentVariables</key><dict>\
         <key>DEFER_RUNTIME_DIR</key><string>{}</string>\
         <key>DEFER_TIMEZONE</key><string>Asia/Tokyo</string>\
         <key>DEFER_WAKE_ORIGIN</key><string>launchd</string></dict></dict></plist>",
        env.runtime().display()
    );
    fs::write(agents.join("dev.agent-defer.watch.plist"), plist).expect("plist");
    let (level, message) = finding(&env, "settings");
    assert_eq!(level, "problem", "{message}");
    assert!(
        message.contains(&format!(
            "defer-watch.service starts the runner with other settings than this shell: DEFER_RUNTIME_DIR is {}/data/runtime for the runner",
            home.display()
        )),
        "{message}"
    );
    assert!(
        message.contains("it does not set DEFER_WAKE_ORIGIN"),
        "{message}"
    );
    assert!(
        message.contains("dev.agent-defer.watch.plist starts the runner with other settings than this shell: the runner's time zone is Asia/Tokyo but this shell's is UTC"),
        "{message}"
    );
}

#[test]
fn a_hand_run_is_recorded_as_one_and_is_no_proof_of_cron() {
    let mut env = Env::new();
    let line = hand_line(&env, "/usr/local/bin/defer");
    fake_crontab(&mut env, Some(&line));
    env.ok(&["run", "-v"]);
    let wake: Value =
        serde_json::from_str(&read(&env.runtime().join(".runner-wake.json"))).expect("wake");
    assert_eq!(wake["mode"], "hand", "{wake}");
    assert_eq!(wake["origin"], "hand", "{wake}");
    let run = env.run(&["doctor"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_line(
        &run,
        "problem: ",
        &[
            "the runner has only been run by hand on this host (last Wed 2026-04-08 16:35 UTC, now, pid ",
            "no wake by cron, a timer or a watcher is recorded",
        ],
    );

    // Cron woke it, then a hand run: the cron wake is still what doctor judges.
    wake_at(&env, "2026-04-08T16:34:00Z");
    env.ok(&["run"]);
    let run = env.run(&["doctor"]);
    assert_line(
        &run,
        "ok: ",
        &[
            "the runner last woke Wed 2026-04-08 16:34 UTC, 1m ago (cron, pid ",
            "since then it was run by hand Wed 2026-04-08 16:35 UTC, now",
        ],
    );
    // A wake record from before origins were kept reads as cron's; the old line's runs since
    // then count as by hand, and doctor says how to fix the line.
    fs::write(
        env.runtime().join(".runner-wake.json"),
        r#"{"at":"2026-04-08T16:20:00Z","pid":7,"mode":"cron","skipped":false}"#,
    )
    .expect("legacy wake");
    env.ok(&["run"]);
    let run = env.run(&["doctor"]);
    assert_line(
        &run,
        "warn: ",
        &[
            "the runner last woke Wed 2026-04-08 16:20 UTC, 15m ago (cron, pid 7); since then it was run by hand",
            "it does not set DEFER_WAKE_ORIGIN: re-run `defer cron install`",
        ],
    );
}

#[test]
fn doctor_reports_a_failed_task_and_a_missed_one() {
    let mut env = Env::new();
    let line = hand_line(&env, "/usr/local/bin/defer");
    fake_crontab(&mut env, Some(&line));
    write_store(
        &env,
        &[task_line(
            "late_skip",
            "2026-04-08T13:35:00Z",
            json!({"if_late": "skip", "late_after": "1h"}),
        )],
    );
    let failing = env.script("fail.sh", "cat >/dev/null; echo boom >&2; exit 3");
    env.set("DEFER_EXECUTOR", failing.as_os_str());
    let failed = env
        .ok(&["schedule", "--compact", "--when", "now", "--summary", "x"])
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    // --fail-on-task-failure: the run that saw the failure exits 1 (cron mails it).
    let run = env
        .cmd(&["run", "--fail-on-task-failure"])
        .env("DEFER_WAKE_ORIGIN", "cron")
        .output()
        .expect("run");
    let run = Run::from(run);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("error: 1 task(s) failed in this run; `defer list --status failed`"),
        "{}",
        run.stderr
    );
    // Without failures it exits 0.
    env.ok(&["run", "--fail-on-task-failure"]);
    // The wrong executor is not what this test is about.
    env.unset("DEFER_EXECUTOR");

    let (level, message) = finding(&env, "outcomes");
    assert_eq!(level, "warn", "{message}");
    assert!(
        message.contains(&format!(
            "in the last 7 days 1 task(s) failed (the newest, {failed}, Wed 2026-04-08 16:35 UTC, now: `defer logs {failed}` shows what the executor printed, `defer why {failed}` explains)"
        )),
        "{message}"
    );
    assert!(
        message.contains("1 task(s) were missed: found too late and skipped by their --if-late policy (the newest, late_skip, "),
        "{message}"
    );
    assert!(message.contains("`defer why late_skip`"), "{message}");
    assert!(message.contains("--fail-on-task-failure"), "{message}");

    // A week later they are old news.
    let later = env
        .cmd(&["doctor", "--json"])
        .env("DEFER_NOW", "2026-04-16T16:35:00Z")
        .output()
        .expect("doctor");
    let later: Value = serde_json::from_slice(&later.stdout).expect("json");
    let outcomes = later
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == "outcomes"))
        .expect("outcomes");
    assert_eq!(outcomes["level"], "ok", "{outcomes}");
}

/// The command part of the installed line (after the five schedule fields), for `sh -c`.
fn installed_command(table: &str) -> String {
    let line = tagged_lines(table)
        .first()
        .copied()
        .expect("a tagged line")
        .to_string();
    line.splitn(6, ' ')
        .nth(5)
        .expect("a command")
        .replace("\\%", "%")
}

#[test]
fn cron_install_keeps_env_variables_across_reinstalls() {
    let mut env = Env::new();
    let table = fake_crontab(&mut env, Some("MAILTO=me\n"));
    env.set("DEFER_WEBHOOK_URL", "https://hooks.example/x?a=1&b=50%");
    env.set("DEFER_AGENT_CMD", "cd ~/src/p && claude -p");
    env.ok(&[
        "cron",
        "install",
        "--env",
        "DEFER_WEBHOOK_URL",
        "--env",
        "DEFER_AGENT_CMD",
    ]);
    let first = read(&table);
    let line = tagged_lines(&first)[0].to_string();
    assert!(
        line.contains("DEFER_WEBHOOK_URL='https://hooks.example/x?a=1&b=50\\%'"),
        "{line}"
    );
    assert!(
        line.contains("DEFER_AGENT_CMD='cd ~/src/p && claude -p' DEFER_WAKE_ORIGIN=cron "),
        "{line}"
    );

    // A variable added to the line by hand, as docs/scheduling.md used to say.
    let edited = first.replace(
        " DEFER_WAKE_ORIGIN=cron ",
        " DEFER_NOTES_FILE=/n/notes.md DEFER_WAKE_ORIGIN=cron ",
    );
    fs::write(&table, &edited).expect("edit");

    // Re-install from a shell that has none of them, after changing a setting.
    env.unset("DEFER_WEBHOOK_URL");
    env.unset("DEFER_AGENT_CMD");
    env.set("DEFER_CONCURRENCY", "3");
    let run = env.ok(&["cron", "install"]);
    assert!(run.stderr.contains("replaced"), "{}", run.stderr);
    let again = read(&table);
    let line = tagged_lines(&again)[0].to_string();
    for kept in [
        "DEFER_CONCURRENCY=3",
        "DEFER_WEBHOOK_URL='https://hooks.example/x?a=1&b=50\\%'",
        "DEFER_AGENT_CMD='cd ~/src/p && claude -p'",
        "DEFER_NOTES_FILE=/n/notes.md",
    ] {
        assert!(line.contains(kept), "{kept} lost: {line}");
    }
    assert_eq!(tagged_lines(&again).len(), 1);
    assert!(again.starts_with("MAILTO=me\n"));

    // A third install with nothing changed is a no-op.
    let run = env.ok(&["cron", "install"]);
    assert!(run.stderr.contains("nothing changed"), "{}", run.stderr);

    // --fail-on-task-failure goes after `run`, and stays on re-install like the variables.
    env.ok(&["cron", "install", "--fail-on-task-failure"]);
    env.ok(&["cron", "install"]);
    let line = tagged_lines(&read(&table))[0].to_string();
    assert!(line.contains(" run --fail-on-task-failure >> "), "{line}");
    assert!(line.contains("DEFER_NOTES_FILE=/n/notes.md"), "{line}");

    // --env with a value updates it; an unset name or a control character is refused and
    // leaves the crontab alone.
    env.set("DEFER_NOTES_FILE", "/m/notes.md");
    env.ok(&["cron", "install", "--env", "DEFER_NOTES_FILE"]);
    let line = tagged_lines(&read(&table))[0].to_string();
    assert!(line.contains("DEFER_NOTES_FILE=/m/notes.md"), "{line}");
    assert!(!line.contains("/n/notes.md"), "{line}");
    let before = read(&table);
    let run = env.fails(&["cron", "install", "--env", "NOT_SET_ANYWHERE"]);
    assert_eq!(
        run.stderr.trim(),
        "error: --env \"NOT_SET_ANYWHERE\": is not set in this shell; export it first (its \
         value goes on the crontab line)"
    );
    env.set("DEFER_AGENT_CMD", "ok\n* * * * * evil");
    let run = env.fails(&["cron", "install", "--env", "DEFER_AGENT_CMD"]);
    assert!(
        run.stderr
            .contains("DEFER_AGENT_CMD contains a control character"),
        "{}",
        run.stderr
    );
    let run = env.fails(&["cron", "install", "--env", "bad name"]);
    assert!(
        run.stderr.contains("--env \"bad name\": not a variable"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&table), before);
}

#[test]
fn the_installed_line_works_before_the_first_schedule() {
    let mut env = Env::new();
    let table = fake_crontab(&mut env, None);
    env.ok(&["cron", "install"]);
    // install made the log directory; the line must work without it too.
    assert!(env.log_dir().is_dir());
    fs::remove_dir_all(env.runtime()).expect("rm runtime");

    // As cron runs it: /bin/sh, an almost empty environment, the line's own variables.
    let command = installed_command(&read(&table));
    let cron_run = |command: &str| {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .env_clear()
            .env("HOME", env.dir.path().join("home"))
            .env("PATH", "/usr/bin:/bin")
            .env("SHELL", "/bin/sh")
            .output()
            .expect("sh -c")
    };
    let out = cron_run(&command);
    assert!(out.status.success(), "{out:?}");
    assert!(env.log_dir().is_dir(), "the line created the log directory");
    let wake: Value =
        serde_json::from_str(&read(&env.runtime().join(".runner-wake.json"))).expect("wake");
    assert_eq!(wake["mode"], "cron", "{wake}");

    // A task due now (the line runs on the real clock, after DEFER_NOW) runs from the line.
    let id = env
        .ok(&[
            "schedule",
            "--compact",
            "--when",
            "now",
            "--summary",
            "from cron",
        ])
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let out = cron_run(&command);
    assert!(out.status.success(), "{out:?}");
    let shown = env.ok(&["show", "--compact", &id]).json();
    assert_eq!(shown["status"], "completed", "{shown}");
    let (level, message) = finding(&env, "dirs");
    assert_eq!(level, "ok", "{message}");
}

/// A newline (or any control character) in a setting carried into the crontab line would end
/// the line and start a second, live entry: `cron install` refuses it, naming the variable, and
/// leaves the crontab as it was.
#[test]
fn cron_install_refuses_control_characters_in_carried_settings() {
    let mut env = Env::new();
    let table = fake_crontab(&mut env, Some("MAILTO=me\n"));
    let pwn = env.dir.path().join("pwn");
    let injected = format!("/tmp/x\n* * * * * touch {}", pwn.display());
    let runtime = env.runtime();
    for (var, value) in [
        ("DEFER_EXECUTOR", injected.clone()),
        (
            "DEFER_RUNTIME_DIR",
            format!("{}{injected}", runtime.display()),
        ),
        ("DEFER_TIMEZONE", "UTC\r".to_string()),
        ("PATH", format!("/usr/bin:/bin\u{1b}[2J{injected}")),
    ] {
        for args in [&["cron", "install"][..], &["cron"][..]] {
            let output = env
                .cmd(args)
                .env(var, &value)
                .env_remove("DEFER_NOW")
                .output()
                .expect("spawn defer");
            let run = crate::util::Run::from(output);
            assert!(!run.success(), "{var}: {args:?} accepted {value:?}");
            let lines: Vec<&str> = run.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{var}: {:?}", run.stderr);
            assert!(
                lines[0].starts_with("error: ") && lines[0].contains(var),
                "{var}: {:?}",
                run.stderr
            );
            assert!(!lines[0].contains('\u{1b}'), "{:?}", lines[0]);
        }
        assert_eq!(read(&table), "MAILTO=me\n", "{var} changed the crontab");
    }
}
