//! The PostgreSQL store: one queue that runners on many hosts share.
//!
//! Records are kept whole, as the same JSON text the file store writes (unknown fields and
//! key order included), beside indexed columns for `id`, `status` and `run_at`. The pattern
//! is the one PostgreSQL job queues (River, Oban, graphile-worker) use:
//!
//! - **Claim** a batch of due rows with `FOR UPDATE SKIP LOCKED`, so concurrent runners never
//!   take the same task and never wait for each other; each claim records the runner
//!   (`host:pid`), a fresh random **lease token** and a lease deadline.
//! - **Renew** the lease while the executor runs.
//! - **Rescue**: a task still `executing` after its lease ran out belonged to a runner that
//!   died; any runner recovers it as a failed attempt (retried or failed per its budget).
//! - **Fence**: an outcome is written only if the row still carries this runner's token, so
//!   a runner that was presumed dead cannot overwrite what the rescuer recorded.
//!
//! The client is the synchronous `postgres` crate (rust-postgres): the rest of `defer` is
//! synchronous, one connection per process is all a CLI needs, and it is the maintained,
//! widely used driver; rustls adds TLS when the URL asks for it (`tls`).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Transaction};
use serde_json::Value;

mod listen;
mod login;
mod migrations;
mod tls;
mod transfer;

pub use login::without_password;
pub use migrations::MigrationStatus;

use super::order;
use super::{
    Archived, Decide, ExportSink, ImportSource, Imported, PageAsk, PageFound, Part, Problem, Query,
    QuickLook, RunnerLock, Store, Tally,
};
use crate::config::Config;
use crate::error::{DatabaseError, Error, Result, chain};
use crate::lifecycle::unique::UniqueAsk;
use crate::lifecycle::{self, Change, Found};
use crate::record::{Stamp, Status, Task};

/// How often a watcher looks for dead runners' claims while other runners' claims are out.
const RESCUE_EVERY: Duration = Duration::from_secs(30);

/// The first key of the pause lock (`pg_advisory_xact_lock(class, schema hash)`): "defr".
const PAUSE_LOCK_CLASS: i32 = 0x6465_6672;

/// The first key of a unique key's lock (`pg_advisory_xact_lock(class, hash of schema and
/// key)`): "defu". Schedules and retries of one key take turns on it, so the look for the
/// key's holder and the insert are one step; two keys with the same hash only wait for each
/// other.
const UNIQUE_LOCK_CLASS: i32 = 0x6465_6675;

/// The database-backed store.
pub struct PgStore {
    client: Mutex<Client>,
    schema: String,
    lease: Duration,
    batch: usize,
    runner: String,
    /// Lease tokens of the claims this process holds, by task id.
    claims: Mutex<HashMap<String, i64>>,
    /// The URL, for the second connection a watcher listens on.
    url: String,
    /// The thread listening on it, started by the first `wait_for_change`.
    listener: Mutex<Option<listen::Listener>>,
    /// Rows that are not valid records (see `poison`).
    poison: Mutex<HashSet<String>>,
    /// This process's liveness key: a session-level advisory lock on it is held for as long
    /// as the connection lives, and claims carry it (`runner_key`), so a rescuer can tell a
    /// dead runner's claims without waiting for their leases.
    liveness: Mutex<Option<i64>>,
    /// libpq's password file, read when the URL has no password (on every reconnection).
    passfile: std::path::PathBuf,
    /// [`Store::identity`], worked out once from the URL.
    identity: String,
    /// Statements of the runner's per-task paths, prepared once per connection: a query given
    /// as text is prepared, run and closed each time, three messages and two round trips
    /// where one does (BENCHMARKS.md, "A million tasks"). Keyed by the SQL before `{s}` is
    /// filled in; emptied when the connection is made again.
    prepared: Mutex<HashMap<&'static str, postgres::Statement>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
            .field("runner", &self.runner)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// A database store needs no runner lock: `SKIP LOCKED` lets runners share the queue.
#[derive(Debug)]
struct SharedQueue;

impl RunnerLock for SharedQueue {}

impl PgStore {
    /// Connects and brings the schema up to date.
    pub fn connect(config: &Config, url: &str) -> Result<PgStore> {
        let client = connect(url, &config.passfile)?;
        let identity = match read_sslmode(url).0.parse::<postgres::Config>() {
            Ok(parsed) => login::identity(&parsed, &config.database_schema),
            Err(_) => format!(
                "postgres (unreadable URL) schema {}",
                config.database_schema
            ),
        };
        let host = hostname();
        let store = PgStore {
            client: Mutex::new(client),
            schema: config.database_schema.clone(),
            lease: config.lease,
            batch: config.claim_batch,
            runner: format!("{host}:{}", std::process::id()),
            claims: Mutex::new(HashMap::new()),
            url: url.to_string(),
            listener: Mutex::new(None),
            poison: Mutex::new(HashSet::new()),
            liveness: Mutex::new(None),
            passfile: config.passfile.clone(),
            identity,
            prepared: Mutex::new(HashMap::new()),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The connection, opened anew when the server closed the old one (a restart, an idle
    /// timeout, `pg_terminate_backend`). A new connection holds no liveness lock: the claims
    /// of the old one may already be rescued, and fencing decides whose outcome stands.
    fn client(&self) -> Result<std::sync::MutexGuard<'_, Client>> {
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if client.is_closed() {
            eprintln!("defer: the database connection was closed; connecting again");
            *client = connect(&self.url, &self.passfile)?;
            *self.liveness.lock().unwrap_or_else(|p| p.into_inner()) = None;
            self.prepared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
        }
        Ok(client)
    }

    /// The `LISTEN`/`NOTIFY` channel of this schema.
    fn channel(&self) -> String {
        format!("defer_{}", self.schema)
    }

    /// Tells watchers (`defer run --watch` on any host) that tasks changed; delivered when the
    /// surrounding transaction commits.
    fn notify(&self, tx: &mut impl postgres::GenericClient) -> Result<()> {
        tx.execute("SELECT pg_notify($1, '')", &[&self.channel()])
            .map_err(db("notifying watchers"))?;
        Ok(())
    }

    /// `template` (with `{s}` for the schema) prepared on this connection, once.
    fn prepared(
        &self,
        client: &mut impl postgres::GenericClient,
        template: &'static str,
    ) -> Result<postgres::Statement> {
        if let Some(statement) = self
            .prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(template)
        {
            return Ok(statement.clone());
        }
        let statement = client
            .prepare(&self.sql(template))
            .map_err(db("preparing a statement"))?;
        self.prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(template, statement.clone());
        Ok(statement)
    }

    /// `{s}` in `sql` becomes the schema (a validated identifier, see `Config`).
    fn sql(&self, sql: &str) -> String {
        sql.replace("{s}", &format!("\"{}\"", self.schema))
    }

    /// The key of this process's liveness lock, taken on first use on the store's connection.
    fn liveness_key(&self, tx: &mut Transaction<'_>) -> Result<i64> {
        let mut held = self.liveness.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = *held {
            return Ok(key);
        }
        loop {
            let key = random_token()?;
            // Session-level: it outlives this transaction and ends with the connection.
            let taken: bool = tx
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .map_err(db("marking this runner alive"))?
                .get(0);
            if taken {
                *held = Some(key);
                return Ok(key);
            }
        }
    }

    /// The record `id` names, locked for the rest of `tx`: the active row, else the newest
    /// archived copy. Two changes of one archived task (two `retry`s at once) take turns on
    /// the archived row; the second then finds the copy the first restored to the active
    /// table, and decides on that.
    fn find_for_update(&self, tx: &mut Transaction<'_>, id: &str) -> Result<Found> {
        let active = self.sql("SELECT record FROM {s}.tasks WHERE id = $1 FOR UPDATE");
        let row = tx
            .query_opt(&active, &[&id])
            .map_err(db("reading a task"))?;
        if let Some(row) = row {
            return Ok(Found::Active(parse(row.get(0), id)?));
        }
        let archived = tx
            .query_opt(
                &self.sql(
                    "SELECT record FROM {s}.archive WHERE id = $1
                     ORDER BY month DESC, seq DESC LIMIT 1 FOR UPDATE",
                ),
                &[&id],
            )
            .map_err(db("reading a task"))?;
        if let Some(row) = archived {
            return Ok(Found::Archived(parse(row.get(0), id)?));
        }
        // A change that held the archived row meanwhile may have restored it.
        let row = tx
            .query_opt(&active, &[&id])
            .map_err(db("reading a task"))?;
        Ok(match row {
            Some(row) => Found::Active(parse(row.get(0), id)?),
            None => Found::Missing(id.to_string()),
        })
    }

    /// Takes this schema's pause lock for the rest of `tx` (shared by claims, exclusive for
    /// `pause`/`resume`) and returns the pause stored now. Two statements, sent together: the
    /// read gets its own snapshot after the lock is held, so a claim that waited for a
    /// `pause` to commit sees it.
    fn pause_for_claim(&self, tx: &mut Transaction<'_>) -> Result<Option<lifecycle::Pause>> {
        let (class, key) = self.pause_lock();
        let messages = tx
            .simple_query(&self.sql(&format!(
                "SELECT pg_advisory_xact_lock_shared({class}, {key});
                 SELECT value FROM {{s}}.settings WHERE key = 'pause'"
            )))
            .map_err(db("reading the pause"))?;
        let stored = messages.iter().find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) if row.columns()[0].name() == "value" => {
                row.get(0).map(str::to_string)
            }
            _ => None,
        });
        stored
            .map(|text| {
                serde_json::from_str(&text).map_err(|source| Error::Json {
                    what: "the stored pause".into(),
                    source,
                })
            })
            .transpose()
    }

