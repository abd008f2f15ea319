//! `defer serve`: the HTTP API, MCP over Streamable HTTP and the dashboard (see `serve/`).

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::error::Result;
use crate::store::Store;

/// The CLI: serves until SIGTERM or SIGINT, on the store the configuration names.
#[cfg(feature = "serve")]
pub fn run(config: &Config, store: Box<dyn Store>, args: ServeArgs) -> Result<()> {
    crate::serve::serve(config.clone(), std::sync::Arc::from(store), args)
}

#[cfg(not(feature = "serve"))]
pub fn run(_config: &Config, _store: Box<dyn Store>, _args: ServeArgs) -> Result<()> {
    Err(crate::Error::NotBuilt {
        feature: "serve",
        needed_for: "defer serve",
    })
}
