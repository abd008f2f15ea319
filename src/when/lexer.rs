//! Tokens: the expression cut into numbers, clock times, words, meridiems, signs and ISO dates,
//! with byte spans into the text as typed. Zone words are caught here, before any grammar.

use jiff::{
    civil::{Date, DateTime},
    fmt::temporal::Pieces,
    tz::Offset,
};

use super::error::{Ctx, TimeError};
use super::hint;

#[derive(Clone, Copy, Debug)]
pub(super) enum Kind<'a> {
    /// `digits["." digits]`, kept as text so size limits are checked where the unit is known.
    Num {
        int: &'a str,
        frac: Option<&'a str>,
    },
    /// `H:MM[:SS]`, digits as text (validated by the clock rule).
    Clock {
        hour: &'a str,
        minute: &'a str,
        second: Option<&'a str>,
    },
    /// A run of letters.
    Word(&'a str),
    /// `digits "," digits`: a decimal comma (`1,5`), refused with the spelling to use.
    DecimalComma {
        int: &'a str,
        frac: &'a str,
    },
    /// `am`, `pm`, `a.m.`, `p.m.` (the dotted forms cannot be letter runs).
    Meridiem {
        pm: bool,
    },
    Plus,
    Minus,
    /// `YYYY-MM-DD`.
    Date(Date),
    /// An ISO 8601 date-time, with its offset when one was given.
    DateTime {
        dt: DateTime,
        offset: Option<Offset>,
    },
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Tok<'a> {
    pub(super) kind: Kind<'a>,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// Whitespace-separated chunks of `s` with their byte offsets.
pub(super) fn chunks(s: &str) -> Vec<(usize, &str)> {
    let base = s.as_ptr() as usize;
    s.split(char::is_whitespace)
        .filter(|c| !c.is_empty())
        .map(|c| (c.as_ptr() as usize - base, c))
        .collect()
}

pub(super) fn lex<'a>(ctx: &Ctx<'_>, s: &'a str) -> Result<Vec<Tok<'a>>, TimeError> {
    let chunks = chunks(s);
    // Zone words first, so `3:60pm EST` is reported for its zone, the more basic mistake.
    for (i, &(start, c)) in chunks.iter().enumerate() {
        // ISO pieces are checked by jiff's parser instead (`17:05+02:00` after a date is fine).
        let iso = is_iso_start(c) || (i > 0 && joins_date(chunks[i - 1].1, c));
        if hint::numeric_date(c).is_some() {
            return Err(TimeError::NumericDate {
                expr: ctx.expr.to_owned(),
                text: ctx.text(start, start + c.len()).to_owned(),
            });
        }
        if !iso && let Some((from, to)) = zone_like(c, i == 0) {
            return Err(ctx.zone_suffix(start + from, start + to));
        }
    }
    let mut toks = Vec::with_capacity(8);
    let mut i = 0;
    while i < chunks.len() {
        let (start, c) = chunks[i];
        if is_iso_start(c) {
            // `2026-04-08 17:05[:00][Z|+02:00]` is one ISO date-time with a space separator.
            let next = chunks.get(i + 1).filter(|&&(_, n)| joins_date(c, n));
            let tok = match next {
                Some(&(nstart, n)) => {
                    i += 1;
                    lex_iso(ctx, &format!("{c}T{n}"), start, nstart + n.len())?
                }
                None => lex_iso(ctx, c, start, start + c.len())?,
            };
            toks.push(tok);
        } else {
            lex_chunk(ctx, c, start, &mut toks)?;
        }
        i += 1;
    }
    Ok(toks)
}

pub(super) fn is_iso_start(c: &str) -> bool {
    let b = c.as_bytes();
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Whether `time` is the time part of an ISO date-time written with a space after `date`
/// (`2026-04-08 17:05:00+02:00`): `HH:MM...` made only of characters such a time can hold.
pub(super) fn joins_date(date: &str, time: &str) -> bool {
    let b = time.as_bytes();
    is_iso_start(date)
        && !date.contains('t')
        && b.len() >= 5
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2] == b':'
        && b.iter()
            .all(|&x| x.is_ascii_digit() || matches!(x, b':' | b'.' | b',' | b'+' | b'-' | b'z'))
}

/// Zone abbreviations and names people append to times. None collides with a grammar word.
pub(super) const ZONE_WORDS: &[&str] = &[
    "utc", "gmt", "ut", "z", "zulu", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt",
    "akst", "akdt", "hst", "hdt", "ast", "adt", "nst", "ndt", "et", "ct", "mt", "pt", "eastern",
    "central", "mountain", "pacific", "bst", "ist", "wet", "west", "cet", "cest", "met", "mest",
    "eet", "eest", "msk", "sast", "cat", "eat", "wat", "jst", "kst", "hkt", "sgt", "pht", "ict",
    "wib", "aest", "aedt", "acst", "acdt", "awst", "nzst", "nzdt", "brt", "art", "clt",
];

/// The byte range within chunk `c` of a time zone name or offset, if `c` holds one.
pub(super) fn zone_like(c: &str, first: bool) -> Option<(usize, usize)> {
    let whole = Some((0, c.len()));
    if c.contains('/') || ZONE_WORDS.contains(&c) {
        return whole;
    }
    // `utc+2`, `gmt-05:00`
    if let Some(rest) = c.strip_prefix("utc").or_else(|| c.strip_prefix("gmt"))
        && let Some(digits) = rest.strip_prefix('+').or_else(|| rest.strip_prefix('-'))
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b':')
    {
        return whole;
    }
    // `+0200`, `-05:00` on their own after a time (a leading one is a `+ duration` typo).
    let b = c.as_bytes();
    if !first && matches!(b.first(), Some(b'+' | b'-')) && is_offset_digits(&b[1..]) {
        return whole;
    }
    // Glued to a time: `17:05+02:00`, `3pm-0500`.
    let pos = c.rfind(['+', '-'])?;
    let before = *b.get(pos.checked_sub(1)?)?;
    ((before.is_ascii_digit() || matches!(before, b'm' | b'.')) && is_offset_digits(&b[pos + 1..]))
        .then_some((pos, c.len()))
}