    /// The two keys of the pause lock: a constant, and a hash of the schema, so stores in
    /// other schemas of one database do not wait on each other.
    fn pause_lock(&self) -> (i32, i32) {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in self.schema.bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
        (PAUSE_LOCK_CLASS, i32::from_ne_bytes(hash.to_ne_bytes()))
    }

    /// Ids of rows found not to be valid records, so claims and the watcher's wake look
    /// past them.
    fn poisoned(&self) -> Vec<String> {
        self.poison
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Remembers (and reports once) a row that is not a valid record; `defer check` lists it.
    fn poison(&self, id: &str, e: &Error) {
        let mut poison = self.poison.lock().unwrap_or_else(|p| p.into_inner());
        if poison.insert(id.to_string()) {
            eprintln!(
                "warning: {} (skipped; `defer check` lists such rows)",
                crate::output::escape(&chain(e))
            );
        }
    }

    /// Adds a row for `task`: a series' next occurrence (`Added::Next`), or a task restored
    /// from the archive (`Added::Restored`). An id that already exists (a next occurrence an
    /// earlier, interrupted attempt wrote) is left as it is. A next occurrence whose unique
    /// key another pending task holds is not added either (only a hand edit or an import can
    /// bring such a task: a series holds its key as one); a restored task in that case is a
    /// refusal, so nothing is lost from the archive.
    fn insert_row(&self, tx: &mut Transaction<'_>, task: &Task, added: Added) -> Result<()> {
        let c = Columns::of(task);
        let conflict = match added {
            Added::Next => "",
            Added::Restored => "(id)",
        };
        tx.execute(
            &self.sql(&format!(
                "INSERT INTO {{s}}.tasks (id, status, run_at, record, listed_at, unique_key,
                     unique_shared, parent_id, missed)
                 VALUES ($1, $2, $3::text::timestamptz, $4, $5::text::timestamptz, $6, $7, $8,
                     $9)
                 ON CONFLICT {conflict} DO NOTHING"
            )),
            &[
                &task.id,
                &task.status.as_str(),
                &c.run_at,
                &task.to_line(),
                &c.listed_at,
                &c.unique_key,
                &c.unique_shared,
                &c.parent_id,
                &c.missed,
            ],
        )
        .map_err(|e| unique_violation(e, task).unwrap_or_else(|e| db("adding a task")(e)))?;
        Ok(())
    }

    /// Writes `task` to its row, keeping the indexed columns in step with the record: `sql`
    /// takes the id, status, run_at, record, listed_at, unique_key, unique_shared, parent_id
    /// and missed as `$1`…`$9`.
    fn update(tx: &mut Transaction<'_>, sql: &str, task: &Task) -> Result<u64> {
        let c = Columns::of(task);
        tx.execute(
            sql,
            &[
                &task.id,
                &task.status.as_str(),
                &c.run_at,
                &task.to_line(),
                &c.listed_at,
                &c.unique_key,
                &c.unique_shared,
                &c.parent_id,
                &c.missed,
            ],
        )
        .map_err(|e| unique_violation(e, task).unwrap_or_else(|e| db("updating a task")(e)))
    }

    /// Takes the lock of unique key `key` for the rest of `tx` (see [`UNIQUE_LOCK_CLASS`]).
    fn lock_key(&self, tx: &mut Transaction<'_>, key: &str) -> Result<()> {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&UNIQUE_LOCK_CLASS, &format!("{}:{key}", self.schema)],
        )
        .map_err(db("locking a unique key"))?;
        Ok(())
    }

    /// The records of this schema that carry `key` in `statuses` (pending rows, and, with
    /// `completed_since`, rows completed since then, active or archived). Unreadable rows
    /// are skipped, as claims skip them.
    fn carrying_key(
        &self,
        tx: &mut Transaction<'_>,
        key: &str,
        statuses: &[Status],
        completed_since: Option<Timestamp>,
    ) -> Result<Vec<Task>> {
        let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let since = completed_since.map(|t| Stamp(t).to_string());
        let rows = tx
            .query(
                &self.sql(
                    "SELECT id, record FROM {s}.tasks WHERE unique_key = $1 AND status = ANY($2)
                     UNION ALL
                     SELECT id, record FROM {s}.archive
                     WHERE $3::text IS NOT NULL AND unique_key = $1 AND status = 'completed'
                       AND listed_at >= $3::text::timestamptz",
                ),
                &[&key, &statuses, &since],
            )
            .map_err(db("looking for a unique key"))?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            let id: &str = row.get(0);
            match parse(row.get(1), id) {
                Ok(task) => found.push(task),
                Err(e) => self.poison(id, &e),
            }
        }
        Ok(found)
    }

    /// Streams the records of `sql` (columns `seq`, `id`, `record`, and the table's name) to
    /// `each`, row by row, so a list of 100,000 records never holds them all at once. A row
    /// whose record is not JSON, or names another task than its `id` column, is not passed on:
    /// it becomes a problem, as a damaged line does on the file store.
    fn each_row(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
        problems: &mut Vec<Problem>,
    ) -> Result<()> {
        let mut client = self.client()?;
        let mut rows = client
            .query_raw(sql, params.iter().copied())
            .map_err(db("listing tasks"))?;
        while let Some(row) = rows.next().map_err(db("listing tasks"))? {
            let record: &str = row.get(2);
            match row_problem(row.get(1), record) {
                None => each(record.as_bytes())?,
                Some(reason) => problems.push(Problem {
                    file: format!("{}.{}", self.schema, row.get::<_, &str>(3)).into(),
                    line: usize::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                    reason,
                }),
            }
        }
        Ok(())
    }

    /// The statuses a query asks for, split by the listing's two parts (`store::order`).
    fn parts(query: &Query) -> (Vec<String>, Vec<String>) {
        let asked: Vec<Status> = if query.statuses.is_empty() {
            Status::ALL.iter().filter_map(|s| s.parse().ok()).collect()
        } else {
            query.statuses.clone()
        };
        let (up, done): (Vec<Status>, Vec<Status>) =
            asked.into_iter().partition(|s| order::is_upcoming(*s));
        let names = |v: Vec<Status>| v.into_iter().map(|s| s.to_string()).collect();
        (names(up), names(done))
    }
}

impl PgStore {
    /// Adds a new task's row (refusing an id already in the table or the archive) and tells
    /// watchers, in one round trip.
    fn add(&self, client: &mut impl postgres::GenericClient, task: &Task) -> Result<()> {
        let c = Columns::of(task);
        // The primary key refuses a duplicate id whether it was given or generated.
        // One round trip: the insert, and the notification only when it inserted.
        let inserted: i64 = client
            .query_one(
                &self.sql(
                    "WITH added AS (
                         INSERT INTO {s}.tasks (id, status, run_at, record, listed_at,
                             unique_key, unique_shared, parent_id, missed)
                         SELECT $1, $2, $3::text::timestamptz, $4, $6::text::timestamptz,
                             $7, $8, $9, $10
                         WHERE NOT EXISTS (SELECT 1 FROM {s}.archive WHERE id = $1)
                         ON CONFLICT (id) DO NOTHING RETURNING 1
                     )
                     SELECT count(*) FROM added, pg_notify($5, '')",
                ),
                &[
                    &task.id,
                    &task.status.as_str(),
                    &c.run_at,
                    &task.to_line(),
                    &self.channel(),
                    &c.listed_at,
                    &c.unique_key,
                    &c.unique_shared,
                    &c.parent_id,
                    &c.missed,
                ],
            )
            .map_err(|e| unique_violation(e, task).unwrap_or_else(|e| db("adding a task")(e)))?
            .get(0);
        if inserted == 0 {
            let archived: bool = client
                .query_one(
                    &self.sql("SELECT EXISTS (SELECT 1 FROM {s}.archive WHERE id = $1)"),
                    &[&task.id],
                )
                .map_err(db("adding a task"))?
                .get(0);
            return Err(if archived {
                Error::ArchivedId(task.id.clone())
            } else {
                Error::DuplicateId(task.id.clone())
            });
        }
        Ok(())
    }
}

