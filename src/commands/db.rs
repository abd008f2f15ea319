//! `defer db migrate|status`: the PostgreSQL schema.

use crate::cli::DbCommand;
use crate::config::Config;
use crate::error::{Error, Result};

/// The CLI. Connecting applies pending migrations, so `migrate` and `status` both report an
/// up-to-date schema unless the upgrade failed (which is then the error).
pub fn run(config: &Config, command: DbCommand) -> Result<()> {
    let Some(url) = &config.database_url else {
        return Err(Error::MissingConfig {
            var: "DEFER_DATABASE_URL",
            needed_for: "defer db",
            example: "postgres://user@host/db",
            hint: "the JSONL store has no schema",
        });
    };
    migrate(config, url, command)
}

#[cfg(feature = "postgres")]
fn migrate(config: &Config, url: &str, command: DbCommand) -> Result<()> {
    let store = crate::store::PgStore::connect(config, url)?;
    let status = match command {
        DbCommand::Migrate => store.migrate()?,
        DbCommand::Status => store.status()?,
    };
    crate::output::print_json(&status, false)
}

#[cfg(not(feature = "postgres"))]
fn migrate(_config: &Config, _url: &str, _command: DbCommand) -> Result<()> {
    Err(Error::NotBuilt {
        feature: "postgres",
        needed_for: "defer db",
    })
}
