//! Resolution: a parsed phrase turned into one instant in now's zone, with jiff doing the zone
//! and calendar work. A wall-clock time skipped by DST moves forward by the gap and a repeated
//! one takes the earlier instant, except where the phrase means "the next time the clock shows
//! it": then the first of the two instants still ahead is taken.

use jiff::{
    SignedDuration, Span, ZonedDateTime,
    civil::{Date, Time, Weekday},
    tz::{AmbiguousOffset, Disambiguation},
};

use super::error::{Ctx, TimeError};
use super::grammar::{Ast, Clock, Day, Dur};
use super::month::InMonth;

/// How many years ahead a day-month date without a year is looked for (Feb 29 needs up to 8).
const YEARS_AHEAD: i16 = 8;

pub(super) fn resolve(
    ctx: &Ctx<'_>,
    ast: &Ast,
    now: &ZonedDateTime,
) -> Result<ZonedDateTime, TimeError> {
    let r = Resolver { ctx, now };
    match ast {
        Ast::Now => Ok(now.clone()),
        Ast::Absolute {
            dt,
            offset: Some(offset),
        } => Ok(offset
            .to_timestamp(*dt)
            .map_err(|_| ctx.overflow())?
            .to_zoned_datetime(now.time_zone().clone())),
        Ast::Absolute { dt, offset: None } => r.wall(dt.date(), dt.time()),
        Ast::Relative {
            dur,
            clock: Some(clock),
        } => r.wall(
            r.date_plus(calendar(dur).ok_or_else(|| ctx.overflow())?)?,
            clock.time,
        ),
        Ast::Relative { dur, clock: None } => {
            let z = r.add(calendar(dur).ok_or_else(|| ctx.overflow())?)?;
            if dur.nanos == 0 {
                return Ok(z);
            }
            let elapsed =
                SignedDuration::try_from_nanos_i128(dur.nanos).ok_or_else(|| ctx.overflow())?;
            z.checked_add(elapsed).map_err(|_| ctx.overflow())
        }
        Ast::Day { day, clock, shift } => {
            let z = r.day(*day, *clock)?;
            if *shift == 0 {
                return Ok(z);
            }
            z.checked_add(days(*shift).ok_or_else(|| ctx.overflow())?)
                .map_err(|_| ctx.overflow())
        }
    }
}

/// The calendar part of a duration (months, then days), as one jiff span.
fn calendar(dur: &Dur) -> Option<Span> {
    Span::new()
        .try_months(dur.months)
        .and_then(|s| s.try_days(dur.days))
        .ok()
}

fn days(n: i64) -> Option<Span> {
    Span::new().try_days(n).ok()
}

struct Resolver<'a> {
    ctx: &'a Ctx<'a>,
    now: &'a ZonedDateTime,
}

