//! `defer show ID`: one record, wherever it is (active store or archive): as stored JSON, or
//! on a terminal (without `--json`/`--compact`) a card (`commands/view.rs`).

use crate::cli::{ColorChoice, ShowArgs};
use crate::commands::view::{self, Terminal};
use crate::config::Config;
use crate::error::Result;
use crate::ops::resolve::{Scope, resolve};
use crate::ops::show::{ShowRequest, show};
use crate::output;
use crate::store::Store;

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: ShowArgs, color: ColorChoice) -> Result<()> {
    let id = resolve(store, &args.id, Scope::Any)?;
    let reply = show(config, store, &ShowRequest { id })?;
    match Terminal::detect(color, args.json || args.compact) {
        Some(term) => output::print(view::task_card(&term, config, &reply).trim_end()),
        None => output::print_json(&reply.task, args.compact),
    }
}
