//! Issue 23 part 5, "the phrases people still type": days named within a month, the month's
//! end, rules every few weeks on a weekday and monthly rules by weekday, each with the instant
//! it must give in UTC, New York (both DST changes), Paris, Kolkata and Lord Howe; and the
//! refusals, whose every quoted suggestion the grammar must accept.

use super::tests::{REJECTIONS, THU, check, rfc3339, zoned};
use super::tests_people::{BAD_REPEATS, INVALID_DATES, NEAREST_WORD, NUMERIC_DATES};
use super::*;
use crate::error::{Arg, Error};
use crate::recur::Rule;

/// Thursday 2026-11-26 10:01 UTC.
const UTC_THU: &str = "2026-11-26T10:01:00+00:00[UTC]";
/// Tuesday 2026-10-27 10:00 EDT, five days before fall back (2026-11-01 02:00 → 01:00 EST).
const NY_FALL: &str = "2026-10-27T10:00:00-04:00[America/New_York]";
/// Monday 2026-03-02 noon EST, six days before spring forward (2026-03-08 02:00 → 03:00).
const NY_SPRING: &str = "2026-03-02T12:00:00-05:00[America/New_York]";
/// Friday 2026-03-20 noon CET; Paris springs forward on Sunday 2026-03-29 (02:00 → 03:00).
const PARIS: &str = "2026-03-20T12:00:00+01:00[Europe/Paris]";
/// Tuesday 2026-06-30 22:00 IST, the last day of June.
const KOLKATA: &str = "2026-06-30T22:00:00+05:30[Asia/Kolkata]";
/// Monday 2026-09-28 noon; Lord Howe springs forward 30 minutes on Sunday 2026-10-04
/// (02:00 +10:30 → 02:30 +11:00).
const LORD_HOWE: &str = "2026-09-28T12:00:00+10:30[Australia/Lord_Howe]";

#[test]
fn days_within_a_month_in_utc() {
    check(
        UTC_THU,
        &[
            ("first monday of next month", "2026-12-07T00:00:00+00:00"),
            ("last friday of the month", "2026-11-27T00:00:00+00:00"),
            ("end of month", "2026-11-30T17:00:00+00:00"),
            ("end of the month", "2026-11-30T17:00:00+00:00"),
            ("end of this month at 9am", "2026-11-30T09:00:00+00:00"),
            ("end of month 9am", "2026-11-30T09:00:00+00:00"),
            ("9am end of month", "2026-11-30T09:00:00+00:00"),
            ("last day of the month", "2026-11-30T17:00:00+00:00"),
            ("last day of month", "2026-11-30T17:00:00+00:00"),
            ("last day of next month", "2026-12-31T17:00:00+00:00"),
            ("end of next month", "2026-12-31T17:00:00+00:00"),
            ("first day of next month", "2026-12-01T00:00:00+00:00"),
            // This month's 1st has passed: next month's.
            ("first day of the month", "2026-12-01T00:00:00+00:00"),
            // November 10 has passed: December's second Tuesday.
            ("second tuesday of the month", "2026-12-08T00:00:00+00:00"),
            // Today, and still ahead; today, and already past.
            (
                "fourth thursday of the month at 3pm",
                "2026-11-26T15:00:00+00:00",
            ),
            (
                "fourth thursday of the month at 9am",
                "2026-12-24T09:00:00+00:00",
            ),
            ("4th thursday of month 9am", "2026-12-24T09:00:00+00:00"),
            (
                "the third friday of this month",
                "2026-12-18T00:00:00+00:00",
            ),
            (
                "the last friday of next month at 5pm",
                "2026-12-25T17:00:00+00:00",
            ),
            (
                "3pm first monday of next month",
                "2026-12-07T15:00:00+00:00",
            ),
            (
                "on the 1st monday of next month at noon",
                "2026-12-07T12:00:00+00:00",
            ),
            ("last fri of the month evening", "2026-11-27T18:00:00+00:00"),
        ],
    );
}

