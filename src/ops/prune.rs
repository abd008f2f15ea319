//! `prune`: what a long-lived runtime directory accumulates and nobody reads again — prompt
//! artifacts, full executor outputs, old archive months, the rotated audit log — deleted once
//! older than a cutoff. A plan first (what, how big), then its deletion, so every front end
//! can show the plan before anything goes.
//!
//! Kept whatever their age: the files of a task still `scheduled` or `executing` (a retry or a
//! recurring task's next run may want them), the active store, the live audit log, the wake
//! record and the locks. An archive month goes only when the whole month lies before the
//! cutoff (months are UTC, as the archive sweep files them). Archived rows of a PostgreSQL
//! store are not touched: this prunes files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jiff::{Timestamp, ToSpan};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::ops::wire::null_as_false;
use crate::record::Status;
use crate::runner::files::TaskFile;
use crate::store::{Query, Store};

/// Delete what nobody reads again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PruneRequest {
    /// Older than this: a duration ago ("90d", "6 months") or a past time ("2026-01-01").
    pub before: String,
    /// Delete them (without it, only say what would be deleted).
    #[serde(default, deserialize_with = "null_as_false")]
    pub yes: bool,
}

/// What was (or would be) deleted.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PruneReply {
    /// The cutoff, UTC.
    pub before: crate::record::Stamp,
    pub files: Vec<Prunable>,
    /// Their size in bytes.
    pub bytes: u64,
    /// Old files kept because their task is still scheduled or executing.
    pub kept_active: usize,
    /// How many were deleted (0 without `yes`).
    pub deleted: usize,
}

/// The plan for `req.before`, carried out when `req.yes`.
pub fn prune(config: &Config, store: &dyn Store, req: &PruneRequest) -> Result<PruneReply> {
    let before = cutoff(config, &req.before)?;
    let plan = plan(config, store, before)?;
    let deleted = if req.yes {
        apply(config, store, &plan)?
    } else {
        0
    };
    Ok(PruneReply {
        before: crate::record::Stamp(plan.before),
        bytes: plan.bytes(),
        kept_active: plan.kept_active,
        deleted,
        files: plan.files,
    })
}

/// What a file is, for the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Prompt,
    Output,
    ArchiveMonth,
    RotatedLog,
}

/// One file the plan would delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Prunable {
    pub path: PathBuf,
    pub kind: Kind,
    pub bytes: u64,
    /// The task a prompt or output file belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

/// Everything older than `before`, oldest kinds first.
#[derive(Debug, Clone)]
pub struct Plan {
    pub before: Timestamp,
    pub files: Vec<Prunable>,
    /// Old files kept because their task is still scheduled or executing.
    pub kept_active: usize,
}

impl Plan {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The cutoff `--before EXPR` means ([`super::past_time`]).
pub fn cutoff(config: &Config, expr: &str) -> Result<Timestamp> {
    super::past_time(config, expr, Arg::Before)
}

/// The files older than `before`.
pub fn plan(config: &Config, store: &dyn Store, before: Timestamp) -> Result<Plan> {
    let active = active_ids(store)?;

    let mut plan = Plan {
        before,
        files: Vec::new(),
        kept_active: 0,
    };
    for (path, name) in entries(&config.log_dir)? {
        let (id, kind) = match crate::runner::files::task_file(&name) {
            Some(TaskFile::Prompt { id }) => (id, Kind::Prompt),
            Some(TaskFile::Output { id }) => (id, Kind::Output),
            None => continue,
        };
        let Some(bytes) = older(&path, before) else {
            continue;
        };
        if active.contains(&id) {
            plan.kept_active += 1;
            continue;
        }
        plan.files.push(Prunable {
            path,
            kind,
            bytes,
            task: Some(id),
        });
    }
    for (path, name) in entries(&config.archive_dir)? {
        let Some(month_end) = archive_month_end(&name) else {
            continue;
        };
        if month_end <= before {
            let bytes = std::fs::symlink_metadata(&path).map_or(0, |m| m.len());
            plan.files.push(Prunable {
                path,
                kind: Kind::ArchiveMonth,
                bytes,
                task: None,
            });
        }
    }
    let rotated = crate::audit::rotated_path(&config.log_file);
    if let Some(bytes) = older(&rotated, before) {
        plan.files.push(Prunable {
            path: rotated,
            kind: Kind::RotatedLog,
            bytes,
            task: None,
        });
    }
    Ok(plan)
}

/// Deletes the plan's files; one already gone is not an error. Returns how many went.
///
/// The plan was made a moment ago, and a task may have come back meanwhile (a `retry`, a
/// runner writing a fresh prompt): each file is looked at again just before it goes. A task's
/// file goes only while the task is still not scheduled or executing (the active tasks are read
/// again first) and the file is still older than the cutoff (a fresh prompt is not).
pub fn apply(config: &Config, store: &dyn Store, plan: &Plan) -> Result<usize> {
    let active = active_ids(store)?;
    let mut deleted = 0;
    for file in &plan.files {
        if let Some(id) = &file.task
            && (active.contains(id) || older(&file.path, plan.before).is_none())
        {
            continue;
        }
        match std::fs::remove_file(&file.path) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("deleting", &file.path)(e)),
        }
    }
    crate::audit::log(
        &config.log_file,
        config.clock.now(),
        "pruned",
        &[
            ("files", &deleted.to_string()),
            ("before", &crate::record::Stamp(plan.before).to_string()),
        ],
    );
    Ok(deleted)
}

