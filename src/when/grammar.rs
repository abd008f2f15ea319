//! The phrase grammar over tokens: a [`Parser`] that reads the whole token list into an
//! [`Ast`] or refuses it with the reason.

use jiff::{
    civil::{Date, DateTime, Time, Weekday},
    tz::Offset,
};

use super::error::{Ctx, TimeError};
use super::lexer::{Kind, Tok};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl Unit {
    pub(super) fn from_word(w: &str) -> Option<Unit> {
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
    pub(super) fn nanos(self) -> i128 {
        match self {
            Unit::Week | Unit::Day => 0,
            Unit::Hour => 3_600_000_000_000,
            Unit::Minute => 60_000_000_000,
            Unit::Second => 1_000_000_000,
        }
    }
}

pub(super) fn is_month_word(w: &str) -> bool {
    matches!(
        w,
        "mo" | "mos" | "month" | "months" | "y" | "yr" | "yrs" | "year" | "years"
    )
}

pub(super) fn weekday(w: &str) -> Option<Weekday> {
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
pub(super) struct Dur {
    pub(super) days: i64,
    pub(super) nanos: i128,
    pub(super) seen: [bool; 5],
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Clock {
    pub(super) time: Time,
    /// Spelled `midnight`, which is refused next to a day (start or end of that day?).
    pub(super) midnight: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Day {
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
    pub(super) fn relative(&mut self, bare: bool) -> Result<Ast, TimeError> {
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

    pub(super) fn duration(&mut self) -> Result<Dur, TimeError> {
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
    pub(super) fn term(&mut self, dur: &mut Dur) -> Result<(), TimeError> {
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

    pub(super) fn at_clock_start(&self) -> bool {
        matches!(
            self.peek(),
            Some(Kind::Word("at" | "noon" | "midnight") | Kind::Clock { .. } | Kind::Num { .. })
        )
    }

    /// `["at"] clock`
    pub(super) fn clock(&mut self) -> Result<Clock, TimeError> {
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

    pub(super) fn midnight_with_day(&self, clock_tok: usize) -> TimeError {
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
    pub(super) fn day_clock(&mut self) -> Result<Ast, TimeError> {
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
    pub(super) fn day(&mut self) -> Result<Day, TimeError> {
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
pub(super) fn word_hint(w: &str, as_typed: &str) -> String {
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
