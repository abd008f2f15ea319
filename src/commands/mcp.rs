//! `defer mcp`: serve the defer tools over the Model Context Protocol on stdio (see `mcp/`).

use crate::config::Config;
use crate::error::Result;
use crate::store::Store;

/// The CLI: serves until the client closes stdin. The store is whichever one the
/// configuration names, so agents over MCP and `defer run` always see the same tasks.
#[cfg(feature = "mcp")]
pub fn run(config: &Config, store: Box<dyn Store>) -> Result<()> {
    crate::mcp::serve(config.clone(), std::sync::Arc::from(store))
}

#[cfg(not(feature = "mcp"))]
pub fn run(_config: &Config, _store: Box<dyn Store>) -> Result<()> {
    Err(crate::Error::NotBuilt {
        feature: "mcp",
        needed_for: "defer mcp",
    })
}
