//! `defer prune` and the audit log's rotation, through the real binary.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::Env;

/// Sets a file's modification time (GNU or BSD `touch`).
fn age(path: &Path, stamp: &str) {
    let ok = Command::new("touch")
        .args(["-m", "-d", stamp])
        .arg(path)
        .status()
        .expect("touch")
        .success();
    assert!(ok, "touch -d {stamp} {}", path.display());
}

fn id_of(env: &Env, args: &[&str]) -> String {
    let mut full = vec!["schedule", "--compact"];
    full.extend_from_slice(args);
    env.ok(&full).json()["id"].as_str().expect("id").to_string()
}

#[test]
fn prune_lists_by_default_and_deletes_with_yes() {
    let env = Env::new();
    let done = id_of(&env, &["--when", "now", "--summary", "done"]);
    env.ok(&["run"]);
    let waiting = id_of(&env, &["--when", "1d", "--summary", "waiting"]);
    let logs = env.log_dir();
    let prompt = logs.join(format!("{done}.prompt.txt"));
    let output = logs.join(format!("{done}.output.txt"));
    let waiting_prompt = logs.join(format!("{waiting}.prompt.txt"));
    fs::write(&output, "long output").expect("output");
    fs::write(&waiting_prompt, "an earlier attempt's prompt").expect("prompt");
    let old_month = env.archive_dir().join("deferred_202601.jsonl");
    fs::write(&old_month, "").expect("old archive");
    let this_month = env.archive_dir().join("deferred_202604.jsonl");
    assert!(this_month.exists(), "the run archived the finished task");
    for path in [&prompt, &output, &waiting_prompt] {
        age(path, "2026-01-15 12:00");
    }

    // Dry run: the list, a summary, nothing deleted.
    let dry = env.ok(&["prune", "--before", "30d"]);
    let listed: Vec<&str> = dry.stdout.lines().collect();
    assert_eq!(
        listed,
        [
            output.display().to_string(),
            prompt.display().to_string(),
            old_month.display().to_string(),
        ],
        "{}",
        dry.stdout
    );
    assert!(
        dry.stderr.starts_with("would delete 3 file(s), ")
            && dry.stderr.contains(
                " bytes, older than Mon 2026-03-09 16:35 UTC; 1 older file(s) kept: their task \
                 is still scheduled or executing; nothing was deleted: run again with --yes"
            ),
        "{}",
        dry.stderr
    );
    assert!(prompt.exists() && output.exists() && old_month.exists());

    // A date works as well as a duration; later than every file, nothing is listed.
    let none = env.ok(&["prune", "--before", "2026-01-01"]);
    assert_eq!(none.stdout, "");
    assert!(
        none.stderr
            .starts_with("nothing older than Thu 2026-01-01 00:00 UTC to prune")
    );

    let yes = env.ok(&["prune", "--before", "30d", "--yes"]);
    assert!(
        yes.stderr.starts_with("deleted 3 file(s), "),
        "{}",
        yes.stderr
    );
    assert!(!prompt.exists() && !output.exists() && !old_month.exists());
    assert!(waiting_prompt.exists(), "a scheduled task's files stay");
    assert!(
        this_month.exists(),
        "a month not wholly before the cutoff stays"
    );
    assert!(env.tasks_file().exists());
    let audit = fs::read_to_string(env.log_file()).expect("audit");
    assert!(
        audit.contains(" pruned files=3 before=2026-03-09T16:35:00Z\n"),
        "{audit}"
    );
    // The archived record itself is still readable.
    env.ok(&["show", &done]);
}

#[test]
fn prune_refuses_a_future_or_unreadable_cutoff() {
    let env = Env::new();
    let run = env.fails(&["prune", "--before", "next week"]);
    assert!(
        run.stderr.starts_with("error: --before ")
            && run
                .stderr
                .contains("in the future; give a past time or how long ago"),
        "{}",
        run.stderr
    );
    let run = env.fails(&["prune", "--before", "blah"]);
    assert!(run.stderr.contains("--before"), "{}", run.stderr);
    let run = env.fails(&["prune"]);
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn the_audit_log_is_rotated_past_10_mib() {
    let env = Env::new();
    fs::create_dir_all(env.log_dir()).expect("logs");
    let log = env.log_file();
    fs::write(&log, vec![b'x'; 10 * 1024 * 1024]).expect("fill");
    let first = id_of(&env, &["--when", "1h", "--summary", "one"]);
    let rotated = env.log_dir().join("deferred.log.1");
    let old = fs::read_to_string(&rotated).expect("rotated log");
    assert!(old.starts_with("xxx"), "the old content moved");
    let last = old.lines().last().unwrap_or("");
    assert!(
        last.contains(&format!("id={first}")),
        "the line that passed the limit ends the rotated file: {last:?}"
    );
    assert!(!log.exists(), "the next event starts a new file");
    let second = id_of(&env, &["--when", "1h", "--summary", "two"]);
    let new = fs::read_to_string(&log).expect("new log");
    assert_eq!(new.lines().count(), 1, "{new}");
    assert!(new.contains(&format!("id={second}")), "{new}");

    // prune takes an old rotated log too.
    age(&rotated, "2026-01-15 12:00");
    let dry = env.ok(&["prune", "--before", "30d"]);
    assert_eq!(dry.stdout.trim(), rotated.display().to_string());
}

/// A write cut short by a full disk can leave half a line, even half a character, at the
/// end of the audit log: the next line starts on a line of its own, and `logs` and the API
/// read the log as it is.
#[test]
fn a_cut_audit_line_breaks_neither_logs_nor_the_next_line() {
    use std::io::Write;
    let env = Env::new();
    let id = id_of(&env, &["--when", "now", "--summary", "cut"]);
    // Half of "é" (0xC3 0xA9) and no newline, as a short write leaves it.
    fs::OpenOptions::new()
        .append(true)
        .open(env.log_file())
        .and_then(|mut f| f.write_all(b"2026-04-08T17:05:00Z run id=x note=caf\xc3"))
        .expect("cut the log");
    env.ok(&["run"]);
    let raw = fs::read(env.log_file()).expect("log");
    let cut = raw
        .windows(4)
        .position(|w| w == b"caf\xc3")
        .expect("the cut line is kept");
    assert_eq!(
        raw[cut + 4],
        b'\n',
        "the next line starts on its own line: {}",
        String::from_utf8_lossy(&raw)
    );
    let logs = env.ok(&["logs", &id]);
    assert!(logs.stdout.contains("completed"), "{}", logs.stdout);
    let json = env.ok(&["logs", &id, "--json"]).json();
    assert_eq!(json["attempts"].as_array().map(Vec::len), Some(1), "{json}");
    let server = crate::serve::Server::start(&env, &[]);
    let r = server.api("GET", &format!("/api/v1/tasks/{id}/logs"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let page = server.page("GET", &format!("/tasks/{id}"), None);
    assert_eq!(page.status, 200, "{}", page.body);
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}
