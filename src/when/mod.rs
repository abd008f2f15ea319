//! Human time expressions: the `--when` argument turned into one instant.
//!
//! This module owns the grammar of SPEC §5 ("Time expressions"). [`parse`] reads an expression
//! relative to a caller-supplied `now` whose time zone is the user's zone (`DEFER_TIMEZONE`), so
//! nothing here reads the clock or the environment and every result is reproducible in tests.
//! [`describe`] renders a resolved instant for confirmation lines, and [`GRAMMAR_HELP`] is the
//! short form of this page shown by `defer schedule --help`.
//!
//! # Grammar
//!
//! Input is case-insensitive, surrounding whitespace is ignored and any run of whitespace counts
//! as one space. The whole input must match one of these forms; a word outside the grammar is an
//! error, never ignored (`5 minutes ago`, `foo 5 min bar`, `yesterday` are refused).
//!
//! ```text
//! expr     = "now"
//!          | "now" "+" duration [clockat]          now + 30 minutes, now+30m
//!          | ("in" | "+") duration [clockat]       in 2 hours, +10m, in 2 days at 9am
//!          | duration ["from" "now"] [clockat]     10m, 1d2h30m, 1 hour 30 minutes, an hour
//!          | iso-datetime                          2026-04-08T17:05:00Z, 2026-04-08 17:05
//!          | day [clockat] | clockat [day]         tomorrow 9am, 9am tomorrow, at 3pm, friday
//! clockat  = ["at"] clock
//! duration = term { ["and"] term }                 each unit at most once, any order
//! term     = number unit | ("a" | "an") unit | "half" ["a" | "an"] unit
//! number   = digits ["." digits]                   1.5h; fractions only for h, m and s
//! unit     = w | wk | wks | week | weeks | d | day | days
//!          | h | hr | hrs | hour | hours | m | min | mins | minute | minutes
//!          | s | sec | secs | second | seconds
//! clock    = H[:MM[:SS]] ("am" | "pm")             3pm, 3 pm, 3:30pm, 3:30 p.m., 12am
//!          | H:MM[:SS]                             14:30, 9:05, 17:05:30 (24-hour)
//!          | HHMM                                  1430, 0900 (exactly four digits)
//!          | "noon" | "midnight"
//! day      = "today" | "tomorrow" | "next" "week"
//!          | ["on" | "this" | "next"] weekday      friday, this fri, next monday
//!          | ["on"] YYYY-MM-DD                     2026-12-25
//! weekday  = monday | mon | tuesday | tue | tues | wednesday | wed | weds
//!          | thursday | thu | thur | thurs | friday | fri | saturday | sat | sunday | sun
//! ```
//!
//! Glued and spaced spellings are equivalent (`1d2h30m` = `1d 2h 30m`, `3pm` = `3 pm`).
//! ISO 8601 input is read by jiff's Temporal parser: a `T` or a space between date and time,
//! optional seconds and fractional seconds, `Z` or a numeric offset.
//!
//! # Meaning
//!
//! - **Hours, minutes and seconds are elapsed time** (timestamp arithmetic): `24h` across a DST
//!   change shows a different wall-clock time. **Days and weeks are calendar days**: `1d` keeps
//!   the wall-clock time even across a DST change. A mixed duration such as `1d2h30m` adds the
//!   calendar part first, then the elapsed part. Zero durations (`0s`) mean now.
//! - Fractional hours, minutes and seconds are exact (`1.5h` = 90 minutes, precision down to the
//!   nanosecond; further digits are dropped). Fractional days and weeks (`1.5d`, `half a day`)
//!   are refused, because a calendar day is not a fixed length: write hours (`36h`) instead.
//! - A **bare clock** (`3pm`, `at 14:30`, `noon`, `midnight`) means the next time the wall clock
//!   shows it: today if that is strictly after now, otherwise tomorrow. So `midnight` is always
//!   the coming 00:00, and `3pm` at exactly 15:00 is tomorrow.
//! - `today` / `tomorrow` / a date, with a clock, mean that day at that time, even if it is
//!   already past (`today 9am` at 10am is accepted and simply due; the caller warns). Without a
//!   clock they keep the current time of day (`tomorrow` = now + 1 calendar day); a date alone
//!   means 00:00 that day.
//! - `next <weekday>` is the first such weekday strictly after today (1 to 7 days ahead, so
//!   `next friday` on a Thursday is tomorrow and on a Friday is a week later). A bare or `this`
//!   weekday is the nearest such day, today included when that time is still ahead: `friday 3pm`
//!   on a Friday at 10am is today, at 4pm it is next week. Without a clock the current time of
//!   day is used, which is never strictly ahead, so a bare `friday` on a Friday is a week later.
//! - `next week` is now + 7 calendar days; `in 2 days at 9am` (also `next week 9am`) is that day
//!   at that clock. A clock after a duration needs whole days or weeks (`in 2h at 9am` is refused).
//! - `midnight` combined with a day (`friday midnight`, `in 2 days at midnight`) is refused as
//!   ambiguous — people mean both the start and the end of that day; write `00:00` instead.
//! - A wall-clock time that does not exist (spring forward) **moves forward by the gap**
//!   (`2:30am` on 2026-03-08 in New York is 03:30 EDT); an ambiguous one (fall back) takes the
//!   **earlier instant** (`1:30am` on 2026-11-01 is 01:30 EDT). This is jiff's
//!   `Disambiguation::Compatible` (RFC 5545), applied to every wall-clock time, including ISO
//!   times without an offset.
//! - An ISO 8601 time **with** `Z` or an offset keeps its instant; the result is converted into
//!   now's zone. Without an offset it is read in now's zone.
//! - **Zone words are refused**, never ignored or guessed: `3pm EST`, `9am PST`,
//!   `tomorrow 9am UTC`, `5pm Europe/Paris`, `3pm +0200`, `2026-04-08T17:05[Europe/Paris]`.
//!   Times are read in `DEFER_TIMEZONE`; set it to change the zone, or give an ISO 8601 time
//!   with an offset.
//! - Clock validation: with am/pm the hour is 1 to 12 (`12am` = 00:00, `12pm` = 12:00; `0am`,
//!   `13pm`, `14:30pm` are refused); 24-hour times run from 00:00 to 23:59:59 (`24:00`, `25:00`
//!   and `3:60pm` are refused). A bare number of one or two digits (`3`, `at 15`) is refused as
//!   ambiguous, and three digits (`930`) as unclear; write `9:30`, `09:30` or `9:30am`.
//! - Results outside jiff's range (years -9999 to 9999) and numbers too large to hold are
//!   errors ([`TimeError::Overflow`]); nothing saturates and nothing panics.

