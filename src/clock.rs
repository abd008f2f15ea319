//! One clock for the whole program: the real time or `DEFER_NOW`, and the user's zone.
//!
//! Every "now" goes through here so that a test (or a user asking "what would run at 9am?")
//! can pin it, and so that time expressions, stamps and due checks never disagree.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};

/// The current instant (real or pinned) and the zone time expressions are read in.
#[derive(Debug, Clone)]
pub struct Clock {
    zone: TimeZone,
    fixed: Option<Timestamp>,
}

impl Clock {
    /// A clock in `zone`; `fixed` pins "now" (from `DEFER_NOW`).
    pub fn new(zone: TimeZone, fixed: Option<Timestamp>) -> Clock {
        Clock { zone, fixed }
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        self.fixed.unwrap_or_else(Timestamp::now)
    }

    /// The current instant in the user's zone.
    pub fn now_zoned(&self) -> Zoned {
        self.now().to_zoned_datetime(self.zone.clone())
    }

    /// The user's zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The zone's IANA name where known (`America/New_York`), else its rule or `UTC`.
    pub fn zone_name(&self) -> String {
        match self.zone.iana_name() {
            Some(name) => name.to_string(),
            None => {
                let offset = self.zone.to_offset(self.now());
                if offset.seconds() == 0 {
                    "UTC".to_string()
                } else {
                    offset.to_string()
                }
            }
        }
    }

    /// `at` in the user's zone: `Wed 2026-04-08 12:35 EDT`.
    pub fn local(&self, at: Timestamp) -> String {
        crate::when::local_time(&at.to_zoned_datetime(self.zone.clone()))
    }

    /// `at` in the user's zone and how far from now: `Fri 2026-11-27 09:00 EST, in 22h 59m`
    /// (every confirmation line, `doctor`, `why`, the API and MCP say a time this way).
    pub fn describe(&self, at: Timestamp) -> String {
        crate::when::describe(&at.to_zoned_datetime(self.zone.clone()), &self.now_zoned())
    }

    /// How far `at` is from now: `in 2h 5m`, `3m ago`, `now`.
    pub fn distance(&self, at: Timestamp) -> String {
        crate::when::distance(at.duration_since(self.now()).as_secs())
    }

    /// [`Clock::distance`] in at most two units, and days alone past a week (`in 16h 25m`,
    /// `in 2d 23h`, `in 271d`): a table column stays narrow, the exact time is beside it.
    pub fn distance_brief(&self, at: Timestamp) -> String {
        let secs = at.duration_since(self.now()).as_secs();
        let a = secs.unsigned_abs();
        let (d, h, m) = (a / 86_400, a % 86_400 / 3600, a % 3600 / 60);
        let span = match (d, h, m) {
            (0, 0, 0) if a < 60 && a > 0 => format!("{a}s"),
            (0, 0, 0) => return "now".to_string(),
            (0, 0, m) => format!("{m}m"),
            (0, h, 0) => format!("{h}h"),
            (0, h, m) => format!("{h}h {m}m"),
            (d, _, _) if d >= 7 => format!("{d}d"),
            (d, 0, _) => format!("{d}d"),
            (d, h, _) => format!("{d}d {h}h"),
        };
        if secs > 0 {
            format!("in {span}")
        } else {
            format!("{span} ago")
        }
    }

    /// Whether "now" is pinned by `DEFER_NOW`.
    pub fn is_fixed(&self) -> bool {
        self.fixed.is_some()
    }
}
