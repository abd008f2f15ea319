//! The human views shared by `list`, `show` and `logs`: whether stdout gets one (a terminal,
//! and no `--json`/`--compact`), its width and colours, the task table and the task card.
//!
//! Not a command. Piped output never comes here: it stays the JSON the commands always
//! printed, byte for byte, so scripts and agents are unaffected. Every stored string that
//! reaches a view goes through [`output::escape`] first, so a summary cannot move the cursor or
//! retitle the window; the table crate measures the escaped text (wide characters count double).

use std::io::IsTerminal;

use comfy_table::{
    Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, LineStyle, Row, Table,
    TableStyle, Width, presets,
};
use jiff::Timestamp;
use serde_json::Value;

use crate::cli::ColorChoice;
use crate::config::Config;
use crate::ops::show::{ShowReply, TaskLink};
use crate::output;
use crate::record::Stamp;
use crate::when;

/// Below this width the table's due column gives the distance only (`in 2h 5m`); from it on,
/// the local time too.
const WIDE: u16 = 120;

/// No borders; one rule under the header.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

/// Width used when stdout is a terminal that does not report one and `COLUMNS` is unset.
const DEFAULT_WIDTH: u16 = 80;

/// A terminal on stdout that gets a human view.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// Columns available.
    pub width: u16,
    /// Status and headings in colour.
    pub color: bool,
}

impl Terminal {
    /// The view for this run: `Some` when stdout is a terminal and JSON was not asked for.
    pub fn detect(choice: ColorChoice, json_asked: bool) -> Option<Terminal> {
        let stdout = std::io::stdout();
        if json_asked || !stdout.is_terminal() {
            return None;
        }
        let reported = terminal_size::terminal_size_of(&stdout)
            .map(|(w, _)| w.0)
            .filter(|&w| w > 0);
        let from_env = || {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.trim().parse::<u16>().ok())
                .filter(|&w| w > 0)
        };
        Some(Terminal {
            width: reported.or_else(from_env).unwrap_or(DEFAULT_WIDTH),
            color: wants_color(choice),
        })
    }

    /// A table of the right width, coloured or not, without the crate's own terminal probing.
    fn table(&self) -> Table {
        let mut table = Table::new();
        table
            .load_style(STYLE)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_truncation_indicator("…")
            .set_width(self.width);
        table.force_no_tty();
        if self.color {
            table.enforce_styling();
            table.style_text_only();
        }
        table
    }

    /// A header cell (bold when in colour).
    fn header(&self, text: &str) -> Cell {
        let cell = Cell::new(text);
        if self.color {
            cell.add_attribute(comfy_table::Attribute::Bold)
        } else {
            cell
        }
    }

    /// A status cell, coloured by state.
    fn status(&self, status: &str) -> Cell {
        self.status_text(status, status)
    }

    /// A cell showing `shown`, coloured by the state `status`.
    fn status_text(&self, status: &str, shown: &str) -> Cell {
        let cell = Cell::new(output::escape(shown));
        if !self.color {
            return cell;
        }
        match status {
            "scheduled" => cell.fg(Color::Cyan),
            "executing" => cell.fg(Color::Yellow),
            "completed" => cell.fg(Color::Green),
            "failed" => cell.fg(Color::Red),
            "cancelled" => cell.fg(Color::DarkGrey),
            _ => cell,
        }
    }
}

/// `--color always|never` decide; `auto` colours unless `NO_COLOR` is set to anything
/// non-empty (no-color.org).
fn wants_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// A string field of a record, escaped for the terminal ("" when absent).
fn text(record: &Value, pointer: &str) -> String {
    record
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(|s| output::escape(s).into_owned())
        .unwrap_or_default()
}

/// The instant of a stamp field, when it holds one.
fn stamp(record: &Value, pointer: &str) -> Option<Timestamp> {
    record
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(Stamp::parse)
        .map(Stamp::timestamp)
}

