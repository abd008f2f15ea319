//! The one form of time a record holds.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant written as `YYYY-MM-DDTHH:MM:SSZ`, the only form the reference writes.
///
/// Reading accepts any RFC 3339 instant (a hand-edited `+02:00` offset still means the same
/// instant); sub-second parts are dropped when writing, as the reference never has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub Timestamp);

impl Stamp {
    /// Parses an RFC 3339 instant.
    pub fn parse(text: &str) -> Option<Stamp> {
        text.parse::<Timestamp>().ok().map(Stamp)
    }

    /// The instant.
    pub fn timestamp(self) -> Timestamp {
        self.0
    }
}

impl From<Timestamp> for Stamp {
    fn from(ts: Timestamp) -> Stamp {
        Stamp(ts)
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Stamp, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Stamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a UTC stamp like 2026-04-08T17:05:00Z"
            ))
        })
    }
}
