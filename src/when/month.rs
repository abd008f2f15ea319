//! Days named within a month: `first monday of next month`, `last friday of the month`,
//! `end of month`, `last day of next month`, `first day of the month`. This file reads them,
//! finds their date in a given month, and spells them as cron fields for the repeating form
//! (`every first monday of the month at 9am`).

use jiff::civil::{Date, Time, Weekday};

use super::error::TimeError;
use super::grammar::{Parser, is_ordinal, ordinal_suffix, parse_u64};
use super::lexer::Kind;
use super::vocab::{self, Part};

/// Which day of a month a phrase names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum InMonth {
    /// The nth (1 to 4) such weekday: `second tuesday`.
    Nth(i8, Weekday),
    /// The last such weekday: `last friday`.
    LastWeekday(Weekday),
    /// `first day`: the 1st.
    FirstDay,
    /// `last day`, `end of month`: the month's last day, a deadline.
    LastDay,
}

/// Which month the phrase names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WhichMonth {
    /// `of the month`, `of this month`, `of month`: this month's, or next month's once this
    /// month's has passed.
    This,
    /// `of next month`.
    Next,
    /// `of every month`, `of each month`: a repeating rule.
    Every,
}

impl InMonth {
    /// Its date in the month that starts on `first` (the 1st); `None` only for a month at the
    /// end of jiff's range.
    pub(super) fn date(self, first: Date) -> Option<Date> {
        match self {
            InMonth::Nth(n, wd) => first.nth_weekday_of_month(n, wd).ok(),
            InMonth::LastWeekday(wd) => first.nth_weekday_of_month(-1, wd).ok(),
            InMonth::FirstDay => Some(first),
            InMonth::LastDay => Some(first.last_of_month()),
        }
    }

    /// The time without a clock: the month's end is a deadline, so the end-of-day hour (17:00,
    /// as `eod`); any other day is a date, so 00:00 (as `dec 25`).
    pub(super) fn default_time(self) -> Time {
        match self {
            InMonth::LastDay => jiff::civil::time(Part::EndOfDay.hour(), 0, 0, 0),
            _ => Time::midnight(),
        }
    }

    /// The phrase for this day, for suggestions: `first monday`, `last day`.
    pub(super) fn words(self) -> String {
        let ordinal = |n: i8| match n {
            1 => "first",
            2 => "second",
            3 => "third",
            _ => "fourth",
        };
        match self {
            InMonth::Nth(n, wd) => format!("{} {}", ordinal(n), vocab::weekday_name(wd)),
            InMonth::LastWeekday(wd) => format!("last {}", vocab::weekday_name(wd)),
            InMonth::FirstDay => "first day".to_owned(),
            InMonth::LastDay => "last day".to_owned(),
        }
    }

    /// The day-of-month and day-of-week cron fields (croner's `#` and `L`): `* 1#1` for the
    /// first Monday, `* 5L` for the last Friday, `L *` for the last day, `1 *` for the first.
    pub(super) fn cron_fields(self) -> (String, String) {
        let dow = |wd: Weekday| wd.to_sunday_zero_offset();
        match self {
            InMonth::Nth(n, wd) => ("*".into(), format!("{}#{n}", dow(wd))),
            InMonth::LastWeekday(wd) => ("*".into(), format!("{}L", dow(wd))),
            InMonth::FirstDay => ("1".into(), "*".into()),
            InMonth::LastDay => ("L".into(), "*".into()),
        }
    }
}

/// `first` to `fifth` as 1 to 5, `last` as -1.
fn ordinal_word(w: &str) -> Option<i8> {
    Some(match w {
        "first" => 1,
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "fifth" => 5,
        "last" => -1,
        _ => return None,
    })
}

