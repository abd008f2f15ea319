//! Phrases the grammar refuses on purpose, each with an accepted way to say it: vague words
//! (`soon`, `later today`, `in a bit`, `in a few minutes`, `asap`), holidays (`christmas`),
//! business days, numeric dates (`12/25`, `25.12.2026`) and decimal commas (`in 1,5 hours`).
//!
//! These are refused rather than guessed because each has more than one reading (how long is
//! "a bit"? which days are holidays where the user is?), and a guess that is echoed back is
//! still a guess. Every suggestion in double quotes is itself read by the grammar, so a person
//! or an agent can copy it as it stands (`tests_phrases.rs` checks this for every refusal in
//! the test tables).

use jiff::civil::Date;

use super::grammar::{Unit, frac_nanos, parse_u64};
use super::vocab;

/// Why a word that names no definite time is refused, and what to say instead.
pub(super) fn vague_word(w: &str, typed: &str) -> Option<String> {
    Some(match w {
        "soon" => format!(r#"{typed:?} names no time; say "in 30 minutes" or "in 1 hour""#),
        "later" => format!(r#"{typed:?} names no time; say "in 3 hours" or "today 5pm""#),
        "sometime" | "someday" | "eventually" => {
            format!(r#"{typed:?} names no time; say "next week" or a date, e.g. "dec 1 9am""#)
        }
        "asap" | "immediately" => format!(r#"{typed:?} means now; say "now""#),
        "right" => format!(r#"{typed:?} is not read; for now say "now""#),
        "few" | "several" | "couple" => vague_amount(typed, w, None),
        "bit" | "while" | "moment" | "little" => vague_amount(typed, w, None),
        "christmas" | "xmas" => format!(
            r#"{typed:?} is a holiday, and holidays are not looked up; name the date, e.g. "dec 25 9am""#
        ),
        "halloween" => format!(
            r#"{typed:?} is a holiday, and holidays are not looked up; name the date, e.g. "oct 31 9am""#
        ),
        "business" | "businessday" | "businessdays" | "workday" | "workdays" => business_days(None),
        _ => return None,
    })
}

/// Whether `w` makes a count of business days (`2 business days`, `3 workdays`).
pub(super) fn is_business(w: &str) -> bool {
    matches!(
        w,
        "business" | "working" | "work" | "workday" | "workdays" | "businessday" | "businessdays"
    )
}

/// Whether `w` after `a`/`an` makes a vague amount (`a few`, `a bit`, `a couple of`).
pub(super) fn is_vague_amount(w: &str) -> bool {
    matches!(
        w,
        "few" | "several" | "couple" | "bit" | "while" | "moment" | "little"
    )
}

/// `a few minutes`, `a couple of hours`, `a bit`: an amount that is not a number. `typed` is
/// the phrase as typed, `w` its vague word and `unit` the unit that follows, if any.
pub(super) fn vague_amount(typed: &str, w: &str, unit: Option<Unit>) -> String {
    match w {
        "few" | "several" => {
            let (n, unit) = match unit {
                Some(Unit::Second) => (10, Unit::Second),
                Some(Unit::Year) => (2, Unit::Year),
                Some(u @ (Unit::Hour | Unit::Day | Unit::Week | Unit::Month)) => (3, u),
                Some(Unit::Minute) | None => (5, Unit::Minute),
            };
            format!(
                r#"{typed:?} is not a number; give one, e.g. "in {n} {}""#,
                unit_word(unit, n)
            )
        }
        "couple" => {
            let unit = unit.unwrap_or(Unit::Hour);
            format!(
                r#"{typed:?} is not a number; give one, e.g. "in 2 {}""#,
                unit_word(unit, 2)
            )
        }
        _ => format!(
            r#"{typed:?} names no length of time; give one, e.g. "in 15 minutes" or "in 1 hour""#
        ),
    }
}

/// `in 2 business days`: refused, because which days count depends on weekends and holidays
/// where the user is. `n` is the typed count, used in the suggestion when it is sensible.
pub(super) fn business_days(n: Option<u64>) -> String {
    let n = n.filter(|n| (1..=3650).contains(n)).unwrap_or(2);
    format!(
        r#"business days are not understood (weekends and holidays differ from place to place); count calendar days, e.g. "in {n} days", or name the day, e.g. "next tuesday 9am" ("next weekday 9am" is the next Monday to Friday)"#
    )
}

/// `1,5` written for 1.5: the decimal point, or a whole number of a smaller unit, in an
/// expression the grammar reads. A three-digit part may be a thousands separator instead
/// (`1,500`), so both readings are offered then.
pub(super) fn decimal_comma(typed: &str, int: &str, frac: &str, unit: Option<Unit>) -> String {
    let head = format!("{typed:?} has a decimal comma");
    let (Some(whole), Some(unit)) = (parse_u64(int).filter(|n| *n <= 100_000), unit) else {
        return format!(r#"{head}; write a decimal point and a unit, e.g. "in 1.5 hours""#);
    };
    let plural = unit_word(unit, 2);
    if frac.len() == 3
        && let Some(thousands) = parse_u64(&format!("{int}{frac}")).filter(|n| *n <= 100_000)
    {
        // Fractional calendar units are refused anyway, so only elapsed ones get the point.
        let point = if unit.nanos() == 0 {
            String::new()
        } else {
            format!(r#" or "in {int}.{frac} {plural}""#)
        };
        return format!(
            r#"{head} or a thousands separator; write "in {thousands} {plural}"{point}"#
        );
    }
    // A smaller unit that holds the amount exactly, for "or a whole number".
    let smaller = match unit {
        Unit::Week => Some((Unit::Hour, 168 * 3_600_000_000_000i128)),
        Unit::Day => Some((Unit::Hour, 24 * 3_600_000_000_000)),
        Unit::Hour => Some((Unit::Minute, 3_600_000_000_000)),
        Unit::Minute => Some((Unit::Second, 60_000_000_000)),
        _ => None,
    };
    let exact = smaller.and_then(|(small, per)| {
        let total = i128::from(whole) * per + frac_nanos(frac, per);
        (total % small.nanos() == 0).then(|| {
            let n = u64::try_from(total / small.nanos()).unwrap_or(u64::MAX);
            format!("in {n} {}", unit_word(small, n))
        })
    });
    match (unit.nanos() != 0, exact) {
        (true, Some(exact)) => format!(
            r#"{head}; write a decimal point, e.g. "in {int}.{frac} {plural}", or a whole number, e.g. "{exact}""#
        ),
        (true, None) => {
            format!(r#"{head}; write a decimal point, e.g. "in {int}.{frac} {plural}""#)
        }
        // Fractional calendar units are refused anyway (a day is not always 24 hours).
        (false, Some(exact)) => format!(r#"{head}; write a whole number, e.g. "{exact}""#),
        (false, None) => format!(
            r#"{head}; write a whole number, e.g. "in {} {}""#,
            whole.max(1),
            unit_word(unit, whole.max(1))
        ),
    }
}

/// The unit's word for `n` of it (`1 hour`, `2 hours`).
fn unit_word(unit: Unit, n: u64) -> &'static str {
    let (one, many) = match unit {
        Unit::Year => ("year", "years"),
        Unit::Month => ("month", "months"),
        Unit::Week => ("week", "weeks"),
        Unit::Day => ("day", "days"),
        Unit::Hour => ("hour", "hours"),
        Unit::Minute => ("minute", "minutes"),
        Unit::Second => ("second", "seconds"),
    };
    if n == 1 { one } else { many }
}

/// What to suggest for a numeric date: the date with its month as a word and as ISO 8601.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct NumericDate {
    pub(super) words: String,
    pub(super) iso: String,
}

/// Whether chunk `c` is a numeric date, with what to suggest for it: `12/25`, `25/12/2026`
/// (one to four digits around one or two slashes), or `25.12.2026`, `25.12.26`, `25.12.`
/// (day and month of one or two digits, dotted, with a year or a closing dot; `1.5` stays a
/// number). When exactly one reading is a real date (`25/12`, where 25 cannot be a month;
/// dotted dates are read day first), the suggestions are that date; otherwise examples.
pub(super) fn numeric_date(c: &str) -> Option<NumericDate> {
    let digits = |p: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    let parts: Vec<&str> = c.split(['/', '.']).collect();
    let readings: Vec<(Option<&str>, &str, &str)> = if c.contains('/') && !c.contains('.') {
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| digits(p, 1..=4)) {
            return None;
        }
        let year = parts.get(2).copied();
        if parts[0].len() == 4 {
            // 2026/12/25: year first, then month and day.
            match year {
                Some(d) => vec![(Some(parts[0]), parts[1], d)],
                None => vec![],
            }
        } else {
            vec![(year, parts[1], parts[0]), (year, parts[0], parts[1])]
        }
    } else if c.contains('.') && !c.contains('/') {
        let ok = match parts.as_slice() {
            [d, m, ""] => digits(d, 1..=2) && digits(m, 1..=2),
            [d, m, y] => digits(d, 1..=2) && digits(m, 1..=2) && (y.len() == 2 || y.len() == 4),
            _ => false,
        } && (parts[2].is_empty() || digits(parts[2], 2..=4));
        if !ok {
            return None;
        }
        let year = Some(parts[2]).filter(|y| !y.is_empty());
        vec![(year, parts[1], parts[0])]
    } else {
        return None;
    };
    let dates: Vec<(Option<i16>, i8, i8)> = readings
        .into_iter()
        .filter_map(|(y, m, d)| {
            let year = match y {
                Some(y) if y.len() == 2 => Some(2000 + i16::try_from(parse_u64(y)?).ok()?),
                Some(y) if y.len() == 4 => Some(i16::try_from(parse_u64(y)?).ok()?),
                Some(_) => return None,
                None => None,
            };
            let (m, d) = (
                i8::try_from(parse_u64(m)?).ok()?,
                i8::try_from(parse_u64(d)?).ok()?,
            );
            // Without a year, February 29 is a real date (of some year).
            Date::new(year.unwrap_or(2000), m, d).ok()?;
            Some((year, m, d))
        })
        .collect();
    Some(match dates.as_slice() {
        [(year, m, d)] => {
            let month = vocab::month_abbr(*m);
            match year {
                Some(y) => NumericDate {
                    words: format!("{month} {d} {y:04}"),
                    iso: format!("{y:04}-{m:02}-{d:02}"),
                },
                None => NumericDate {
                    words: format!("{month} {d}"),
                    iso: "2026-12-25".to_owned(),
                },
            }
        }
        _ => NumericDate {
            words: "dec 25".to_owned(),
            iso: "2026-12-25".to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_and_their_suggestions() {
        let nd = |w: &str, i: &str| {
            Some(NumericDate {
                words: w.to_owned(),
                iso: i.to_owned(),
            })
        };
        assert_eq!(numeric_date("25.12.2026"), nd("dec 25 2026", "2026-12-25"));
        assert_eq!(numeric_date("5.6.26"), nd("jun 5 2026", "2026-06-05"));
        assert_eq!(numeric_date("25.12."), nd("dec 25", "2026-12-25"));
        assert_eq!(numeric_date("25/12/2026"), nd("dec 25 2026", "2026-12-25"));
        assert_eq!(numeric_date("12/25"), nd("dec 25", "2026-12-25"));
        assert_eq!(numeric_date("2026/12/25"), nd("dec 25 2026", "2026-12-25"));
        // Both readings are dates: examples only.
        assert_eq!(numeric_date("05/06/2026"), nd("dec 25", "2026-12-25"));
        assert_eq!(numeric_date("31.02.2026"), nd("dec 25", "2026-12-25"));
        for not_a_date in [
            "1.5",
            "1.5h",
            "25.12",
            "3pm",
            "1.5.5h",
            "1..5",
            "123.4.2026",
        ] {
            assert_eq!(numeric_date(not_a_date), None, "{not_a_date}");
        }
    }

    #[test]
    fn decimal_commas_name_both_spellings() {
        assert_eq!(
            decimal_comma("1,5", "1", "5", Some(Unit::Hour)),
            r#""1,5" has a decimal comma; write a decimal point, e.g. "in 1.5 hours", or a whole number, e.g. "in 90 minutes""#
        );
        assert_eq!(
            decimal_comma("1,5", "1", "5", Some(Unit::Day)),
            r#""1,5" has a decimal comma; write a whole number, e.g. "in 36 hours""#
        );
        assert!(decimal_comma("1,5", "1", "5", None).ends_with(r#"e.g. "in 1.5 hours""#));
        assert!(
            decimal_comma("1,500", "1", "500", Some(Unit::Minute)).contains(r#""in 1500 minutes""#)
        );
    }
}
