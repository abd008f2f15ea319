//! `defer export` and `defer import` on PostgreSQL: rows stream out of a query and into
//! `COPY … FROM STDIN`, so moving a million tasks takes seconds and a fixed amount of memory
//! (a row-by-row `INSERT` took 39 s for 100,000).

use std::io::{self, BufWriter, Write};

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use super::{Columns, PgStore, db, row_problem};
use crate::error::{Error, Result};
use crate::store::{ExportSink, ImportSource, Imported, Part, archive_month};

/// Bytes sent to the server in one `CopyData` message.
const COPY_CHUNK: usize = 256 * 1024;

impl PgStore {
    /// [`crate::store::Store::export`]: the rows of one table, as stored, in the order they
    /// were written. A row that cannot be listed (not JSON, or naming another task:
    /// quarantined) is left out with a warning, as the file store leaves out a damaged
    /// archive line, so an export never carries one task twice.
    pub(super) fn export_part(&self, part: Part, each: &mut ExportSink<'_>) -> Result<()> {
        let (table, sql) = match part {
            Part::Active => (
                "tasks",
                "SELECT NULL::text, id, record FROM {s}.tasks ORDER BY seq",
            ),
            Part::Archived => (
                "archive",
                "SELECT month, id, record FROM {s}.archive ORDER BY month, seq",
            ),
        };
        let mut client = self.client()?;
        let none: [&(dyn ToSql + Sync); 0] = [];
        let mut rows = client
            .query_raw(&self.sql(sql), none)
            .map_err(db("exporting tasks"))?;
        while let Some(row) = rows.next().map_err(db("exporting tasks"))? {
            let (month, id, record): (Option<&str>, &str, &str) =
                (row.get(0), row.get(1), row.get(2));
            match row_problem(id, record) {
                None => each(month, record.as_bytes())?,
                Some(reason) => eprintln!(
                    "warning: {}.{table} row {}: {} (not exported)",
                    self.schema,
                    crate::output::escape(id),
                    crate::output::escape(&reason)
                ),
            }
        }
        Ok(())
    }

    /// [`crate::store::Store::import`]: one transaction, each part one `COPY`. The
    /// database's own constraints refuse what may not be imported (an id already there or
    /// given twice, a second pending holder of a unique key), which rolls back everything.
    pub(super) fn import_from(&self, source: &mut ImportSource<'_>) -> Result<Imported> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db("starting an import"))?;
        let before: i64 = tx
            .query_one(
                &self.sql("SELECT coalesce(max(seq), 0) FROM {s}.archive"),
                &[],
            )
            .map_err(db("starting an import"))?
            .get(0);
        let mut imported = Imported::default();
        let mut row = Vec::with_capacity(4096);

        let copy = tx
            .copy_in(&self.sql(
                "COPY {s}.tasks (id, status, run_at, record, listed_at, unique_key,
                     unique_shared, parent_id, missed) FROM STDIN",
            ))
            .map_err(db("importing tasks"))?;
        let mut out = BufWriter::with_capacity(COPY_CHUNK, copy);
        source(Part::Active, &mut |_, line, task| {
            let c = Columns::of(task);
            row.clear();
            field(&mut row, Some(task.id.as_bytes()));
            field(&mut row, Some(task.status.as_str().as_bytes()));
            field(&mut row, c.run_at.as_deref().map(str::as_bytes));
            let text = String::from_utf8_lossy(line);
            field(&mut row, Some(text.as_bytes()));
            field(&mut row, c.listed_at.as_deref().map(str::as_bytes));
            field(&mut row, c.unique_key.as_deref().map(str::as_bytes));
            field(&mut row, Some(flag(c.unique_shared)));
            field(&mut row, c.parent_id.as_deref().map(str::as_bytes));
            field(&mut row, Some(flag(c.missed)));
            end_row(&mut row);
            out.write_all(&row).map_err(copy_failed)?;
            imported.active += 1;
            Ok(())
        })?;
        finish(out)?;

