//! Named time zones read straight from their TZif file, before asking jiff's database.
//!
//! jiff's zoneinfo database lists every name under `/usr/share/zoneinfo` (about 600 files in
//! 30 directories) the first time any zone is looked up, even `UTC`, so that it can match
//! names case-insensitively. That walk was a tenth of a `defer schedule`, which needs one
//! zone. Here the zone's own file is read when the name is spelled as its path is; any other
//! case (another spelling, a name that is not a file, a file that is not TZif) goes to jiff,
//! whose answer stands. The directory is the one jiff's database would use: `TZDIR` when it
//! is a directory, else the first of jiff's standard directories that exists (found without
//! a `stat` when the file is there: a directory that holds it exists).

use jiff::tz::TimeZone;

/// The zoneinfo directories jiff's database searches, in its order.
#[cfg(target_os = "linux")]
const STANDARD_DIRS: &[&str] = &[
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/etc/zoneinfo",
];

/// The zone named `name` (an IANA name such as `America/New_York`, or `UTC`), or `None` when
/// neither its file nor jiff's database knows it.
pub fn get(name: &str) -> Option<TimeZone> {
    if name.eq_ignore_ascii_case("utc") {
        return Some(TimeZone::UTC);
    }
    from_file(name).or_else(|| TimeZone::get(name).ok())
}

/// The system's zone: the IANA name `/etc/localtime` links to, as jiff derives it, else what
/// jiff's own search finds (an unnamed zone from the file's contents, for one).
pub fn system() -> Result<TimeZone, jiff::Error> {
    if let Some(zone) = linked_name().and_then(|name| from_file(&name)) {
        return Ok(zone);
    }
    TimeZone::try_system()
}

/// The name after the last `zoneinfo/` in the target of the `/etc/localtime` link.
fn linked_name() -> Option<String> {
    let target = std::fs::read_link("/etc/localtime").ok()?;
    let target = target.to_str()?;
    let at = target.rfind("zoneinfo/")?;
    Some(target[at + "zoneinfo/".len()..].to_string())
}

/// Reads `<zoneinfo dir>/<name>` when `name` is a plain relative path (no `..`, no empty or
/// `.` component, so no name reaches outside the directory). Only on Linux, whose file
/// systems tell `america/new_york` from `America/New_York` (jiff would return the latter's
/// spelling as the zone's name).
#[cfg(target_os = "linux")]
fn from_file(name: &str) -> Option<TimeZone> {
    let plain = !name.is_empty()
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+' | b'.'));
    if !plain {
        return None;
    }
    let tzdir = std::env::var_os("TZDIR").map(std::path::PathBuf::from);
    let dirs = tzdir
        .iter()
        .cloned()
        .chain(STANDARD_DIRS.iter().map(std::path::PathBuf::from));
    for dir in dirs {
        match std::fs::read(dir.join(name)) {
            Ok(data) => return TimeZone::tzif(name, &data).ok(),
            // jiff goes on to the next directory only when this one does not exist.
            Err(_) if !dir.is_dir() => continue,
            Err(_) => return None,
        }
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn from_file(_name: &str) -> Option<TimeZone> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the file gives is what jiff's database gives, for every zone it has.
    #[test]
    fn a_zone_read_from_its_file_is_the_one_jiff_finds() {
        let now = jiff::Timestamp::from_second(1_775_000_000).expect("instant");
        for name in [
            "America/New_York",
            "Europe/Paris",
            "Asia/Kolkata",
            "Australia/Lord_Howe",
        ] {
            let (Some(ours), Ok(theirs)) = (from_file(name), TimeZone::get(name)) else {
                continue;
            };
            assert_eq!(ours.iana_name(), theirs.iana_name(), "{name}");
            for step in 0..24 {
                let at = now + jiff::SignedDuration::from_hours(step * 24 * 15);
                assert_eq!(ours.to_offset(at), theirs.to_offset(at), "{name} at {at}");
            }
        }
    }

    #[test]
    fn names_that_could_leave_the_directory_are_not_read_as_files() {
        for name in [
            "../etc/passwd",
            "/etc/localtime",
            "America//New_York",
            "./UTC",
            "",
            "a b",
        ] {
            assert!(from_file(name).is_none(), "{name:?}");
        }
    }

    #[test]
    fn utc_in_any_case_is_utc_and_unknown_names_are_none() {
        assert_eq!(get("utc"), Some(TimeZone::UTC));
        assert_eq!(get("UTC"), Some(TimeZone::UTC));
        assert!(get("Nowhere/Special").is_none());
    }
}
