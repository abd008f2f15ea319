//! Human time expressions: the `--when` argument turned into one instant.
//!
//! This module owns the grammar of SPEC §5 ("Time expressions"). [`parse`] reads an expression
//! relative to a caller-supplied `now` whose time zone is the user's zone (`DEFER_TIMEZONE`), so
//! nothing here reads the clock or the environment and every result is reproducible in tests.
//! [`parse_repeat`] reads `every ...` phrases into the rule text `--every` / `--cron` store.
//! [`describe`] and [`describe_as_typed`] render a resolved instant for confirmation lines, and
//! [`GRAMMAR_HELP`] is the short form of this page shown by `defer schedule --help` and the MCP
//! tool descriptions.
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
//!          | days "from" day [clockat]             a week from friday, 2 weeks from tomorrow
//!          | "in" weeks "on" weekday [clockat]     in 2 weeks on friday
//!          | iso-datetime                          2026-04-08T17:05:00Z, 2026-04-08 17:05
//!          | day [clockat] | clockat [day]         tomorrow 9am, 9am tomorrow, at 3pm, friday
//! clockat  = ["at"] clock
//! duration = term { ["and"] term } ["and a half"]  each unit at most once, any order
//! term     = number unit | ("a" | "an") unit | "half" ["a" | "an"] unit
//! number   = digits ["." digits]                   1.5h; fractions only for h, m and s
//! unit     = y | yr | yrs | year | years | mo | mos | month | months
//!          | w | wk | wks | week | weeks | d | day | days
//!          | h | hr | hrs | hour | hours | m | min | mins | minute | minutes
//!          | s | sec | secs | second | seconds
//! clock    = H[:MM[:SS]] ("am" | "pm")             3pm, 3 pm, 3:30pm, 3:30 p.m., 12am
//!          | H:MM[:SS]                             14:30, 9:05, 17:05:30 (24-hour)
//!          | HHMM                                  1430, 0900 (exactly four digits)
//!          | "noon" | "midnight" | part
//! part     = "morning" (09:00) | "afternoon" (14:00) | "teatime" (16:00)
//!          | "eod" | "end of [the] day" (17:00) | "evening" (18:00)
//!          | "night" | "tonight" (20:00)
//! day      = "today" | "tomorrow" | ["the"] "day after tomorrow"
//!          | "next" ("week" | "month" | "year" | "weekday")
//!          | ["on" | "this" | "next"] weekday      friday, this fri, next monday
//!          | "next week" ["on"] weekday | weekday "next week"
//!          | "this" part                           this morning, this evening
//!          | ["on"] YYYY-MM-DD                     2026-12-25
//!          | ["on"] month dom [YYYY] | ["on"] ["the"] dom ["of"] month [YYYY]
//!          | ["on"] ["the"] inmonth "of" whichmonth   first monday of next month
//!          | ["the"] "end of" whichmonth            end of month, end of next month
//! inmonth  = nth weekday | ("first" | "last") "day"  last friday, last day
//! nth      = "first" | "second" | "third" | "fourth" | "last" | 1st | 2nd | 3rd | 4th
//! whichmonth = ["the" | "this"] "month" | "next month"
//! dom      = 1 to 31, optionally with its ordinal: 1st 2nd 3rd 4th ... 21st 22nd 23rd 31st
//! month    = january | jan | february | feb | march | mar | april | apr | may | june | jun
//!          | july | jul | august | aug | september | sep | sept | october | oct
//!          | november | nov | december | dec
//! weekday  = monday | mon | tuesday | tue | tues | wednesday | wed | weds
//!          | thursday | thu | thur | thurs | friday | fri | saturday | sat | sunday | sun
//! ```
//!
//! Repeating phrases are read by [`parse_repeat`] (and by `defer schedule --when`, `defer time
//! normalize`), never by `parse`:
//!
//! ```text
//! repeat   = "every" duration                      every 2 hours, every 15 minutes → every 2h
//!          | "every" unit                          every hour, every week, every month → every 1w
//!          | "every" ("day" | "weekday" | weekdays) clockat      → cron m h * * dow
//!          | "every" part                          every evening → cron 0 18 * * *
//!          | "every" "hour" "at" ":" MM            every hour at :15 → cron 15 * * * *
//!          | "every" "month" "on" ["the"] dom clockat            → cron m h dom * *
//!          | "every" "other" weekday clockat       every other tuesday at 9am → every 2w
//!          | "every" weeks "on" weekday clockat    every 2 weeks on tuesday at 9am → every 2w
//!          | "every" inmonth "of" ["the" | "each" | "every"] "month" clockat
//!                                                  every first monday of the month at 9am
//!                                                  → cron 0 9 * * 1#1 (last friday: 5L,
//!                                                  last day: cron m h L * *)
//!          | "every" "other" unit                  every other week → every 2w
//! weekdays = weekday {"and" weekday}               monday and thursday → 1,4 ("mondays" too)
//! ```
//!
//! Glued and spaced spellings are equivalent (`1d2h30m` = `1d 2h 30m`, `3pm` = `3 pm`).
//! ISO 8601 input is read by jiff's Temporal parser: a `T` or a space between date and time,
//! optional seconds and fractional seconds, `Z` or a numeric offset.
//!
//! # Meaning
//!
//! - **Hours, minutes and seconds are elapsed time** (timestamp arithmetic): `24h` across a DST
//!   change shows a different wall-clock time. **Days, weeks, months and years are calendar
//!   units**: `1d` keeps the wall-clock time even across a DST change. A mixed duration such as
//!   `1mo 2d 3h` adds months first, then days, then the elapsed part. Zero durations (`0s`) mean
//!   now.
//! - **Months and years** (`in 3 months`, `1mo`, `next month`, `in 1 year`) keep the day of the
//!   month and the wall-clock time, clamping to the end of a shorter month: Jan 31 + 1 month is
//!   Feb 28 (Feb 29 in a leap year), Mar 31 + 1 month is Apr 30, Feb 29 + 1 year is Feb 28. The
//!   result follows the same gap and fold rules as days. `next month` alone is now + 1 month;
//!   `next month 9am` is that day at 09:00. `--every 1mo` steps from the previous occurrence, so
//!   a monthly series that starts on the 31st moves to the 28th after February; use a cron rule
//!   (`every month on the 1st at 9am`) for a fixed day.
//! - Fractional hours, minutes and seconds are exact (`1.5h` = 90 minutes, precision down to the
//!   nanosecond; further digits are dropped); `an hour and a half` is 90 minutes. Fractional
//!   days, weeks, months and years (`1.5d`, `half a day`, `a day and a half`) are refused,
//!   because a calendar day is not a fixed length: write hours (`36h`) instead.
//! - A **bare clock** (`3pm`, `at 14:30`, `noon`, `midnight`) means the next time the wall clock
//!   shows it: today if that is strictly after now, otherwise tomorrow. So `midnight` is always
//!   the coming 00:00, and `3pm` at exactly 15:00 is tomorrow. Inside the repeated hour of a
//!   fall-back night this is the next instant the clock shows it, which may be the second pass:
//!   `1:45am` typed at 01:30 EDT is 01:45 EDT; typed at 01:30 EST (the second pass) it is 01:45
//!   EST, 15 minutes later, not a day later.
//! - **Parts of the day** have fixed hours: morning 09:00, noon 12:00, afternoon 14:00, teatime
//!   16:00, end of day / eod 17:00, evening 18:00, night / tonight 20:00. The confirmation line
//!   echoes the hour (`(morning = 09:00)`). With a day (`tomorrow morning`, `friday afternoon`,
//!   `end of day friday`) it is that day at that hour, following the weekday rules below. Alone
//!   or with `this` (`eod`, `tonight`, `this evening`) it means today, and once its hour has
//!   passed it is an error that says so (`this morning` at 10am), never a silent tomorrow.
//! - `today` / `tomorrow` / `day after tomorrow` / a date, with a clock, mean that day at that
//!   time, even if it is already past (`today 9am` at 10am is accepted and simply due; the caller
//!   warns). Without a clock they keep the current time of day (`tomorrow` = now + 1 calendar
//!   day); a date alone means 00:00 that day.
//! - **Day and month** (`dec 25`, `25 december 2026`, `on december 25th`): with a year, that date
//!   (kept even if past); without one, the next such date whose time (the clock, or 00:00) is
//!   still ahead, so `nov 26` on Nov 26 at 10am is next year's, and `feb 29` waits for a leap
//!   year. Four digits right after the date are its year (`dec 25 2026`); write a clock after a
//!   date with a colon or am/pm (`dec 25 14:30`). Ordinals must be right (`22nd`, not `22th`).
//!   Numeric dates (`12/25`, `25/12`) are refused: the order differs between countries.
//! - `next <weekday>` is the first such weekday strictly after today (1 to 7 days ahead, so
//!   `next friday` on a Thursday is tomorrow and on a Friday is a week later). A bare or `this`
//!   weekday is the nearest such day, today included when that time is still ahead: `friday 3pm`
//!   on a Friday at 10am is today, at 4pm it is next week. Without a clock the current time of
//!   day is used, which is never strictly ahead, so a bare `friday` on a Friday is a week later.
//! - Weeks start on Monday: `next week monday` / `monday next week` is that weekday in the week
//!   after this one; `in 2 weeks on friday` is the Friday of the week two weeks ahead.
//!   `a week from friday` is the day `friday` names, plus 7 days. `next weekday` is the first
//!   Monday-to-Friday day strictly after today.
//! - `next week` is now + 7 calendar days; `in 2 days at 9am` (also `next week 9am`) is that day
//!   at that clock. A clock after a duration needs whole days or weeks (`in 2h at 9am` is refused).
//! - `midnight` combined with a day (`friday midnight`, `in 2 days at midnight`) is refused as
//!   ambiguous — people mean both the start and the end of that day; write `00:00` instead.
//! - A wall-clock time that does not exist (spring forward) **moves forward by the gap**
//!   (`2:30am` on 2026-03-08 in New York is 03:30 EDT; in Lord Howe the gap is 30 minutes); an
//!   ambiguous one (fall back) takes the **earlier instant** (`tomorrow 1:30am` the day before
//!   2026-11-01 is 01:30 EDT), except for a bare clock as above. This is jiff's
//!   `Disambiguation::Compatible` (RFC 5545), applied to every wall-clock time, including ISO
//!   times without an offset.
//! - **A day within a month** (`first monday of next month`, `last friday of the month`,
//!   `2nd tuesday of the month 3pm`, `first day of next month`) is a date: at its clock, or
//!   at 00:00 without one. `of next month` is next month's; `of the month`, `of this month`
//!   and `of month` are this month's while that time is still ahead, else next month's.
//!   `first` to `fourth` and `last` name a weekday's place; a fifth is refused (not every
//!   month has one), and so is `last friday` without a month (it points to the past).
//! - **The month's end** (`end of month`, `end of the month`, `last day of the month`, `end of
//!   next month`) is that month's last day at the end-of-day hour, 17:00 (the hour of `eod`,
//!   echoed as `(end of month = 17:00)`), or at the clock given (`end of month at 9am`); this
//!   month's once its time has passed is next month's.
//! - **Repeating phrases** (`every weekday at 9am`) become the same rule `--every` / `--cron`
//!   store: an interval (`every 2 hours` → `every 2h`) or a five-field cron rule in the user's
//!   zone (`every weekday at 9am` → `cron 0 9 * * 1-5`). Given as the time of a new task the
//!   task repeats by that rule, first at its next time; `defer time normalize` prints the next
//!   three times. A clock needs a daily or weekly rule (`every 2 days at 9am` is refused), and
//!   a day of the month past the 28th is refused for a monthly rule (a cron rule would skip
//!   short months; `every last day of the month at 9am` is the month's end).
//! - **Every other week** (`every other tuesday at 9am`, `every 2 weeks on tuesday at 9am`,
//!   `every other week on tuesday at 9am`) is the interval rule `every 2w` whose first
//!   occurrence is the nearest such weekday at that clock still ahead (today included, as
//!   `tuesday 9am`); each later one is 14 calendar days after the previous one's scheduled
//!   time, so the wall clock stays at 09:00 across DST changes. (A first time inside a
//!   spring-forward gap moves forward by the gap and the series keeps the moved time.) One
//!   weekday per rule; `every week on monday at 9am` is the weekly cron rule.
//! - **A weekday's place in every month** (`every first monday of the month at 9am`, `every
//!   last friday of the month at 5pm`, `every last day of the month at 5pm`) is a cron rule
//!   with croner's `#` and `L` fields: `cron 0 9 * * 1#1`, `cron 0 17 * * 5L`,
//!   `cron 0 17 L * *`.
//! - **Refused on purpose, with what to say instead**: words that name no definite time
//!   (`soon` → "in 30 minutes", `later today` → "in 3 hours" or "today 5pm", `in a bit`,
//!   `in a few minutes` → "in 5 minutes", `asap` → "now"), business days (`in 2 business
//!   days` → "in 2 days" or "next tuesday 9am": weekends and holidays differ by place),
//!   holidays (`christmas` → "dec 25 9am"), numeric dates (`25.12.2026` → "2026-12-25") and
//!   decimal commas (`in 1,5 hours` → "in 1.5 hours" or "in 90 minutes"). Every expression a
//!   refusal quotes as a suggestion is itself accepted.
//! - An ISO 8601 time **with** `Z` or an offset keeps its instant; the result is converted into
//!   now's zone. Without an offset it is read in now's zone. Offsets run from -23:59 to +23:59
//!   and seconds from 00 to 59 (`+24:00` and a leap second `60` are refused).
//! - **Zone words are refused**, never ignored or guessed: `3pm EST`, `9am PST`,
//!   `tomorrow 9am UTC`, `5pm Europe/Paris`, `3pm +0200`, `2026-04-08T17:05[Europe/Paris]`.
//!   Times are read in `DEFER_TIMEZONE`; set it to change the zone, or give an ISO 8601 time
//!   with an offset.
//! - Clock validation: with am/pm the hour is 1 to 12 (`12am` = 00:00, `12pm` = 12:00; `0am`,
//!   `13pm`, `14:30pm` are refused); 24-hour times run from 00:00 to 23:59:59 (`24:00`, `25:00`
//!   and `3:60pm` are refused). A bare number of one or two digits (`3`, `at 15`) is refused as
//!   ambiguous, and three digits (`930`) as unclear; write `9:30`, `09:30` or `9:30am`.
//! - Errors help: a misspelt word names the nearest known one (`minuts` → "did you mean
//!   minutes?", `fridya` → friday), and words the grammar does not read name the supported way
//!   to say them (`weekend` → `saturday 10am`, `end of week` → `end of day friday`).
//! - Results outside the instants jiff can represent (-9999-01-02T01:59:59Z to
//!   9999-12-30T22:00:00Z, so `9999-12-31T00:00:00Z` is refused) and numbers too large to hold
//!   are errors ([`TimeError::Overflow`]); nothing saturates and nothing panics.

