//! Operators see and steer: `retry`, `reschedule`/`snooze`, `run --id`, `logs` (on both
//! stores), the human views under a real pseudo-terminal, completions and the man page.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::on_both_stores;
use crate::util::{Env, defer_bin, wait_until};

/// An executor that prints to stdout and stderr, then exits with `code`.
fn executor(env: &mut Env, code: i32) {
    let exe = env.script(
        "exe.sh",
        &format!(
            "cat > /dev/null\necho \"out of $DEFER_TASK_ID\"\necho 'trouble here' >&2\nexit {code}"
        ),
    );
    env.set("DEFER_EXECUTOR", exe.as_os_str());
}

/// An executor that waits for `release` to exist, then prints and succeeds; returns the path
/// of the file that releases it.
fn held_executor(env: &mut Env) -> PathBuf {
    let release = env.dir.path().join("release");
    let exe = env.script(
        "held.sh",
        &format!(
            // Bounded (60 s), so a test that fails before releasing it leaves nothing running.
            "cat > /dev/null\ni=0\nwhile [ ! -f '{}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\necho finished-output",
            release.display()
        ),
    );
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    release
}

/// `defer run` in the background; the task `id` is seen executing before this returns.
fn runner_holding(env: &Env, id: &str) -> Child {
    let mut child = env
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn defer run");
    let executing = wait_until(Duration::from_secs(15), || {
        env.records()
            .iter()
            .any(|r| r["id"] == id && r["status"] == "executing")
    });
    if !executing {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{id} was never seen executing");
    }
    child
}

fn schedule(env: &Env, id: &str, extra: &[&str]) {
    let mut args = vec!["schedule", "--id", id];
    args.extend_from_slice(extra);
    if !extra.contains(&"--summary") {
        args.extend_from_slice(&["--summary", "Look again"]);
    }
    if !extra.contains(&"--when") && !extra.contains(&"--every") {
        args.extend_from_slice(&["--when", "now"]);
    }
    env.ok(&args);
}

/// A failed task `id`, archived (executor exits 3, no retries).
fn failed_task(env: &mut Env, id: &str) {
    executor(env, 3);
    schedule(env, id, &[]);
    env.ok(&["run"]);
    let r = env.find(id).expect("record");
    assert_eq!(r["status"], "failed", "{r}");
}

// retry -----------------------------------------------------------------------------------

fn retry_schedules_a_failed_archived_task_again(mut env: Env) {
    failed_task(&mut env, "flaky");
    assert!(env.records().is_empty(), "the failed task was archived");
    let run = env.ok(&["retry", "flaky", "--when", "30m"]);
    let printed = run.json();
    assert_eq!(printed["status"], "scheduled");
    assert_eq!(printed["attempts"], 0, "attempts start over");
    assert_eq!(printed["retried"], 1);
    assert_eq!(printed["run_at"], "2026-04-08T17:05:00Z");
    assert!(printed["last_error"].as_str().is_some(), "{printed}");
    assert!(
        run.stderr
            .contains("retrying flaky for Wed 2026-04-08 17:05 UTC, in 30m"),
        "{}",
        run.stderr
    );
    let active: Vec<Value> = env.records();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["id"], "flaky");
    assert!(
        env.log()
            .contains("retried id=flaky run_at=2026-04-08T17:05:00Z")
    );

    // A second retry while it is scheduled is refused, and changes nothing.
    let before = env.store_bytes();
    let run = env.fails(&["retry", "flaky"]);
    assert!(
        run.stderr
            .contains("task flaky is scheduled, not failed or missed"),
        "{}",
        run.stderr
    );
    assert_eq!(env.store_bytes(), before);
    // It runs, fails again, and can be retried again: the counter goes on.
    env.ok(&["run", "--id", "flaky"]);
    let again = env.ok(&["retry", "flaky", "--compact"]).json();
    assert_eq!(again["retried"], 2);
    assert_eq!(again["run_at"], "2026-04-08T16:35:00Z", "default: now");
}
on_both_stores!(retry_schedules_a_failed_archived_task_again);

