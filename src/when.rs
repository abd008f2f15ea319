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

use jiff::{
    SignedDuration, Span, ZonedDateTime,
    civil::{Date, DateTime, Time, Weekday},
    fmt::temporal::Pieces,
    tz::{Disambiguation, Offset},
};

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

/// Suggestions appended to grammar errors.
const TRY: &str = r#"try "30m", "tomorrow 9am", "next friday 3pm" or "2026-12-25 9am""#;

/// Why an expression was refused. Every message names the expression and says how to fix it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// The expression was empty or only whitespace.
    #[error("empty time expression ({})", TRY)]
    Empty,
    /// The expression does not match the grammar; `reason` says where it went wrong.
    #[error("unsupported time expression {expr:?}: {reason} ({})", TRY)]
    Unsupported {
        /// The expression as given (trimmed).
        expr: String,
        /// What was wrong, e.g. `unexpected word "ago"`.
        reason: String,
    },
    /// A bare number that could be a clock time or a duration (`3`, `at 15`).
    #[error("ambiguous number {number:?} in {expr:?}: add a unit or am/pm, e.g. {}",
        ambiguous_examples(.number))]
    Ambiguous {
        /// The expression as given (trimmed).
        expr: String,
        /// The number that needs a unit or am/pm.
        number: String,
    },
    /// A clock time that does not exist on a clock face (`13pm`, `25:00`, `3:60pm`).
    #[error("invalid clock time {clock:?} in {expr:?}: {reason}")]
    InvalidClock {
        /// The expression as given (trimmed).
        expr: String,
        /// The offending clock text.
        clock: String,
        /// What is wrong and how to write it.
        reason: String,
    },
    /// An ISO 8601 date or date-time that does not parse or does not exist (`2026-02-30`).
    #[error(
        "invalid date {text:?} in {expr:?}: {reason} (write an ISO 8601 date or time such as \
         2026-12-25, 2026-12-25 9am or 2026-04-08T17:05:00Z)"
    )]
    InvalidDate {
        /// The expression as given (trimmed).
        expr: String,
        /// The offending date text.
        text: String,
        /// The parser's explanation.
        reason: String,
    },
    /// A time zone word or offset after a time (`3pm EST`); times are read in `DEFER_TIMEZONE`.
    #[error(
        "time zone {word:?} in {expr:?} is not supported: times are read in DEFER_TIMEZONE{}; \
         set DEFER_TIMEZONE to change the zone, or give an ISO 8601 time with an offset such as \
         2026-04-08T17:05:00-05:00",
        zone_note(.zone)
    )]
    ZoneSuffix {
        /// The expression as given (trimmed).
        expr: String,
        /// The zone word as given.
        word: String,
        /// The IANA name of the zone in use, when known.
        zone: Option<String>,
    },
    /// A number too large to hold, or a result outside the supported range of years.
    #[error(
        "time expression {expr:?} is out of range: the number is too large or the time falls \
         outside the years -9999 to 9999 (use a smaller number)"
    )]
    Overflow {
        /// The expression as given (trimmed).
        expr: String,
    },
}

fn zone_note(zone: &Option<String>) -> String {
    zone.as_deref()
        .map(|z| format!(" ({z})"))
        .unwrap_or_default()
}

