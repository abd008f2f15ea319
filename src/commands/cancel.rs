//! `defer cancel`: the CLI over [`crate::ops::cancel`].

use crate::cli::CancelArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ops::cancel::{cancel, cancel_series};
use crate::output;
use crate::store::Store;

/// The CLI.
pub fn run(config: &Config, store: &dyn Store, args: CancelArgs) -> Result<()> {
    if let Some(series) = &args.series {
        let cancelled = cancel_series(config, store, series, args.reason.as_deref())?;
        if cancelled.is_empty() {
            return Err(Error::Invalid(format!(
                "series {} has no scheduled occurrence to cancel (unknown series, or it \
                 already ended); `defer list --all` shows its records",
                output::escape(series)
            )));
        }
        let records: Vec<serde_json::Value> = cancelled
            .iter()
            .filter_map(|t| serde_json::from_str(&t.to_line()).ok())
            .collect();
        return output::print_json(&records, args.compact);
    }
    let Some(id) = &args.id else {
        return Err(Error::Invalid("give --id ID or --series SERIES_ID".into()));
    };
    let task = cancel(config, store, id, args.reason.as_deref())?;
    output::print(&if args.compact {
        task.to_line()
    } else {
        task.to_pretty()
    })
}