fn retry_refusals_are_one_line_and_change_nothing(mut env: Env) {
    failed_task(&mut env, "flaky");
    schedule(&env, "pending", &["--when", "1h"]);
    let before = (env.store_bytes(), env.archived());
    for (args, says) in [
        (vec!["retry", "nope"], "Task not found: nope"),
        (
            vec!["retry", "pending"],
            "task pending is scheduled, not failed or missed",
        ),
        (vec!["retry", "flaky", "--when", "blah"], "\"blah\""),
        (vec!["retry", "../x"], "invalid task id"),
    ] {
        let run = env.fails(&args);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    assert_eq!((env.store_bytes(), env.archived()), before);
}
on_both_stores!(retry_refusals_are_one_line_and_change_nothing);

// reschedule ------------------------------------------------------------------------------

fn reschedule_moves_a_task_and_snooze_is_the_same(env: Env) {
    schedule(&env, "later", &["--when", "1h"]);
    let run = env.ok(&["reschedule", "later", "--when", "tomorrow 9am"]);
    let t = run.json();
    assert_eq!(t["run_at"], "2026-04-09T09:00:00Z");
    assert_eq!(t["when"], "tomorrow 9am");
    assert_eq!(t["status"], "scheduled");
    assert!(
        run.stderr
            .contains("rescheduled later for Thu 2026-04-09 09:00 UTC, in 16h 25m"),
        "{}",
        run.stderr
    );
    let t = env
        .ok(&["snooze", "later", "--when", "2h", "--compact"])
        .json();
    assert_eq!(t["run_at"], "2026-04-08T18:35:00Z");
    assert_eq!(env.records()[0]["run_at"], "2026-04-08T18:35:00Z");
    assert!(
        env.log()
            .contains("rescheduled id=later run_at=2026-04-08T18:35:00Z")
    );
    // The past is accepted with a warning, as with schedule.
    let run = env.ok(&["reschedule", "later", "--when", "2026-04-01T00:00:00Z"]);
    assert!(run.stderr.contains("in the past"), "{}", run.stderr);
}
on_both_stores!(reschedule_moves_a_task_and_snooze_is_the_same);

fn reschedule_a_series_member_moves_the_occurrence_or_the_series(env: Env) {
    env.ok(&[
        "schedule",
        "--id",
        "daily",
        "--every",
        "1d",
        "--when",
        "tomorrow 9am",
        "--summary",
        "Daily",
    ]);
    let t = env
        .ok(&["reschedule", "daily", "--when", "tomorrow 10am"])
        .json();
    assert_eq!(t["run_at"], "2026-04-09T10:00:00Z");
    assert_eq!(
        t["series"]["scheduled_for"], "2026-04-09T09:00:00Z",
        "without --series only this occurrence moves"
    );
    let run = env.ok(&["reschedule", "daily", "--when", "tomorrow 11am", "--series"]);
    let t = run.json();
    assert_eq!(t["run_at"], "2026-04-09T11:00:00Z");
    assert_eq!(t["series"]["scheduled_for"], "2026-04-09T11:00:00Z");
    assert!(run.stderr.contains("the series follows"), "{}", run.stderr);
    // --series on a task outside a series is refused.
    schedule(&env, "single", &["--when", "1h"]);
    let before = env.store_bytes();
    let run = env.fails(&["reschedule", "single", "--when", "2h", "--series"]);
    assert!(
        run.stderr.contains("not part of a series"),
        "{}",
        run.stderr
    );
    assert_eq!(env.store_bytes(), before);
}
on_both_stores!(reschedule_a_series_member_moves_the_occurrence_or_the_series);

fn steering_an_executing_task_is_refused(mut env: Env) {
    let release = held_executor(&mut env);
    schedule(&env, "busy", &[]);
    let mut runner = runner_holding(&env, "busy");
    let before = env.store_bytes();
    for (args, says) in [
        (
            vec!["reschedule", "busy", "--when", "1h"],
            "task busy is executing, not scheduled",
        ),
        (vec!["retry", "busy"], "task busy is executing"),
        (vec!["cancel", "--id", "busy"], "task busy is executing"),
    ] {
        let run = env.fails(&args);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    // run --id: refused by the runner lock (a file store admits one runner) or, on a
    // database where runners share the queue, by the task's status.
    let run = env.fails(&["run", "--id", "busy"]);
    assert!(
        run.stderr.contains("another runner holds the lock")
            || run.stderr.contains("task busy is executing, not scheduled"),
        "{}",
        run.stderr
    );
    assert_eq!(env.store_bytes(), before, "nothing changed");
    std::fs::write(&release, "").expect("release");
    assert!(runner.wait().expect("runner").success());
    assert_eq!(env.find("busy").expect("record")["status"], "completed");
}
on_both_stores!(steering_an_executing_task_is_refused);

fn reschedule_refusals_are_one_line_and_change_nothing(env: Env) {
    schedule(&env, "later", &["--when", "1h"]);
    env.ok(&["cancel", "--id", "later"]);
    schedule(&env, "pending", &["--when", "1h"]);
    let before = env.store_bytes();
    for (args, says) in [
        (
            vec!["reschedule", "nope", "--when", "1h"],
            "Task not found: nope",
        ),
        (
            vec!["reschedule", "later", "--when", "1h"],
            "task later is cancelled",
        ),
        (
            vec!["reschedule", "pending", "--when", "yesterday"],
            "\"yesterday\"",
        ),
        (
            vec!["reschedule", "pending", "--when", "3pm EST"],
            "DEFER_TIMEZONE",
        ),
    ] {
        let run = env.fails(&args);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    // --when is required.
    let run = env.run(&["reschedule", "pending"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(env.store_bytes(), before);
}
on_both_stores!(reschedule_refusals_are_one_line_and_change_nothing);

// run --id --------------------------------------------------------------------------------

fn run_id_runs_one_task_now_due_or_not(mut env: Env) {
    executor(&mut env, 0);
    schedule(&env, "tomorrow", &["--when", "tomorrow 9am"]);
    schedule(&env, "other", &["--when", "now"]);
    let run = env.ok(&["run", "--id", "tomorrow"]);
    assert!(
        run.stderr.contains("ran tomorrow now: completed"),
        "{}",
        run.stderr
    );
    let t = run.json();
    assert_eq!(t["status"], "completed");
    assert_eq!(t["result"]["type"], "executor_output");
    assert!(env.log().contains("runner claimed id=tomorrow"));
    assert!(env.log().contains("reason=run_now"), "{}", env.log());
    // Only that task ran: the other, although due, waits for the next wake.
    let other = env.find("other").expect("other");
    assert_eq!(other["status"], "scheduled");
    // Refusals: unknown, finished.
    let before = env.store_bytes();
    let run = env.fails(&["run", "--id", "nope"]);
    assert!(
        run.stderr.contains("Task not found: nope"),
        "{}",
        run.stderr
    );
    let run = env.fails(&["run", "--id", "tomorrow"]);
    assert!(
        run.stderr.contains("task tomorrow is completed"),
        "{}",
        run.stderr
    );
    assert_eq!(env.store_bytes(), before);
    // --id with --watch is a usage error.
    assert_eq!(env.run(&["run", "--id", "other", "--watch"]).code, Some(2));
}
on_both_stores!(run_id_runs_one_task_now_due_or_not);

// logs ------------------------------------------------------------------------------------

fn logs_of_active_and_archived_tasks(mut env: Env) {
    schedule(&env, "waiting", &["--when", "1h"]);
    let run = env.ok(&["logs", "waiting"]);
    assert!(run.stdout.contains("== audit =="), "{}", run.stdout);
    assert!(
        run.stdout.contains("scheduled id=waiting"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("no prompt artifact"), "{}", run.stdout);

    failed_task(&mut env, "broke");
    let run = env.ok(&["logs", "broke"]);
    let out = &run.stdout;
    for part in [
        "== prompt: ",
        "Task ID: broke",
        "== audit ==",
        "failed id=broke",
        "archived id=broke",
        "== attempt 1 (failed, exit 3) ==",
        "out of broke",
        "-- stderr --",
        "trouble here",
    ] {
        assert!(out.contains(part), "{part:?} missing from {out}");
    }
    assert!(
        out.find("== prompt").unwrap_or(usize::MAX) < out.find("== attempt").unwrap_or(0),
        "{out}"
    );
    // One part each.
    let prompt = env.ok(&["logs", "broke", "--prompt"]).stdout;
    assert!(
        prompt.starts_with("You are resuming a deferred task."),
        "{prompt}"
    );
    let audit = env.ok(&["logs", "broke", "--audit"]).stdout;
    assert!(audit.lines().all(|l| l.contains("id=broke")), "{audit}");
    // One attempt, asked for alone: its stdout bare, its stderr marked.
    let output = env.ok(&["logs", "broke", "--output"]).stdout;
    assert!(output.starts_with("out of broke\n"), "{output}");
    assert!(output.contains("== stderr ==\ntrouble here"), "{output}");
    assert!(!output.contains("== prompt"), "{output}");
    // Two parts at once is a usage error.
    assert_eq!(
        env.run(&["logs", "broke", "--prompt", "--audit"]).code,
        Some(2)
    );
    // JSON: each attempt with its own output.
    let json = env.ok(&["logs", "broke", "--json"]).json();
    assert_eq!(json["id"], "broke");
    assert_eq!(json["status"], "failed");
    assert!(
        json["prompt"]
            .as_str()
            .is_some_and(|p| p.contains("Look again"))
    );
    let attempt = &json["attempts"][0];
    assert_eq!(attempt["attempt"], 1);
    assert_eq!(attempt["outcome"], "failed");
    assert_eq!(attempt["exit_code"], 3);
    assert_eq!(attempt["stdout"], "out of broke\n");
    assert_eq!(attempt["stderr"], "trouble here\n");
    assert!(json["audit"].as_array().is_some_and(|a| a.len() >= 3));
    // Refusals.
    let run = env.fails(&["logs", "nope"]);
    assert!(
        run.stderr.contains("Task not found: nope"),
        "{}",
        run.stderr
    );
}
on_both_stores!(logs_of_active_and_archived_tasks);

/// A failed attempt, then a retry that succeeds: each attempt keeps its own output, the old
/// error never shows as the new run's, and `show` carries the same history.
fn logs_show_each_attempt_of_a_retried_task(mut env: Env) {
    failed_task(&mut env, "again");
    executor(&mut env, 0);
    env.ok(&["retry", "again"]);
    env.ok(&["run"]);
    let json = env.ok(&["logs", "again", "--json"]).json();
    assert_eq!(json["status"], "completed");
    let attempts = json["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{json}");
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(attempts[0]["exit_code"], 3);
    assert_eq!(attempts[1]["attempt"], 2);
    assert_eq!(attempts[1]["outcome"], "completed");
    assert_eq!(attempts[1]["exit_code"], 0);
    assert_eq!(attempts[1]["stdout"], "out of again\n");
    assert!(attempts[1]["error"].is_null(), "{json}");
    let text = env.ok(&["logs", "again", "--output"]).stdout;
    let first = text.find("== attempt 1 (failed, exit 3) ==").expect(&text);
    let second = text
        .find("== attempt 2 (completed, exit 0) ==")
        .expect(&text);
    assert!(first < second, "{text}");
    // The error printed in the failed attempt stays under it.
    let (old, new) = text.split_at(second);
    assert!(old.contains("trouble here"), "{text}");
    assert!(!new.contains("exit 3"), "{text}");
    let shown = env.ok(&["show", "again", "--json"]).json();
    let history = shown["history"].as_array().expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["outcome"], "completed");
    assert_eq!(shown["retried"], 1);
}
on_both_stores!(logs_show_each_attempt_of_a_retried_task);

fn logs_follow_prints_the_output_as_it_comes(mut env: Env) {
    let release = held_executor(&mut env);
    schedule(&env, "slow", &[]);
    let mut runner = runner_holding(&env, "slow");
    let follower = env
        .cmd(&["logs", "slow", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logs -f");
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&release, "").expect("release");
    assert!(runner.wait().expect("runner").success());
    let out = follower.wait_with_output().expect("logs -f");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claimed = stdout.find("runner claimed id=slow").expect("claim line");
    let following = stdout
        .find("attempt 1 (running; following what it prints)")
        .expect("follow heading");
    let output = stdout
        .find("finished-output")
        .expect("the output, as printed");
    let ended = stdout
        .find("ended: attempt 1 (completed, exit 0)")
        .expect("the end");
    assert!(
        stdout.contains("executed id=slow"),
        "new audit line printed: {stdout}"
    );
    assert!(
        claimed < following && following < output && output < ended,
        "{stdout}"
    );
}
on_both_stores!(logs_follow_prints_the_output_as_it_comes);

// views -----------------------------------------------------------------------------------

/// Piped, `list` and `show` print exactly the JSON they always printed: each record as
/// stored, indented as serde_json's pretty printer does.
#[test]
fn piped_list_and_show_are_byte_identical_json() {
    let env = Env::new();
    schedule(&env, "one", &["--when", "1h", "--key-point", "k"]);
    schedule(&env, "two", &["--when", "2h"]);
    let lines: Vec<Value> = env.records();
    let expected = format!(
        "{}\n",
        serde_json::to_string_pretty(&Value::Array(lines.clone())).expect("json")
    );
    assert_eq!(env.ok(&["list"]).stdout, expected);
    assert_eq!(env.ok(&["list", "--json"]).stdout, expected);
    assert_eq!(env.ok(&["list", "--color", "always"]).stdout, expected);
    let compact = format!(
        "{}\n",
        serde_json::to_string(&Value::Array(lines.clone())).expect("json")
    );
    assert_eq!(env.ok(&["list", "--compact"]).stdout, compact);
    assert_eq!(
        env.ok(&["show", "one"]).stdout,
        format!(
            "{}\n",
            serde_json::to_string_pretty(&lines[0]).expect("json")
        )
    );
    assert_eq!(
        env.ok(&["--color", "never", "show", "one", "--compact"])
            .stdout,
        format!("{}\n", serde_json::to_string(&lines[0]).expect("json"))
    );
    assert_eq!(env.ok(&["list", "--status", "failed"]).stdout, "[]\n");
}

/// Runs `defer ARGS` under a real pseudo-terminal of `cols` columns (util-linux `script`);
/// `None` when `script` is not installed.
fn on_pty(env: &Env, cols: u16, args: &str) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let line = format!(
        "stty cols {cols} rows 50; '{}' {args}",
        defer_bin().display()
    );
    let mut cmd = Command::new(script);
    cmd.args(["-qfec", &line, "/dev/null"])
        .env_clear()
        .stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    // A terminal says what it is (indicatif draws nothing without TERM).
    cmd.env("TERM", "xterm-256color");
    for (k, v) in &env.vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run script");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert!(out.status.success(), "defer {args} under a pty: {text}");
    Some(text)
}

/// Display width of a terminal line, ignoring SGR colour sequences.
fn display_width(line: &str) -> usize {
    let mut plain = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    unicode_width::UnicodeWidthStr::width(plain.as_str())
}

/// A store with a hostile summary (escape sequences, bell, bidi override), a wide-character
/// one, a long one and a series.
fn hostile_store() -> Env {
    let env = Env::new();
    schedule(
        &env,
        "evil",
        &[
            "--when",
            "30m",
            "--summary",
            "evil \u{1b}]0;owned\u{7} \u{1b}[31mred\u{1b}[0m \u{202e}reversed",
        ],
    );
    env.ok(&[
        "schedule",
        "--id",
        "wide",
        "--when",
        "tomorrow 9am",
        "--every",
        "1d",
        "--summary",
        "日本語のサマリー 絵文字 🎉 全角の文字がたくさん並んでいる長い要約文です",
    ]);
    schedule(
        &env,
        "long",
        &[
            "--when",
            "2027-01-05 9am",
            "--max-retries",
            "2",
            "--summary",
            "Resume the architecture review at the retry-policy section and then write up the \
             findings for the team with every open question listed",
        ],
    );
    env
}

#[test]
fn table_on_a_terminal_fits_80_columns_and_escapes_stored_text() {
    let env = hostile_store();
    let Some(screen) = on_pty(&env, 80, "list --color never") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    eprintln!("{screen}");
    assert!(
        !screen.contains('\u{1b}'),
        "no escape byte at all: {screen:?}"
    );
    assert!(!screen.contains('\u{7}') && !screen.contains('\u{202e}'));
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines.len(), 5, "header, rule, one line per task: {screen}");
    assert!(lines[0].starts_with("ID "), "{screen}");
    for line in &lines {
        assert!(
            display_width(line) <= 80,
            "{} columns: {line:?}",
            display_width(line)
        );
    }
    let row = |id: &str| {
        *lines
            .iter()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}: {screen}"))
    };
    assert!(
        row("evil").contains("evil \\u{1b}"),
        "shown escaped: {screen}"
    );
    // The local clock time beside the distance (DEFER_NOW is Wed 16:35 UTC), sorted by due.
    assert!(row("evil").contains("Wed 17:05 · in 30m"), "{screen}");
    let order: Vec<&str> = lines[2..]
        .iter()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(order, ["evil", "wide", "long"], "by due: {screen}");
    assert!(
        row("wide").contains("scheduled ↻"),
        "a narrow table marks series members; the rule is in `show`: {screen}"
    );
    assert!(row("wide").contains("日本"), "{screen}");
    assert!(row("wide").ends_with('…'), "cut: {screen}");
    assert!(row("long").contains("0/3"), "{screen}");
    assert!(row("long").ends_with('…'), "cut: {screen}");
}

#[test]
fn table_on_a_wide_terminal_shows_local_times_and_whole_summaries() {
    let mut env = hostile_store();
    env.set("DEFER_TIMEZONE", "America/New_York");
    let Some(screen) = on_pty(&env, 200, "list") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    eprintln!("{screen}");
    for line in screen.lines() {
        assert!(display_width(line) <= 200, "{line:?}");
    }
    assert!(screen.contains("DUE (EDT)"), "{screen}");
    assert!(screen.contains("Wed 13:05 · in 30m"), "{screen}");
    assert!(
        screen.contains("2027-01-05 04:00 · in 271d"),
        "a date, with the year, past a week: {screen}"
    );
    assert!(
        screen.contains("and then write up the findings for the team with every"),
        "the summary gets the room there is: {screen}"
    );
    assert!(
        screen.contains("全角の文字がたくさん並んでいる長い要約文です"),
        "{screen}"
    );
    // Colour by default: the status is coloured, stored escapes are still shown escaped.
    assert!(screen.contains("\u{1b}[38;5;14mscheduled"), "{screen:?}");
    assert!(!screen.contains("\u{1b}]0;"), "{screen:?}");
    assert!(!screen.contains("\u{1b}[31m"), "{screen:?}");
}

#[test]
fn no_color_and_color_flags_decide_colour() {
    let mut env = hostile_store();
    env.set("NO_COLOR", "1");
    let Some(plain) = on_pty(&env, 120, "list") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    assert!(!plain.contains('\u{1b}'), "NO_COLOR: {plain:?}");
    let forced = on_pty(&env, 120, "list --color always").expect("pty");
    assert!(
        forced.contains("\u{1b}["),
        "--color always wins: {forced:?}"
    );
    env.unset("NO_COLOR");
    let never = on_pty(&env, 120, "--color never list").expect("pty");
    assert!(!never.contains('\u{1b}'), "{never:?}");
    // --json and --compact force JSON on a terminal.
    let json = on_pty(&env, 120, "list --json").expect("pty");
    let parsed: Value = serde_json::from_str(&json).expect("JSON on a terminal with --json");
    assert_eq!(parsed.as_array().map(Vec::len), Some(3));
    let compact = on_pty(&env, 120, "list --compact").expect("pty");
    assert_eq!(compact.trim_end().lines().count(), 1);
}

/// Generated ids are 35 characters: at 80 columns the table shows the shortest unique tail
/// of each (at least 6), says so, and every command takes that tail (or a longer one, or a
/// head) back; a fragment two ids share is refused naming both.
fn typed_ids_round_trip(env: Env) {
    for (when, summary) in [
        ("2h", "Send the weekly report"),
        ("1h", "Check the build"),
        ("3h", "Call back"),
    ] {
        env.ok(&["schedule", "--when", when, "--summary", summary]);
    }
    let Some(screen) = on_pty(&env, 80, "list --color never") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    let records = env.ok(&["list", "--compact"]).json();
    let ids: Vec<String> = records
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines.last().is_some_and(|l| l.contains("ids shortened")),
        "a footer says so: {screen}"
    );
    let shown: Vec<&str> = lines[2..5]
        .iter()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    for (id, tail) in ids.iter().zip(&shown) {
        assert!(
            tail.len() >= 6 && tail.len() < id.len() && id.ends_with(tail),
            "{tail} is a tail of {id}: {screen}"
        );
    }
    assert!(lines[2].contains("Check the build"), "by due: {screen}");
    // Each tail takes a command back to its task.
    let shown_task = env.ok(&["show", shown[1], "--compact"]).json();
    assert_eq!(shown_task["id"], ids[1].as_str());
    let why = env.ok(&["why", shown[2]]);
    assert!(why.stdout.contains(&ids[2]), "{why:?}");
    env.ok(&["cancel", shown[0]]);
    assert_eq!(env.find(&ids[0]).expect("cancelled")["status"], "cancelled");
    // A head works too; a fragment every id shares is refused, naming them.
    let head = &ids[1][..ids[1].len() - 2];
    assert_eq!(
        env.ok(&["show", head, "--compact"]).json()["id"],
        ids[1].as_str()
    );
    let shared = env.fails(&["show", "task_"]);
    assert!(
        shared.stderr.contains("could be") && shared.stderr.contains(&ids[1]),
        "{shared:?}"
    );
    assert_eq!(shared.code, Some(1), "refused, nothing found: {shared:?}");
    let short = env.fails(&["show", "xyz"]);
    assert!(short.stderr.contains("not found"), "{short:?}");
    // An exact id always wins, even when it is another's tail.
    env.ok(&[
        "schedule",
        "--when",
        "4h",
        "--summary",
        "exact",
        "--id",
        &shown[2][1..],
    ]);
    assert_eq!(
        env.ok(&["show", &shown[2][1..], "--compact"]).json()["summary"],
        Value::Null
    );
    assert_eq!(
        env.ok(&["show", &shown[2][1..], "--compact"]).json()["context"]["summary"],
        "exact"
    );
}
crate::on_both_stores!(typed_ids_round_trip);

/// On a terminal the commands that change a task say so in one line, with the id as typed;
/// piped (or with `--json`) they print the record as before.
fn changes_are_one_line_on_a_terminal_and_json_when_piped(env: Env) {
    let Some(line) = on_pty(
        &env,
        80,
        "schedule --when 'tomorrow 9am' --summary 'Write it up'",
    ) else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    let id = env.ok(&["list", "--compact"]).json()[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let tail = &id[id.len() - 6..];
    assert_eq!(line.trim_end().lines().count(), 1, "{line}");
    assert!(
        line.starts_with(&format!("scheduled {tail} for Thu 2026-04-09 09:00")),
        "{line}"
    );
    let moved = on_pty(&env, 80, &format!("snooze {tail} --when 'friday 10am'")).expect("pty");
    assert!(
        moved.starts_with(&format!("rescheduled {tail} for Fri")),
        "{moved}"
    );
    let ran = on_pty(&env, 80, &format!("run {tail}")).expect("pty");
    assert!(ran.starts_with(&format!("ran {tail} now")), "{ran}");
    let json = on_pty(&env, 80, "schedule --when 1h --summary x --id j1 --json").expect("pty");
    // The pty carries stderr too: the confirmation line, then the record.
    let record: Value =
        serde_json::from_str(&json[json.find('{').expect("JSON")..]).expect("--json: the record");
    assert_eq!(record["id"], "j1");
    let cancelled = on_pty(&env, 80, "cancel j1").expect("pty");
    assert!(
        cancelled.starts_with("cancelled j1 (it was due"),
        "{cancelled}"
    );
    // Piped: the record on stdout, the words on stderr, as ever.
    let piped = env.ok(&["schedule", "--when", "1h", "--summary", "x", "--id", "p1"]);
    assert_eq!(piped.json()["id"], "p1");
    assert!(piped.stderr.contains("scheduled p1 for"), "{piped:?}");
    let piped = env.ok(&["cancel", "p1"]);
    assert_eq!(piped.json()["status"], "cancelled");
    env.ok(&["schedule", "--when", "1h", "--summary", "x", "--id", "p2"]);
    assert_eq!(
        env.ok(&["cancel", "--id", "p2"]).json()["status"],
        "cancelled"
    );
}
crate::on_both_stores!(changes_are_one_line_on_a_terminal_and_json_when_piped);

#[test]
fn show_on_a_terminal_is_a_card() {
    let env = hostile_store();
    let Some(card) = on_pty(&env, 80, "show evil --color never") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    eprintln!("{card}");
    assert!(!card.contains('\u{1b}'), "{card:?}");
    for line in card.lines() {
        assert!(display_width(line) <= 80, "{line:?}");
    }
    assert!(
        card.lines()
            .any(|l| l.starts_with("id") && l.ends_with("evil"))
    );
    assert!(
        card.lines()
            .any(|l| l.starts_with("status ") && l.ends_with(" scheduled")),
        "{card}"
    );
    assert!(card.contains("Wed 2026-04-08 17:05 UTC, in 30m"), "{card}");
    assert!(card.contains("\\u{1b}]0;owned\\u{7}"), "{card}");
    let long = on_pty(&env, 80, "show long").expect("pty");
    assert!(
        long.contains("every open"),
        "long values wrap, not cut: {long}"
    );
    let json = on_pty(&env, 80, "show long --json").expect("pty");
    assert_eq!(
        serde_json::from_str::<Value>(&json).expect("json")["id"],
        "long"
    );
}

#[test]
fn logs_on_a_terminal_escape_stored_text_line_by_line() {
    let mut env = Env::new();
    let exe = env.script(
        "exe.sh",
        "cat > /dev/null\nprintf 'line one\\n\\033]0;owned\\007 two\\n'",
    );
    env.set("DEFER_EXECUTOR", exe.as_os_str());
    schedule(&env, "noisy", &[]);
    env.ok(&["run"]);
    let Some(screen) = on_pty(&env, 80, "logs noisy --output") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    assert!(
        screen.contains("line one\n\\u{1b}]0;owned\\u{7} two"),
        "{screen:?}"
    );
    // Piped: the executor's text as it is.
    let piped = env.ok(&["logs", "noisy", "--output"]).stdout;
    assert!(piped.contains("\u{1b}]0;owned\u{7} two"), "{piped:?}");
}

// completions and man ---------------------------------------------------------------------

#[test]
fn completion_scripts_for_every_shell_parse_and_complete_task_ids() {
    let env = Env::new();
    schedule(&env, "alpha_task", &["--when", "1h"]);
    schedule(&env, "beta_task", &["--when", "1h"]);
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = env.ok(&["completions", shell]).stdout;
        assert!(script.contains("COMPLETE"), "{shell}: {script}");
        let path = env.dir.path().join(format!("defer.{shell}"));
        std::fs::write(&path, &script).expect("write");
        let checker = match shell {
            "bash" => Some(("bash", "-n")),
            "zsh" => Some(("zsh", "-n")),
            "fish" => Some(("fish", "--no-execute")),
            _ => None,
        };
        if let Some((bin, flag)) = checker {
            match Command::new(bin).arg(flag).arg(&path).output() {
                Ok(out) => assert!(
                    out.status.success(),
                    "{bin} {flag}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
                Err(_) => eprintln!("{bin} not installed: {shell} script not checked"),
            }
        }
    }
    // What the bash script asks `defer` on Tab: `defer show al<Tab>`.
    let out = env
        .cmd(&["--", "defer", "show", "al"])
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_IFS", "\n")
        .output()
        .expect("complete");
    let words = String::from_utf8_lossy(&out.stdout);
    assert_eq!(words.trim(), "alpha_task", "{words:?}");
    let out = env
        .cmd(&["--", "defer", "reschedule", ""])
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_IFS", "\n")
        .output()
        .expect("complete");
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(
        words.contains("alpha_task") && words.contains("beta_task"),
        "{words:?}"
    );
    // Subcommands complete too.
    let out = env
        .cmd(&["--", "defer", "res"])
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "1")
        .env("_CLAP_IFS", "\n")
        .output()
        .expect("complete");
    assert!(String::from_utf8_lossy(&out.stdout).contains("reschedule"));
    // A broken configuration gives no candidates, never an error.
    let out = env
        .cmd(&["--", "defer", "show", ""])
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("DEFER_TIMEZONE", "Nowhere/Nothing")
        .output()
        .expect("complete");
    assert!(out.status.success());
}

#[test]
fn man_page_is_roff_from_the_same_definitions() {
    let mut env = Env::new();
    // Needs no usable configuration.
    env.set("DEFER_TIMEZONE", "Nowhere/Nothing");
    let page = env.ok(&["man"]).stdout;
    assert!(page.contains(".TH defer 1"), "{page}");
    for command in ["schedule", "logs", "retry", "reschedule", "completions"] {
        assert!(page.contains(command), "{command} missing");
    }
    let page = env.ok(&["man", "reschedule"]).stdout;
    assert!(page.contains(".TH defer-reschedule 1"), "{page}");
    assert!(page.contains("\\-\\-series"), "{page}");
    let run = env.fails(&["man", "nope"]);
    assert!(
        run.stderr.contains("command \"nope\": no such command"),
        "{}",
        run.stderr
    );
    // man(1), where installed, renders the page without complaint.
    let path = env.dir.path().join("defer.1");
    std::fs::write(&path, env.ok(&["man"]).stdout).expect("write");
    if let Ok(out) = Command::new("man")
        .args(["--warnings", "-E", "UTF-8", "-l"])
        .arg(&path)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("reschedule"), "{text}");
    }
}

