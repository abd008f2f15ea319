//! Requests over rmcp's line limit (16 MiB): rmcp drops such a line without a word, so the
//! client would wait for an answer forever. A filter between stdin and rmcp passes every byte
//! through unchanged and, after a line rmcp will drop, adds a small stand-in request with the
//! same id ([`METHOD`]); the server answers it with a JSON-RPC error the client can see, and
//! keeps serving. Memory stays bounded: only the first [`ID_WINDOW`] bytes of a line are kept,
//! to find its id.

use rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The method of the stand-in request; no client sends it.
pub const METHOD: &str = "defer/request_too_large";

/// How much of the start of a line is searched for its `"id"` (clients write it first or
/// near the start; an id further on is not found and the answer carries `"id":null`).
const ID_WINDOW: usize = 64 * 1024;

/// The error a client sees for a request of `bytes` bytes.
pub fn message(bytes: u64) -> String {
    format!(
        "request of {bytes} bytes is over the {} MiB limit and was not read; send less (put \
         long material in a file and pass its path as an artifact)",
        DEFAULT_MAX_LINE_LENGTH / (1024 * 1024)
    )
}

/// Copies `input` to `output`, adding a stand-in request after each line rmcp will drop.
/// Ends when either side closes.
pub async fn filter(mut input: impl AsyncRead + Unpin, mut output: impl AsyncWrite + Unpin) {
    let mut buf = vec![0u8; 64 * 1024];
    // Bytes of the current line so far, and its first `ID_WINDOW` bytes.
    let mut line_len: u64 = 0;
    let mut head: Vec<u8> = Vec::new();
    loop {
        let n = match input.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if output.write_all(&buf[..n]).await.is_err() {
            break;
        }
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let newline = memchr::memchr(b'\n', rest);
            let piece = &rest[..newline.map_or(rest.len(), |i| i + 1)];
            rest = &rest[piece.len()..];
            line_len += piece.len() as u64;
            if head.len() < ID_WINDOW {
                let room = ID_WINDOW - head.len();
                head.extend_from_slice(&piece[..piece.len().min(room)]);
            }
            if newline.is_none() {
                continue;
            }
            // rmcp drops a line whose bytes, newline included, exceed its limit.
            if line_len > DEFAULT_MAX_LINE_LENGTH as u64 {
                let stand_in = stand_in(&head, line_len);
                if output.write_all(stand_in.as_bytes()).await.is_err() {
                    return;
                }
            }
            line_len = 0;
            head.clear();
        }
        if output.flush().await.is_err() {
            break;
        }
    }
    let _ = output.shutdown().await;
}

/// The stand-in request for a dropped line that began with `head` and had `bytes` bytes.
fn stand_in(head: &[u8], bytes: u64) -> String {
    let id = request_id(head).unwrap_or_else(|| "null".into());
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{METHOD}","params":{{"bytes":{bytes}}}}}"#)
        + "\n"
}

/// The raw JSON of the top-level `"id"` member of an object that begins in `head`: a number
/// or a string without escapes (what clients send). `None` when it is not there or is
/// anything else.
fn request_id(head: &[u8]) -> Option<String> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < head.len() {
        match head[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let end = string_end(head, i)?;
                if depth == 1 && &head[i..=end] == b"\"id\"" {
                    let mut j = end + 1;
                    while head.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    if head.get(j) != Some(&b':') {
                        return None;
                    }
                    j += 1;
                    while head.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    return id_value(head, j);
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the quote that closes the string opening at `start`.
fn string_end(head: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < head.len() {
        match head[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// A JSON-RPC id at `at`: an integer, or a string of plain printable characters.
fn id_value(head: &[u8], at: usize) -> Option<String> {
    let first = *head.get(at)?;
    if first == b'"' {
        let end = string_end(head, at)?;
        let inner = &head[at + 1..end];
        let plain = inner
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\' && b != b'"');
        return plain.then(|| String::from_utf8_lossy(&head[at..=end]).into_owned());
    }
    let len = head[at..]
        .iter()
        .take_while(|&&b| b.is_ascii_digit() || b == b'-')
        .count();
    let text = std::str::from_utf8(&head[at..at + len]).ok()?;
    text.parse::<i64>().ok().map(|n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_top_level_id() {
        assert_eq!(
            request_id(br#"{"jsonrpc":"2.0","id":7,"method":"x","params":{"id":9"#),
            Some("7".into())
        );
        assert_eq!(
            request_id(br#"{"params":{"id":9},"id" : "a-1","#),
            Some("\"a-1\"".into())
        );
        assert_eq!(request_id(br#"{"params":{"id":9,"x":"\"id\":3"#), None);
        assert_eq!(request_id(br#"{"id":null}"#), None);
    }
}
