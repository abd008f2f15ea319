//! `/login?token=…&next=/path`: the link `defer serve` prints (and `defer serve
//! --print-login` prints again). A right token sets the session cookie ([`Auth::session_cookie`],
//! `Max-Age` from `--session-days`) and lands on `next` when it is a path on this server,
//! else on `/`.
//!
//! `next` is the one value here an attacker could choose (a link in a phishing mail that sends
//! a freshly signed-in browser elsewhere), so only a plain local path is honoured
//! ([`local_path`]); anything else is ignored, not refused, and lands on `/`.
//!
//! [`Auth::session_cookie`]: super::auth::Auth::session_cookie

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::App;
use super::auth;
use super::dashboard::message_page;

/// The command that prints the login link again, as the refusals name it.
pub const PRINT_LOGIN: &str = "defer serve --print-login";

/// The longest `next` honoured: a path and query a page of ours could have.
const MAX_NEXT: usize = 2048;

pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/login", get(login))
}

#[derive(Debug, Deserialize)]
struct LoginParams {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// Sets the session cookie and goes to `next` (or home).
async fn login(State(app): State<Arc<App>>, Query(params): Query<LoginParams>) -> Response {
    if !app.auth.token_matches(&params.token) {
        return message_page(
            StatusCode::UNAUTHORIZED,
            "Not signed in",
            &format!(
                "This login link does not carry the current token: print the current link \
                 with `{PRINT_LOGIN}` (add --listen ADDR if the server was started with one)."
            ),
        );
    }
    let target = params.next.as_deref().and_then(local_path).unwrap_or("/");
    let mut response = auth::see_other(target);
    response
        .headers_mut()
        .insert(header::SET_COOKIE, app.auth.session_cookie());
    response
}

/// `next` when it is a path on this server: it starts with one `/` (a second would make
/// `//evil.example` another host), holds no backslash (browsers read `/\evil.example` as
/// `//evil.example`), and only visible ASCII (no space, tab or newline, which browsers drop
/// from a URL, so `/<TAB>/evil.example` would become `//evil.example`; nothing a `Location`
/// header cannot carry). A scheme (`http://evil`) cannot start with `/`.
pub fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= MAX_NEXT
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    local.then_some(next)
}

/// The refusal for a page asked for without the session cookie: how to sign in, and how to
/// come back to `wanted` (the path and query asked for) afterwards.
pub fn not_signed_in(wanted: &str) -> String {
    let back = match local_path(wanted) {
        Some(path) if path != "/" => format!(
            " To come back to this page, add &next={} to the link.",
            query_value(path)
        ),
        _ => String::new(),
    };
    format!(
        "Not signed in: open the login link `defer serve` printed when it started \
         (http://…/login?token=…), or print it again with `{PRINT_LOGIN}` (add --listen ADDR \
         if the server was started with one).{back}"
    )
}

/// `text` as a query value: everything but unreserved characters and `/` percent-encoded.
fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_honoured() {
        for good in ["/", "/tasks", "/tasks/t_1?x=1&y=%2F", "/health#top"] {
            assert_eq!(local_path(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "tasks",
            "//evil.example",
            "//evil.example/path",
            "http://evil",
            "https://evil.example/",
            "/\\evil",
            "\\\\evil",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ x",
            "/é",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(MAX_NEXT))), None);
    }

    #[test]
    fn the_refusal_names_the_command_and_the_way_back() {
        let text = not_signed_in("/tasks?status=failed");
        assert!(text.contains("defer serve --print-login"), "{text}");
        assert!(text.contains("&next=/tasks%3Fstatus%3Dfailed"), "{text}");
        assert!(!not_signed_in("/").contains("next="));
        assert!(!not_signed_in("//evil.example").contains("next="));
    }
}
