//! Table-driven tests of the whole pipeline: expression and `now` in, instant or error out.

use super::*;
use jiff::Timestamp;

/// Thursday 2026-11-26, 10:01 EST (the day before the example in `describe`'s docs).
pub(super) const THU: &str = "2026-11-26T10:01:00-05:00[America/New_York]";
/// Friday 2026-11-27, 10:00 and 16:00 EST.
const FRI_10: &str = "2026-11-27T10:00:00-05:00[America/New_York]";
const FRI_16: &str = "2026-11-27T16:00:00-05:00[America/New_York]";
/// The day before spring forward (2026-03-08 02:00 EST → 03:00 EDT), and that night.
const SPRING_EVE: &str = "2026-03-07T12:00:00-05:00[America/New_York]";
const SPRING_NIGHT: &str = "2026-03-08T00:30:00-05:00[America/New_York]";
/// The day before fall back (2026-11-01 02:00 EDT → 01:00 EST), and that night.
const FALL_EVE: &str = "2026-10-31T12:00:00-04:00[America/New_York]";
const FALL_NIGHT: &str = "2026-11-01T00:30:00-04:00[America/New_York]";

pub(super) fn zoned(s: &str) -> ZonedDateTime {
    s.parse().expect("fixture is a valid zoned datetime")
}

/// RFC 3339 with the local offset, so a table entry pins both the instant and the offset.
pub(super) fn rfc3339(z: &ZonedDateTime) -> String {
    z.timestamp().display_with_offset(z.offset()).to_string()
}

pub(super) fn check(now: &str, cases: &[(&str, &str)]) {
    let now = zoned(now);
    for &(input, want) in cases {
        let got = parse(input, &now).unwrap_or_else(|e| panic!("{input:?} failed: {e}"));
        assert_eq!(rfc3339(&got), want, "input {input:?}");
        assert_eq!(got.time_zone(), now.time_zone(), "input {input:?}: zone");
    }
}

#[test]
fn spec_table_one() {
    check(
        THU,
        &[
            // now
            ("now", "2026-11-26T10:01:00-05:00"),
            // compact durations, optional `+` or `in `
            ("10m", "2026-11-26T10:11:00-05:00"),
            ("2h", "2026-11-26T12:01:00-05:00"),
            ("1d2h30m", "2026-11-27T12:31:00-05:00"),
            ("1w", "2026-12-03T10:01:00-05:00"),
            ("45s", "2026-11-26T10:01:45-05:00"),
            ("+10m", "2026-11-26T10:11:00-05:00"),
            ("in 10m", "2026-11-26T10:11:00-05:00"),
            // verbose durations
            ("10 minutes", "2026-11-26T10:11:00-05:00"),
            ("in 2 hours", "2026-11-26T12:01:00-05:00"),
            ("1 hour 30 minutes", "2026-11-26T11:31:00-05:00"),
            ("3 hrs", "2026-11-26T13:01:00-05:00"),
            ("5 mins", "2026-11-26T10:06:00-05:00"),
            ("30 secs", "2026-11-26T10:01:30-05:00"),
            ("2 days", "2026-11-28T10:01:00-05:00"),
            ("1 week", "2026-12-03T10:01:00-05:00"),
            // clocks: the next time the wall clock shows them
            ("3pm", "2026-11-26T15:00:00-05:00"),
            ("3 pm", "2026-11-26T15:00:00-05:00"),
            ("3:30pm", "2026-11-26T15:30:00-05:00"),
            ("3:30 p.m.", "2026-11-26T15:30:00-05:00"),
            ("14:30", "2026-11-26T14:30:00-05:00"),
            ("1430", "2026-11-26T14:30:00-05:00"),
            ("noon", "2026-11-26T12:00:00-05:00"),
            ("midnight", "2026-11-27T00:00:00-05:00"),
            // day phrases
            ("today", "2026-11-26T10:01:00-05:00"),
            ("tomorrow", "2026-11-27T10:01:00-05:00"),
            ("today 5pm", "2026-11-26T17:00:00-05:00"),
            ("tomorrow 9am", "2026-11-27T09:00:00-05:00"),
            ("tomorrow noon", "2026-11-27T12:00:00-05:00"),
            // weekdays: strictly after today (now is a Thursday)
            ("next friday", "2026-11-27T10:01:00-05:00"),
            ("next friday 3pm", "2026-11-27T15:00:00-05:00"),
            ("next monday 9am", "2026-11-30T09:00:00-05:00"),
            ("next thursday", "2026-12-03T10:01:00-05:00"),
            // ISO 8601
            ("2026-04-08T17:05:00Z", "2026-04-08T13:05:00-04:00"),
            ("2026-04-08T17:05:00+02:00", "2026-04-08T11:05:00-04:00"),
            ("2026-04-08T17:05:00", "2026-04-08T17:05:00-04:00"),
            ("2026-04-08 17:05", "2026-04-08T17:05:00-04:00"),
        ],
    );
}

