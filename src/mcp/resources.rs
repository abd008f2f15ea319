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

use super::args::DEFAULT_LIMIT;
use crate::error::Error;
use crate::record::validate_id;
use crate::store::Store;

/// The pending tasks.
pub const TASKS_URI: &str = "defer://tasks";
/// One task: `defer://tasks/{id}`.
pub const TASK_TEMPLATE: &str = "defer://tasks/{id}";
const JSON: &str = "application/json";

/// The list resource and one resource per pending task (at most [`DEFAULT_LIMIT`]).
pub fn list(store: &dyn Store) -> Result<ListResourcesResult, ErrorData> {
    let mut resources = vec![
        Resource::new(TASKS_URI, "tasks")
            .with_title("Pending deferred tasks")
            .with_description("The tasks that are scheduled or executing, as a JSON array.")
            .with_mime_type(JSON),
    ];
    for task in pending(store)? {
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
pub fn read(store: &dyn Store, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let body = if uri == TASKS_URI {
        Value::Array(pending(store)?)
    } else if let Some(id) = uri
        .strip_prefix(TASKS_URI)
        .and_then(|r| r.strip_prefix('/'))
    {
        validate_id(id).map_err(|e| not_found(uri, &e.to_string()))?;
        store
            .show(id)
            .map_err(internal)?
            .ok_or_else(|| not_found(uri, &format!("Task not found: {id}")))?
    } else {
        return Err(not_found(
            uri,
            &format!("no such resource; this server has {TASKS_URI} and {TASK_TEMPLATE}"),
        ));
    };
    let text = serde_json::to_string_pretty(&body).map_err(|e| {
        internal(Error::Json {
            what: "a resource".into(),
            source: e,
        })
    })?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(JSON),
    ]))
}

/// The pending records, as `list_tasks` returns them by default.
fn pending(store: &dyn Store) -> Result<Vec<Value>, ErrorData> {
    let query = crate::store::Query::listing(Vec::new(), false);
    let limit = usize::try_from(DEFAULT_LIMIT).unwrap_or(usize::MAX);
    let mut tasks = Vec::new();
    store
        .list(&query, &mut |line| {
            if tasks.len() < limit {
                tasks.push(serde_json::from_slice(line).map_err(|source| Error::Json {
                    what: "a stored record".into(),
                    source,
                })?);
            }
            Ok(())
        })
        .map_err(internal)?;
    Ok(tasks)
}

fn not_found(uri: &str, why: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("{}: {why}", crate::error::quote_value(uri)),
        Some(serde_json::json!({ "uri": uri })),
    )
}

fn internal(e: Error) -> ErrorData {
    ErrorData::internal_error(e.for_fields(), None)
}
