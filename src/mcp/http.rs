//! MCP over Streamable HTTP, as `defer serve` mounts it at `/mcp`: rmcp's service over
//! [`DeferServer`], behind the same request hygiene as stdio ([`super::hygiene`]), so the two
//! transports answer a bad message alike.
//!
//! Sessions live in memory, so they are bounded: at most [`MAX_SESSIONS`] at once (a new one
//! closes the one idle longest), each closed after [`SESSION_IDLE`] without a request, with
//! small channels (rmcp's default keeps one ~0.5 MB session for five minutes, so a burst of
//! `initialize` calls could take gigabytes).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::streamable_http_server::session::{
    RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_stream::Stream;

use super::DeferServer;
use crate::config::Config;
use crate::store::Store;

/// How the server that mounts `/mcp` limits it.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Host header values accepted (the server's own list).
    pub allowed_hosts: Vec<String>,
    /// The largest request body read.
    pub max_body: usize,
}

/// The `/mcp` route, and what closes its open streams on shutdown.
pub fn router<S: Clone + Send + Sync + 'static>(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    limits: Limits,
) -> (Router<S>, impl Fn() + Send + Sync + 'static) {
    let mcp_config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(limits.allowed_hosts)
        .with_max_request_body_bytes(limits.max_body);
    let cancel = mcp_config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        move || Ok(DeferServer::new((*config).clone(), Arc::clone(&store))),
        Arc::new(CappedSessions::new(MAX_SESSIONS)),
        mcp_config,
    );
    let max_body = limits.max_body;
    let router = Router::new()
        .route_service("/mcp", service)
        .layer(axum::middleware::from_fn(move |request, next| {
            hygiene(request, next, max_body)
        }));
    (router, move || cancel.cancel())
}

/// Checks a POSTed message before rmcp sees it; a refused one is answered here, HTTP 400 with
/// the JSON-RPC error stdio would have written (the transport allows an error without an id
/// in a 400's body).
async fn hygiene(request: Request, next: Next, max_body: usize) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, max_body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is over {max_body} bytes"),
            )
                .into_response();
        }
    };
    if let Some(answer) = super::hygiene::refuse_body(&bytes) {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            answer.to_string(),
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The most MCP sessions kept at once.
pub const MAX_SESSIONS: usize = 100;
/// A session without a request for this long is closed (the client initialises again).
pub const SESSION_IDLE: Duration = Duration::from_secs(120);
/// Messages buffered per session (rmcp's default is 16).
const SESSION_CHANNEL: usize = 4;

/// rmcp's in-memory sessions, at most `cap` of them: creating one past the cap closes the
/// session idle longest first.
#[derive(Debug)]
pub struct CappedSessions {
    inner: LocalSessionManager,
    used: Mutex<HashMap<SessionId, Instant>>,
    cap: usize,
}

impl CappedSessions {
    pub fn new(cap: usize) -> CappedSessions {
        let mut inner = LocalSessionManager::default();
        let mut config = SessionConfig::default();
        config.channel_capacity = SESSION_CHANNEL;
        config.keep_alive = Some(SESSION_IDLE);
        inner.session_config = config;
        CappedSessions {
            inner,
            used: Mutex::new(HashMap::new()),
            cap: cap.max(1),
        }
    }

    fn touch(&self, id: &SessionId) {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.insert(id.clone(), Instant::now());
    }

    fn forget(&self, id: &SessionId) {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.remove(id);
    }

    /// Closes sessions idle longest until one more fits.
    async fn make_room(&self) {
        loop {
            let oldest = {
                let live = self.inner.sessions.read().await;
                let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
                // Sessions rmcp closed by itself (idle, or a client's DELETE) are forgotten.
                used.retain(|id, _| live.contains_key(id));
                if live.len() < self.cap {
                    return;
                }
                used.iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(id, _)| id.clone())
            };
            let Some(oldest) = oldest else { return };
            self.forget(&oldest);
            let _ = self.inner.close_session(&oldest).await;
        }
    }
}

impl SessionManager for CappedSessions {
    type Error = <LocalSessionManager as SessionManager>::Error;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.make_room().await;
        let (id, transport) = self.inner.create_session().await?;
        self.touch(&id);
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.touch(id);
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        let has = self.inner.has_session(id).await?;
        if !has {
            self.forget(id);
        }
        Ok(has)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.forget(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        self.inner.restore_session(id).await
    }
}