mod clock;
mod days;
mod error;
mod grammar;
mod interval;
mod lexer;
mod print;
mod repeat;
mod resolve;
#[cfg(test)]
mod tests;
mod vocab;

use jiff::ZonedDateTime;

pub use error::TimeError;
pub use interval::{Interval, parse_interval};
pub use print::{describe, describe_as_typed, human_duration, local_time};
pub use repeat::{RepeatSpec, parse_repeat};

use error::Ctx;
use grammar::{Ast, Parser};
use lexer::lex;
use resolve::resolve;

/// The accepted forms, with examples, for `defer schedule --help`.
pub const GRAMMAR_HELP: &str = "\
TIME EXPRESSIONS (--when; read in DEFER_TIMEZONE, case-insensitive)
  now             now
  duration        10m  2h  1d2h30m  1w  45s  +10m  1.5h  2h 30m  in 2 hours
                  1 hour 30 minutes  3 hrs  in an hour  in half an hour
                  now + 30 minutes  10 minutes from now
  clock           3pm  3 pm  3:30pm  3:30 p.m.  14:30  1430  noon  midnight
                  at 9am   (the next time the clock shows it)
  day             today  tomorrow  today 5pm  tomorrow at 9am  9am tomorrow
  weekday         friday  friday 3pm  this friday  next friday  next monday 9am
                  3pm next friday
  days ahead      next week  in 2 days at 9am  in 1 week at 9am
  date, ISO 8601  2026-12-25  2026-12-25 9am  2026-04-08 17:05
                  2026-04-08T17:05:00Z  2026-04-08T17:05:00+02:00
Hours, minutes and seconds are elapsed time; days and weeks keep the
wall-clock time across DST changes. A time skipped by DST moves forward by
the gap; a repeated time takes the earlier instant. \"next friday\" is
strictly after today; \"friday 3pm\" is today if 3pm is still ahead.
Zone words (3pm EST, 9am UTC) are refused: set DEFER_TIMEZONE, or give an
ISO 8601 time with an offset.";

/// Parse `expr` relative to `now` (whose time zone is the user's zone, `DEFER_TIMEZONE`).
///
/// Returns the resolved instant as a [`ZonedDateTime`] in now's time zone. A result in the past
/// is returned as is (the caller decides whether to warn). See the module docs for the grammar.
///
/// # Errors
///
/// A [`TimeError`] naming the expression when it does not match the grammar completely, names
/// a time zone, holds an impossible clock time or date, or resolves outside jiff's range.
pub fn parse(expr: &str, now: &ZonedDateTime) -> Result<ZonedDateTime, TimeError> {
    let expr = expr.trim();
    if expr.is_empty() {
        return Err(TimeError::Empty);
    }
    error::check_length(expr)?;
    let ctx = Ctx {
        expr,
        zone: now.time_zone().iana_name(),
    };
    let ast = parse_ast(&ctx)?;
    resolve(&ctx, &ast, now)
}

/// Lexes and parses `ctx.expr` against the whole grammar.
fn parse_ast(ctx: &Ctx<'_>) -> Result<Ast, TimeError> {
    // ASCII lowercasing keeps every byte offset, so token spans index `expr` too.
    let lower = ctx.expr.to_ascii_lowercase();
    let toks = lex(ctx, &lower)?;
    Parser {
        toks: &toks,
        pos: 0,
        ctx,
    }
    .parse()
}
