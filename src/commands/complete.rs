//! Task-id completion for the shell scripts `defer completions` prints: the script calls
//! `defer` back (`COMPLETE=<shell> defer -- <words>`), clap_complete's engine parses the words,
//! and for an id argument asks one of these functions for candidates. Not a command.
//!
//! A completion must never get in the way: any problem (no configuration, an unreadable store,
//! a database that does not answer) gives no candidates rather than an error.

use std::ffi::OsStr;

use clap_complete::engine::CompletionCandidate;
use serde_json::Value;

use crate::config::Config;
use crate::output;
use crate::record::Status;
use crate::store::{self, Query};

/// The longest summary shown beside a candidate (zsh and fish show it).
const HELP_CHARS: usize = 60;

/// Ids in the active store (`cancel`, `reschedule`, `run --id`).
pub fn active_id(current: &OsStr) -> Vec<CompletionCandidate> {
    ids(
        current,
        &Query {
            statuses: vec![Status::Scheduled, Status::Executing],
            include_archive: false,
            ..Query::default()
        },
    )
}

/// Ids in the active store and the archives (`show`, `logs`, `retry`, `why`).
pub fn any_id(current: &OsStr) -> Vec<CompletionCandidate> {
    ids(
        current,
        &Query {
            statuses: Vec::new(),
            include_archive: true,
            ..Query::default()
        },
    )
}

fn ids(current: &OsStr, query: &Query) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    let Ok(config) = Config::from_env() else {
        return Vec::new();
    };
    if config.check_permissions().is_err() {
        return Vec::new();
    }
    let Ok(store) = store::open(&config) else {
        return Vec::new();
    };
    let mut out: Vec<CompletionCandidate> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let _ = store.list(query, &mut |bytes| {
        let Ok(record) = serde_json::from_slice::<Value>(bytes) else {
            return Ok(());
        };
        let Some(id) = record.get("id").and_then(Value::as_str) else {
            return Ok(());
        };
        if !id.starts_with(&*prefix) || crate::record::validate_id(id).is_err() {
            return Ok(());
        }
        if seen.insert(id.to_string()) {
            let summary = record
                .pointer("/context/summary")
                .and_then(Value::as_str)
                .unwrap_or("");
            let mut help: String = output::escape(summary).chars().take(HELP_CHARS).collect();
            if let Some(status) = record.get("status").and_then(Value::as_str) {
                help = format!("[{}] {help}", output::escape(status));
            }
            out.push(CompletionCandidate::new(id).help(Some(help.into())));
        }
        Ok(())
    });
    out
}