#[test]
fn spec_table_two() {
    check(
        THU,
        &[
            // `at` before a clock
            ("at 3pm", "2026-11-26T15:00:00-05:00"),
            ("tomorrow at 9am", "2026-11-27T09:00:00-05:00"),
            ("next friday at 3pm", "2026-11-27T15:00:00-05:00"),
            // clock before the day
            ("9am tomorrow", "2026-11-27T09:00:00-05:00"),
            ("noon tomorrow", "2026-11-27T12:00:00-05:00"),
            ("3pm next friday", "2026-11-27T15:00:00-05:00"),
            // bare / `this` weekday: nearest, today included when still ahead
            ("friday", "2026-11-27T10:01:00-05:00"),
            ("friday 3pm", "2026-11-27T15:00:00-05:00"),
            ("this friday 3pm", "2026-11-27T15:00:00-05:00"),
            ("thursday 3pm", "2026-11-26T15:00:00-05:00"),
            ("this thursday 3pm", "2026-11-26T15:00:00-05:00"),
            ("thursday 9am", "2026-12-03T09:00:00-05:00"),
            ("thursday", "2026-12-03T10:01:00-05:00"),
            ("wednesday", "2026-12-02T10:01:00-05:00"),
            // spaced / fractional / word durations
            ("2h 30m", "2026-11-26T12:31:00-05:00"),
            ("in 1h 30m", "2026-11-26T11:31:00-05:00"),
            ("1.5h", "2026-11-26T11:31:00-05:00"),
            ("in an hour", "2026-11-26T11:01:00-05:00"),
            ("in a minute", "2026-11-26T10:02:00-05:00"),
            ("in half an hour", "2026-11-26T10:31:00-05:00"),
            ("now + 30 minutes", "2026-11-26T10:31:00-05:00"),
            ("now+30m", "2026-11-26T10:31:00-05:00"),
            // duration, then a clock
            ("in 2 days at 9am", "2026-11-28T09:00:00-05:00"),
            ("in 1 week at 9am", "2026-12-03T09:00:00-05:00"),
            // next week
            ("next week", "2026-12-03T10:01:00-05:00"),
            // date, optionally with a clock
            ("2026-12-25", "2026-12-25T00:00:00-05:00"),
            ("2026-12-25 9am", "2026-12-25T09:00:00-05:00"),
        ],
    );
}

