//! `defer serve`: one process, one port, three front ends over the configured store.
//!
//! - [`api`] — the JSON API under `/api/v1` (schedule, list, show, cancel, retry, reschedule,
//!   logs, time, health); errors as `application/problem+json`.
//! - [`openapi`] — the OpenAPI document of that API, its schemas generated from the types.
//! - `/mcp` — the tools of `defer mcp` over rmcp's Streamable HTTP transport, with the same
//!   request hygiene as stdio (`crate::mcp::http`, the one thing this module takes from `mcp`).
//! - [`dashboard`] — server-rendered HTML (askama templates, escaped by the engine) for
//!   people; [`live`] refreshes its lists over server-sent events when the store changes;
//!   [`login`] turns the login link into a session cookie.
//! - [`metrics`] — `/metrics` in the Prometheus text format: the store's state at scrape
//!   time, and with `--run` what this process's runner recorded.
//! - [`auth`] — the token, the Host/Origin checks, the session cookie, CSRF, the security
//!   headers: every request passes it first.
//!
//! Like `commands/` and `mcp/`, this module only translates: every request becomes an
//! operation of `ops` and its reply the answer; errors become statuses by their kind
//! ([`status_for`]). Store calls block (file locks, a database
//! round trip), so each runs on tokio's blocking pool. `--run` adds the `run --watch` loop
//! on a thread of its own, with a store of its own. SIGTERM or SIGINT (the runner's own
//! handler, [`crate::runner`]) stops both: open event streams and MCP sessions are closed,
//! requests in flight finish, the watcher finishes what it started.

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod listen;
pub mod live;
pub mod login;
pub mod metrics;
pub mod openapi;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;

use crate::config::Config;
use crate::error::{Arg, ArgProblem, Error, ErrorKind, Result};
use crate::store::{self, Store};

/// How `defer serve` was asked to run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address and port to listen on.
    pub listen: String,
    /// Also run due tasks in this process.
    pub run: bool,
    /// Other names clients may use in the Host header.
    pub allow_host: Vec<String>,
    /// How long a client has to send a request's head (and how long an idle connection
    /// stays); see `listen`.
    pub header_timeout: Duration,
    /// Days a browser stays signed in after the login link (the cookie's `Max-Age`).
    pub session_days: u32,
    /// Serve `/metrics` without the token; refused unless the address is loopback.
    pub metrics_public: bool,
}

/// The HTTP status each kind of error answers with (the API's problem+json and the
/// dashboard's pages alike): bad input is the client's to fix (400), a refused file or an
/// internal fault is the server's (500), never the other way round.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadArgument => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::WrongStatus | ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Permission | ErrorKind::Internal | ErrorKind::Failed => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The largest request body any route reads (the MCP transport included).
pub const MAX_BODY: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub auth: auth::Auth,
    pub live: live::Live,
    /// `--run`: a runner lives in this process ("run now" then makes a task due).
    pub watching: bool,
    /// `--run`: what that runner recorded, for `/metrics`.
    pub attempts: Option<Arc<metrics::Attempts>>,
}

impl App {
    /// Runs `work` on the blocking pool; a panic there becomes an error, not a lost request.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Config, &dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let config = Arc::clone(&self.config);
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&config, store.as_ref()))
            .await
            .unwrap_or_else(|e| {
                Err(Error::Panicked {
                    what: "the request",
                    detail: e.to_string(),
                })
            })
    }
}

