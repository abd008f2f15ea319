//! Human printing of instants and lengths: confirmation lines, `doctor` and `why`.

use jiff::{ZonedDateTime, civil::Weekday};

use super::error::Ctx;
use super::grammar::{Ast, Day};
use super::month::InMonth;
use super::vocab::Part;

/// A short human description for confirmation lines: `Fri 2026-11-27 09:00 EST, in 22h 59m`.
///
/// The distance is elapsed time truncated to whole seconds, shown in its largest two units
/// among days (24h), hours and minutes, or in seconds when under a minute: `in 2d 3h`, `in 1h`,
/// `in 45s`, `3h 5m ago`, or `now` when under a second. The zone abbreviation is the one in
/// force at the target instant, so a date across a DST change shows the right one.
pub fn describe(target: &ZonedDateTime, now: &ZonedDateTime) -> String {
    let when = local_time(target);
    format!("{when}, {}", distance(target.duration_since(now).as_secs()))
}

/// How far an instant `secs` seconds away is: `in 2h 5m`, `3m ago`, `now`.
pub fn distance(secs: i64) -> String {
    let span = human_duration(secs.unsigned_abs());
    match secs {
        0 => "now".to_string(),
        s if s > 0 => format!("in {span}"),
        _ => format!("{span} ago"),
    }
}

/// `Wed 2026-04-08 12:35 EDT`: the wall clock in the instant's own zone, minute precision, so
/// `doctor`, `why` and confirmation lines show a time the same way.
pub fn local_time(target: &ZonedDateTime) -> String {
    let info = target.time_zone().to_offset_info(target.timestamp());
    format!(
        "{} {:04}-{:02}-{:02} {:02}:{:02} {}",
        weekday_abbr(target.weekday()),
        target.year(),
        target.month(),
        target.day(),
        target.hour(),
        target.minute(),
        info.abbreviation()
    )
}

fn weekday_abbr(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

/// `secs` as the largest two non-zero-led units among d/h/m (`3h 5m`, `2d`), or seconds under
/// a minute (`45s`): how confirmation lines, `doctor` and missed-run reasons say a length.
pub fn human_duration(secs: u64) -> String {
    if secs < 60 {
        return format!("{secs}s");
    }
    let parts = [
        (secs / 86_400, 'd'),
        (secs % 86_400 / 3_600, 'h'),
        (secs % 3_600 / 60, 'm'),
    ];
    let first = parts.iter().position(|&(n, _)| n != 0).unwrap_or(2);
    let (n, u) = parts[first];
    match parts.get(first + 1) {
        Some(&(n2, u2)) if n2 != 0 => format!("{n}{u} {n2}{u2}"),
        _ => format!("{n}{u}"),
    }
}

/// [`describe`], plus the fixed hour of each part of the day the expression names, so the user
/// sees what "morning" was taken to mean: `Fri 2026-11-27 09:00 EST, in 22h 59m (morning =
/// 09:00)`.
pub fn describe_as_typed(expr: &str, target: &ZonedDateTime, now: &ZonedDateTime) -> String {
    let mut line = describe(target, now);
    let lower = expr.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let mut notes: Vec<String> = Vec::new();
    // `end of month` / `last day of the month` without a clock: the end-of-day hour.
    if let Some(name) = month_end_default(expr) {
        notes.push(format!("{name} = {:02}:00", Part::EndOfDay.hour()));
    }
    for (i, w) in words.iter().enumerate() {
        let end_of_day = words.get(i + 1) == Some(&"of")
            && (words.get(i + 2) == Some(&"day")
                || (words.get(i + 2) == Some(&"the") && words.get(i + 3) == Some(&"day")));
        let part = match *w {
            "end" if end_of_day => Some(("end of day", Part::EndOfDay)),
            "eod" => Some(("eod", Part::EndOfDay)),
            _ => Part::from_word(w).map(|p| (*w, p)),
        };
        if let Some((name, part)) = part {
            let note = format!("{name} = {:02}:00", part.hour());
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
    if !notes.is_empty() {
        line.push_str(&format!(" ({})", notes.join(", ")));
    }
    line
}

/// How the expression named the month's last day (`end of month`, `last day of the month`)
/// when it gave no clock, so its fixed hour is echoed; `None` otherwise.
fn month_end_default(expr: &str) -> Option<&'static str> {
    let ctx = Ctx { expr, zone: None };
    match super::parse_ast(&ctx).ok()? {
        Ast::Day {
            day:
                Some(Day::InMonth {
                    what: InMonth::LastDay,
                    ..
                }),
            clock: None,
            ..
        } => Some(if expr.to_ascii_lowercase().contains("last day") {
            "last day of the month"
        } else {
            "end of month"
        }),
        _ => None,
    }
}
