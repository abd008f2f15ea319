//! Repetition in words: `every weekday at 9am` read into the same rule text that `--every` and
//! `--cron` store (`crate::recur::Rule::text`), so a phrase and the flags can never mean two
//! different things. The rule is returned as text; `recur` evaluates it.
//!
//! A rule every few weeks on a weekday (`every other tuesday at 9am`) is an interval rule,
//! `every 2w`, that starts on the first such weekday: the series steps 14 calendar days (the
//! same wall-clock time across DST changes) from each occurrence's scheduled time, so the
//! first occurrence fixes the weekday and the clock. [`RepeatSpec::first`] gives that first
//! time; cron cannot say "every other week".

use jiff::ZonedDateTime;
use jiff::civil::{Time, Weekday};

use super::error::{Ctx, RuleHint, TimeError};
use super::grammar::{Ast, Clock, Day, Parser, Unit};
use super::interval::Interval;
use super::lexer::{Kind, lex};
use super::month::WhichMonth;
use super::resolve::resolve;
use super::vocab;

/// A repeating time read from words: the rule as a series stores it, `every 2h` or
/// `cron 0 9 * * 1-5` (minute hour day-of-month month day-of-week, in the user's zone), and,
/// for a rule that must start on a given weekday, where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatSpec {
    /// The stored rule text, readable by `Rule::parse`.
    pub rule: String,
    /// Where an interval rule starts when the phrase names a weekday and a clock.
    start: Option<Start>,
}

/// The weekday and clock an interval rule starts on (`every other tuesday at 9am`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Start {
    /// The phrase, for errors.
    expr: String,
    weekday: Weekday,
    time: Time,
}

impl RepeatSpec {
    fn rule(rule: String) -> RepeatSpec {
        RepeatSpec { rule, start: None }
    }

    /// The first occurrence when the phrase fixes it (`every other tuesday at 9am`: the nearest
    /// Tuesday at 09:00 still ahead, today included, as `tuesday 9am` means), in now's zone;
    /// `None` when the first occurrence is simply the rule's next time after now.
    ///
    /// # Errors
    ///
    /// [`TimeError::Overflow`] when that day is outside jiff's range.
    pub fn first(&self, now: &ZonedDateTime) -> Result<Option<ZonedDateTime>, TimeError> {
        let Some(start) = &self.start else {
            return Ok(None);
        };
        let ctx = Ctx {
            expr: &start.expr,
            zone: now.time_zone().iana_name(),
        };
        let ast = Ast::Day {
            day: Some(Day::Weekday {
                wd: start.weekday,
                strictly_after_today: false,
            }),
            clock: Some(Clock::plain(start.time)),
            shift: 0,
        };
        resolve(&ctx, &ast, now).map(Some)
    }
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
    if first == "everyday" {
        return p.days_rule("*", true).map(RepeatSpec::rule).map(Some);
    }
    p.repeat().map(Some)
}

