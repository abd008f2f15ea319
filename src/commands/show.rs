//! `defer show ID`: one record, wherever it is (active store or archive): as stored JSON, or
//! on a terminal (without `--json`/`--compact`) a card (`commands/view.rs`).

use crate::cli::{ColorChoice, ShowArgs};
use crate::commands::view::{self, Terminal};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::output;
use crate::record::validate_id;
use crate::store::Store;

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: ShowArgs, color: ColorChoice) -> Result<()> {
    validate_id(&args.id)?;
    let Some(record) = store.show(&args.id)? else {
        return Err(Error::NotFound(args.id));
    };
    match Terminal::detect(color, args.json || args.compact) {
        Some(term) => output::print(view::task_card(&term, config, &record).trim_end()),
        None => output::print_json(&record, args.compact),
    }
}
