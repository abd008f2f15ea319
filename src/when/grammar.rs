//! The phrase grammar over tokens: a [`Parser`] that reads the whole token list into an
//! [`Ast`] or refuses it with the reason. Durations live here; clock times are read in
//! `clock.rs` and day phrases in `days.rs`, as further `impl Parser` blocks.

use jiff::{
    civil::{Date, DateTime, Time, Weekday},
    tz::Offset,
};

use super::error::{Ctx, TimeError};
use super::hint;
use super::lexer::{Kind, Tok};
use super::month::InMonth;
use super::vocab::{self, Part};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

/// The unit words, for "did you mean" after a number.
pub(super) const UNIT_WORDS: &[&str] = &[
    "weeks", "week", "days", "day", "hours", "hour", "minutes", "minute", "mins", "seconds",
    "second", "secs", "months", "month", "years", "year",
];

impl Unit {
    pub(super) fn from_word(w: &str) -> Option<Unit> {
        Some(match w {
            "y" | "yr" | "yrs" | "year" | "years" => Unit::Year,
            "mo" | "mos" | "month" | "months" => Unit::Month,
            "w" | "wk" | "wks" | "week" | "weeks" => Unit::Week,
            "d" | "day" | "days" => Unit::Day,
            "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
            "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minute,
            "s" | "sec" | "secs" | "second" | "seconds" => Unit::Second,
            _ => return None,
        })
    }

    /// Length in nanoseconds of the elapsed units (years to days are calendar units).
    pub(super) fn nanos(self) -> i128 {
        match self {
            Unit::Year | Unit::Month | Unit::Week | Unit::Day => 0,
            Unit::Hour => 3_600_000_000_000,
            Unit::Minute => 60_000_000_000,
            Unit::Second => 1_000_000_000,
        }
    }
}

/// A duration split the way it is applied: calendar months, then calendar days, then elapsed
/// nanoseconds.
#[derive(Debug, Default)]
pub(super) struct Dur {
    pub(super) months: i64,
    pub(super) days: i64,
    pub(super) nanos: i128,
    pub(super) seen: [bool; 7],
}

impl Dur {
    /// Whole calendar days only (no months, no elapsed part): what can count from a day.
    pub(super) fn whole_days(&self) -> Option<i64> {
        (self.months == 0 && self.nanos == 0).then_some(self.days)
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Clock {
    pub(super) time: Time,
    /// Spelled `midnight`, which is refused next to a day (start or end of that day?).
    pub(super) midnight: bool,
    /// A part of the day (`morning`), which names today when no day is given and must then
    /// still be ahead.
    pub(super) part: Option<Part>,
    /// Spelled `tonight`, which already names the day.
    pub(super) tonight: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Day {
    Today,
    Tomorrow,
    /// `day after tomorrow`: that many calendar days ahead.
    InDays(i64),
    NextWeek,
    NextMonth,
    NextYear,
    Weekday {
        wd: Weekday,
        strictly_after_today: bool,
    },
    /// `next week monday`, `in 2 weeks on friday`: that weekday of the Monday-based week
    /// `weeks` after this one.
    WeekOf {
        weeks: i64,
        wd: Weekday,
    },
    /// `next weekday`: the first Monday-to-Friday day strictly after today.
    NextWorkday,
    Date(Date),
    /// `dec 25`, `25 december 2026`: without a year, the next one not yet past.
    Dated {
        month: i8,
        day: i8,
        year: Option<i16>,
    },
    /// `first monday of the month`, `end of next month`: that day of this month (or of next
    /// month once it has passed), or of next month when `next`.
    InMonth {
        what: InMonth,
        next: bool,
    },
}

#[derive(Debug)]
pub(super) enum Ast {
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
        /// Calendar days added after the day is resolved (`a week from friday`).
        shift: i64,
    },
}

pub(super) struct Parser<'a> {
    pub(super) toks: &'a [Tok<'a>],
    pub(super) pos: usize,
    pub(super) ctx: &'a Ctx<'a>,
}