/// `in 2h 5m`, `3m ago`, `now`.
fn relative(config: &Config, at: Timestamp) -> String {
    config.clock.distance(at)
}

/// A due time for the table: the local clock time and how far it is, `Fri 09:00 · in 23h`;
/// a date instead of the weekday when it is more than a week away (`Dec 25 09:00 · in 18d`,
/// with the year when it is another year's). The zone is in the column header.
fn due_short(config: &Config, at: Timestamp) -> String {
    let zone = config.clock.zone().clone();
    let local = at.to_zoned_datetime(zone.clone());
    let now = config.clock.now();
    let week = 7 * 86_400;
    let format = if (at.as_second() - now.as_second()).abs() <= week {
        "%a %H:%M"
    } else if local.year() == now.to_zoned_datetime(zone).year() {
        "%b %d %H:%M"
    } else {
        "%Y-%m-%d %H:%M"
    };
    format!(
        "{} · {}",
        local.strftime(format),
        config.clock.distance_brief(at)
    )
}

/// `2/3`: attempts so far out of the runs allowed (one plus the retries).
fn attempts(record: &Value) -> String {
    let attempts = record.get("attempts").and_then(Value::as_u64).unwrap_or(0);
    let retries = record
        .get("max_retries")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    format!("{attempts}/{}", retries.saturating_add(1))
}

/// The task table: id, status, due, attempts, series rule (when any task has one), summary.
/// Each row is one line; the summary (and anything else too wide) is cut with `…`. When the
/// whole table would not fit the terminal, each id is shown as its shortest unique tail
/// (`ops::resolve`: what `show`, `logs`, `cancel`… take back) among `all_ids()`, and a footer
/// says so.
pub fn task_table(
    term: &Terminal,
    config: &Config,
    records: &[Value],
    all_ids: &dyn Fn() -> crate::error::Result<Vec<String>>,
) -> crate::error::Result<String> {
    let mut table = term.table();
    let wide = term.width >= WIDE;
    // A narrow terminal keeps the summary readable by marking series members with `↻` after
    // the status (the rule is in `defer show`) and by showing attempts only when some task
    // has retries or used any.
    let any_series = wide && records.iter().any(|r| r.pointer("/series/rule").is_some());
    let show_runs = wide
        || records.iter().any(|r| {
            r["attempts"].as_u64().unwrap_or(0) > 0 || r["max_retries"].as_u64().unwrap_or(0) > 0
        });
    let zone = config.clock.now_zoned().strftime("%Z").to_string();
    let due_header = format!("DUE ({})", output::escape(&zone));
    let dues: Vec<String> = records
        .iter()
        .map(|r| {
            stamp(r, "/run_at")
                .map(|at| due_short(config, at))
                .unwrap_or_default()
        })
        .collect();
    let ids: Vec<String> = records.iter().map(|r| text(r, "/id")).collect();
    let widest = |cells: &mut dyn Iterator<Item = usize>| cells.max().unwrap_or(0);
    let full_width = widest(&mut ids.iter().map(|i| i.chars().count()))
        + widest(
            &mut records
                .iter()
                .map(|r| text(r, "/status").chars().count() + 2),
        )
        + widest(&mut dues.iter().map(|d| d.chars().count()))
        + widest(
            &mut records
                .iter()
                .map(|r| text(r, "/context/summary").chars().count()),
        )
        + if show_runs { 5 } else { 0 }
        + if any_series { 25 } else { 0 }
        + 4;
    let too_wide = full_width > usize::from(term.width);
    let shown_ids: Vec<String> = if too_wide {
        let all = all_ids()?;
        let among: std::collections::HashSet<&str> = all.iter().map(String::as_str).collect();
        records
            .iter()
            .map(|r| {
                let id = r.get("id").and_then(Value::as_str).unwrap_or("");
                output::escape(crate::ops::resolve::shortest_tail(id, &among)).into_owned()
            })
            .collect()
    } else {
        ids.clone()
    };
    let shortened = shown_ids != ids;
    let mut header = vec![
        term.header("ID"),
        term.header("STATUS"),
        term.header(&due_header),
    ];
    if show_runs {
        header.push(term.header("RUNS"));
    }
    if any_series {
        header.push(term.header("SERIES"));
    }
    header.push(term.header("SUMMARY"));
    table.set_header(header);
    for ((record, id), due) in records.iter().zip(shown_ids).zip(dues) {
        let status = record.get("status").and_then(Value::as_str).unwrap_or("");
        let marked = if !wide && record.pointer("/series/rule").is_some() {
            format!("{status} ↻")
        } else {
            status.to_string()
        };
        let mut cells = vec![
            Cell::new(id),
            term.status_text(status, &marked),
            Cell::new(due),
        ];
        if show_runs {
            cells.push(Cell::new(attempts(record)).set_alignment(CellAlignment::Right));
        }
        if any_series {
            cells.push(Cell::new(text(record, "/series/rule")));
        }
        cells.push(Cell::new(text(record, "/context/summary")));
        let mut row = Row::from(cells);
        row.max_height(1);
        table.add_row(row);
    }
    // Ids are what people copy: never cut them. Status, due and runs are short.
    let mut constraints = vec![ColumnConstraint::ContentWidth; if show_runs { 4 } else { 3 }];
    if any_series {
        constraints.push(ColumnConstraint::UpperBoundary(Width::Fixed(if wide {
            24
        } else {
            10
        })));
    }
    constraints.push(ColumnConstraint::LowerBoundary(Width::Fixed(8)));
    table.set_constraints(constraints);
    for column in table.column_iter_mut() {
        column.set_padding((0, 1));
    }
    let mut out = trimmed(&table);
    if shortened {
        out.push_str("\n(ids shortened; show/logs/retry/cancel take them as typed)");
    }
    Ok(out)
}