#[test]
fn days_within_a_month_across_dst() {
    check(
        NY_FALL,
        &[
            // After fall back: EST.
            (
                "first monday of next month at 9am",
                "2026-11-02T09:00:00-05:00",
            ),
            // The repeated hour: the earlier instant (EDT), as for any day and clock.
            (
                "first sunday of next month at 1:30am",
                "2026-11-01T01:30:00-04:00",
            ),
            ("end of month", "2026-10-31T17:00:00-04:00"),
            ("last day of next month", "2026-11-30T17:00:00-05:00"),
            (
                "last tuesday of the month at 9am",
                "2026-11-24T09:00:00-05:00",
            ),
            (
                "last tuesday of the month at 11am",
                "2026-10-27T11:00:00-04:00",
            ),
        ],
    );
    check(
        NY_SPRING,
        &[
            // 02:30 does not exist that night: forward by the gap.
            (
                "second sunday of the month at 2:30am",
                "2026-03-08T03:30:00-04:00",
            ),
            ("end of month", "2026-03-31T17:00:00-04:00"),
        ],
    );
    check(
        PARIS,
        &[
            (
                "last sunday of the month at 2:30am",
                "2026-03-29T03:30:00+02:00",
            ),
            ("end of month", "2026-03-31T17:00:00+02:00"),
            (
                "first monday of next month at 9am",
                "2026-04-06T09:00:00+02:00",
            ),
            ("third friday of the month", "2026-04-17T00:00:00+02:00"),
            (
                "third friday of the month at 3pm",
                "2026-03-20T15:00:00+01:00",
            ),
        ],
    );
    check(
        KOLKATA,
        &[
            // June's end (17:00) has passed: July's.
            ("end of month", "2026-07-31T17:00:00+05:30"),
            ("end of month at 11pm", "2026-06-30T23:00:00+05:30"),
            // Exactly now is not ahead.
            ("last day of the month at 10pm", "2026-07-31T22:00:00+05:30"),
            ("last tuesday of the month", "2026-07-28T00:00:00+05:30"),
            ("first day of next month", "2026-07-01T00:00:00+05:30"),
        ],
    );
    check(
        LORD_HOWE,
        &[
            // The 30-minute gap: 02:15 is 02:45 +11:00.
            (
                "first sunday of next month at 2:15am",
                "2026-10-04T02:45:00+11:00",
            ),
            ("end of month", "2026-09-30T17:00:00+10:30"),
            ("end of next month", "2026-10-31T17:00:00+11:00"),
        ],
    );
}

#[test]
fn the_month_end_hour_is_echoed_unless_a_clock_is_given() {
    let now = zoned(THU);
    let line = |expr: &str| {
        let at = parse(expr, &now).expect(expr);
        describe_as_typed(expr, &at, &now)
    };
    assert_eq!(
        line("end of month"),
        "Mon 2026-11-30 17:00 EST, in 4d 6h (end of month = 17:00)"
    );
    assert_eq!(
        line("last day of the month"),
        "Mon 2026-11-30 17:00 EST, in 4d 6h (last day of the month = 17:00)"
    );
    assert_eq!(
        line("end of month at 9am"),
        "Mon 2026-11-30 09:00 EST, in 3d 22h"
    );
    assert_eq!(
        line("first monday of next month"),
        "Mon 2026-12-07 00:00 EST, in 10d 13h"
    );
}

/// The rule text each repeating phrase stores.
const RULES: &[(&str, &str)] = &[
    ("every other tuesday at 9am", "every 2w"),
    ("every other tuesdays at 9am", "every 2w"),
    ("every 2 weeks on tuesday at 9am", "every 2w"),
    ("every other week on tuesday at 9am", "every 2w"),
    ("every 3 weeks on friday at 17:30", "every 3w"),
    ("every week on monday at 9am", "cron 0 9 * * 1"),
    (
        "every week on monday and thursday at 9am",
        "cron 0 9 * * 1,4",
    ),
    ("every other week", "every 2w"),
    ("every other day", "every 2d"),
    ("every first monday of the month at 9am", "cron 0 9 * * 1#1"),
    (
        "every 2nd tuesday of the month at 10:30",
        "cron 30 10 * * 2#2",
    ),
    (
        "every fourth thursday of each month at noon",
        "cron 0 12 * * 4#4",
    ),
    ("every last friday of the month at 5pm", "cron 0 17 * * 5L"),
    ("every last day of the month at 5pm", "cron 0 17 L * *"),
    ("every end of the month at 6pm", "cron 0 18 L * *"),
    ("every first day of the month at 9am", "cron 0 9 1 * *"),
];

