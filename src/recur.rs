//! Recurring tasks: the rule of a series and the times it gives.
//!
//! A series is a chain of ordinary task records. When one occurrence finishes (whatever its
//! outcome), the next is written as a new record. Its time comes from the rule and the
//! previous occurrence's *scheduled* time — never from when the previous one happened to
//! finish — so a series does not drift. Rules are evaluated in the user's zone, so a daily
//! `0 9 * * *` stays at 09:00 local across DST changes.
//!
//! Two rule kinds:
//! - `every <duration>` (`--every 1d`, `--every 2h`): days and weeks are calendar days (same
//!   wall-clock time), hours and minutes elapsed time, as everywhere in `defer`.
//! - `cron <m h dom mon dow>` (`--cron "0 9 * * 1-5"`): standard five-field cron, evaluated by
//!   the `croner` crate: a time skipped by a DST gap runs once, just after the gap; a time
//!   repeated by a fold runs once.

use std::str::FromStr;

use jiff::{Timestamp, ZonedDateTime};

use crate::error::{Arg, Error, Result};
use crate::when::{self, Interval};

/// Caps catch-up arithmetic, so a tiny interval after a long sleep cannot loop for long.
const MAX_STEPS: u32 = 1_000_000;

/// A parsed repeat rule.
#[derive(Debug, Clone)]
pub enum Rule {
    Every {
        interval: Interval,
        text: String,
    },
    Cron {
        cron: Box<croner::Cron>,
        text: String,
    },
}

impl Rule {
    /// `--every DURATION`.
    pub fn every(text: &str) -> Result<Rule> {
        let interval = when::parse_interval(text)
            .map_err(|e| Error::invalid_arg(Arg::Every, text, e.to_string(), Some("1d")))?;
        Ok(Rule::Every {
            interval,
            text: text.trim().to_string(),
        })
    }

    /// `--cron "m h dom mon dow"`.
    pub fn cron(text: &str) -> Result<Rule> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.split(' ').count() != 5 {
            return Err(Error::invalid_arg(
                Arg::Cron,
                text,
                "needs five fields: minute hour day-of-month month day-of-week",
                Some("0 9 * * 1-5"),
            ));
        }
        let cron = croner::Cron::from_str(&text).map_err(|e| {
            Error::invalid_arg(
                Arg::Cron,
                text.clone(),
                format!("not a cron expression: {e}"),
                Some("0 9 * * *"),
            )
        })?;
        Ok(Rule::Cron {
            cron: Box::new(cron),
            text,
        })
    }

    /// The rule as stored in a record: `every 1d` or `cron 0 9 * * *`.
    pub fn text(&self) -> String {
        match self {
            Rule::Every { text, .. } => format!("every {text}"),
            Rule::Cron { text, .. } => format!("cron {text}"),
        }
    }

    /// Reads a stored rule back.
    pub fn parse(stored: &str) -> Result<Rule> {
        match stored.trim().split_once(' ') {
            Some(("every", rest)) => Rule::every(rest),
            Some(("cron", rest)) => Rule::cron(rest),
            _ => Err(Error::Rule {
                rule: stored.to_string(),
                reason: format!(
                    "unknown series rule {stored:?}: expected \"every …\" or \"cron …\""
                ),
            }),
        }
    }

    /// The first time of the rule at or after `from` (`inclusive`) or strictly after it.
    pub fn next(&self, from: &ZonedDateTime, inclusive: bool) -> Result<ZonedDateTime> {
        match self {
            Rule::Every { interval, .. } => {
                if inclusive {
                    Ok(from.clone())
                } else {
                    interval.add_to(from).map_err(Error::from)
                }
            }
            Rule::Cron { cron, text } => {
                let start = to_jiff02(from)?;
                let next = cron.find_next_occurrence(&start, inclusive).map_err(|_| {
                    // The crate's own words (and a nanosecond stamp) say nothing a user can act
                    // on; the usual cause is a date that does not exist, such as 31 February.
                    Error::Rule {
                        rule: format!("cron {text}"),
                        reason: format!(
                            "cron {text:?} never occurs after {}: no date matches its day and \
                             month fields (such as 31 February); check them",
                            from.strftime("%Y-%m-%d %H:%M %Z")
                        ),
                    }
                })?;
                from_jiff02(&next, from)
            }
        }
    }

    /// The latest time of the rule that is after `scheduled` and not after `not_after`, at
    /// most `max_steps` rule times on, with how many rule times it moves past; `None` when the
    /// next time after `scheduled` is still ahead. This is how missed occurrences collapse
    /// into one run.
    pub fn latest_missed(
        &self,
        scheduled: &ZonedDateTime,
        not_after: Timestamp,
        max_steps: u32,
    ) -> Result<Option<(ZonedDateTime, u32)>> {
        let mut latest = None;
        let mut current = scheduled.clone();
        for steps in 1..=max_steps.min(MAX_STEPS) {
            let next = self.next(&current, false)?;
            if next.timestamp() > not_after {
                break;
            }
            latest = Some((next.clone(), steps));
            current = next;
        }
        Ok(latest)
    }
}

/// Two rules are the same when they read the same.
impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.text() == other.text()
    }
}

/// Stored as its text (`every 1d`, `cron 0 9 * * *`), parsed once when the record is read, so
/// a record whose rule cannot be read is reported when it is loaded, not when it finishes.
impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&self.text())
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Rule, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Rule::parse(&text).map_err(|e| serde::de::Error::custom(format!("series rule: {e}")))
    }
}