mod clock;
mod days;
mod error;
mod grammar;
mod hint;
mod interval;
mod lexer;
mod month;
mod print;
mod repeat;
mod resolve;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_people;
#[cfg(test)]
mod tests_phrases;
mod vocab;

use jiff::ZonedDateTime;

pub use error::{RuleHint, TimeError};
pub use interval::{Interval, parse_interval};
pub use print::{describe, describe_as_typed, distance, human_duration, local_time};
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
                  an hour and a half  now + 30 minutes  10 minutes from now
  months, years   in 3 months  next month  in 1 year  1mo  next month 9am
  clock           3pm  3 pm  3:30pm  3:30 p.m.  14:30  1430  noon  midnight
                  at 9am   (the next time the clock shows it)
  part of day     morning 09:00  afternoon 14:00  teatime 16:00  eod 17:00
                  evening 18:00  tonight/night 20:00  (noon 12:00)
                  tomorrow morning  this evening  tonight  friday afternoon
                  end of day friday  (\"this morning\" after 9am is refused)
  day             today  tomorrow  today 5pm  tomorrow at 9am  9am tomorrow
                  day after tomorrow  next weekday 9am (Mon-Fri)
  weekday         friday  friday 3pm  this friday  next friday  next monday 9am
                  3pm next friday  next week monday  monday next week
                  in 2 weeks on friday  a week from friday
  days ahead      next week  in 2 days at 9am  in 1 week at 9am
  day and month   dec 25  december 25  25 dec  25 december 2026  dec 25 9am
                  dec 25 at 9:30pm  on december 25th  the 1st of may
                  (no year: the next one not yet past; 12/25 is refused)
  date, ISO 8601  2026-12-25  2026-12-25 9am  2026-04-08 17:05
                  2026-04-08T17:05:00Z  2026-04-08T17:05:00+02:00
  in a month      first monday of next month  last friday of the month
                  2nd tuesday of the month 3pm  first day of next month
                  (no clock: 00:00; this month's while ahead, else next month's)
  month's end     end of month  end of the month at 9am  last day of the month
                  (17:00 unless a clock is given)
  repeating       every day at 9am  every weekday at 9am  every 2 hours
                  every monday and thursday at 10:30  every 15 minutes
                  every month on the 1st at 9am  every hour at :15
                  every other tuesday at 9am  every 2 weeks on tuesday at 9am
                  every first monday of the month at 9am
                  every last friday of the month at 5pm
                  (to schedule: the series rule, first run at its next time)
  refused         soon, later today, in a bit, in a few minutes, asap, in 2
                  business days, christmas, 25.12.2026, in 1,5 hours: each
                  refusal names an accepted way to say it
Hours, minutes and seconds are elapsed time; days, weeks, months and years
keep the wall-clock time across DST changes (Jan 31 + 1 month = Feb 28).
A time skipped by DST moves forward by the gap; a repeated time takes the
earlier instant, but a bare clock is the next time the wall clock shows
it. \"next friday\" is strictly after today; \"friday 3pm\" is today if
3pm is still ahead. Zone words (3pm EST, 9am UTC) are refused: set
DEFER_TIMEZONE, or give an ISO 8601 time with an offset.";

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
