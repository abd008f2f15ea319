//! `defer serve`: the HTTP API, MCP over Streamable HTTP and the dashboard (see `serve/`).

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::error::Result;
use crate::store::Store;

/// The CLI: serves until SIGTERM or SIGINT, on the store the configuration names.
#[cfg(feature = "serve")]
pub fn run(config: &Config, store: Box<dyn Store>, args: ServeArgs) -> Result<()> {
    let options = crate::serve::ServeOptions {
        listen: args.listen,
        run: args.run,
        allow_host: args.allow_host,
        header_timeout: std::time::Duration::from_secs(args.header_timeout),
        session_days: args.session_days,
        metrics_public: args.metrics_public,
    };
    crate::serve::serve(config.clone(), std::sync::Arc::from(store), options)
}

/// `defer serve --print-login`: the login link on stdout, from the token file; no server and
/// no store are opened.
#[cfg(feature = "serve")]
pub fn print_login(config: &Config, args: &ServeArgs) -> Result<()> {
    let link = crate::serve::login_link(config, &args.listen)?;
    crate::output::print(&link)
}

#[cfg(not(feature = "serve"))]
pub fn print_login(_config: &Config, _args: &ServeArgs) -> Result<()> {
    Err(crate::Error::NotBuilt {
        feature: "serve",
        needed_for: "defer serve",
    })
}

#[cfg(not(feature = "serve"))]
pub fn run(_config: &Config, _store: Box<dyn Store>, _args: ServeArgs) -> Result<()> {
    Err(crate::Error::NotBuilt {
        feature: "serve",
        needed_for: "defer serve",
    })
}
