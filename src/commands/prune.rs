//! `defer prune --before EXPR [--yes]`: lists (or, with `--yes`, deletes) the prompt files,
//! output files, archive months and rotated audit log older than a time.

use crate::cli::PruneArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::prune::{PruneRequest, prune};
use crate::output;
use crate::store::Store;

/// The CLI: one path per line on stdout, a summary on stderr.
pub fn run(config: &Config, store: &dyn Store, args: PruneArgs) -> Result<()> {
    let reply = prune(
        config,
        store,
        &PruneRequest {
            before: args.before,
            yes: args.yes,
        },
    )?;
    let when = config.clock.local(reply.before.timestamp());
    for file in &reply.files {
        output::print(&output::escape(&file.path.display().to_string()))?;
    }
    let kept = if reply.kept_active > 0 {
        format!(
            "; {} older file(s) kept: their task is still scheduled or executing",
            reply.kept_active
        )
    } else {
        String::new()
    };
    let size = human_bytes(reply.bytes);
    if reply.files.is_empty() {
        eprintln!("nothing older than {when} to prune{kept}");
    } else if args.yes {
        eprintln!(
            "deleted {} file(s), {size}, older than {when}{kept}",
            reply.deleted
        );
    } else {
        eprintln!(
            "would delete {} file(s), {size}, older than {when}{kept}; nothing was deleted: \
             run again with --yes to delete them",
            reply.files.len()
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
