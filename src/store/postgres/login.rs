//! Logging in without handing the password around.
//!
//! - [`passfile_password`]: libpq's password file (`PGPASSFILE`, else `~/.pgpass`; lines of
//!   `host:port:database:user:password`, `*` matching anything), read when the URL carries no
//!   password. The password can then live in one private file instead of the URL, the
//!   crontab line and the environment of everything the runner starts.
//! - [`without_password`]: the URL an executor gets (`DEFER_DATABASE_URL` with the password
//!   taken out), so a `defer schedule` it runs reaches the runner's store, logging in through
//!   the password file, while no secret sits in its environment (see SECURITY.md).
//! - [`identity`]: which store a URL and schema name, in words and without the password, so
//!   a runner and the `defer` its executor runs can tell whether they share a store.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use postgres::config::Host;

/// The password libpq's password file at `path` gives for the first host `config` names, if
/// the file exists, is private and has a matching line. A file that others can read is
/// ignored with a warning, as libpq ignores it: the password in it may already be known.
pub fn passfile_password(path: &Path, config: &postgres::Config) -> Option<String> {
    let user = config.get_user()?;
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    if meta.mode() & 0o077 != 0 {
        eprintln!(
            "warning: password file {} has group or world access and is ignored; fix it with \
             `chmod 600 {}`",
            crate::output::escape(&path.display().to_string()),
            crate::output::escape(&path.display().to_string())
        );
        return None;
    }
    let text = fs::read_to_string(path).ok()?;
    let (host, localhost) = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => (name.clone(), false),
        // A socket directory matches `localhost` too, as libpq matches it.
        Some(Host::Unix(dir)) => (dir.display().to_string(), true),
        None => ("localhost".to_string(), true),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let database = config.get_dbname().unwrap_or(user);
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(passfile_fields)
        .find(|f| {
            let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
            (matches(&f[0], &host) || (localhost && f[0] == "localhost"))
                && matches(&f[1], &port)
                && matches(&f[2], database)
                && matches(&f[3], user)
        })
        .map(|mut f| f.swap_remove(4))
}

/// The five fields of a password-file line (`\:` and `\\` escape), or `None` for a line
/// that does not have them.
fn passfile_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next().unwrap_or('\\')),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

/// `url` with its password taken out (a URL's `user:password@` and `?password=`, or a
/// `password=` pair of the key/value form), or `None` when the result would not name the same
/// server, database and user without a password (then an executor gets no URL at all, and a
/// `defer schedule` it runs refuses, naming the fix, instead of writing elsewhere).
pub fn without_password(url: &str) -> Option<String> {
    let original: postgres::Config = url.parse().ok()?;
    let stripped = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        strip_url(url)
    } else {
        strip_key_values(url)?
    };
    let parsed: postgres::Config = stripped.parse().ok()?;
    let same = parsed.get_password().is_none()
        && parsed.get_user() == original.get_user()
        && parsed.get_dbname() == original.get_dbname()
        && parsed.get_hosts() == original.get_hosts()
        && parsed.get_ports() == original.get_ports()
        && parsed.get_options() == original.get_options();
    same.then_some(stripped)
}

/// The URL form: `scheme://[user[:password]@]hosts[/db][?params]`.
fn strip_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if user.is_empty() {
                hosts.to_string()
            } else {
                format!("{user}@{hosts}")
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| {
                    let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
                    !key.eq_ignore_ascii_case("password") && !pair.is_empty()
                })
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// The key/value form: `host=db user=me password='s e' dbname=x`, re-quoted without the
/// password pair; `None` when it does not read as pairs.
fn strip_key_values(text: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') || key.is_empty() {
            return None;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next()?);
                } else {
                    value.push(c);
                }
            }
        }
        if key != "password" {
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            out.push(format!("{key}='{quoted}'"));
        }
    }
    Some(out.join(" "))
}

/// `postgres user@host:port/db schema S` for the store a URL and schema name: the same for
/// every spelling of the same URL's parts, and never the password.
pub fn identity(config: &postgres::Config, schema: &str) -> String {
    let user = config.get_user().unwrap_or("");
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    };
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres {user}@{hosts}/{db} schema {schema}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn config(url: &str) -> postgres::Config {
        url.parse().expect("url")
    }

    #[test]
    fn the_password_is_taken_out_of_every_form() {
        for (url, want) in [
            (
                "postgres://me:s3cret@db.example:5433/tasks?sslmode=require",
                "postgres://me@db.example:5433/tasks?sslmode=require",
            ),
            (
                "postgresql://me:p%40ss@h1,h2/tasks?password=again&connect_timeout=5",
                "postgresql://me@h1,h2/tasks?connect_timeout=5",
            ),
            (
                "postgres://me@127.0.0.1/test",
                "postgres://me@127.0.0.1/test",
            ),
            (
                "postgres://:pw@localhost/x?user=me",
                "postgres://localhost/x?user=me",
            ),
            (
                "host=db user=me password='s e\\'cret' dbname=x",
                "host='db' user='me' dbname='x'",
            ),
            ("host=db user=me password=plain", "host='db' user='me'"),
        ] {
            let got = without_password(url).unwrap_or_else(|| panic!("{url} not stripped"));
            assert_eq!(got, want, "{url}");
            let (a, b) = (config(url), config(&got));
            assert!(b.get_password().is_none(), "{got}");
            assert_eq!(a.get_user(), b.get_user());
            assert_eq!(a.get_hosts(), b.get_hosts());
            assert!(!got.contains("cret") && !got.contains("pw") && !got.contains("plain"));
        }
        assert_eq!(without_password("not a url"), None);
    }

    #[test]
    fn identity_names_the_server_database_and_schema_but_no_password() {
        let with = config("postgres://me:s3cret@db:5433/tasks");
        let without = config("postgres://me@db:5433/tasks");
        assert_eq!(
            identity(&with, "defer"),
            "postgres me@db:5433/tasks schema defer"
        );
        assert_eq!(identity(&with, "defer"), identity(&without, "defer"));
        assert_ne!(identity(&with, "defer"), identity(&with, "other"));
        assert_eq!(
            identity(&config("postgres://me@db"), "s"),
            "postgres me@db:5432/me schema s"
        );
    }

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("pgpass");
        fs::write(
            &file,
            "# comment\n\
             other:5432:*:me:wrong-host\n\
             db:5433:tasks:someone:wrong-user\n\
             db:*:tasks:me:right\\:one\n\
             *:*:*:*:fallback\n",
        )
        .expect("write");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
        let found = |url: &str| passfile_password(&file, &config(url));
        assert_eq!(
            found("postgres://me@db:5433/tasks").as_deref(),
            Some("right:one")
        );
        assert_eq!(
            found("postgres://you@elsewhere/x").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            passfile_password(&dir.path().join("none"), &config("postgres://me@db")),
            None
        );
        // Readable by others: ignored, as libpq ignores it.
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(found("postgres://me@db:5433/tasks"), None);
    }
}
