//! `defer mcp`: the defer tools served over the Model Context Protocol on stdio.
//!
//! Agents expect tools over MCP rather than a CLI whose output they must parse. This module is
//! a front end like `commands/`: every tool reads its arguments into an operation's request
//! type (`ops`), calls that operation and answers with its reply, so MCP, the CLI and the HTTP
//! API can never disagree about what a time or a record means. `defer serve` mounts
//! [`DeferServer`] at `/mcp` behind the same request hygiene ([`stdio::Inbound`] checks each
//! message there too).
//!
//! - [`tools`] — the tools, their descriptions and schemas (generated from the request and
//!   reply types), and how answers and errors are worded.
//! - [`resources`] — the pending tasks and each task as resources (`defer://tasks`).
//! - [`stdio`] — the boundary: the JSON-RPC answers rmcp does not give (parse errors, invalid
//!   params, batches) are given there, before rmcp sees a line.
//!
//! The server stores, lists, shows, moves, retries and cancels tasks; it never runs an
//! executor (`defer run`, woken by cron, does). Standard output carries protocol messages and nothing else;
//! diagnostics go to standard error. The tokio runtime rmcp needs is built here, inside `defer
//! mcp`, so every other command starts as fast as before. Store calls block (file locks, a
//! database round trip), so each tool call runs on tokio's blocking pool, never on the thread
//! that reads and answers protocol messages.

#[cfg(feature = "serve")]
pub mod http;
mod hygiene;
pub mod resources;
pub mod stdio;
pub mod tools;

mod oversized;

use std::io;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CustomRequest, CustomResult, ErrorCode, Implementation, ListResourceTemplatesResult,
    ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool_handler};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::Store;

/// The MCP server: the configuration and store every tool call works on.
#[derive(Debug, Clone)]
pub struct DeferServer {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    tool_router: ToolRouter<DeferServer>,
    /// Tool calls take turns, in the order they arrive, so a client that sends `schedule`
    /// and then `cancel` without waiting in between sees them happen in that order, as it
    /// would from two CLI commands run one after the other.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl DeferServer {
    /// A server over `store`, with times read in `config`'s zone and clock.
    pub fn new(config: Config, store: Arc<dyn Store>) -> DeferServer {
        let mut tool_router = DeferServer::tool_router();
        let note = tools::zone_note(&config);
        for name in tools::TIME_TOOLS {
            if let Some(route) = tool_router.map.get_mut(name) {
                let text = route.attr.description.take().unwrap_or_default();
                route.attr.description = Some(format!("{text}{note}").into());
            }
        }
        DeferServer {
            config: Arc::new(config),
            store,
            tool_router,
            turn: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Tells the model, once at initialisation, what the server is for and which zone its
    /// times are read in (tool descriptions are static, the zone is not).
    fn instructions(&self) -> String {
        format!(
            "defer stores \"do this later\" tasks: a compact snapshot of intent (summary, key \
             points, artifacts, constraints) and a time. `defer run`, woken by cron every \
             minute, runs each task when it is due; this server schedules, lists, shows, \
             reschedules, retries and cancels them, shows what a run left behind \
             (task_output), and never runs anything itself. Times are read in {zone}. Use \
             normalize_time (or schedule_task with dry_run: true) to check how a time is \
             understood before committing to it. Pass unique_key to schedule_task whenever a \
             call might be repeated: the same key returns the task already scheduled instead \
             of a second one. The pending tasks are also the resource defer://tasks, and each \
             task is defer://tasks/{{id}}.",
            zone = self.config.clock.zone_name(),
        )
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for DeferServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(
            Implementation::new("defer", env!("CARGO_PKG_VERSION"))
                .with_title("agent-defer")
                .with_description(
                    "Deferred tasks for AI agents: schedule, list, reschedule, retry, cancel.",
                ),
        )
        .with_instructions(self.instructions())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.on_store(resources::list).await.map_err(panicked)?
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        self.on_store(move |config, store| resources::read(config, store, &uri))
            .await
            .map_err(panicked)?
            .map(ReadResourceResponse::from)
    }

    /// The stand-in for a request too large to read (see [`oversized`]): answered with an
    /// error the client can see, instead of the silence of a dropped line.
    fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> impl Future<Output = std::result::Result<CustomResult, ErrorData>> + Send + '_ {
        let answer = if request.method == oversized::METHOD {
            let bytes = request
                .params
                .as_ref()
                .and_then(|p| p.get("bytes"))
                .and_then(|b| b.as_u64())
                .unwrap_or_default();
            ErrorData::invalid_request(oversized::message(bytes), None)
        } else {
            ErrorData::new(ErrorCode::METHOD_NOT_FOUND, request.method, None)
        };
        std::future::ready(Err(answer))
    }
}

/// Serves MCP on stdin/stdout, over `store`, until the client closes stdin.
pub fn serve(config: Config, store: Arc<dyn Store>) -> Result<()> {
    eprintln!(
        "defer mcp: serving on stdio (times read in {})",
        config.clock.zone_name()
    );
    // Held here, outside the runtime, so the store is dropped after it: a PostgreSQL client
    // closes its connection with a runtime of its own, which cannot start inside ours.
    let keep = Arc::clone(&store);
    let server = DeferServer::new(config, store);
    // One thread reads and answers protocol messages; tool calls run on the blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("starting the MCP runtime for", "stdio"))?;
    let served = runtime.block_on(async move {
        // stdin → `oversized` (a stand-in request after a line too long for rmcp) → the
        // pre-processor in `stdio` → rmcp.
        let (to_stdio, from_filter) = tokio::io::duplex(64 * 1024);
        tokio::spawn(oversized::filter(tokio::io::stdin(), to_stdio));
        let rmcp = move |input, output| {
            tokio::spawn(async move {
                let running = server
                    .serve((input, output))
                    .await
                    .map_err(|e| io::Error::other(e.to_string()))?;
                running.waiting().await.map_err(io::Error::other)?;
                Ok(())
            })
        };
        stdio::serve(rmcp, from_filter, tokio::io::stdout())
            .await
            .map_err(|e| stdio_error(e.to_string()))
    });
    drop(runtime);
    drop(keep);
    served
}

/// A store call that panicked: an internal error, and the server carries on.
fn panicked(e: tokio::task::JoinError) -> ErrorData {
    ErrorData::internal_error(
        format!("internal error: the request did not complete ({e}); it can be retried"),
        None,
    )
}

/// The session could not start or ended abnormally; either way the cause is the conversation
/// on stdio (a client that closed early or did not speak MCP).
fn stdio_error(reason: String) -> Error {
    Error::Io {
        path: "stdio".into(),
        action: "serving MCP on",
        source: io::Error::other(reason),
    }
}
