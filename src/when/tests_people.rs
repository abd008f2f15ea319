//! Issue 14, "time expressions the way people say them": every new form with the instant it
//! must give beside it, in New York (both DST changes), London, Kolkata and Lord Howe (a
//! 30-minute shift), with `now` fixed.

use super::tests::{THU, check, rfc3339, zoned};
use super::*;

const NY_JAN31: &str = "2026-01-31T09:00:00-05:00[America/New_York]";
const NY_MAR31: &str = "2026-03-31T09:00:00-04:00[America/New_York]";
const NY_LEAP_JAN31: &str = "2028-01-31T09:00:00-05:00[America/New_York]";
const NY_LEAP_FEB29: &str = "2028-02-29T09:00:00-05:00[America/New_York]";
/// 01:30 on the first (EDT) and the second (EST) pass through the fall-back hour.
const NY_FOLD_FIRST: &str = "2026-11-01T01:30:00-04:00[America/New_York]";
const NY_FOLD_SECOND: &str = "2026-11-01T01:30:00-05:00[America/New_York]";
/// Lord Howe falls back 30 minutes (02:00 +11:00 → 01:30 +10:30) on 2026-04-05.
const LH_FOLD_FIRST: &str = "2026-04-05T01:40:00+11:00[Australia/Lord_Howe]";
const LH_FOLD_SECOND: &str = "2026-04-05T01:40:00+10:30[Australia/Lord_Howe]";
/// ... and springs forward 30 minutes (02:00 +10:30 → 02:30 +11:00) on 2026-10-04.
const LH_SPRING_EVE: &str = "2026-10-03T12:00:00+10:30[Australia/Lord_Howe]";
const LONDON_SPRING_EVE: &str = "2026-03-28T12:00:00+00:00[Europe/London]";
const LONDON_FALL_EVE: &str = "2026-10-24T12:00:00+01:00[Europe/London]";
const KOLKATA_NIGHT: &str = "2026-06-15T22:00:00+05:30[Asia/Kolkata]";

#[test]
fn calendar_months_and_years() {
    check(
        THU,
        &[
            ("in 3 months", "2027-02-26T10:01:00-05:00"),
            ("next month", "2026-12-26T10:01:00-05:00"),
            ("in 1 year", "2027-11-26T10:01:00-05:00"),
            ("1mo", "2026-12-26T10:01:00-05:00"),
            ("2 years", "2028-11-26T10:01:00-05:00"),
            ("1y 2mo", "2028-01-26T10:01:00-05:00"),
            ("next year", "2027-11-26T10:01:00-05:00"),
            ("next month 9am", "2026-12-26T09:00:00-05:00"),
            ("in 2 months at 9am", "2027-01-26T09:00:00-05:00"),
            ("1 month 2 days 3 hours", "2026-12-28T13:01:00-05:00"),
        ],
    );
    // The end of a shorter month clamps; the wall-clock time stays.
    check(
        NY_JAN31,
        &[
            ("next month", "2026-02-28T09:00:00-05:00"),
            ("1mo", "2026-02-28T09:00:00-05:00"),
            ("in 2 months", "2026-03-31T09:00:00-04:00"),
            ("in 1 year", "2027-01-31T09:00:00-05:00"),
        ],
    );
    check(NY_MAR31, &[("in 1 month", "2026-04-30T09:00:00-04:00")]);
    check(
        NY_LEAP_JAN31,
        &[
            ("next month", "2028-02-29T09:00:00-05:00"),
            ("in 13 months", "2029-02-28T09:00:00-05:00"),
        ],
    );
    check(
        NY_LEAP_FEB29,
        &[
            ("in 1 year", "2029-02-28T09:00:00-05:00"),
            ("in 4 years", "2032-02-29T09:00:00-05:00"),
        ],
    );
    // A month ahead lands in the spring-forward gap: forward by the gap, as for days.
    check(
        "2026-02-08T02:30:00-05:00[America/New_York]",
        &[
            ("next month", "2026-03-08T03:30:00-04:00"),
            ("in 1 month at 2:30am", "2026-03-08T03:30:00-04:00"),
        ],
    );
    check(
        "2026-10-01T01:30:00-04:00[America/New_York]",
        &[("next month", "2026-11-01T01:30:00-04:00")],
    );
}