#[test]
fn more_accepted_forms() {
    check(
        THU,
        &[
            // case, spacing
            ("  TOMORROW   9AM ", "2026-11-27T09:00:00-05:00"),
            ("\u{a0}3pm\u{2003}", "2026-11-26T15:00:00-05:00"),
            ("Tomorrow At Noon", "2026-11-27T12:00:00-05:00"),
            ("3:30 P.M.", "2026-11-26T15:30:00-05:00"),
            ("3:30\tpm", "2026-11-26T15:30:00-05:00"),
            ("9 a.m. tomorrow", "2026-11-27T09:00:00-05:00"),
            ("9a.m", "2026-11-27T09:00:00-05:00"),
            ("9pm.", "2026-11-26T21:00:00-05:00"),
            // 12am / 12pm, past clocks roll to tomorrow, equality is not "ahead"
            ("12am", "2026-11-27T00:00:00-05:00"),
            ("12pm", "2026-11-26T12:00:00-05:00"),
            ("12:30am", "2026-11-27T00:30:00-05:00"),
            ("9am", "2026-11-27T09:00:00-05:00"),
            ("0900", "2026-11-27T09:00:00-05:00"),
            ("10:01", "2026-11-27T10:01:00-05:00"),
            ("10:02", "2026-11-26T10:02:00-05:00"),
            ("00:00", "2026-11-27T00:00:00-05:00"),
            ("23:59:59", "2026-11-26T23:59:59-05:00"),
            ("3:30:15pm", "2026-11-26T15:30:15-05:00"),
            ("at midnight", "2026-11-27T00:00:00-05:00"),
            // a past clock on a named day is kept (the caller warns)
            ("today 9am", "2026-11-26T09:00:00-05:00"),
            ("today at 00:00", "2026-11-26T00:00:00-05:00"),
            // weekday spellings
            ("fri 3pm", "2026-11-27T15:00:00-05:00"),
            ("on friday at 3pm", "2026-11-27T15:00:00-05:00"),
            ("at 3pm on friday", "2026-11-27T15:00:00-05:00"),
            ("thurs 3pm", "2026-11-26T15:00:00-05:00"),
            ("next thu 9am", "2026-12-03T09:00:00-05:00"),
            ("tues", "2026-12-01T10:01:00-05:00"),
            ("next sun noon", "2026-11-29T12:00:00-05:00"),
            // more durations
            ("0s", "2026-11-26T10:01:00-05:00"),
            ("in 0 seconds", "2026-11-26T10:01:00-05:00"),
            ("0.0h", "2026-11-26T10:01:00-05:00"),
            ("1.0d", "2026-11-27T10:01:00-05:00"),
            ("0.5m", "2026-11-26T10:01:30-05:00"),
            ("0.25s", "2026-11-26T10:01:00.25-05:00"),
            ("90s", "2026-11-26T10:02:30-05:00"),
            ("1d 2h 30m", "2026-11-27T12:31:00-05:00"),
            ("30m2h", "2026-11-26T12:31:00-05:00"),
            ("in 1 day 2 hours", "2026-11-27T12:01:00-05:00"),
            ("1 hour and 30 minutes", "2026-11-26T11:31:00-05:00"),
            ("an hour", "2026-11-26T11:01:00-05:00"),
            ("a minute", "2026-11-26T10:02:00-05:00"),
            ("a week", "2026-12-03T10:01:00-05:00"),
            ("half a minute", "2026-11-26T10:01:30-05:00"),
            ("10 minutes from now", "2026-11-26T10:11:00-05:00"),
            ("+ 10m", "2026-11-26T10:11:00-05:00"),
            ("now + 1 day at 9am", "2026-11-27T09:00:00-05:00"),
            ("2 days at 9am", "2026-11-28T09:00:00-05:00"),
            ("in 2 days 9am", "2026-11-28T09:00:00-05:00"),
            ("in a week at noon", "2026-12-03T12:00:00-05:00"),
            ("in 0 days at 9am", "2026-11-26T09:00:00-05:00"),
            ("3 wks", "2026-12-17T10:01:00-05:00"),
            ("1 sec", "2026-11-26T10:01:01-05:00"),
            ("in 100000 weeks", "3943-06-10T10:01:00-04:00"),
            ("next week 9am", "2026-12-03T09:00:00-05:00"),
            ("9am next week", "2026-12-03T09:00:00-05:00"),
            // dates and ISO variants
            ("2026-12-25 at 9am", "2026-12-25T09:00:00-05:00"),
            ("9am 2026-12-25", "2026-12-25T09:00:00-05:00"),
            ("on 2026-12-25", "2026-12-25T00:00:00-05:00"),
            ("2026-12-25 14:30", "2026-12-25T14:30:00-05:00"),
            ("2026-12-25 1430", "2026-12-25T14:30:00-05:00"),
            ("2026-12-25 3:30pm", "2026-12-25T15:30:00-05:00"),
            ("2026-04-08t17:05:00z", "2026-04-08T13:05:00-04:00"),
            ("2026-04-08T17:05:00.5Z", "2026-04-08T13:05:00.5-04:00"),
            ("2026-04-08 17:05:00Z", "2026-04-08T13:05:00-04:00"),
            ("2026-04-08 17:05:00+02:00", "2026-04-08T11:05:00-04:00"),
            ("2026-04-08 17:05-05:00", "2026-04-08T18:05:00-04:00"),
            ("2026-04-08 17:05:30", "2026-04-08T17:05:30-04:00"),
            ("2026-04-08T17:05:00-0500", "2026-04-08T18:05:00-04:00"),
            ("2020-01-01T00:00:00Z", "2019-12-31T19:00:00-05:00"),
        ],
    );
}