/// The partial unique index's refusal of `task` (another pending task holds its key), as the
/// refusal `schedule` and `retry` give for it; any other error back as it was.
fn unique_violation(
    e: postgres::Error,
    task: &Task,
) -> std::result::Result<Error, postgres::Error> {
    let ours = e.as_db_error().is_some_and(|d| {
        d.code() == &postgres::error::SqlState::UNIQUE_VIOLATION
            && d.constraint() == Some("tasks_unique_key")
    });
    match (ours, task.unique_key.as_deref()) {
        (true, Some(key)) => Ok(Error::UniqueKeyTaken {
            key: key.to_string(),
        }),
        _ => Err(e),
    }
}

/// How a row joins the table: see [`PgStore::insert_row`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Added {
    Next,
    Restored,
}

/// Why a row cannot be listed as it is, if it cannot: a record that is not one JSON object,
/// or one that names another task than the row's `id` (quarantined: never listed, exported
/// or written over another task).
fn row_problem(id: &str, record: &str) -> Option<String> {
    match crate::store::jsonl::scan::scan(record.as_bytes()) {
        Err(e) => Some(format!("not a valid task record: {e}")),
        Ok(fields) => match fields.id.as_deref() {
            Some(named) if named == id => None,
            named => Some(
                Error::Quarantined {
                    row: id.to_string(),
                    record: named.unwrap_or("(none)").to_string(),
                }
                .to_string(),
            ),
        },
    }
}

/// The rows of the listing's first part (what is to happen), in its order; `{f}` is where
/// [`links_filter`] goes.
const UPCOMING: &str = "SELECT seq, id, record, 'tasks'::text FROM {s}.tasks
     WHERE status = ANY($1){f} ORDER BY listed_at, id COLLATE \"C\"";

/// The rows of its second part (what happened), active and archived, in its order.
const DONE: &str = "SELECT seq, id, record, tbl FROM (
         SELECT seq, id, record, listed_at, 'tasks'::text AS tbl FROM {s}.tasks
         WHERE status = ANY($1){f}
         UNION ALL
         SELECT seq, id, record, listed_at, 'archive'::text FROM {s}.archive
         WHERE $2 AND status = ANY($1){f}
     ) l ORDER BY listed_at DESC NULLS LAST, id COLLATE \"C\"";

/// The conditions a query's `unique_key`, `parent_id` and `since` filters add to [`UPCOMING`] and
/// [`DONE`], their parameters numbered from `$first`, and the values to bind.
fn links_filter(query: &Query, first: usize) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    for (column, value) in [
        ("unique_key", &query.unique_key),
        ("parent_id", &query.parent_id),
    ] {
        if let Some(value) = value {
            sql.push_str(&format!(" AND {column} = ${}", first + values.len()));
            values.push(value.clone());
        }
    }
    if let Some(since) = query.since {
        sql.push_str(&format!(
            " AND listed_at >= ${}::text::timestamptz",
            first + values.len()
        ));
        values.push(Stamp(since).to_string());
    }
    (sql, values)
}

impl Store for PgStore {
    fn insert(&self, task: &Task, _check_id: bool) -> Result<()> {
        let mut client = self.client()?;
        self.add(&mut *client, task)
    }

