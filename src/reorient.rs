//! Reorientation (SPEC §7): rebuild a compact snapshot from a project's CONTEXT.md.
//!
//! A CONTEXT.md is free-form markdown; headings are mapped to a handful of sections through
//! aliases, and each section's lines become items. The snapshot has the same shape as a task's
//! `context`, so it merges straight into a scheduled record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Arg, Error, Result};

/// The snapshot built from a CONTEXT.md (the `context` object of a task).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub summary: String,
    pub key_points: Vec<String>,
    pub artifacts: Vec<String>,
    pub constraints: Vec<String>,
    pub reoriented_from: String,
}

/// Where to look for the file.
#[derive(Debug, Clone, Default)]
pub struct Lookup<'a> {
    pub context_file: Option<&'a Path>,
    pub project: Option<&'a str>,
}

const PREAMBLE: &str = "__preamble__";

/// Heading aliases → section keys.
fn section_key(heading: &str) -> &str {
    match heading {
        "orientation" | "what this is" | "overview" => "orientation",
        "current state" | "state" | "status" => "current_state",
        "key constraints" | "constraints" | "key context" => "key_constraints",
        "open questions" | "questions" => "open_questions",
        "what we should not do" | "anti patterns" => "anti_patterns",
        "decisions already made" | "decisions" => "decisions",
        "key references" | "references" => "references",
        other => other,
    }
}

/// Trimmed, trailing `:` dropped, lower-cased, runs of whitespace collapsed.
fn normalize_heading(raw: &str) -> String {
    let trimmed = raw.trim().trim_matches(':');
    trimmed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `# Heading` with up to three leading spaces and one to six `#`, then space.
fn heading(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let after = &rest[hashes..];
    if after.starts_with([' ', '\t']) && !after.trim().is_empty() {
        Some(after.trim_start())
    } else {
        None
    }
}

/// Splits markdown into sections of item lines (markers removed).
pub fn parse_sections(text: &str) -> HashMap<String, Vec<String>> {
    let mut sections: HashMap<String, Vec<String>> = HashMap::new();
    let mut current = PREAMBLE.to_string();
    for line in text.lines() {
        if let Some(title) = heading(line) {
            current = section_key(&normalize_heading(title)).to_string();
            continue;
        }
        let item = strip_marker(line.trim());
        if !item.is_empty() {
            sections
                .entry(current.clone())
                .or_default()
                .push(item.to_string());
        }
    }
    sections
}

/// Removes a leading `-`, `*`, `+` or `N.` list marker (followed by whitespace).
fn strip_marker(line: &str) -> &str {
    let after_bullet = line
        .strip_prefix(['-', '*', '+'])
        .filter(|rest| rest.starts_with(char::is_whitespace));
    if let Some(rest) = after_bullet {
        return rest.trim();
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0
        && let Some(rest) = line[digits..].strip_prefix('.')
        && rest.starts_with(char::is_whitespace)
    {
        return rest.trim();
    }
    line
}

/// Builds the snapshot from the text of `file`.
pub fn snapshot_from_text(text: &str, file: &Path) -> Snapshot {
    let mut sections = parse_sections(text);
    let mut take = |key: &str| sections.remove(key).unwrap_or_default();
    let orientation = take("orientation");
    let preamble = take(PREAMBLE);
    let current_state = take("current_state");
    let open_questions = take("open_questions");
    let references = take("references");
    let key_constraints = take("key_constraints");
    let decisions = take("decisions");
    let anti_patterns = take("anti_patterns");

    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "CONTEXT.md".into());
    let summary = orientation
        .first()
        .or(preamble.first())
        .cloned()
        .unwrap_or_else(|| format!("Reoriented from {file_name}"));

    let mut key_points = current_state;
    if key_points.is_empty() {
        key_points.push("Context re-read from CONTEXT.md".to_string());
    }
    key_points.extend(open_questions.iter().map(|q| format!("Open question: {q}")));

    let mut constraints = key_constraints;
    constraints.extend(decisions.iter().map(|d| format!("Decision: {d}")));
    constraints.extend(anti_patterns.iter().map(|a| format!("Avoid: {a}")));

    Snapshot {
        summary,
        key_points,
        artifacts: references,
        constraints,
        reoriented_from: file.display().to_string(),
    }
}

/// Finds the CONTEXT.md to use, by the lookup chain of SPEC §7.
pub fn resolve(config: &Config, lookup: &Lookup<'_>) -> Result<PathBuf> {
    if let Some(path) = lookup.context_file {
        let path = expand_home(path, &config.home);
        return match file_problem(&path) {
            None => Ok(path),
            Some(problem) => Err(Error::invalid_arg(
                Arg::ContextFile,
                path.display().to_string(),
                problem,
                None,
            )),
        };
    }
    if let Some(project) = lookup.project {
        if project.is_empty() || project.contains('/') || project == ".." || project == "." {
            return Err(Error::invalid_arg(
                Arg::Project,
                project,
                format!(
                    "not a project name: give the name of a directory under {}",
                    config.projects_dir.display()
                ),
                None,
            ));
        }
        let path = config.projects_dir.join(project).join("CONTEXT.md");
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::Context(format!(
                "context file not found for project {project:?}: {} (set DEFER_PROJECTS_DIR or \
                 create the file)",
                path.display()
            )))
        };
    }
    if let Some(path) = &config.context_file {
        return match file_problem(path) {
            None => Ok(path.clone()),
            Some(problem) => Err(Error::Context(format!(
                "DEFER_CONTEXT_FILE {}: {problem}",
                crate::output::escape(&path.display().to_string())
            ))),
        };
    }
    let mut looked = Vec::new();
    if let Some(newest) = newest_project_context(&config.projects_dir) {
        return Ok(newest);
    }
    looked.push(format!("{}/*/CONTEXT.md", config.projects_dir.display()));
    let research = config.home.join("data/research/CONTEXT.md");
    if research.is_file() {
        return Ok(research);
    }
    looked.push(research.display().to_string());
    let cwd = PathBuf::from("CONTEXT.md");
    if cwd.is_file() {
        return Ok(std::env::current_dir()
            .map(|d| d.join("CONTEXT.md"))
            .unwrap_or(cwd));
    }
    looked.push("./CONTEXT.md".to_string());
    Err(Error::Context(format!(
        "no CONTEXT.md found (looked in DEFER_CONTEXT_FILE (unset), {}); name a context file \
         or a project",
        looked.join(", ")
    )))
}

