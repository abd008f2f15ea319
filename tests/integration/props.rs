//! Property tests over the parsers at the edges: the time grammar, the record, the line
//! scanner and loader, and CONTEXT.md. They call the library directly (no processes), so
//! hundreds of generated inputs per property cost well under a second.
//!
//! Two kinds of property: nothing panics, whatever the input (arbitrary text and bytes, and
//! inputs assembled from the grammar's own words so that the generator reaches deep into the
//! parser); and what is written can be read back unchanged (record → line → record,
//! snapshot → markdown → snapshot, instant → stamp → instant).

use std::path::Path;

use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan, ZonedDateTime};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Map, Value};

use agent_defer::record::{
    AuraLevel, Context, Execution, Intent, Mode, Reorient, ResultType, Stamp, Status, Task,
    TaskResult,
};
use agent_defer::reorient::snapshot_from_text;
use agent_defer::store::jsonl::lines::{LineKind, Loaded, MAX_LINE_BYTES};
use agent_defer::store::jsonl::scan;
use agent_defer::when;

/// `cases` per property, or `PROPTEST_CASES` when set (the soak script raises it).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        // Failures print the minimal input; no regression files are written into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generators

/// Zones with the awkward cases: no DST, US DST, a 30-minute DST shift, a half-hour offset, a
/// zone far east of UTC.
const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Europe/London",
];

/// An instant between 1950 and 2150 in one of [`ZONES`].
fn now_strategy() -> impl Strategy<Value = ZonedDateTime> {
    (
        -631_152_000i64..5_680_281_600i64,
        proptest::sample::select(ZONES),
    )
        .prop_map(|(secs, zone)| {
            let tz = TimeZone::get(zone).expect("zone in tzdb");
            Timestamp::from_second(secs)
                .expect("in range")
                .to_zoned_datetime(tz)
        })
}

/// Words and pieces of the time grammar (and near misses), so random sentences exercise the
/// lexer and parser rather than failing on the first character.
const TIME_WORDS: &[&str] = &[
    "in",
    "at",
    "on",
    "next",
    "this",
    "a",
    "an",
    "half",
    "and",
    "from",
    "now",
    "+",
    "-",
    "today",
    "tomorrow",
    "week",
    "weeks",
    "friday",
    "fri",
    "mon",
    "sunday",
    "noon",
    "midnight",
    "am",
    "pm",
    "p.m.",
    "a.m.",
    "h",
    "hr",
    "hours",
    "m",
    "min",
    "minutes",
    "d",
    "days",
    "w",
    "s",
    "secs",
    "1",
    "2",
    "3",
    "12",
    "13",
    "24",
    "25",
    "30",
    "59",
    "60",
    "0",
    "00",
    "1.5",
    ".5",
    "1.",
    "007",
    "99999999999999999999",
    "4294967296",
    "3pm",
    "12am",
    "14:30",
    "9:05:30",
    "1430",
    "0900",
    "2026-12-25",
    "2026-02-30",
    "2026-04-08T17:05:00Z",
    "2026-04-08 17:05",
    "+02:00",
    "T",
    ":",
    ".",
    "EST",
    "UTC",
    "ago",
    "yesterday",
    "1d2h30m",
    "2h30m",
    "1w",
    "45s",
    "é",
    "\u{2028}",
];

fn time_sentence() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(proptest::sample::select(TIME_WORDS), 0..6),
        proptest::sample::select(&[" ", "", "  ", "\t"][..]),
    )
        .prop_map(|(words, sep)| words.join(sep))
}

fn stamp_strategy() -> impl Strategy<Value = Stamp> {
    (0i64..4_102_444_800i64).prop_map(|s| Stamp(Timestamp::from_second(s).expect("in range")))
}

/// Free text, including control characters, quotes, backslashes and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => "[ -~]{0,40}",
        1 => Just("line\nbreak\r\n\"quoted\" \\ \u{0}\u{1b}[2J \u{2028}".to_string()),
    ]
}