impl Parser<'_> {
    /// Whether a day named within a month starts at the cursor: `[the] end of`, or `[the]`
    /// an ordinal (`first`, `2nd`, `last`) before a weekday or `day`. Checked before a number
    /// is read as a clock (`2nd tuesday`) and before `second` is read as a unit.
    pub(super) fn at_in_month(&self) -> bool {
        let k = usize::from(self.peek_word(0) == Some("the"));
        if self.peek_word(k) == Some("end") {
            return self.peek_word(k + 1) == Some("of")
                && !matches!(self.peek_word(k + 2), Some("day"))
                && !(self.peek_word(k + 2) == Some("the") && self.peek_word(k + 3) == Some("day"));
        }
        let after = match self.toks.get(self.pos + k).map(|t| t.kind) {
            Some(Kind::Word(w)) if ordinal_word(w).is_some() => k + 1,
            Some(Kind::Num { frac: None, .. }) if self.peek_word(k + 1).is_some_and(is_ordinal) => {
                k + 2
            }
            _ => return false,
        };
        self.peek_word(after)
            .is_some_and(|w| w == "day" || vocab::weekday(w).is_some())
    }

    /// A day named within a month, the cursor where [`at_in_month`](Self::at_in_month) said.
    pub(super) fn in_month(&mut self) -> Result<(InMonth, WhichMonth), TimeError> {
        if self.peek_word(0) == Some("the") {
            self.pos += 1;
        }
        let start = self.pos;
        if self.peek_word(0) == Some("end") {
            self.pos += 2; // `end of`
            return Ok((InMonth::LastDay, self.which_month(start, "end of")?));
        }
        let nth = self.ordinal()?;
        let (what, noun) = match self.peek_word(0) {
            Some("day") if nth == 1 => (InMonth::FirstDay, "day"),
            Some("day") if nth == -1 => (InMonth::LastDay, "day"),
            Some("day") => {
                return Err(self.ctx.unsupported(
                    r#"only the first and the last day of a month are read by position; name another date, e.g. "dec 15""#,
                ));
            }
            Some(w) => {
                let wd = vocab::weekday(w).ok_or_else(|| self.unexpected())?;
                match nth {
                    -1 => (InMonth::LastWeekday(wd), w),
                    1..=4 => (InMonth::Nth(nth, wd), w),
                    _ => {
                        return Err(self.ctx.unsupported(format!(
                            r#"not every month has a fifth {w}; say "last {w} of the month""#
                        )));
                    }
                }
            }
            None => return Err(self.unexpected()),
        };
        self.pos += 1;
        let phrase = self
            .ctx
            .text(self.toks[start].start, self.toks[self.pos - 1].end);
        if self.peek_word(0) != Some("of") {
            let past = if nth == -1 && noun != "day" {
                format!(r#""last {noun}" alone points to the past; "#)
            } else {
                String::new()
            };
            return Err(self.ctx.unsupported(format!(
                r#"{past}say which month, e.g. "{phrase} of the month" or "{phrase} of next month""#
            )));
        }
        self.pos += 1;
        Ok((what, self.which_month(start, phrase)?))
    }

    /// `first`, `last`, or a number with its ordinal suffix (`2nd`), as 1 to 5 or -1.
    fn ordinal(&mut self) -> Result<i8, TimeError> {
        match self.peek() {
            Some(Kind::Word(w)) => {
                let n = ordinal_word(w).ok_or_else(|| self.unexpected())?;
                self.pos += 1;
                Ok(n)
            }
            Some(Kind::Num { int, frac: None }) => {
                let at = self.pos;
                let n = parse_u64(int).unwrap_or(u64::MAX);
                let suffix = self.peek_word(1).unwrap_or("");
                self.pos += 2;
                let Ok(position @ 1..=5) = i8::try_from(n) else {
                    return Err(self.ctx.unsupported(format!(
                        r#"{:?} is not a position in a month, which has four or five of each weekday; say first to fourth or last, e.g. "first monday of the month" or "last friday of the month""#,
                        self.ctx.text(self.toks[at].start, self.toks[at + 1].end)
                    )));
                };
                if suffix != ordinal_suffix(n) {
                    return Err(self.wrong_ordinal(at, n));
                }
                Ok(position)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// After `of` (or `end of`): `[the | this] month`, `next month`, `every month`.
    fn which_month(&mut self, start: usize, phrase: &str) -> Result<WhichMonth, TimeError> {
        let which = match (self.peek_word(0), self.peek_word(1)) {
            (Some("month"), _) => (1, WhichMonth::This),
            (Some("the" | "this"), Some("month")) => (2, WhichMonth::This),
            (Some("next"), Some("month")) => (2, WhichMonth::Next),
            (Some("every" | "each"), Some("month")) => (2, WhichMonth::Every),
            (Some(w @ ("week" | "year" | "quarter")), _) if phrase == "end of" => {
                let say = match w {
                    "week" => "end of day friday",
                    "year" => "dec 31 5pm",
                    _ => "end of month",
                };
                return Err(self
                    .ctx
                    .unsupported(format!(r#""end of {w}" is not read; say "{say}""#)));
            }
            _ => {
                let typed = self
                    .ctx
                    .text(self.toks[start].start, self.toks[self.pos - 1].end);
                return Err(self.ctx.unsupported(format!(
                    r#"expected the month after {typed:?}: say "{phrase} the month" or "{phrase} next month""#,
                    phrase = if phrase == "end of" {
                        "end of".to_owned()
                    } else {
                        format!("{phrase} of")
                    }
                )));
            }
        };
        self.pos += which.0;
        Ok(which.1)
    }

    /// `22th`: not an ordinal. Names the right suffix, and the whole expression with it.
    pub(super) fn wrong_ordinal(&self, at: usize, n: u64) -> TimeError {
        let (from, to) = (self.toks[at].start, self.toks[at + 1].end);
        let typed = self.ctx.text(from, to);
        let right = format!("{n}{}", ordinal_suffix(n));
        let fixed = format!(
            "{}{right}{}",
            self.ctx.expr.get(..from).unwrap_or(""),
            self.ctx.expr.get(to..).unwrap_or("")
        );
        self.ctx.unsupported(format!(
            "{typed:?} is not an ordinal; write {right:?}, as in {fixed:?}"
        ))
    }
}