/// croner works on jiff 0.2; the instant and the zone's name carry over exactly.
fn to_jiff02(z: &ZonedDateTime) -> Result<jiff02::Zoned> {
    let rule_error = |reason: String| Error::Rule {
        rule: String::new(),
        reason,
    };
    let name = z.time_zone().iana_name().ok_or_else(|| {
        rule_error(
            "a cron rule needs an IANA time zone; set DEFER_TIMEZONE (e.g. America/New_York)"
                .into(),
        )
    })?;
    let ts = jiff02::Timestamp::new(z.timestamp().as_second(), z.timestamp().subsec_nanosecond())
        .map_err(|e| rule_error(format!("time out of range: {e}")))?;
    ts.in_tz(name)
        .map_err(|e| rule_error(format!("time zone {name}: {e}")))
}

fn from_jiff02(z: &jiff02::Zoned, like: &ZonedDateTime) -> Result<ZonedDateTime> {
    let ts = Timestamp::new(z.timestamp().as_second(), z.timestamp().subsec_nanosecond()).map_err(
        |e| Error::Rule {
            rule: String::new(),
            reason: format!("time out of range: {e}"),
        },
    )?;
    Ok(ts.to_zoned_datetime(like.time_zone().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny(s: &str) -> ZonedDateTime {
        format!("{s}[America/New_York]").parse().expect("zoned")
    }

    #[test]
    fn daily_cron_stays_at_nine_local_across_both_dst_changes() {
        let rule = Rule::cron("0 9 * * *").expect("rule");
        let mut at = ny("2026-03-06T09:00:00-05:00");
        let mut seen = Vec::new();
        for _ in 0..4 {
            at = rule.next(&at, false).expect("next");
            seen.push(at.to_string());
        }
        assert_eq!(
            seen,
            vec![
                "2026-03-07T09:00:00-05:00[America/New_York]",
                "2026-03-08T09:00:00-04:00[America/New_York]",
                "2026-03-09T09:00:00-04:00[America/New_York]",
                "2026-03-10T09:00:00-04:00[America/New_York]",
            ]
        );
        let mut at = ny("2026-10-31T09:00:00-04:00");
        at = rule.next(&at, false).expect("next");
        assert_eq!(
            at.to_string(),
            "2026-11-01T09:00:00-05:00[America/New_York]"
        );
    }

    #[test]
    fn gap_and_fold_times_run_once() {
        // 02:30 does not exist on 2026-03-08: it runs once, after the gap.
        let rule = Rule::cron("30 2 * * *").expect("rule");
        let a = rule
            .next(&ny("2026-03-07T03:00:00-05:00"), false)
            .expect("next");
        let b = rule.next(&a, false).expect("next");
        assert_eq!(a.date().to_string(), "2026-03-08");
        assert_eq!(b.date().to_string(), "2026-03-09");
        // 01:30 happens twice on 2026-11-01: it runs once.
        let rule = Rule::cron("30 1 * * *").expect("rule");
        let a = rule
            .next(&ny("2026-10-31T02:00:00-04:00"), false)
            .expect("next");
        let b = rule.next(&a, false).expect("next");
        assert_eq!(a.to_string(), "2026-11-01T01:30:00-04:00[America/New_York]");
        assert_eq!(b.date().to_string(), "2026-11-02");
    }

    #[test]
    fn every_adds_calendar_days_and_elapsed_hours() {
        let day = Rule::every("1d").expect("rule");
        let next = day
            .next(&ny("2026-03-07T09:00:00-05:00"), false)
            .expect("next");
        assert_eq!(
            next.to_string(),
            "2026-03-08T09:00:00-04:00[America/New_York]"
        );
        let hour = Rule::every("1h").expect("rule");
        let mut at = ny("2026-03-07T09:00:00-05:00");
        let start = at.timestamp();
        for _ in 0..48 {
            at = hour.next(&at, false).expect("next");
        }
        assert_eq!(
            at.timestamp().as_second() - start.as_second(),
            48 * 3600,
            "no drift"
        );
    }

    #[test]
    fn missed_times_collapse_to_the_latest() {
        let hour = Rule::every("1h").expect("rule");
        let scheduled = ny("2026-04-08T08:00:00-04:00");
        let now: Timestamp = "2026-04-08T17:30:00Z".parse().expect("now"); // 13:30 local
        let (latest, steps) = hour
            .latest_missed(&scheduled, now, u32::MAX)
            .expect("ok")
            .expect("missed");
        assert_eq!(
            latest.to_string(),
            "2026-04-08T13:00:00-04:00[America/New_York]"
        );
        assert_eq!(steps, 5);
        let soon: Timestamp = "2026-04-08T12:30:00Z".parse().expect("now"); // 08:30 local
        assert!(
            hour.latest_missed(&scheduled, soon, u32::MAX)
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(Rule::cron("0 9 * *").is_err());
        assert!(Rule::cron("61 9 * * *").is_err());
        assert!(Rule::every("0s").is_err());
        assert!(Rule::every("tomorrow").is_err());
        assert!(Rule::parse("hourly").is_err());
        let r = Rule::parse("cron 0  9 * * *").expect("stored");
        assert_eq!(r.text(), "cron 0 9 * * *");
    }
}