/// The series table: id, rule, next run, last run and outcome, counts, summary.
pub fn series_table(
    term: &Terminal,
    config: &Config,
    series: &[crate::ops::series::SeriesSummary],
) -> String {
    let mut table = term.table();
    table.set_header(vec![
        term.header("SERIES"),
        term.header("RULE"),
        term.header("NEXT"),
        term.header("LAST"),
        term.header("DONE/FAIL/MISS"),
        term.header("SUMMARY"),
    ]);
    for s in series {
        let next = s
            .next_run
            .map(|at| due_short(config, at.timestamp()))
            .unwrap_or_else(|| "ended".to_string());
        let last = match (s.last_run, &s.last_outcome) {
            (Some(at), Some(outcome)) => format!(
                "{} {}",
                output::escape(outcome),
                config.clock.distance_brief(at.timestamp())
            ),
            _ => "—".to_string(),
        };
        let last_cell = match s.last_outcome.as_deref() {
            Some("missed") => term.status_text("failed", &last),
            Some(outcome) => term.status_text(outcome, &last),
            None => Cell::new(last),
        };
        let mut row = Row::from(vec![
            Cell::new(output::escape(&s.id)),
            Cell::new(output::escape(&s.rule)),
            Cell::new(next),
            last_cell,
            Cell::new(format!(
                "{}/{}/{}",
                s.counts.completed, s.counts.failed, s.counts.missed
            ))
            .set_alignment(CellAlignment::Right),
            Cell::new(output::escape(&s.summary)),
        ]);
        row.max_height(1);
        table.add_row(row);
    }
    let mut constraints = vec![ColumnConstraint::ContentWidth; 5];
    constraints.push(ColumnConstraint::LowerBoundary(Width::Fixed(8)));
    table.set_constraints(constraints);
    for column in table.column_iter_mut() {
        column.set_padding((0, 1));
    }
    trimmed(&table)
}