impl Resolver<'_> {
    fn overflow(&self) -> TimeError {
        self.ctx.overflow()
    }

    /// A wall-clock time on a date in now's zone: gap → forward by the gap, fold → earlier.
    fn wall(&self, date: Date, time: Time) -> Result<ZonedDateTime, TimeError> {
        self.now
            .time_zone()
            .to_ambiguous_zoned_datetime(date.to_datetime(time))
            .disambiguate(Disambiguation::Compatible)
            .map_err(|_| self.overflow())
    }

    /// The first instant strictly after now at which the wall clock shows `time` on `date`:
    /// inside a fold that may be the second (later-offset) pass, so `1:45am` typed at 01:30
    /// on the second pass is 15 minutes away, not a day.
    fn wall_ahead(&self, date: Date, time: Time) -> Result<Option<ZonedDateTime>, TimeError> {
        let amb = self
            .now
            .time_zone()
            .to_ambiguous_zoned_datetime(date.to_datetime(time));
        let ahead = |z: ZonedDateTime| (z.timestamp() > self.now.timestamp()).then_some(z);
        if matches!(amb.offset(), AmbiguousOffset::Fold { .. }) {
            let earlier = amb.clone().earlier().map_err(|_| self.overflow())?;
            if let Some(z) = ahead(earlier) {
                return Ok(Some(z));
            }
            return Ok(ahead(amb.later().map_err(|_| self.overflow())?));
        }
        Ok(ahead(self.wall(date, time)?))
    }

    /// Now plus a calendar span (same wall-clock time; the end of a shorter month clamps).
    fn add(&self, span: Span) -> Result<ZonedDateTime, TimeError> {
        if span.is_zero() {
            return Ok(self.now.clone());
        }
        self.now.checked_add(span).map_err(|_| self.overflow())
    }

    fn date_plus(&self, span: Span) -> Result<Date, TimeError> {
        self.now
            .date()
            .checked_add(span)
            .map_err(|_| self.overflow())
    }

    /// That many calendar days from now: at `time`, or at now's time of day without one.
    fn in_days(&self, n: i64, time: Option<Time>) -> Result<ZonedDateTime, TimeError> {
        match time {
            None => self.add(days(n).ok_or_else(|| self.overflow())?),
            Some(t) => self.wall(self.date_plus(days(n).ok_or_else(|| self.overflow())?)?, t),
        }
    }

    fn day(&self, day: Option<Day>, clock: Option<Clock>) -> Result<ZonedDateTime, TimeError> {
        let now = self.now;
        let time = clock.map(|c| c.time);
        let part = clock.and_then(|c| c.part);
        match (day, time) {
            (None, None) => Err(self.ctx.unsupported("expected a day or a clock time")),
            // A part of the day alone, or `this morning`: today, and only while still ahead.
            (None | Some(Day::Today), Some(t)) if part.is_some() => {
                let today = self.wall_ahead(now.date(), t)?;
                today.ok_or_else(|| TimeError::PartPassed {
                    expr: self.ctx.expr.to_owned(),
                    part: part.map_or("", |p| p.name()).to_owned(),
                    at: format!("{:02}:{:02}", t.hour(), t.minute()),
                })
            }
            (None, Some(t)) => match self.wall_ahead(now.date(), t)? {
                Some(z) => Ok(z),
                None => self.wall(self.date_plus(days(1).ok_or_else(|| self.overflow())?)?, t),
            },
            (Some(Day::Today), None) => Ok(now.clone()),
            (Some(Day::Today), Some(t)) => self.wall(now.date(), t),
            (Some(Day::Tomorrow), t) => self.in_days(1, t),
            (Some(Day::InDays(n)), t) => self.in_days(n, t),
            (Some(Day::NextWeek), t) => self.in_days(7, t),
            (Some(Day::NextMonth), None) => self.add(Span::new().months(1)),
            (Some(Day::NextMonth), Some(t)) => self.wall(self.date_plus(Span::new().months(1))?, t),
            (Some(Day::NextYear), None) => self.add(Span::new().years(1)),
            (Some(Day::NextYear), Some(t)) => self.wall(self.date_plus(Span::new().years(1))?, t),
            (Some(Day::Date(d)), t) => self.wall(d, t.unwrap_or_else(Time::midnight)),
            (Some(Day::NextWorkday), t) => {
                let k = (1..=3)
                    .find(|&k| {
                        let wd = now.weekday().wrapping_add(k);
                        !matches!(wd, Weekday::Saturday | Weekday::Sunday)
                    })
                    .unwrap_or(1);
                self.in_days(i64::from(k), t)
            }
            (Some(Day::WeekOf { weeks, wd }), t) => {
                let monday = -i64::from(now.weekday().to_monday_zero_offset());
                let k = weeks
                    .checked_mul(7)
                    .and_then(|w| w.checked_add(monday))
                    .and_then(|w| w.checked_add(i64::from(wd.to_monday_zero_offset())))
                    .ok_or_else(|| self.overflow())?;
                self.in_days(k, t)
            }
            (
                Some(Day::Dated {
                    month,
                    day,
                    year: Some(y),
                }),
                t,
            ) => {
                let d = Date::new(y, month, day).map_err(|_| self.overflow())?;
                self.wall(d, t.unwrap_or_else(Time::midnight))
            }
            (
                Some(Day::Dated {
                    month,
                    day,
                    year: None,
                }),
                t,
            ) => self.month_day_ahead(month, day, t.unwrap_or_else(Time::midnight)),
            (Some(Day::InMonth { what, next }), t) => self.in_month(what, next, t),
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
                    None => {
                        self.add(days(if k == 0 { 7 } else { k }).ok_or_else(|| self.overflow())?)
                    }
                    Some(t) if k == 0 && strictly_after_today => self.in_days(7, Some(t)),
                    Some(t) if k == 0 => match self.wall_ahead(now.date(), t)? {
                        Some(z) => Ok(z),
                        None => self.in_days(7, Some(t)),
                    },
                    Some(t) => self.in_days(k, Some(t)),
                }
            }
        }
    }

    /// A day named within a month (`first monday`, `last day`) at `time` (or its default
    /// time): this month's while it is still ahead, else next month's; next month's at once
    /// when `next`.
    fn in_month(
        &self,
        what: InMonth,
        next: bool,
        time: Option<Time>,
    ) -> Result<ZonedDateTime, TimeError> {
        let time = time.unwrap_or_else(|| what.default_time());
        let this = self.now.date().first_of_month();
        let date = |first: Date| what.date(first).ok_or_else(|| self.overflow());
        if !next && let Some(z) = self.wall_ahead(date(this)?, time)? {
            return Ok(z);
        }
        let following = this
            .checked_add(Span::new().months(1))
            .map_err(|_| self.overflow())?;
        self.wall(date(following)?, time)
    }

    /// The first `month`/`day` at `time` strictly after now, this year or a later one (a
    /// February 29 waits for the next leap year).
    fn month_day_ahead(&self, month: i8, day: i8, time: Time) -> Result<ZonedDateTime, TimeError> {
        let year = self.now.year();
        for y in year..=year.saturating_add(YEARS_AHEAD) {
            let Ok(d) = Date::new(y, month, day) else {
                continue;
            };
            if let Some(z) = self.wall_ahead(d, time)? {
                return Ok(z);
            }
        }
        Err(self.overflow())
    }
}
