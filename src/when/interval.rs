//! Repeat and lateness intervals (`--every`, `--late-after`): a duration of the grammar, kept
//! apart from the instant it is added to.

use jiff::{SignedDuration, Span, ZonedDateTime};

use super::error::{Ctx, TimeError};
use super::grammar::Ast;
use super::parse_ast;

/// A duration as `--every` and `--late-after` take it: whole calendar days (weeks count as 7)
/// and elapsed time, applied in that order like the durations of [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub days: i64,
    pub nanos: i128,
}

impl Interval {
    /// `from` plus this interval: calendar days first (same wall-clock time across DST), then
    /// elapsed time.
    pub fn add_to(&self, from: &ZonedDateTime) -> Result<ZonedDateTime, TimeError> {
        let overflow = |_| TimeError::Overflow {
            expr: format!("{from} + {self:?}"),
        };
        let mut z = from.clone();
        if self.days != 0 {
            z = z
                .checked_add(Span::new().try_days(self.days).map_err(overflow)?)
                .map_err(overflow)?;
        }
        if self.nanos != 0 {
            let elapsed = SignedDuration::try_from_nanos_i128(self.nanos).ok_or_else(|| {
                TimeError::Overflow {
                    expr: format!("{from} + {self:?}"),
                }
            })?;
            z = z.checked_add(elapsed).map_err(overflow)?;
        }
        Ok(z)
    }

    /// Whole seconds, counting a day as 86,400 s (for comparisons such as lateness).
    pub fn approx_seconds(&self) -> i64 {
        let secs = i128::from(self.days) * 86_400 + self.nanos / 1_000_000_000;
        i64::try_from(secs).unwrap_or(i64::MAX)
    }
}

/// Parses a positive duration (`1d`, `2h`, `90m`, `1 week`, `1h 30m`) for options such as
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
    let ctx = Ctx { expr, zone: None };
    match parse_ast(&ctx)? {
        Ast::Relative { dur, clock: None } if dur.days > 0 || dur.nanos > 0 => Ok(Interval {
            days: dur.days,
            nanos: dur.nanos,
        }),
        Ast::Relative { clock: None, .. } => {
            Err(ctx.unsupported("a repeat interval must be more than zero"))
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
        assert_eq!((i.days, i.nanos), (1, 0));
        let i = parse_interval("1w 2h").expect("1w 2h");
        assert_eq!((i.days, i.nanos), (7, 2 * 3_600_000_000_000));
        assert_eq!(parse_interval("90m").expect("90m").approx_seconds(), 5400);
        let now: ZonedDateTime = "2026-03-07T09:00:00-05:00[America/New_York]"
            .parse()
            .expect("z");
        let next = parse_interval("1d").expect("1d").add_to(&now).expect("add");
        assert_eq!(
            next.to_string(),
            "2026-03-08T09:00:00-04:00[America/New_York]"
        );
        for bad in ["0s", "now", "tomorrow", "3pm", "", "in -5m", "1d at 9am"] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
    }
}
