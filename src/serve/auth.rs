//! Who may talk to `defer serve`, and from where.
//!
//! - **The token**: 32 random bytes (getrandom), hex, kept in `$DEFER_RUNTIME_DIR/serve.token`
//!   (`0600`, created on first start). `/api/v1` and `/mcp` need `Authorization: Bearer TOKEN`;
//!   the dashboard takes it once from the login link (`/login?token=…`, [`super::login`]) and
//!   keeps it in an `HttpOnly`, `SameSite=Strict` cookie that lasts `--session-days` (30).
//!   Only `/login` and the static `/assets/` answer without it, and `/metrics` with
//!   `--metrics-public` (loopback only: a scraper on this host need not hold the token).
//! - **Host** must name the bound address (or `localhost` on a loopback one, or an
//!   `--allow-host` name): a DNS-rebinding page that points its own name at 127.0.0.1 sends
//!   its name, and is refused.
//! - **Origin**, when a browser sends one, must be this server's; dashboard form posts must
//!   carry it and a CSRF token ([`Auth::csrf`]).
//! - Every answer carries a strict Content-Security-Policy (no inline script or style), and
//!   `nosniff`, `same-origin` referrers, `DENY` framing, `no-store`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::api::problem;
use crate::error::{Arg, Error, PathProblem, Result};

/// The cookie that carries the token for the dashboard.
pub const COOKIE: &str = "defer_session";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where the token lives.
pub fn token_path(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("serve.token")
}

/// Reads the token, `None` when no server has made one yet. A token file others can read is
/// refused rather than used: anyone who has it can run tasks through the executor.
pub fn read_token(runtime_dir: &Path) -> Result<Option<String>> {
    use std::os::unix::fs::MetadataExt;
    let path = token_path(runtime_dir);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) => {
            if !meta.is_file() || meta.mode() & 0o077 != 0 {
                return Err(Error::unsafe_path(&path, PathProblem::LooseToken));
            }
            let text = std::fs::read_to_string(&path).map_err(Error::io("reading", &path))?;
            let token = text.trim().to_string();
            if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(Error::unsafe_path(&path, PathProblem::NoToken));
            }
            Ok(Some(token))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading", &path)(e)),
    }
}

/// Reads the token ([`read_token`]), creating it (`0600`) on first start.
pub fn load_or_create_token(runtime_dir: &Path) -> Result<String> {
    let path = token_path(runtime_dir);
    match read_token(runtime_dir)? {
        Some(token) => Ok(token),
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| Error::Random {
                what: "the token",
                source: std::io::Error::other(e.to_string()),
            })?;
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            crate::fsutil::write_private(&path, format!("{token}\n").as_bytes())?;
            Ok(token)
        }
    }
}

/// `host:port` as a client writes it in a URL and a Host header (`[::1]:8277` for IPv6).
pub fn authority(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// The dashboard's login link for a server bound to `addr`.
pub fn login_url(addr: SocketAddr, token: &str) -> String {
    format!("http://{}/login?token={token}", authority(addr))
}

/// The token and what it is checked against.
#[derive(Debug)]
pub struct Auth {
    token: String,
    /// How long a browser keeps the session cookie, in seconds (`--session-days`).
    session_seconds: u64,
    /// `/metrics` answers without the token (`--metrics-public`, loopback only).
    metrics_public: bool,
    /// A per-process secret the dashboard's forms echo back (double submit is not needed:
    /// the cookie is `SameSite=Strict` and the Origin is checked; this is the second lock).
    csrf: String,
    /// Host header values accepted, lower-case.
    hosts: Vec<String>,
}

/// What `defer serve` was asked about sessions and `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// Days a signed-in browser stays signed in.
    pub session_days: u32,
    /// `/metrics` without the token; the caller has checked the address is loopback.
    pub metrics_public: bool,
}

impl Auth {
    pub fn new(
        token: String,
        bound: SocketAddr,
        extra_hosts: &[String],
        access: Access,
    ) -> Result<Auth> {
        let mut csrf = [0u8; 16];
        getrandom::fill(&mut csrf).map_err(|e| Error::Random {
            what: "the form secret",
            source: std::io::Error::other(e.to_string()),
        })?;
        let port = bound.port();
        let mut hosts = vec![authority(bound)];
        if bound.ip().is_loopback() {
            hosts.push(format!("localhost:{port}"));
        }
        for h in extra_hosts {
            let h = h.trim().to_ascii_lowercase();
            if h.is_empty() || h.contains(['/', ' ', '@']) {
                return Err(Error::invalid_arg(
                    Arg::AllowHost,
                    h,
                    "is not a host name",
                    Some("defer.example.org"),
                ));
            }
            hosts.push(h.clone());
            if !h.contains(':') {
                hosts.push(format!("{h}:{port}"));
            }
        }
        Ok(Auth {
            token,
            session_seconds: u64::from(access.session_days) * 24 * 3600,
            metrics_public: access.metrics_public,
            csrf: csrf.iter().map(|b| format!("{b:02x}")).collect(),
            hosts,
        })
    }