#[test]
fn repeating_phrases_give_their_rule() {
    for &(expr, rule) in RULES {
        let spec = parse_repeat(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .unwrap_or_else(|| panic!("{expr}: not a repeating phrase"));
        assert_eq!(spec.rule, rule, "{expr}");
        // Every stored rule reads back (older records and this tool read the same text).
        Rule::parse(&spec.rule).unwrap_or_else(|e| panic!("{expr}: {e}"));
    }
}

/// The first three times of a repeating phrase from `now`, as a series would give them: the
/// phrase's own first time when it names one, then the stored rule from each occurrence.
fn series(now: &str, expr: &str) -> Vec<String> {
    let now = zoned(now);
    let spec = parse_repeat(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .unwrap_or_else(|| panic!("{expr}: not a repeating phrase"));
    let rule = Rule::parse(&spec.rule).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let mut at = match spec.first(&now).expect("first") {
        Some(first) => first,
        None => rule.next(&now, false).expect("next"),
    };
    let mut out = vec![rfc3339(&at)];
    while out.len() < 3 {
        at = rule.next(&at, false).expect("next");
        out.push(rfc3339(&at));
    }
    out
}

#[test]
fn every_other_weekday_is_fourteen_days_at_the_same_wall_clock() {
    // A Tuesday after 9am: next week's Tuesday first, then every 14 days, 09:00 local across
    // the fall-back change.
    assert_eq!(
        series(
            "2026-10-20T10:00:00-04:00[America/New_York]",
            "every other tuesday at 9am"
        ),
        [
            "2026-10-27T09:00:00-04:00",
            "2026-11-10T09:00:00-05:00",
            "2026-11-24T09:00:00-05:00"
        ]
    );
    // The same Tuesday before 9am: today first.
    assert_eq!(
        series(
            "2026-10-20T08:00:00-04:00[America/New_York]",
            "every 2 weeks on tuesday at 9am"
        )[0],
        "2026-10-20T09:00:00-04:00"
    );
    assert_eq!(
        series(PARIS, "every other week on sunday at 10am"),
        [
            "2026-03-22T10:00:00+01:00",
            "2026-04-05T10:00:00+02:00",
            "2026-04-19T10:00:00+02:00"
        ]
    );
    assert_eq!(
        series(LORD_HOWE, "every other sunday at 9am"),
        [
            "2026-10-04T09:00:00+11:00",
            "2026-10-18T09:00:00+11:00",
            "2026-11-01T09:00:00+11:00"
        ]
    );
    assert_eq!(
        series(KOLKATA, "every 3 weeks on friday at 17:30"),
        [
            "2026-07-03T17:30:00+05:30",
            "2026-07-24T17:30:00+05:30",
            "2026-08-14T17:30:00+05:30"
        ]
    );
}

#[test]
fn monthly_rules_by_weekday_and_month_end() {
    assert_eq!(
        series(KOLKATA, "every first monday of the month at 9am"),
        [
            "2026-07-06T09:00:00+05:30",
            "2026-08-03T09:00:00+05:30",
            "2026-09-07T09:00:00+05:30"
        ]
    );
    assert_eq!(
        series(UTC_THU, "every last friday of the month at 5pm"),
        [
            "2026-11-27T17:00:00+00:00",
            "2026-12-25T17:00:00+00:00",
            "2027-01-29T17:00:00+00:00"
        ]
    );
    assert_eq!(
        series(LORD_HOWE, "every last day of the month at 5pm"),
        [
            "2026-09-30T17:00:00+10:30",
            "2026-10-31T17:00:00+11:00",
            "2026-11-30T17:00:00+11:00"
        ]
    );
    // 09:00 local on both sides of fall back.
    assert_eq!(
        series(NY_FALL, "every first monday of the month at 9am"),
        [
            "2026-11-02T09:00:00-05:00",
            "2026-12-07T09:00:00-05:00",
            "2027-01-04T09:00:00-05:00"
        ]
    );
    assert_eq!(
        series(PARIS, "every last sunday of the month at 10am"),
        [
            "2026-03-29T10:00:00+02:00",
            "2026-04-26T10:00:00+02:00",
            "2026-05-31T10:00:00+02:00"
        ]
    );
}

/// New refusals, each with a suggestion it must make.
const NEW_REFUSALS: &[(&str, &str)] = &[
    ("in a few minutes", r#"e.g. "in 5 minutes""#),
    ("a few minutes", r#""in 5 minutes""#),
    ("in a few hours", r#""in 3 hours""#),
    ("few minutes", r#""in 5 minutes""#),
    ("in a couple of hours", r#""in 2 hours""#),
    ("in a bit", r#""in 15 minutes""#),
    ("in a while", r#""in 1 hour""#),
    ("later today", r#"say "in 3 hours" or "today 5pm""#),
    ("later", r#""today 5pm""#),
    ("soon", r#"say "in 30 minutes""#),
    ("asap", r#"say "now""#),
    ("ASAP", r#"say "now""#),
    ("immediately", r#"say "now""#),
    ("right now", r#"say "now""#),
    ("sometime next week", r#""next week""#),
    ("in 2 business days", "business days are not understood"),
    ("in 2 business days", r#""in 2 days""#),
    ("in 2 business days", r#""next tuesday 9am""#),
    ("3 working days", r#""in 3 days""#),
    ("next business day", r#""next weekday 9am""#),
    ("25.12.2026", r#""2026-12-25""#),
    ("25.12.2026 9am", r#""dec 25 2026""#),
    ("25.12.", r#""dec 25""#),
    ("31/12/2026", r#""2026-12-31""#),
    ("christmas", r#""dec 25 9am""#),
    ("Christmas 9am", r#""dec 25 9am""#),
    ("xmas", r#""dec 25 9am""#),
    ("in 1,5 hours", r#""in 90 minutes""#),
    ("in 1,5 hours", r#""in 1.5 hours""#),
    ("1,5h", r#""in 1.5 hours""#),
    ("in 2,5 days", r#""in 60 hours""#),
    ("in 1,500 minutes", r#""in 1500 minutes""#),
    ("25.12", r#""dec 25""#),
    ("1.5", r#""1.5h""#),
    ("in a", r#""in an hour""#),
    ("end of year", r#""dec 31 5pm""#),
    ("last friday", r#""last friday of the month""#),
    ("first monday", r#""first monday of next month""#),
    ("fifth friday of the month", r#""last friday of the month""#),
    ("7th monday of the month", r#""last friday of the month""#),
    ("2th monday of the month", r#""2nd monday of the month""#),
    ("second day of the month", r#""dec 15""#),
    ("first monday of may", r#""first monday of next month""#),
    (
        "first monday of every month",
        r#""every first monday of the month at 9am""#,
    ),
    ("end of month midnight", "00:00"),
];

/// New refusals of repeating phrases, with a suggestion each must make.
const NEW_REPEAT_REFUSALS: &[(&str, &str)] = &[
    ("every other tuesday", r#""every other tuesday at 9am""#),
    (
        "every 3 weeks on fri",
        r#""every 3 weeks on friday at 9am""#,
    ),
    (
        "every other monday and thursday at 9am",
        "keeps one weekday",
    ),
    (
        "every 2 weeks on monday and thursday at 9am",
        "keeps one weekday",
    ),
    (
        "every 10 days on monday at 9am",
        r#""every 2 weeks on monday at 9am""#,
    ),
    (
        "every second tuesday at 9am",
        r#""every other tuesday at 9am""#,
    ),
    (
        "every first monday at 9am",
        r#""every first monday of the month at 9am""#,
    ),
    (
        "every first monday of next month at 9am",
        r#""every first monday of the month at 9am""#,
    ),
    (
        "every last friday of the month",
        r#""every last friday of the month at 9am""#,
    ),
    (
        "every month on the 31st at 9am",
        r#""every last day of the month at 9am""#,
    ),
    (
        "every month on the 30th at noon",
        r#""every last day of the month at noon""#,
    ),
    ("every 2 days at 9am", r#""every other monday at 9am""#),
    ("every tonight", r#""every night""#),
    ("every other", r#""every other week""#),
];

fn message(expr: &str, now: &ZonedDateTime) -> Vec<String> {
    let mut out = Vec::new();
    match parse_repeat(expr) {
        Ok(Some(_)) => {}
        Ok(None) => {
            if let Err(e) = parse(expr, now) {
                out.push(e.to_string());
            }
        }
        Err(e) => {
            out.push(e.to_string());
            if let Err(e) = parse(expr, now) {
                out.push(e.to_string());
            }
        }
    }
    out
}

#[test]
fn new_refusals_say_what_to_write() {
    let now = zoned(THU);
    for &(expr, want) in NEW_REFUSALS.iter().chain(NEW_REPEAT_REFUSALS) {
        let msgs = message(expr, &now);
        assert!(!msgs.is_empty(), "{expr:?} was accepted");
        assert!(
            msgs.iter().any(|m| m.contains(want)),
            "{expr:?} should say {want:?}: {msgs:#?}"
        );
        assert!(
            msgs.iter()
                .all(|m| m.contains(&format!("{:?}", expr.trim()))),
            "{expr:?} is not named: {msgs:#?}"
        );
    }
    // The hints these replace were misleading.
    let msg = |s: &str| message(s, &now).join("\n");
    assert!(!msg("soon").contains("noon"), "{}", msg("soon"));
    assert!(
        !msg("later today").contains("after"),
        "{}",
        msg("later today")
    );
    assert!(!msg("in a few minutes").contains(r#""am""#));
    assert!(!msg("in 2 business days").contains(r#""2m""#));
    assert!(!msg("25.12.2026").contains("unexpected character"));
}

/// The double-quoted strings of a message, less `did you mean "word"?` (a word, not an
/// expression).
fn quoted(msg: &str) -> Vec<String> {
    let mut text = msg.to_owned();
    while let Some(i) = text.find("did you mean \"") {
        let from = i + "did you mean \"".len();
        let end = text[from..].find('"').map_or(text.len(), |e| from + e + 1);
        text.replace_range(i..end, "");
    }
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut escaped = false;
    for c in text.chars() {
        match current.as_mut() {
            None if c == '"' => current = Some(String::new()),
            None => {}
            Some(s) if escaped => {
                s.push(c);
                escaped = false;
            }
            Some(_) if c == '\\' => escaped = true,
            Some(_) if c == '"' => out.extend(current.take()),
            Some(s) => s.push(c),
        }
    }
    out
}

fn accepted(expr: &str, now: &ZonedDateTime) -> bool {
    match parse_repeat(expr) {
        Ok(Some(_)) => true,
        Ok(None) => parse(expr, now).is_ok(),
        Err(_) => false,
    }
}

/// Every refusal of the grammar's test tables: each expression quoted in its message is the
/// input's own words, an expression the grammar accepts, or a piece of one that is quoted
/// beside it (`write "22nd", as in "22nd dec"`); and no message names a command-line flag.
#[test]
fn every_quoted_suggestion_is_accepted() {
    let now = zoned(THU);
    let mut inputs: Vec<&str> = REJECTIONS.iter().map(|&(input, _)| input).collect();
    inputs.extend(BAD_REPEATS.iter().map(|&(input, _)| input));
    inputs.extend(INVALID_DATES);
    inputs.extend(NUMERIC_DATES);
    inputs.extend(NEAREST_WORD.iter().map(|&(input, _)| input));
    inputs.extend(["a day and a half", "this morning", "every day at 9am"]);
    inputs.extend(NEW_REFUSALS.iter().map(|&(input, _)| input));
    inputs.extend(NEW_REPEAT_REFUSALS.iter().map(|&(input, _)| input));
    let mut checked = 0;
    for input in inputs {
        for msg in message(input, &now) {
            assert!(!msg.contains("--"), "{input:?} names a flag: {msg}");
            let quotes = quoted(&msg);
            let ok: Vec<&String> = quotes.iter().filter(|q| accepted(q, &now)).collect();
            for q in &quotes {
                // Where a repeating phrase stopped being readable: `at "the end"`.
                if q == "the end" && msg.contains(r#" at "the end": "#) {
                    continue;
                }
                let echo = input.to_ascii_lowercase().contains(&q.to_ascii_lowercase());
                let piece = ok
                    .iter()
                    .any(|full| full.as_str() != q && full.contains(q.as_str()));
                assert!(
                    echo || piece || ok.contains(&q),
                    "{input:?}: the suggestion {q:?} is refused: {msg}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "only {checked} quotes checked");
}

/// A refused rule that a series can still hold is offered by the front end in its own words:
/// flags on the command line, fields over MCP and HTTP; the grammar's text names neither.
#[test]
fn rule_hints_are_worded_by_the_front_end() {
    let e = parse_repeat("every 2 days at 9am").expect_err("refused");
    assert!(!e.to_string().contains("--every"), "{e}");
    let cli = Error::time_arg(Arg::When, e.clone());
    assert!(
        cli.to_string().ends_with(
            r#"give the interval and the first time: --every 2d --when "tomorrow 09:00""#
        ),
        "{cli}"
    );
    let fields = cli.for_fields();
    assert!(
        fields.ends_with(r#"every="2d" when="tomorrow 09:00""#),
        "{fields}"
    );
    assert!(!fields.contains("--"), "{fields}");
    let e = parse_repeat("every month on the 31st at 9am").expect_err("refused");
    let cli = Error::time_arg(Arg::When, e).to_string();
    assert!(cli.ends_with(r#"--cron "0 9 31 * *""#), "{cli}");
}

#[test]
fn grammar_help_lists_the_phrases() {
    for form in [
        "first monday of next month",
        "last friday of the month",
        "end of month",
        "last day of the month",
        "every other tuesday at 9am",
        "every 2 weeks on tuesday at 9am",
        "every first monday of the month at 9am",
        "every last friday of the month at 5pm",
        "business days",
        "christmas",
    ] {
        assert!(GRAMMAR_HELP.contains(form), "{form}");
    }
}