/// Serves until SIGTERM or SIGINT.
pub fn serve(config: Config, store: Arc<dyn Store>, args: ServeOptions) -> Result<()> {
    let stop = crate::runner::stop_on_signals();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .thread_name("defer-serve")
        .enable_all()
        .build()
        .map_err(Error::io("starting the HTTP runtime for", "defer serve"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&args.listen))
        .map_err(|source| Error::Listen {
            addr: args.listen.clone(),
            source,
        })?;
    let bound = listener
        .local_addr()
        .map_err(Error::io("reading the address of", "the listening socket"))?;
    if args.metrics_public && !bound.ip().is_loopback() {
        return Err(public_metrics_refused(bound));
    }
    let token = auth::load_or_create_token(&config.runtime_dir)?;
    let auth = auth::Auth::new(
        token,
        bound,
        &args.allow_host,
        auth::Access {
            session_days: args.session_days,
            metrics_public: args.metrics_public,
        },
    )?;
    let config = Arc::new(config);
    let attempts = args.run.then(|| Arc::new(metrics::Attempts::new()));

    // The watcher (`--run`) and the change feed each get a store of their own, so neither
    // waits behind a request on a shared connection.
    let runner = if args.run {
        if config.clock.is_fixed() {
            return Err(Error::FixedClock {
                command: "defer serve --run",
            });
        }
        let watch_store = store::open(&config)?;
        let watch_config = Arc::clone(&config);
        let observer = attempts
            .clone()
            .map(|a| a as Arc<dyn crate::runner::Observer>);
        Some(
            std::thread::Builder::new()
                .name("defer-watch".into())
                .spawn(move || {
                    // The runner retries what a wake can recover from; when it ends with an
                    // error (or panics), the whole server stops with it, so the unit that runs
                    // `defer serve` restarts both instead of serving without a runner.
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        crate::runner::watch_observed(
                            &watch_config,
                            &*watch_store,
                            false,
                            Duration::from_secs(60),
                            observer,
                        )
                    }));
                    let result = ran.unwrap_or_else(|panic| {
                        let detail = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "it panicked".into());
                        Err(Error::Panicked {
                            what: "the runner thread",
                            detail,
                        })
                    });
                    if let Err(e) = &result {
                        eprintln!(
                            "defer serve: the runner stopped ({}); stopping the server",
                            crate::error::chain(e)
                        );
                        stop.store(true, Ordering::Relaxed);
                    }
                    result
                })
                .map_err(Error::io("starting the runner thread of", "defer serve"))?,
        )
    } else {
        None
    };
    let live = live::Live::start(store::open(&config)?, stop);

    let app = Arc::new(App {
        config: Arc::clone(&config),
        store: Arc::clone(&store),
        auth,
        live,
        watching: args.run,
        attempts,
    });
    let (mcp, mcp_cancel) = crate::mcp::http::router(
        Arc::clone(&config),
        Arc::clone(&store),
        crate::mcp::http::Limits {
            allowed_hosts: app.auth.allowed_hosts(),
            max_body: MAX_BODY,
        },
    );
    let router = Router::new()
        .merge(api::routes())
        .merge(metrics::routes())
        .merge(login::routes())
        .merge(dashboard::routes(&config))
        .merge(mcp)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            auth::guard,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::clone(&app));

    let cap = listen::connection_cap(config.concurrency);
    announce(&app, bound);
    let shutdown = async move {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        mcp_cancel();
    };
    let served = runtime.block_on(listen::serve(
        listener,
        router,
        listen::Limits {
            connections: cap,
            header_timeout: args.header_timeout,
        },
        shutdown,
    ));
    // Requests still in flight on the blocking pool get a moment; then the runtime goes.
    runtime.shutdown_timeout(Duration::from_secs(5));
    served.map_err(Error::io("serving HTTP on", bound.to_string()))?;
    if let Some(runner) = runner {
        match runner.join() {
            Ok(result) => result?,
            Err(_) => {
                return Err(Error::Panicked {
                    what: "the runner thread",
                    detail: "it panicked".into(),
                });
            }
        }
    }
    eprintln!("defer serve: stopped");
    Ok(())
}

/// The start-up lines: where it listens, the login link, the MCP command, and a warning when
/// the address is reachable from the network. Tests read the first line for the port.
fn announce(app: &App, bound: SocketAddr) {
    use std::io::Write;
    let base = format!("http://{}", auth::authority(bound));
    // A closed stdout (a supervisor that read the first line and left) must not stop the
    // server: these lines are a courtesy, so write errors are ignored.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "defer serve: listening on {base}");
    let _ = writeln!(
        out,
        "dashboard: {}",
        auth::login_url(bound, app.auth.token_for_display())
    );
    let _ = writeln!(
        out,
        "mcp: claude mcp add --transport http defer {base}/mcp --header \"Authorization: Bearer $(cat {})\"",
        auth::token_path(&app.config.runtime_dir).display()
    );
    let _ = out.flush();
    if !bound.ip().is_loopback() {
        eprintln!(
            "warning: {bound} is reachable from the network; the token is sent in clear over \
             plain HTTP: put a TLS proxy in front (docs/serve.md) and pass --allow-host NAME"
        );
    }
}

/// `--metrics-public` on an address others can reach: refused, since anyone on the network
/// could then read how many tasks there are and when the runner runs.
fn public_metrics_refused(bound: SocketAddr) -> Error {
    Error::Argument {
        arg: Arg::MetricsPublic,
        value: None,
        problem: ArgProblem::Invalid {
            reason: format!(
                "serves /metrics without the token, so it is allowed only on a loopback \
                 address, and {bound} is reachable from the network; drop it and give the \
                 scraper the token (docs/serve.md, \"Metrics\"), or listen on 127.0.0.1"
            ),
            example: None,
        },
    }
}

/// The dashboard's login link of a server started with `--listen listen`, from the token file
/// (`defer serve --print-login`): nothing is bound and no token is made.
pub fn login_link(config: &Config, listen: &str) -> Result<String> {
    let addr = resolve(listen)?;
    if addr.port() == 0 {
        return Err(Error::invalid_arg(
            Arg::Listen,
            listen,
            "picks a free port when the server starts, so its login link cannot be known \
             beforehand: pass the port the server listens on (its first line says it)",
            Some("127.0.0.1:8277"),
        ));
    }
    let token = auth::read_token(&config.runtime_dir)?.ok_or_else(|| Error::NoServeToken {
        path: auth::token_path(&config.runtime_dir),
    })?;
    Ok(auth::login_url(addr, &token))
}

/// `--listen` as the server binds it: an address, or a name whose first address is used.
fn resolve(listen: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = listen.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bad =
        |reason: String| Error::invalid_arg(Arg::Listen, listen, reason, Some("127.0.0.1:8277"));
    listen
        .to_socket_addrs()
        .map_err(|e| bad(format!("is not an address and port ({e})")))?
        .next()
        .ok_or_else(|| bad("names no address".into()))
}