/// The ids of the tasks that are scheduled or executing now.
fn active_ids(store: &dyn Store) -> Result<HashSet<String>> {
    let mut active = HashSet::new();
    let query = Query {
        statuses: vec![Status::Scheduled, Status::Executing],
        include_archive: false,
        ..Query::default()
    };
    store.list(&query, &mut |bytes| {
        #[derive(serde::Deserialize)]
        struct Id {
            id: String,
        }
        if let Ok(task) = serde_json::from_slice::<Id>(bytes) {
            active.insert(task.id);
        }
        Ok(())
    })?;
    Ok(active)
}

/// The plain files of `dir` with UTF-8 names; none when it does not exist.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", dir)(e)),
    };
    let mut files: Vec<(PathBuf, String)> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            Some((e.path(), name))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The size of a plain file last modified before `before`.
fn older(path: &Path, before: Timestamp) -> Option<u64> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let modified = meta.modified().ok()?;
    let cutoff = SystemTime::try_from(before).ok()?;
    (modified < cutoff).then_some(meta.len())
}

/// `deferred_YYYYMM.jsonl` → the first instant (UTC) after that month.
fn archive_month_end(name: &str) -> Option<Timestamp> {
    let month = name.strip_prefix("deferred_")?.strip_suffix(".jsonl")?;
    if month.len() != 6 || !month.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i16 = month[..4].parse().ok()?;
    let m: i8 = month[4..].parse().ok()?;
    let start = jiff::civil::Date::new(year, m, 1).ok()?;
    let end = start.checked_add(1.month()).ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(end.to_datetime(jiff::civil::Time::midnight()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_months_end_at_the_next_month_utc() {
        assert_eq!(
            archive_month_end("deferred_202612.jsonl").map(|t| t.to_string()),
            Some("2027-01-01T00:00:00Z".to_string())
        );
        assert_eq!(
            archive_month_end("deferred_202602.jsonl").map(|t| t.to_string()),
            Some("2026-03-01T00:00:00Z".to_string())
        );
        for bad in [
            "deferred_202613.jsonl",
            "deferred_2026.jsonl",
            "other.jsonl",
        ] {
            assert_eq!(archive_month_end(bad), None, "{bad}");
        }
    }

    use std::ffi::OsString;

    use crate::ops::retry::{RetryRequest, retry};
    use crate::record::Task;

    fn failed_task(id: &str) -> Task {
        let text = include_str!("../../tests/data/reference_store.jsonl");
        let mut task: Task =
            serde_json::from_str(text.lines().next().expect("a line")).expect("a record");
        task.id = id.to_string();
        task.status = Status::Failed;
        task
    }

    /// A failed task with a prompt from long ago, in a fresh runtime directory.
    fn setup(dir: &Path) -> (Config, Box<dyn Store>, PathBuf) {
        let vars = [
            ("HOME", dir.as_os_str().to_owned()),
            ("DEFER_RUNTIME_DIR", dir.join("runtime").into_os_string()),
            ("DEFER_NOW", OsString::from("2026-12-07T12:00:00Z")),
            ("DEFER_TIMEZONE", OsString::from("UTC")),
        ];
        let config = Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .expect("config");
        std::fs::create_dir_all(&config.log_dir).expect("log dir");
        let store = crate::store::open(&config).expect("store");
        store.insert(&failed_task("t1"), true).expect("insert");
        let prompt = crate::runner::prompt_path(&config, "t1");
        let file = std::fs::File::create(&prompt).expect("prompt");
        file.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000))
            .expect("age it");
        (config, store, prompt)
    }

    #[test]
    fn a_task_retried_between_the_plan_and_the_deletion_keeps_its_prompt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (config, store, prompt) = setup(dir.path());
        let before = cutoff(&config, "90d").expect("cutoff");
        let plan = plan(&config, &*store, before).expect("plan");
        assert!(
            plan.files.iter().any(|f| f.path == prompt),
            "the old prompt of a failed task is in the plan: {plan:?}"
        );
        retry(
            &config,
            &*store,
            &RetryRequest {
                id: "t1".into(),
                when: None,
            },
        )
        .expect("retry");
        assert_eq!(apply(&config, &*store, &plan).expect("apply"), 0);
        assert!(prompt.exists(), "the retried task's prompt was deleted");
    }

    #[test]
    fn a_prompt_written_again_after_the_plan_is_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (config, store, prompt) = setup(dir.path());
        let before = cutoff(&config, "90d").expect("cutoff");
        let plan = plan(&config, &*store, before).expect("plan");
        std::fs::write(&prompt, "fresh").expect("rewrite");
        assert_eq!(apply(&config, &*store, &plan).expect("apply"), 0);
        assert!(prompt.exists());
    }

    #[test]
    fn an_untouched_plan_deletes_the_old_prompt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (config, store, prompt) = setup(dir.path());
        let before = cutoff(&config, "90d").expect("cutoff");
        let plan = plan(&config, &*store, before).expect("plan");
        assert_eq!(apply(&config, &*store, &plan).expect("apply"), 1);
        assert!(!prompt.exists());
    }
}
