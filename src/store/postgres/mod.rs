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
//! widely used driver; `postgres-native-tls` adds TLS when the URL asks for it.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Transaction};
use serde_json::Value;

mod migrations;

pub use migrations::MigrationStatus;

use super::{Archived, Decide, ExportSink, Problem, Query, RunnerLock, Store};
use crate::config::Config;
use crate::error::{DatabaseError, Error, Result, chain};
use crate::lifecycle::{self, Change, Found};
use crate::record::{Stamp, Status, Task};

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
    /// That connection, opened on the first `wait_for_change`.
    listener: Mutex<Option<Client>>,
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
        let client = connect(url)?;
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
        };
        store.migrate()?;
        Ok(store)
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
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

    /// `{s}` in `sql` becomes the schema (a validated identifier, see `Config`).
    fn sql(&self, sql: &str) -> String {
        sql.replace("{s}", &format!("\"{}\"", self.schema))
    }

    /// Adds a series' next occurrence; an id that already exists (written by an earlier,
    /// interrupted attempt) is left as it is.
    fn insert_follow_up(&self, tx: &mut Transaction<'_>, next: &Task) -> Result<()> {
        tx.execute(
            &self.sql(
                "INSERT INTO {s}.tasks (id, status, run_at, record)
                 VALUES ($1, $2, $3::text::timestamptz, $4) ON CONFLICT (id) DO NOTHING",
            ),
            &[
                &next.id,
                &next.status.as_str(),
                &next.run_at.to_string(),
                &next.to_line(),
            ],
        )
        .map_err(db("adding the next occurrence"))?;
        Ok(())
    }

    /// Writes `task` to its row, keeping the indexed columns in step with the record.
    fn update(tx: &mut Transaction<'_>, sql: &str, task: &Task) -> Result<u64> {
        let run_at = (task.status == Status::Scheduled).then(|| task.run_at.to_string());
        tx.execute(
            sql,
            &[&task.id, &task.status.as_str(), &run_at, &task.to_line()],
        )
        .map_err(db("updating a task"))
    }

    fn each_row(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut client = self.client();
        let rows = client.query(sql, params).map_err(db("listing tasks"))?;
        for row in rows {
            let record: &str = row.get(0);
            each(record.as_bytes())?;
        }
        Ok(())
    }
}

impl Store for PgStore {
    fn insert(&self, task: &Task, _check_id: bool) -> Result<()> {
        let mut client = self.client();
        // The primary key refuses a duplicate id whether it was given or generated.
        let inserted = client
            .execute(
                &self.sql(
                    "INSERT INTO {s}.tasks (id, status, run_at, record)
                     VALUES ($1, $2, $3::text::timestamptz, $4) ON CONFLICT (id) DO NOTHING",
                ),
                &[
                    &task.id,
                    &task.status.as_str(),
                    &task.run_at.to_string(),
                    &task.to_line(),
                ],
            )
            .map_err(db("adding a task"))?;
        if inserted == 0 {
            return Err(Error::DuplicateId(task.id.clone()));
        }
        self.notify(&mut *client)
    }