    /// One transaction under the key's lock: the look for a holder, then the insert. The
    /// partial unique index (migration 7) refuses a second pending task with the key whatever
    /// path wrote it; the lock makes a schedule find the holder instead of meeting that
    /// refusal, and covers completed tasks, which the index does not.
    fn insert_unique(&self, task: &Task, _check_id: bool, ask: &UniqueAsk) -> Result<Option<Task>> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db("starting to add a task"))?;
        self.lock_key(&mut tx, &ask.key)?;
        let found = self.carrying_key(&mut tx, &ask.key, ask.statuses(), ask.completed_since)?;
        if let Some(holder) = lifecycle::unique::holder(found, ask) {
            tx.commit().map_err(db("committing a look-up"))?;
            return Ok(Some(holder));
        }
        self.add(&mut tx, task)?;
        tx.commit().map_err(db("committing a new task"))?;
        Ok(None)
    }

    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn list(
        &self,
        query: &Query,
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<Vec<Problem>> {
        let (up, done) = Self::parts(query);
        let mut problems = Vec::new();
        if !up.is_empty() {
            let (filter, values) = links_filter(query, 2);
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&up];
            params.extend(
                values
                    .iter()
                    .map(|v| v as &(dyn postgres::types::ToSql + Sync)),
            );
            let sql = self.sql(&UPCOMING.replace("{f}", &filter));
            self.each_row(&sql, &params, each, &mut problems)?;
        }
        if !done.is_empty() {
            let (filter, values) = links_filter(query, 3);
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                vec![&done, &query.include_archive];
            params.extend(
                values
                    .iter()
                    .map(|v| v as &(dyn postgres::types::ToSql + Sync)),
            );
            let sql = self.sql(&DONE.replace("{f}", &filter));
            self.each_row(&sql, &params, each, &mut problems)?;
        }
        Ok(problems)
    }

    /// Counts, then reads only the page's rows, in one read-only snapshot: each part of the
    /// listing is an index scan (`listed_at`, then the id), so the first page of 100,000 tasks
    /// reads a page's worth of rows. A text search looks into every record's summary, so it
    /// pages through the listing.
    fn page(&self, query: &Query, ask: &PageAsk) -> Result<PageFound> {
        // A filtered listing is short (one key's tasks, one task's follow-ups, a day's) and
        // read through the filtered, indexed `list`.
        if ask.text.is_some()
            || query.unique_key.is_some()
            || query.parent_id.is_some()
            || query.since.is_some()
        {
            return super::page::by_listing(self, query, ask);
        }
        let (up, done) = Self::parts(query);
        let archive = query.include_archive;
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db("reading a page of tasks"))?;
        // The first page counts each part only up to the cap; later pages need exact counts to
        // find where they start.
        let cap = if ask.after.is_none() {
            i64::try_from(super::page::COUNT_CAP).unwrap_or(i64::MAX) + 1
        } else {
            i64::MAX
        };
        let counts = tx
            .query_one(
                &self.sql(
                    "SELECT (SELECT count(*) FROM (SELECT 1 FROM {s}.tasks
                                                   WHERE status = ANY($1) LIMIT $4) u),
                            (SELECT count(*) FROM (SELECT 1 FROM {s}.tasks
                                                   WHERE status = ANY($2) LIMIT $4) d),
                            CASE WHEN $3 THEN (SELECT count(*) FROM (SELECT 1 FROM {s}.archive
                                               WHERE status = ANY($2) LIMIT $4) a)
                                 ELSE 0 END",
                ),
                &[&up, &done, &archive, &cap],
            )
            .map_err(db("counting tasks"))?;
        let parts: [i64; 3] = [counts.get(0), counts.get(1), counts.get(2)];
        let total_capped = parts.iter().any(|&n| n >= cap);
        let (upcoming, finished) = (parts[0], parts[1] + parts[2]);
        // Where the page starts: right after `after` if it still matches, else at the offset.
        let start: i64 = match &ask.after {
            None => 0,
            Some((offset, id)) => {
                // How many records list before `id` in its part; `listed_at` may be NULL
                // (listed last within the part), the id breaks ties by its bytes.
                let at = tx
                    .query_opt(
                        &self.sql(
                            "WITH me AS (
                                 SELECT 0 AS part, listed_at, id FROM {s}.tasks
                                 WHERE id = $4 AND status = ANY($1)
                                 UNION ALL
                                 SELECT 1, listed_at, id FROM {s}.tasks
                                 WHERE id = $4 AND status = ANY($2)
                                 UNION ALL
                                 SELECT 1, listed_at, id FROM {s}.archive
                                 WHERE $3 AND id = $4 AND status = ANY($2)
                                 LIMIT 1
                             )
                             SELECT me.part, CASE me.part
                                 WHEN 0 THEN (SELECT count(*) FROM {s}.tasks o
                                     WHERE o.status = ANY($1) AND CASE
                                         WHEN me.listed_at IS NULL THEN o.listed_at IS NOT NULL
                                             OR (o.listed_at IS NULL
                                                 AND o.id COLLATE \"C\" < me.id COLLATE \"C\")
                                         ELSE o.listed_at < me.listed_at
                                             OR (o.listed_at = me.listed_at
                                                 AND o.id COLLATE \"C\" < me.id COLLATE \"C\")
                                     END)
                                 ELSE (SELECT count(*) FROM (
                                         SELECT listed_at, id FROM {s}.tasks
                                         WHERE status = ANY($2)
                                         UNION ALL
                                         SELECT listed_at, id FROM {s}.archive
                                         WHERE $3 AND status = ANY($2)
                                     ) o WHERE CASE
                                         WHEN me.listed_at IS NULL THEN o.listed_at IS NOT NULL
                                             OR (o.listed_at IS NULL
                                                 AND o.id COLLATE \"C\" < me.id COLLATE \"C\")
                                         ELSE o.listed_at > me.listed_at
                                             OR (o.listed_at = me.listed_at
                                                 AND o.id COLLATE \"C\" < me.id COLLATE \"C\")
                                     END)
                             END
                             FROM me",
                        ),
                        &[&up, &done, &archive, id],
                    )
                    .map_err(db("finding where a page starts"))?;
                match at {
                    Some(row) if row.get::<_, i32>(0) == 0 => row.get::<_, i64>(1) + 1,
                    Some(row) => upcoming + row.get::<_, i64>(1) + 1,
                    // Past the end, nothing starts (as in the listing's own count).
                    None => i64::try_from(*offset)
                        .ok()
                        .filter(|&o| o < upcoming + finished)
                        .unwrap_or(0),
                }
            }
        };
        let want = i64::try_from(ask.limit)
            .unwrap_or(i64::MAX)
            .saturating_add(1);
        type Row = (i64, String, String, String);
        let read = |tx: &mut Transaction<'_>,
                    sql: &str,
                    params: &[&(dyn postgres::types::ToSql + Sync)]|
         -> Result<Vec<Row>> {
            Ok(tx
                .query(&self.sql(sql), params)
                .map_err(db("reading a page of tasks"))?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect())
        };
        let mut rows: Vec<Row> = Vec::new();
        if start < upcoming {
            let sql = format!("{} OFFSET $2 LIMIT $3", UPCOMING.replace("{f}", ""));
            rows = read(&mut tx, &sql, &[&up, &start, &want])?;
        }
        let taken = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        if taken < want && !done.is_empty() {
            let sql = format!("{} OFFSET $3 LIMIT $4", DONE.replace("{f}", ""));
            let skip = (start - upcoming).max(0);
            let take = want - taken;
            rows.extend(read(&mut tx, &sql, &[&done, &archive, &skip, &take])?);
        }
        tx.commit().map_err(db("reading a page of tasks"))?;
        let mut lines = Vec::with_capacity(rows.len());
        let mut problems = Vec::new();
        for (seq, id, record, table) in rows {
            match row_problem(&id, &record) {
                None => lines.push(record.into_bytes()),
                Some(reason) => problems.push(Problem {
                    file: format!("{}.{table}", self.schema).into(),
                    line: usize::try_from(seq).unwrap_or(0),
                    reason,
                }),
            }
        }
        let more = lines.len() > ask.limit;
        lines.truncate(ask.limit);
        Ok(PageFound {
            lines,
            total: usize::try_from(upcoming + finished).unwrap_or(0),
            total_capped,
            start: usize::try_from(start).unwrap_or(0),
            more,
            problems,
        })
    }

    /// Two statements: the active store per status (with the due count), and the finished
    /// tasks since `since` grouped by hour — index range scans on `listed_at`.
    /// With `cap`, each status is counted by its own query that stops past the cap, each
    /// reading its partial index (the dashboard's overview at a million tasks: 2.5 ms instead
    /// of 270 ms for one `GROUP BY` over every row); without, one exact pass.
    fn tally(&self, now: Timestamp, since: Timestamp, cap: Option<u64>) -> Result<Tally> {
        let mut client = self.client()?;
        let mut tally = Tally::default();
        let now = Stamp(now).to_string();
        let since = Stamp(since).to_string();
        if let Some(cap) = cap {
            let limit = i64::try_from(cap).unwrap_or(i64::MAX - 1) + 1;
            // The statuses are the record's own names, spelled out so that the planner can
            // match each query to its partial index.
            let counts: Vec<String> = Status::ALL
                .iter()
                .map(|status| {
                    format!(
                        "(SELECT count(*) FROM (SELECT 1 FROM {{s}}.tasks
                                                 WHERE status = '{status}' LIMIT $2) c)"
                    )
                })
                .collect();
            let sql = format!(
                "SELECT {}, (SELECT count(*) FROM (SELECT 1 FROM {{s}}.tasks
                                                 WHERE status = 'scheduled'
                                                   AND run_at <= $1::text::timestamptz
                                                 LIMIT $2) d)",
                counts.join(", ")
            );
            let row = client
                .query_one(&self.sql(&sql), &[&now, &limit])
                .map_err(db("counting tasks"))?;
            for (i, name) in Status::ALL.iter().enumerate() {
                let Ok(status) = name.parse::<Status>() else {
                    continue;
                };
                let n: i64 = row.get(i);
                tally.capped |= n >= limit;
                if n > 0 {
                    tally.active.push((status, u64::try_from(n).unwrap_or(0)));
                }
            }
            let due: i64 = row.get(Status::ALL.len());
            tally.capped |= due >= limit;
            tally.due = u64::try_from(due).unwrap_or(0);
        } else {
            for row in client
                .query(
                    &self.sql(
                        "SELECT status, count(*),
                                count(*) FILTER (WHERE status = 'scheduled'
                                                 AND run_at <= $1::text::timestamptz)
                         FROM {s}.tasks GROUP BY status",
                    ),
                    &[&now],
                )
                .map_err(db("counting tasks"))?
            {
                let Ok(status) = row.get::<_, &str>(0).parse::<Status>() else {
                    continue;
                };
                tally
                    .active
                    .push((status, u64::try_from(row.get::<_, i64>(1)).unwrap_or(0)));
                tally.due += u64::try_from(row.get::<_, i64>(2)).unwrap_or(0);
            }
        }
        for row in client
            .query(
                &self.sql(
                    "SELECT extract(epoch FROM date_trunc('hour', listed_at, 'UTC'))::bigint,
                            status, missed, count(*)
                     FROM (SELECT listed_at, status, missed FROM {s}.tasks
                           WHERE status NOT IN ('scheduled', 'executing')
                             AND listed_at >= $1::text::timestamptz
                           UNION ALL
                           SELECT listed_at, status, missed FROM {s}.archive
                           WHERE listed_at >= $1::text::timestamptz) f
                     GROUP BY 1, 2, 3",
                ),
                &[&since],
            )
            .map_err(db("counting finished tasks"))?
        {
            let (Ok(hour), Ok(status)) = (
                Timestamp::from_second(row.get(0)),
                row.get::<_, &str>(1).parse::<Status>(),
            ) else {
                continue;
            };
            tally.finished.push(super::FinishedHour {
                hour,
                status,
                missed: row.get(2),
                count: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
            });
        }
        Ok(tally)
    }

    /// The primary key first (an exact id), then a pattern over the ids: an index scan for
    /// the prefix, a sequential one for the suffix — only for a shortened id.
    fn ids_matching(&self, fragment: &str, include_archive: bool) -> Result<Vec<String>> {
        let mut client = self.client()?;
        let exact = client
            .query_opt(
                &self.sql(
                    "SELECT id FROM {s}.tasks WHERE id = $1
                     UNION ALL SELECT id FROM {s}.archive WHERE $2 AND id = $1 LIMIT 1",
                ),
                &[&fragment, &include_archive],
            )
            .map_err(db("looking up an id"))?;
        if exact.is_some() {
            return Ok(vec![fragment.to_string()]);
        }
        let escaped: String = fragment
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let rows = client
            .query(
                &self.sql(
                    "SELECT id FROM {s}.tasks WHERE id LIKE $1 ESCAPE '\\' OR id LIKE $2 ESCAPE '\\'
                     UNION
                     SELECT id FROM {s}.archive
                     WHERE $3 AND (id LIKE $1 ESCAPE '\\' OR id LIKE $2 ESCAPE '\\')",
                ),
                &[
                    &format!("%{escaped}"),
                    &format!("{escaped}%"),
                    &include_archive,
                ],
            )
            .map_err(db("looking up an id"))?;
        Ok(super::exact_wins(
            fragment,
            rows.iter().map(|r| r.get(0)).collect(),
        ))
    }

    fn show(&self, id: &str) -> Result<Option<Value>> {
        let mut client = self.client()?;
        let row = client
            .query_opt(
                &self.sql(
                    "SELECT record FROM (
                         SELECT record, 1 AS pos, '' AS month, seq FROM {s}.tasks WHERE id = $1
                         UNION ALL
                         SELECT record, 2, month, seq FROM {s}.archive WHERE id = $1
                     ) found ORDER BY pos, month DESC, seq DESC LIMIT 1",
                ),
                &[&id],
            )
            .map_err(db("reading a task"))?;
        row.map(|r| {
            let text: &str = r.get(0);
            let record: Value = serde_json::from_str(text).map_err(|source| Error::Json {
                what: format!("stored record {id}"),
                source,
            })?;
            match record.get("id").and_then(Value::as_str) {
                Some(named) if named != id => Err(Error::Quarantined {
                    row: id.to_string(),
                    record: named.to_string(),
                }),
                _ => Ok(record),
            }
        })
        .transpose()
    }

    fn modify(&self, id: &str, decide: &mut Decide<'_>) -> Result<Change> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db("starting a change"))?;
        let found = self.find_for_update(&mut tx, id)?;
        let active = matches!(found, Found::Active(_));
        let was = match &found {
            Found::Active(t) | Found::Archived(t) => Some(t.status),
            Found::Missing(_) => None,
        };
        let change = decide(found)?;
        if lifecycle::unique::needs_check(&change.task, was)
            && let Some(key) = change.task.unique_key.as_deref()
        {
            self.lock_key(&mut tx, key)?;
            let pending = [Status::Scheduled, Status::Executing];
            for other in self.carrying_key(&mut tx, key, &pending, None)? {
                if let Some(refusal) = lifecycle::unique::conflict(&change.task, &other) {
                    return Err(refusal);
                }
            }
        }
        if !active {
            // Restored from the archive: it leaves the archive, so every listing, count and
            // export sees it once, in its current state.
            tx.execute(
                &self.sql("DELETE FROM {s}.archive WHERE id = $1"),
                &[&change.task.id],
            )
            .map_err(db("restoring an archived task"))?;
        }
        if active {
            Self::update(
                &mut tx,
                &self.sql(
                    "UPDATE {s}.tasks SET status = $2, run_at = $3::text::timestamptz,
                         record = $4, listed_at = $5::text::timestamptz,
                         unique_key = $6, unique_shared = $7, parent_id = $8, missed = $9,
                         runner = CASE WHEN $2 = 'executing' THEN runner END,
                         lease_token = CASE WHEN $2 = 'executing' THEN lease_token END,
                         lease_until = CASE WHEN $2 = 'executing' THEN lease_until END
                     WHERE id = $1",
                ),
                &change.task,
            )?;
        } else {
            self.insert_row(&mut tx, &change.task, Added::Restored)?;
        }
        if let Some(next) = &change.next {
            self.insert_row(&mut tx, next, Added::Next)?;
        }
        self.notify(&mut tx)?;
        tx.commit().map_err(db("committing a change"))?;
        Ok(change)
    }

    fn end_series(
        &self,
        series: &str,
        decide: &mut dyn FnMut(Task) -> Option<Change>,
    ) -> Result<Vec<Change>> {
        let mut client = self.client()?;
        let mut tx = client
            .transaction()
            .map_err(db("starting to end a series"))?;
        let rows = tx
            .query(
                &self.sql(
                    "SELECT id, record FROM {s}.tasks
                     WHERE status IN ('scheduled', 'executing') FOR UPDATE",
                ),
                &[],
            )
            .map_err(db("finding a series"))?;
        let update = self.sql(
            "UPDATE {s}.tasks SET status = $2, run_at = $3::text::timestamptz, record = $4,
                 listed_at = $5::text::timestamptz, unique_key = $6, unique_shared = $7,
                 parent_id = $8, missed = $9
             WHERE id = $1",
        );
        let mut changes = Vec::new();
        for row in rows {
            let id: &str = row.get(0);
            let task = match parse(row.get(1), id) {
                Ok(task) => task,
                Err(e) => {
                    eprintln!(
                        "warning: {} (skipped; `defer check` lists it)",
                        crate::output::escape(&chain(&e))
                    );
                    continue;
                }
            };
            if task.series.as_ref().is_none_or(|s| s.id != series) {
                continue;
            }
            if let Some(change) = decide(task) {
                if change.task.status == Status::Executing {
                    // Only the mark changes; the claim and its lease stay with the runner.
                    tx.execute(
                        &self.sql("UPDATE {s}.tasks SET record = $2 WHERE id = $1"),
                        &[&change.task.id, &change.task.to_line()],
                    )
                    .map_err(db("ending a series"))?;
                } else {
                    Self::update(&mut tx, &update, &change.task)?;
                }
                changes.push(change);
            }
        }
        self.notify(&mut tx)?;
        tx.commit().map_err(db("committing the end of a series"))?;
        Ok(changes)
    }

    fn try_runner_lock(&self) -> Result<Option<Box<dyn RunnerLock>>> {
        Ok(Some(Box::new(SharedQueue)))
    }

    fn recover(
        &self,
        now: Timestamp,
        recover: &mut dyn FnMut(Task, Option<bool>) -> Change,
    ) -> Result<Vec<Change>> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db("starting a rescue"))?;
        let rows = tx
            .query(
                &self.sql(
                    "SELECT id, record, started FROM {s}.tasks AS t
                     WHERE status = 'executing'
                       AND (lease_until IS NULL OR lease_until < $1::text::timestamptz
                            OR (runner_key IS NOT NULL AND NOT EXISTS (
                                SELECT 1 FROM pg_locks l
                                WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
                                  AND l.database = (SELECT oid FROM pg_database
                                                    WHERE datname = current_database())
                                  AND ((l.classid::bigint << 32) | l.objid::bigint)
                                      = t.runner_key)))
                       AND NOT (id = ANY($3))
                     ORDER BY lease_until NULLS FIRST
                     LIMIT $2 FOR UPDATE SKIP LOCKED",
                ),
                &[
                    &Stamp(now).to_string(),
                    &(self.batch as i64),
                    &self.poisoned(),
                ],
            )
            .map_err(db("finding expired leases"))?;
        let mut recovered = Vec::with_capacity(rows.len());
        let sql = self.sql(
            "UPDATE {s}.tasks SET status = $2, run_at = $3::text::timestamptz, record = $4,
                 listed_at = $5::text::timestamptz, unique_key = $6, unique_shared = $7,
                 parent_id = $8, missed = $9,
                 runner = NULL, lease_token = NULL, lease_until = NULL, runner_key = NULL
             WHERE id = $1",
        );
        for row in rows {
            let id: &str = row.get(0);
            let task = match parse(row.get(1), id) {
                Ok(task) => task,
                Err(e) => {
                    self.poison(id, &e);
                    continue;
                }
            };
            let started: bool = row.get(2);
            let change = recover(task, Some(started));
            Self::update(&mut tx, &sql, &change.task)?;
            if let Some(next) = &change.next {
                self.insert_row(&mut tx, next, Added::Next)?;
            }
            recovered.push(change);
        }
        tx.commit().map_err(db("committing a rescue"))?;
        Ok(recovered)
    }

    fn claim_due(
        &self,
        now: Timestamp,
        limit: usize,
        exclude: &HashSet<String>,
        claim: &mut dyn FnMut(Task) -> Task,
    ) -> Result<Vec<Task>> {
        let mut skip: Vec<String> = exclude.iter().cloned().collect();
        skip.extend(self.poisoned());
        let lease_until = Stamp(now.saturating_add(self.lease).unwrap_or(now)).to_string();
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db("starting a claim"))?;
        lifecycle::pause::may_claim(self.pause_for_claim(&mut tx)?.as_ref(), now)?;
        let select = self.sql(
            "SELECT id, record FROM {s}.tasks
             WHERE status = 'scheduled' AND run_at <= $1::text::timestamptz
               AND NOT (id = ANY($2))
             ORDER BY run_at, seq
             LIMIT $3 FOR UPDATE SKIP LOCKED",
        );
        // Rows that are not valid records are skipped (and reported once), never allowed to
        // stop the queue: the next query looks past them.
        let mut rows = Vec::new();
        loop {
            let want = i64::try_from(limit.saturating_sub(rows.len())).unwrap_or(i64::MAX);
            let found = tx
                .query(&select, &[&Stamp(now).to_string(), &skip, &want])
                .map_err(db("finding due tasks"))?;
            if found.is_empty() {
                break;
            }
            let mut poisoned = false;
            for row in found {
                let id: String = row.get(0);
                // The next query must look past the rows taken here too: this transaction
                // holds their locks, so SKIP LOCKED would hand them back a second time.
                skip.push(id.clone());
                match parse(row.get(1), &id) {
                    Ok(task) => rows.push(task),
                    Err(e) => {
                        self.poison(&id, &e);
                        poisoned = true;
                    }
                }
            }
            if !poisoned || rows.len() >= limit {
                break;
            }
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.liveness_key(&mut tx)?;
        let mut claimed = Vec::with_capacity(rows.len());
        let mut tokens = Vec::with_capacity(rows.len());
        let mut records = Vec::with_capacity(rows.len());
        for task in rows {
            let task = claim(task);
            tokens.push((task.id.clone(), random_token()?));
            records.push(task.to_line());
            claimed.push(task);
        }
        let (ids, values): (Vec<&str>, Vec<i64>) =
            tokens.iter().map(|(id, t)| (id.as_str(), *t)).unzip();
        // One statement for the whole batch.
        tx.execute(
            &self.sql(
                "UPDATE {s}.tasks AS t SET status = 'executing', run_at = NULL, record = c.record,
                     runner = $4, lease_token = c.token, lease_until = $5::text::timestamptz,
                     runner_key = $6, started = false
                 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(id, record, token)
                 WHERE t.id = c.id",
            ),
            &[&ids, &records, &values, &self.runner, &lease_until, &key],
        )
        .map_err(db("claiming tasks"))?;
        tx.commit().map_err(db("committing a claim"))?;
        crate::failpoint::hit("claimed");
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(tokens);
        Ok(claimed)
    }

    fn claim_id(&self, id: &str, now: Timestamp, decide: &mut Decide<'_>) -> Result<Change> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db("starting a claim"))?;
        lifecycle::pause::may_claim(self.pause_for_claim(&mut tx)?.as_ref(), now)?;
        let found = self.find_for_update(&mut tx, id)?;
        let change = decide(found)?;
        let now = change
            .task
            .started_at
            .map_or_else(Timestamp::now, |s| s.timestamp());
        let lease_until = Stamp(now.saturating_add(self.lease).unwrap_or(now)).to_string();
        let token = random_token()?;
        let key = self.liveness_key(&mut tx)?;
        tx.execute(
            &self.sql(
                "UPDATE {s}.tasks SET status = $2, run_at = NULL, record = $3,
                     runner = $4, lease_token = $5, lease_until = $6::text::timestamptz,
                     runner_key = $7, started = false, listed_at = $8::text::timestamptz
                 WHERE id = $1",
            ),
            &[
                &change.task.id,
                &change.task.status.as_str(),
                &change.task.to_line(),
                &self.runner,
                &token,
                &lease_until,
                &key,
                &Columns::of(&change.task).listed_at,
            ],
        )
        .map_err(db("claiming a task"))?;
        tx.commit().map_err(db("committing a claim"))?;
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(change.task.id.clone(), token);
        Ok(change)
    }

    fn claim_limit(&self) -> usize {
        self.batch
    }

    fn records_starts(&self) -> bool {
        true
    }

    /// One statement for every start waiting to be recorded: only rows this process still
    /// holds (its lease token), so a start never marks a task another runner took over.
    fn mark_started(&self, ids: &[String]) -> Result<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let (ids, tokens): (Vec<&str>, Vec<i64>) = {
            let claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
            ids.iter()
                .filter_map(|id| claims.get(id).map(|t| (id.as_str(), *t)))
                .unzip()
        };
        let mut client = self.client()?;
        let statement = self.prepared(
            &mut *client,
            "UPDATE {s}.tasks AS t SET started = true
             FROM unnest($1::text[], $2::bigint[]) AS s(id, token),
                  (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
             WHERE t.id = s.id AND t.lease_token = s.token
             RETURNING t.id",
        )?;
        let rows = client
            .query(&statement, &[&ids, &tokens])
            .map_err(db("recording executor starts"))?;
        Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
    }

    /// A batch in four statements, whatever its size: one `SELECT … FOR UPDATE` of the rows
    /// that still carry this process's lease tokens (the fencing check, per row), one
    /// `UPDATE … FROM unnest(…)` of their new records, one `INSERT … SELECT FROM unnest(…)` of
    /// the series' next occurrences, and the `NOTIFY`.
    fn save_outcomes(&self, outcomes: &mut [Change]) -> Result<Vec<String>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        // Looked up, not taken: a batch that fails to commit is tried again with the same
        // tokens.
        let tokens: Vec<Option<i64>> = {
            let claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
            outcomes
                .iter()
                .map(|c| claims.get(&c.task.id).copied())
                .collect()
        };
        let (ids, held): (Vec<&str>, Vec<i64>) = outcomes
            .iter()
            .zip(&tokens)
            .filter_map(|(c, t)| t.map(|t| (c.task.id.as_str(), t)))
            .unzip();
        let mut client = self.client()?;
        let mut tx = client
            .transaction()
            .map_err(db("starting to save outcomes"))?;
        // Fencing: only rows that still carry the token this process claimed them with.
        let stored: HashMap<String, String> = tx
            .query(
                &self.sql(
                    "SELECT t.id, t.record FROM {s}.tasks t
                     JOIN unnest($1::text[], $2::bigint[]) AS held(id, token)
                       ON t.id = held.id AND t.lease_token = held.token
                     WHERE t.status = 'executing'
                     FOR UPDATE OF t",
                ),
                &[&ids, &held],
            )
            .map_err(db("saving outcomes"))?
            .into_iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let mut rejected = Vec::new();
        let mut rows = Rows::default();
        let mut next = Rows::default();
        for change in outcomes.iter_mut() {
            let Some(record) = stored.get(&change.task.id) else {
                rejected.push(change.task.id.clone());
                continue;
            };
            lifecycle::keep_series_end(record.as_bytes(), change);
            rows.push(&change.task);
            if let Some(n) = &change.next {
                next.push(n);
            }
        }
        tx.execute(
            &self.sql(
                "UPDATE {s}.tasks AS t SET status = o.status, run_at = o.run_at::timestamptz,
                     record = o.record, listed_at = o.listed_at::timestamptz,
                     unique_key = o.unique_key, unique_shared = o.unique_shared,
                     parent_id = o.parent_id, missed = o.missed,
                     runner = NULL, lease_token = NULL, lease_until = NULL, runner_key = NULL
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::bool[], $8::text[], $9::bool[])
                     AS o(id, status, run_at, record, listed_at, unique_key, unique_shared,
                          parent_id, missed)
                 WHERE t.id = o.id",
            ),
            &[
                &rows.ids,
                &rows.statuses,
                &rows.run_ats,
                &rows.records,
                &rows.listed_ats,
                &rows.unique_keys,
                &rows.unique_shared,
                &rows.parent_ids,
                &rows.missed,
            ],
        )
        .map_err(db("saving outcomes"))?;
        if !next.ids.is_empty() {
            tx.execute(
                &self.sql(
                    "INSERT INTO {s}.tasks (id, status, run_at, record, listed_at, unique_key,
                         unique_shared, parent_id, missed)
                     SELECT id, status, run_at::timestamptz, record, listed_at::timestamptz,
                         unique_key, unique_shared, parent_id, missed
                     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::text[], $7::bool[], $8::text[], $9::bool[])
                         AS n(id, status, run_at, record, listed_at, unique_key, unique_shared,
                              parent_id, missed)
                     ON CONFLICT DO NOTHING",
                ),
                &[
                    &next.ids,
                    &next.statuses,
                    &next.run_ats,
                    &next.records,
                    &next.listed_ats,
                    &next.unique_keys,
                    &next.unique_shared,
                    &next.parent_ids,
                    &next.missed,
                ],
            )
            .map_err(db("adding the next occurrences"))?;
        }
        self.notify(&mut tx)?;
        tx.commit().map_err(db("committing outcomes"))?;
        let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        for change in outcomes.iter() {
            claims.remove(&change.task.id);
        }
        Ok(rejected)
    }

    /// `LISTEN` on a second connection: every insert, cancel and outcome `NOTIFY`s the
    /// schema's channel, so a watcher on any host wakes at once.
    /// Sleeps until a `NOTIFY` on the store's channel (heard by a listening thread), a stop
    /// signal, or `timeout`.
    fn wait_for_change(&self, timeout: Duration) -> Result<bool> {
        let mut listener = self.listener.lock().unwrap_or_else(|p| p.into_inner());
        if listener.is_none() {
            let (url, passfile) = (self.url.clone(), self.passfile.clone());
            *listener = Some(listen::Listener::start(self.channel(), move || {
                connect(&url, &passfile)
            })?);
        }
        match listener.as_ref() {
            Some(l) => l.wait(timeout),
            None => Ok(false),
        }
    }

    fn pause_state(&self) -> Result<Option<lifecycle::Pause>> {
        let mut client = self.client()?;
        let statement = self.prepared(
            &mut *client,
            "SELECT value FROM {s}.settings WHERE key = 'pause'",
        )?;
        let row = client
            .query_opt(&statement, &[])
            .map_err(db("reading the pause"))?;
        row.map(|r| {
            let text: &str = r.get(0);
            serde_json::from_str(text).map_err(|source| Error::Json {
                what: "the stored pause".into(),
                source,
            })
        })
        .transpose()
    }

    fn set_pause(&self, pause: Option<&lifecycle::Pause>) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db("starting a pause"))?;
        // Waits for claims in flight; a claim that starts after this commits sees the pause.
        let (class, key) = self.pause_lock();
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&class, &key])
            .map_err(db("taking the pause lock"))?;
        match pause {
            Some(pause) => {
                let text = serde_json::to_string(pause).map_err(|source| Error::Json {
                    what: "a pause".into(),
                    source,
                })?;
                tx.execute(
                    &self.sql(
                        "INSERT INTO {s}.settings (key, value) VALUES ('pause', $1)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    ),
                    &[&text],
                )
                .map_err(db("storing the pause"))?;
            }
            None => {
                tx.execute(
                    &self.sql("DELETE FROM {s}.settings WHERE key = 'pause'"),
                    &[],
                )
                .map_err(db("ending the pause"))?;
            }
        }
        self.notify(&mut tx)?;
        tx.commit().map_err(db("committing the pause"))
    }

    /// While another runner's claims are out (a runner that dies leaves them), a pass every
    /// 30 s rescues them soon after; with none out, nothing needs rescuing and the watcher
    /// sleeps until its next due time or a change.
    fn quick_look(&self) -> Result<Option<QuickLook>> {
        let mut client = self.client()?;
        let statement = self.prepared(
            &mut *client,
            "SELECT extract(epoch FROM (SELECT min(run_at) FROM {s}.tasks
                     WHERE status = 'scheduled' AND NOT (id = ANY($1))))::bigint,
                 EXISTS (SELECT 1 FROM {s}.tasks
                     WHERE status IN ('executing', 'completed', 'failed', 'cancelled')),
                 (SELECT value FROM {s}.settings WHERE key = 'pause')",
        )?;
        let row = client
            .query_one(&statement, &[&self.poisoned()])
            .map_err(db("looking for work"))?;
        let secs: Option<i64> = row.get(0);
        let pause: Option<&str> = row.get(2);
        let pause = pause
            .map(|text| {
                serde_json::from_str(text).map_err(|source| Error::Json {
                    what: "the stored pause".into(),
                    source,
                })
            })
            .transpose()?;
        Ok(Some(QuickLook {
            next_due: secs.and_then(|s| Timestamp::from_second(s).ok()),
            unsettled: row.get(1),
            pause,
        }))
    }

    fn rescue_interval(&self) -> Option<Duration> {
        let key = *self.liveness.lock().unwrap_or_else(|p| p.into_inner());
        let mut client = self.client().ok()?;
        // Prepared once: asked after every pass, and a statement prepared anew is closed by
        // a round trip of its own on the next use of the connection.
        let others = self
            .prepared(
                &mut *client,
                "SELECT EXISTS (SELECT 1 FROM {s}.tasks WHERE status = 'executing'
                                AND runner_key IS DISTINCT FROM $1)",
            )
            .and_then(|statement| {
                client
                    .query_one(&statement, &[&key])
                    .map_err(db("looking for other runners' claims"))
            })
            .map(|r| r.get::<_, bool>(0))
            // Not known: look as if there were.
            .unwrap_or(true);
        others.then_some(RESCUE_EVERY)
    }

    fn lease_renewal(&self) -> Option<Duration> {
        Some(self.lease / 3)
    }

    fn renew_leases(&self, now: Timestamp) -> Result<()> {
        let held: Vec<(String, i64)> = self
            .claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, token)| (id.clone(), *token))
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        let (ids, tokens): (Vec<String>, Vec<i64>) = held.into_iter().unzip();
        let until = Stamp(now.saturating_add(self.lease).unwrap_or(now)).to_string();
        self.client()?
            .execute(
                &self.sql(
                    "UPDATE {s}.tasks AS t SET lease_until = $3::text::timestamptz
                     FROM unnest($1::text[], $2::bigint[]) AS held(id, token)
                     WHERE t.id = held.id AND t.lease_token = held.token
                       AND t.status = 'executing'",
                ),
                &[&ids, &tokens, &until],
            )
            .map_err(db("renewing leases"))?;
        Ok(())
    }

    fn archive(&self) -> Result<Vec<Archived>> {
        let mut client = self.client()?;
        let mut tx = client
            .transaction()
            .map_err(db("starting the archive sweep"))?;
        let rows = tx
            .query(
                &self.sql(
                    "SELECT id, record FROM {s}.tasks
                     WHERE status IN ('completed', 'failed', 'cancelled')
                     ORDER BY seq FOR UPDATE SKIP LOCKED",
                ),
                &[],
            )
            .map_err(db("finding finished tasks"))?;
        let mut archived = Vec::with_capacity(rows.len());
        let (mut ids, mut months, mut statuses, mut records, mut listed) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut keys, mut parents, mut missed) = (Vec::new(), Vec::new(), Vec::new());
        // A retried task's older archived copy (written by a version that kept it) goes
        // before the new one is added, so the archive holds each id once.
        let mut retried: Vec<&str> = Vec::new();
        for row in &rows {
            let id: &str = row.get(0);
            let record: &str = row.get(1);
            let task = match parse(record, id) {
                Ok(task) => task,
                Err(e) => {
                    self.poison(id, &e);
                    continue;
                }
            };
            let month = lifecycle::archive_month(&task);
            if task.retried > 0 {
                retried.push(id);
            }
            archived.push(Archived {
                id: id.to_string(),
                file: format!("{}.archive month {month}", self.schema).into(),
            });
            ids.push(id);
            months.push(month);
            statuses.push(task.status.as_str());
            records.push(record);
            let c = Columns::of(&task);
            listed.push(c.listed_at);
            keys.push(c.unique_key);
            parents.push(c.parent_id);
            missed.push(c.missed);
        }
        if !retried.is_empty() {
            tx.execute(
                &self.sql("DELETE FROM {s}.archive WHERE id = ANY($1)"),
                &[&retried],
            )
            .map_err(db("archiving tasks"))?;
        }
        if !ids.is_empty() {
            // Two statements for the whole sweep, in store order (`WITH ORDINALITY`).
            tx.execute(
                &self.sql(
                    "INSERT INTO {s}.archive (id, month, status, record, listed_at, unique_key,
                         parent_id, missed)
                     SELECT id, month, status, record, listed_at::timestamptz, unique_key,
                         parent_id, missed
                     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::text[], $7::text[], $8::bool[])
                         WITH ORDINALITY AS a(id, month, status, record, listed_at, unique_key,
                                              parent_id, missed, n)
                     ORDER BY n",
                ),
                &[
                    &ids, &months, &statuses, &records, &listed, &keys, &parents, &missed,
                ],
            )
            .map_err(db("archiving tasks"))?;
            tx.execute(
                &self.sql("DELETE FROM {s}.tasks WHERE id = ANY($1)"),
                &[&ids],
            )
            .map_err(db("archiving tasks"))?;
        }
        tx.commit().map_err(db("committing the archive sweep"))?;
        Ok(archived)
    }

    fn next_due(&self) -> Result<Option<Timestamp>> {
        let row = self
            .client()?
            .query_one(
                &self.sql(
                    "SELECT extract(epoch FROM min(run_at))::bigint FROM {s}.tasks
                     WHERE status = 'scheduled' AND NOT (id = ANY($1))",
                ),
                &[&self.poisoned()],
            )
            .map_err(db("reading the next due time"))?;
        let secs: Option<i64> = row.get(0);
        Ok(secs.and_then(|s| Timestamp::from_second(s).ok()))
    }

    fn check(&self) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
        for table in ["tasks", "archive"] {
            let rows = self
                .client()?
                .query(
                    &self.sql(&format!("SELECT seq, record, id FROM {{s}}.{table}")),
                    &[],
                )
                .map_err(db("checking records"))?;
            for row in rows {
                let record: &str = row.get(1);
                let id: &str = row.get(2);
                let reason = match Task::from_json(record.as_bytes()) {
                    Err(e) => format!("not a valid task record: {e}"),
                    Ok(task) if task.id != id => Error::Quarantined {
                        row: id.to_string(),
                        record: task.id,
                    }
                    .to_string(),
                    Ok(_) => continue,
                };
                problems.push(Problem {
                    file: format!("{}.{table}", self.schema).into(),
                    line: usize::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                    reason,
                });
            }
        }
        Ok(problems)
    }

    fn export(&self, part: Part, each: &mut ExportSink<'_>) -> Result<()> {
        self.export_part(part, each)
    }

    fn import(&self, source: &mut ImportSource<'_>) -> Result<Imported> {
        self.import_from(source)
    }
}