/// JSON values an executor or a user might add to a record.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Unknown fields: keys that are not field names of the record (a flattened map only ever
/// holds such keys, because known names are read into their own fields).
fn extra() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec(("x_[a-z_]{0,8}", json_value()), 0..3)
        .prop_map(|pairs| pairs.into_iter().collect())
}

fn id_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-][A-Za-z0-9._-]{0,40}"
}

// The struct updates below name every field known today; fields added later keep their
// defaults without this generator having to change.
#[allow(clippy::needless_update)]
fn task_strategy() -> impl Strategy<Value = Task> {
    let head = (
        id_strategy(),
        stamp_strategy(),
        stamp_strategy(),
        proptest::sample::select(Intent::ALL),
        (
            text(),
            proptest::collection::vec(text(), 0..4),
            proptest::collection::vec(text(), 0..3),
            proptest::collection::vec(text(), 0..3),
            proptest::option::of(text()),
            extra(),
        ),
        (
            proptest::sample::select(Mode::ALL),
            proptest::option::of(text()),
            proptest::sample::select(AuraLevel::ALL),
            extra(),
        ),
        proptest::sample::select(Status::ALL),
        (any::<u32>(), any::<u32>(), any::<bool>()),
    );
    let tail = (
        proptest::option::of((
            any::<bool>(),
            proptest::option::of(text()),
            proptest::option::of(text()),
        )),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::collection::vec(proptest::option::of(stamp_strategy()), 5),
        proptest::option::of(proptest::option::of(text())),
        (proptest::option::of(text()), proptest::option::of(text())),
        proptest::option::of((
            proptest::sample::select(ResultType::ALL),
            proptest::option::of(text()),
            proptest::option::of(stamp_strategy()),
            text(),
            proptest::option::of(any::<i32>()),
            proptest::option::of(text()),
        )),
        extra(),
    );
    (head, tail).prop_map(|(head, tail)| {
        let (id, created_at, run_at, intent, ctx, exe, status, (attempts, max_retries, reo)) =
            head;
        let (reorient, when, timezone, stamps, cancel_reason, (last_error, error), result, extra) =
            tail;
        let (summary, key_points, artifacts, constraints, reoriented_from, ctx_extra) = ctx;
        let (mode, prompt_template, aura, exe_extra) = exe;
        // Start from a parsed minimal record so that fields added to `Task` later keep their
        // defaults here; then set every field this generator knows.
        let mut task = Task::from_json(
            br#"{"id":"x","created_at":"2026-01-01T00:00:00Z","run_at":"2026-01-01T00:00:00Z","status":"scheduled"}"#,
        )
        .expect("minimal record");
        task.id = id;
        task.created_at = created_at;
        task.run_at = run_at;
        task.intent = intent.parse().expect("listed value");
        task.context = Context {
            summary,
            key_points,
            artifacts,
            constraints,
            reoriented_from,
            extra: ctx_extra,
            ..Context::default()
        };
        task.execution = Execution {
            mode: mode.parse().expect("listed value"),
            prompt_template,
            aura_level: aura.parse().expect("listed value"),
            extra: exe_extra,
            ..Execution::default()
        };
        task.status = status.parse().expect("listed value");
        task.attempts = attempts;
        task.max_retries = max_retries;
        task.reorient_requested = reo;
        task.reorient = reorient.map(|(requested, project, file)| Reorient {
            requested,
            project,
            explicit_context_file: file,
            ..Reorient::default()
        });
        task.when = when;
        task.timezone = timezone;
        task.started_at = stamps[0];
        task.completed_at = stamps[1];
        task.failed_at = stamps[2];
        task.cancelled_at = stamps[3];
        task.cancel_reason = cancel_reason;
        task.last_attempt_at = stamps[4];
        task.last_error = last_error;
        task.error = error;
        task.result = result.map(
            |(kind, output, next_run_at, prompt_path, exit_code, output_path)| {
                let mut r: TaskResult =
                    serde_json::from_str(r#"{"type":"prompt_prepared"}"#).expect("minimal result");
                r.kind = kind.parse().expect("listed value");
                r.output = output;
                r.next_run_at = next_run_at;
                r.prompt_path = prompt_path;
                r.exit_code = exit_code;
                r.output_path = output_path;
                r
            },
        );
        task.extra = extra;
        task
    })
}

/// Bytes that look like store lines: JSON punctuation, field names, escapes, a few raw bytes
/// that are not UTF-8, and newlines.
fn jsonish_bytes() -> impl Strategy<Value = Vec<u8>> {
    const PIECES: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b":",
        b",",
        b"\"",
        b"\"id\"",
        b"\"status\"",
        b"\"run_at\"",
        b"\"scheduled\"",
        b"\"executing\"",
        b"\"2026-04-08T16:35:00Z\"",
        b"\"a\"",
        b"\\",
        b"\\u",
        b"\\u00e9",
        b"\\n",
        b"0",
        b"-1.5e3",
        b"1.",
        b"true",
        b"nul",
        b"null",
        b" ",
        b"\t",
        b"\r",
        b"\n",
        b"\r\n",
        b"\xff",
        b"\xc3",
        b"\xc3\xa9",
        b"\xef\xbb\xbf",
        b"\x00",
        b"\x1b",
    ];
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(PIECES), 0..40)
            .prop_map(|parts| parts.concat()),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

