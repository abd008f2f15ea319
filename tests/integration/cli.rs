//! CLI tests: schedule, list, cancel, show, time, reorient, check, and bad input.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::util::{Env, read_jsonl};

const FIXTURE: &str = include_str!("../data/reference_store.jsonl");

#[test]
fn schedule_writes_one_record_with_every_contract_field() {
    let env = Env::new();
    let run = env.ok(&[
        "schedule",
        "--when",
        "30m",
        "--summary",
        "Resume the architecture review",
        "--intent",
        "notify",
        "--mode",
        "callback",
        "--aura-level",
        "high",
        "--max-retries",
        "2",
        "--key-point",
        "k1",
        "--key-point",
        "k2",
        "--artifact",
        "/a.md",
        "--constraint",
        "c1",
        "--id",
        "review_1",
    ]);
    let printed = run.json();
    let stored = env.records();
    assert_eq!(stored.len(), 1);
    assert_eq!(printed, stored[0], "stdout is the stored record");
    let t = &stored[0];
    assert_eq!(t["id"], "review_1");
    assert_eq!(t["created_at"], "2026-04-08T16:35:00Z");
    assert_eq!(t["run_at"], "2026-04-08T17:05:00Z");
    assert_eq!(t["type"], "deferred_task");
    assert_eq!(t["intent"], "notify");
    assert_eq!(t["status"], "scheduled");
    assert_eq!(t["attempts"], 0);
    assert_eq!(t["max_retries"], 2);
    assert_eq!(t["context"]["summary"], "Resume the architecture review");
    assert_eq!(t["context"]["key_points"], serde_json::json!(["k1", "k2"]));
    assert_eq!(t["context"]["artifacts"], serde_json::json!(["/a.md"]));
    assert_eq!(t["context"]["constraints"], serde_json::json!(["c1"]));
    assert_eq!(t["execution"]["mode"], "callback");
    assert_eq!(t["execution"]["aura_level"], "high");
    assert_eq!(
        t["execution"]["prompt_template"],
        "Resume the architecture review"
    );
    assert_eq!(t["reorient_requested"], false);
    assert_eq!(
        t["reorient"],
        serde_json::json!({"requested": false, "project": null, "explicit_context_file": null})
    );
    assert_eq!(t["when"], "30m");
    assert_eq!(t["timezone"], "UTC");
    assert!(run.stdout.starts_with("{\n  \"id\""), "pretty by default");
    assert!(
        run.stderr
            .contains("scheduled review_1 for Wed 2026-04-08 17:05 UTC, in 30m"),
        "{}",
        run.stderr
    );
    assert!(
        env.log().contains(
            "2026-04-08T16:35:00Z scheduled id=review_1 run_at=2026-04-08T17:05:00Z \
             intent=notify mode=callback retries=2"
        ),
        "{}",
        env.log()
    );
}

#[test]
fn default_ids_follow_the_reference_pattern() {
    let env = Env::new();
    let t = env
        .ok(&["--when", "now", "--summary", "x", "--compact"])
        .json();
    let id = t["id"].as_str().expect("id");
    assert!(id.starts_with("task_20260408_163500_"), "{id}");
    // `<pid>_<8 random base-36 characters>`: the pid alone repeats (pid 1 in containers).
    let suffix = &id["task_20260408_163500_".len()..];
    let (pid, random) = suffix.split_once('_').expect("pid and random part");
    assert!(
        pid.len() >= 4 && pid.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert!(
        random.len() == 8
            && random
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
        "{id}"
    );
}

#[test]
fn implicit_schedule_form_and_compact_output() {
    let env = Env::new();
    let run = env.ok(&["--when", "tomorrow 9am", "--summary", "x", "--compact"]);
    assert_eq!(run.stdout.lines().count(), 1);
    assert_eq!(run.json()["run_at"], "2026-04-09T09:00:00Z");
    assert_eq!(env.records().len(), 1);
}

#[test]
fn dry_run_persists_and_logs_nothing() {
    let env = Env::new();
    let run = env.ok(&["schedule", "--when", "1h", "--summary", "x", "--dry-run"]);
    assert_eq!(run.json()["run_at"], "2026-04-08T17:35:00Z");
    assert!(run.stderr.contains("dry run"), "{}", run.stderr);
    assert!(!env.tasks_file().exists() || env.store_bytes().is_empty());
    assert!(env.log().is_empty());
}

#[test]
fn awkward_summaries_are_stored_literally() {
    let env = Env::new();
    let summary = "He said \"hi\" $(rm -rf /) `whoami` ${HOME}\nsecond line \u{1F680} ünï 'q'";
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        summary,
        "--id",
        "lit",
    ]);
    let t = env.find("lit").expect("stored");
    assert_eq!(t["context"]["summary"], summary);
    assert_eq!(
        env.store_bytes().iter().filter(|&&b| b == b'\n').count(),
        1,
        "one line"
    );
}

