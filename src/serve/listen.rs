//! Accepting connections within limits, so no client can starve the server (or the runner
//! that lives in it) of descriptors.
//!
//! - **Header-read and idle timeout** (`--header-timeout`, default 15 s): a request's head must arrive within
//!   it, counted from the connection's start or the end of the previous response, so a
//!   half-sent request and an idle keep-alive connection both close after it. A streaming
//!   response (the dashboard's `/events`, an MCP stream) is not idle and is not cut.
//! - **A connection cap** below the descriptor limit, keeping [`reserve`] descriptors for
//!   the runner (`--run`: its store, executors' pipes) and the store's own files: past the
//!   cap a new connection is closed at once, and the server keeps answering the others.
//! - The soft descriptor limit is raised to the hard one at start, as servers do.
//! - An accept that fails for want of descriptors (`EMFILE`) waits a moment instead of
//!   spinning or ending the server.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The most connections, whatever the descriptor limit.
const MAX_CONNECTIONS: usize = 4096;

/// How long requests in flight get to finish once the server stops.
const DRAIN: Duration = Duration::from_secs(5);

/// Descriptors kept for everything but client connections: the listener, the store and its
/// locks, the audit log, the change feed, and (with `--run`) each executor's pipes and pidfd.
pub fn reserve(concurrency: usize) -> usize {
    128 + 8 * concurrency
}

/// The connection cap for this process: the soft descriptor limit (raised to the hard one
/// when allowed) less the reserve, within 16 and [`MAX_CONNECTIONS`].
pub fn connection_cap(concurrency: usize) -> usize {
    let limit = raise_descriptor_limit();
    limit
        .saturating_sub(reserve(concurrency))
        .clamp(16, MAX_CONNECTIONS)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit in force.
fn raise_descriptor_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct; raising the soft limit up to the hard one
        // needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

/// What the accept loop allows.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once ([`connection_cap`]).
    pub connections: usize,
    /// How long a client has to send a request's head, and how long an idle connection stays.
    pub header_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight
/// finish (at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // No descriptor left (EMFILE, ENFILE) or a connection reset before accept:
                // wait a moment, keep serving the connections there are.
                eprintln!("defer serve: accept failed ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Over the cap: closed at once, before any byte is read.
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away mid-request is not the server's error.
            let _ = connection.await;
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {}
    }
    Ok(())
}