#[test]
fn month_names_and_day_month_dates() {
    check(
        THU,
        &[
            ("dec 25", "2026-12-25T00:00:00-05:00"),
            ("december 25", "2026-12-25T00:00:00-05:00"),
            ("25 dec", "2026-12-25T00:00:00-05:00"),
            ("25 december 2026", "2026-12-25T00:00:00-05:00"),
            ("dec 25 9am", "2026-12-25T09:00:00-05:00"),
            ("dec 25 at 9:30pm", "2026-12-25T21:30:00-05:00"),
            ("on december 25th", "2026-12-25T00:00:00-05:00"),
            ("9am dec 25", "2026-12-25T09:00:00-05:00"),
            ("dec 25 2027 9am", "2027-12-25T09:00:00-05:00"),
            ("1st jan", "2027-01-01T00:00:00-05:00"),
            ("jan 2nd", "2027-01-02T00:00:00-05:00"),
            ("the 3rd of march", "2027-03-03T00:00:00-05:00"),
            ("sept 21st 10am", "2027-09-21T10:00:00-04:00"),
            ("june 22nd", "2027-06-22T00:00:00-04:00"),
            ("on the 11th of may", "2027-05-11T00:00:00-04:00"),
            // Already past this year: the next one.
            ("nov 26", "2027-11-26T00:00:00-05:00"),
            ("nov 26 9am", "2027-11-26T09:00:00-05:00"),
            ("jan 5", "2027-01-05T00:00:00-05:00"),
            // Today, and still ahead: today.
            ("nov 26 11am", "2026-11-26T11:00:00-05:00"),
            // February 29 waits for a leap year.
            ("feb 29", "2028-02-29T00:00:00-05:00"),
            // With a year, the date is kept even if past (the caller warns).
            ("jan 5 2026", "2026-01-05T00:00:00-05:00"),
        ],
    );
    check(
        NY_LEAP_FEB29,
        &[
            ("feb 29 10am", "2028-02-29T10:00:00-05:00"),
            ("feb 29", "2032-02-29T00:00:00-05:00"),
        ],
    );
}