#[test]
fn past_times_are_accepted_with_a_warning() {
    let env = Env::new();
    let run = env.ok(&["schedule", "--when", "today 9am", "--summary", "x"]);
    assert!(run.stderr.contains("in the past"), "{}", run.stderr);
    assert_eq!(env.records()[0]["run_at"], "2026-04-08T09:00:00Z");
}

#[test]
fn time_subcommands_normalize_and_epoch() {
    let mut env = Env::new();
    env.set("DEFER_TIMEZONE", "America/New_York");
    assert_eq!(
        env.ok(&["time", "normalize", "tomorrow 9am"]).stdout,
        "2026-04-09T13:00:00Z\n"
    );
    assert_eq!(
        env.ok(&["time", "epoch", "2026-04-08T17:05:00Z"]).stdout,
        "1775667900\n"
    );
    let run = env.fails(&["time", "normalize", "3pm EST"]);
    assert!(run.stderr.contains("DEFER_TIMEZONE"), "{}", run.stderr);
}

/// Every bad input of the issue: one error line, non-zero exit, the store byte-identical.
#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut env = Env::new();
    env.ok(&[
        "schedule",
        "--when",
        "2h",
        "--summary",
        "existing",
        "--id",
        "keep",
    ]);
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "done",
        "--id",
        "ran",
    ]);
    env.ok(&["run"]);
    env.ok(&[
        "schedule",
        "--when",
        "3h",
        "--summary",
        "cancelled",
        "--id",
        "gone",
    ]);
    env.ok(&["cancel", "--id", "gone"]);
    let before = env.store_bytes();
    let log_before = env.log();
    assert!(!before.is_empty());

    let cases: &[(&[&str], &str)] = &[
        (&["schedule", "--summary", "x"], "--when"),
        (&["schedule", "--when", "1h"], "summary"),
        (&["schedule", "--when", "1h", "--summary", ""], "summary"),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--intent",
                "later",
            ],
            "intent",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--mode",
                "warm",
            ],
            "mode",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--aura-level",
                "max",
            ],
            "aura",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--max-retries",
                "-1",
            ],
            "retries",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--max-retries",
                "two",
            ],
            "retries",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--context-json",
                "{bad",
            ],
            "context-json",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--context-json",
                "[1]",
            ],
            "context-json",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--context-json",
                r#"{"key_points":"no"}"#,
            ],
            "context-json",
        ),
        (
            &["schedule", "--when", "1h", "--summary", "x", "--id", "../x"],
            "invalid task id",
        ),
        (
            &["schedule", "--when", "1h", "--summary", "x", "--id", "a/b"],
            "invalid task id",
        ),
        (
            &["schedule", "--when", "1h", "--summary", "x", "--id", ""],
            "invalid task id",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--id",
                ".hidden",
            ],
            "invalid task id",
        ),
        (
            &["schedule", "--when", "1h", "--summary", "x", "--id", "keep"],
            "already",
        ),
        (
            &["schedule", "--when", "1h", "--summary", "x", "--id", "gone"],
            "already",
        ),
        (
            &["schedule", "--when", "1h", "--summary", "x", "--frobnicate"],
            "--frobnicate",
        ),
        (&["schedule", "--when", "blah", "--summary", "x"], "blah"),
        (
            &["schedule", "--when", "5 minutes ago", "--summary", "x"],
            "5 minutes ago",
        ),
        (&["schedule", "--when", "25:00", "--summary", "x"], "25:00"),
        (
            &["schedule", "--when", "3pm EST", "--summary", "x"],
            "DEFER_TIMEZONE",
        ),
        (
            &["schedule", "--when", "5pm Europe/Paris", "--summary", "x"],
            "DEFER_TIMEZONE",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--reorient",
                "--context-file",
                "/nonexistent/CONTEXT.md",
            ],
            "/nonexistent/CONTEXT.md",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--reorient",
                "--project",
                "nope",
            ],
            "nope",
        ),
        (
            &[
                "schedule",
                "--when",
                "1h",
                "--summary",
                "x",
                "--project",
                "p",
            ],
            // Naming a project implies --reorient, as in every front end: its CONTEXT.md is
            // looked for, and its absence refused.
            "p",
        ),
        (&["cancel", "--id", "missing"], "Task not found: missing"),
        (&["cancel", "--id", "gone"], "cancelled"),
        (&["cancel", "--id", "ran"], "completed"),
        (&["show", "missing"], "Task not found: missing"),
        (&["show", "../etc/passwd"], "invalid task id"),
        (&["list", "--status", "sleeping"], "status"),
        (&["bogus-command"], "bogus-command"),
    ];
    for (args, needle) in cases {
        let run = env.fails(args);
        assert!(
            run.stderr.contains(needle),
            "defer {args:?}: {:?} should mention {needle:?}",
            run.stderr
        );
        assert_eq!(
            env.store_bytes(),
            before,
            "defer {args:?} changed the store"
        );
    }

    env.set("DEFER_TIMEZONE", "Mars/Olympus_Mons");
    let run = env.fails(&["schedule", "--when", "1h", "--summary", "x"]);
    assert!(run.stderr.contains("DEFER_TIMEZONE"), "{}", run.stderr);
    assert_eq!(env.store_bytes(), before);
    assert_eq!(env.log(), log_before, "refused commands log nothing");
}