#[test]
fn weekday_on_that_weekday() {
    check(
        FRI_10,
        &[
            ("friday 3pm", "2026-11-27T15:00:00-05:00"),
            ("this friday 3pm", "2026-11-27T15:00:00-05:00"),
            ("friday 9am", "2026-12-04T09:00:00-05:00"),
            ("friday", "2026-12-04T10:00:00-05:00"),
            ("next friday", "2026-12-04T10:00:00-05:00"),
            ("next friday 3pm", "2026-12-04T15:00:00-05:00"),
            ("saturday", "2026-11-28T10:00:00-05:00"),
            ("next saturday", "2026-11-28T10:00:00-05:00"),
        ],
    );
    check(
        FRI_16,
        &[
            ("friday 3pm", "2026-12-04T15:00:00-05:00"),
            ("3pm", "2026-11-28T15:00:00-05:00"),
            ("friday 5pm", "2026-11-27T17:00:00-05:00"),
        ],
    );
}

#[test]
fn spring_forward() {
    check(
        SPRING_EVE,
        &[
            // elapsed vs calendar across the change
            ("24h", "2026-03-08T13:00:00-04:00"),
            ("1d", "2026-03-08T12:00:00-04:00"),
            ("tomorrow", "2026-03-08T12:00:00-04:00"),
            ("1d1h", "2026-03-08T13:00:00-04:00"),
            // a wall time in the gap moves forward by the gap
            ("tomorrow 2:30am", "2026-03-08T03:30:00-04:00"),
            ("2026-03-08T02:30", "2026-03-08T03:30:00-04:00"),
            ("2026-03-08 2:30am", "2026-03-08T03:30:00-04:00"),
        ],
    );
    check(
        SPRING_NIGHT,
        &[
            ("2:30am", "2026-03-08T03:30:00-04:00"),
            ("1:30am", "2026-03-08T01:30:00-05:00"),
            ("3h", "2026-03-08T04:30:00-04:00"),
            ("1d", "2026-03-09T00:30:00-04:00"),
        ],
    );
}

