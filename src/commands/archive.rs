//! `defer archive`: sweep terminal tasks into `archive/deferred_YYYYMM.jsonl` now.

use crate::config::Config;
use crate::error::Result;
use crate::ops::archive::archive;
use crate::output;
use crate::store::Store;

/// The CLI: prints one `id<TAB>file` line per archived task.
pub fn run(config: &Config, store: &dyn Store) -> Result<()> {
    for a in archive(config, store)?.archived {
        output::print(&format!("{}\t{}", a.id, a.file))?;
    }
    Ok(())
}