// ---------------------------------------------------------------------------------------------
// The time grammar

/// Expressions of the grammar that always name a time ahead of now: positive durations,
/// calendar months, bare clocks, named later days, day-month dates without a year, parts of a
/// later day.
fn forward_expression() -> impl Strategy<Value = String> {
    const WEEKDAYS: &[&str] = &[
        "monday",
        "tue",
        "wednesday",
        "thu",
        "friday",
        "sat",
        "sunday",
    ];
    const MONTHS: &[&str] = &[
        "jan",
        "february",
        "mar",
        "april",
        "may",
        "jun",
        "july",
        "aug",
        "september",
        "oct",
        "nov",
        "december",
    ];
    const PARTS: &[&str] = &[
        "morning",
        "afternoon",
        "teatime",
        "eod",
        "end of day",
        "evening",
        "night",
    ];
    let clock = (1u8..13, 0u8..60, any::<bool>())
        .prop_map(|(h, m, pm)| format!("{h}:{m:02}{}", if pm { "pm" } else { "am" }));
    let clock24 = (0u8..24, 0u8..60).prop_map(|(h, m)| format!("{h:02}:{m:02}"));
    let weekday = || proptest::sample::select(WEEKDAYS);
    let part = || proptest::sample::select(PARTS);
    prop_oneof![
        Just("now".to_owned()),
        (
            1u32..5000,
            proptest::sample::select(
                &[
                    "m", "minutes", "h", "hours", "s", "d", "days", "w", "weeks", "mo", "months",
                    "y"
                ][..]
            )
        )
            .prop_map(|(n, u)| format!("in {n} {u}")),
        (1u32..48).prop_map(|n| format!("{n} months")),
        Just("an hour and a half".to_owned()),
        clock.clone(),
        clock24.clone(),
        clock.clone().prop_map(|c| format!("tomorrow at {c}")),
        (1u32..30, clock24.clone()).prop_map(|(n, c)| format!("in {n} days at {c}")),
        (1u32..13, clock.clone()).prop_map(|(n, c)| format!("in {n} months at {c}")),
        weekday().prop_map(|w| format!("next {w}")),
        (weekday(), clock.clone()).prop_map(|(w, c)| format!("{w} {c}")),
        (weekday(), clock24.clone()).prop_map(|(w, c)| format!("next week {w} {c}")),
        (1u32..5, weekday()).prop_map(|(n, w)| format!("in {n} weeks on {w}")),
        weekday().prop_map(|w| format!("a week from {w}")),
        (weekday(), part()).prop_map(|(w, p)| format!("{w} {p}")),
        part().prop_map(|p| format!("tomorrow {p}")),
        Just("day after tomorrow".to_owned()),
        Just("next month".to_owned()),
        Just("next weekday 9am".to_owned()),
        (proptest::sample::select(MONTHS), 1u8..29).prop_map(|(m, d)| format!("{m} {d}")),
        (proptest::sample::select(MONTHS), 1u8..29, clock)
            .prop_map(|(m, d, c)| format!("{d} {m} at {c}")),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// No input makes the parser (or `describe` of what it returns) panic.
    #[test]
    fn time_parser_never_panics(expr in prop_oneof![any::<String>(), time_sentence()],
                                now in now_strategy()) {
        if let Ok(target) = when::parse(&expr, &now) {
            let _ = when::describe(&target, &now);
            prop_assert_eq!(target.time_zone(), now.time_zone());
        }
    }

    /// Case and surrounding or repeated whitespace never change the meaning.
    #[test]
    fn time_parser_ignores_case_and_spacing(expr in time_sentence(), now in now_strategy()) {
        let plain = when::parse(&expr, &now).map(|z| z.timestamp()).map_err(|e| e.to_string());
        let upper = when::parse(&expr.to_uppercase(), &now).map(|z| z.timestamp());
        let padded = when::parse(&format!(" \t{expr}  "), &now).map(|z| z.timestamp());
        prop_assert_eq!(plain.is_ok(), upper.is_ok(), "{:?}", expr);
        prop_assert_eq!(plain.clone().ok(), upper.ok(), "{:?}", expr);
        prop_assert_eq!(plain.ok(), padded.ok(), "{:?}", expr);
    }

    /// Hours, minutes and seconds are elapsed time, spelled any of the accepted ways.
    #[test]
    fn elapsed_durations_add_exactly(n in 0i64..1_000_000, unit in 0usize..3,
                                     now in now_strategy()) {
        let (short, long, secs) = [("s", "seconds", 1), ("m", "minutes", 60), ("h", "hours", 3600)][unit];
        let want = now.timestamp().checked_add(SignedDuration::from_secs(n * secs));
        prop_assume!(want.is_ok());
        let want = want.expect("checked");
        for expr in [format!("{n}{short}"), format!("in {n} {long}"), format!("+{n}{short}"),
                     format!("now + {n} {long}"), format!("{n} {long} from now")] {
            let got = when::parse(&expr, &now);
            prop_assert!(got.is_ok(), "{:?} failed: {:?}", expr, got.err().map(|e| e.to_string()));
            prop_assert_eq!(got.expect("ok").timestamp(), want, "{:?}", expr);
        }
    }

    /// Days and weeks are calendar days: `Nd` is the zone-aware `now + N days`.
    #[test]
    fn day_durations_are_calendar_days(n in 0i64..3000, now in now_strategy()) {
        let want = now.checked_add(n.days()).expect("in range");
        let got = when::parse(&format!("{n}d"), &now).expect("parses");
        prop_assert_eq!(got.timestamp(), want.timestamp());
        let weeks = when::parse(&format!("{n} weeks"), &now).expect("parses");
        prop_assert_eq!(weeks.timestamp(), now.checked_add((n * 7).days()).expect("in range").timestamp());
    }

    /// A bare clock time is the next time the wall clock shows it: strictly after now and at
    /// most a day (plus a DST shift) ahead, showing that wall time unless DST skipped it.
    #[test]
    fn bare_clock_is_the_next_occurrence(h in 0i8..24, m in 0i8..60, now in now_strategy()) {
        let got = when::parse(&format!("{h}:{m:02}"), &now).expect("parses");
        let ahead = got.timestamp().duration_since(now.timestamp());
        prop_assert!(ahead > SignedDuration::ZERO, "{h}:{m:02} at {now} gave {got}");
        prop_assert!(ahead <= SignedDuration::from_hours(25), "{h}:{m:02} at {now} gave {got}");
        let shown = (got.hour(), got.minute());
        let skipped_by_dst = shown != (h, m);
        if skipped_by_dst {
            // Only a wall time that does not exist that day moves, and only forward.
            let civil = got.date().at(h, m, 0, 0);
            let offset = got.time_zone().to_ambiguous_timestamp(civil).offset();
            prop_assert!(matches!(offset, AmbiguousOffset::Gap { .. }), "{h}:{m:02} at {now} gave {got}");
        }
    }

    /// Every form that names a time ahead (issue 14's included) gives an instant strictly
    /// after now, in any zone and at any now; `now` gives now itself.
    #[test]
    fn forward_forms_are_strictly_after_now(expr in forward_expression(), now in now_strategy()) {
        let got = when::parse(&expr, &now);
        prop_assert!(got.is_ok(), "{:?} at {} failed: {:?}", expr, now, got.err().map(|e| e.to_string()));
        let got = got.expect("ok");
        if expr == "now" {
            prop_assert_eq!(got.timestamp(), now.timestamp());
        } else {
            prop_assert!(got.timestamp() > now.timestamp(), "{:?} at {} gave {}", expr, now, got);
        }
    }

    /// A stored stamp and an RFC 3339 instant read back as the same instant.
    #[test]
    fn stamps_round_trip_through_the_parser(stamp in stamp_strategy(), now in now_strategy()) {
        let text = stamp.to_string();
        prop_assert_eq!(Stamp::parse(&text), Some(stamp));
        let got = when::parse(&text, &now).expect("an ISO stamp parses");
        prop_assert_eq!(got.timestamp(), stamp.timestamp());
    }
}

// ---------------------------------------------------------------------------------------------
// The record

proptest! {
    #![proptest_config(config(256))]

    /// record → line → record is the identity, the line is one line, and the cheap look the
    /// loader takes at it agrees with the record.
    #[test]
    fn records_round_trip_as_one_line(task in task_strategy()) {
        let line = task.to_line();
        prop_assert!(!line.contains('\n') && !line.contains('\r'), "{}", line);
        let back = Task::from_json(line.as_bytes()).expect("own output parses");
        prop_assert_eq!(&back, &task);
        prop_assert_eq!(back.to_line(), line.clone());

        let fields = scan::scan(line.as_bytes()).expect("own output scans");
        prop_assert_eq!(fields.id.as_deref(), Some(task.id.as_str()));
        prop_assert_eq!(fields.status.as_deref(), Some(task.status.as_str()));
        let run_at = task.run_at.to_string();
        prop_assert_eq!(fields.run_at.as_deref(), Some(run_at.as_str()));

        let loaded = Loaded::parse(format!("{line}\n").into_bytes());
        prop_assert_eq!(loaded.lines.len(), 1);
        match &loaded.lines[0].kind {
            LineKind::Task {
                id, status, run_at, ..
            } => {
                prop_assert_eq!(id, &task.id);
                prop_assert_eq!(*status, task.status);
                if task.status == Status::Scheduled {
                    prop_assert_eq!(*run_at, Some(task.run_at));
                }
            }
            other => prop_assert!(false, "read as {:?}", other),
        }
    }

    /// Every strict prefix of a record line (a write cut short) is refused by the record
    /// parser and recognised as truncated by the scanner, never taken for a record.
    #[test]
    fn truncated_records_are_recognised(task in task_strategy(), cut in any::<proptest::sample::Index>()) {
        let line = task.to_line();
        let at = cut.index(line.len());
        let prefix = &line.as_bytes()[..at];
        prop_assert!(Task::from_json(prefix).is_err());
        let err = scan::scan(prefix).expect_err("a prefix is not an object");
        prop_assert!(err.eof, "prefix of {} bytes: {:?}", at, err);
    }

    /// Whatever the bytes, the record parser does not panic, and whatever it accepts it
    /// writes back in a form it reads as the same record.
    #[test]
    fn record_parser_is_total_and_idempotent(bytes in jsonish_bytes()) {
        if let Ok(task) = Task::from_json(&bytes) {
            let again = Task::from_json(task.to_line().as_bytes()).expect("own output parses");
            prop_assert_eq!(again, task);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scanner and the loader

proptest! {
    #![proptest_config(config(384))]

    /// The scanner never accepts what serde_json refuses, and refuses what serde_json accepts
    /// only for the two documented reasons (a duplicated id/status/run_at key, which serde
    /// would silently resolve to the last one; nesting past the depth limit).
    #[test]
    fn scanner_agrees_with_serde(bytes in jsonish_bytes()) {
        let ours = scan::scan(&bytes);
        let serde = serde_json::from_slice::<Map<String, Value>>(&bytes);
        match (&ours, &serde) {
            (Ok(_), Err(e)) => prop_assert!(false, "scanner accepted what serde refuses: {e}"),
            (Err(e), Ok(_)) => prop_assert!(
                e.what == "duplicate key" || e.what == "nesting too deep",
                "scanner refused valid JSON: {e:?}"
            ),
            _ => {}
        }
    }

    /// On any JSON object the scanner finds the same top-level fields serde does, and its
    /// pretty form is serde's.
    #[test]
    fn scanner_reads_and_pretty_prints_like_serde(value in json_value(),
                                                  id in proptest::option::of(text()),
                                                  status in proptest::option::of(text())) {
        let mut object = match value {
            Value::Object(map) => map,
            other => [("v".to_string(), other)].into_iter().collect(),
        };
        if let Some(id) = id { object.insert("id".into(), Value::from(id)); }
        if let Some(status) = status { object.insert("status".into(), Value::from(status)); }
        let value = Value::Object(object);
        let line = serde_json::to_string(&value).expect("serialise");
        let fields = scan::scan(line.as_bytes()).expect("valid JSON scans");
        prop_assert_eq!(fields.id.as_deref(), value.get("id").and_then(Value::as_str));
        prop_assert_eq!(fields.status.as_deref(), value.get("status").and_then(Value::as_str));
        prop_assert_eq!(fields.run_at.as_deref(), value.get("run_at").and_then(Value::as_str));
        let mut pretty = Vec::new();
        scan::pretty(line.as_bytes(), 0, &mut pretty);
        prop_assert_eq!(String::from_utf8(pretty).expect("utf8"),
                        serde_json::to_string_pretty(&value).expect("pretty"));
    }

    /// The loader accounts for every byte: lines hold no newline, are numbered 1, 2, 3…, and
    /// put back together (with the `\r` they lost and the newlines between them) they are the
    /// file, less a leading byte order mark. Only lines the scanner accepts are tasks.
    #[test]
    fn loader_accounts_for_every_byte(bytes in jsonish_bytes()) {
        let loaded = Loaded::parse(bytes.clone());
        let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let mut rebuilt = Vec::new();
        for (i, line) in loaded.lines.iter().enumerate() {
            prop_assert_eq!(line.number, i + 1);
            let text = loaded.bytes(line);
            prop_assert!(!text.contains(&b'\n'));
            rebuilt.extend_from_slice(text);
            let mut end = line.range.end;
            if loaded.buf.get(end) == Some(&b'\r') {
                rebuilt.push(b'\r');
                end += 1;
            }
            if loaded.buf.get(end) == Some(&b'\n') {
                rebuilt.push(b'\n');
            }
            if let LineKind::Task { .. } = line.kind {
                prop_assert!(scan::scan(text).is_ok());
            }
        }
        prop_assert_eq!(rebuilt, body.to_vec());
    }

    /// Records survive whatever surrounds them: LF or CRLF ends, blank lines, a byte order
    /// mark, garbage lines and a torn last line. Every record is found, in order.
    #[test]
    fn loader_finds_every_record_among_noise(
        tasks in proptest::collection::vec(task_strategy(), 1..5),
        crlf in any::<bool>(), bom in any::<bool>(),
        noise in proptest::collection::vec(jsonish_bytes(), 0..4),
        torn in any::<bool>(),
    ) {
        let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut file = Vec::new();
        if bom { file.extend_from_slice(b"\xef\xbb\xbf"); }
        for (i, task) in tasks.iter().enumerate() {
            file.extend_from_slice(task.to_line().as_bytes());
            file.extend_from_slice(end);
            if let Some(junk) = noise.get(i) {
                // One line of noise: newlines inside it would split it into more lines.
                let junk: Vec<u8> = junk.iter().map(|&b| if b == b'\n' { b' ' } else { b }).collect();
                file.extend_from_slice(&junk);
                file.extend_from_slice(end);
            }
        }
        if torn {
            let last = tasks[0].to_line();
            file.extend_from_slice(&last.as_bytes()[..last.len() / 2]);
        }
        let loaded = Loaded::parse(file);
        let found: Vec<&str> = loaded.lines.iter().filter_map(|l| match &l.kind {
            LineKind::Task { id, .. } => Some(id.as_str()),
            _ => None,
        }).collect();
        let want: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
        // Noise lines may themselves be records (`{"id":"a","status":"failed"}`), so the
        // records must appear in order among the found ones.
        let mut rest = found.iter();
        for id in &want {
            prop_assert!(rest.any(|f| f == id), "{id} missing from {found:?}");
        }
        if torn {
            let last = loaded.lines.last().expect("a torn line");
            prop_assert!(matches!(&last.kind, LineKind::Malformed(why) if why.contains("truncated")),
                         "{:?}", last.kind);
        }
    }
}

/// A line over the limit is reported, not read, however valid it is; one at the limit is read.
#[test]
fn lines_over_the_limit_are_malformed() {
    let record = |pad: usize| {
        format!(
            r#"{{"id":"big","status":"completed","created_at":"2026-04-08T16:35:00Z","run_at":"2026-04-08T16:35:00Z","pad":"{}"}}"#,
            "x".repeat(pad)
        )
    };
    let base = record(0).len();
    let at_limit = record(MAX_LINE_BYTES - base);
    assert_eq!(at_limit.len(), MAX_LINE_BYTES);
    let over = record(MAX_LINE_BYTES - base + 1);
    let loaded = Loaded::parse(format!("{at_limit}\n{over}\n").into_bytes());
    assert!(matches!(loaded.lines[0].kind, LineKind::Task { .. }));
    match &loaded.lines[1].kind {
        LineKind::Malformed(why) => assert!(why.contains("over the 8 MiB limit"), "{why}"),
        other => panic!("an over-long line was read as {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// CONTEXT.md

/// The sections a CONTEXT.md can have, with one of the headings that name each.
const SECTIONS: &[(&str, &str)] = &[
    ("orientation", "What this is:"),
    ("current_state", "## Current State"),
    ("open_questions", "### open   questions"),
    ("references", "Key References"),
    ("key_constraints", "Constraints"),
    ("decisions", "Decisions already made"),
    ("anti_patterns", "What we should NOT do"),
];

/// One list item: trimmed, non-empty, one line.
fn item() -> impl Strategy<Value = String> {
    "[^\n\r]{1,30}"
        .prop_map(|s| s.trim().to_string())
        .prop_filter("non-empty after trim", |s| !s.is_empty())
}

proptest! {
    #![proptest_config(config(256))]

    /// Any text yields a snapshot with a summary and at least one key point.
    #[test]
    fn context_parser_never_panics(text in prop_oneof![
        any::<String>(),
        proptest::collection::vec(prop_oneof![
            Just("# ".to_string()), Just("####### x".to_string()), Just("   # Status".to_string()),
            Just("- ".to_string()), Just("1. ".to_string()), Just("12.x".to_string()),
            Just("\u{feff}# Overview".to_string()), Just("\r".to_string()), item(),
        ], 0..20).prop_map(|lines| lines.join("\n")),
    ]) {
        let snap = snapshot_from_text(&text, Path::new("/p/CONTEXT.md"));
        prop_assert!(!snap.summary.is_empty());
        prop_assert!(!snap.key_points.is_empty());
        prop_assert_eq!(snap.reoriented_from, "/p/CONTEXT.md");
    }

    /// snapshot → markdown → snapshot: items written under any alias of their section, with
    /// any list marker and LF or CRLF line ends, come back in order.
    #[test]
    fn context_round_trips_through_markdown(
        sections in proptest::collection::vec(proptest::collection::vec(item(), 0..4), SECTIONS.len()),
        marker in proptest::sample::select(&["- ", "* ", "+ ", "1. ", "  -   "][..]),
        crlf in any::<bool>(),
    ) {
        let mut text = String::new();
        for ((_, heading), items) in SECTIONS.iter().zip(&sections) {
            let heading = if heading.starts_with('#') { heading.to_string() } else { format!("# {heading}") };
            text.push_str(&heading);
            text.push('\n');
            for item in items {
                text.push_str(marker);
                text.push_str(item);
                text.push('\n');
            }
        }
        if crlf { text = text.replace('\n', "\r\n"); }
        let snap = snapshot_from_text(&text, Path::new("CONTEXT.md"));
        let get = |key: &str| -> Vec<String> {
            let i = SECTIONS.iter().position(|(k, _)| *k == key).expect("section");
            sections[i].clone()
        };
        // An item that itself starts with a marker loses it, as in any CONTEXT.md.
        let strip = |items: Vec<String>| -> Vec<String> {
            items.into_iter().map(|i| {
                let again = snapshot_from_text(&format!("# Key References\n- {i}"), Path::new("x"));
                again.artifacts.into_iter().next().unwrap_or(i)
            }).collect()
        };
        let orientation = strip(get("orientation"));
        let want_summary = orientation.first().cloned().unwrap_or_else(|| "Reoriented from CONTEXT.md".into());
        prop_assert_eq!(&snap.summary, &want_summary);
        let mut key_points = strip(get("current_state"));
        if key_points.is_empty() { key_points.push("Context re-read from CONTEXT.md".into()); }
        key_points.extend(strip(get("open_questions")).into_iter().map(|q| format!("Open question: {q}")));
        prop_assert_eq!(&snap.key_points, &key_points);
        prop_assert_eq!(&snap.artifacts, &strip(get("references")));
        let mut constraints = strip(get("key_constraints"));
        constraints.extend(strip(get("decisions")).into_iter().map(|d| format!("Decision: {d}")));
        constraints.extend(strip(get("anti_patterns")).into_iter().map(|a| format!("Avoid: {a}")));
        prop_assert_eq!(&snap.constraints, &constraints);
    }
}

/// A whole day of minutes parses, in every zone, at a DST change (guards the bare-clock
/// property above against a generator that never lands on the transition).
#[test]
fn every_minute_parses_on_dst_days() {
    for (zone, day) in [
        ("America/New_York", "2026-03-08"),
        ("America/New_York", "2026-11-01"),
        ("Australia/Lord_Howe", "2026-04-05"),
        ("Australia/Lord_Howe", "2026-10-04"),
    ] {
        let tz = TimeZone::get(zone).expect("zone");
        let start: jiff::civil::Date = day.parse().expect("date");
        let now = start
            .at(0, 0, 0, 0)
            .to_zoned_datetime(tz)
            .expect("midnight exists");
        let mut now = now.checked_sub(1.hours()).expect("in range");
        for _ in 0..(26 * 12) {
            for expr in [
                "now",
                "1:30",
                "2:30",
                "2:00",
                "noon",
                "tomorrow 1:30am",
                "1d",
                "24h",
            ] {
                when::parse(expr, &now).unwrap_or_else(|e| panic!("{expr} at {now}: {e}"));
            }
            now = now.checked_add(5.minutes()).expect("in range");
        }
    }
}