// progress ---------------------------------------------------------------------------------

/// A runtime dir with `n` due tasks in the reference format.
fn many_due(env: &Env, n: usize) -> PathBuf {
    let dir = env.dir.path().join("many");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&crate::util::reference_line(
            &format!("t{i}"),
            &format!("task {i}"),
        ));
        text.push('\n');
    }
    std::fs::write(dir.join("deferred.jsonl"), text).expect("write");
    dir
}

#[test]
fn long_work_shows_a_progress_bar_on_a_terminal_and_nothing_when_piped() {
    let env = Env::new();
    let source = many_due(&env, 1200);
    let source = source.to_str().expect("utf8");
    // Piped: the one summary line, as before.
    let run = env.ok(&["import", "--runtime-dir", source]);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!("imported 1200 active and 0 archived task(s) from {source}\n")
    );
    let run = env.ok(&["run", "-v"]);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout.lines().count(),
        1201,
        "one line per task and the summary"
    );
    assert!(!run.stdout.contains('\u{1b}'));

    // On a terminal: a bar (on stderr), cleared at the end; the -v lines still print.
    let other = Env::new();
    let Some(screen) = on_pty(&other, 100, &format!("import --runtime-dir '{source}'")) else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    assert!(screen.contains("tasks read"), "{screen:?}");
    assert!(screen.contains("imported 1200 active"), "{screen:?}");
    let screen = on_pty(&other, 100, "run -v").expect("pty");
    assert!(screen.contains("/1200 tasks"), "{screen:?}");
    assert!(
        screen.contains("completed t1199 (prompt_prepared)"),
        "{screen:?}"
    );
    assert!(screen.contains("claimed 1200 completed 1200"), "{screen:?}");
}

