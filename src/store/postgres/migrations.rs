//! The PostgreSQL schema and its versioned migrations, applied under an advisory lock so that
//! several hosts starting at once agree on one order.

use postgres::Client;

use super::{PgStore, db};
use crate::error::Result;

/// Schema versions, applied in order; each runs once, in the transaction that records it.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "tasks and archive tables",
        "CREATE TABLE {s}.tasks (
         seq         bigserial   NOT NULL UNIQUE,
         id          text        PRIMARY KEY,
         status      text        NOT NULL,
         run_at      timestamptz,
         record      text        NOT NULL,
         runner      text,
         lease_token bigint,
         lease_until timestamptz
     );
     CREATE INDEX tasks_due ON {s}.tasks (run_at) WHERE status = 'scheduled';
     CREATE INDEX tasks_leases ON {s}.tasks (lease_until) WHERE status = 'executing';
     CREATE TABLE {s}.archive (
         seq         bigserial   PRIMARY KEY,
         id          text        NOT NULL,
         month       text        NOT NULL,
         status      text        NOT NULL,
         archived_at timestamptz NOT NULL DEFAULT now(),
         record      text        NOT NULL
     );
     CREATE INDEX archive_id ON {s}.archive (id);
     CREATE INDEX archive_month ON {s}.archive (month, seq);",
    ),
    (
        2,
        "runner liveness keys",
        "ALTER TABLE {s}.tasks ADD COLUMN runner_key bigint;",
    ),
    (
        3,
        "settings shared by every runner (the pause)",
        "CREATE TABLE {s}.settings (key text PRIMARY KEY, value text NOT NULL);",
    ),
    (
        4,
        "each task once: archived copies of restored or re-archived tasks removed",
        // Earlier versions kept a retried task's archived copy beside its new record; the
        // record now carries the task's history, and every listing must see each id once.
        "DELETE FROM {s}.archive a WHERE EXISTS (SELECT 1 FROM {s}.tasks t WHERE t.id = a.id);
         DELETE FROM {s}.archive a WHERE EXISTS (
             SELECT 1 FROM {s}.archive b
             WHERE b.id = a.id AND (b.month, b.seq) > (a.month, a.seq));",
    ),
    (
        5,
        "executor starts, so a rescue gives back a claim that never started",
        // Tasks executing under an older version are presumed started, as they were then.
        "ALTER TABLE {s}.tasks ADD COLUMN started boolean NOT NULL DEFAULT true;
         ALTER TABLE {s}.tasks ALTER COLUMN started SET DEFAULT false;",
    ),
    (
        6,
        "the listing's order: what is to happen by run_at, then what happened, latest first",
        // `listed_at` is `store::order::listed_at` of the record, written with every row from
        // now on; rows written before are filled in here from their JSON (a record that is not
        // JSON, or a stamp that does not read, leaves it NULL: listed last, as on the file
        // store). Ids break ties by their bytes, as the file store compares them.
        "ALTER TABLE {s}.tasks ADD COLUMN listed_at timestamptz;
         ALTER TABLE {s}.archive ADD COLUMN listed_at timestamptz;
         CREATE FUNCTION pg_temp.defer_listed_at(status text, record text)
         RETURNS timestamptz LANGUAGE plpgsql AS $$
         DECLARE
             r jsonb;
             v text;
         BEGIN
             BEGIN
                 r := record::jsonb;
             EXCEPTION WHEN others THEN
                 RETURN NULL;
             END;
             v := CASE
                 WHEN status IN ('scheduled', 'executing') THEN r->>'run_at'
                 WHEN status = 'completed' THEN coalesce(r->>'completed_at', r->>'created_at')
                 WHEN status = 'failed' THEN coalesce(r->>'failed_at', r->>'created_at')
                 WHEN status = 'cancelled' THEN coalesce(r->>'cancelled_at', r->>'created_at')
             END;
             RETURN v::timestamptz;
         EXCEPTION WHEN others THEN
             RETURN NULL;
         END $$;
         UPDATE {s}.tasks SET listed_at = pg_temp.defer_listed_at(status, record);
         UPDATE {s}.archive SET listed_at = pg_temp.defer_listed_at(status, record);
         CREATE INDEX tasks_listing_upcoming ON {s}.tasks (listed_at, id COLLATE \"C\")
             WHERE status IN ('scheduled', 'executing');
         CREATE INDEX tasks_listing_done ON {s}.tasks (listed_at DESC NULLS LAST, id COLLATE \"C\")
             WHERE status NOT IN ('scheduled', 'executing');
         CREATE INDEX archive_listing ON {s}.archive (listed_at DESC NULLS LAST, id COLLATE \"C\");",
    ),
    (
        7,
        "unique keys (one pending task per key) and follow-up links",
        // `unique_key`, `unique_shared` and `parent_id` are the record's (see `Columns`),
        // written with every row from now on. Records written before this version carry
        // neither field, so nothing is filled in. The unique index is what makes "schedule
        // exactly once" hold whatever path writes a row; a re-run occurrence of a series
        // (`unique_shared`) shares its series' key and stays out of it.
        "ALTER TABLE {s}.tasks ADD COLUMN unique_key text,
             ADD COLUMN unique_shared boolean NOT NULL DEFAULT false,
             ADD COLUMN parent_id text;
         ALTER TABLE {s}.archive ADD COLUMN unique_key text, ADD COLUMN parent_id text;
         CREATE UNIQUE INDEX tasks_unique_key ON {s}.tasks (unique_key)
             WHERE unique_key IS NOT NULL AND status IN ('scheduled', 'executing')
               AND NOT unique_shared;
         CREATE INDEX tasks_by_unique_key ON {s}.tasks (unique_key, listed_at)
             WHERE unique_key IS NOT NULL;
         CREATE INDEX archive_by_unique_key ON {s}.archive (unique_key, listed_at)
             WHERE unique_key IS NOT NULL;
         CREATE INDEX tasks_by_parent ON {s}.tasks (parent_id) WHERE parent_id IS NOT NULL;
         CREATE INDEX archive_by_parent ON {s}.archive (parent_id) WHERE parent_id IS NOT NULL;",
    ),
    (
        8,
        "missed tasks marked, for the overview's counts",
        // `lifecycle::is_missed`: cancelled with a `missed` object. Filled in for rows written
        // before from their JSON (a row that is not JSON stays unmarked).
        "ALTER TABLE {s}.tasks ADD COLUMN missed boolean NOT NULL DEFAULT false;
         ALTER TABLE {s}.archive ADD COLUMN missed boolean NOT NULL DEFAULT false;
         CREATE FUNCTION pg_temp.defer_missed(record text) RETURNS boolean
         LANGUAGE plpgsql AS $$
         BEGIN
             RETURN jsonb_typeof(record::jsonb -> 'missed') = 'object';
         EXCEPTION WHEN others THEN
             RETURN false;
         END $$;
         UPDATE {s}.tasks SET missed = true
             WHERE status = 'cancelled' AND pg_temp.defer_missed(record);
         UPDATE {s}.archive SET missed = true
             WHERE status = 'cancelled' AND pg_temp.defer_missed(record);",
    ),
];

/// Serialises migrations across hosts; any constant works as long as every `defer` uses it.
const MIGRATION_LOCK: i64 = 0x6465_6665_7200_0001;

/// Where the schema stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationStatus {
    pub schema: String,
    pub version: i32,
    pub latest: i32,
    pub pending: Vec<String>,
}

impl PgStore {
    /// Applies pending migrations. Safe when several hosts start at once: the work happens
    /// under a transaction-scoped advisory lock, and each step is recorded in the same
    /// transaction that applies it.
    pub fn migrate(&self) -> Result<MigrationStatus> {
        let mut client = self.client()?;
        if let Ok(status) = self.status_with(&mut client)
            && status.pending.is_empty()
        {
            return Ok(status);
        }
        let mut tx = client.transaction().map_err(db("starting a migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(db("taking the migration lock"))?;
        tx.batch_execute(&self.sql(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.migrations (
                 version    integer     PRIMARY KEY,
                 name       text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );",
        ))
        .map_err(db("creating the schema"))?;
        let current: i32 = tx
            .query_one(
                &self.sql("SELECT coalesce(max(version), 0) FROM {s}.migrations"),
                &[],
            )
            .map_err(db("reading the schema version"))?
            .get(0);
        for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
            tx.batch_execute(&self.sql(sql))
                .map_err(db("applying a migration"))?;
            tx.execute(
                &self.sql("INSERT INTO {s}.migrations (version, name) VALUES ($1, $2)"),
                &[version, name],
            )
            .map_err(db("recording a migration"))?;
        }
        tx.commit().map_err(db("committing a migration"))?;
        self.status_with(&mut client)
    }

    /// The schema version and what is pending.
    pub fn status(&self) -> Result<MigrationStatus> {
        let mut client = self.client()?;
        self.status_with(&mut client)
    }

    fn status_with(&self, client: &mut Client) -> Result<MigrationStatus> {
        // A fresh database has no migrations table yet: version 0, everything pending.
        let exists: bool = client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&format!("\"{}\".migrations", self.schema)],
            )
            .map_err(db("reading the schema version"))?
            .get(0);
        let version: i32 = if exists {
            client
                .query_one(
                    &self.sql("SELECT coalesce(max(version), 0) FROM {s}.migrations"),
                    &[],
                )
                .map_err(db("reading the schema version"))?
                .get(0)
        } else {
            0
        };
        Ok(MigrationStatus {
            schema: self.schema.clone(),
            version,
            latest: MIGRATIONS.last().map_or(0, |m| m.0),
            pending: MIGRATIONS
                .iter()
                .filter(|m| m.0 > version)
                .map(|m| format!("{} {}", m.0, m.1))
                .collect(),
        })
    }
}