#[test]
fn fall_back() {
    check(
        FALL_EVE,
        &[
            ("24h", "2026-11-01T11:00:00-05:00"),
            ("1d", "2026-11-01T12:00:00-05:00"),
            ("tomorrow 1:30am", "2026-11-01T01:30:00-04:00"),
        ],
    );
    check(
        FALL_NIGHT,
        &[
            // the earlier of the two 01:30s: EDT, 05:30Z
            ("1:30am", "2026-11-01T01:30:00-04:00"),
            ("2026-11-01 01:30", "2026-11-01T01:30:00-04:00"),
            ("1h", "2026-11-01T01:30:00-04:00"),
            ("2h", "2026-11-01T01:30:00-05:00"),
            ("1d", "2026-11-02T00:30:00-05:00"),
        ],
    );
    let fold = parse("1:30am", &zoned(FALL_NIGHT)).expect("fold time parses");
    assert_eq!(
        fold.timestamp(),
        "2026-11-01T05:30:00Z".parse::<Timestamp>().expect("ts")
    );
}

#[test]
fn other_zones() {
    // A fixed zone and a zone east of UTC; ISO offsets keep their instant.
    check(
        "2026-06-01T08:00:00+02:00[Europe/Paris]",
        &[
            ("9am", "2026-06-01T09:00:00+02:00"),
            ("2026-06-01T08:00:00Z", "2026-06-01T10:00:00+02:00"),
            ("next week", "2026-06-08T08:00:00+02:00"),
        ],
    );
    check(
        "2026-06-01T23:30:00Z[UTC]",
        &[("midnight", "2026-06-02T00:00:00+00:00")],
    );
}

/// The kind of a [`TimeError`], for tables of rejections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum V {
    Empty,
    Unsupported,
    Ambiguous,
    Clock,
    Date,
    Zone,
    Overflow,
    PartPassed,
    NumericDate,
    Repeat,
    TooLong,
}

/// Every rejection of the grammar's first tables, with its variant (also read by the
/// suggestion test in `tests_phrases.rs`).
pub(super) const REJECTIONS: &[(&str, V)] = &[
    ("", V::Empty),
    ("   \t ", V::Empty),
    ("5 minutes ago", V::Unsupported),
    ("foo 5 min bar", V::Unsupported),
    ("5 min bar", V::Unsupported),
    ("yesterday", V::Unsupported),
    ("last friday", V::Unsupported),
    ("blah", V::Unsupported),
    ("in -5m", V::Unsupported),
    ("-5m", V::Unsupported),
    ("now - 5m", V::Unsupported),
    ("in 5", V::Unsupported),
    ("in", V::Unsupported),
    ("now +", V::Unsupported),
    ("now 5m", V::Unsupported),
    ("next", V::Unsupported),
    ("this week", V::Unsupported),
    ("tomorrow tomorrow", V::Unsupported),
    ("today tomorrow", V::Unsupported),
    ("3pm 4pm", V::Unsupported),
    ("tomorrow 2 hours", V::Unsupported),
    ("1.5d", V::Unsupported),
    ("0.5w", V::Unsupported),
    ("half a day", V::Unsupported),
    ("1h 1h", V::Unsupported),
    ("in 2h at 9am", V::Unsupported),
    ("in 1d2h at 9am", V::Unsupported),
    ("at", V::Unsupported),
    ("at tomorrow", V::Unsupported),
    ("1h and", V::Unsupported),
    ("an", V::Unsupported),
    ("10 minutes from", V::Unsupported),
    ("in 10 minutes from now", V::Unsupported),
    ("2026-04-08T17:05:00Z tomorrow", V::Unsupported),
    ("3pm,", V::Unsupported),
    (".5h", V::Unsupported),
    ("5 min.", V::Unsupported),
    ("é", V::Unsupported),
    ("3", V::Ambiguous),
    ("15", V::Ambiguous),
    ("at 3", V::Ambiguous),
    ("tomorrow 9", V::Ambiguous),
    ("25:00", V::Clock),
    ("24:00", V::Clock),
    ("13pm", V::Clock),
    ("0am", V::Clock),
    ("3:60pm", V::Clock),
    ("14:30pm", V::Clock),
    ("3:5pm", V::Clock),
    ("10:30:60", V::Clock),
    ("930", V::Clock),
    ("1030pm", V::Clock),
    ("2460", V::Clock),
    ("12345", V::Clock),
    ("3.30pm", V::Clock),
    ("123:45", V::Clock),
    ("friday midnight", V::Clock),
    ("midnight tomorrow", V::Clock),
    ("in 2 days at midnight", V::Clock),
    ("2026-02-30", V::Date),
    ("2026-13-01 9am", V::Date),
    ("2026-04-08T25:00", V::Date),
    ("2026-04-08Tnoon", V::Date),
    ("3pm EST", V::Zone),
    ("9am PST", V::Zone),
    ("tomorrow 9am UTC", V::Zone),
    ("5pm Europe/Paris", V::Zone),
    ("noon gmt", V::Zone),
    ("3pm +0200", V::Zone),
    ("3pm -05:00", V::Zone),
    ("3pm utc+2", V::Zone),
    ("17:05+02:00", V::Zone),
    ("3pm-0500", V::Zone),
    ("2026-04-08 17:05 EST", V::Zone),
    ("2026-04-08T17:05:00 z", V::Zone),
    ("2026-04-08T17:05[Europe/Paris]", V::Zone),
    ("99999999999999999999m", V::Overflow),
    ("9999999999999999999h", V::Overflow),
    ("in 99999999999999999999 days", V::Overflow),
    ("in 1000000 weeks", V::Overflow),
    ("100000000d", V::Overflow),
    ("in 3000000 days at 9am", V::Overflow),
];

