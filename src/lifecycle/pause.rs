//! Pausing: while a pause is in force, runners claim nothing. One record per store (a file
//! beside the JSONL store, a row in PostgreSQL), so every runner of that store sees it.

use jiff::Timestamp;

use crate::record::Stamp;

/// A pause in force, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Pause {
    /// When it was asked for.
    pub since: Stamp,
    /// When it ends by itself; `None` until `defer resume`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Stamp>,
}

impl Pause {
    /// Whether runners must claim nothing at `now`: a pause whose `until` has passed is over,
    /// so tasks that fell due meanwhile run at the next wake, under their missed-run policy
    /// as after any downtime.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| now < until.timestamp())
    }
}

/// The pause that holds at `now`, if any.
pub fn in_force(pause: Option<&Pause>, now: Timestamp) -> Option<&Pause> {
    pause.filter(|p| p.in_force(now))
}

/// The rule every claim path asks (a cron wake, a watcher's pass and its refills, `run --id`,
/// `serve --run`, on every store): nothing may be claimed while a pause holds. Stores read the
/// pause under the same lock (or in the same transaction) as the claim, so a claim that
/// starts after `defer pause` returned sees it.
pub fn may_claim(pause: Option<&Pause>, now: Timestamp) -> crate::error::Result<()> {
    match in_force(pause, now) {
        Some(pause) => Err(crate::error::Error::Paused {
            pause: pause.clone(),
        }),
        None => Ok(()),
    }
}

/// `runners are paused since … until …` (UTC stamps, as stored).
pub fn describe(pause: &Pause) -> String {
    match pause.until {
        Some(until) => format!(
            "runners of this store are paused since {} until {until}",
            pause.since
        ),
        None => format!(
            "runners of this store are paused since {} until `defer resume`",
            pause.since
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_holds_until_its_end() {
        let at = |s: &str| s.parse::<Timestamp>().expect("ts");
        let open = Pause {
            since: Stamp(at("2026-04-08T16:00:00Z")),
            until: None,
        };
        assert!(open.in_force(at("2030-01-01T00:00:00Z")));
        let bounded = Pause {
            until: Some(Stamp(at("2026-04-08T18:00:00Z"))),
            ..open
        };
        assert!(bounded.in_force(at("2026-04-08T17:59:59Z")));
        assert!(!bounded.in_force(at("2026-04-08T18:00:00Z")));
        assert!(in_force(Some(&bounded), at("2026-04-09T00:00:00Z")).is_none());
    }
}