#[test]
fn a_store_that_is_a_directory_is_refused() {
    let mut env = Env::new();
    let dir = env.dir.path().join("store-dir");
    fs::create_dir_all(&dir).expect("mkdir");
    env.set("DEFER_TASKS_FILE", dir.as_os_str());
    for args in [
        &["schedule", "--when", "1h", "--summary", "x"][..],
        &["list"][..],
        &["cancel", "--id", "x"][..],
        &["run"][..],
    ] {
        let run = env.fails(args);
        assert!(
            run.stderr.contains("is a directory"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(fs::read_dir(&dir).expect("ls").count(), 0);
}

#[test]
fn a_symlink_planted_as_the_store_is_not_followed() {
    let env = Env::new();
    fs::create_dir_all(env.runtime()).expect("mkdir");
    let target = env.dir.path().join("elsewhere.txt");
    fs::write(&target, "precious\n").expect("write");
    std::os::unix::fs::symlink(&target, env.tasks_file()).expect("symlink");
    let run = env.fails(&["schedule", "--when", "1h", "--summary", "x"]);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(fs::read_to_string(&target).expect("read"), "precious\n");
}

#[test]
fn runtime_files_are_private() {
    let env = Env::new();
    env.ok(&["schedule", "--when", "1h", "--summary", "x"]);
    let mode = |p: &std::path::Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&env.runtime()), 0o700);
    assert_eq!(mode(&env.tasks_file()), 0o600);
    assert_eq!(mode(&env.log_dir()), 0o700);
    assert_eq!(mode(&env.log_file()), 0o600);
}

#[test]
fn list_filters_by_status_and_searches_archives_for_terminal_ones() {
    let env = Env::new();
    env.ok(&["schedule", "--when", "1h", "--summary", "a", "--id", "a"]);
    env.ok(&["schedule", "--when", "now", "--summary", "b", "--id", "b"]);
    env.ok(&["schedule", "--when", "2h", "--summary", "c", "--id", "c"]);
    env.ok(&["cancel", "--id", "c", "--reason", "not needed"]);
    env.ok(&["run"]);

    let ids = |run: crate::util::Run| -> Vec<String> {
        run.json()
            .as_array()
            .expect("array")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect()
    };
    assert_eq!(ids(env.ok(&["list"])), vec!["a"]);
    assert_eq!(ids(env.ok(&["list", "--status", "completed"])), vec!["b"]);
    assert_eq!(
        ids(env.ok(&["list", "--status", "cancelled", "--status", "scheduled"])),
        vec!["a", "c"],
        "what is to happen first, then what happened"
    );
    let mut all = ids(env.ok(&["list", "--all"]));
    all.sort();
    assert_eq!(all, vec!["a", "b", "c"]);
    let compact = env.ok(&["list", "--compact"]);
    assert_eq!(compact.stdout.lines().count(), 1);
    let empty = Env::new();
    assert_eq!(empty.ok(&["list"]).json(), serde_json::json!([]));
}

#[test]
fn cancel_marks_the_task_and_logs_it() {
    let env = Env::new();
    env.ok(&["schedule", "--when", "1h", "--summary", "x", "--id", "c1"]);
    env.ok(&["schedule", "--when", "1h", "--summary", "y", "--id", "c2"]);
    let t = env.ok(&["cancel", "--id", "c1", "--compact"]).json();
    assert_eq!(t["status"], "cancelled");
    assert_eq!(t["cancelled_at"], "2026-04-08T16:35:00Z");
    assert_eq!(t["cancel_reason"], Value::Null);
    assert!(t.as_object().expect("obj").contains_key("cancel_reason"));
    let t = env
        .ok(&["cancel", "--id", "c2", "--reason", "plans changed"])
        .json();
    assert_eq!(t["cancel_reason"], "plans changed");
    assert_eq!(
        env.records().len(),
        2,
        "cancelled tasks stay until the sweep"
    );
    assert!(env.log().contains("cancelled id=c1"));
    assert!(env.log().contains("cancelled id=c2"));
}

#[test]
fn show_finds_active_and_archived_tasks() {
    let env = Env::new();
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "s1"]);
    assert_eq!(env.ok(&["show", "s1"]).json()["status"], "scheduled");
    env.ok(&["run"]);
    assert!(env.records().is_empty());
    let t = env.ok(&["show", "s1", "--compact"]).json();
    assert_eq!(t["status"], "completed");
}