fn ambiguous_examples(number: &str) -> String {
    match parse_u64(number) {
        Some(n @ 1..=12) => format!(r#""{n}m", "{n}h", "{n}am" or "{n}pm""#),
        Some(n @ 13..=23) => format!(r#""{n}m", "{n}h" or "{n}:00""#),
        Some(0) => r#""0:00" or "midnight""#.to_owned(),
        _ => format!(r#""{number}m" or "{number}h""#),
    }
}

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
        // Worded as the user would write it: "2026-04-08 16:35 UTC + every 99999999999d".
        let expr = || format!("{} + {self}", from.strftime("%Y-%m-%d %H:%M %Z"));
        let overflow = |_| TimeError::Overflow { expr: expr() };
        let mut z = from.clone();
        if self.days != 0 {
            z = z
                .checked_add(Span::new().try_days(self.days).map_err(overflow)?)
                .map_err(overflow)?;
        }
        if self.nanos != 0 {
            let elapsed = SignedDuration::try_from_nanos_i128(self.nanos)
                .ok_or_else(|| TimeError::Overflow { expr: expr() })?;
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

/// `3d 2h 5m 10s` (days, then the elapsed part in whole units; fractions of a second shown
/// in milliseconds), as the grammar reads it back.
impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
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
    if expr.starts_with('-') {
        return Err(ctx.unsupported("a negative interval is not allowed; give a positive one"));
    }
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

/// A short human description for confirmation lines: `Fri 2026-11-27 09:00 EST, in 22h 59m`.
///
/// The distance is elapsed time truncated to whole seconds, shown in its largest two units
/// among days (24h), hours and minutes, or in seconds when under a minute: `in 2d 3h`, `in 1h`,
/// `in 45s`, `3h 5m ago`, or `now` when under a second. The zone abbreviation is the one in
/// force at the target instant, so a date across a DST change shows the right one.
pub fn describe(target: &ZonedDateTime, now: &ZonedDateTime) -> String {
    let info = target.time_zone().to_offset_info(target.timestamp());
    let when = format!(
        "{} {:04}-{:02}-{:02} {:02}:{:02} {}",
        weekday_abbr(target.weekday()),
        target.year(),
        target.month(),
        target.day(),
        target.hour(),
        target.minute(),
        info.abbreviation()
    );
    let secs = target.duration_since(now).as_secs();
    if secs == 0 {
        return format!("{when}, now");
    }
    let span = human_duration(secs.unsigned_abs());
    if secs > 0 {
        format!("{when}, in {span}")
    } else {
        format!("{when}, {span} ago")
    }
}

fn weekday_abbr(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

/// `secs` as the largest two non-zero-led units among d/h/m (`3h 5m`, `2d`), or seconds under
/// a minute (`45s`): how confirmation lines, `doctor` and missed-run reasons say a length.
pub fn human_duration(secs: u64) -> String {
    if secs < 60 {
        return format!("{secs}s");
    }
    let parts = [
        (secs / 86_400, 'd'),
        (secs % 86_400 / 3_600, 'h'),
        (secs % 3_600 / 60, 'm'),
    ];
    let first = parts.iter().position(|&(n, _)| n != 0).unwrap_or(2);
    let (n, u) = parts[first];
    match parts.get(first + 1) {
        Some(&(n2, u2)) if n2 != 0 => format!("{n}{u} {n2}{u2}"),
        _ => format!("{n}{u}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors in context

/// What every error needs: the expression as typed and the zone name for zone errors.
struct Ctx<'a> {
    expr: &'a str,
    zone: Option<&'a str>,
}

impl Ctx<'_> {
    fn unsupported(&self, reason: impl Into<String>) -> TimeError {
        TimeError::Unsupported {
            expr: self.expr.to_owned(),
            reason: reason.into(),
        }
    }

    fn overflow(&self) -> TimeError {
        TimeError::Overflow {
            expr: self.expr.to_owned(),
        }
    }

    /// The user's text for a byte span (spans come from the same-length lowercased copy).
    fn text(&self, start: usize, end: usize) -> &str {
        self.expr.get(start..end).unwrap_or(self.expr)
    }

    fn invalid_clock(&self, start: usize, end: usize, reason: impl Into<String>) -> TimeError {
        TimeError::InvalidClock {
            expr: self.expr.to_owned(),
            clock: self.text(start, end).to_owned(),
            reason: reason.into(),
        }
    }

    fn zone_suffix(&self, start: usize, end: usize) -> TimeError {
        TimeError::ZoneSuffix {
            expr: self.expr.to_owned(),
            word: self.text(start, end).to_owned(),
            zone: self.zone.map(str::to_owned),
        }
    }

    fn negative(&self) -> TimeError {
        self.unsupported("negative durations are not supported (a deferred task runs later)")
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Copy, Debug)]
enum Kind<'a> {
    /// `digits["." digits]`, kept as text so size limits are checked where the unit is known.
    Num {
        int: &'a str,
        frac: Option<&'a str>,
    },
    /// `H:MM[:SS]`, digits as text (validated by the clock rule).
    Clock {
        hour: &'a str,
        minute: &'a str,
        second: Option<&'a str>,
    },
    /// A run of letters.
    Word(&'a str),
    /// `am`, `pm`, `a.m.`, `p.m.` (the dotted forms cannot be letter runs).
    Meridiem {
        pm: bool,
    },
    Plus,
    Minus,
    /// `YYYY-MM-DD`.
    Date(Date),
    /// An ISO 8601 date-time, with its offset when one was given.
    DateTime {
        dt: DateTime,
        offset: Option<Offset>,
    },
}

#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    kind: Kind<'a>,
    start: usize,
    end: usize,
}

/// Whitespace-separated chunks of `s` with their byte offsets.
fn chunks(s: &str) -> Vec<(usize, &str)> {
    let base = s.as_ptr() as usize;
    s.split(char::is_whitespace)
        .filter(|c| !c.is_empty())
        .map(|c| (c.as_ptr() as usize - base, c))
        .collect()
}

fn lex<'a>(ctx: &Ctx<'_>, s: &'a str) -> Result<Vec<Tok<'a>>, TimeError> {
    let chunks = chunks(s);
    // Zone words first, so `3:60pm EST` is reported for its zone, the more basic mistake.
    for (i, &(start, c)) in chunks.iter().enumerate() {
        // ISO pieces are checked by jiff's parser instead (`17:05+02:00` after a date is fine).
        let iso = is_iso_start(c) || (i > 0 && joins_date(chunks[i - 1].1, c));
        if !iso && let Some((from, to)) = zone_like(c, i == 0) {
            return Err(ctx.zone_suffix(start + from, start + to));
        }
    }
    let mut toks = Vec::with_capacity(8);
    let mut i = 0;
    while i < chunks.len() {
        let (start, c) = chunks[i];
        if is_iso_start(c) {
            // `2026-04-08 17:05[:00][Z|+02:00]` is one ISO date-time with a space separator.
            let next = chunks.get(i + 1).filter(|&&(_, n)| joins_date(c, n));
            let tok = match next {
                Some(&(nstart, n)) => {
                    i += 1;
                    lex_iso(ctx, &format!("{c}T{n}"), start, nstart + n.len())?
                }
                None => lex_iso(ctx, c, start, start + c.len())?,
            };
            toks.push(tok);
        } else {
            lex_chunk(ctx, c, start, &mut toks)?;
        }
        i += 1;
    }
    Ok(toks)
}

fn is_iso_start(c: &str) -> bool {
    let b = c.as_bytes();
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Whether `time` is the time part of an ISO date-time written with a space after `date`
/// (`2026-04-08 17:05:00+02:00`): `HH:MM...` made only of characters such a time can hold.
fn joins_date(date: &str, time: &str) -> bool {
    let b = time.as_bytes();
    is_iso_start(date)
        && !date.contains('t')
        && b.len() >= 5
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2] == b':'
        && b.iter()
            .all(|&x| x.is_ascii_digit() || matches!(x, b':' | b'.' | b',' | b'+' | b'-' | b'z'))
}

/// Zone abbreviations and names people append to times. None collides with a grammar word.
const ZONE_WORDS: &[&str] = &[
    "utc", "gmt", "ut", "z", "zulu", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt",
    "akst", "akdt", "hst", "hdt", "ast", "adt", "nst", "ndt", "et", "ct", "mt", "pt", "eastern",
    "central", "mountain", "pacific", "bst", "ist", "wet", "west", "cet", "cest", "met", "mest",
    "eet", "eest", "msk", "sast", "cat", "eat", "wat", "jst", "kst", "hkt", "sgt", "pht", "ict",
    "wib", "aest", "aedt", "acst", "acdt", "awst", "nzst", "nzdt", "brt", "art", "clt",
];

/// The byte range within chunk `c` of a time zone name or offset, if `c` holds one.
fn zone_like(c: &str, first: bool) -> Option<(usize, usize)> {
    let whole = Some((0, c.len()));
    if c.contains('/') || ZONE_WORDS.contains(&c) {
        return whole;
    }
    // `utc+2`, `gmt-05:00`
    if let Some(rest) = c.strip_prefix("utc").or_else(|| c.strip_prefix("gmt"))
        && let Some(digits) = rest.strip_prefix('+').or_else(|| rest.strip_prefix('-'))
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b':')
    {
        return whole;
    }
    // `+0200`, `-05:00` on their own after a time (a leading one is a `+ duration` typo).
    let b = c.as_bytes();
    if !first && matches!(b.first(), Some(b'+' | b'-')) && is_offset_digits(&b[1..]) {
        return whole;
    }
    // Glued to a time: `17:05+02:00`, `3pm-0500`.
    let pos = c.rfind(['+', '-'])?;
    let before = *b.get(pos.checked_sub(1)?)?;
    ((before.is_ascii_digit() || matches!(before, b'm' | b'.')) && is_offset_digits(&b[pos + 1..]))
        .then_some((pos, c.len()))
}

/// `HHMM` or `HH:MM`.
fn is_offset_digits(b: &[u8]) -> bool {
    match b {
        [a, b2, c, d] => [a, b2, c, d].iter().all(|x| x.is_ascii_digit()),
        [a, b2, b':', c, d] => [a, b2, c, d].iter().all(|x| x.is_ascii_digit()),
        _ => false,
    }
}

fn lex_iso<'a>(ctx: &Ctx<'_>, text: &str, start: usize, end: usize) -> Result<Tok<'a>, TimeError> {
    let invalid = |reason: String| TimeError::InvalidDate {
        expr: ctx.expr.to_owned(),
        text: ctx.text(start, end).to_owned(),
        reason,
    };
    let pieces = Pieces::parse(text).map_err(|e| invalid(e.to_string()))?;
    if pieces.time_zone_annotation().is_some() {
        let from = ctx.text(start, end).find('[').map_or(start, |p| start + p);
        return Err(ctx.zone_suffix(from, end));
    }
    let kind = match (pieces.time(), pieces.to_numeric_offset()) {
        (None, None) => Kind::Date(pieces.date()),
        (None, Some(_)) => return Err(invalid("an offset needs a time of day".to_owned())),
        (Some(time), offset) => Kind::DateTime {
            dt: pieces.date().to_datetime(time),
            offset,
        },
    };
    Ok(Tok { kind, start, end })
}

/// Length of `a.m.`, `a.m`, `p.m.` or `p.m` at the start of `b`, with whether it is pm.
fn dotted_meridiem(b: &[u8]) -> Option<(usize, bool)> {
    let pm = match b {
        [b'a', b'.', b'm', ..] => false,
        [b'p', b'.', b'm', ..] => true,
        _ => return None,
    };
    let len = if b.get(3) == Some(&b'.') { 4 } else { 3 };
    match b.get(len) {
        Some(x) if x.is_ascii_alphanumeric() => None,
        _ => Some((len, pm)),
    }
}

fn scan(b: &[u8], from: usize, pred: fn(&u8) -> bool) -> usize {
    b[from..]
        .iter()
        .position(|x| !pred(x))
        .map_or(b.len(), |p| from + p)
}

fn lex_chunk<'a>(
    ctx: &Ctx<'_>,
    c: &'a str,
    base: usize,
    toks: &mut Vec<Tok<'a>>,
) -> Result<(), TimeError> {
    let b = c.as_bytes();
    let mut j = 0;
    while j < b.len() {
        let (kind, end) = match b[j] {
            b'0'..=b'9' => {
                let k = scan(b, j, u8::is_ascii_digit);
                match b.get(k) {
                    Some(b':') => {
                        let m_end = scan(b, k + 1, u8::is_ascii_digit);
                        let mut end = m_end;
                        let mut second = None;
                        if b.get(m_end) == Some(&b':') {
                            end = scan(b, m_end + 1, u8::is_ascii_digit);
                            second = Some(&c[m_end + 1..end]);
                        }
                        let minute = &c[k + 1..m_end];
                        if minute.len() != 2 || second.is_some_and(|s| s.len() != 2) {
                            return Err(ctx.invalid_clock(
                                base + j,
                                base + end,
                                "minutes and seconds take two digits, e.g. 3:05pm or 14:30",
                            ));
                        }
                        (
                            Kind::Clock {
                                hour: &c[j..k],
                                minute,
                                second,
                            },
                            end,
                        )
                    }
                    Some(b'.') if b.get(k + 1).is_some_and(u8::is_ascii_digit) => {
                        let end = scan(b, k + 1, u8::is_ascii_digit);
                        (
                            Kind::Num {
                                int: &c[j..k],
                                frac: Some(&c[k + 1..end]),
                            },
                            end,
                        )
                    }
                    _ => (
                        Kind::Num {
                            int: &c[j..k],
                            frac: None,
                        },
                        k,
                    ),
                }
            }
            b'a'..=b'z' => {
                if let Some((len, pm)) = dotted_meridiem(&b[j..]) {
                    (Kind::Meridiem { pm }, j + len)
                } else {
                    let k = scan(b, j, u8::is_ascii_lowercase);
                    match &c[j..k] {
                        "am" | "pm" => {
                            let end = if b.get(k) == Some(&b'.') { k + 1 } else { k };
                            (
                                Kind::Meridiem {
                                    pm: &c[j..k] == "pm",
                                },
                                end,
                            )
                        }
                        w => (Kind::Word(w), k),
                    }
                }
            }
            b'+' => (Kind::Plus, j + 1),
            b'-' => (Kind::Minus, j + 1),
            _ => {
                // Only ASCII has been consumed so far, so `j` is a char boundary.
                let ch = c[j..].chars().next().unwrap_or('?');
                return Err(ctx.unsupported(format!("unexpected character {:?}", ch.to_string())));
            }
        };
        toks.push(Tok {
            kind,
            start: base + j,
            end: base + end,
        });
        j = end;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Parser

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl Unit {
    fn from_word(w: &str) -> Option<Unit> {
        Some(match w {
            "w" | "wk" | "wks" | "week" | "weeks" => Unit::Week,
            "d" | "day" | "days" => Unit::Day,
            "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
            "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minute,
            "s" | "sec" | "secs" | "second" | "seconds" => Unit::Second,
            _ => return None,
        })
    }

    /// Length in nanoseconds of the elapsed units (weeks and days are calendar units).
    fn nanos(self) -> i128 {
        match self {
            Unit::Week | Unit::Day => 0,
            Unit::Hour => 3_600_000_000_000,
            Unit::Minute => 60_000_000_000,
            Unit::Second => 1_000_000_000,
        }
    }
}

fn is_month_word(w: &str) -> bool {
    matches!(
        w,
        "mo" | "mos" | "month" | "months" | "y" | "yr" | "yrs" | "year" | "years"
    )
}

fn weekday(w: &str) -> Option<Weekday> {
    Some(match w {
        "monday" | "mon" => Weekday::Monday,
        "tuesday" | "tue" | "tues" => Weekday::Tuesday,
        "wednesday" | "wed" | "weds" => Weekday::Wednesday,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thursday,
        "friday" | "fri" => Weekday::Friday,
        "saturday" | "sat" => Weekday::Saturday,
        "sunday" | "sun" => Weekday::Sunday,
        _ => return None,
    })
}

/// A duration split the way it is applied: calendar days first, then elapsed nanoseconds.
#[derive(Debug, Default)]
struct Dur {
    days: i64,
    nanos: i128,
    seen: [bool; 5],
}

#[derive(Clone, Copy, Debug)]
struct Clock {
    time: Time,
    /// Spelled `midnight`, which is refused next to a day (start or end of that day?).
    midnight: bool,
}

#[derive(Clone, Copy, Debug)]
enum Day {
    Today,
    Tomorrow,
    NextWeek,
    Weekday {
        wd: Weekday,
        strictly_after_today: bool,
    },
    Date(Date),
}

#[derive(Debug)]
enum Ast {
    Now,
    Relative {
        dur: Dur,
        clock: Option<Clock>,
    },
    Absolute {
        dt: DateTime,
        offset: Option<Offset>,
    },
    Day {
        day: Option<Day>,
        clock: Option<Clock>,
    },
}

struct Parser<'a> {
    toks: &'a [Tok<'a>],
    pos: usize,
    ctx: &'a Ctx<'a>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Kind<'a>> {
        self.toks.get(self.pos).map(|t| t.kind)
    }

    fn peek_word(&self, ahead: usize) -> Option<&'a str> {
        match self.toks.get(self.pos + ahead)?.kind {
            Kind::Word(w) => Some(w),
            _ => None,
        }
    }

    fn tok_text(&self, i: usize) -> &'a str {
        self.toks
            .get(i)
            .map_or("", |t| self.ctx.text(t.start, t.end))
    }

    /// The error for the token at the cursor (or for a missing one).
    fn unexpected(&self) -> TimeError {
        let Some(tok) = self.toks.get(self.pos) else {
            return self.ctx.unsupported("the expression ends too early");
        };
        let reason = match tok.kind {
            Kind::Word(w) => word_hint(w, self.tok_text(self.pos)),
            Kind::Minus => return self.ctx.negative(),
            _ => format!("unexpected {:?}", self.tok_text(self.pos)),
        };
        self.ctx.unsupported(reason)
    }

    fn expect_end(&self) -> Result<(), TimeError> {
        if self.pos < self.toks.len() {
            Err(self.unexpected())
        } else {
            Ok(())
        }
    }

    fn parse(mut self) -> Result<Ast, TimeError> {
        let Some(first) = self.peek() else {
            return Err(TimeError::Empty);
        };
        match first {
            Kind::Word("now") => {
                self.pos += 1;
                match self.peek() {
                    None => Ok(Ast::Now),
                    Some(Kind::Plus) => {
                        self.pos += 1;
                        self.relative(false)
                    }
                    Some(_) => Err(self.unexpected()),
                }
            }
            Kind::Word("in") | Kind::Plus => {
                self.pos += 1;
                self.relative(false)
            }
            Kind::Minus => Err(self.ctx.negative()),
            Kind::DateTime { dt, offset } => {
                self.pos += 1;
                self.expect_end()?;
                Ok(Ast::Absolute { dt, offset })
            }
            Kind::Word("a" | "an" | "half") => self.relative(true),
            Kind::Num { .. }
                if self
                    .peek_word(1)
                    .is_some_and(|w| Unit::from_word(w).is_some() || is_month_word(w)) =>
            {
                self.relative(true)
            }
            _ => self.day_clock(),
        }
    }

    /// A duration and an optional clock; `bare` (no `in`/`+` prefix) allows `from now`.
    fn relative(&mut self, bare: bool) -> Result<Ast, TimeError> {
        let dur = self.duration()?;
        if bare && self.peek_word(0) == Some("from") && self.peek_word(1) == Some("now") {
            self.pos += 2;
        }
        let clock = if self.at_clock_start() {
            let start = self.pos;
            let clock = self.clock()?;
            if dur.nanos != 0 {
                return Err(self.ctx.unsupported(
                    r#"a clock time after a duration needs whole days or weeks, e.g. "in 2 days at 9am""#,
                ));
            }
            if clock.midnight {
                return Err(self.midnight_with_day(start));
            }
            Some(clock)
        } else {
            None
        };
        self.expect_end()?;
        Ok(Ast::Relative { dur, clock })
    }

    fn duration(&mut self) -> Result<Dur, TimeError> {
        let mut dur = Dur::default();
        self.term(&mut dur)?;
        loop {
            match self.peek() {
                Some(Kind::Word("and")) => {
                    self.pos += 1;
                    self.term(&mut dur)?;
                }
                Some(Kind::Word("a" | "an" | "half")) => self.term(&mut dur)?,
                // A number followed by a word continues the duration (`2h 30m`, or an error
                // naming a missing unit); any other number is a clock (`in 2 days 9am`, `1430`).
                Some(Kind::Num { .. }) if self.peek_word(1).is_some() => self.term(&mut dur)?,
                _ => return Ok(dur),
            }
        }
    }

    /// One `number unit`, `a unit` or `half a unit`, added to `dur`.
    fn term(&mut self, dur: &mut Dur) -> Result<(), TimeError> {
        let num_at = self.pos;
        let (int, frac) = match self.peek() {
            Some(Kind::Num { int, frac }) => {
                self.pos += 1;
                (int, frac)
            }
            Some(Kind::Word("a" | "an")) => {
                self.pos += 1;
                ("1", None)
            }
            Some(Kind::Word("half")) => {
                self.pos += 1;
                if matches!(self.peek(), Some(Kind::Word("a" | "an"))) {
                    self.pos += 1;
                }
                ("0", Some("5"))
            }
            Some(Kind::Minus) => return Err(self.ctx.negative()),
            None => {
                return Err(self
                    .ctx
                    .unsupported("expected a duration such as 30m or 2 hours"));
            }
            Some(_) => return Err(self.unexpected()),
        };
        let unit = match self.peek_word(0) {
            Some(w) if Unit::from_word(w).is_some() => Unit::from_word(w),
            Some(w) if is_month_word(w) => None,
            _ => {
                return Err(self.ctx.unsupported(format!(
                    "missing unit after {:?} (add w, d, h, m or s, e.g. \"{}m\")",
                    self.tok_text(num_at),
                    self.tok_text(num_at)
                )));
            }
        };
        let Some(unit) = unit else {
            return Err(self.unexpected());
        };
        self.pos += 1;
        let idx = unit as usize;
        if dur.seen[idx] {
            return Err(self.ctx.unsupported(format!(
                "the unit {:?} appears twice; give each unit once, e.g. \"1h 30m\"",
                self.tok_text(self.pos - 1)
            )));
        }
        dur.seen[idx] = true;
        let frac = frac.filter(|f| f.bytes().any(|b| b != b'0'));
        let int = parse_u64(int).ok_or_else(|| self.ctx.overflow())?;
        match unit {
            Unit::Week | Unit::Day => {
                if frac.is_some() {
                    return Err(self.ctx.unsupported(
                        "fractional days and weeks are not supported (a calendar day is not \
                         always 24 hours); write hours instead, e.g. \"36h\" for 1.5 days",
                    ));
                }
                let per = if unit == Unit::Week { 7 } else { 1 };
                dur.days = i64::try_from(int)
                    .ok()
                    .and_then(|n| n.checked_mul(per))
                    .and_then(|n| n.checked_add(dur.days))
                    .ok_or_else(|| self.ctx.overflow())?;
            }
            Unit::Hour | Unit::Minute | Unit::Second => {
                let per = unit.nanos();
                let whole = i128::from(int) * per; // < 2^64 * 2^42, far below i128::MAX
                let part = frac.map_or(0, |f| frac_nanos(f, per));
                dur.nanos = dur
                    .nanos
                    .checked_add(whole + part)
                    .ok_or_else(|| self.ctx.overflow())?;
            }
        }
        Ok(())
    }

    fn at_clock_start(&self) -> bool {
        matches!(
            self.peek(),
            Some(Kind::Word("at" | "noon" | "midnight") | Kind::Clock { .. } | Kind::Num { .. })
        )
    }

    /// `["at"] clock`
    fn clock(&mut self) -> Result<Clock, TimeError> {
        if self.peek_word(0) == Some("at") {
            self.pos += 1;
        }
        let start = self.pos;
        let ctx = self.ctx;
        let (hour, minute, second) = match self.peek() {
            Some(Kind::Word("noon")) => {
                self.pos += 1;
                return Ok(Clock {
                    time: jiff::civil::time(12, 0, 0, 0),
                    midnight: false,
                });
            }
            Some(Kind::Word("midnight")) => {
                self.pos += 1;
                return Ok(Clock {
                    time: Time::midnight(),
                    midnight: true,
                });
            }
            Some(Kind::Clock {
                hour,
                minute,
                second,
            }) => (hour, Some(minute), second),
            Some(Kind::Num { int, frac: None }) => (int, None, None),
            Some(Kind::Num { frac: Some(_), .. }) => {
                let t = self.tok_text(start);
                return Err(ctx.invalid_clock(
                    self.toks[start].start,
                    self.toks[start].end,
                    format!(
                        "write hours and minutes with a colon, e.g. {:?}",
                        t.replace('.', ":")
                    ),
                ));
            }
            None => {
                return Err(ctx.unsupported(r#"expected a clock time after "at", e.g. "at 3pm""#));
            }
            Some(_) => return Err(self.unexpected()),
        };
        self.pos += 1;
        let meridiem = match self.peek() {
            Some(Kind::Meridiem { pm }) => {
                self.pos += 1;
                Some(pm)
            }
            _ => None,
        };
        let (from, to) = (self.toks[start].start, self.toks[self.pos - 1].end);
        let bad = |reason: String| ctx.invalid_clock(from, to, reason);
        let h = parse_u64(hour).unwrap_or(u64::MAX);
        let m = minute.map_or(Some(0), parse_u64).unwrap_or(u64::MAX);
        let s = second.map_or(Some(0), parse_u64).unwrap_or(u64::MAX);
        let (h, m) = match (minute, meridiem) {
            (None, None) => {
                if self
                    .peek_word(0)
                    .is_some_and(|w| Unit::from_word(w).is_some())
                {
                    return Err(ctx.unsupported(
                        r#"a duration cannot follow a day or clock; write "in 1 day 2 hours" or "tomorrow 2pm""#,
                    ));
                }
                match hour.len() {
                    4 => (h / 100, h % 100),
                    1 | 2 => {
                        return Err(TimeError::Ambiguous {
                            expr: ctx.expr.to_owned(),
                            number: hour.to_owned(),
                        });
                    }
                    3 => {
                        return Err(bad(format!(
                            "write it with a colon, e.g. \"{}:{}\" or \"0{}:{}\"",
                            &hour[..1],
                            &hour[1..],
                            &hour[..1],
                            &hour[1..]
                        )));
                    }
                    _ => {
                        return Err(bad(
                            r#"not a clock time; write 24-hour time as "14:30" or "1430""#.into(),
                        ));
                    }
                }
            }
            (Some(_), _) if hour.len() > 2 => {
                return Err(bad(
                    "hours take one or two digits, e.g. 9:30 or 14:30".into()
                ));
            }
            (Some(_), None) => (h, m),
            (_, Some(pm)) => {
                if minute.is_none() && hour.len() > 2 {
                    let split = hour.len() - 2;
                    return Err(bad(format!(
                        "write hours and minutes with a colon, e.g. \"{}:{}{}\"",
                        &hour[..split],
                        &hour[split..],
                        if pm { "pm" } else { "am" }
                    )));
                }
                if !(1..=12).contains(&h) {
                    let hint = if h == 0 {
                        "with am/pm the hour runs from 1 to 12 (12am is midnight, 12pm is noon)"
                            .to_owned()
                    } else if h <= 23 {
                        format!(
                            "with am/pm the hour runs from 1 to 12; write \"{h}:{m:02}\" \
                             without am/pm, or \"{}:{m:02}pm\"",
                            h - 12
                        )
                    } else {
                        "with am/pm the hour runs from 1 to 12".to_owned()
                    };
                    return Err(bad(hint));
                }
                (h % 12 + if pm { 12 } else { 0 }, m)
            }
        };
        if h > 23 {
            return Err(bad(
                r#"hours run from 0 to 23; for the start of a day write "00:00" or "midnight""#
                    .into(),
            ));
        }
        if m > 59 || s > 59 {
            return Err(bad("minutes and seconds run from 00 to 59".into()));
        }
        // All three are range-checked above, so the conversions and `Time::new` succeed.
        let time = Time::new(small(h), small(m), small(s), 0).map_err(|e| bad(e.to_string()))?;
        Ok(Clock {
            time,
            midnight: false,
        })
    }

    fn midnight_with_day(&self, clock_tok: usize) -> TimeError {
        let clock_tok = if self.tok_text(clock_tok).eq_ignore_ascii_case("at") {
            clock_tok + 1
        } else {
            clock_tok
        };
        let (from, to) = self
            .toks
            .get(clock_tok)
            .map_or((0, self.ctx.expr.len()), |t| (t.start, t.end));
        self.ctx.invalid_clock(
            from,
            to,
            r#""midnight" next to a day is ambiguous (the start or the end of that day?); write "00:00" with the day that follows, e.g. "saturday 00:00", or use "midnight" alone for the next one"#,
        )
    }

    /// `day [clock] | clock [day]`, each at most once.
    fn day_clock(&mut self) -> Result<Ast, TimeError> {
        let mut day = None;
        let mut clock = None;
        let mut clock_at = 0;
        while self.pos < self.toks.len() {
            if clock.is_none() && self.at_clock_start() {
                clock_at = self.pos;
                clock = Some(self.clock()?);
            } else if day.is_none() {
                day = Some(self.day()?);
            } else {
                return Err(self.unexpected());
            }
        }
        if day.is_some() && clock.is_some_and(|c| c.midnight) {
            return Err(self.midnight_with_day(clock_at));
        }
        Ok(Ast::Day { day, clock })
    }

    /// `today | tomorrow | next week | [on|this|next] weekday | [on] date`
    fn day(&mut self) -> Result<Day, TimeError> {
        let weekday_here = |p: &Self| p.peek_word(0).and_then(weekday);
        let day = match self.peek() {
            Some(Kind::Word("today")) => Day::Today,
            Some(Kind::Word("tomorrow")) => Day::Tomorrow,
            Some(Kind::Date(d)) => Day::Date(d),
            Some(Kind::Word(w @ ("this" | "next" | "on"))) => {
                self.pos += 1;
                match (w, self.peek(), weekday_here(self)) {
                    (_, _, Some(wd)) => Day::Weekday {
                        wd,
                        strictly_after_today: w == "next",
                    },
                    ("next", Some(Kind::Word("week")), _) => Day::NextWeek,
                    ("on", Some(Kind::Date(d)), _) => Day::Date(d),
                    (_, Some(Kind::Word(x)), _) if is_month_word(x) => {
                        return Err(self.unexpected());
                    }
                    _ => {
                        let what = match w {
                            "next" => r#"a weekday or "week""#,
                            "on" => "a weekday or a date",
                            _ => "a weekday",
                        };
                        let after = self.tok_text(self.pos - 1);
                        return Err(self
                            .ctx
                            .unsupported(format!("expected {what} after {after:?}")));
                    }
                }
            }
            _ => match weekday_here(self) {
                Some(wd) => Day::Weekday {
                    wd,
                    strictly_after_today: false,
                },
                None => return Err(self.unexpected()),
            },
        };
        self.pos += 1;
        Ok(day)
    }
}

/// A targeted hint for a word outside the grammar.
fn word_hint(w: &str, as_typed: &str) -> String {
    match w {
        "ago" | "yesterday" | "last" | "before" | "earlier" => {
            format!("{as_typed:?} points to the past; a deferred task needs a time from now on")
        }
        _ if is_month_word(w) => format!(
            "{as_typed:?}: months and years are not supported; use days or weeks (\"30d\", \"4w\") \
             or a date (\"2026-12-25\")"
        ),
        "tonight" | "morning" | "afternoon" | "evening" | "night" => {
            format!("{as_typed:?} is not a clock time; name one, e.g. \"today 8pm\"")
        }
        _ => format!("unexpected word {as_typed:?}"),
    }
}

/// Checked decimal parse of an all-digit string (`None` when it does not fit in a `u64`).
fn parse_u64(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// `0.<frac>` of a unit, in nanoseconds, truncated; digits past the 18th cannot matter.
fn frac_nanos(frac: &str, unit_nanos: i128) -> i128 {
    let digits = frac.get(..frac.len().min(18)).unwrap_or(frac);
    let (num, den) = digits.bytes().fold((0i128, 1i128), |(n, d), b| {
        (n * 10 + i128::from(b - b'0'), d * 10)
    });
    num * unit_nanos / den
}

/// A value already checked to be at most 59.
fn small(v: u64) -> i8 {
    i8::try_from(v).unwrap_or(i8::MAX)
}

// ---------------------------------------------------------------------------------------------
// Resolution

fn resolve(ctx: &Ctx<'_>, ast: &Ast, now: &ZonedDateTime) -> Result<ZonedDateTime, TimeError> {
    let tz = now.time_zone();
    let overflow = |_: jiff::Error| ctx.overflow();
    // A wall-clock time on a date in now's zone: gap → forward by the gap, fold → earlier.
    let wall = |date: Date, time: Time| {
        tz.to_ambiguous_zoned_datetime(date.to_datetime(time))
            .disambiguate(Disambiguation::Compatible)
            .map_err(overflow)
    };
    let add_days = |days: i64| -> Result<ZonedDateTime, TimeError> {
        if days == 0 {
            return Ok(now.clone());
        }
        now.checked_add(Span::new().try_days(days).map_err(overflow)?)
            .map_err(overflow)
    };
    let date_plus = |days: i64| -> Result<Date, TimeError> {
        now.date()
            .checked_add(Span::new().try_days(days).map_err(overflow)?)
            .map_err(overflow)
    };
    match ast {
        Ast::Now => Ok(now.clone()),
        Ast::Absolute {
            dt,
            offset: Some(offset),
        } => Ok(offset
            .to_timestamp(*dt)
            .map_err(overflow)?
            .to_zoned_datetime(tz.clone())),
        Ast::Absolute { dt, offset: None } => wall(dt.date(), dt.time()),
        Ast::Relative {
            dur,
            clock: Some(clock),
        } => wall(date_plus(dur.days)?, clock.time),
        Ast::Relative { dur, clock: None } => {
            let z = add_days(dur.days)?;
            if dur.nanos == 0 {
                return Ok(z);
            }
            let elapsed =
                SignedDuration::try_from_nanos_i128(dur.nanos).ok_or_else(|| ctx.overflow())?;
            z.checked_add(elapsed).map_err(overflow)
        }
        Ast::Day { day, clock } => {
            let time = clock.map(|c| c.time);
            match (*day, time) {
                (None, None) => Err(ctx.unsupported("expected a day or a clock time")),
                (None, Some(t)) => {
                    let today = wall(now.date(), t)?;
                    if today.timestamp() > now.timestamp() {
                        Ok(today)
                    } else {
                        wall(date_plus(1)?, t)
                    }
                }
                (Some(Day::Today), None) => Ok(now.clone()),
                (Some(Day::Today), Some(t)) => wall(now.date(), t),
                (Some(Day::Tomorrow), None) => add_days(1),
                (Some(Day::Tomorrow), Some(t)) => wall(date_plus(1)?, t),
                (Some(Day::NextWeek), None) => add_days(7),
                (Some(Day::NextWeek), Some(t)) => wall(date_plus(7)?, t),
                (Some(Day::Date(d)), t) => wall(d, t.unwrap_or_else(Time::midnight)),
                (
                    Some(Day::Weekday {
                        wd,
                        strictly_after_today,
                    }),
                    t,
                ) => {
                    let k = i64::from(wd.since(now.weekday()));
                    match t {
                        // Today at now's time of day is never strictly ahead: a week later.
                        None => add_days(if k == 0 { 7 } else { k }),
                        Some(t) if k == 0 && strictly_after_today => wall(date_plus(7)?, t),
                        Some(t) => {
                            let first = wall(date_plus(k)?, t)?;
                            if k == 0 && first.timestamp() <= now.timestamp() {
                                wall(date_plus(7)?, t)
                            } else {
                                Ok(first)
                            }
                        }
                    }
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    /// Thursday 2026-11-26, 10:01 EST (the day before the example in `describe`'s docs).
    const THU: &str = "2026-11-26T10:01:00-05:00[America/New_York]";
    /// Friday 2026-11-27, 10:00 and 16:00 EST.
    const FRI_10: &str = "2026-11-27T10:00:00-05:00[America/New_York]";
    const FRI_16: &str = "2026-11-27T16:00:00-05:00[America/New_York]";
    /// The day before spring forward (2026-03-08 02:00 EST → 03:00 EDT), and that night.
    const SPRING_EVE: &str = "2026-03-07T12:00:00-05:00[America/New_York]";
    const SPRING_NIGHT: &str = "2026-03-08T00:30:00-05:00[America/New_York]";
    /// The day before fall back (2026-11-01 02:00 EDT → 01:00 EST), and that night.
    const FALL_EVE: &str = "2026-10-31T12:00:00-04:00[America/New_York]";
    const FALL_NIGHT: &str = "2026-11-01T00:30:00-04:00[America/New_York]";

    fn zoned(s: &str) -> ZonedDateTime {
        s.parse().expect("fixture is a valid zoned datetime")
    }

    /// RFC 3339 with the local offset, so a table entry pins both the instant and the offset.
    fn rfc3339(z: &ZonedDateTime) -> String {
        z.timestamp().display_with_offset(z.offset()).to_string()
    }

    fn check(now: &str, cases: &[(&str, &str)]) {
        let now = zoned(now);
        for &(input, want) in cases {
            let got = parse(input, &now).unwrap_or_else(|e| panic!("{input:?} failed: {e}"));
            assert_eq!(rfc3339(&got), want, "input {input:?}");
            assert_eq!(got.time_zone(), now.time_zone(), "input {input:?}: zone");
        }
    }

    #[test]
    fn spec_table_one() {
        check(
            THU,
            &[
                // now
                ("now", "2026-11-26T10:01:00-05:00"),
                // compact durations, optional `+` or `in `
                ("10m", "2026-11-26T10:11:00-05:00"),
                ("2h", "2026-11-26T12:01:00-05:00"),
                ("1d2h30m", "2026-11-27T12:31:00-05:00"),
                ("1w", "2026-12-03T10:01:00-05:00"),
                ("45s", "2026-11-26T10:01:45-05:00"),
                ("+10m", "2026-11-26T10:11:00-05:00"),
                ("in 10m", "2026-11-26T10:11:00-05:00"),
                // verbose durations
                ("10 minutes", "2026-11-26T10:11:00-05:00"),
                ("in 2 hours", "2026-11-26T12:01:00-05:00"),
                ("1 hour 30 minutes", "2026-11-26T11:31:00-05:00"),
                ("3 hrs", "2026-11-26T13:01:00-05:00"),
                ("5 mins", "2026-11-26T10:06:00-05:00"),
                ("30 secs", "2026-11-26T10:01:30-05:00"),
                ("2 days", "2026-11-28T10:01:00-05:00"),
                ("1 week", "2026-12-03T10:01:00-05:00"),
                // clocks: the next time the wall clock shows them
                ("3pm", "2026-11-26T15:00:00-05:00"),
                ("3 pm", "2026-11-26T15:00:00-05:00"),
                ("3:30pm", "2026-11-26T15:30:00-05:00"),
                ("3:30 p.m.", "2026-11-26T15:30:00-05:00"),
                ("14:30", "2026-11-26T14:30:00-05:00"),
                ("1430", "2026-11-26T14:30:00-05:00"),
                ("noon", "2026-11-26T12:00:00-05:00"),
                ("midnight", "2026-11-27T00:00:00-05:00"),
                // day phrases
                ("today", "2026-11-26T10:01:00-05:00"),
                ("tomorrow", "2026-11-27T10:01:00-05:00"),
                ("today 5pm", "2026-11-26T17:00:00-05:00"),
                ("tomorrow 9am", "2026-11-27T09:00:00-05:00"),
                ("tomorrow noon", "2026-11-27T12:00:00-05:00"),
                // weekdays: strictly after today (now is a Thursday)
                ("next friday", "2026-11-27T10:01:00-05:00"),
                ("next friday 3pm", "2026-11-27T15:00:00-05:00"),
                ("next monday 9am", "2026-11-30T09:00:00-05:00"),
                ("next thursday", "2026-12-03T10:01:00-05:00"),
                // ISO 8601
                ("2026-04-08T17:05:00Z", "2026-04-08T13:05:00-04:00"),
                ("2026-04-08T17:05:00+02:00", "2026-04-08T11:05:00-04:00"),
                ("2026-04-08T17:05:00", "2026-04-08T17:05:00-04:00"),
                ("2026-04-08 17:05", "2026-04-08T17:05:00-04:00"),
            ],
        );
    }

    #[test]
    fn spec_table_two() {
        check(
            THU,
            &[
                // `at` before a clock
                ("at 3pm", "2026-11-26T15:00:00-05:00"),
                ("tomorrow at 9am", "2026-11-27T09:00:00-05:00"),
                ("next friday at 3pm", "2026-11-27T15:00:00-05:00"),
                // clock before the day
                ("9am tomorrow", "2026-11-27T09:00:00-05:00"),
                ("noon tomorrow", "2026-11-27T12:00:00-05:00"),
                ("3pm next friday", "2026-11-27T15:00:00-05:00"),
                // bare / `this` weekday: nearest, today included when still ahead
                ("friday", "2026-11-27T10:01:00-05:00"),
                ("friday 3pm", "2026-11-27T15:00:00-05:00"),
                ("this friday 3pm", "2026-11-27T15:00:00-05:00"),
                ("thursday 3pm", "2026-11-26T15:00:00-05:00"),
                ("this thursday 3pm", "2026-11-26T15:00:00-05:00"),
                ("thursday 9am", "2026-12-03T09:00:00-05:00"),
                ("thursday", "2026-12-03T10:01:00-05:00"),
                ("wednesday", "2026-12-02T10:01:00-05:00"),
                // spaced / fractional / word durations
                ("2h 30m", "2026-11-26T12:31:00-05:00"),
                ("in 1h 30m", "2026-11-26T11:31:00-05:00"),
                ("1.5h", "2026-11-26T11:31:00-05:00"),
                ("in an hour", "2026-11-26T11:01:00-05:00"),
                ("in a minute", "2026-11-26T10:02:00-05:00"),
                ("in half an hour", "2026-11-26T10:31:00-05:00"),
                ("now + 30 minutes", "2026-11-26T10:31:00-05:00"),
                ("now+30m", "2026-11-26T10:31:00-05:00"),
                // duration, then a clock
                ("in 2 days at 9am", "2026-11-28T09:00:00-05:00"),
                ("in 1 week at 9am", "2026-12-03T09:00:00-05:00"),
                // next week
                ("next week", "2026-12-03T10:01:00-05:00"),
                // date, optionally with a clock
                ("2026-12-25", "2026-12-25T00:00:00-05:00"),
                ("2026-12-25 9am", "2026-12-25T09:00:00-05:00"),
            ],
        );
    }

    #[test]
    fn more_accepted_forms() {
        check(
            THU,
            &[
                // case, spacing
                ("  TOMORROW   9AM ", "2026-11-27T09:00:00-05:00"),
                ("\u{a0}3pm\u{2003}", "2026-11-26T15:00:00-05:00"),
                ("Tomorrow At Noon", "2026-11-27T12:00:00-05:00"),
                ("3:30 P.M.", "2026-11-26T15:30:00-05:00"),
                ("3:30\tpm", "2026-11-26T15:30:00-05:00"),
                ("9 a.m. tomorrow", "2026-11-27T09:00:00-05:00"),
                ("9a.m", "2026-11-27T09:00:00-05:00"),
                ("9pm.", "2026-11-26T21:00:00-05:00"),
                // 12am / 12pm, past clocks roll to tomorrow, equality is not "ahead"
                ("12am", "2026-11-27T00:00:00-05:00"),
                ("12pm", "2026-11-26T12:00:00-05:00"),
                ("12:30am", "2026-11-27T00:30:00-05:00"),
                ("9am", "2026-11-27T09:00:00-05:00"),
                ("0900", "2026-11-27T09:00:00-05:00"),
                ("10:01", "2026-11-27T10:01:00-05:00"),
                ("10:02", "2026-11-26T10:02:00-05:00"),
                ("00:00", "2026-11-27T00:00:00-05:00"),
                ("23:59:59", "2026-11-26T23:59:59-05:00"),
                ("3:30:15pm", "2026-11-26T15:30:15-05:00"),
                ("at midnight", "2026-11-27T00:00:00-05:00"),
                // a past clock on a named day is kept (the caller warns)
                ("today 9am", "2026-11-26T09:00:00-05:00"),
                ("today at 00:00", "2026-11-26T00:00:00-05:00"),
                // weekday spellings
                ("fri 3pm", "2026-11-27T15:00:00-05:00"),
                ("on friday at 3pm", "2026-11-27T15:00:00-05:00"),
                ("at 3pm on friday", "2026-11-27T15:00:00-05:00"),
                ("thurs 3pm", "2026-11-26T15:00:00-05:00"),
                ("next thu 9am", "2026-12-03T09:00:00-05:00"),
                ("tues", "2026-12-01T10:01:00-05:00"),
                ("next sun noon", "2026-11-29T12:00:00-05:00"),
                // more durations
                ("0s", "2026-11-26T10:01:00-05:00"),
                ("in 0 seconds", "2026-11-26T10:01:00-05:00"),
                ("0.0h", "2026-11-26T10:01:00-05:00"),
                ("1.0d", "2026-11-27T10:01:00-05:00"),
                ("0.5m", "2026-11-26T10:01:30-05:00"),
                ("0.25s", "2026-11-26T10:01:00.25-05:00"),
                ("90s", "2026-11-26T10:02:30-05:00"),
                ("1d 2h 30m", "2026-11-27T12:31:00-05:00"),
                ("30m2h", "2026-11-26T12:31:00-05:00"),
                ("in 1 day 2 hours", "2026-11-27T12:01:00-05:00"),
                ("1 hour and 30 minutes", "2026-11-26T11:31:00-05:00"),
                ("an hour", "2026-11-26T11:01:00-05:00"),
                ("a minute", "2026-11-26T10:02:00-05:00"),
                ("a week", "2026-12-03T10:01:00-05:00"),
                ("half a minute", "2026-11-26T10:01:30-05:00"),
                ("10 minutes from now", "2026-11-26T10:11:00-05:00"),
                ("+ 10m", "2026-11-26T10:11:00-05:00"),
                ("now + 1 day at 9am", "2026-11-27T09:00:00-05:00"),
                ("2 days at 9am", "2026-11-28T09:00:00-05:00"),
                ("in 2 days 9am", "2026-11-28T09:00:00-05:00"),
                ("in a week at noon", "2026-12-03T12:00:00-05:00"),
                ("in 0 days at 9am", "2026-11-26T09:00:00-05:00"),
                ("3 wks", "2026-12-17T10:01:00-05:00"),
                ("1 sec", "2026-11-26T10:01:01-05:00"),
                ("in 100000 weeks", "3943-06-10T10:01:00-04:00"),
                ("next week 9am", "2026-12-03T09:00:00-05:00"),
                ("9am next week", "2026-12-03T09:00:00-05:00"),
                // dates and ISO variants
                ("2026-12-25 at 9am", "2026-12-25T09:00:00-05:00"),
                ("9am 2026-12-25", "2026-12-25T09:00:00-05:00"),
                ("on 2026-12-25", "2026-12-25T00:00:00-05:00"),
                ("2026-12-25 14:30", "2026-12-25T14:30:00-05:00"),
                ("2026-12-25 1430", "2026-12-25T14:30:00-05:00"),
                ("2026-12-25 3:30pm", "2026-12-25T15:30:00-05:00"),
                ("2026-04-08t17:05:00z", "2026-04-08T13:05:00-04:00"),
                ("2026-04-08T17:05:00.5Z", "2026-04-08T13:05:00.5-04:00"),
                ("2026-04-08 17:05:00Z", "2026-04-08T13:05:00-04:00"),
                ("2026-04-08 17:05:00+02:00", "2026-04-08T11:05:00-04:00"),
                ("2026-04-08 17:05-05:00", "2026-04-08T18:05:00-04:00"),
                ("2026-04-08 17:05:30", "2026-04-08T17:05:30-04:00"),
                ("2026-04-08T17:05:00-0500", "2026-04-08T18:05:00-04:00"),
                ("2020-01-01T00:00:00Z", "2019-12-31T19:00:00-05:00"),
            ],
        );
    }

    #[test]
    fn weekday_on_that_weekday() {
        check(
            FRI_10,
            &[
                ("friday 3pm", "2026-11-27T15:00:00-05:00"),
                ("this friday 3pm", "2026-11-27T15:00:00-05:00"),
                ("friday 9am", "2026-12-04T09:00:00-05:00"),
                ("friday", "2026-12-04T10:00:00-05:00"),
                ("next friday", "2026-12-04T10:00:00-05:00"),
                ("next friday 3pm", "2026-12-04T15:00:00-05:00"),
                ("saturday", "2026-11-28T10:00:00-05:00"),
                ("next saturday", "2026-11-28T10:00:00-05:00"),
            ],
        );
        check(
            FRI_16,
            &[
                ("friday 3pm", "2026-12-04T15:00:00-05:00"),
                ("3pm", "2026-11-28T15:00:00-05:00"),
                ("friday 5pm", "2026-11-27T17:00:00-05:00"),
            ],
        );
    }

    #[test]
    fn spring_forward() {
        check(
            SPRING_EVE,
            &[
                // elapsed vs calendar across the change
                ("24h", "2026-03-08T13:00:00-04:00"),
                ("1d", "2026-03-08T12:00:00-04:00"),
                ("tomorrow", "2026-03-08T12:00:00-04:00"),
                ("1d1h", "2026-03-08T13:00:00-04:00"),
                // a wall time in the gap moves forward by the gap
                ("tomorrow 2:30am", "2026-03-08T03:30:00-04:00"),
                ("2026-03-08T02:30", "2026-03-08T03:30:00-04:00"),
                ("2026-03-08 2:30am", "2026-03-08T03:30:00-04:00"),
            ],
        );
        check(
            SPRING_NIGHT,
            &[
                ("2:30am", "2026-03-08T03:30:00-04:00"),
                ("1:30am", "2026-03-08T01:30:00-05:00"),
                ("3h", "2026-03-08T04:30:00-04:00"),
                ("1d", "2026-03-09T00:30:00-04:00"),
            ],
        );
    }

    #[test]
    fn fall_back() {
        check(
            FALL_EVE,
            &[
                ("24h", "2026-11-01T11:00:00-05:00"),
                ("1d", "2026-11-01T12:00:00-05:00"),
                ("tomorrow 1:30am", "2026-11-01T01:30:00-04:00"),
            ],
        );
        check(
            FALL_NIGHT,
            &[
                // the earlier of the two 01:30s: EDT, 05:30Z
                ("1:30am", "2026-11-01T01:30:00-04:00"),
                ("2026-11-01 01:30", "2026-11-01T01:30:00-04:00"),
                ("1h", "2026-11-01T01:30:00-04:00"),
                ("2h", "2026-11-01T01:30:00-05:00"),
                ("1d", "2026-11-02T00:30:00-05:00"),
            ],
        );
        let fold = parse("1:30am", &zoned(FALL_NIGHT)).expect("fold time parses");
        assert_eq!(
            fold.timestamp(),
            "2026-11-01T05:30:00Z".parse::<Timestamp>().expect("ts")
        );
    }

    #[test]
    fn other_zones() {
        // A fixed zone and a zone east of UTC; ISO offsets keep their instant.
        check(
            "2026-06-01T08:00:00+02:00[Europe/Paris]",
            &[
                ("9am", "2026-06-01T09:00:00+02:00"),
                ("2026-06-01T08:00:00Z", "2026-06-01T10:00:00+02:00"),
                ("next week", "2026-06-08T08:00:00+02:00"),
            ],
        );
        check(
            "2026-06-01T23:30:00Z[UTC]",
            &[("midnight", "2026-06-02T00:00:00+00:00")],
        );
    }

    /// Every rejection: the variant, and a message that names the expression.
    #[test]
    fn rejections() {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum V {
            Empty,
            Unsupported,
            Ambiguous,
            Clock,
            Date,
            Zone,
            Overflow,
        }
        let cases: &[(&str, V)] = &[
            ("", V::Empty),
            ("   \t ", V::Empty),
            ("5 minutes ago", V::Unsupported),
            ("foo 5 min bar", V::Unsupported),
            ("5 min bar", V::Unsupported),
            ("yesterday", V::Unsupported),
            ("last friday", V::Unsupported),
            ("blah", V::Unsupported),
            ("in -5m", V::Unsupported),
            ("-5m", V::Unsupported),
            ("now - 5m", V::Unsupported),
            ("in 5", V::Unsupported),
            ("in", V::Unsupported),
            ("now +", V::Unsupported),
            ("now 5m", V::Unsupported),
            ("next", V::Unsupported),
            ("next month", V::Unsupported),
            ("in 1 month", V::Unsupported),
            ("2 years", V::Unsupported),
            ("this week", V::Unsupported),
            ("tonight", V::Unsupported),
            ("tomorrow morning", V::Unsupported),
            ("tomorrow tomorrow", V::Unsupported),
            ("today tomorrow", V::Unsupported),
            ("3pm 4pm", V::Unsupported),
            ("tomorrow 2 hours", V::Unsupported),
            ("1.5d", V::Unsupported),
            ("0.5w", V::Unsupported),
            ("half a day", V::Unsupported),
            ("1h 1h", V::Unsupported),
            ("in 2h at 9am", V::Unsupported),
            ("in 1d2h at 9am", V::Unsupported),
            ("at", V::Unsupported),
            ("at tomorrow", V::Unsupported),
            ("1h and", V::Unsupported),
            ("an", V::Unsupported),
            ("10 minutes from", V::Unsupported),
            ("in 10 minutes from now", V::Unsupported),
            ("2026-04-08T17:05:00Z tomorrow", V::Unsupported),
            ("3pm,", V::Unsupported),
            (".5h", V::Unsupported),
            ("5 min.", V::Unsupported),
            ("é", V::Unsupported),
            ("3", V::Ambiguous),
            ("15", V::Ambiguous),
            ("at 3", V::Ambiguous),
            ("tomorrow 9", V::Ambiguous),
            ("25:00", V::Clock),
            ("24:00", V::Clock),
            ("13pm", V::Clock),
            ("0am", V::Clock),
            ("3:60pm", V::Clock),
            ("14:30pm", V::Clock),
            ("3:5pm", V::Clock),
            ("10:30:60", V::Clock),
            ("930", V::Clock),
            ("1030pm", V::Clock),
            ("2460", V::Clock),
            ("12345", V::Clock),
            ("3.30pm", V::Clock),
            ("123:45", V::Clock),
            ("friday midnight", V::Clock),
            ("midnight tomorrow", V::Clock),
            ("in 2 days at midnight", V::Clock),
            ("2026-02-30", V::Date),
            ("2026-13-01 9am", V::Date),
            ("2026-04-08T25:00", V::Date),
            ("2026-04-08Tnoon", V::Date),
            ("3pm EST", V::Zone),
            ("9am PST", V::Zone),
            ("tomorrow 9am UTC", V::Zone),
            ("5pm Europe/Paris", V::Zone),
            ("noon gmt", V::Zone),
            ("3pm +0200", V::Zone),
            ("3pm -05:00", V::Zone),
            ("3pm utc+2", V::Zone),
            ("17:05+02:00", V::Zone),
            ("3pm-0500", V::Zone),
            ("2026-04-08 17:05 EST", V::Zone),
            ("2026-04-08T17:05:00 z", V::Zone),
            ("2026-04-08T17:05[Europe/Paris]", V::Zone),
            ("99999999999999999999m", V::Overflow),
            ("9999999999999999999h", V::Overflow),
            ("in 99999999999999999999 days", V::Overflow),
            ("in 1000000 weeks", V::Overflow),
            ("100000000d", V::Overflow),
            ("in 3000000 days at 9am", V::Overflow),
        ];
        let now = zoned(THU);
        for &(input, want) in cases {
            let err = match parse(input, &now) {
                Ok(z) => panic!("{input:?} was accepted as {z}"),
                Err(e) => e,
            };
            let got = match err {
                TimeError::Empty => V::Empty,
                TimeError::Unsupported { .. } => V::Unsupported,
                TimeError::Ambiguous { .. } => V::Ambiguous,
                TimeError::InvalidClock { .. } => V::Clock,
                TimeError::InvalidDate { .. } => V::Date,
                TimeError::ZoneSuffix { .. } => V::Zone,
                TimeError::Overflow { .. } => V::Overflow,
            };
            assert_eq!(got, want, "{input:?}: {err}");
            let msg = err.to_string();
            if want != V::Empty {
                assert!(
                    msg.contains(&format!("{:?}", input.trim())),
                    "{input:?}: {msg}"
                );
            }
            if want == V::Zone {
                assert!(msg.contains("DEFER_TIMEZONE (America/New_York)"), "{msg}");
            }
        }
    }

    #[test]
    fn error_messages() {
        let now = zoned(THU);
        let msg = |s: &str| parse(s, &now).expect_err("rejected").to_string();
        assert_eq!(
            msg("3pm EST"),
            r#"time zone "EST" in "3pm EST" is not supported: times are read in DEFER_TIMEZONE (America/New_York); set DEFER_TIMEZONE to change the zone, or give an ISO 8601 time with an offset such as 2026-04-08T17:05:00-05:00"#
        );
        assert_eq!(
            msg("blah"),
            r#"unsupported time expression "blah": unexpected word "blah" (try "30m", "tomorrow 9am", "next friday 3pm" or "2026-12-25 9am")"#
        );
        assert_eq!(
            msg("3"),
            r#"ambiguous number "3" in "3": add a unit or am/pm, e.g. "3m", "3h", "3am" or "3pm""#
        );
        assert_eq!(
            msg("13pm"),
            r#"invalid clock time "13pm" in "13pm": with am/pm the hour runs from 1 to 12; write "13:00" without am/pm, or "1:00pm""#
        );
        assert!(msg("5 Minutes AGO").contains(r#""AGO" points to the past"#));
        assert!(msg("in 5").contains(r#"missing unit after "5""#));
        assert!(msg("1h 1h").contains("appears twice"));
        assert!(msg("in -5m").contains("negative durations"));
        assert!(msg("15").contains(r#""15:00""#));
        // Without an IANA name (a fixed offset) the zone is simply not named.
        let fixed = zoned("2026-11-26T10:01:00-05:00[-05:00]");
        let e = parse("3pm EST", &fixed).expect_err("rejected").to_string();
        assert!(e.contains("times are read in DEFER_TIMEZONE;"), "{e}");
    }

    #[test]
    fn describe_outputs() {
        let now = zoned("2026-11-26T10:01:00-05:00[America/New_York]");
        let d = |target: &str| describe(&zoned(target), &now);
        assert_eq!(
            d("2026-11-27T09:00:00-05:00[America/New_York]"),
            "Fri 2026-11-27 09:00 EST, in 22h 59m"
        );
        assert_eq!(d(THU), "Thu 2026-11-26 10:01 EST, now");
        assert_eq!(
            d("2026-11-26T06:56:00-05:00[America/New_York]"),
            "Thu 2026-11-26 06:56 EST, 3h 5m ago"
        );
        assert_eq!(
            d("2026-11-28T13:01:00-05:00[America/New_York]"),
            "Sat 2026-11-28 13:01 EST, in 2d 3h"
        );
        assert_eq!(
            d("2026-11-26T10:01:45-05:00[America/New_York]"),
            "Thu 2026-11-26 10:01 EST, in 45s"
        );
        assert_eq!(
            d("2026-11-26T11:01:00-05:00[America/New_York]"),
            "Thu 2026-11-26 11:01 EST, in 1h"
        );
        assert_eq!(
            d("2026-11-26T10:11:00-05:00[America/New_York]"),
            "Thu 2026-11-26 10:11 EST, in 10m"
        );
        assert_eq!(
            d("2026-11-28T10:06:00-05:00[America/New_York]"),
            "Sat 2026-11-28 10:06 EST, in 2d"
        );
        assert_eq!(
            d("2026-11-26T10:00:30-05:00[America/New_York]"),
            "Thu 2026-11-26 10:00 EST, 30s ago"
        );
        assert_eq!(
            d("2026-11-26T10:01:00.4-05:00[America/New_York]"),
            "Thu 2026-11-26 10:01 EST, now"
        );
        // The abbreviation follows the target's own offset.
        let night = zoned(SPRING_NIGHT);
        let after = parse("2:30am", &night).expect("gap time");
        assert_eq!(describe(&after, &night), "Sun 2026-03-08 03:30 EDT, in 2h");
        // Round trip with parse.
        let target = parse("tomorrow 9am", &now).expect("parses");
        assert_eq!(
            describe(&target, &now),
            "Fri 2026-11-27 09:00 EST, in 22h 59m"
        );
    }

    #[test]
    fn grammar_help_mentions_every_form() {
        for form in [
            "now",
            "10m",
            "in an hour",
            "3:30 p.m.",
            "tomorrow at 9am",
            "next friday",
            "this friday",
            "in 2 days at 9am",
            "next week",
            "2026-12-25 9am",
            "2026-04-08T17:05:00Z",
            "DEFER_TIMEZONE",
        ] {
            assert!(GRAMMAR_HELP.contains(form), "{form}");
        }
    }

    /// No input panics: odd strings, every ASCII character alone, and three-token combinations
    /// of grammar fragments (which also exercises the accepted paths).
    #[test]
    fn never_panics() {
        let now = zoned(THU);
        let long_digits = "9".repeat(5_000);
        let long_frac = format!("1.{}h", "3".repeat(5_000));
        let long_words = "tomorrow ".repeat(2_000);
        let odd = [
            "",
            " ",
            "\u{a0}3pm\u{2003}",
            "\0",
            "\u{1F600}",
            "3pm\u{1F600}",
            "ｔｏｍｏｒｒｏｗ",
            "+",
            "-",
            ":",
            ".",
            "..",
            "+-",
            "::",
            "a.m.",
            "p.",
            "p.m",
            "3:",
            ":30",
            "3::30",
            "1:2:3:4",
            "1.",
            "1..5h",
            "1.5.5h",
            "0x10m",
            "1e3s",
            "1_000m",
            "١٢pm",
            "2026-",
            "2026-04",
            "2026-04-08T",
            "2026-04-08T17:05:00+99:99",
            "2026-04-08 17:",
            "2026-04-08 17:05:00+",
            "-2026-04-08",
            "+002026-04-08",
            "9999-12-31T23:59:59Z",
            "9999-12-31 11pm",
            "9999-12-31",
            "-9999-01-01",
            "0000-01-01",
            "utc+",
            "gmt-",
            "3pm+",
            "3pm-",
            "now+",
            "now++5m",
            "in in 5m",
            "at at 3pm",
            "next next friday",
            "half",
            "half an",
            "a",
            "and",
            "and 5m",
            "5m and",
            "from now",
            "[utc]",
            "3pm[est]",
            &long_digits,
            &long_frac,
            &long_words,
            "18446744073709551615s",
            "18446744073709551616s",
            "18446744073709551615d",
            "9223372036854775807w",
            "0.999999999999999999999999h",
        ];
        for s in odd {
            let _ = parse(s, &now);
        }
        for b in 0u8..128 {
            let s = (b as char).to_string();
            let _ = parse(&s, &now);
        }
        let max = zoned("9999-12-30T20:00:00+00:00[UTC]");
        let min = zoned("-009999-01-03T00:00:00+00:00[UTC]");
        let frags = [
            "now",
            "in",
            "+",
            "-",
            "at",
            "on",
            "this",
            "next",
            "3",
            "15",
            "1430",
            "3pm",
            "12am",
            "3:30",
            "p.m.",
            "noon",
            "midnight",
            "today",
            "tomorrow",
            "friday",
            "week",
            "5m",
            "1.5",
            "h",
            "d",
            "days",
            "an",
            "half",
            "hour",
            "and",
            "from",
            "2026-12-25",
            "2026-04-08T17:05:00Z",
            "est",
            "ago",
            "99999999999999999999",
        ];
        for a in frags {
            for b in frags {
                for c in ["", "9am", "2h", "tomorrow", "week", "x"] {
                    let s = format!("{a} {b} {c}");
                    for n in [&now, &max, &min] {
                        let _ = parse(&s, n);
                    }
                }
            }
        }
        // Far-future and far-past `now`s must give errors, not panics, for offsets past the end.
        assert!(matches!(parse("3h", &max), Err(TimeError::Overflow { .. })));
        assert!(matches!(
            parse("tomorrow 9am", &max),
            Err(TimeError::Overflow { .. })
        ));
        assert!(matches!(
            parse("friday", &max),
            Err(TimeError::Overflow { .. })
        ));
        assert!(parse("now", &min).is_ok());
    }
}
