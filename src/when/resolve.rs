//! Resolution: a parsed phrase turned into one instant in now's zone, with jiff doing the zone
//! and calendar work (DST gaps move forward, folds take the earlier instant).

use jiff::{
    SignedDuration, Span, ZonedDateTime,
    civil::{Date, Time},
    tz::Disambiguation,
};

use super::error::{Ctx, TimeError};
use super::grammar::{Ast, Day};

pub(super) fn resolve(
    ctx: &Ctx<'_>,
    ast: &Ast,
    now: &ZonedDateTime,
) -> Result<ZonedDateTime, TimeError> {
    let tz = now.time_zone();
    let overflow = |_: jiff::Error| ctx.overflow();
    // A wall-clock time on a date in now's zone: gap → forward by the gap, fold → earlier.
    let wall = |date: Date, time: Time| {
        tz.to_ambiguous_zoned_datetime(date.to_datetime(time))
            .disambiguate(Disambiguation::Compatible)
            .map_err(overflow)
    };
    let add_days = |days: i64| -> Result<ZonedDateTime, TimeError> {
        if days == 0 {
            return Ok(now.clone());
        }
        now.checked_add(Span::new().try_days(days).map_err(overflow)?)
            .map_err(overflow)
    };
    let date_plus = |days: i64| -> Result<Date, TimeError> {
        now.date()
            .checked_add(Span::new().try_days(days).map_err(overflow)?)
            .map_err(overflow)
    };
    match ast {
        Ast::Now => Ok(now.clone()),
        Ast::Absolute {
            dt,
            offset: Some(offset),
        } => Ok(offset
            .to_timestamp(*dt)
            .map_err(overflow)?
            .to_zoned_datetime(tz.clone())),
        Ast::Absolute { dt, offset: None } => wall(dt.date(), dt.time()),
        Ast::Relative {
            dur,
            clock: Some(clock),
        } => wall(date_plus(dur.days)?, clock.time),
        Ast::Relative { dur, clock: None } => {
            let z = add_days(dur.days)?;
            if dur.nanos == 0 {
                return Ok(z);
            }
            let elapsed =
                SignedDuration::try_from_nanos_i128(dur.nanos).ok_or_else(|| ctx.overflow())?;
            z.checked_add(elapsed).map_err(overflow)
        }
        Ast::Day { day, clock } => {
            let time = clock.map(|c| c.time);
            match (*day, time) {
                (None, None) => Err(ctx.unsupported("expected a day or a clock time")),
                (None, Some(t)) => {
                    let today = wall(now.date(), t)?;
                    if today.timestamp() > now.timestamp() {
                        Ok(today)
                    } else {
                        wall(date_plus(1)?, t)
                    }
                }
                (Some(Day::Today), None) => Ok(now.clone()),
                (Some(Day::Today), Some(t)) => wall(now.date(), t),
                (Some(Day::Tomorrow), None) => add_days(1),
                (Some(Day::Tomorrow), Some(t)) => wall(date_plus(1)?, t),
                (Some(Day::NextWeek), None) => add_days(7),
                (Some(Day::NextWeek), Some(t)) => wall(date_plus(7)?, t),
                (Some(Day::Date(d)), t) => wall(d, t.unwrap_or_else(Time::midnight)),
                (
                    Some(Day::Weekday {
                        wd,
                        strictly_after_today,
                    }),
                    t,
                ) => {
                    let k = i64::from(wd.since(now.weekday()));
                    match t {
                        // Today at now's time of day is never strictly ahead: a week later.
                        None => add_days(if k == 0 { 7 } else { k }),
                        Some(t) if k == 0 && strictly_after_today => wall(date_plus(7)?, t),
                        Some(t) => {
                            let first = wall(date_plus(k)?, t)?;
                            if k == 0 && first.timestamp() <= now.timestamp() {
                                wall(date_plus(7)?, t)
                            } else {
                                Ok(first)
                            }
                        }
                    }
                }
            }
        }
    }
}
