//! Issue 14 through the real binary: `defer time normalize -` batch mode, every-phrases in
//! `normalize` and in `schedule --when`. `now` is the harness's DEFER_NOW, Wednesday
//! 2026-04-08 16:35Z (12:35 EDT in New York).

use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::util::{Env, read_jsonl};

fn new_york() -> Env {
    let mut env = Env::new();
    env.set("DEFER_TIMEZONE", "America/New_York");
    env
}

#[test]
fn normalize_batch_answers_each_line_with_json() {
    let env = new_york();
    let input = "tomorrow morning\nevery weekday at 9am\nminuts\n12/25\n\ntoday 9am\ndec 25 9am\n";
    let mut child = env
        .cmd(&["time", "normalize", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn defer");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON value per line"))
        .collect();
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert_eq!(
        lines[0],
        json!({"input": "tomorrow morning", "run_at": "2026-04-09T13:00:00Z"})
    );
    assert_eq!(
        lines[1],
        json!({"input": "every weekday at 9am", "rule": "cron 0 9 * * 1-5",
               "next": ["2026-04-09T13:00:00Z", "2026-04-10T13:00:00Z", "2026-04-13T13:00:00Z"]})
    );
    let error = |i: usize| lines[i]["error"].as_str().expect("an error").to_owned();
    assert!(
        error(2).contains(r#"did you mean "minutes"?"#),
        "{}",
        error(2)
    );
    assert!(error(3).contains("dec 25"), "{}", error(3));
    assert!(error(4).contains("empty time expression"), "{}", error(4));
    assert_eq!(
        lines[5],
        json!({"input": "today 9am", "run_at": "2026-04-08T13:00:00Z", "past": true})
    );
    assert_eq!(lines[6]["run_at"], "2026-12-25T14:00:00Z");
}

#[test]
fn normalize_batch_answers_a_bad_line_with_an_error_and_reads_on() {
    let env = new_york();
    let mut input = b"tomorrow morning\n\xff\xfe 9am\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 10 << 20));
    input.extend_from_slice(b"\nin 5 minutes\n");
    let mut child = env
        .cmd(&["time", "normalize", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn defer");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer").expect("write stdin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON value per line"))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["run_at"], "2026-04-09T13:00:00Z");
    let error = |i: usize| lines[i]["error"].as_str().expect("an error").to_owned();
    assert!(
        error(1).contains("line 2 is not valid UTF-8"),
        "{}",
        error(1)
    );
    assert!(
        error(2).contains("line 3 is 10485760 bytes long, over the 4096-byte limit"),
        "{}",
        error(2)
    );
    assert_eq!(lines[3]["input"], "in 5 minutes");
    assert!(lines[3]["run_at"].is_string(), "{}", lines[3]);
}

#[test]
fn normalize_every_phrase_prints_the_next_three_times_and_past_warns() {
    let env = new_york();
    let run = env.ok(&["time", "normalize", "every monday and thursday at 10:30"]);
    assert_eq!(
        run.stdout,
        "2026-04-09T14:30:00Z\n2026-04-13T14:30:00Z\n2026-04-16T14:30:00Z\n"
    );
    let run = env.ok(&["time", "normalize", "today 9am"]);
    assert_eq!(run.stdout, "2026-04-08T13:00:00Z\n");
    assert!(run.stderr.contains("in the past"), "{}", run.stderr);
    let run = env.ok(&["time", "normalize", "tomorrow 9am"]);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn schedule_when_every_weekday_makes_the_series_rule() {
    let env = new_york();
    let run = env.ok(&[
        "schedule",
        "--when",
        "every weekday at 9am",
        "--summary",
        "stand-up notes",
        "--compact",
    ]);
    let record: Value = serde_json::from_str(run.stdout.trim()).expect("record");
    assert_eq!(record["run_at"], "2026-04-09T13:00:00Z");
    assert_eq!(record["series"]["rule"], "cron 0 9 * * 1-5");
    assert!(record.get("when").is_none(), "{record}");
    assert!(
        run.stderr
            .contains("Thu 2026-04-09 09:00 EDT, in 20h 25m, then cron 0 9 * * 1-5"),
        "{}",
        run.stderr
    );
    let stored = read_jsonl(&env.tasks_file());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["series"]["rule"], "cron 0 9 * * 1-5");

    let run = env.ok(&[
        "schedule",
        "--when",
        "every 2 hours",
        "--summary",
        "poll",
        "--compact",
    ]);
    let record: Value = serde_json::from_str(run.stdout.trim()).expect("record");
    assert_eq!(record["series"]["rule"], "every 2h");
    assert_eq!(record["run_at"], "2026-04-08T18:35:00Z");

    let before = env.store_bytes();
    let run = env.fails(&[
        "schedule",
        "--when",
        "every fridya at 9am",
        "--summary",
        "x",
    ]);
    assert!(
        run.stderr.contains(r#"at "fridya at 9am""#),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(r#"did you mean "friday"?"#),
        "{}",
        run.stderr
    );
    assert_eq!(env.store_bytes(), before);
}

#[test]
fn schedule_part_of_day_is_echoed() {
    let env = new_york();
    let run = env.ok(&[
        "schedule",
        "--when",
        "tomorrow morning",
        "--summary",
        "x",
        "--dry-run",
    ]);
    assert!(
        run.stderr
            .contains("Thu 2026-04-09 09:00 EDT, in 20h 25m (morning = 09:00)"),
        "{}",
        run.stderr
    );
}
