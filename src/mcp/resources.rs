//! The task list and each task as MCP resources: `defer://tasks` (the pending tasks, as
//! `list_tasks` returns them by default) and `defer://tasks/{id}` (one record, as `show_task`
//! returns it). Hosts that let a user attach resources to a conversation can then attach a
//! task without a tool call. Both are JSON, read through the same store calls as the tools.

use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::ops::list::{ListRequest, list as list_page};
use crate::ops::show::{ShowRequest, show};
use crate::store::Store;

/// The pending tasks.
pub const TASKS_URI: &str = "defer://tasks";
/// One task: `defer://tasks/{id}`.
pub const TASK_TEMPLATE: &str = "defer://tasks/{id}";
const JSON: &str = "application/json";

/// The list resource and one resource per pending task (the first page `list_tasks` gives).
pub fn list(config: &Config, store: &dyn Store) -> Result<ListResourcesResult, ErrorData> {
    let mut resources = vec![
        Resource::new(TASKS_URI, "tasks")
            .with_title("Pending deferred tasks")
            .with_description("The tasks that are scheduled or executing, as a JSON array.")
            .with_mime_type(JSON),
    ];
    for task in pending(config, store)? {
        let id = task["id"].as_str().unwrap_or_default();
        let summary = task["context"]["summary"].as_str().unwrap_or_default();
        let run_at = task["run_at"].as_str().unwrap_or_default();
        resources.push(
            Resource::new(format!("{TASKS_URI}/{id}"), id)
                .with_description(format!("Due {run_at}: {summary}"))
                .with_mime_type(JSON),
        );
    }
    Ok(ListResourcesResult::with_all_items(resources))
}

/// The one template: a task by id, pending or archived.
pub fn templates() -> ListResourceTemplatesResult {
    let mut template = ResourceTemplate::new(TASK_TEMPLATE, "task");
    template.title = Some("A deferred task".into());
    template.description = Some("One task's record by id, pending or archived, as JSON.".into());
    template.mime_type = Some(JSON.into());
    ListResourceTemplatesResult::with_all_items(vec![template])
}

/// Reads `uri`: the list, or one task.
pub fn read(
    config: &Config,
    store: &dyn Store,
    uri: &str,
) -> Result<ReadResourceResult, ErrorData> {
    let body = if uri == TASKS_URI {
        Value::Array(pending(config, store)?)
    } else if let Some(id) = uri
        .strip_prefix(TASKS_URI)
        .and_then(|r| r.strip_prefix('/'))
    {
        let request = ShowRequest { id: id.to_string() };
        show(config, store, &request)
            .map_err(|e| error_for(uri, &e))?
            .task
    } else {
        return Err(not_found(
            uri,
            &format!("no such resource; this server has {TASKS_URI} and {TASK_TEMPLATE}"),
        ));
    };
    let text = serde_json::to_string_pretty(&body).map_err(|e| {
        error_for(
            uri,
            &Error::Json {
                what: "a resource".into(),
                source: e,
            },
        )
    })?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(JSON),
    ]))
}

/// The pending records, as `list_tasks` returns them by default.
fn pending(config: &Config, store: &dyn Store) -> Result<Vec<Value>, ErrorData> {
    list_page(config, store, &ListRequest::default())
        .map(|page| page.tasks)
        .map_err(|e| error_for(TASKS_URI, &e))
}

/// The JSON-RPC error for a failed read, by the error's kind: an unknown or impossible task
/// is "resource not found" (-32002), anything else an internal error.
fn error_for(uri: &str, e: &Error) -> ErrorData {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::BadArgument => not_found(uri, &e.for_fields()),
        _ => ErrorData::internal_error(e.for_fields(), None),
    }
}

fn not_found(uri: &str, why: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("{}: {why}", crate::error::quote_value(uri)),
        Some(serde_json::json!({ "uri": uri })),
    )
}