#[test]
fn reference_fixture_loads_lists_cancels_and_round_trips() {
    let env = Env::new();
    fs::create_dir_all(env.runtime()).expect("mkdir");
    fs::write(env.tasks_file(), FIXTURE).expect("fixture");
    let original = read_jsonl(&env.tasks_file());

    let listed = env.ok(&["list"]).json();
    // Due order: the executing task was due first.
    let mut by_due = original.clone();
    by_due.sort_by_key(|r| r["run_at"].as_str().unwrap_or("").to_string());
    assert_eq!(
        listed.as_array().expect("array"),
        &by_due,
        "list shows records as stored, in due order"
    );

    let cancelled = env
        .ok(&[
            "cancel",
            "--id",
            "task_20260408_170000_5102",
            "--reason",
            "moved",
        ])
        .json();
    assert_eq!(cancelled["custom"], original[1]["custom"]);
    let after = env.records();
    assert_eq!(after.len(), 3);
    // Untouched lines are byte-identical; the cancelled one keeps every field it had.
    let lines: Vec<&str> = FIXTURE.lines().collect();
    let stored = String::from_utf8(env.store_bytes()).expect("utf8");
    let stored_lines: Vec<&str> = stored.lines().collect();
    assert_eq!(stored_lines[0], lines[0]);
    assert_eq!(stored_lines[2], lines[2]);
    let mut expected = original[1].clone();
    expected["status"] = "cancelled".into();
    expected["cancelled_at"] = "2026-04-08T16:35:00Z".into();
    expected["cancel_reason"] = "moved".into();
    // Fields the reference tool's older records lack are filled with their defaults.
    expected["attempts"] = 0.into();
    expected["max_retries"] = 0.into();
    assert_eq!(after[1], expected);
    assert_eq!(
        env.ok(&["show", "task_20260408_163500_4821"]).json(),
        original[0]
    );
}

