//! One page of a listing: what `defer serve` shows (the JSON API and the dashboard's Tasks
//! page). A page is defined on the order `list` gives (archives oldest month first, then the
//! active store, each in the order tasks were written), so every store pages alike;
//! [`by_listing`] computes it from [`Store::list`], and a database overrides it with queries
//! that never move the other records.

use serde_json::Value;

use super::{Problem, Query, Store};
use crate::error::{Error, Result};

/// Which page to find.
#[derive(Debug, Clone, Default)]
pub struct PageAsk {
    /// Only records whose id or summary contains this (lowercased, non-empty) text.
    pub text: Option<String>,
    /// Start after the record with this id (the last one of the previous page), or at this
    /// index when that record no longer matches (it was archived or cancelled meanwhile).
    pub after: Option<(usize, String)>,
    /// At most this many records.
    pub limit: usize,
}

/// How many matches a database counts, per part of the listing, for a listing's first page:
/// counting a million rows takes longer than the page itself (BENCHMARKS.md, "A million
/// tasks"), and a person reading the first page needs to know there are many, not how many.
pub const COUNT_CAP: usize = 10_000;

/// A page found.
#[derive(Debug, Default)]
pub struct PageFound {
    /// The page's records, each one stored line.
    pub lines: Vec<Vec<u8>>,
    /// How many records match in all (at least, with `total_capped`).
    pub total: usize,
    /// `total` stopped counting at [`COUNT_CAP`] in some part: more records match.
    pub total_capped: bool,
    /// The index of the page's first record among all that match.
    pub start: usize,
    /// More records follow this page.
    pub more: bool,
    /// Lines of the store that are not records (as `list` reports them).
    pub problems: Vec<Problem>,
}

impl PageAsk {
    /// `text` as matched: trimmed, lowercased, `None` when empty.
    pub fn with_text(mut self, text: Option<&str>) -> PageAsk {
        self.text = text
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
        self
    }
}

/// Whether a record's id or summary contains `needle` (already lowercased).
pub fn matches_text(record: &Value, needle: &str) -> bool {
    let id = record.get("id");
    let summary = record.get("context").and_then(|c| c.get("summary"));
    [id, summary].into_iter().flatten().any(|v| {
        v.as_str()
            .is_some_and(|v| v.to_lowercase().contains(needle))
    })
}

/// The page, computed by streaming the whole listing: every record is looked at once (to
/// count them), and only the page's are kept.
pub fn by_listing<S: Store + ?Sized>(store: &S, query: &Query, ask: &PageAsk) -> Result<PageFound> {
    let (offset, after) = match &ask.after {
        Some((offset, id)) => (*offset, Some(id.as_str())),
        None => (0, None),
    };
    let mut found = PageFound::default();
    let mut index = 0usize;
    let mut started = after.is_none();
    let problems = store.list(query, &mut |line| {
        // A cheap look first: a search parses the record, the rest only the id when needed.
        let mut parsed = None;
        if let Some(needle) = &ask.text {
            let record = parse(line)?;
            if !matches_text(&record, needle) {
                return Ok(());
            }
            parsed = Some(record);
        }
        let i = index;
        index += 1;
        if let Some(after) = after {
            // The record last shown: start right after it (again, if it moved).
            if line_id(line, parsed.as_ref()).as_deref() == Some(after) {
                started = true;
                found.start = i + 1;
                found.lines.clear();
                found.more = false;
                return Ok(());
            }
            if !started && i >= offset {
                started = true;
                found.start = i;
            }
        }
        if !started {
            return Ok(());
        }
        if found.lines.len() < ask.limit {
            found.lines.push(line.to_vec());
        } else {
            found.more = true;
        }
        Ok(())
    })?;
    found.total = index;
    found.problems = problems;
    Ok(found)
}

fn parse(line: &[u8]) -> Result<Value> {
    serde_json::from_slice(line).map_err(|source| Error::Json {
        what: "a stored record".into(),
        source,
    })
}

/// The id of a stored line, without parsing the rest when it is not parsed already.
fn line_id(line: &[u8], parsed: Option<&Value>) -> Option<String> {
    if let Some(record) = parsed {
        return record.get("id").and_then(Value::as_str).map(String::from);
    }
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_slice::<Id>(line).ok().map(|r| r.id)
}