/// `HHMM` or `HH:MM`.
pub(super) fn is_offset_digits(b: &[u8]) -> bool {
    match b {
        [a, b2, c, d] => [a, b2, c, d].iter().all(|x| x.is_ascii_digit()),
        [a, b2, b':', c, d] => [a, b2, c, d].iter().all(|x| x.is_ascii_digit()),
        _ => false,
    }
}

pub(super) fn lex_iso<'a>(
    ctx: &Ctx<'_>,
    text: &str,
    start: usize,
    end: usize,
) -> Result<Tok<'a>, TimeError> {
    let invalid = |reason: String| TimeError::InvalidDate {
        expr: ctx.expr.to_owned(),
        text: ctx.text(start, end).to_owned(),
        reason,
    };
    let pieces = Pieces::parse(text).map_err(|e| invalid(e.to_string()))?;
    if pieces.time_zone_annotation().is_some() {
        let from = ctx.text(start, end).find('[').map_or(start, |p| start + p);
        return Err(ctx.zone_suffix(from, end));
    }
    // jiff reads second 60 as 59 and offsets up to ±25:59; neither is a real time here.
    if pieces.time().is_some_and(|t| t.second() == 59) && has_leap_second(text) {
        return Err(invalid(
            "seconds run from 00 to 59 (a leap second 60 cannot be scheduled)".to_owned(),
        ));
    }
    if let Some(offset) = pieces.to_numeric_offset()
        && offset.seconds().abs() > 23 * 3600 + 59 * 60
    {
        return Err(invalid("offsets run from -23:59 to +23:59".to_owned()));
    }
    let kind = match (pieces.time(), pieces.to_numeric_offset()) {
        (None, None) => Kind::Date(pieces.date()),
        (None, Some(_)) => return Err(invalid("an offset needs a time of day".to_owned())),
        (Some(time), offset) => Kind::DateTime {
            dt: pieces.date().to_datetime(time),
            offset,
        },
    };
    Ok(Tok { kind, start, end })
}

/// Whether the time part of an ISO text has the seconds field `60` (`17:05:60`, `170560`).
fn has_leap_second(text: &str) -> bool {
    let time = text.split(['t', 'T']).nth(1).unwrap_or("");
    let digits: String = time
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .filter(char::is_ascii_digit)
        .collect();
    digits.get(4..6) == Some("60")
}

