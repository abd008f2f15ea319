//! Ids a person can type. A generated id is 35 characters
//! (`task_20261207_143547_18303_divlxddf`); its random tail is what tells tasks apart, so the
//! command line takes any unique tail (or head) of at least [`MIN_TYPED`] characters, and the
//! terminal views show the shortest unique tail of at least [`MIN_SHOWN`]. An exact id always
//! wins, and a fragment two ids share is refused naming both, so a shortened id never picks
//! the wrong task. The API and MCP take whole ids only: programs copy, people type.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::record::validate_id;
use crate::store::Store;

/// The shortest fragment looked up; anything shorter must be a whole id.
pub const MIN_TYPED: usize = 4;

/// The shortest tail a view shows for an id it shortens.
pub const MIN_SHOWN: usize = 6;

/// Ids this short are shown whole: a name someone chose (`weekly-report`) reads better than
/// its tail.
pub const SHOWN_WHOLE: usize = 14;

/// Which tasks a command can act on, so a fragment is looked up only among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Scheduled and executing tasks, and finished ones not yet archived (`cancel`,
    /// `reschedule`, `run --id`).
    Active,
    /// The archives too (`show`, `logs`, `retry`, `why`).
    Any,
}

/// The whole id `typed` stands for: the one task whose id ends or starts with it, when it is
/// not a task's whole id itself (an exact id always wins) and is at least [`MIN_TYPED`]
/// characters. Anything else is passed on as typed, so the operation reports an unknown id (or
/// an archived one it does not apply to) in its own words, from its own atomic look at the
/// store. Ambiguous: refused naming the candidates.
pub fn resolve(store: &dyn Store, typed: &str, scope: Scope) -> Result<String> {
    validate_id(typed)?;
    if typed.chars().count() < MIN_TYPED {
        return Ok(typed.to_string());
    }
    let found = store.ids_matching(typed, scope == Scope::Any)?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Ok(typed.to_string()),
        many if many.iter().any(|id| id == typed) => Ok(typed.to_string()),
        many => Err(Error::AmbiguousId {
            typed: typed.to_string(),
            matches: many.iter().take(5).cloned().collect(),
            more: many.len().saturating_sub(5),
        }),
    }
}

/// The shortest tail of `id`, at least [`MIN_SHOWN`] characters, that no other id of `among`
/// ends with and that no id starts with — what [`resolve`] takes back to `id`. The whole id
/// when it is at most [`SHOWN_WHOLE`] characters, or when no tail is unique.
pub fn shortest_tail<'a>(id: &'a str, among: &HashSet<&str>) -> &'a str {
    let chars: Vec<(usize, char)> = id.char_indices().collect();
    if chars.len() <= SHOWN_WHOLE {
        return id;
    }
    for len in MIN_SHOWN..chars.len() {
        let tail = &id[chars[chars.len() - len].0..];
        let clash = among
            .iter()
            .any(|other| *other != id && (other.ends_with(tail) || other.starts_with(tail)));
        if !clash {
            return tail;
        }
    }
    id
}

/// `id` as a person would type it: [`shortest_tail`] among every id of the store.
pub fn short_id(store: &dyn Store, id: &str) -> Result<String> {
    let all = store.ids_matching("", true)?;
    let among: HashSet<&str> = all.iter().map(String::as_str).collect();
    Ok(shortest_tail(id, &among).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_unique_tail_is_at_least_six_characters() {
        let ids = [
            "task_20261207_143547_18303_divlxddf",
            "task_20261207_143547_18304_abvlxddf",
            "c1",
        ];
        let among: HashSet<&str> = ids.into_iter().collect();
        assert_eq!(shortest_tail(ids[0], &among), "ivlxddf");
        assert_eq!(shortest_tail(ids[1], &among), "bvlxddf");
        assert_eq!(shortest_tail("c1", &among), "c1");
        // A tail that is another id's head is not unique either.
        assert_eq!(shortest_tail("weekly-report", &among), "weekly-report");
        let among: HashSet<&str> = ["cdefgh-long-one", "zz-long-abcdefgh"]
            .into_iter()
            .collect();
        assert_eq!(shortest_tail("zz-long-abcdefgh", &among), "bcdefgh");
    }
}
