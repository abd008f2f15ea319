//! `defer prune --before EXPR [--yes]`: lists (or, with `--yes`, deletes) the prompt files,
//! output files, archive months and rotated audit log older than a time.

use crate::cli::PruneArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::prune;
use crate::output;
use crate::store::Store;

/// The CLI: one path per line on stdout, a summary on stderr.
pub fn run(config: &Config, store: &dyn Store, args: PruneArgs) -> Result<()> {
    let before = prune::cutoff(config, &args.before)?;
    let plan = prune::plan(config, store, before)?;
    let when = crate::commands::doctor::local(config, before);
    for file in &plan.files {
        output::print(&output::escape(&file.path.display().to_string()))?;
    }
    let kept = if plan.kept_active > 0 {
        format!(
            "; {} older file(s) kept: their task is still scheduled or executing",
            plan.kept_active
        )
    } else {
        String::new()
    };
    let size = human_bytes(plan.bytes());
    if plan.files.is_empty() {
        eprintln!("nothing older than {when} to prune{kept}");
    } else if args.yes {
        let deleted = prune::apply(config, &plan)?;
        eprintln!("deleted {deleted} file(s), {size}, older than {when}{kept}");
    } else {
        eprintln!(
            "would delete {} file(s), {size}, older than {when}{kept}; nothing was deleted: \
             run again with --yes to delete them",
            plan.files.len()
        );
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}
