//! What a time expression means, without scheduling anything: one instant, or for an `every
//! ...` phrase the rule and its next times. `defer time normalize`, MCP's `normalize_time`,
//! the API's `/time/normalize` and the dashboard's preview all ask this.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Arg, Error, Result};
use crate::record::Stamp;
use crate::recur::Rule;
use crate::when;

/// How many times of a repeating rule a reply shows.
pub const SHOWN: usize = 3;

/// Read a time expression.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NormalizeRequest {
    /// The time expression to check, exactly as it would be given to schedule, e.g. "next
    /// friday 3pm" or "every weekday at 9am".
    pub when: String,
}

/// How an expression is understood now.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TimeReply {
    /// The expression as given.
    pub when: String,
    /// The instant it means (for a repeating phrase, its next time), UTC
    /// (YYYY-MM-DDTHH:MM:SSZ): what schedule would store.
    pub instant: Stamp,
    /// The same instant as Unix seconds.
    pub epoch: i64,
    /// The IANA zone the expression was read in.
    pub timezone: String,
    /// The instant in that zone, ISO 8601 with its offset.
    pub local: String,
    /// A plain sentence: "Fri 2026-11-27 09:00 EST, in 22h 59m".
    pub description: String,
    /// The instant is before now (a task scheduled for it would be due at once).
    pub in_past: bool,
    /// For a repeating phrase: the series rule it makes ("every 1d", "cron 0 9 * * 1-5").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For a repeating phrase: its next three times, UTC.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<Stamp>,
    /// The server's "now", UTC.
    pub now: Stamp,
    /// The server's "now" in its zone, ISO 8601 with its offset.
    pub now_local: String,
    /// The answer in one sentence.
    pub message: String,
}

/// How `req.when` is understood now.
pub fn normalize(config: &Config, req: &NormalizeRequest) -> Result<TimeReply> {
    let now = config.clock.now_zoned();
    let when_arg = |e| Error::time_arg(Arg::When, e);
    let repeat = when::parse_repeat(&req.when).map_err(when_arg)?;
    let (at, rule, next) = match repeat {
        Some(spec) => {
            let rule = Rule::parse(&spec.rule)?;
            let mut next = Vec::with_capacity(SHOWN);
            // A phrase that fixes its first time (`every other tuesday at 9am`) starts there;
            // any other starts at the rule's next time after now, as schedule does.
            let mut at = match spec.first(&now).map_err(when_arg)? {
                Some(first) => {
                    next.push(first.clone());
                    first
                }
                None => now.clone(),
            };
            while next.len() < SHOWN {
                at = rule.next(&at, false)?;
                next.push(at.clone());
            }
            let first = next.first().cloned().unwrap_or_else(|| now.clone());
            (
                first,
                Some(rule.text()),
                next.iter().map(|z| Stamp(z.timestamp())).collect(),
            )
        }
        None => (
            when::parse(&req.when, &now).map_err(when_arg)?,
            None,
            Vec::new(),
        ),
    };
    let description = when::describe_as_typed(&req.when, &at, &now);
    let instant = Stamp(at.timestamp());
    // Compared at whole seconds, as schedule stores them.
    let in_past = at.timestamp().as_second() < now.timestamp().as_second();
    let timezone = config.clock.zone_name();
    let mut message = match &rule {
        Some(rule) => format!(
            "{:?} is the rule {rule}, next {}; read in {timezone}.",
            req.when.trim(),
            description
        ),
        None => format!(
            "{:?} means {description} ({instant}); read in {timezone}.",
            req.when.trim()
        ),
    };
    if in_past {
        message.push_str(" That is in the past: a task scheduled for it would be due at once.");
    }
    Ok(TimeReply {
        when: req.when.clone(),
        instant,
        epoch: at.timestamp().as_second(),
        timezone,
        local: at.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        description,
        in_past,
        rule,
        next,
        now: Stamp(now.timestamp()),
        now_local: super::now_local(config),
        message,
    })
}
