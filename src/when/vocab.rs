//! The words of the grammar: weekdays, months, parts of the day, and the nearest known word for
//! a misspelling, so an error can say "did you mean friday?" instead of only "unexpected word".

use jiff::civil::Weekday;

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

/// The full lower-case name of a weekday, for suggestions.
pub(super) fn weekday_name(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Monday => "monday",
        Weekday::Tuesday => "tuesday",
        Weekday::Wednesday => "wednesday",
        Weekday::Thursday => "thursday",
        Weekday::Friday => "friday",
        Weekday::Saturday => "saturday",
        Weekday::Sunday => "sunday",
    }
}

/// The abbreviation of month 1 to 12, for suggestions (`dec 25`).
pub(super) fn month_abbr(month: i8) -> &'static str {
    const ABBR: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    usize::try_from(month - 1)
        .ok()
        .and_then(|i| ABBR.get(i))
        .copied()
        .unwrap_or("jan")
}

/// Month number (1 to 12) of a month name or its usual abbreviation.
pub(super) fn month(w: &str) -> Option<i8> {
    Some(match w {
        "january" | "jan" => 1,
        "february" | "feb" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

/// A part of the day. Each has one fixed hour, documented and echoed back by
/// [`describe_as_typed`](super::describe_as_typed), because "morning" means different hours to
/// different people and the user must see which one was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Morning,
    Afternoon,
    Teatime,
    EndOfDay,
    Evening,
    Night,
}

impl Part {
    pub(super) fn from_word(w: &str) -> Option<Part> {
        Some(match w {
            "morning" => Part::Morning,
            "afternoon" => Part::Afternoon,
            "teatime" => Part::Teatime,
            "eod" => Part::EndOfDay,
            "evening" => Part::Evening,
            "night" | "tonight" => Part::Night,
            _ => return None,
        })
    }

    pub(super) fn hour(self) -> i8 {
        match self {
            Part::Morning => 9,
            Part::Afternoon => 14,
            Part::Teatime => 16,
            Part::EndOfDay => 17,
            Part::Evening => 18,
            Part::Night => 20,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Part::Morning => "morning",
            Part::Afternoon => "afternoon",
            Part::Teatime => "teatime",
            Part::EndOfDay => "end of day",
            Part::Evening => "evening",
            Part::Night => "night",
        }
    }
}

/// Every word the grammar knows, for spelling suggestions (abbreviations of three letters or
/// fewer are left out: too many words are one edit away from them).
const WORDS: &[&str] = &[
    "now",
    "in",
    "at",
    "on",
    "this",
    "next",
    "from",
    "and",
    "half",
    "today",
    "tomorrow",
    "noon",
    "midnight",
    "week",
    "weeks",
    "day",
    "days",
    "hour",
    "hours",
    "minute",
    "minutes",
    "mins",
    "second",
    "seconds",
    "secs",
    "month",
    "months",
    "year",
    "years",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "thurs",
    "tues",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "sept",
    "morning",
    "afternoon",
    "evening",
    "night",
    "tonight",
    "teatime",
    "every",
    "weekday",
    "after",
    "end",
    "first",
    "third",
    "fourth",
    "other",
];

/// Words people type that the grammar reads differently, with the supported way to say them.
const PHRASES: &[(&str, &str)] = &[
    ("weekend", "saturday 10am"),
    ("midday", "noon"),
    ("lunchtime", "noon"),
    ("lunch", "noon"),
    ("fortnight", "in 2 weeks"),
    ("tmrw", "tomorrow"),
    ("tmr", "tomorrow"),
    ("tonite", "tonight"),
    ("eow", "end of day friday"),
    ("end", "end of day friday"),
    ("dusk", "this evening"),
    ("dawn", "tomorrow morning"),
];

/// The supported phrase to suggest for a word the grammar does not read.
pub(super) fn phrase_for(w: &str) -> Option<&'static str> {
    PHRASES.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

/// The known word nearest to `w` (one edit for short words, two for longer ones), if any.
pub(super) fn closest(w: &str) -> Option<&'static str> {
    closest_in(w, WORDS)
}

/// The nearest of `words` to `w`, with the same limits as [`closest`].
pub(super) fn closest_in(w: &str, words: &[&'static str]) -> Option<&'static str> {
    let limit = match w.chars().count() {
        0..=2 => return None,
        3..=4 => 1,
        _ => 2,
    };
    words
        .iter()
        .map(|&k| (edit_distance(w, k), k))
        .filter(|&(d, k)| d > 0 && d <= limit && k.len() > 3)
        // On a tie, the word with the same last letter (`minuts` → `minutes`, not `minute`).
        .min_by_key(|&(d, k)| (d, k.chars().last() != w.chars().last()))
        .map(|(_, k)| k)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours each count one, so `fridya` is one edit from `friday`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        for (typed, want) in [
            ("minuts", Some("minutes")),
            ("fridya", Some("friday")),
            ("tomorow", Some("tomorrow")),
            ("mondy", Some("monday")),
            ("decmber", Some("december")),
            ("evning", Some("evening")),
            ("blah", None),
            ("xyzzy", None),
            ("ab", None),
        ] {
            assert_eq!(closest(typed), want, "{typed}");
        }
    }
}
