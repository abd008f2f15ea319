//! Every `defer` command in skills/defer/SKILL.md runs as written: an agent copies them.
//!
//! The lines of its ```sh blocks run through `/bin/sh` in document order, against a temp
//! runtime dir with a working setup (a fake crontab with the installed line, one cron wake),
//! and must succeed. Inline `defer …` spans run too, unless they hold a placeholder (`ID`,
//! `[--all]`); a bare `defer <command>` names a command, which must exist.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{Env, Run, defer_bin};

/// The id the skill's examples use.
const EXAMPLE_ID: &str = "task_20261126_143000_81234";

/// Commands of the ```sh blocks, continuation lines joined, comment-only lines dropped.
fn block_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
            continue;
        }
        if !in_sh || (pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#'))) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                pending.push_str(part);
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                commands.push(std::mem::take(&mut pending));
            }
        }
    }
    commands
}

/// Inline `defer …` code spans.
fn inline_commands(text: &str) -> Vec<String> {
    let mut spans: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 1 && part.starts_with("defer ") && !spans.iter().any(|s| s == part) {
                spans.push(part.to_string());
            }
        }
    }
    spans
}

/// `ID`, `SERIES_ID`, `S`, `[--all]`: a placeholder the reader fills in.
fn has_placeholder(command: &str) -> bool {
    command.contains('[')
        || command.split_whitespace().any(|w| {
            w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
}

fn sh(env: &Env, bin_dir: &Path, command: &str) -> Run {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command).env_clear().stdin(Stdio::null());
    for (k, v) in &env.vars {
        cmd.env(k, v);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", bin_dir.display()));
    Run::from(cmd.output().expect("sh -c"))
}

#[test]
fn every_command_in_the_skill_file_runs() {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("skills/defer/SKILL.md"))
            .expect("SKILL.md");
    let blocks = block_commands(&text);
    let inline = inline_commands(&text);
    for must in [
        "--every",
        "--cron",
        "every weekday at 9am",
        "--if-late",
        "defer doctor",
        "defer why",
    ] {
        assert!(
            blocks.iter().any(|c| c.contains(must)),
            "no command of the skill shows {must:?}: {blocks:#?}"
        );
    }

    let mut env = Env::new();
    let bin_dir = env.dir.path().join("bin");
    fs::create_dir_all(&bin_dir).expect("bin");
    std::os::unix::fs::symlink(defer_bin(), bin_dir.join("defer")).expect("symlink");
    let table = env.dir.path().join("crontab.txt");
    let crontab = env.script(
        "fake-crontab",
        &format!(
            "f='{}'\ncase \"$1\" in -l) [ -f \"$f\" ] || {{ echo 'no crontab for u' >&2; exit 1; }}; cat \"$f\" ;; -) cat > \"$f\" ;; esac",
            table.display()
        ),
    );
    env.set("DEFER_CRONTAB", crontab.as_os_str());
    // A working setup: the installed line, one wake by cron, the example task.
    env.ok(&["cron", "install"]);
    let wake = env
        .cmd(&["run"])
        .env("DEFER_WAKE_ORIGIN", "cron")
        .output()
        .expect("run");
    assert!(wake.status.success(), "{wake:?}");
    env.ok(&[
        "schedule",
        "--id",
        EXAMPLE_ID,
        "--when",
        "1h",
        "--summary",
        "the example task",
    ]);

    let mut ran = 0;
    for command in &blocks {
        let run = sh(&env, &bin_dir, command);
        assert!(
            run.success(),
            "skill command failed: {command}\ncode {:?}\nstdout: {}\nstderr: {}",
            run.code,
            run.stdout,
            run.stderr
        );
        ran += 1;
    }
    for command in &inline {
        if has_placeholder(command) {
            continue;
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        let run = if words.len() == 2 {
            // A command's name: it must exist.
            sh(&env, &bin_dir, &format!("{command} --help"))
        } else {
            sh(&env, &bin_dir, command)
        };
        assert!(
            run.success(),
            "skill command failed: {command}\ncode {:?}\nstdout: {}\nstderr: {}",
            run.code,
            run.stdout,
            run.stderr
        );
        ran += 1;
    }
    assert!(ran >= 15, "only {ran} commands ran");
}