#[test]
fn check_reports_malformed_lines_and_keeps_them() {
    let env = Env::new();
    env.ok(&["schedule", "--when", "1h", "--summary", "x", "--id", "ok1"]);
    let mut bytes = env.store_bytes();
    bytes.extend_from_slice(b"not json at all\n{\"id\":\"half\",\"status\":\"sched");
    fs::write(env.tasks_file(), &bytes).expect("write");
    let run = env.run(&["check"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("deferred.jsonl:2:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("deferred.jsonl:3: truncated"),
        "{}",
        run.stdout
    );
    let listed = env.ok(&["list"]);
    assert!(listed.stderr.contains("line 2"), "{}", listed.stderr);
    assert_eq!(listed.json().as_array().expect("array").len(), 1);

    // A new task after a torn last line starts on its own line; nothing is merged or lost.
    env.ok(&["schedule", "--when", "1h", "--summary", "y", "--id", "ok2"]);
    let text = String::from_utf8(env.store_bytes()).expect("utf8");
    assert!(text.contains("not json at all\n"));
    assert!(text.contains("{\"id\":\"half\",\"status\":\"sched\n{\"id\":\"ok2\""));
    env.ok(&["cancel", "--id", "ok1"]);
    let text = String::from_utf8(env.store_bytes()).expect("utf8");
    assert!(
        text.contains("not json at all\n"),
        "rewrites keep malformed lines"
    );
    let clean = Env::new();
    assert_eq!(clean.ok(&["check"]).code, Some(0));
}

#[test]
fn forty_concurrent_schedules_make_forty_whole_records() {
    let env = Env::new();
    let schedules = (0..40)
        .map(|i| {
            env.cmd(&[
                "schedule",
                "--when",
                "10m",
                "--summary",
                &format!("task number {i} {}", "x".repeat(2000)),
                "--compact",
            ])
        })
        .collect();
    crate::util::run_all_at_once(schedules);
    let records = env.records();
    assert_eq!(records.len(), 40);
    let mut ids: Vec<&str> = records
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "ids are unique");
    let mut numbers: Vec<usize> = records
        .iter()
        .map(|r| {
            let s = r["context"]["summary"].as_str().expect("summary");
            s.split(' ').nth(2).expect("n").parse().expect("number")
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, (0..40).collect::<Vec<_>>());
}

#[test]
fn reorient_builds_snapshots_through_the_lookup_chain() {
    let mut env = Env::new();
    let projects = env.dir.path().join("projects");
    env.set("DEFER_PROJECTS_DIR", projects.as_os_str());
    let alpha = projects.join("alpha");
    fs::create_dir_all(&alpha).expect("mkdir");
    fs::write(
        alpha.join("CONTEXT.md"),
        "# Overview\n- Alpha service\n\n## Status\n- deployed\n\n## Questions\n- scale?\n\n\
         ## Constraints\n- no downtime\n\n## Decisions\n- use JSONL\n\n## Anti Patterns\n- daemons\n\n\
         ## References\n- /docs/alpha.md\n",
    )
    .expect("write");
    let snap = env.ok(&["reorient", "--project", "alpha"]).json();
    assert_eq!(snap["summary"], "Alpha service");
    assert_eq!(
        snap["key_points"],
        serde_json::json!(["deployed", "Open question: scale?"])
    );
    assert_eq!(snap["artifacts"], serde_json::json!(["/docs/alpha.md"]));
    assert_eq!(
        snap["constraints"],
        serde_json::json!(["no downtime", "Decision: use JSONL", "Avoid: daemons"])
    );
    assert_eq!(
        snap["reoriented_from"],
        alpha.join("CONTEXT.md").display().to_string()
    );

    // No flags: the most recently modified project wins.
    let beta = projects.join("beta");
    fs::create_dir_all(&beta).expect("mkdir");
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(beta.join("CONTEXT.md"), "Beta preamble\n").expect("write");
    assert_eq!(
        env.ok(&["reorient", "--compact"]).json()["summary"],
        "Beta preamble"
    );

    // DEFER_CONTEXT_FILE comes before the newest project.
    let explicit = env.dir.path().join("ctx.md");
    fs::write(&explicit, "# What this is\n- From env\n").expect("write");
    env.set("DEFER_CONTEXT_FILE", explicit.as_os_str());
    assert_eq!(env.ok(&["reorient"]).json()["summary"], "From env");

    // Nothing anywhere: an error listing where it looked.
    let mut bare = Env::new();
    bare.set(
        "DEFER_PROJECTS_DIR",
        bare.dir.path().join("none").as_os_str(),
    );
    let mut cmd = bare.cmd(&["reorient"]);
    cmd.current_dir(bare.dir.path());
    let out = crate::util::Run::from(cmd.output().expect("run"));
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("no CONTEXT.md found"), "{}", out.stderr);
    assert!(
        out.stderr.contains("data/research/CONTEXT.md"),
        "{}",
        out.stderr
    );
}

#[test]
fn schedule_with_reorient_merges_context_in_the_contract_order() {
    let env = Env::new();
    let ctx = env.dir.path().join("CONTEXT.md");
    fs::write(
        &ctx,
        "# Orientation\n- Reoriented summary\n## Current state\n- r1\n## Key constraints\n- rc\n\
         ## Key references\n- /r.md\n",
    )
    .expect("write");
    let ctx_s = ctx.display().to_string();
    let t = env
        .ok(&[
            "schedule",
            "--when",
            "1h",
            "--reorient",
            "--context-file",
            &ctx_s,
            "--context-json",
            r#"{"key_points":["j1"],"constraints":["jc"],"team":"infra"}"#,
            "--key-point",
            "f1",
        ])
        .json();
    assert_eq!(t["context"]["summary"], "Reoriented summary");
    assert_eq!(
        t["context"]["key_points"],
        serde_json::json!(["r1", "j1", "f1"])
    );
    assert_eq!(t["context"]["constraints"], serde_json::json!(["rc", "jc"]));
    assert_eq!(t["context"]["artifacts"], serde_json::json!(["/r.md"]));
    assert_eq!(t["context"]["reoriented_from"], ctx_s);
    assert_eq!(
        t["context"]["team"], "infra",
        "unknown context fields are kept"
    );
    assert_eq!(t["reorient_requested"], true);
    assert_eq!(t["reorient"]["explicit_context_file"], ctx_s);

    // An explicit summary wins; a context-json summary beats the reoriented one.
    let t = env
        .ok(&[
            "schedule",
            "--when",
            "1h",
            "--reorient",
            "--context-file",
            &ctx_s,
            "--context-json",
            r#"{"summary":"from json","reoriented_from":"/elsewhere.md"}"#,
        ])
        .json();
    assert_eq!(t["context"]["summary"], "from json");
    assert_eq!(t["context"]["reoriented_from"], "/elsewhere.md");
    let t = env
        .ok(&[
            "schedule",
            "--when",
            "1h",
            "--reorient",
            "--context-file",
            &ctx_s,
            "--summary",
            "mine",
        ])
        .json();
    assert_eq!(t["context"]["summary"], "mine");
}

#[test]
fn help_documents_the_time_grammar() {
    let env = Env::new();
    let help = env.ok(&["schedule", "--help"]).stdout;
    for needle in ["tomorrow 9am", "next friday", "DEFER_TIMEZONE"] {
        assert!(help.contains(needle), "schedule --help lacks {needle:?}");
    }
}

/// Each refusal is one plain line that says what is wrong, in words: no advice to `chmod` a
/// shared system directory, no detail printed twice, no Debug print, no nanosecond stamps,
/// and the same verdict on a bad id from `cancel` as from `show`.
#[test]
fn refusals_are_worded_once_and_plainly() {
    let mut env = Env::new();
    let error = |run: &crate::util::Run| run.stderr.trim_end().to_string();

    // A shared system directory: never advise changing its mode.
    env.set("DEFER_LOG_DIR", "/tmp");
    let msg = error(&env.fails(&["list"]));
    assert!(!msg.contains("chmod"), "{msg}");
    assert!(
        msg.contains("shared directory") && msg.contains("private directory"),
        "{msg}"
    );
    env.unset("DEFER_LOG_DIR");

    // Syntax errors say "not valid JSON" once; schema errors do not say it at all.
    let msg = error(&env.fails(&["schedule", "--when", "1h", "--context-json", "{bad"]));
    assert!(msg.contains("is not valid JSON"), "{msg}");
    let detail = "key must be a string at line 1 column 2";
    assert_eq!(msg.matches(detail).count(), 1, "{msg}");
    let mut line = reference_line_with_bad_type();
    line.push('\n');
    fs::create_dir_all(env.runtime()).expect("runtime");
    fs::write(env.tasks_file(), &line).expect("store");
    let msg = error(&env.fails(&["cancel", "--id", "bad_type"]));
    assert!(!msg.contains("is not valid JSON"), "{msg}");
    assert!(msg.contains("not the expected fields or types"), "{msg}");
    fs::remove_file(env.tasks_file()).expect("remove store");

    // Negative intervals reach the library, which says why.
    for (flag, value) in [("--every", "-1h"), ("--late-after", "-5m")] {
        let mut args = vec!["schedule", "--when", "1h", "--summary", "x", flag, value];
        if flag == "--late-after" {
            args.extend(["--every", "1h", "--if-late", "skip"]);
        }
        let msg = error(&env.fails(&args));
        assert!(msg.contains("negative interval is not allowed"), "{msg}");
    }

    // A cron rule that never fires, in words, with no nanosecond stamp.
    let msg = error(&env.fails(&["schedule", "--summary", "x", "--cron", "0 0 31 2 *"]));
    assert!(msg.contains("never occurs"), "{msg}");
    assert!(!msg.contains(".000") && !msg.contains("[UTC]"), "{msg}");

    // An interval too large to add: worded, not a Debug print.
    env.ok(&[
        "schedule",
        "--when",
        "now",
        "--summary",
        "x",
        "--every",
        "99999999999d",
    ]);
    let run = env.run(&["run"]);
    let all = format!("{}{}", run.stderr, env.ok(&["list", "--all"]).stdout);
    assert!(
        !all.contains("Interval {") && !all.contains("nanos"),
        "{all}"
    );
    assert!(all.contains("99999999999d"), "{all}");

    // `cancel` judges an id as `show` does.
    let shown = error(&env.fails(&["show", "../x"]));
    let cancelled = error(&env.fails(&["cancel", "--id", "../x"]));
    assert!(shown.contains("invalid task id"), "{shown}");
    assert_eq!(cancelled, shown);

    // A retry delay that would land in the year 9999 is refused.
    env.set("DEFER_RETRY_DELAY_SECONDS", "99999999999");
    let msg = error(&env.fails(&["list"]));
    assert!(
        msg.contains("DEFER_RETRY_DELAY_SECONDS") && msg.contains("30 days"),
        "{msg}"
    );
}

/// A record that is valid JSON but has a string where a number belongs.
fn reference_line_with_bad_type() -> String {
    let mut v: Value =
        serde_json::from_str(&crate::util::reference_line("bad_type", "x")).expect("json");
    v["attempts"] = Value::from("three");
    v.to_string()
}

/// An executor killed by a signal is recorded as killed, with the signal's name, even when it
/// printed something first.
#[test]
fn an_executor_killed_by_a_signal_says_so_whatever_it_printed() {
    let mut env = Env::new();
    let executor = env.script("crash.sh", "cat >/dev/null; echo working; kill -9 $$");
    env.set("DEFER_EXECUTOR", executor.as_os_str());
    env.ok(&["schedule", "--when", "now", "--summary", "x", "--id", "k"]);
    env.run(&["run"]);
    let text = env.find("k").expect("task").to_string();
    assert!(
        text.contains("killed by signal 9 (SIGKILL): working"),
        "{text}"
    );
}

/// Unknown fields keep their exact text through a change to the record: numbers are not
/// respelled (a big integer, an exponent, a negative zero), at the top level or nested.
#[test]
fn unknown_fields_keep_their_exact_text_through_a_cancel() {
    let env = Env::new();
    env.ok(&["schedule", "--id", "seed", "--when", "1h", "--summary", "x"]);
    let line = crate::util::reference_line("odd", "odd numbers");
    let custom = r#""custom":123456789012345678901234567890,"e":1e2,"E":1E+2,"z":-0,"f":1.50,"nested":{"n":[1e2, -0.0]}"#;
    let line = format!("{},{custom}}}", line.strip_suffix('}').expect("object")).replacen(
        r#""context":{"#,
        r#""context":{"team_size":1e2,"big":-123456789012345678901234567890,"#,
        1,
    );
    let mut store = fs::read(env.tasks_file()).expect("store");
    store.extend_from_slice(format!("{line}\n").as_bytes());
    fs::write(env.tasks_file(), store).expect("write store");

    env.ok(&["cancel", "--id", "odd"]);
    let text = fs::read_to_string(env.tasks_file()).expect("store");
    let stored = text
        .lines()
        .find(|l| l.contains(r#""id":"odd""#))
        .expect("the record");
    assert!(stored.contains(r#""status":"cancelled""#), "{stored}");
    assert!(stored.contains(custom), "{stored}");
    assert!(
        stored.contains(r#""team_size":1e2,"big":-123456789012345678901234567890"#),
        "{stored}"
    );
}
