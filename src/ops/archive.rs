//! The archive sweep, asked for by hand (`defer run` makes the same sweep at the end of every
//! wake).

use serde::Serialize;

use crate::audit;
use crate::config::Config;
use crate::error::Result;
use crate::store::Store;

/// One task moved to the archive.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ArchivedTask {
    pub id: String,
    /// The archive it went to (a month file, or the database's archive month).
    pub file: String,
}

/// What the sweep moved.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ArchiveReply {
    pub archived: Vec<ArchivedTask>,
}

/// Moves every completed, failed and cancelled task to the archive now.
pub fn archive(config: &Config, store: &dyn Store) -> Result<ArchiveReply> {
    let archived = store.archive()?;
    let now = config.clock.now();
    let archived = archived
        .into_iter()
        .map(|a| {
            let file = a.file.display().to_string();
            audit::log(
                &config.log_file,
                now,
                "archived",
                &[("id", &a.id), ("file", &file)],
            );
            ArchivedTask { id: a.id, file }
        })
        .collect();
    Ok(ArchiveReply { archived })
}
