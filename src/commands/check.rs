//! `defer check`: lines of the store and archives that are not usable task records.

use crate::error::{Error, Result};
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
    Err(Error::Invalid(format!(
        "{} line(s) are not valid task records; they are kept as they are and skipped by the \
         runner: fix or remove them by hand",
        problems.len()
    )))
}