/// The record of row `id`. Rows are trusted by their `id` column: a record that names another
/// task (a hand edit) is refused, so nothing read from this row is ever written over that
/// task (the callers skip it as poison, or refuse the operation).
fn parse(record: &str, id: &str) -> Result<Task> {
    let task = Task::from_json(record.as_bytes()).map_err(|source| Error::Json {
        what: format!("stored record {id}"),
        source,
    })?;
    if task.id != id {
        return Err(Error::Quarantined {
            row: id.to_string(),
            record: task.id,
        });
    }
    Ok(task)
}

/// The columns kept beside a record, in step with it.
struct Columns {
    /// `run_at` for scheduled records, NULL otherwise (the due index covers only those).
    run_at: Option<String>,
    /// What listings order by ([`crate::store::order::listed_at`]).
    listed_at: Option<String>,
    /// The record's `unique_key`: what a keyed schedule looks up, and what the partial
    /// unique index `tasks_unique_key` allows one pending row of.
    unique_key: Option<String>,
    /// The row shares its key with its series ([`lifecycle::unique::shares_series_key`]),
    /// so the unique index leaves it out.
    unique_shared: bool,
    /// The record's `parent_id`: a task's follow-ups are found by it.
    parent_id: Option<String>,
    /// Skipped by the runner as missed ([`lifecycle::is_missed`]): what the overview counts.
    missed: bool,
}