// ---- many at once, series, the overview -----------------------------------------------------

/// `retry --status failed --since …`: more than one match is listed and nothing changes
/// without `--yes` (exit 1); with it each is retried through the single action's rules; a
/// lone match needs no `--yes`. `cancel --status scheduled --search TEXT` alike.
fn bulk_retry_and_cancel_from_the_command_line(mut env: Env) {
    executor(&mut env, 3);
    for i in 0..3 {
        schedule(&env, &format!("f{i}"), &[]);
    }
    env.ok(&["run"]);
    let before = env.records();
    let listed = env.fails(&["retry", "--status", "failed", "--since", "1h"]);
    assert_eq!(listed.code, Some(1), "{listed:?}");
    assert!(
        listed
            .stderr
            .contains("3 tasks match and nothing was changed; add --yes"),
        "{listed:?}"
    );
    let preview = listed.json();
    assert_eq!(preview["applied"], false);
    assert_eq!(preview["matched"].as_array().map(Vec::len), Some(3));
    assert_eq!(env.records(), before, "nothing changed");
    let done = env
        .ok(&["retry", "--status", "failed", "--since", "1h", "--yes"])
        .json();
    assert_eq!(done["done"].as_array().map(Vec::len), Some(3), "{done}");
    for i in 0..3 {
        assert_eq!(
            env.find(&format!("f{i}")).expect("f")["status"],
            "scheduled"
        );
    }
    // --since keeps the window: failures older than it are not touched.
    let none = env
        .ok(&["retry", "--status", "failed", "--since", "1h"])
        .json();
    assert_eq!(none["matched"], json!([]), "{none}");
    // Cancel by search; one match goes ahead without --yes.
    schedule(
        &env,
        "water",
        &["--when", "2h", "--summary", "water the plants"],
    );
    schedule(&env, "feed", &["--when", "2h", "--summary", "feed the cat"]);
    let one = env.ok(&["cancel", "--search", "PLANTS"]).json();
    assert_eq!(one["done"], json!(["water"]), "{one}");
    assert_eq!(env.find("water").expect("water")["status"], "cancelled");
    assert_eq!(env.find("feed").expect("feed")["status"], "scheduled");
    // Asked to cancel what cannot be cancelled: skipped with the reason, the rest done.
    let mixed = env
        .ok(&[
            "cancel",
            "--status",
            "scheduled",
            "--status",
            "cancelled",
            "--yes",
        ])
        .json();
    let skipped = mixed["skipped"].as_array().expect("skipped");
    assert!(
        skipped
            .iter()
            .any(|s| s["id"] == "water" && s["reason"].as_str().unwrap_or("").contains("cancelled")),
        "{mixed}"
    );
    assert_eq!(env.find("feed").expect("feed")["status"], "cancelled");
}
crate::on_both_stores!(bulk_retry_and_cancel_from_the_command_line);