/// One task as a card: a title line, then labelled fields; long values wrap to the width.
pub fn task_card(term: &Terminal, config: &Config, reply: &ShowReply) -> String {
    let record = &reply.task;
    let mut table = term.table();
    table.load_style(presets::NOTHING);
    let mut labels = true;
    let mut rows: Vec<(&str, Cell)> = Vec::new();
    let mut add = |label: &'static str, value: String| {
        if !value.is_empty() {
            rows.push((label, Cell::new(value)));
        }
    };
    let status = record.get("status").and_then(Value::as_str).unwrap_or("");
    let at = |pointer: &str| {
        stamp(record, pointer)
            .map(|t| {
                let zone = config.clock.zone().clone();
                format!(
                    "{}, {}",
                    when::local_time(&t.to_zoned_datetime(zone)),
                    relative(config, t)
                )
            })
            .unwrap_or_default()
    };
    let list = |pointer: &str| {
        record
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| format!("• {}", output::escape(s)))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    };
    add("id", text(record, "/id"));
    add("status", String::from("-"));
    add("summary", text(record, "/context/summary"));
    add("due", at("/run_at"));
    let mut kind = text(record, "/intent");
    let mode = text(record, "/execution/mode");
    if !mode.is_empty() {
        kind.push_str(&format!(", mode {mode}"));
    }
    add("intent", kind);
    add("runs", attempts(record));
    if let Some(series) = record.get("series") {
        let rule = text(series, "/rule");
        let occurrence = series
            .get("occurrence")
            .and_then(Value::as_u64)
            .map(|n| format!(", occurrence {n}"))
            .unwrap_or_default();
        let ended = if series.get("ended") == Some(&Value::Bool(true)) {
            ", ended"
        } else {
            ""
        };
        add("series", format!("{rule}{occurrence}{ended}"));
    }
    add("unique key", text(record, "/unique_key"));
    add("session", text(record, "/session"));
    let link = |l: &TaskLink| {
        format!(
            "{} [{}] {}",
            output::escape(&l.id),
            l.status,
            output::escape(&l.summary)
        )
    };
    match (&reply.parent, text(record, "/parent_id")) {
        (Some(parent), _) => add("follow-up of", link(parent)),
        (None, id) if !id.is_empty() => add("follow-up of", format!("{id} (no longer stored)")),
        _ => {}
    }
    let mut follow_ups: Vec<String> = reply.follow_ups.iter().map(link).collect();
    if reply.follow_ups_total > reply.follow_ups.len() {
        follow_ups.push(format!(
            "… {} more (`defer list --parent {} --all`)",
            reply.follow_ups_total - reply.follow_ups.len(),
            text(record, "/id")
        ));
    }
    add("follow-ups", follow_ups.join("\n"));
    add("key points", list("/context/key_points"));
    add("artifacts", list("/context/artifacts"));
    add("constraints", list("/context/constraints"));
    if let Some(template) = record
        .pointer("/execution/prompt_template")
        .and_then(Value::as_str)
        && record.pointer("/context/summary").and_then(Value::as_str) != Some(template)
    {
        add("prompt", output::escape(template).into_owned());
    }
    add("created", at("/created_at"));
    add("started", at("/started_at"));
    add("completed", at("/completed_at"));
    add("failed", at("/failed_at"));
    add("cancelled", at("/cancelled_at"));
    add("reason", text(record, "/cancel_reason"));
    add("error", text(record, "/error"));
    add("last error", text(record, "/last_error"));
    if let Some(kind) = record.pointer("/result/type").and_then(Value::as_str) {
        let mut result = output::escape(kind).into_owned();
        if let Some(code) = record.pointer("/result/exit_code").and_then(Value::as_i64) {
            result.push_str(&format!(" (exit {code})"));
        }
        add("result", result);
        add("output", text(record, "/result/output"));
    }
    if let Some(n) = record.get("retried").and_then(Value::as_u64) {
        add("retried", format!("{n} time(s) by `defer retry`"));
    }
    add("attempts", history(config, record));
    for (label, cell) in rows {
        let cell = if label == "status" {
            term.status(status)
        } else {
            cell
        };
        table.add_row(vec![term.header(label), cell]);
        labels = false;
    }
    if !labels {
        for column in table.column_iter_mut() {
            column.set_padding((0, 2));
        }
    }
    trimmed(&table)
}