impl Columns {
    fn of(task: &Task) -> Columns {
        Columns {
            run_at: (task.status == Status::Scheduled).then(|| task.run_at.to_string()),
            listed_at: crate::store::order::listed_at_of(task).map(|s| s.to_string()),
            unique_key: task.unique_key.clone(),
            unique_shared: lifecycle::unique::shares_series_key(task),
            parent_id: task.parent_id.clone(),
            missed: lifecycle::is_missed(task),
        }
    }
}

/// Columns of several records, for one statement over `unnest` arrays.
#[derive(Debug, Default)]
struct Rows {
    ids: Vec<String>,
    statuses: Vec<&'static str>,
    run_ats: Vec<Option<String>>,
    records: Vec<String>,
    listed_ats: Vec<Option<String>>,
    unique_keys: Vec<Option<String>>,
    unique_shared: Vec<bool>,
    parent_ids: Vec<Option<String>>,
    missed: Vec<bool>,
}

impl Rows {
    fn push(&mut self, task: &Task) {
        let c = Columns::of(task);
        self.ids.push(task.id.clone());
        self.statuses.push(task.status.as_str());
        self.run_ats.push(c.run_at);
        self.records.push(task.to_line());
        self.listed_ats.push(c.listed_at);
        self.unique_keys.push(c.unique_key);
        self.unique_shared.push(c.unique_shared);
        self.parent_ids.push(c.parent_id);
        self.missed.push(c.missed);
    }
}