/// Why `path` cannot be a context file: missing, or not a regular file (a FIFO would block
/// the read, `/dev/zero` would never end). `None` when it is a regular file.
fn file_problem(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) => crate::fsutil::not_regular(&meta)
            .map(|kind| format!("is {kind}, not a regular file; give a CONTEXT.md file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("no such file".into()),
        Err(e) => Some(format!("cannot be read ({e})")),
    }
}

/// Reads the file chosen by `lookup` and builds its snapshot.
pub fn build(config: &Config, lookup: &Lookup<'_>) -> Result<Snapshot> {
    let path = resolve(config, lookup)?;
    // Opened as a regular file only, so a file swapped for a FIFO after `resolve` is refused.
    let bytes = crate::fsutil::read_or_empty(&path)?;
    // Invalid UTF-8 is replaced rather than refused: the snapshot is advisory text.
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(snapshot_from_text(text, &path))
}

fn newest_project_context(projects_dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(projects_dir).ok()?;
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("CONTEXT.md"))
        .filter_map(|p| {
            let modified = p.metadata().ok().filter(|m| m.is_file())?.modified().ok()?;
            Some((modified, p))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
        .map(|(_, p)| p)
}

fn expand_home(path: &Path, home: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Intro line before any heading.

# What this is:
- Agent-defer Rust port
- second line

## Current  State
* builds green
+ tests pending

### Open Questions
1. Should we use PostgreSQL?

#### Key Context
- No daemons

## Decisions Already Made
- JSONL is the default store

## What We Should NOT Do
- Hold state in memory

## Key References:
- /abs/docs/SPEC.md

## Unrelated
- ignored item
";

    #[test]
    fn sections_map_through_aliases() {
        let snap = snapshot_from_text(SAMPLE, Path::new("/p/CONTEXT.md"));
        assert_eq!(snap.summary, "Agent-defer Rust port");
        assert_eq!(
            snap.key_points,
            vec![
                "builds green",
                "tests pending",
                "Open question: Should we use PostgreSQL?"
            ]
        );
        assert_eq!(snap.artifacts, vec!["/abs/docs/SPEC.md"]);
        assert_eq!(
            snap.constraints,
            vec![
                "No daemons",
                "Decision: JSONL is the default store",
                "Avoid: Hold state in memory"
            ]
        );
        assert_eq!(snap.reoriented_from, "/p/CONTEXT.md");
    }

    #[test]
    fn fallbacks_apply_when_sections_are_missing() {
        let snap = snapshot_from_text("just a preamble\n", Path::new("/x/CONTEXT.md"));
        assert_eq!(snap.summary, "just a preamble");
        assert_eq!(snap.key_points, vec!["Context re-read from CONTEXT.md"]);
        let snap = snapshot_from_text("# Unrelated\n- x\n", Path::new("/x/NOTES.md"));
        assert_eq!(snap.summary, "Reoriented from NOTES.md");
    }

    #[test]
    fn markers_need_a_following_space() {
        assert_eq!(strip_marker("- item"), "item");
        assert_eq!(strip_marker("12. item"), "item");
        assert_eq!(strip_marker("-item"), "-item");
        assert_eq!(strip_marker("3.14 is pi"), "3.14 is pi");
        assert_eq!(heading("#nospace"), None);
        assert_eq!(heading("    # indented code"), None);
        assert_eq!(heading("####### seven"), None);
    }
}