    /// The names the MCP transport's own Host check accepts (the same as ours).
    pub fn allowed_hosts(&self) -> Vec<String> {
        self.hosts.clone()
    }

    pub fn token_for_display(&self) -> &str {
        &self.token
    }

    /// The value dashboard forms carry in their `csrf` field.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Compares in time independent of where the first difference is.
    pub fn token_matches(&self, given: &str) -> bool {
        same(given.as_bytes(), self.token.as_bytes())
    }

    pub fn csrf_matches(&self, given: &str) -> bool {
        same(given.as_bytes(), self.csrf.as_bytes())
    }

    /// `Set-Cookie` for a signed-in browser: the token, kept `--session-days` (a browser
    /// restart does not sign out), never readable by script, never sent by another site.
    pub fn session_cookie(&self) -> HeaderValue {
        HeaderValue::from_str(&format!(
            "{COOKIE}={}; Max-Age={}; HttpOnly; SameSite=Strict; Path=/",
            self.token, self.session_seconds
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("defer_session=; Path=/"))
    }

    /// Which kind of client a path is for.
    fn kind(&self, path: &str) -> Kind {
        if path == "/metrics" {
            return if self.metrics_public {
                Kind::Open
            } else {
                Kind::Machine
            };
        }
        if path.starts_with("/api/") || path == "/mcp" || path.starts_with("/mcp/") {
            Kind::Machine
        } else if path == "/login" || path.starts_with("/assets/") {
            Kind::Open
        } else {
            Kind::Person
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// An Origin is ours when it is `http(s)://` followed by an accepted Host value.
    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        let rest = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        rest.is_some_and(|host| self.hosts.iter().any(|h| h == host))
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries: the bearer header, else (for the dashboard) the cookie.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    // The scheme is case-insensitive (RFC 7235): `bearer`, `BEARER` and `Bearer` alike.
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// Which kind of client a path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/api/…`, `/mcp` and `/metrics`: bearer token, problem+json refusals.
    Machine,
    /// `/login` and `/assets/…` (and `/metrics` with `--metrics-public`): no token needed.
    Open,
    /// Everything else: the session cookie, HTML refusals.
    Person,
}

/// The middleware every request passes.
pub async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let kind = app.auth.kind(request.uri().path());
    let wanted = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let refusal = check(
        &app.auth,
        kind,
        request.method(),
        request.headers(),
        &wanted,
    );
    let mut response = match refusal {
        Some((status, detail)) => refuse(kind, status, &detail),
        None => next.run(request).await,
    };
    secure(response.headers_mut(), kind);
    response
}

/// `None` when the request may go on; else the status and the reason.
fn check(
    auth: &Auth,
    kind: Kind,
    method: &Method,
    headers: &HeaderMap,
    wanted: &str,
) -> Option<(StatusCode, String)> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !auth.host_allowed(host) {
        return Some((
            StatusCode::FORBIDDEN,
            format!(
                "Host {host:?} is not this server's address; use http://{} (or pass \
                 --allow-host NAME to defer serve)",
                auth.hosts.first().map(String::as_str).unwrap_or("")
            ),
        ));
    }
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if let Some(origin) = origin
        && !auth.origin_allowed(origin)
    {
        return Some((
            StatusCode::FORBIDDEN,
            format!("Origin {origin:?} may not use this server (cross-site request refused)"),
        ));
    }
    match kind {
        Kind::Open => None,
        Kind::Machine => match bearer(headers) {
            None => Some((
                StatusCode::UNAUTHORIZED,
                "missing token: send `Authorization: Bearer TOKEN` (the token is in \
                 $DEFER_RUNTIME_DIR/serve.token)"
                    .into(),
            )),
            Some(t) if !auth.token_matches(t) => Some((
                StatusCode::UNAUTHORIZED,
                "wrong token: use the one in $DEFER_RUNTIME_DIR/serve.token".into(),
            )),
            Some(_) => None,
        },
        Kind::Person => {
            if !cookie(headers).is_some_and(|t| auth.token_matches(t)) {
                return Some((
                    StatusCode::UNAUTHORIZED,
                    super::login::not_signed_in(wanted),
                ));
            }
            // A form post must say where it comes from; the handler checks the CSRF field.
            if method == Method::POST && origin.is_none() {
                return Some((
                    StatusCode::FORBIDDEN,
                    "form posts must carry an Origin header (cross-site request refused)".into(),
                ));
            }
            None
        }
    }
}

fn refuse(kind: Kind, status: StatusCode, detail: &str) -> Response {
    match kind {
        Kind::Machine => {
            let kind = match status {
                StatusCode::UNAUTHORIZED => "unauthorized",
                _ => "forbidden",
            };
            let mut response = problem(status, kind, detail);
            if status == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            response
        }
        _ => super::dashboard::message_page(status, "Refused", detail),
    }
}

/// The headers every answer carries.
fn secure(headers: &mut HeaderMap, kind: Kind) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if kind != Kind::Open {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// An empty 303 to `location`, with extra headers.
pub fn see_other(location: &str) -> Response {
    let mut response = (StatusCode::SEE_OTHER, Body::empty()).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