/// Every rejection: the variant, and a message that names the expression.
#[test]
fn rejections() {
    let cases = REJECTIONS;
    let now = zoned(THU);
    for &(input, want) in cases {
        let err = match parse(input, &now) {
            Ok(z) => panic!("{input:?} was accepted as {z}"),
            Err(e) => e,
        };
        let got = match err {
            TimeError::Empty => V::Empty,
            TimeError::Unsupported { .. } => V::Unsupported,
            TimeError::Ambiguous { .. } => V::Ambiguous,
            TimeError::InvalidClock { .. } => V::Clock,
            TimeError::InvalidDate { .. } => V::Date,
            TimeError::ZoneSuffix { .. } => V::Zone,
            TimeError::Overflow { .. } => V::Overflow,
            TimeError::PartPassed { .. } => V::PartPassed,
            TimeError::NumericDate { .. } => V::NumericDate,
            TimeError::Repeat { .. } => V::Repeat,
            TimeError::TooLong { .. } => V::TooLong,
        };
        assert_eq!(got, want, "{input:?}: {err}");
        let msg = err.to_string();
        if want != V::Empty {
            assert!(
                msg.contains(&format!("{:?}", input.trim())),
                "{input:?}: {msg}"
            );
        }
        if want == V::Zone {
            assert!(msg.contains("DEFER_TIMEZONE (America/New_York)"), "{msg}");
        }
    }
}