/// Length of `a.m.`, `a.m`, `p.m.` or `p.m` at the start of `b`, with whether it is pm.
pub(super) fn dotted_meridiem(b: &[u8]) -> Option<(usize, bool)> {
    let pm = match b {
        [b'a', b'.', b'm', ..] => false,
        [b'p', b'.', b'm', ..] => true,
        _ => return None,
    };
    let len = if b.get(3) == Some(&b'.') { 4 } else { 3 };
    match b.get(len) {
        Some(x) if x.is_ascii_alphanumeric() => None,
        _ => Some((len, pm)),
    }
}

pub(super) fn scan(b: &[u8], from: usize, pred: fn(&u8) -> bool) -> usize {
    b[from..]
        .iter()
        .position(|x| !pred(x))
        .map_or(b.len(), |p| from + p)
}

pub(super) fn lex_chunk<'a>(
    ctx: &Ctx<'_>,
    c: &'a str,
    base: usize,
    toks: &mut Vec<Tok<'a>>,
) -> Result<(), TimeError> {
    let b = c.as_bytes();
    let mut j = 0;
    while j < b.len() {
        let (kind, end) = match b[j] {
            b'0'..=b'9' => {
                let k = scan(b, j, u8::is_ascii_digit);
                match b.get(k) {
                    Some(b':') => {
                        let m_end = scan(b, k + 1, u8::is_ascii_digit);
                        let mut end = m_end;
                        let mut second = None;
                        if b.get(m_end) == Some(&b':') {
                            end = scan(b, m_end + 1, u8::is_ascii_digit);
                            second = Some(&c[m_end + 1..end]);
                        }
                        let minute = &c[k + 1..m_end];
                        if minute.len() != 2 || second.is_some_and(|s| s.len() != 2) {
                            return Err(ctx.invalid_clock(
                                base + j,
                                base + end,
                                "minutes and seconds take two digits, e.g. 3:05pm or 14:30",
                            ));
                        }
                        (
                            Kind::Clock {
                                hour: &c[j..k],
                                minute,
                                second,
                            },
                            end,
                        )
                    }
                    Some(b'.') if b.get(k + 1).is_some_and(u8::is_ascii_digit) => {
                        let end = scan(b, k + 1, u8::is_ascii_digit);
                        (
                            Kind::Num {
                                int: &c[j..k],
                                frac: Some(&c[k + 1..end]),
                            },
                            end,
                        )
                    }
                    Some(b',') if b.get(k + 1).is_some_and(u8::is_ascii_digit) => {
                        let end = scan(b, k + 1, u8::is_ascii_digit);
                        (
                            Kind::DecimalComma {
                                int: &c[j..k],
                                frac: &c[k + 1..end],
                            },
                            end,
                        )
                    }
                    _ => (
                        Kind::Num {
                            int: &c[j..k],
                            frac: None,
                        },
                        k,
                    ),
                }
            }
            b'a'..=b'z' => {
                if let Some((len, pm)) = dotted_meridiem(&b[j..]) {
                    (Kind::Meridiem { pm }, j + len)
                } else {
                    let k = scan(b, j, u8::is_ascii_lowercase);
                    match &c[j..k] {
                        "am" | "pm" => {
                            let end = if b.get(k) == Some(&b'.') { k + 1 } else { k };
                            (
                                Kind::Meridiem {
                                    pm: &c[j..k] == "pm",
                                },
                                end,
                            )
                        }
                        w => (Kind::Word(w), k),
                    }
                }
            }
            // `:15`, minutes past the hour (`every hour at :15`).
            b':' if j == 0 && b.len() == 3 && b[1..].iter().all(u8::is_ascii_digit) => (
                Kind::Clock {
                    hour: "",
                    minute: &c[1..],
                    second: None,
                },
                3,
            ),
            b'+' => (Kind::Plus, j + 1),
            b'-' => (Kind::Minus, j + 1),
            _ => {
                // Only ASCII has been consumed so far, so `j` is a char boundary.
                let ch = c[j..].chars().next().unwrap_or('?');
                return Err(ctx.unsupported(format!("unexpected character {:?}", ch.to_string())));
            }
        };
        toks.push(Tok {
            kind,
            start: base + j,
            end: base + end,
        });
        j = end;
    }
    Ok(())
}