/// One line per attempt of the record's `history`: `#2 completed (exit 0), Wed 2026-04-08
/// 16:35 UTC`; the same story `defer logs` and the dashboard tell.
fn history(config: &Config, record: &Value) -> String {
    let Some(attempts) = record.get("history").and_then(Value::as_array) else {
        return String::new();
    };
    let mut lines: Vec<String> = Vec::new();
    if let Some(n) = record.get("history_dropped").and_then(Value::as_u64) {
        lines.push(format!("({n} older not kept)"));
    }
    for a in attempts {
        let number = a.get("attempt").and_then(Value::as_u64).unwrap_or(0);
        let outcome = a
            .get("outcome")
            .and_then(Value::as_str)
            .unwrap_or("running");
        let code = match (a.get("exit_code"), a.get("signal")) {
            (Some(Value::Number(c)), _) => format!(" (exit {c})"),
            (_, Some(Value::Number(s))) => format!(" (signal {s})"),
            _ => String::new(),
        };
        let started = stamp(a, "/started_at")
            .map(|t| format!(", {}", config.clock.local(t)))
            .unwrap_or_default();
        let error = a
            .get("error")
            .and_then(Value::as_str)
            .map(|e| {
                let first: String = e.lines().next().unwrap_or("").chars().take(60).collect();
                format!(": {}", output::escape(&first))
            })
            .unwrap_or_default();
        lines.push(format!(
            "#{number} {}{code}{started}{error}",
            output::escape(outcome)
        ));
    }
    lines.join("\n")
}

/// The rendered table without the padding at the end of each line.
fn trimmed(table: &Table) -> String {
    let lines: Vec<String> = table.lines().map(|l| l.trim_end().to_string()).collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    fn config() -> Config {
        Config::from_lookup(|name| match name {
            "DEFER_TIMEZONE" => Some("UTC".into()),
            "DEFER_NOW" => Some("2026-04-08T16:35:00Z".into()),
            "HOME" => Some("/h".into()),
            _ => None,
        })
        .expect("config")
    }

    fn link(id: &str, status: Status, summary: &str) -> TaskLink {
        TaskLink {
            id: id.into(),
            status,
            run_at: Stamp::parse("2026-04-08T17:35:00Z").expect("stamp"),
            summary: summary.into(),
        }
    }

    #[test]
    fn the_card_shows_a_tasks_key_session_parent_and_follow_ups() {
        let reply = ShowReply {
            task: serde_json::json!({
                "id": "child", "created_at": "2026-04-08T16:00:00Z",
                "run_at": "2026-04-08T17:35:00Z", "status": "scheduled",
                "context": {"summary": "Check the deploy"},
                "unique_key": "deploy-check:v2", "session": "sess-1", "parent_id": "deploy"
            }),
            parent: Some(link("deploy", Status::Completed, "Deploy v2")),
            follow_ups: vec![link("again", Status::Scheduled, "Check once more")],
            follow_ups_total: 3,
            message: String::new(),
        };
        let term = Terminal {
            width: 120,
            color: false,
        };
        let card = task_card(&term, &config(), &reply);
        for needle in [
            "unique key",
            "deploy-check:v2",
            "session",
            "sess-1",
            "follow-up of",
            "deploy [completed] Deploy v2",
            "follow-ups",
            "again [scheduled] Check once more",
            "… 2 more (`defer list --parent child --all`)",
        ] {
            assert!(card.contains(needle), "{needle:?} missing from\n{card}");
        }
        // A parent the store no longer has is still named.
        let gone = ShowReply {
            parent: None,
            follow_ups: Vec::new(),
            follow_ups_total: 0,
            ..reply
        };
        let card = task_card(&term, &config(), &gone);
        assert!(card.contains("deploy (no longer stored)"), "{card}");
        assert!(!card.contains("follow-ups"), "{card}");
    }
}