#[test]
fn error_messages() {
    let now = zoned(THU);
    let msg = |s: &str| parse(s, &now).expect_err("rejected").to_string();
    assert_eq!(
        msg("3pm EST"),
        r#"time zone "EST" in "3pm EST" is not supported: times are read in DEFER_TIMEZONE (America/New_York); set DEFER_TIMEZONE to change the zone, or give an ISO 8601 time with an offset such as 2026-04-08T17:05:00-05:00"#
    );
    assert_eq!(
        msg("blah"),
        r#"unsupported time expression "blah": unexpected word "blah" (try "30m", "tomorrow 9am", "next friday 3pm" or "2026-12-25 9am")"#
    );
    assert_eq!(
        msg("3"),
        r#"ambiguous number "3" in "3": add a unit or am/pm, e.g. "3m", "3h", "3am" or "3pm""#
    );
    assert_eq!(
        msg("13pm"),
        r#"invalid clock time "13pm" in "13pm": with am/pm the hour runs from 1 to 12; write "13:00" without am/pm, or "1:00pm""#
    );
    assert!(msg("5 Minutes AGO").contains(r#""AGO" points to the past"#));
    assert!(msg("in 5").contains(r#"missing unit after "5""#));
    assert!(msg("1h 1h").contains("appears twice"));
    assert!(msg("in -5m").contains("negative durations"));
    assert!(msg("15").contains(r#""15:00""#));
    // Without an IANA name (a fixed offset) the zone is simply not named.
    let fixed = zoned("2026-11-26T10:01:00-05:00[-05:00]");
    let e = parse("3pm EST", &fixed).expect_err("rejected").to_string();
    assert!(e.contains("times are read in DEFER_TIMEZONE;"), "{e}");
}

#[test]
fn describe_outputs() {
    let now = zoned("2026-11-26T10:01:00-05:00[America/New_York]");
    let d = |target: &str| describe(&zoned(target), &now);
    assert_eq!(
        d("2026-11-27T09:00:00-05:00[America/New_York]"),
        "Fri 2026-11-27 09:00 EST, in 22h 59m"
    );
    assert_eq!(d(THU), "Thu 2026-11-26 10:01 EST, now");
    assert_eq!(
        d("2026-11-26T06:56:00-05:00[America/New_York]"),
        "Thu 2026-11-26 06:56 EST, 3h 5m ago"
    );
    assert_eq!(
        d("2026-11-28T13:01:00-05:00[America/New_York]"),
        "Sat 2026-11-28 13:01 EST, in 2d 3h"
    );
    assert_eq!(
        d("2026-11-26T10:01:45-05:00[America/New_York]"),
        "Thu 2026-11-26 10:01 EST, in 45s"
    );
    assert_eq!(
        d("2026-11-26T11:01:00-05:00[America/New_York]"),
        "Thu 2026-11-26 11:01 EST, in 1h"
    );
    assert_eq!(
        d("2026-11-26T10:11:00-05:00[America/New_York]"),
        "Thu 2026-11-26 10:11 EST, in 10m"
    );
    assert_eq!(
        d("2026-11-28T10:06:00-05:00[America/New_York]"),
        "Sat 2026-11-28 10:06 EST, in 2d"
    );
    assert_eq!(
        d("2026-11-26T10:00:30-05:00[America/New_York]"),
        "Thu 2026-11-26 10:00 EST, 30s ago"
    );
    assert_eq!(
        d("2026-11-26T10:01:00.4-05:00[America/New_York]"),
        "Thu 2026-11-26 10:01 EST, now"
    );
    // The abbreviation follows the target's own offset.
    let night = zoned(SPRING_NIGHT);
    let after = parse("2:30am", &night).expect("gap time");
    assert_eq!(describe(&after, &night), "Sun 2026-03-08 03:30 EDT, in 2h");
    // Round trip with parse.
    let target = parse("tomorrow 9am", &now).expect("parses");
    assert_eq!(
        describe(&target, &now),
        "Fri 2026-11-27 09:00 EST, in 22h 59m"
    );
}

#[test]
fn grammar_help_mentions_every_form() {
    for form in [
        "now",
        "10m",
        "in an hour",
        "3:30 p.m.",
        "tomorrow at 9am",
        "next friday",
        "this friday",
        "in 2 days at 9am",
        "next week",
        "2026-12-25 9am",
        "2026-04-08T17:05:00Z",
        "DEFER_TIMEZONE",
    ] {
        assert!(GRAMMAR_HELP.contains(form), "{form}");
    }
}

/// No input panics: odd strings, every ASCII character alone, and three-token combinations
/// of grammar fragments (which also exercises the accepted paths).
#[test]
fn never_panics() {
    let now = zoned(THU);
    let long_digits = "9".repeat(5_000);
    let long_frac = format!("1.{}h", "3".repeat(5_000));
    let long_words = "tomorrow ".repeat(2_000);
    let odd = [
        "",
        " ",
        "\u{a0}3pm\u{2003}",
        "\0",
        "\u{1F600}",
        "3pm\u{1F600}",
        "ｔｏｍｏｒｒｏｗ",
        "+",
        "-",
        ":",
        ".",
        "..",
        "+-",
        "::",
        "a.m.",
        "p.",
        "p.m",
        "3:",
        ":30",
        "3::30",
        "1:2:3:4",
        "1.",
        "1..5h",
        "1.5.5h",
        "0x10m",
        "1e3s",
        "1_000m",
        "١٢pm",
        "2026-",
        "2026-04",
        "2026-04-08T",
        "2026-04-08T17:05:00+99:99",
        "2026-04-08 17:",
        "2026-04-08 17:05:00+",
        "-2026-04-08",
        "+002026-04-08",
        "9999-12-31T23:59:59Z",
        "9999-12-31 11pm",
        "9999-12-31",
        "-9999-01-01",
        "0000-01-01",
        "utc+",
        "gmt-",
        "3pm+",
        "3pm-",
        "now+",
        "now++5m",
        "in in 5m",
        "at at 3pm",
        "next next friday",
        "half",
        "half an",
        "a",
        "and",
        "and 5m",
        "5m and",
        "from now",
        "[utc]",
        "3pm[est]",
        &long_digits,
        &long_frac,
        &long_words,
        "18446744073709551615s",
        "18446744073709551616s",
        "18446744073709551615d",
        "9223372036854775807w",
        "0.999999999999999999999999h",
    ];
    for s in odd {
        let _ = parse(s, &now);
    }
    for b in 0u8..128 {
        let s = (b as char).to_string();
        let _ = parse(&s, &now);
    }
    let max = zoned("9999-12-30T20:00:00+00:00[UTC]");
    let min = zoned("-009999-01-03T00:00:00+00:00[UTC]");
    let frags = [
        "now",
        "in",
        "+",
        "-",
        "at",
        "on",
        "this",
        "next",
        "3",
        "15",
        "1430",
        "3pm",
        "12am",
        "3:30",
        "p.m.",
        "noon",
        "midnight",
        "today",
        "tomorrow",
        "friday",
        "week",
        "5m",
        "1.5",
        "h",
        "d",
        "days",
        "an",
        "half",
        "hour",
        "and",
        "from",
        "2026-12-25",
        "2026-04-08T17:05:00Z",
        "est",
        "ago",
        "99999999999999999999",
    ];
    for a in frags {
        for b in frags {
            for c in ["", "9am", "2h", "tomorrow", "week", "x"] {
                let s = format!("{a} {b} {c}");
                for n in [&now, &max, &min] {
                    let _ = parse(&s, n);
                }
            }
        }
    }
    // Far-future and far-past `now`s must give errors, not panics, for offsets past the end.
    assert!(matches!(parse("3h", &max), Err(TimeError::Overflow { .. })));
    assert!(matches!(
        parse("tomorrow 9am", &max),
        Err(TimeError::Overflow { .. })
    ));
    assert!(matches!(
        parse("friday", &max),
        Err(TimeError::Overflow { .. })
    ));
    assert!(parse("now", &min).is_ok());
}

#[test]
fn a_huge_expression_is_refused_at_once_and_not_echoed_whole() {
    let now = zoned(THU);
    let huge = "x".repeat(1 << 20);
    let started = std::time::Instant::now();
    for err in [
        parse(&huge, &now).expect_err("too long"),
        parse_interval(&huge).expect_err("too long"),
        parse_repeat(&format!("every {huge}")).expect_err("too long"),
    ] {
        assert!(
            matches!(err, TimeError::TooLong { len, .. } if len >= 1 << 20),
            "{err}"
        );
        assert!(err.to_string().len() < 300, "{err}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // The limit leaves room for any real expression.
    assert!(parse(&format!("in 2 days at 9am{}", " ".repeat(150)), &now).is_ok());
}
