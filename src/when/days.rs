//! Day phrases: `today`, `tomorrow`, weekdays, `next week monday`, `next weekday`, ISO dates and
//! day-month dates (`dec 25`, `25th of december 2026`), combined with at most one clock time.

use super::error::TimeError;
use super::grammar::{Ast, Day, Parser, is_ordinal, ordinal_suffix, parse_u64};
use super::lexer::Kind;
use super::month::WhichMonth;
use super::vocab::{self, Part};

impl Parser<'_> {
    /// `day [clock] | clock [day]`, each at most once.
    pub(super) fn day_clock(&mut self) -> Result<Ast, TimeError> {
        let mut day = None;
        let mut clock = None;
        let mut clock_at = 0;
        while self.pos < self.toks.len() {
            if clock.is_none()
                && self.at_clock_start()
                && !self.at_day_month()
                && !self.at_in_month()
            {
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
        if day.is_some() && clock.is_some_and(|c| c.tonight) {
            return Err(self.ctx.unsupported(
                r#""tonight" already names today; for another day write "night", e.g. "friday night""#,
            ));
        }
        Ok(Ast::Day {
            day,
            clock,
            shift: 0,
        })
    }

    /// A day of the month before a month name at the cursor: `25 dec`, `25th december`,
    /// `25th of december` (so the number is not read as a clock time).
    fn at_day_month(&self) -> bool {
        let month_at = |k: usize| self.peek_word(k).and_then(vocab::month).is_some();
        matches!(self.peek(), Some(Kind::Num { frac: None, .. }))
            && (month_at(1)
                || (self.peek_word(1).is_some_and(is_ordinal)
                    && (month_at(2) || (self.peek_word(2) == Some("of") && month_at(3)))))
    }

    /// One day phrase; see the module docs for the list.
    pub(super) fn day(&mut self) -> Result<Day, TimeError> {
        let word = |p: &Self, k: usize| p.peek_word(k);
        match self.peek() {
            Some(_) if self.at_in_month() => self.day_in_month(),
            Some(Kind::Word("today")) => self.take(1, Day::Today),
            Some(Kind::Word("tomorrow")) => self.take(1, Day::Tomorrow),
            Some(Kind::Date(d)) => self.take(1, Day::Date(d)),
            Some(Kind::Word("the")) if word(self, 1) == Some("day") => {
                self.pos += 1;
                self.day()
            }
            Some(Kind::Word("day"))
                if word(self, 1) == Some("after") && word(self, 2) == Some("tomorrow") =>
            {
                self.take(3, Day::InDays(2))
            }
            Some(Kind::Word("the"))
                if matches!(
                    self.toks.get(self.pos + 1).map(|t| t.kind),
                    Some(Kind::Num { .. })
                ) =>
            {
                self.pos += 1;
                self.day_month()
            }
            Some(Kind::Num { .. }) => self.day_month(),
            Some(Kind::Word(w)) if vocab::month(w).is_some() => self.day_month(),
            Some(Kind::Word(w @ ("this" | "next" | "on"))) => {
                self.pos += 1;
                self.after_this_next_on(w)
            }
            _ => match word(self, 0).and_then(vocab::weekday) {
                Some(wd) => {
                    self.pos += 1;
                    // `monday next week`
                    if word(self, 0) == Some("next") && word(self, 1) == Some("week") {
                        return self.take(2, Day::WeekOf { weeks: 1, wd });
                    }
                    Ok(Day::Weekday {
                        wd,
                        strictly_after_today: false,
                    })
                }
                None => Err(self.unexpected()),
            },
        }
    }

    /// `first monday of next month`, `end of the month`: one day, so `of every month` is
    /// refused with the repeating phrase to use instead.
    fn day_in_month(&mut self) -> Result<Day, TimeError> {
        let (what, which) = self.in_month()?;
        match which {
            WhichMonth::This => Ok(Day::InMonth { what, next: false }),
            WhichMonth::Next => Ok(Day::InMonth { what, next: true }),
            WhichMonth::Every => Err(self.ctx.unsupported(format!(
                r#""every month" repeats, so it is a rule rather than one time: say "every {} of the month at 9am" for the rule, or "{} of next month" for one time"#,
                what.words(),
                what.words()
            ))),
        }
    }

    fn take(&mut self, n: usize, day: Day) -> Result<Day, TimeError> {
        self.pos += n;
        Ok(day)
    }

    /// What follows `this`, `next` or `on` (already consumed as `w`).
    fn after_this_next_on(&mut self, w: &str) -> Result<Day, TimeError> {
        let next = self.peek_word(0);
        if let Some(wd) = next.and_then(vocab::weekday) {
            self.pos += 1;
            if w == "next" {
                return Ok(Day::Weekday {
                    wd,
                    strictly_after_today: true,
                });
            }
            if self.peek_word(0) == Some("next") && self.peek_word(1) == Some("week") {
                return self.take(2, Day::WeekOf { weeks: 1, wd });
            }
            return Ok(Day::Weekday {
                wd,
                strictly_after_today: false,
            });
        }
        match (w, next, self.peek()) {
            // `this morning`: today, with the part read as the clock next.
            ("this", Some(p), _) if Part::from_word(p).is_some() && p != "tonight" => {
                Ok(Day::Today)
            }
            ("next", Some("week"), _) => {
                self.pos += 1;
                if self.peek_word(0) == Some("on") {
                    self.pos += 1;
                }
                match self.peek_word(0).and_then(vocab::weekday) {
                    Some(wd) => self.take(1, Day::WeekOf { weeks: 1, wd }),
                    None => Ok(Day::NextWeek),
                }
            }
            ("next", Some("month"), _) => self.take(1, Day::NextMonth),
            ("next", Some("year"), _) => self.take(1, Day::NextYear),
            ("next", Some("weekday"), _) => self.take(1, Day::NextWorkday),
            ("next", Some("business" | "working" | "work"), _) => Err(self.ctx.unsupported(
                r#"business days are not understood (holidays differ from place to place); say "next weekday 9am" for the next Monday to Friday"#,
            )),
            ("on", _, Some(_)) if self.at_in_month() => self.day_in_month(),
            ("on", _, Some(Kind::Date(d))) => self.take(1, Day::Date(d)),
            ("on", Some("the"), _) => {
                self.pos += 1;
                self.day_month()
            }
            ("on", _, Some(Kind::Num { .. })) => self.day_month(),
            ("on", Some(m), _) if vocab::month(m).is_some() => self.day_month(),
            ("this", Some("week" | "month" | "year"), _) => Err(self.ctx.unsupported(format!(
                r#""this {}" is not one time; name a day, e.g. "friday", or say "next {}""#,
                next.unwrap_or_default(),
                next.unwrap_or_default()
            ))),
            _ => {
                let (what, examples) = match w {
                    "next" => (
                        "a weekday, week, weekday, month or year",
                        r#""next friday", "next week", "next weekday 9am" or "next month""#,
                    ),
                    "on" => ("a weekday or a date", r#""on friday" or "on dec 25""#),
                    _ => (
                        "a weekday or a part of the day",
                        r#""this friday" or "this evening""#,
                    ),
                };
                let after = self.tok_text(self.pos - 1);
                match next.and_then(vocab::closest) {
                    Some(near) => Err(self.ctx.unsupported(format!(
                        "expected {what} after {after:?}: unexpected word {:?} (did you mean {near:?}?)",
                        self.tok_text(self.pos)
                    ))),
                    None => Err(self.ctx.unsupported(format!(
                        "expected {what} after {after:?}, e.g. {examples}"
                    ))),
                }
            }
        }
    }

    /// `month day[st] [year]` or `day[st] [of] month [year]`, the cursor on the first token.
    fn day_month(&mut self) -> Result<Day, TimeError> {
        let start = self.pos;
        let (month, day) = if let Some(m) = self.peek_word(0).and_then(vocab::month) {
            self.pos += 1;
            let Some(d) = self.day_of_month()? else {
                return Err(self.ctx.unsupported(format!(
                    "expected a day of the month after {:?}, e.g. \"{} 25\"",
                    self.tok_text(start),
                    self.tok_text(start)
                )));
            };
            (m, d)
        } else {
            let Some(d) = self.day_of_month()? else {
                return Err(self.unexpected());
            };
            if self.peek_word(0) == Some("of") {
                self.pos += 1;
            }
            let Some(m) = self.peek_word(0).and_then(vocab::month) else {
                return Err(self.ctx.unsupported(format!(
                    "expected a month name after {:?}, e.g. \"25 december\"",
                    self.tok_text(start)
                )));
            };
            self.pos += 1;
            (m, d)
        };
        // Four digits right after the date are its year (`dec 25 2026`), not a clock: write a
        // clock after a date with a colon or am/pm.
        let year = match (self.peek(), self.toks.get(self.pos + 1).map(|t| t.kind)) {
            (Some(Kind::Num { int, frac: None }), next)
                if int.len() == 4 && !matches!(next, Some(Kind::Meridiem { .. })) =>
            {
                self.pos += 1;
                Some(
                    parse_u64(int)
                        .and_then(|y| i16::try_from(y).ok())
                        .unwrap_or(i16::MAX),
                )
            }
            _ => None,
        };
        let (from, to) = (self.toks[start].start, self.toks[self.pos - 1].end);
        let invalid = |reason: String| TimeError::InvalidDate {
            expr: self.ctx.expr.to_owned(),
            text: self.ctx.text(from, to).to_owned(),
            reason,
        };
        // The longest the month can be (29 for February, which a later year may allow).
        let longest = jiff::civil::date(2000, month, 1).days_in_month();
        if day > longest {
            return Err(invalid(format!("that month has {longest} days")));
        }
        if let Some(y) = year {
            jiff::civil::Date::new(y, month, day).map_err(|e| invalid(e.to_string()))?;
        }
        Ok(Day::Dated { month, day, year })
    }

    /// A day of the month (1 to 31) with an optional, correct ordinal suffix.
    fn day_of_month(&mut self) -> Result<Option<i8>, TimeError> {
        let Some(Kind::Num { int, frac: None }) = self.peek() else {
            return Ok(None);
        };
        let at = self.pos;
        let n = parse_u64(int).unwrap_or(u64::MAX);
        self.pos += 1;
        if let Some(suffix) = self.peek_word(0).filter(|w| is_ordinal(w)) {
            if suffix != ordinal_suffix(n) {
                return Err(self.wrong_ordinal(at, n));
            }
            self.pos += 1;
        }
        match i8::try_from(n) {
            Ok(d @ 1..=31) if int.len() <= 2 => Ok(Some(d)),
            _ => Err(self.ctx.unsupported(format!(
                "{:?} is not a day of the month (1 to 31)",
                self.tok_text(at)
            ))),
        }
    }
}
