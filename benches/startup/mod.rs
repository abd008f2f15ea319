//! Start-up: `defer --version` and `defer schedule` as whole processes, beside `at now + 30
//! minutes` (the command `defer schedule` stands in for) and, with `DEFER_BENCH_BASELINE`
//! naming a `defer` built from an earlier commit, beside that build.
//!
//! Every command runs once per round, in an order that rotates from round to round, so that
//! all of them meet the same moments of a shared, noisy machine; the figures are medians over
//! the rounds and the ratios compare those medians. Each process is timed from spawn to exit
//! as the harness sees it, stdout discarded and stderr read, the same for every command.
//! `schedule` runs as a user's would: the system time zone (no `DEFER_TIMEZONE`, no
//! `DEFER_NOW`), into an empty runtime directory of its own, with its `fdatasync`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{DEFER, FUTURE, Plan, defer, fmt, stats, store};

/// One command of the comparison.
struct Candidate {
    label: String,
    command: Command,
    samples: Vec<Duration>,
}

/// Runs `command`, returning its wall time and output; panics if it failed.
fn timed_output(command: &mut Command) -> (Duration, Output) {
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let out = command.output().expect("spawn");
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "{command:?} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, out)
}

/// `defer --version` and `defer schedule` of the binary at `bin`, labelled with `who`.
fn defer_pair(root: &Path, bin: &Path, who: &str) -> [Candidate; 2] {
    let dir = store(root, "startup", 0, FUTURE);
    let mut version = defer(&dir, &["--version"]);
    with_program(&mut version, bin);
    let mut schedule = defer(&dir, &["schedule", "--when", "30m", "--summary", "x"]);
    with_program(&mut schedule, bin);
    schedule
        .env_remove("DEFER_TIMEZONE")
        .env_remove("DEFER_NOW");
    [
        Candidate {
            label: format!("{who} `defer --version`"),
            command: version,
            samples: Vec::new(),
        },
        Candidate {
            label: format!("{who} `defer schedule --when 30m --summary x`"),
            command: schedule,
            samples: Vec::new(),
        },
    ]
}

/// The same command with another program (the harness's `defer()` names this build).
pub fn with_program(command: &mut Command, bin: &Path) {
    let mut other = Command::new(bin);
    other.args(command.get_args());
    other.env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            other.env(key, value);
        }
    }
    other.stdin(Stdio::null());
    *command = other;
}

/// `at` on PATH, if any.
fn find_at() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("at"))
        .find(|p| p.is_file())
}

/// The job number in at(1)'s "job 12 at Mon Dec  7 16:25:00 2026" line.
fn at_job(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().find(|l| l.starts_with("job "))?;
    line.split_whitespace().nth(1).map(str::to_string)
}

/// The start-up rows of the report.
pub fn startup(root: &Path, plan: &Plan, full: bool) -> Vec<String> {
    let mut candidates: Vec<Candidate> = defer_pair(root, Path::new(DEFER), "this build").into();
    if let Some(base) = std::env::var_os("DEFER_BENCH_BASELINE").filter(|b| !b.is_empty()) {
        candidates.extend(defer_pair(root, Path::new(&base), "baseline"));
    }
    // at(1) writes into the system's spool; only a real benchmark run does that (and removes
    // every job it queued), never the smoke run under `cargo test`.
    let at = if full { find_at() } else { None };
    let job = root.join("at-job.sh");
    if let Some(at) = &at {
        std::fs::write(&job, "true\n").expect("at job");
        let mut command = Command::new(at);
        command
            .args([
                "-f",
                job.to_str().expect("utf8 path"),
                "now",
                "+",
                "30",
                "minutes",
            ])
            .stdin(Stdio::null());
        candidates.push(Candidate {
            label: "`at now + 30 minutes`".into(),
            command,
            samples: Vec::new(),
        });
    }
    let mut floor = Command::new("/bin/true");
    floor.stdin(Stdio::null());
    candidates.push(Candidate {
        label: "`/bin/true` (any dynamically linked process here)".into(),
        command: floor,
        samples: Vec::new(),
    });

    let mut jobs = Vec::new();
    let count = candidates.len();
    for round in 0..plan.startup_reps {
        for k in 0..count {
            let candidate = &mut candidates[(round + k) % count];
            let (wall, out) = timed_output(&mut candidate.command);
            candidate.samples.push(wall);
            if candidate.label.starts_with("`at ") {
                jobs.extend(at_job(&out.stderr));
            }
        }
    }
    if let Some(at) = &at
        && !jobs.is_empty()
    {
        // atrm is at's sibling; every job here is one this run queued.
        let atrm = at.with_file_name("atrm");
        let _ = Command::new(atrm)
            .args(&jobs)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    let median = |label: &str| {
        candidates
            .iter()
            .find(|c| c.label == label)
            .map(|c| stats(&c.samples).median)
    };
    let at_median = median("`at now + 30 minutes`");
    let mut lines = Vec::new();
    for c in &candidates {
        let s = stats(&c.samples);
        let mut note = format!("{} rounds", c.samples.len());
        if c.label.contains("schedule")
            && let Some(at) = at_median
        {
            note.push_str(&format!("; **{:.2}×** `at` beside it", s.median / at));
        }
        if let Some(rest) = c.label.strip_prefix("this build ")
            && let Some(base) = median(&format!("baseline {rest}"))
        {
            note.push_str(&format!(
                "; **{:.2}×** the baseline beside it",
                s.median / base
            ));
        }
        lines.push(format!("| start-up: {} | {} | {note} |", c.label, fmt(&s)));
    }
    lines
}
