//! `defer schedule`: the CLI over [`crate::ops::schedule`].

use crate::cli::ScheduleArgs;
use crate::config::Config;
use crate::error::Result;
use crate::ops::schedule::{ScheduleRequest, schedule};
use crate::output;
use crate::store::Store;

impl From<ScheduleArgs> for ScheduleRequest {
    fn from(a: ScheduleArgs) -> ScheduleRequest {
        ScheduleRequest {
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
            context_json: a.context_json,
            id: a.id,
            reorient: a.reorient,
            project: a.project,
            context_file: a.context_file,
            cwd: a.cwd,
            every: a.every,
            cron: a.cron,
            until: a.until,
            count: a.count,
            if_late: a.if_late,
            late_after: a.late_after,
            dry_run: a.dry_run,
        }
    }
}

/// The CLI: schedule, print the record, confirm on stderr.
pub fn run(config: &Config, store: &dyn Store, args: ScheduleArgs) -> Result<()> {
    let compact = args.compact;
    let req = ScheduleRequest::from(args);
    let scheduled = schedule(config, store, &req)?;
    if scheduled.in_past {
        eprintln!(
            "warning: {:?} resolves to {}, which is in the past; the task is due now",
            req.when, scheduled.task.run_at
        );
    }
    let verb = if req.dry_run {
        "dry run: would schedule"
    } else {
        "scheduled"
    };
    eprintln!("{verb} {} for {}", scheduled.task.id, scheduled.description);
    output::print(&if compact {
        scheduled.task.to_line()
    } else {
        scheduled.task.to_pretty()
    })
}
