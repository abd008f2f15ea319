//! `defer schedule`: the CLI over [`crate::ops::schedule`].

use serde_json::{Map, Value};

use crate::cli::ScheduleArgs;
use crate::config::Config;
use crate::error::{Arg, ArgProblem, Error, Result, json_problem};
use crate::ops::schedule::{ScheduleRequest, schedule};
use crate::store::Store;

/// The request the flags ask for. `--context-json` is text on the command line and an object
/// in the request: a flag that is not a JSON object is refused here, naming the flag.
pub fn request(a: ScheduleArgs) -> Result<ScheduleRequest> {
    let context = a.context_json.as_deref().map(context_object).transpose()?;
    Ok(ScheduleRequest {
        when: a.when.unwrap_or_default(),
        summary: a.summary,
        intent: a.intent,
        mode: a.mode,
        prompt_template: a.prompt_template,
        aura_level: a.aura_level,
        max_retries: a.max_retries,
        key_points: a.key_points,
        artifacts: a.artifacts,
        constraints: a.constraints,
        context,
        id: a.id,
        reorient: a.reorient,
        project: a.project,
        context_file: a.context_file.map(|p| p.display().to_string()),
        cwd: a.cwd.map(|p| p.display().to_string()),
        every: a.every,
        cron: a.cron,
        until: a.until,
        count: a.count,
        if_late: a.if_late,
        late_after: a.late_after,
        unique_key: a.unique_key,
        unique_for: a.unique_for,
        parent_id: a.parent,
        no_parent: a.no_parent,
        session: a.session,
        dry_run: a.dry_run,
    })
}

/// `--context-json` text as an object.
fn context_object(text: &str) -> Result<Map<String, Value>> {
    let invalid = |reason: String| Error::Argument {
        arg: Arg::ContextJson,
        value: None,
        problem: ArgProblem::Invalid {
            reason,
            example: None,
        },
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(
            "must be a JSON object such as {\"summary\":\"...\",\"key_points\":[\"...\"]}".into(),
        )),
        Err(e) => Err(invalid(format!("{} ({e})", json_problem("it", &e)))),
    }
}

/// The CLI: schedule; on a terminal one line, else the record (the confirmation on stderr).
/// When a unique key found its holder, the record printed is that task's, with
/// `"deduplicated": true` added (it is not stored), so a script can tell without parsing the
/// sentence; the exit code is 0 either way: the work is scheduled.
pub fn run(config: &Config, store: &dyn Store, args: ScheduleArgs) -> Result<()> {
    let shape = super::Shape::of(args.json, args.compact);
    let reply = schedule(config, store, &request(args)?)?;
    if !reply.deduplicated {
        return super::report(store, &reply.task, &reply.message, &reply.warnings, shape);
    }
    let mut record = serde_json::to_value(&reply.task).map_err(|source| Error::Json {
        what: "the task record".into(),
        source,
    })?;
    if let Value::Object(map) = &mut record {
        map.insert("deduplicated".into(), Value::Bool(true));
    }
    super::report_record(
        store,
        &reply.id,
        &reply.message,
        &reply.warnings,
        shape,
        &|compact| {
            if compact {
                record.to_string()
            } else {
                serde_json::to_string_pretty(&record).unwrap_or_else(|_| record.to_string())
            }
        },
    )
}
