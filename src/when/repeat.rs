//! Repetition in words: `every weekday at 9am` read into the same rule text that `--every` and
//! `--cron` store (`crate::recur::Rule::text`), so a phrase and the flags can never mean two
//! different things. The rule is returned as text; `recur` evaluates it.

use super::error::{Ctx, TimeError};
use super::grammar::{Clock, Parser, Unit};
use super::interval::Interval;
use super::lexer::{Kind, lex};
use super::vocab;

/// A repeating time read from words: the rule as a series stores it, `every 2h` or
/// `cron 0 9 * * 1-5` (minute hour day-of-month month day-of-week, in the user's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatSpec {
    /// The stored rule text, readable by `Rule::parse`.
    pub rule: String,
}

/// Reads an `every ...` phrase.
///
/// Returns `Ok(None)` when `expr` does not start with `every` (it is then a one-off time for
/// [`parse`](super::parse)). The first occurrence is the rule's next time after now.
///
/// # Errors
///
/// [`TimeError::Repeat`] naming the part that could not be read, or the clock error of a bad
/// clock time (`every day at 25:00`).
pub fn parse_repeat(expr: &str) -> Result<Option<RepeatSpec>, TimeError> {
    let expr = expr.trim();
    let lower = expr.to_ascii_lowercase();
    let first = lower.split_whitespace().next().unwrap_or("");
    if first != "every" && first != "everyday" {
        return Ok(None);
    }
    super::error::check_length(expr)?;
    let ctx = Ctx { expr, zone: None };
    let toks = lex(&ctx, &lower)?;
    let mut p = Parser {
        toks: &toks,
        pos: 1,
        ctx: &ctx,
    };
    // `everyday` is `every day`.
    let rule = if first == "everyday" {
        p.days_rule("*", true)?
    } else {
        p.repeat()?
    };
    Ok(Some(RepeatSpec { rule }))
}

