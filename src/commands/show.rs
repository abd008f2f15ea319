//! `defer show ID`: one record, wherever it is (active store or archive).

use crate::cli::ShowArgs;
use crate::error::{Error, Result};
use crate::output;
use crate::record::validate_id;
use crate::store::Store;

/// The CLI.
pub fn run(store: &dyn Store, args: ShowArgs) -> Result<()> {
    validate_id(&args.id)?;
    match store.show(&args.id)? {
        Some(record) => output::print_json(&record, args.compact),
        None => Err(Error::NotFound(args.id)),
    }
}
