//! PLACEHOLDER replaced by the real parser (being written in /work/scratch-when).
use jiff::ZonedDateTime as Zoned;
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TimeError {
    #[error("unsupported time expression {0:?}")]
    Unsupported(String),
}
pub const GRAMMAR_HELP: &str = "";
pub fn parse(expr: &str, now: &Zoned) -> Result<Zoned, TimeError> {
    match expr.trim() {
        "now" => Ok(now.clone()),
        e => e
            .parse::<jiff::Timestamp>()
            .map(|t| t.to_zoned_datetime(now.time_zone().clone()))
            .map_err(|_| TimeError::Unsupported(expr.into())),
    }
}
pub fn describe(target: &Zoned, _now: &Zoned) -> String {
    target.to_string()
}
