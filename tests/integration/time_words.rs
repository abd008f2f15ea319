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

/// `defer time normalize -` over `lines`: one JSON value per line.
fn normalize_lines(env: &Env, lines: &[&str]) -> Vec<Value> {
    let mut child = env
        .cmd(&["time", "normalize", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn defer");
    let input = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
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
    let answers: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON value per line"))
        .collect();
    assert_eq!(answers.len(), lines.len(), "{answers:?}");
    answers
}

/// Issue 23 part 5 through the real binary: days within a month, the month's end, rules
/// every other week and by weekday of the month, each with its instant or its rule and next
/// three times; the refused phrases with a suggestion each, and every suggestion accepted by
/// `defer time normalize` in turn.
#[test]
fn normalize_reads_the_phrases_people_still_type() {
    let env = new_york();
    let answers = normalize_lines(
        &env,
        &[
            "first monday of next month",
            "last friday of the month at 5pm",
            "end of month",
            "end of the month at 9am",
            "last day of the month",
            "every other tuesday at 9am",
            "every 2 weeks on tuesday at 9am",
            "every first monday of the month at 9am",
            "every last friday of the month at 5pm",
        ],
    );
    let run_at = |i: usize| answers[i]["run_at"].as_str().unwrap_or("").to_owned();
    assert_eq!(run_at(0), "2026-05-04T04:00:00Z");
    assert_eq!(run_at(1), "2026-04-24T21:00:00Z");
    assert_eq!(run_at(2), "2026-04-30T21:00:00Z");
    assert_eq!(run_at(3), "2026-04-30T13:00:00Z");
    assert_eq!(run_at(4), "2026-04-30T21:00:00Z");
    let fortnightly = json!({"input": "every other tuesday at 9am", "rule": "every 2w",
        "next": ["2026-04-14T13:00:00Z", "2026-04-28T13:00:00Z", "2026-05-12T13:00:00Z"]});
    assert_eq!(answers[5], fortnightly);
    assert_eq!(answers[6]["rule"], "every 2w");
    assert_eq!(answers[6]["next"], fortnightly["next"]);
    assert_eq!(
        answers[7],
        json!({"input": "every first monday of the month at 9am", "rule": "cron 0 9 * * 1#1",
               "next": ["2026-05-04T13:00:00Z", "2026-06-01T13:00:00Z", "2026-07-06T13:00:00Z"]})
    );
    assert_eq!(
        answers[8],
        json!({"input": "every last friday of the month at 5pm", "rule": "cron 0 17 * * 5L",
               "next": ["2026-04-24T21:00:00Z", "2026-05-29T21:00:00Z", "2026-06-26T21:00:00Z"]})
    );

    let refused = [
        ("in a few minutes", "\"in 5 minutes\""),
        ("in a bit", "\"in 15 minutes\""),
        ("later today", "\"today 5pm\""),
        ("soon", "\"in 30 minutes\""),
        ("asap", "say \"now\""),
        ("in 2 business days", "business days are not understood"),
        ("25.12.2026", "\"2026-12-25\""),
        ("christmas", "\"dec 25 9am\""),
        ("in 1,5 hours", "\"in 90 minutes\""),
        (
            "every month on the 31st at 9am",
            "\"every last day of the month at 9am\"",
        ),
        (
            "every second tuesday at 9am",
            "\"every other tuesday at 9am\"",
        ),
    ];
    let inputs: Vec<&str> = refused.iter().map(|&(input, _)| input).collect();
    let errors: Vec<String> = normalize_lines(&env, &inputs)
        .iter()
        .map(|a| a["error"].as_str().expect("an error").to_owned())
        .collect();
    let mut suggestions = Vec::new();
    for ((input, want), error) in refused.iter().zip(&errors) {
        assert!(error.contains(want), "{input:?}: {error}");
        assert!(
            !error.contains("noon") && !error.contains("\"am\""),
            "{error}"
        );
        // Each quoted expression that is not the input's own words (or the value of a flag
        // the CLI offers) is a suggestion.
        let pieces: Vec<&str> = error.split('"').collect();
        for i in (1..pieces.len()).step_by(2) {
            let quoted = pieces[i];
            let flag_value = pieces[i - 1].ends_with("--cron ");
            if !input.contains(quoted) && quoted != "the end" && !flag_value {
                suggestions.push(quoted.to_owned());
            }
        }
    }
    suggestions.dedup();
    assert!(suggestions.len() > 20, "{suggestions:?}");
    let lines: Vec<&str> = suggestions.iter().map(String::as_str).collect();
    for (suggestion, answer) in lines.iter().zip(normalize_lines(&env, &lines)) {
        assert!(
            answer.get("error").is_none(),
            "the suggestion {suggestion:?} is refused: {answer}"
        );
    }
}

#[test]
fn schedule_every_other_weekday_starts_on_that_weekday_and_steps_two_weeks() {
    let mut env = new_york();
    let run = env.ok(&[
        "schedule",
        "--when",
        "every other tuesday at 9am",
        "--id",
        "fortnightly",
        "--summary",
        "sprint review notes",
        "--compact",
    ]);
    let record: Value = serde_json::from_str(run.stdout.trim()).expect("record");
    assert_eq!(record["run_at"], "2026-04-14T13:00:00Z");
    assert_eq!(record["series"]["rule"], "every 2w");
    assert_eq!(record["series"]["scheduled_for"], "2026-04-14T13:00:00Z");
    assert!(
        run.stderr
            .contains("Tue 2026-04-14 09:00 EDT, in 5d 20h, then every 2w"),
        "{}",
        run.stderr
    );
    let run = env.ok(&[
        "schedule",
        "--when",
        "end of month",
        "--summary",
        "x",
        "--dry-run",
    ]);
    assert!(
        run.stderr
            .contains("Thu 2026-04-30 17:00 EDT, in 22d 4h (end of month = 17:00)"),
        "{}",
        run.stderr
    );
    // The first occurrence runs; the next is 14 days on, at 09:00 local.
    env.set("DEFER_NOW", "2026-04-14T13:00:30Z");
    env.ok(&["run"]);
    let next = env.find("fortnightly.2").expect("the second occurrence");
    assert_eq!(next["run_at"], "2026-04-28T13:00:00Z");
}

/// The grammar's refusal names no flag; the CLI adds the flags that give such a rule, and
/// MCP the fields.
#[test]
fn a_rule_no_phrase_says_is_offered_as_flags_or_fields() {
    let env = new_york();
    let run = env.fails(&["time", "normalize", "every 2 days at 9am"]);
    assert!(
        run.stderr.contains(
            r#"give the interval and the first time: --every 2d --when "tomorrow 09:00""#
        ),
        "{}",
        run.stderr
    );
    let mut server = crate::mcp::Server::ready(&env);
    let message = server.err(
        "normalize_time",
        json!({"when": "every 2 days at 9am"}),
        &[r#"every="2d" when="tomorrow 09:00""#],
    );
    assert!(!message.contains("--"), "{message}");
    let reply = server.ok(
        "normalize_time",
        json!({"when": "every other tuesday at 9am"}),
    );
    assert_eq!(reply["rule"], "every 2w");
    assert_eq!(
        reply["next"],
        json!([
            "2026-04-14T13:00:00Z",
            "2026-04-28T13:00:00Z",
            "2026-05-12T13:00:00Z"
        ])
    );
    assert_eq!(reply["instant"], "2026-04-14T13:00:00Z");
    let reply = server.ok(
        "normalize_time",
        json!({"when": "every last day of the month at 5pm"}),
    );
    assert_eq!(reply["rule"], "cron 0 17 L * *");
    assert_eq!(
        reply["next"],
        json!([
            "2026-04-30T21:00:00Z",
            "2026-05-31T21:00:00Z",
            "2026-06-30T21:00:00Z"
        ])
    );
    assert!(server.finish().status.success());
}
