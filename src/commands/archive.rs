//! `defer archive`: sweep terminal tasks into `archive/deferred_YYYYMM.jsonl` now.

use crate::audit;
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::store::Store;

/// The CLI: prints one `id<TAB>file` line per archived task.
pub fn run(config: &Config, store: &dyn Store) -> Result<()> {
    let archived = store.archive()?;
    let now = config.clock.now();
    for a in &archived {
        let file = a.file.display().to_string();
        audit::log(
            &config.log_file,
            now,
            "archived",
            &[("id", &a.id), ("file", &file)],
        );
        output::print(&format!("{}\t{file}", a.id))?;
    }
    Ok(())
}