impl<'a> Parser<'a> {
    pub(super) fn peek(&self) -> Option<Kind<'a>> {
        self.toks.get(self.pos).map(|t| t.kind)
    }

    pub(super) fn peek_word(&self, ahead: usize) -> Option<&'a str> {
        match self.toks.get(self.pos + ahead)?.kind {
            Kind::Word(w) => Some(w),
            _ => None,
        }
    }

    pub(super) fn tok_text(&self, i: usize) -> &'a str {
        self.toks
            .get(i)
            .map_or("", |t| self.ctx.text(t.start, t.end))
    }

    /// The error for the token at the cursor (or for a missing one).
    pub(super) fn unexpected(&self) -> TimeError {
        let Some(tok) = self.toks.get(self.pos) else {
            return self.ctx.unsupported("the expression ends too early");
        };
        let reason = match tok.kind {
            Kind::Word(w) => word_hint(w, self.tok_text(self.pos)),
            Kind::Minus => return self.ctx.negative(),
            Kind::DecimalComma { int, frac } => hint::decimal_comma(
                self.tok_text(self.pos),
                int,
                frac,
                self.peek_word(1).and_then(Unit::from_word),
            ),
            _ => format!("unexpected {:?}", self.tok_text(self.pos)),
        };
        self.ctx.unsupported(reason)
    }

    pub(super) fn expect_end(&self) -> Result<(), TimeError> {
        if self.pos < self.toks.len() {
            Err(self.unexpected())
        } else {
            Ok(())
        }
    }

    pub(super) fn parse(mut self) -> Result<Ast, TimeError> {
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
            // Worded for every front end: how a rule is given (a flag, a field) is theirs to say.
            Kind::Word("every" | "everyday") => Err(self.ctx.unsupported(format!(
                r#"a phrase starting with {:?} repeats, so it is a rule rather than one time: give it as the time of a new task to make a series, or name one time here, e.g. "tomorrow 9am""#,
                self.tok_text(0)
            ))),
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
            // A number before a unit, or before a near miss of one (`10 minuts`, which then
            // gets "did you mean").
            Kind::Num { .. }
                if self.peek_word(1).is_some_and(|w| {
                    Unit::from_word(w).is_some()
                        || hint::is_business(w)
                        || (vocab::month(w).is_none()
                            && !is_ordinal(w)
                            && vocab::closest_in(w, UNIT_WORDS).is_some())
                }) =>
            {
                self.relative(true)
            }
            _ => self.day_clock(),
        }
    }

    /// A duration and an optional clock; `bare` (no `in`/`+` prefix) allows `from now` and
    /// `from <day>` (`a week from friday`).
    pub(super) fn relative(&mut self, bare: bool) -> Result<Ast, TimeError> {
        let dur = self.duration()?;
        if bare && self.peek_word(0) == Some("from") {
            if self.peek_word(1) == Some("now") {
                self.pos += 2;
            } else {
                self.pos += 1;
                return self.counted_from_day(&dur);
            }
        }
        if self.peek_word(0) == Some("on") && self.peek_word(1).and_then(vocab::weekday).is_some() {
            return self.weeks_on(&dur);
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

    /// `<days> from <day phrase>`: the day phrase, then that many calendar days.
    fn counted_from_day(&mut self, dur: &Dur) -> Result<Ast, TimeError> {
        let Some(days) = dur.whole_days() else {
            return Err(self.ctx.unsupported(
                r#"only whole days or weeks can count from a day, e.g. "a week from friday""#,
            ));
        };
        match self.day_clock()? {
            Ast::Day {
                day: Some(day),
                clock,
                shift,
            } => Ok(Ast::Day {
                day: Some(day),
                clock,
                shift: shift.checked_add(days).ok_or_else(|| self.ctx.overflow())?,
            }),
            _ => Err(self.ctx.unsupported(
                r#"expected a day after "from", e.g. "a week from friday" or "10 minutes from now""#,
            )),
        }
    }

    /// `in N weeks on <weekday> [clock]`: that weekday in the week N weeks ahead.
    fn weeks_on(&mut self, dur: &Dur) -> Result<Ast, TimeError> {
        let weeks = match dur.whole_days() {
            Some(days) if days > 0 && days % 7 == 0 => days / 7,
            _ => {
                return Err(self.ctx.unsupported(
                    r#"a weekday after a duration needs whole weeks, e.g. "in 2 weeks on friday""#,
                ));
            }
        };
        self.pos += 1; // `on`
        let wd = self.peek_word(0).and_then(vocab::weekday);
        let Some(wd) = wd else {
            return Err(self.unexpected());
        };
        self.pos += 1;
        let clock = if self.pos < self.toks.len() {
            let start = self.pos;
            let clock = self.clock()?;
            if clock.midnight {
                return Err(self.midnight_with_day(start));
            }
            Some(clock)
        } else {
            None
        };
        self.expect_end()?;
        Ok(Ast::Day {
            day: Some(Day::WeekOf { weeks, wd }),
            clock,
            shift: 0,
        })
    }

    pub(super) fn duration(&mut self) -> Result<Dur, TimeError> {
        let mut dur = Dur::default();
        let mut unit = self.term(&mut dur)?;
        loop {
            match self.peek() {
                // `an hour and a half`: half of the unit just read.
                Some(Kind::Word("and"))
                    if matches!(self.peek_word(1), Some("a" | "an"))
                        && self.peek_word(2) == Some("half") =>
                {
                    self.pos += 3;
                    if unit.nanos() == 0 {
                        return Err(self.fractional_calendar());
                    }
                    dur.nanos = dur
                        .nanos
                        .checked_add(unit.nanos() / 2)
                        .ok_or_else(|| self.ctx.overflow())?;
                }
                Some(Kind::Word("and")) => {
                    self.pos += 1;
                    unit = self.term(&mut dur)?;
                }
                Some(Kind::Word("a" | "an" | "half")) => unit = self.term(&mut dur)?,
                // A number followed by a word continues the duration (`2h 30m`, or an error
                // naming a missing unit); any other number is a clock (`in 2 days 9am`, `1430`).
                // A month name after it makes a date instead (`in 2 days 25 dec` is refused
                // later, as a clock).
                Some(Kind::Num { .. })
                    if self
                        .peek_word(1)
                        .is_some_and(|w| vocab::month(w).is_none() && !is_ordinal(w)) =>
                {
                    unit = self.term(&mut dur)?;
                }
                _ => return Ok(dur),
            }
        }
    }

    /// The error for a number (or `a`, `an`, `half`) at `num_at` that no unit follows: a vague
    /// amount (`a few minutes`), business days, a misspelt unit, or a missing one.
    fn missing_unit(&self, num_at: usize, int: &str, frac: Option<&str>) -> TimeError {
        let typed = self.tok_text(num_at);
        let next = self.peek_word(0);
        let worded = matches!(self.toks[num_at].kind, Kind::Word(_));
        if worded && let Some(w) = next.filter(|w| hint::is_vague_amount(w)) {
            // `a few minutes`, `a couple of hours`: the unit, if any, is one or two words on.
            let unit = match self.peek_word(1) {
                Some("of") => self.peek_word(2),
                other => other,
            }
            .and_then(Unit::from_word);
            let phrase = self
                .ctx
                .text(self.toks[num_at].start, self.toks[self.pos].end);
            return self.ctx.unsupported(hint::vague_amount(phrase, w, unit));
        }
        if next.is_some_and(hint::is_business) {
            let n = if frac.is_none() { parse_u64(int) } else { None };
            return self.ctx.unsupported(hint::business_days(n));
        }
        if let Some(w) = next
            && let Some(near) = vocab::closest_in(w, UNIT_WORDS)
        {
            return self.ctx.unsupported(format!(
                "unknown unit {:?} after {typed:?} (did you mean {near:?}?)",
                self.tok_text(self.pos)
            ));
        }
        if worded {
            return self.ctx.unsupported(format!(
                r#"missing unit after {typed:?}, e.g. "in an hour", "in a minute" or "in half an hour""#
            ));
        }
        self.ctx.unsupported(format!(
            "missing unit after {typed:?} (add w, d, h, m, s, mo or y, e.g. \"{typed}m\")"
        ))
    }

    fn fractional_calendar(&self) -> TimeError {
        self.ctx.unsupported(
            "fractional days, weeks, months and years are not supported (a calendar day is not \
             always 24 hours); write hours instead, e.g. \"36h\" for 1.5 days",
        )
    }

    /// One `number unit`, `a unit` or `half a unit`, added to `dur`; returns the unit.
    pub(super) fn term(&mut self, dur: &mut Dur) -> Result<Unit, TimeError> {
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
        let Some(unit) = self.peek_word(0).and_then(Unit::from_word) else {
            return Err(self.missing_unit(num_at, int, frac));
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
        let overflow = || self.ctx.overflow();
        match unit {
            Unit::Year | Unit::Month | Unit::Week | Unit::Day => {
                if frac.is_some() {
                    return Err(self.fractional_calendar());
                }
                let (field, per) = match unit {
                    Unit::Year => (&mut dur.months, 12),
                    Unit::Month => (&mut dur.months, 1),
                    Unit::Week => (&mut dur.days, 7),
                    _ => (&mut dur.days, 1),
                };
                *field = i64::try_from(int)
                    .ok()
                    .and_then(|n| n.checked_mul(per))
                    .and_then(|n| n.checked_add(*field))
                    .ok_or_else(overflow)?;
            }
            Unit::Hour | Unit::Minute | Unit::Second => {
                let per = unit.nanos();
                let whole = i128::from(int) * per; // < 2^64 * 2^42, far below i128::MAX
                let part = frac.map_or(0, |f| frac_nanos(f, per));
                dur.nanos = dur.nanos.checked_add(whole + part).ok_or_else(overflow)?;
            }
        }
        Ok(unit)
    }
}

/// `st`, `nd`, `rd`, `th` after a day of the month.
pub(super) fn is_ordinal(w: &str) -> bool {
    matches!(w, "st" | "nd" | "rd" | "th")
}

/// The ordinal suffix English writes after `n` (`1st`, `2nd`, `11th`, `23rd`).
pub(super) fn ordinal_suffix(n: u64) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// A targeted hint for a word outside the grammar.
pub(super) fn word_hint(w: &str, as_typed: &str) -> String {
    match w {
        "ago" | "yesterday" | "last" | "before" | "earlier" => {
            format!("{as_typed:?} points to the past; a deferred task needs a time from now on")
        }
        _ => {
            if let Some(reason) = hint::vague_word(w, as_typed) {
                reason
            } else if let Some(phrase) = vocab::phrase_for(w) {
                format!("unexpected word {as_typed:?} (say {phrase:?})")
            } else if let Some(near) = vocab::closest(w) {
                format!("unexpected word {as_typed:?} (did you mean {near:?}?)")
            } else {
                format!("unexpected word {as_typed:?}")
            }
        }
    }
}
/// Checked decimal parse of an all-digit string (`None` when it does not fit in a `u64`).
pub(super) fn parse_u64(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// `0.<frac>` of a unit, in nanoseconds, truncated; digits past the 18th cannot matter.
pub(super) fn frac_nanos(frac: &str, unit_nanos: i128) -> i128 {
    let digits = frac.get(..frac.len().min(18)).unwrap_or(frac);
    let (num, den) = digits.bytes().fold((0i128, 1i128), |(n, d), b| {
        (n * 10 + i128::from(b - b'0'), d * 10)
    });
    num * unit_nanos / den
}

/// A value already checked to be at most 59.
pub(super) fn small(v: u64) -> i8 {
    i8::try_from(v).unwrap_or(i8::MAX)
}