        let copy = tx
            .copy_in(&self.sql(
                "COPY {s}.archive (id, month, status, record, listed_at, unique_key,
                     parent_id, missed) FROM STDIN",
            ))
            .map_err(db("importing archived tasks"))?;
        let mut out = BufWriter::with_capacity(COPY_CHUNK, copy);
        source(Part::Archived, &mut |month, line, task| {
            let month = archive_month(month, task)?;
            let c = Columns::of(task);
            row.clear();
            field(&mut row, Some(task.id.as_bytes()));
            field(&mut row, Some(month.as_bytes()));
            field(&mut row, Some(task.status.as_str().as_bytes()));
            let text = String::from_utf8_lossy(line);
            field(&mut row, Some(text.as_bytes()));
            field(&mut row, c.listed_at.as_deref().map(str::as_bytes));
            field(&mut row, c.unique_key.as_deref().map(str::as_bytes));
            field(&mut row, c.parent_id.as_deref().map(str::as_bytes));
            field(&mut row, Some(flag(c.missed)));
            end_row(&mut row);
            out.write_all(&row).map_err(copy_failed)?;
            imported.archived += 1;
            Ok(())
        })?;
        finish(out)?;

        // An archived copy of a task that is active now is left out, as migration 4 and every
        // listing have it; copies imported earlier are not this import's to remove.
        let superseded = tx
            .execute(
                &self.sql(
                    "DELETE FROM {s}.archive a WHERE a.seq > $1
                     AND EXISTS (SELECT 1 FROM {s}.tasks t WHERE t.id = a.id)",
                ),
                &[&before],
            )
            .map_err(db("importing archived tasks"))?;
        let superseded = usize::try_from(superseded).unwrap_or(usize::MAX);
        imported.archived = imported.archived.saturating_sub(superseded);
        imported.superseded = superseded;
        self.notify(&mut tx)?;
        tx.commit().map_err(db("committing an import"))?;
        // A bulk load leaves the planner's statistics behind until autovacuum catches up; with
        // them, `list` walks the listing's index instead of sorting every record on disk (at
        // 100,000 tasks: 0.21 s instead of 0.31 s).
        // VACUUM as well: it marks the new pages all-visible, so counting a page's total reads
        // the listing's index alone instead of every row (at 1,000,000 tasks: 61 ms instead
        // of 123 ms).
        client
            .batch_execute(&self.sql("VACUUM (ANALYZE) {s}.tasks, {s}.archive"))
            .map_err(db("updating statistics after an import"))?;
        Ok(imported)
    }
}

/// `t` or `f`, as `COPY` reads a boolean.
fn flag(on: bool) -> &'static [u8] {
    if on { b"t" } else { b"f" }
}

/// Appends one column in `COPY`'s text format: a tab before every column but the first,
/// `\N` for NULL, and the characters the format gives a meaning escaped.
fn field(row: &mut Vec<u8>, value: Option<&[u8]>) {
    if !row.is_empty() {
        row.push(b'\t');
    }
    let Some(value) = value else {
        row.extend_from_slice(b"\\N");
        return;
    };
    if !value
        .iter()
        .any(|&b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        row.extend_from_slice(value);
        return;
    }
    for &b in value {
        match b {
            b'\\' => row.extend_from_slice(b"\\\\"),
            b'\t' => row.extend_from_slice(b"\\t"),
            b'\n' => row.extend_from_slice(b"\\n"),
            b'\r' => row.extend_from_slice(b"\\r"),
            _ => row.push(b),
        }
    }
}

/// Ends a row. `row` is started empty for each record, so the first [`field`] adds no tab.
fn end_row(row: &mut Vec<u8>) {
    row.push(b'\n');
}

/// Completes one `COPY`, turning what the server refused into the error a user can act on.
fn finish(out: BufWriter<postgres::CopyInWriter<'_>>) -> Result<()> {
    let copy = out.into_inner().map_err(|e| copy_failed(e.into_error()))?;
    copy.finish().map_err(refused)?;
    Ok(())
}

/// A write into `COPY` failed: the server's reason, when it gave one, travels inside.
fn copy_failed(e: io::Error) -> Error {
    let inner: Box<dyn std::error::Error + Send + Sync> = match e.into_inner() {
        Some(inner) => match inner.downcast::<postgres::Error>() {
            Ok(pg) => return refused(*pg),
            Err(other) => other,
        },
        None => Box::new(io::Error::other("the connection failed during COPY")),
    };
    Error::Database {
        action: "importing tasks",
        source: crate::error::DatabaseError::new(inner.to_string(), inner),
    }
}

/// What the database refused an import for: a duplicate id or a held unique key in the
/// words every other path uses, anything else as the database said it.
fn refused(e: postgres::Error) -> Error {
    let taken = e.as_db_error().and_then(|d| {
        if d.code() != &postgres::error::SqlState::UNIQUE_VIOLATION {
            return None;
        }
        // "Key (id)=(task_1) already exists."
        let value = |column: &str| {
            d.detail()
                .and_then(|t| t.strip_prefix(&format!("Key ({column})=(")))
                .and_then(|t| t.strip_suffix(") already exists."))
                .map(str::to_string)
        };
        match d.constraint() {
            Some("tasks_pkey") => Some(Error::DuplicateId(value("id").unwrap_or_default())),
            Some("tasks_unique_key") => Some(Error::UniqueKeyTaken {
                key: value("unique_key").unwrap_or_default(),
            }),
            _ => None,
        }
    });
    taken.unwrap_or_else(|| db("importing tasks")(e))
}
