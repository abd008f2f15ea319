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

    /// Whether "now" is pinned by `DEFER_NOW`.
    pub fn is_fixed(&self) -> bool {
        self.fixed.is_some()
    }
}
