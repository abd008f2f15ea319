//! Clock times: `3pm`, `14:30`, `1430`, `noon`, `midnight`, and the parts of the day
//! (`morning`, `end of day`) with their fixed hours.

use jiff::civil::Time;

use super::error::TimeError;
use super::grammar::{Clock, Parser, Unit, parse_u64, small};
use super::lexer::Kind;
use super::vocab::{self, Part};

impl Clock {
    pub(super) fn plain(time: Time) -> Clock {
        Clock {
            time,
            midnight: false,
            part: None,
            tonight: false,
        }
    }

    fn part(part: Option<Part>, tonight: bool) -> Clock {
        let hour = part.map_or(0, Part::hour);
        Clock {
            part,
            tonight,
            ..Clock::plain(jiff::civil::time(hour, 0, 0, 0))
        }
    }
}

impl Parser<'_> {
    pub(super) fn at_clock_start(&self) -> bool {
        match self.peek() {
            Some(
                Kind::Word("at" | "noon" | "midnight") | Kind::Clock { .. } | Kind::Num { .. },
            ) => true,
            Some(Kind::Word(w)) => Part::from_word(w).is_some() || self.at_end_of_day(),
            _ => false,
        }
    }

    /// `end of day` or `end of the day` at the cursor.
    fn at_end_of_day(&self) -> bool {
        self.peek_word(0) == Some("end")
            && self.peek_word(1) == Some("of")
            && (self.peek_word(2) == Some("day")
                || (self.peek_word(2) == Some("the") && self.peek_word(3) == Some("day")))
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
                return Ok(Clock::plain(jiff::civil::time(12, 0, 0, 0)));
            }
            Some(Kind::Word("midnight")) => {
                self.pos += 1;
                return Ok(Clock {
                    midnight: true,
                    ..Clock::plain(Time::midnight())
                });
            }
            Some(Kind::Word(w)) if Part::from_word(w).is_some() => {
                self.pos += 1;
                return Ok(Clock::part(Part::from_word(w), w == "tonight"));
            }
            Some(Kind::Word("end")) if self.at_end_of_day() => {
                self.pos += if self.peek_word(2) == Some("the") {
                    4
                } else {
                    3
                };
                return Ok(Clock::part(Some(Part::EndOfDay), false));
            }
            Some(Kind::Clock { hour: "", .. }) => {
                return Err(self.ctx.invalid_clock(
                    self.toks[start].start,
                    self.toks[start].end,
                    r#"minutes past the hour only follow "every hour", e.g. "every hour at :15"; give an hour, e.g. "9:15""#,
                ));
            }
            Some(Kind::Clock {
                hour,
                minute,
                second,
            }) => (hour, Some(minute), second),
            Some(Kind::Num { int, frac: None }) => (int, None, None),
            Some(Kind::Num {
                int,
                frac: Some(frac),
            }) => {
                return Err(ctx.invalid_clock(
                    self.toks[start].start,
                    self.toks[start].end,
                    dotted_number(self.tok_text(start), int, frac),
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
        Ok(Clock::plain(time))
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
}

/// What `9.30`, `25.12` or `1.5` in place of a clock was probably meant as: a clock with a
/// colon when that is a real time, else a day and month (`25.12` is the 25th of December),
/// else a number that lacks its unit.
fn dotted_number(typed: &str, int: &str, frac: &str) -> String {
    match (parse_u64(int), parse_u64(frac)) {
        (Some(h @ 0..=23), Some(0..=59)) if frac.len() == 2 => {
            format!("write hours and minutes with a colon, e.g. \"{h}:{frac}\"")
        }
        (Some(d @ 1..=31), Some(m @ 1..=12))
            if frac.len() == 2 && jiff::civil::Date::new(2000, small(m), small(d)).is_ok() =>
        {
            format!(
                "not a clock time; for a date write the month as a word, e.g. \"{} {d}\", or \
                 for a clock a colon, e.g. \"14:30\"",
                vocab::month_abbr(small(m))
            )
        }
        _ => format!(
            "not a clock time; a number needs a unit, e.g. \"{typed}h\", and a clock a colon, \
             e.g. \"14:30\""
        ),
    }
}