impl Parser<'_> {
    fn repeat_error(&self, reason: impl Into<String>) -> TimeError {
        self.repeat_error_at(self.pos, reason, None)
    }

    /// A [`TimeError::Repeat`] for the words from token `at` on, with a rule to offer.
    fn repeat_error_at(
        &self,
        at: usize,
        reason: impl Into<String>,
        hint: Option<RuleHint>,
    ) -> TimeError {
        let part = match self.toks.get(at) {
            Some(t) => self.ctx.text(t.start, self.ctx.expr.len()),
            None => "the end",
        };
        TimeError::Repeat {
            expr: self.ctx.expr.to_owned(),
            part: part.to_owned(),
            reason: reason.into(),
            hint: hint.map(Box::new),
        }
    }

    fn repeat(&mut self) -> Result<RepeatSpec, TimeError> {
        let rule = match self.peek() {
            None => Err(self.repeat_error(
                r#"say what repeats after "every", e.g. "every day at 9am" or "every 2 hours""#,
            )),
            Some(Kind::Word("other")) => return self.every_other(),
            // Before units: `second` is one too (`every second tuesday of the month`).
            Some(_) if self.at_in_month() => match self.in_month_without_of() {
                Some(phrase) if phrase.starts_with("second ") => Err(self.repeat_error(format!(
                    r#""every {phrase}" could mean every other week or the second of each month; say "every other {wd} at 9am" or "every {phrase} of the month at 9am""#,
                    wd = self.peek_word(1).unwrap_or("monday")
                ))),
                Some(phrase) => Err(self.repeat_error(format!(
                    r#"say which day of every month, e.g. "every {phrase} of the month at 9am""#
                ))),
                None => self.monthly_in_month(),
            },
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
                // `every hour`, `every week`, `every month`: one of that unit; `every week on
                // monday at 9am` is weekly.
                self.pos += 1;
                let one = Interval::one(Unit::from_word(w).unwrap_or(Unit::Day));
                return self.after_interval(one);
            }
            Some(Kind::Num { .. } | Kind::Word("a" | "an" | "half")) => {
                let dur = self.duration()?;
                return self.after_interval(Interval {
                    months: dur.months,
                    days: dur.days,
                    nanos: dur.nanos,
                });
            }
            Some(Kind::Word(w)) => Err(self.repeat_error(match vocab::closest(w) {
                Some(near) => format!("unexpected word {w:?} (did you mean {near:?}?)"),
                None => format!(
                    "not {w:?}: after \"every\" comes a length of time or a day, e.g. \
                     \"every 2 hours\", \"every day at 9am\", \"every weekday at 9am\", \
                     \"every hour at :15\" or \"every month on the 1st at 9am\""
                ),
            })),
            Some(_) => Err(self.repeat_error("expected a duration or a day after \"every\"")),
        };
        rule.map(RepeatSpec::rule)
    }

    /// After the interval of `every 2 hours`, `every 2 weeks on monday at 9am`, `every week`:
    /// a weekday for whole weeks, the clock of a daily rule, or the end.
    fn after_interval(&mut self, interval: Interval) -> Result<RepeatSpec, TimeError> {
        let weeks = match (interval.months, interval.days, interval.nanos) {
            (0, days, 0) if days > 0 && days % 7 == 0 => Some(days / 7),
            _ => None,
        };
        if self.peek_word(0) == Some("on") && self.peek_word(1).and_then(weekday_of).is_some() {
            let Some(weeks) = weeks else {
                return Err(self.repeat_error(
                    r#"a weekday fits a rule of whole weeks, e.g. "every 2 weeks on monday at 9am""#,
                ));
            };
            self.pos += 1; // `on`
            return self.weekly_from(weeks, false);
        }
        if self.pos < self.toks.len() && self.at_clock_start() {
            if (interval.months, interval.days, interval.nanos) == (0, 1, 0) {
                return self.days_rule("*", false).map(RepeatSpec::rule);
            }
            return Err(self.clock_needs_a_day(interval));
        }
        self.expect_repeat_end()?;
        if interval.months <= 0 && interval.days <= 0 && interval.nanos <= 0 {
            return Err(self.repeat_error("a repeat interval must be more than zero"));
        }
        if interval.nanos % 1_000_000_000 != 0 {
            return Err(self.repeat_error("a repeat interval is a whole number of seconds"));
        }
        Ok(RepeatSpec::rule(format!("every {}", compact(&interval))))
    }

    /// `every 2 days at 9am`: no phrase says where such a rule starts, so it is refused; the
    /// interval and a first time are offered for the front end to word as it gives rules.
    fn clock_needs_a_day(&mut self, interval: Interval) -> TimeError {
        let at = self.pos;
        let first = self
            .clock()
            .ok()
            .map(|c| format!("tomorrow {:02}:{:02}", c.time.hour(), c.time.minute()));
        let hint = first.map(|first| RuleHint::Interval {
            every: compact(&interval),
            first,
        });
        self.repeat_error_at(
            at,
            r#"a clock time fits only a daily or weekly rule ("every day at 9am", "every monday at 9am", "every other monday at 9am"); a rule every few days starts from a first time, which the phrase does not name"#,
            hint,
        )
    }

    /// `every other monday at 9am`, `every other week on monday at 9am`, `every other day`.
    fn every_other(&mut self) -> Result<RepeatSpec, TimeError> {
        self.pos += 1; // `other`
        match self.peek_word(0) {
            Some(w) if weekday_of(w).is_some() => self.weekly_from(2, true),
            Some(w) if Unit::from_word(w).is_some() => {
                self.pos += 1;
                let one = Interval::one(Unit::from_word(w).unwrap_or(Unit::Day));
                self.after_interval(Interval {
                    months: one.months * 2,
                    days: one.days * 2,
                    nanos: one.nanos * 2,
                })
            }
            _ => Err(self.repeat_error(
                r#"expected a weekday or a unit after "other", e.g. "every other monday at 9am" or "every other week""#,
            )),
        }
    }

    /// A weekday and a clock every `weeks` weeks, the cursor on the weekday (`other`: said as
    /// `every other monday`): every week is the weekly cron rule; more is the interval
    /// `every <weeks>w` starting on the first such weekday at that clock (see the module docs).
    fn weekly_from(&mut self, weeks: i64, other: bool) -> Result<RepeatSpec, TimeError> {
        if weeks == 1 {
            let days = self.weekday_list()?;
            return self.days_rule(&days, false).map(RepeatSpec::rule);
        }
        let word = self.peek_word(0).unwrap_or("");
        let Some(weekday) = weekday_word(word) else {
            return Err(self.repeat_error("expected a weekday"));
        };
        let name = vocab::weekday_name(weekday);
        let example = if other {
            format!(r#""every other {name} at 9am""#)
        } else {
            format!(r#""every {weeks} weeks on {name} at 9am""#)
        };
        self.pos += 1;
        if self.peek_word(0) == Some("and") {
            return Err(self.repeat_error(format!(
                "a rule every {weeks} weeks keeps one weekday; give each weekday its own \
                 series, e.g. {example}"
            )));
        }
        if self.pos >= self.toks.len() {
            return Err(self.repeat_error(format!("add a clock time, e.g. {example}")));
        }
        if !self.at_clock_start() {
            return Err(self.repeat_error(format!("expected a clock time, e.g. {example}")));
        }
        let clock = self.clock()?;
        self.expect_repeat_end()?;
        self.cron_clock(&clock)?;
        let days = weeks.checked_mul(7).ok_or_else(|| self.ctx.overflow())?;
        Ok(RepeatSpec {
            rule: format!(
                "every {}",
                compact(&Interval {
                    months: 0,
                    days,
                    nanos: 0
                })
            ),
            start: Some(Start {
                expr: self.ctx.expr.to_owned(),
                weekday,
                time: clock.time,
            }),
        })
    }

    /// The day named within a month at the cursor as typed (`second tuesday`) when no `of`
    /// follows it, so no month is named; `None` when one is (or for `end of`).
    fn in_month_without_of(&self) -> Option<&str> {
        let k = usize::from(self.peek_word(0) == Some("the"));
        let after = match self.toks.get(self.pos + k).map(|t| t.kind) {
            Some(Kind::Num { .. }) => k + 3,
            Some(Kind::Word("end")) => return None,
            _ => k + 2,
        };
        if self.peek_word(after) == Some("of") {
            return None;
        }
        let (from, to) = (
            self.toks.get(self.pos + k)?,
            self.toks.get(self.pos + after - 1)?,
        );
        Some(self.ctx.text(from.start, to.end))
    }

    /// `every first monday of the month at 9am`, `every last day of the month at 5pm`: a cron
    /// rule with croner's `#` (nth weekday) and `L` (last) fields.
    fn monthly_in_month(&mut self) -> Result<String, TimeError> {
        let at = self.pos;
        let (what, which) = self.in_month()?;
        if which == WhichMonth::Next {
            return Err(self.repeat_error_at(
                at,
                format!(
                    r#"a rule repeats every month; say "every {} of the month at 9am""#,
                    what.words()
                ),
                None,
            ));
        }
        let (dom, dow) = what.cron_fields();
        if self.pos >= self.toks.len() {
            return Err(self.repeat_error(format!(
                r#"add a clock time, e.g. "every {} of the month at 9am" (a cron rule needs the time)"#,
                what.words()
            )));
        }
        self.cron_rule(&dom, &dow, false)
    }

    /// After the days of a rule (`day`, `weekday`, `monday and thursday`): the clock time, as a
    /// cron rule. `every day` alone (`bare_ok`) is the interval `every 1d`.
    fn days_rule(&mut self, dow: &str, bare_ok: bool) -> Result<String, TimeError> {
        self.cron_rule("*", dow, bare_ok)
    }

    /// The clock time after the days of a rule, as the cron rule `m h <dom> * <dow>`.
    fn cron_rule(&mut self, dom: &str, dow: &str, bare_ok: bool) -> Result<String, TimeError> {
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
        Ok(format!("cron {m} {h} {dom} * {dow}"))
    }

    fn cron_clock(&self, clock: &Clock) -> Result<(i8, i8), TimeError> {
        if clock.time.second() != 0 {
            return Err(self.repeat_error("a repeating time has whole minutes (no seconds)"));
        }
        if clock.tonight {
            return Err(self
                .repeat_error(r#""tonight" names one night; for every night say "every night""#));
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
        let at = self.pos;
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
        let clock_at = self.toks.get(self.pos).map(|t| t.start);
        let rule = self.cron_rule(&day.to_string(), "*", false)?;
        if day > 28 {
            // A cron rule skips the months without that day; offered, not chosen.
            let cron = rule.strip_prefix("cron ").unwrap_or(&rule).to_owned();
            let clock = clock_at.map_or("at 9am", |from| self.ctx.text(from, self.ctx.expr.len()));
            return Err(self.repeat_error_at(
                at,
                format!(
                    r#"day {day} is not in every month; say "every last day of the month {clock}" for the month's last day, or choose the 28th or earlier"#
                ),
                Some(RuleHint::MonthDayCron { cron, day }),
            ));
        }
        Ok(rule)
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
    weekday_word(w).map(|wd| wd.to_sunday_zero_offset())
}

/// The weekday of a weekday word, plural forms included (`mondays`).
fn weekday_word(w: &str) -> Option<Weekday> {
    let w = if w.len() > 3 {
        w.strip_suffix('s').unwrap_or(w)
    } else {
        w
    };
    vocab::weekday(w)
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
