//! Why an expression was refused: [`TimeError`], and [`Ctx`], which builds each error with the
//! expression as typed so every message can name it.

use super::grammar::parse_u64;

/// Suggestions appended to grammar errors.
pub(super) const TRY: &str = r#"try "30m", "tomorrow 9am", "next friday 3pm" or "2026-12-25 9am""#;

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
    /// A number too large to hold, or a result outside the instants jiff can represent.
    #[error(
        "time expression {expr:?} is out of range: the number is too large or the time falls \
         outside -9999-01-02T01:59:59Z to 9999-12-30T22:00:00Z, the range of instants jiff \
         supports (use a smaller number or an earlier date)"
    )]
    Overflow {
        /// The expression as given (trimmed).
        expr: String,
    },
    /// A part of the day that has already passed today (`this morning` at 10am).
    #[error(
        "{part:?} ({at}) has already passed today, so {expr:?} names no time ahead; say \
         \"tomorrow {part}\" or give a clock time"
    )]
    PartPassed {
        /// The expression as given (trimmed).
        expr: String,
        /// The part of the day (`morning`).
        part: String,
        /// Its fixed hour, `09:00`.
        at: String,
    },
    /// A numeric date such as `12/25` or `25.12.2026`, which reads differently across locales.
    /// The message suggests the date with its month as a word and in ISO 8601 when only one
    /// reading is a real date (`25.12.2026` → `dec 25 2026`, `2026-12-25`), else examples.
    #[error("{}", numeric_date_message(.expr, .text))]
    NumericDate {
        /// The expression as given (trimmed).
        expr: String,
        /// The numeric date as given.
        text: String,
    },
    /// An expression far longer than any time: refused before parsing, and not echoed whole
    /// (a client can send megabytes, and the grammar's suggestions cost time per character).
    #[error(
        "time expression {head:?}… is {len} characters long; a time expression is at most {} \
         ({})",
        MAX_EXPR_CHARS,
        TRY
    )]
    TooLong {
        /// The first characters of the expression.
        head: String,
        /// Its length in characters.
        len: usize,
    },
    /// An `every ...` phrase that could not be read; `part` is where it went wrong.
    #[error(
        "cannot read the repeating time {expr:?} at {part:?}: {reason} (try \"every day at \
         9am\", \"every weekday at 9am\", \"every monday and thursday at 10:30\", \
         \"every 2 hours\" or \"every month on the 1st at 9am\")"
    )]
    Repeat {
        /// The expression as given (trimmed).
        expr: String,
        /// The word or words that could not be read.
        part: String,
        /// What was wrong there.
        reason: String,
        /// A rule a series can hold although no phrase says it; each front end words it in
        /// its own terms (flags, fields), so this message names none.
        hint: Option<Box<RuleHint>>,
    },
}

/// A series rule that words cannot say but a task can be given directly, offered beside a
/// [`TimeError::Repeat`]. It is data rather than text because only a front end knows how its
/// users give a rule (`--every 2d --when ...` on the command line, `every` and `when` fields
/// over MCP and HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleHint {
    /// An interval that starts at a first time: `every` is the interval (`2d`), `first` a
    /// time expression for the first occurrence (`tomorrow 09:00`).
    Interval { every: String, first: String },
    /// A cron rule for a day of the month that not every month has (`0 9 31 * *`): it runs
    /// only in the months that have `day`.
    MonthDayCron { cron: String, day: u8 },
}

impl TimeError {
    /// The rule to offer beside this error, if any (see [`RuleHint`]).
    pub fn rule_hint(&self) -> Option<&RuleHint> {
        match self {
            TimeError::Repeat { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

/// The longest time expression read; real ones are a few words.
pub const MAX_EXPR_CHARS: usize = 200;

/// Refuses an expression longer than [`MAX_EXPR_CHARS`] before any parsing.
pub(super) fn check_length(expr: &str) -> Result<(), TimeError> {
    let len = expr.chars().count();
    if len <= MAX_EXPR_CHARS {
        return Ok(());
    }
    Err(TimeError::TooLong {
        head: expr.chars().take(40).collect(),
        len,
    })
}

pub(super) fn zone_note(zone: &Option<String>) -> String {
    zone.as_deref()
        .map(|z| format!(" ({z})"))
        .unwrap_or_default()
}

fn numeric_date_message(expr: &str, text: &str) -> String {
    let (words, iso) = match super::hint::numeric_date(&text.to_ascii_lowercase()) {
        Some(date) => (date.words, date.iso),
        None => ("dec 25".to_owned(), "2026-12-25".to_owned()),
    };
    format!(
        "ambiguous date {text:?} in {expr:?}: day and month order differs between countries; \
         write the month as a word ({words:?}) or an ISO date ({iso:?})"
    )
}

pub(super) fn ambiguous_examples(number: &str) -> String {
    match parse_u64(number) {
        Some(n @ 1..=12) => format!(r#""{n}m", "{n}h", "{n}am" or "{n}pm""#),
        Some(n @ 13..=23) => format!(r#""{n}m", "{n}h" or "{n}:00""#),
        Some(0) => r#""0:00" or "midnight""#.to_owned(),
        _ => format!(r#""{number}m" or "{number}h""#),
    }
}

/// What every error needs: the expression as typed and the zone name for zone errors.
pub(super) struct Ctx<'a> {
    pub(super) expr: &'a str,
    pub(super) zone: Option<&'a str>,
}

impl Ctx<'_> {
    pub(super) fn unsupported(&self, reason: impl Into<String>) -> TimeError {
        TimeError::Unsupported {
            expr: self.expr.to_owned(),
            reason: reason.into(),
        }
    }

    pub(super) fn overflow(&self) -> TimeError {
        TimeError::Overflow {
            expr: self.expr.to_owned(),
        }
    }

    /// The user's text for a byte span (spans come from the same-length lowercased copy).
    pub(super) fn text(&self, start: usize, end: usize) -> &str {
        self.expr.get(start..end).unwrap_or(self.expr)
    }

    pub(super) fn invalid_clock(
        &self,
        start: usize,
        end: usize,
        reason: impl Into<String>,
    ) -> TimeError {
        TimeError::InvalidClock {
            expr: self.expr.to_owned(),
            clock: self.text(start, end).to_owned(),
            reason: reason.into(),
        }
    }

    pub(super) fn zone_suffix(&self, start: usize, end: usize) -> TimeError {
        TimeError::ZoneSuffix {
            expr: self.expr.to_owned(),
            word: self.text(start, end).to_owned(),
            zone: self.zone.map(str::to_owned),
        }
    }

    pub(super) fn negative(&self) -> TimeError {
        self.unsupported("negative durations are not supported (a deferred task runs later)")
    }
}