/// Each part of the day, the evening before its hour and just after it.
#[test]
fn parts_of_the_day_before_and_after_their_hour() {
    let parts = [
        ("morning", 9),
        ("afternoon", 14),
        ("teatime", 16),
        ("eod", 17),
        ("end of day", 17),
        ("evening", 18),
        ("tonight", 20),
        ("night", 20),
    ];
    for (word, hour) in parts {
        let before = zoned(&format!(
            "2026-11-26T{:02}:30:00-05:00[America/New_York]",
            hour - 1
        ));
        let after = zoned(&format!(
            "2026-11-26T{hour:02}:01:00-05:00[America/New_York]"
        ));
        let today = format!("2026-11-26T{hour:02}:00:00-05:00");
        let tomorrow = format!("2026-11-27T{hour:02}:00:00-05:00");
        let got = parse(word, &before).expect(word);
        assert_eq!(rfc3339(&got), today, "{word} before its hour");
        match parse(word, &after) {
            Err(TimeError::PartPassed { at, .. }) => assert_eq!(at, format!("{hour:02}:00")),
            other => panic!("{word} after its hour: {other:?}"),
        }
        if !matches!(word, "tonight" | "eod" | "end of day") {
            let this = format!("this {word}");
            let got = parse(&this, &before).expect("this");
            assert_eq!(rfc3339(&got), today, "{this}");
            assert!(matches!(
                parse(&this, &after),
                Err(TimeError::PartPassed { .. })
            ));
        }
        if word != "tonight" {
            let next = format!("tomorrow {word}");
            let got = parse(&next, &after).expect("tomorrow");
            assert_eq!(rfc3339(&got), tomorrow, "{next}");
        }
    }
    check(
        THU,
        &[
            ("tomorrow morning", "2026-11-27T09:00:00-05:00"),
            ("this evening", "2026-11-26T18:00:00-05:00"),
            ("tonight", "2026-11-26T20:00:00-05:00"),
            ("friday afternoon", "2026-11-27T14:00:00-05:00"),
            ("monday morning", "2026-11-30T09:00:00-05:00"),
            ("eod", "2026-11-26T17:00:00-05:00"),
            ("end of day friday", "2026-11-27T17:00:00-05:00"),
            ("end of the day", "2026-11-26T17:00:00-05:00"),
            ("tomorrow night", "2026-11-27T20:00:00-05:00"),
            ("next friday evening", "2026-11-27T18:00:00-05:00"),
            // A weekday with a part follows the weekday rule: today only while still ahead.
            ("thursday evening", "2026-11-26T18:00:00-05:00"),
            ("thursday morning", "2026-12-03T09:00:00-05:00"),
            ("dec 25 morning", "2026-12-25T09:00:00-05:00"),
        ],
    );
    let msg = parse("this morning", &zoned(THU))
        .expect_err("passed")
        .to_string();
    assert!(
        msg.contains(r#""morning" (09:00) has already passed today"#),
        "{msg}"
    );
    assert!(msg.contains("tomorrow morning"), "{msg}");
}

#[test]
fn parts_of_the_day_are_echoed_back() {
    let now = zoned(THU);
    let line = |expr: &str| {
        let at = parse(expr, &now).expect(expr);
        describe_as_typed(expr, &at, &now)
    };
    assert_eq!(
        line("tomorrow morning"),
        "Fri 2026-11-27 09:00 EST, in 22h 59m (morning = 09:00)"
    );
    assert_eq!(
        line("end of day friday"),
        "Fri 2026-11-27 17:00 EST, in 1d 6h (end of day = 17:00)"
    );
    assert_eq!(
        line("tonight"),
        "Thu 2026-11-26 20:00 EST, in 9h 59m (tonight = 20:00)"
    );
    assert_eq!(line("tomorrow 9am"), "Fri 2026-11-27 09:00 EST, in 22h 59m");
}

#[test]
fn more_relative_days() {
    check(
        THU,
        &[
            ("day after tomorrow", "2026-11-28T10:01:00-05:00"),
            ("the day after tomorrow 9am", "2026-11-28T09:00:00-05:00"),
            ("next week monday", "2026-11-30T10:01:00-05:00"),
            ("monday next week", "2026-11-30T10:01:00-05:00"),
            ("next week on thursday 3pm", "2026-12-03T15:00:00-05:00"),
            ("next week friday 9am", "2026-12-04T09:00:00-05:00"),
            ("in 2 weeks on friday", "2026-12-11T10:01:00-05:00"),
            ("in 1 week on monday at 9am", "2026-11-30T09:00:00-05:00"),
            ("a week from friday", "2026-12-04T10:01:00-05:00"),
            ("2 weeks from tomorrow", "2026-12-11T10:01:00-05:00"),
            ("a week from friday 9am", "2026-12-04T09:00:00-05:00"),
            ("next weekday 9am", "2026-11-27T09:00:00-05:00"),
            ("this friday", "2026-11-27T10:01:00-05:00"),
        ],
    );
    // From a Friday evening the next weekday is Monday; Friday's own evening is next week's.
    check(
        "2026-11-27T18:30:00-05:00[America/New_York]",
        &[
            ("next weekday 9am", "2026-11-30T09:00:00-05:00"),
            ("next weekday", "2026-11-30T18:30:00-05:00"),
            ("friday evening", "2026-12-04T18:00:00-05:00"),
            ("tonight", "2026-11-27T20:00:00-05:00"),
        ],
    );
}

#[test]
fn an_hour_and_a_half() {
    check(
        THU,
        &[
            ("an hour and a half", "2026-11-26T11:31:00-05:00"),
            ("in an hour and a half", "2026-11-26T11:31:00-05:00"),
            ("2 hours and a half", "2026-11-26T12:31:00-05:00"),
            ("a minute and a half", "2026-11-26T10:02:30-05:00"),
        ],
    );
    assert!(parse("a day and a half", &zoned(THU)).is_err());
}

/// A bare clock time typed inside the repeated hour is the next instant the wall clock shows
/// it, which may be the second pass of the same night.
#[test]
fn bare_clock_inside_the_repeated_hour() {
    check(
        NY_FOLD_FIRST,
        &[
            ("1:45am", "2026-11-01T01:45:00-04:00"),
            ("1:15am", "2026-11-01T01:15:00-05:00"),
            ("1:30am", "2026-11-01T01:30:00-05:00"),
            ("2am", "2026-11-01T02:00:00-05:00"),
        ],
    );
    check(
        NY_FOLD_SECOND,
        &[
            ("1:45am", "2026-11-01T01:45:00-05:00"),
            ("1:15am", "2026-11-02T01:15:00-05:00"),
            ("2am", "2026-11-01T02:00:00-05:00"),
        ],
    );
    check(
        LH_FOLD_FIRST,
        &[
            ("1:50am", "2026-04-05T01:50:00+11:00"),
            ("1:35am", "2026-04-05T01:35:00+10:30"),
            ("2am", "2026-04-05T02:00:00+10:30"),
            ("tomorrow morning", "2026-04-06T09:00:00+10:30"),
        ],
    );
    check(
        LH_FOLD_SECOND,
        &[
            ("1:50am", "2026-04-05T01:50:00+10:30"),
            ("1:35am", "2026-04-06T01:35:00+10:30"),
        ],
    );
    let second = zoned(NY_FOLD_SECOND);
    let at = parse("1:45am", &second).expect("fold");
    assert_eq!(at.duration_since(&second).as_secs(), 15 * 60);
}

#[test]
fn other_zones() {
    check(
        LH_SPRING_EVE,
        &[
            ("tomorrow 2:15am", "2026-10-04T02:45:00+11:00"),
            ("tomorrow morning", "2026-10-04T09:00:00+11:00"),
            ("1d", "2026-10-04T12:00:00+11:00"),
            ("24h", "2026-10-04T12:30:00+11:00"),
            ("next month", "2026-11-03T12:00:00+11:00"),
        ],
    );
    check(
        LONDON_SPRING_EVE,
        &[
            ("tomorrow 1:30am", "2026-03-29T02:30:00+01:00"),
            ("tomorrow morning", "2026-03-29T09:00:00+01:00"),
            ("dec 25", "2026-12-25T00:00:00+00:00"),
            ("next month", "2026-04-28T12:00:00+01:00"),
        ],
    );
    check(
        LONDON_FALL_EVE,
        &[
            ("tomorrow 1:30am", "2026-10-25T01:30:00+01:00"),
            ("tomorrow evening", "2026-10-25T18:00:00+00:00"),
            ("next week monday", "2026-10-26T12:00:00+00:00"),
        ],
    );
    check(
        KOLKATA_NIGHT,
        &[
            ("tomorrow morning", "2026-06-16T09:00:00+05:30"),
            ("jan 1", "2027-01-01T00:00:00+05:30"),
            ("next month", "2026-07-15T22:00:00+05:30"),
            ("in 2 weeks on friday", "2026-07-03T22:00:00+05:30"),
        ],
    );
    assert!(matches!(
        parse("tonight", &zoned(KOLKATA_NIGHT)),
        Err(TimeError::PartPassed { .. })
    ));
}

#[test]
fn every_phrases_give_the_rule_text() {
    for (expr, rule) in [
        ("every day at 9am", "cron 0 9 * * *"),
        ("every weekday at 9am", "cron 0 9 * * 1-5"),
        ("every monday and thursday at 10:30", "cron 30 10 * * 1,4"),
        ("every 2 hours", "every 2h"),
        ("every 15 minutes", "every 15m"),
        ("every month on the 1st at 9am", "cron 0 9 1 * *"),
        ("every hour at :15", "cron 15 * * * *"),
        ("every day", "every 1d"),
        ("every week", "every 1w"),
        ("every month", "every 1mo"),
        ("every 3 months", "every 3mo"),
        ("every year", "every 1y"),
        ("every hour", "every 1h"),
        ("every 1.5 hours", "every 1h 30m"),
        ("every evening", "cron 0 18 * * *"),
        ("every weekday morning", "cron 0 9 * * 1-5"),
        ("everyday at noon", "cron 0 12 * * *"),
        ("Every Tuesdays at 8pm", "cron 0 20 * * 2"),
        ("every sunday and saturday at 7:05", "cron 5 7 * * 0,6"),
        ("every 1 day at 6pm", "cron 0 18 * * *"),
    ] {
        let got = parse_repeat(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(got.map(|s| s.rule).as_deref(), Some(rule), "{expr}");
    }
    for plain in ["tomorrow 9am", "30m", "everything"] {
        assert_eq!(parse_repeat(plain), Ok(None), "{plain}");
    }
    for &(bad, part) in BAD_REPEATS {
        match parse_repeat(bad) {
            Err(TimeError::Repeat { part: got, .. }) => assert_eq!(got, part, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    let msg = parse_repeat("every fridya at 9am")
        .expect_err("misspelt")
        .to_string();
    assert!(msg.contains(r#"did you mean "friday"?"#), "{msg}");
    assert!(matches!(
        parse_repeat("every day at 25:00"),
        Err(TimeError::InvalidClock { .. })
    ));
    // A one-off parse refuses an every-phrase with the reason.
    let msg = parse("every day at 9am", &zoned(THU))
        .expect_err("rule")
        .to_string();
    assert!(msg.contains("repeats"), "{msg}");
}

#[test]
fn strictness() {
    let now = zoned(THU);
    for &bad in INVALID_DATES {
        assert!(
            matches!(parse(bad, &now), Err(TimeError::InvalidDate { .. })),
            "{bad}"
        );
    }
    assert!(parse("2026-04-08T17:05:00+23:59", &now).is_ok());
    let msg = parse("9999-12-31T00:00:00Z", &now)
        .expect_err("out of range")
        .to_string();
    assert!(msg.contains("9999-12-30T22:00:00Z"), "{msg}");
    for &numeric in NUMERIC_DATES {
        match parse(numeric, &now) {
            Err(e @ TimeError::NumericDate { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("dec 25") && msg.contains("2026-12-25"),
                    "{msg}"
                );
                assert!(!msg.contains("DEFER_TIMEZONE"), "{msg}");
            }
            other => panic!("{numeric}: {other:?}"),
        }
    }
}

#[test]
fn errors_name_the_nearest_word() {
    let now = zoned(THU);
    let msg = |s: &str| parse(s, &now).expect_err(s).to_string();
    for &(input, want) in NEAREST_WORD {
        assert!(msg(input).contains(want), "{input:?}: {}", msg(input));
    }
}

/// Refusals of this file's tests (also read by the suggestion test in `tests_phrases.rs`).
pub(super) const BAD_REPEATS: &[(&str, &str)] = &[
    ("every", "the end"),
    ("every blah", "blah"),
    ("every fridya at 9am", "fridya at 9am"),
    ("every monday", "the end"),
    ("every 2 days at 9am", "at 9am"),
    ("every hour at 9am", "9am"),
];

pub(super) const INVALID_DATES: &[&str] = &[
    "2026-04-08T17:05:00+24:00",
    "2026-04-08T17:05:00-24:00",
    "2026-04-08T17:05:60Z",
    "2026-04-08 23:59:60",
    "feb 30",
];

pub(super) const NUMERIC_DATES: &[&str] = &["12/25", "25/12", "12/25/2026", "on 12/25 9am"];

/// Misspellings and words outside the grammar, with what the refusal must say.
pub(super) const NEAREST_WORD: &[(&str, &str)] = &[
    ("minuts", r#"did you mean "minutes"?"#),
    ("10 minuts", r#"did you mean "minutes"?"#),
    ("in 3 weks", r#"did you mean "weeks"?"#),
    ("fridya", r#"did you mean "friday"?"#),
    ("next fridya 3pm", r#"did you mean "friday"?"#),
    ("tomorow 9am", r#"did you mean "tomorrow"?"#),
    ("decmber 25", r#"did you mean "december"?"#),
    ("weekend", r#"say "saturday 10am""#),
    ("end of week", r#"say "end of day friday""#),
    ("this week", r#"next week"#),
    ("22th dec", r#"write "22nd""#),
    ("dec 32", "not a day of the month"),
];

#[test]
fn grammar_help_lists_the_new_forms() {
    for form in [
        "in 3 months",
        "next month",
        "1mo",
        "dec 25",
        "25 december 2026",
        "dec 25 at 9:30pm",
        "on december 25th",
        "tomorrow morning",
        "this evening",
        "tonight",
        "friday afternoon",
        "eod",
        "end of day friday",
        "morning 09:00",
        "teatime 16:00",
        "day after tomorrow",
        "next week monday",
        "monday next week",
        "in 2 weeks on friday",
        "a week from friday",
        "next weekday 9am",
        "every day at 9am",
        "every weekday at 9am",
        "every monday and thursday at 10:30",
        "every 2 hours",
        "every 15 minutes",
        "every month on the 1st at 9am",
        "every hour at :15",
        "an hour and a half",
    ] {
        assert!(GRAMMAR_HELP.contains(form), "{form}");
    }
}