impl Parser<'_> {
    fn repeat_error(&self, reason: impl Into<String>) -> TimeError {
        let part = match self.toks.get(self.pos) {
            Some(t) => self.ctx.text(t.start, self.ctx.expr.len()),
            None => "the end",
        };
        TimeError::Repeat {
            expr: self.ctx.expr.to_owned(),
            part: part.to_owned(),
            reason: reason.into(),
        }
    }

    fn repeat(&mut self) -> Result<String, TimeError> {
        match self.peek() {
            None => Err(self.repeat_error(
                r#"say what repeats after "every", e.g. "every day at 9am" or "every 2 hours""#,
            )),
            Some(Kind::Word("day")) => {
                self.pos += 1;
                self.days_rule("*", true)
            }
            Some(Kind::Word("weekday" | "weekdays")) => {
                self.pos += 1;
                self.days_rule("1-5", false)
            }
            Some(Kind::Word("hour")) if self.peek_word(1) == Some("at") => self.hourly(),
            Some(Kind::Word("month")) if self.peek_word(1) == Some("on") => self.monthly(),
            Some(Kind::Word(w)) if weekday_of(w).is_some() => {
                let days = self.weekday_list()?;
                self.days_rule(&days, false)
            }
            Some(Kind::Word(w)) if vocab::Part::from_word(w).is_some() || w == "end" => {
                self.days_rule("*", false)
            }
            Some(Kind::Word(w)) if Unit::from_word(w).is_some() => {
                // `every hour`, `every week`, `every month`: one of that unit.
                self.pos += 1;
                self.expect_repeat_end()?;
                let text = Interval::one(Unit::from_word(w).unwrap_or(Unit::Day));
                Ok(format!("every {}", compact(&text)))
            }
            Some(Kind::Num { .. } | Kind::Word("a" | "an" | "half")) => self.every_interval(),
            Some(Kind::Word(w)) => Err(self.repeat_error(match vocab::closest(w) {
                Some(near) => format!("unexpected word {w:?} (did you mean {near:?}?)"),
                None => format!(
                    "expected a number, \"day\", \"weekday\", a weekday, \"hour at :MM\" or \
                     \"month on the 1st\" after \"every\", not {w:?}"
                ),
            })),
            Some(_) => Err(self.repeat_error("expected a duration or a day after \"every\"")),
        }
    }

    /// `every 2 hours`, `every 15 minutes`, `every 3 days`: an interval rule.
    fn every_interval(&mut self) -> Result<String, TimeError> {
        let dur = self.duration()?;
        let interval = Interval {
            months: dur.months,
            days: dur.days,
            nanos: dur.nanos,
        };
        if self.pos < self.toks.len() && self.at_clock_start() {
            if (dur.months, dur.days, dur.nanos) == (0, 1, 0) {
                return self.days_rule("*", false);
            }
            return Err(self.repeat_error(
                "a clock time fits only a daily or weekly rule (\"every day at 9am\", \"every \
                 monday at 9am\"); for every few days at a time use --every with --when, e.g. \
                 --every 2d --when \"tomorrow 9am\"",
            ));
        }
        self.expect_repeat_end()?;
        if interval.months <= 0 && interval.days <= 0 && interval.nanos <= 0 {
            return Err(self.repeat_error("a repeat interval must be more than zero"));
        }
        if interval.nanos % 1_000_000_000 != 0 {
            return Err(self.repeat_error("a repeat interval is a whole number of seconds"));
        }
        Ok(format!("every {}", compact(&interval)))
    }

    /// After the days of a rule (`day`, `weekday`, `monday and thursday`): the clock time, as a
    /// cron rule. `every day` alone (`bare_ok`) is the interval `every 1d`.
    fn days_rule(&mut self, dow: &str, bare_ok: bool) -> Result<String, TimeError> {
        if self.pos >= self.toks.len() {
            if bare_ok {
                return Ok("every 1d".to_owned());
            }
            return Err(self.repeat_error(
                "add a clock time, e.g. \"every monday at 9am\" (a cron rule needs the time)",
            ));
        }
        if !self.at_clock_start() {
            return Err(
                self.repeat_error(match self.peek_word(0).and_then(vocab::closest) {
                    Some(near) => format!("expected a clock time (did you mean {near:?}?)"),
                    None => "expected a clock time, e.g. \"at 9am\"".to_owned(),
                }),
            );
        }
        let clock = self.clock()?;
        self.expect_repeat_end()?;
        let (m, h) = self.cron_clock(&clock)?;
        Ok(format!("cron {m} {h} * * {dow}"))
    }

    fn cron_clock(&self, clock: &Clock) -> Result<(i8, i8), TimeError> {
        if clock.time.second() != 0 {
            return Err(self.repeat_error("a repeating time has whole minutes (no seconds)"));
        }
        if clock.tonight {
            return Err(self.repeat_error(r#"write "every night" rather than "every tonight""#));
        }
        Ok((clock.time.minute(), clock.time.hour()))
    }

    /// `monday and thursday`, `mon and wed and fri`, `mondays`: cron day-of-week numbers.
    fn weekday_list(&mut self) -> Result<String, TimeError> {
        let mut days: Vec<i8> = Vec::new();
        loop {
            let Some(n) = self.peek_word(0).and_then(weekday_of) else {
                return Err(self.repeat_error("expected a weekday after \"and\""));
            };
            self.pos += 1;
            if days.contains(&n) {
                return Err(self.repeat_error("a weekday appears twice"));
            }
            days.push(n);
            if self.peek_word(0) == Some("and") && self.peek_word(1).and_then(weekday_of).is_some()
            {
                self.pos += 1;
            } else {
                break;
            }
        }
        days.sort_unstable();
        Ok(days.iter().map(i8::to_string).collect::<Vec<_>>().join(","))
    }

    /// `every hour at :15`.
    fn hourly(&mut self) -> Result<String, TimeError> {
        self.pos += 2; // `hour at`
        let minute = match self.peek() {
            Some(Kind::Clock {
                hour: "",
                minute,
                second: None,
            }) => minute.parse::<u8>().ok().filter(|m| *m < 60),
            _ => None,
        };
        let Some(minute) = minute else {
            return Err(self.repeat_error(
                "expected minutes past the hour, e.g. \"every hour at :15\" (00 to 59)",
            ));
        };
        self.pos += 1;
        self.expect_repeat_end()?;
        Ok(format!("cron {minute} * * * *"))
    }

    /// `every month on the 1st at 9am`.
    fn monthly(&mut self) -> Result<String, TimeError> {
        self.pos += 2; // `month on`
        if self.peek_word(0) == Some("the") {
            self.pos += 1;
        }
        let day = match self.peek() {
            Some(Kind::Num { int, frac: None }) => int.parse::<u8>().ok(),
            _ => None,
        };
        let Some(day @ 1..=31) = day else {
            return Err(self.repeat_error(
                "expected a day of the month, e.g. \"every month on the 1st at 9am\"",
            ));
        };
        self.pos += 1;
        if self
            .peek_word(0)
            .is_some_and(|w| matches!(w, "st" | "nd" | "rd" | "th"))
        {
            self.pos += 1;
        }
        if day > 28 {
            return Err(self.repeat_error(format!(
                "day {day} does not occur every month; a cron rule skips the months without \
                 it, so use --cron \"0 9 {day} * *\" if that is meant, or the 28th or earlier"
            )));
        }
        let rule = self.days_rule("*", false)?;
        Ok(rule.replacen(" * * *", &format!(" {day} * *"), 1))
    }

    fn expect_repeat_end(&self) -> Result<(), TimeError> {
        if self.pos < self.toks.len() {
            Err(self.repeat_error("unexpected words at the end"))
        } else {
            Ok(())
        }
    }
}

/// Cron's day-of-week number (Sunday 0) of a weekday word, plural forms included.
fn weekday_of(w: &str) -> Option<i8> {
    let w = if w.len() > 3 {
        w.strip_suffix('s').unwrap_or(w)
    } else {
        w
    };
    vocab::weekday(w).map(|wd| wd.to_sunday_zero_offset())
}

impl Interval {
    fn one(unit: Unit) -> Interval {
        let (months, days, nanos) = match unit {
            Unit::Year => (12, 0, 0),
            Unit::Month => (1, 0, 0),
            Unit::Week => (0, 7, 0),
            Unit::Day => (0, 1, 0),
            other => (0, 0, other.nanos()),
        };
        Interval {
            months,
            days,
            nanos,
        }
    }
}

/// The compact spelling `--every` reads back: `2h`, `1h 30m`, `1w`, `1mo`, `1y`.
fn compact(i: &Interval) -> String {
    let mut parts = Vec::new();
    if i.months != 0 {
        parts.push(if i.months % 12 == 0 {
            format!("{}y", i.months / 12)
        } else {
            format!("{}mo", i.months)
        });
    }
    if i.days != 0 {
        parts.push(if i.days % 7 == 0 {
            format!("{}w", i.days / 7)
        } else {
            format!("{}d", i.days)
        });
    }
    let secs = i.nanos / 1_000_000_000;
    for (n, unit) in [
        (secs / 3600, "h"),
        (secs % 3600 / 60, "m"),
        (secs % 60, "s"),
    ] {
        if n != 0 {
            parts.push(format!("{n}{unit}"));
        }
    }
    parts.join(" ")
}
