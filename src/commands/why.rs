//! `defer why ID`: the CLI over [`crate::ops::why`].

use crate::cli::WhyArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::resolve::{Scope, resolve};
use crate::ops::why::{WhyRequest, why};
use crate::output;
use crate::store::Store;

/// The CLI: the explanation, a point a line.
pub fn run(config: &Config, store: &dyn Store, args: WhyArgs) -> Result<()> {
    let id = resolve(store, &args.id, Scope::Any)?;
    let reply = why(config, store, &WhyRequest { id })?;
    // Each line may quote the record (id, summary, errors, reasons): escaped for the terminal.
    for line in &reply.lines {
        output::print(&output::escape(line))?;
    }
    Ok(())
}