    fn list(
        &self,
        query: &Query,
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<Vec<Problem>> {
        let statuses: Vec<String> = query.statuses.iter().map(|s| s.to_string()).collect();
        let all = statuses.is_empty();
        if query.include_archive {
            self.each_row(
                &self.sql(
                    "SELECT record FROM {s}.archive WHERE $1 OR status = ANY($2)
                     ORDER BY month, seq",
                ),
                &[&all, &statuses],
                each,
            )?;
        }
        self.each_row(
            &self.sql("SELECT record FROM {s}.tasks WHERE $1 OR status = ANY($2) ORDER BY seq"),
            &[&all, &statuses],
            each,
        )?;
        Ok(Vec::new())
    }

    fn show(&self, id: &str) -> Result<Option<Value>> {
        let mut client = self.client();
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
            serde_json::from_str(text).map_err(|source| Error::Json {
                what: format!("stored record {id}"),
                source,
            })
        })
        .transpose()
    }

    fn modify(&self, id: &str, decide: &mut Decide<'_>) -> Result<Change> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(db("starting a change"))?;
        let row = tx
            .query_opt(
                &self.sql("SELECT record FROM {s}.tasks WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .map_err(db("reading a task"))?;
        let active = row.is_some();
        let found = match row {
            Some(row) => Found::Active(parse(row.get(0), id)?),
            None => {
                let archived = tx
                    .query_opt(
                        &self.sql(
                            "SELECT record FROM {s}.archive WHERE id = $1
                             ORDER BY month DESC, seq DESC LIMIT 1",
                        ),
                        &[&id],
                    )
                    .map_err(db("reading a task"))?;
                match archived {
                    Some(row) => Found::Archived(parse(row.get(0), id)?),
                    None => Found::Missing(id.to_string()),
                }
            }
        };
        let change = decide(found)?;
        if active {
            Self::update(
                &mut tx,
                &self.sql(
                    "UPDATE {s}.tasks SET status = $2, run_at = $3::text::timestamptz,
                         record = $4,
                         runner = CASE WHEN $2 = 'executing' THEN runner END,
                         lease_token = CASE WHEN $2 = 'executing' THEN lease_token END,
                         lease_until = CASE WHEN $2 = 'executing' THEN lease_until END
                     WHERE id = $1",
                ),
                &change.task,
            )?;
        } else {
            self.insert_follow_up(&mut tx, &change.task)?;
        }
        if let Some(next) = &change.next {
            self.insert_follow_up(&mut tx, next)?;
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
        let mut client = self.client();
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
            "UPDATE {s}.tasks SET status = $2, run_at = $3::text::timestamptz, record = $4
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
        recover: &mut dyn FnMut(Task) -> Change,
    ) -> Result<Vec<Change>> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(db("starting a rescue"))?;
        let rows = tx
            .query(
                &self.sql(
                    "SELECT id, record FROM {s}.tasks
                     WHERE status = 'executing'
                       AND (lease_until IS NULL OR lease_until < $1::text::timestamptz)
                     ORDER BY lease_until NULLS FIRST
                     LIMIT $2 FOR UPDATE SKIP LOCKED",
                ),
                &[&Stamp(now).to_string(), &(self.batch as i64)],
            )
            .map_err(db("finding expired leases"))?;
        let mut recovered = Vec::with_capacity(rows.len());
        let sql = self.sql(
            "UPDATE {s}.tasks SET status = $2, run_at = $3::text::timestamptz, record = $4,
                 runner = NULL, lease_token = NULL, lease_until = NULL
             WHERE id = $1",
        );
        for row in rows {
            let id: &str = row.get(0);
            let change = recover(parse(row.get(1), id)?);
            Self::update(&mut tx, &sql, &change.task)?;
            if let Some(next) = &change.next {
                self.insert_follow_up(&mut tx, next)?;
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
        let exclude: Vec<&str> = exclude.iter().map(String::as_str).collect();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let lease_until = Stamp(now.saturating_add(self.lease).unwrap_or(now)).to_string();
        let mut client = self.client();
        let mut tx = client.transaction().map_err(db("starting a claim"))?;
        let rows = tx
            .query(
                &self.sql(
                    "SELECT id, record FROM {s}.tasks
                     WHERE status = 'scheduled' AND run_at <= $1::text::timestamptz
                       AND NOT (id = ANY($2))
                     ORDER BY run_at, seq
                     LIMIT $3 FOR UPDATE SKIP LOCKED",
                ),
                &[&Stamp(now).to_string(), &exclude, &limit],
            )
            .map_err(db("finding due tasks"))?;
        let sql = self.sql(
            "UPDATE {s}.tasks SET status = $2, run_at = $3::text::timestamptz, record = $4,
                 runner = $5, lease_token = $6, lease_until = $7::text::timestamptz
             WHERE id = $1",
        );
        let mut claimed = Vec::with_capacity(rows.len());
        let mut tokens = Vec::with_capacity(rows.len());
        for row in rows {
            let id: &str = row.get(0);
            let task = claim(parse(row.get(1), id)?);
            let token = random_token()?;
            tx.execute(
                &sql,
                &[
                    &task.id,
                    &task.status.as_str(),
                    &None::<String>,
                    &task.to_line(),
                    &self.runner,
                    &token,
                    &lease_until,
                ],
            )
            .map_err(db("claiming a task"))?;
            tokens.push((task.id.clone(), token));
            claimed.push(task);
        }
        tx.commit().map_err(db("committing a claim"))?;
        crate::failpoint::hit("claimed");
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(tokens);
        Ok(claimed)
    }

    fn claim_limit(&self) -> usize {
        self.batch
    }

    fn save_outcomes(&self, outcomes: &[Change]) -> Result<Vec<String>> {
        let tokens: Vec<Option<i64>> = {
            let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
            outcomes.iter().map(|c| claims.remove(&c.task.id)).collect()
        };
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(db("starting to save outcomes"))?;
        let select = self.sql(
            "SELECT record FROM {s}.tasks
             WHERE id = $1 AND status = 'executing' AND lease_token = $2 FOR UPDATE",
        );
        let update = self.sql(
            "UPDATE {s}.tasks SET status = $2, run_at = $3::text::timestamptz, record = $4,
                 runner = NULL, lease_token = NULL, lease_until = NULL
             WHERE id = $1",
        );
        let mut rejected = Vec::new();
        for (change, token) in outcomes.iter().zip(&tokens) {
            // Fencing: the row must still carry the token this process claimed it with.
            let stored = match token {
                Some(token) => tx
                    .query_opt(&select, &[&change.task.id, token])
                    .map_err(db("saving an outcome"))?,
                None => None,
            };
            let Some(stored) = stored else {
                rejected.push(change.task.id.clone());
                continue;
            };
            let stored: &str = stored.get(0);
            let mut change = change.clone();
            lifecycle::keep_series_end(stored.as_bytes(), &mut change);
            Self::update(&mut tx, &update, &change.task)?;
            if let Some(next) = &change.next {
                self.insert_follow_up(&mut tx, next)?;
            }
        }
        self.notify(&mut tx)?;
        tx.commit().map_err(db("committing outcomes"))?;
        Ok(rejected)
    }

    /// `LISTEN` on a second connection: every insert, cancel and outcome `NOTIFY`s the
    /// schema's channel, so a watcher on any host wakes at once.
    fn wait_for_change(&self, timeout: Duration) -> Result<bool> {
        let mut listener = self.listener.lock().unwrap_or_else(|p| p.into_inner());
        if listener.is_none() {
            let mut client = connect(&self.url)?;
            client
                .batch_execute(&format!("LISTEN \"{}\"", self.channel()))
                .map_err(db("listening for changes"))?;
            *listener = Some(client);
        }
        let Some(client) = listener.as_mut() else {
            return Ok(false);
        };
        let mut notifications = client.notifications();
        let woke = notifications
            .timeout_iter(timeout)
            .next()
            .map_err(db("waiting for changes"))?
            .is_some();
        // Several changes at once need one pass, not several.
        while let Ok(Some(_)) = notifications.iter().next() {}
        Ok(woke)
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
        self.client()
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
        let mut client = self.client();
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
        let insert =
            self.sql("INSERT INTO {s}.archive (id, month, status, record) VALUES ($1, $2, $3, $4)");
        let delete = self.sql("DELETE FROM {s}.tasks WHERE id = $1");
        for row in rows {
            let id: &str = row.get(0);
            let record: &str = row.get(1);
            let task = parse(record, id)?;
            let month = lifecycle::archive_month(&task);
            tx.execute(&insert, &[&id, &month, &task.status.as_str(), &record])
                .map_err(db("archiving a task"))?;
            tx.execute(&delete, &[&id])
                .map_err(db("archiving a task"))?;
            archived.push(Archived {
                id: id.to_string(),
                file: format!("{}.archive month {month}", self.schema).into(),
            });
        }
        tx.commit().map_err(db("committing the archive sweep"))?;
        Ok(archived)
    }

    fn next_due(&self) -> Result<Option<Timestamp>> {
        let row = self
            .client()
            .query_one(
                &self.sql(
                    "SELECT extract(epoch FROM min(run_at))::bigint FROM {s}.tasks
                     WHERE status = 'scheduled'",
                ),
                &[],
            )
            .map_err(db("reading the next due time"))?;
        let secs: Option<i64> = row.get(0);
        Ok(secs.and_then(|s| Timestamp::from_second(s).ok()))
    }

    fn check(&self) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
        for table in ["tasks", "archive"] {
            let rows = self
                .client()
                .query(
                    &self.sql(&format!("SELECT seq, record FROM {{s}}.{table}")),
                    &[],
                )
                .map_err(db("checking records"))?;
            for row in rows {
                let record: &str = row.get(1);
                if let Err(e) = Task::from_json(record.as_bytes()) {
                    problems.push(Problem {
                        file: format!("{}.{table}", self.schema).into(),
                        line: usize::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                        reason: format!("not a valid task record: {e}"),
                    });
                }
            }
        }
        Ok(problems)
    }

    fn export(&self, each: &mut ExportSink<'_>) -> Result<()> {
        let mut client = self.client();
        let rows = client
            .query(&self.sql("SELECT record FROM {s}.tasks ORDER BY seq"), &[])
            .map_err(db("exporting tasks"))?;
        for row in rows {
            let record: &str = row.get(0);
            each(None, record.as_bytes())?;
        }
        let rows = client
            .query(
                &self.sql("SELECT month, record FROM {s}.archive ORDER BY month, seq"),
                &[],
            )
            .map_err(db("exporting the archive"))?;
        for row in rows {
            let month: &str = row.get(0);
            let record: &str = row.get(1);
            each(Some(month), record.as_bytes())?;
        }
        Ok(())
    }

    fn import(&self, active: &[Vec<u8>], archived: &[(String, Vec<u8>)]) -> Result<()> {
        super::validate_import(active, archived)?;
        let mut client = self.client();
        let mut tx = client.transaction().map_err(db("starting an import"))?;
        let insert = self.sql(
            "INSERT INTO {s}.tasks (id, status, run_at, record)
             VALUES ($1, $2, $3::text::timestamptz, $4) ON CONFLICT (id) DO NOTHING",
        );
        for line in active {
            let text = String::from_utf8_lossy(line);
            let task = parse(&text, "imported")?;
            let run_at = (task.status == Status::Scheduled).then(|| task.run_at.to_string());
            let n = tx
                .execute(
                    &insert,
                    &[&task.id, &task.status.as_str(), &run_at, &text.as_ref()],
                )
                .map_err(db("importing a task"))?;
            if n == 0 {
                // Dropping the transaction rolls back everything imported so far.
                return Err(Error::DuplicateId(task.id));
            }
        }
        let insert =
            self.sql("INSERT INTO {s}.archive (id, month, status, record) VALUES ($1, $2, $3, $4)");
        for (month, line) in archived {
            let text = String::from_utf8_lossy(line);
            let task = parse(&text, "imported")?;
            tx.execute(
                &insert,
                &[&task.id, month, &task.status.as_str(), &text.as_ref()],
            )
            .map_err(db("importing an archived task"))?;
        }
        self.notify(&mut tx)?;
        tx.commit().map_err(db("committing an import"))
    }
}

fn parse(record: &str, id: &str) -> Result<Task> {
    Task::from_json(record.as_bytes()).map_err(|source| Error::Json {
        what: format!("stored record {id}"),
        source,
    })
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
        .map_or_else(|| e.to_string(), |d| d.message().to_string());
    DatabaseError::new(message, Box::new(e))
}

/// How the URL asks for TLS, read the way libpq reads `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    /// `disable`: plain text.
    Off,
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
fn connect(url: &str) -> Result<Client> {
    let (url, tls) = read_sslmode(url);
    let config: postgres::Config = url.parse().map_err(|e| Error::Database {
        action: "reading DEFER_DATABASE_URL",
        source: driver_error(e),
    })?;
    let tls = match (tls, config.get_ssl_mode()) {
        (Some(tls), _) => tls,
        (None, postgres::config::SslMode::Disable) => Tls::Off,
        (None, _) => Tls::Unverified,
    };
    let connecting = |e| Error::Database {
        action: "connecting to DEFER_DATABASE_URL",
        source: driver_error(e),
    };
    if tls == Tls::Off {
        return config.connect(NoTls).map_err(connecting);
    }
    let connector = native_tls::TlsConnector::builder()
        .danger_accept_invalid_certs(tls == Tls::Unverified)
        .danger_accept_invalid_hostnames(tls != Tls::VerifyFull)
        .build()
        .map_err(|e| Error::Database {
            action: "setting up TLS",
            source: DatabaseError::new(e.to_string(), Box::new(e)),
        })?;
    config
        .connect(postgres_native_tls::MakeTlsConnector::new(connector))
        .map_err(connecting)
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