/// Wraps a database error with what we were doing, keeping the driver's error as the source.
fn db(action: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| Error::Database {
        action,
        source: driver_error(e),
    }
}

fn driver_error(e: postgres::Error) -> DatabaseError {
    let message = e
        .as_db_error()
        .map_or_else(|| chain(&e), |d| d.message().to_string());
    DatabaseError::new(message, Box::new(e))
}

/// How the URL asks for TLS, read the way libpq reads `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    /// `disable`: plain text.
    Off,
    /// No `sslmode` in the URL and every host on this machine (loopback or a socket): plain
    /// text first, as libpq's `allow`, and TLS only if the server refuses a plain connection.
    /// Encrypting what never leaves the machine protects nothing and halves the speed of
    /// `list` over 100,000 tasks.
    Allow,
    /// `prefer` (libpq's default) and `require`: encrypted, certificate not checked, as libpq
    /// does without a root certificate; `prefer` falls back to plain text when the server
    /// has no TLS.
    Unverified,
    /// `verify-ca`: the chain must lead to a trusted root; the host name is not checked.
    VerifyCa,
    /// `verify-full`: chain and host name checked.
    VerifyFull,
}

/// Connects as the URL says. The URL is parsed by the driver's own `Config`, so every
/// parameter it knows (`connect_timeout`, `application_name`, `options`, several hosts) works
/// as in libpq; the two `sslmode` values it does not know (`verify-ca`, `verify-full`) are
/// read here and passed on as `require` with certificate checks turned on.
///
/// A URL without a password logs in with the one libpq's password file (`passfile`) gives,
/// if any, so the password need not be in the URL.
fn connect(url: &str, passfile: &std::path::Path) -> Result<Client> {
    let (url, tls) = read_sslmode(url);
    let mut config: postgres::Config = url.parse().map_err(|e| Error::Database {
        action: "reading DEFER_DATABASE_URL",
        source: driver_error(e),
    })?;
    if config.get_password().is_none()
        && let Some(password) = login::passfile_password(passfile, &config)
    {
        config.password(password);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let options = config.get_options().unwrap_or_default().to_string();
    if !options.contains("statement_timeout") {
        let ms = STATEMENT_TIMEOUT.as_millis();
        config.options(format!("{options} -c statement_timeout={ms}").trim());
    }
    let target = describe_target(&config);
    let tls = match (tls, config.get_ssl_mode()) {
        (Some(tls), _) => tls,
        (None, postgres::config::SslMode::Disable) => Tls::Off,
        (None, _) if !url.contains("sslmode=") && on_this_machine(&config) => Tls::Allow,
        (None, _) => Tls::Unverified,
    };
    let has_password = config.get_password().is_some();
    let connecting = |e: postgres::Error| {
        // The driver's only word for a server that asks for a password it was not given.
        if !has_password && e.as_db_error().is_none() && e.to_string().contains("password missing")
        {
            return Error::DatabasePassword {
                target: target.clone(),
                passfile: passfile.to_path_buf(),
            };
        }
        if e.as_db_error().is_some() {
            // The server answered (a wrong password, an unknown database): its own words.
            Error::Database {
                action: "connecting to DEFER_DATABASE_URL",
                source: driver_error(e),
            }
        } else {
            Error::DatabaseUnreachable {
                target: target.clone(),
                source: driver_error(e),
            }
        }
    };
    match tls {
        Tls::Off => return config.connect(NoTls).map_err(connecting),
        Tls::Allow => match config.connect(NoTls) {
            Ok(client) => return Ok(client),
            // `pg_hba.conf` admits only encrypted connections (`hostssl`): try again with TLS.
            Err(e)
                if e.code()
                    == Some(&postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION) => {}
            Err(e) => return Err(connecting(e)),
        },
        _ => {}
    }
    let connector = tls::connector(tls).map_err(|e| Error::Database {
        action: "setting up TLS",
        source: DatabaseError::new(e.to_string(), Box::new(e)),
    })?;
    config.connect(connector).map_err(connecting)
}

/// How long a connection attempt may take unless the URL says (`connect_timeout=`): a server
/// that does not answer must not hang a cron wake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest one statement may run unless the URL's `options` set `statement_timeout`:
/// every statement `defer` sends is short (batches of at most `DEFER_CLAIM_BATCH` rows), so
/// one that runs this long is stuck behind a lock or a sick server.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether every host the URL names is this machine: a loopback address, `localhost`, or a
/// socket directory.
fn on_this_machine(config: &postgres::Config) -> bool {
    config.get_hostaddrs().iter().all(|a| a.is_loopback())
        && config.get_hosts().iter().all(|host| match host {
            postgres::config::Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|a| a.is_loopback())
            }
            postgres::config::Host::Unix(_) => true,
        })
}

/// `host:port` (or the socket directory) for messages, without the password.
fn describe_target(config: &postgres::Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => format!("{host}:{port}"),
        Some(postgres::config::Host::Unix(dir)) => format!("{} (socket)", dir.display()),
        None => format!("localhost:{port}"),
    }
}

/// Takes `sslmode=verify-ca|verify-full` out of the URL (the driver refuses them), leaving
/// `sslmode=require` in its place.
fn read_sslmode(url: &str) -> (String, Option<Tls>) {
    for (mode, tls) in [
        ("sslmode=verify-full", Tls::VerifyFull),
        ("sslmode=verify-ca", Tls::VerifyCa),
    ] {
        if url.contains(mode) {
            return (url.replace(mode, "sslmode=require"), Some(tls));
        }
    }
    (url.to_string(), None)
}

/// A lease token no other claim will have: 63 random bits from the OS.
fn random_token() -> Result<i64> {
    let bits = getrandom::u64().map_err(|e| Error::Io {
        path: "/dev/urandom".into(),
        action: "reading random bits from",
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok((bits >> 1) as i64)
}

/// This host's name, for the `runner` column.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}
