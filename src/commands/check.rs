//! `defer check`: lines of the store and archives that are not usable task records.

use crate::error::{Error, Failure, Result};
use crate::output;
use crate::store::Store;

/// The CLI: one line per problem on stdout; failure if there are any.
pub fn run(store: &dyn Store) -> Result<()> {
    let problems = store.check()?;
    if problems.is_empty() {
        return output::print("ok: every line is a valid task record");
    }
    for p in &problems {
        output::print(&format!("{}:{}: {}", p.file.display(), p.line, p.reason))?;
    }
    Err(Error::Failed(Failure::MalformedLines {
        count: problems.len(),
    }))
}
