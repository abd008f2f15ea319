//! MCP over Streamable HTTP, as `defer serve` mounts it at `/mcp`: rmcp's service over
//! [`DeferServer`], behind the same request hygiene as stdio ([`super::hygiene`]), so the two
//! transports answer a bad message alike.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

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
        Arc::new(LocalSessionManager::default()),
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