/// `defer list --series`: one line per series with its rule, next and last run and counts;
/// `--all` adds ended ones.
fn series_are_listed_one_line_each(mut env: Env) {
    executor(&mut env, 0);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--every",
        "1h",
        "--summary",
        "hourly",
        "--id",
        "h1",
    ]);
    env.ok(&["run"]);
    env.ok(&[
        "schedule",
        "--when",
        "2h",
        "--every",
        "1d",
        "--summary",
        "daily",
        "--id",
        "d1",
    ]);
    let series = env.ok(&["list", "--series"]).json();
    let rows = series.as_array().expect("array");
    assert_eq!(rows.len(), 2, "{series}");
    // Soonest next run first: the hourly one's next occurrence is in an hour.
    assert_eq!(rows[0]["id"], "h1");
    assert_eq!(rows[0]["rule"], "every 1h");
    assert_eq!(rows[0]["counts"]["completed"], 1);
    assert_eq!(rows[0]["last_outcome"], "completed");
    assert_eq!(rows[0]["next_id"], "h1.2", "{series}");
    assert_eq!(rows[1]["id"], "d1");
    assert!(rows[1].get("last_run").is_none(), "{series}");
    env.ok(&["cancel", "--series", "d1"]);
    assert_eq!(
        env.ok(&["list", "--series"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let all = env.ok(&["list", "--series", "--all"]).json();
    let ended = all
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["id"] == "d1")
        .cloned()
        .expect("d1 with --all");
    assert_eq!(ended["ended"], true);
    let Some(screen) = on_pty(&env, 100, "list --series --color never") else {
        return;
    };
    assert!(
        screen.contains("every 1h") && screen.contains("hourly"),
        "{screen}"
    );
    assert!(screen.contains("completed"), "{screen}");
}
crate::on_both_stores!(series_are_listed_one_line_each);

#[test]
fn an_import_with_a_bad_line_names_the_file_and_line_and_writes_nothing() {
    let env = Env::new();
    let source = many_due(&env, 3);
    let archive = source.join("archive");
    std::fs::create_dir_all(&archive).expect("mkdir");
    let month = archive.join("deferred_202604.jsonl");
    let good = crate::util::reference_line("old", "archived");
    std::fs::write(&month, format!("{good}\n{{\"id\":\"half\"\n")).expect("write");
    let run = env.fails(&["import", "--runtime-dir", source.to_str().expect("utf8")]);
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "one line naming the problem: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("{} line 2:", month.display())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("fix or remove it"), "{}", run.stderr);
    let listed = env.ok(&["list", "--all", "--json"]);
    assert_eq!(listed.stdout.trim(), "[]", "nothing imported");
}
