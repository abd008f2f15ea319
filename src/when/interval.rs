//! Repeat and lateness intervals (`--every`, `--late-after`): a duration of the grammar, kept
//! apart from the instant it is added to.

use jiff::{SignedDuration, Span, ZonedDateTime};

use super::error::{Ctx, TimeError};
use super::grammar::Ast;
use super::parse_ast;

/// A duration as `--every` and `--late-after` take it: calendar months (years count as 12),
/// calendar days (weeks count as 7) and elapsed time, applied in that order like the durations
/// of [`parse`](super::parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub months: i64,
    pub days: i64,
    pub nanos: i128,
}

/// The mean Gregorian month (365.2425 / 12 days), for the approximate length of a month.
const MEAN_MONTH_SECS: i128 = 2_629_746;

impl Interval {
    /// `from` plus this interval: calendar months and days first (same wall-clock time across
    /// DST; the 31st plus a month clamps to the end of a shorter month), then elapsed time.
    ///
    /// A series steps from its previous occurrence, so a monthly series started on the 31st
    /// moves to the 28th after February and stays there; a cron rule keeps a fixed day.
    pub fn add_to(&self, from: &ZonedDateTime) -> Result<ZonedDateTime, TimeError> {
        // Worded as the user would write it: "2026-04-08 16:35 UTC + 99999999999d".
        let expr = || format!("{} + {self}", from.strftime("%Y-%m-%d %H:%M %Z"));
        let overflow = |_| TimeError::Overflow { expr: expr() };
        let mut z = from.clone();
        if self.months != 0 || self.days != 0 {
            let span = Span::new()
                .try_months(self.months)
                .and_then(|s| s.try_days(self.days))
                .map_err(overflow)?;
            z = z.checked_add(span).map_err(overflow)?;
        }
        if self.nanos != 0 {
            let elapsed = SignedDuration::try_from_nanos_i128(self.nanos)
                .ok_or_else(|| TimeError::Overflow { expr: expr() })?;
            z = z.checked_add(elapsed).map_err(overflow)?;
        }
        Ok(z)
    }

    /// Whole seconds, approximately: a day counts as 86,400 s and a month as the mean
    /// Gregorian month (30.436875 days), so only comparisons such as lateness should use it;
    /// [`Interval::add_to`] is the exact calendar arithmetic.
    pub fn approx_seconds(&self) -> i64 {
        let secs = i128::from(self.months) * MEAN_MONTH_SECS
            + i128::from(self.days) * 86_400
            + self.nanos / 1_000_000_000;
        i64::try_from(secs).unwrap_or(i64::MAX)
    }
}

/// `1mo 3d 2h 5m 10s` (months, days, then the elapsed part in whole units; fractions of a
/// second in milliseconds), as the grammar reads it back.
impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if self.months != 0 {
            parts.push(format!("{}mo", self.months));
        }
        if self.days != 0 {
            parts.push(format!("{}d", self.days));
        }
        let mut rest = self.nanos;
        for (unit, size) in [
            ("h", 3_600_000_000_000i128),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
        ] {
            if rest.abs() >= size {
                parts.push(format!("{}{unit}", rest / size));
                rest %= size;
            }
        }
        if parts.is_empty() {
            parts.push("0s".into());
        }
        f.write_str(&parts.join(" "))
    }
}

/// Parses a positive duration (`1d`, `2h`, `90m`, `1 week`, `1h 30m`, `1mo`) for options such as
/// `--every` and `--late-after`.
///
/// # Errors
///
/// A [`TimeError`] when `expr` is not a duration of the grammar, or is zero.
pub fn parse_interval(expr: &str) -> Result<Interval, TimeError> {
    let expr = expr.trim();
    if expr.is_empty() {
        return Err(TimeError::Empty);
    }
    super::error::check_length(expr)?;
    let ctx = Ctx { expr, zone: None };
    if expr.starts_with('-') {
        return Err(ctx.unsupported("a negative interval is not allowed; give a positive one"));
    }
    match parse_ast(&ctx)? {
        Ast::Relative { dur, clock: None } if dur.months > 0 || dur.days > 0 || dur.nanos > 0 => {
            Ok(Interval {
                months: dur.months,
                days: dur.days,
                nanos: dur.nanos,
            })
        }
        Ast::Relative { clock: None, .. } => {
            Err(ctx.unsupported("a duration must be more than zero"))
        }
        _ => Err(ctx.unsupported("expected a duration such as 1d, 2h, 30m or 1 week")),
    }
}

#[cfg(test)]
mod interval_tests {
    use super::*;

    #[test]
    fn intervals_parse_and_apply_calendar_then_elapsed() {
        let i = parse_interval("1d").expect("1d");
        assert_eq!((i.months, i.days, i.nanos), (0, 1, 0));
        let i = parse_interval("1w 2h").expect("1w 2h");
        assert_eq!((i.months, i.days, i.nanos), (0, 7, 2 * 3_600_000_000_000));
        assert_eq!(parse_interval("90m").expect("90m").approx_seconds(), 5400);
        let now: ZonedDateTime = "2026-03-07T09:00:00-05:00[America/New_York]"
            .parse()
            .expect("z");
        let next = parse_interval("1d").expect("1d").add_to(&now).expect("add");
        assert_eq!(
            next.to_string(),
            "2026-03-08T09:00:00-04:00[America/New_York]"
        );
        let jan31: ZonedDateTime = "2026-01-31T09:00:00-05:00[America/New_York]"
            .parse()
            .expect("z");
        let month = parse_interval("1mo").expect("1mo");
        assert_eq!((month.months, month.days), (1, 0));
        assert_eq!(month.approx_seconds(), 2_629_746);
        assert_eq!(parse_interval("1 year").expect("1y").months, 12);
        assert_eq!(
            month.add_to(&jan31).expect("add").to_string(),
            "2026-02-28T09:00:00-05:00[America/New_York]"
        );
        for bad in [
            "0s",
            "0mo",
            "now",
            "tomorrow",
            "3pm",
            "",
            "in -5m",
            "1d at 9am",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
    }
}
