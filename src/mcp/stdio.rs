//! The stdio boundary: newline-delimited JSON-RPC between the host and rmcp, with the answers
//! JSON-RPC 2.0 requires that rmcp does not give.
//!
//! rmcp ignores a line that is not JSON, answers a malformed message without an `id`, answers a
//! `tools/call` without `params` (or with non-object `arguments`) as "method not found", and
//! refuses batches, which the MCP revision 2025-03-26 requires servers to accept. So stdin is
//! read here, line by line, before rmcp sees it ([`Inbound`]):
//!
//! - a line that is not JSON is answered `-32700` (parse error) with `"id": null`;
//! - a message that is not a JSON-RPC 2.0 request, notification or response is answered
//!   `-32600` (invalid request), with its `id` when one can be read, else `"id": null`;
//! - a request whose `params` do not fit the method (`tools/call` without a tool name,
//!   `arguments` that are not an object, `resources/read` without a `uri`, `params` that are
//!   neither an object nor an array) is answered `-32602` (invalid params);
//! - a batch (a JSON array) is split into its messages when the negotiated revision is
//!   2025-03-26; its requests go to rmcp under private ids, and their answers are gathered
//!   back into one array with the original ids. Other revisions have no batches, so a batch
//!   is answered `-32600` saying so.
//!
//! A line over rmcp's 16 MiB limit is skipped here; `oversized`, which reads stdin before this,
//! has put a stand-in request carrying its id after it, which is answered here.
//!
//! Everything else is passed to rmcp byte for byte. rmcp's answers pass through [`Outbound`],
//! which notes the negotiated revision, gathers batch answers, and gives an error without an
//! `id` the `"id": null` JSON-RPC requires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::hygiene::{INVALID_REQUEST, PARSE_ERROR, check, error};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// The MCP revision that has JSON-RPC batches (added in it, removed in 2025-06-18).
const BATCH_REVISION: &str = "2025-03-26";

/// Ids given to the requests of a batch start with this; no client id is expected to.
const BATCH_ID_PREFIX: &str = "defer-batch:";

/// What the two directions share.
#[derive(Debug, Default)]
struct Shared {
    /// The protocol revision rmcp answered `initialize` with.
    revision: Option<String>,
    /// Batches still waiting for answers, by number.
    batches: HashMap<u64, Batch>,
    /// Private id of a batched request → (its batch, its original id).
    pending: HashMap<String, (u64, Value)>,
    next_batch: u64,
}

#[derive(Debug, Default)]
struct Batch {
    /// Requests sent to rmcp whose answers have not come back.
    waiting: usize,
    answers: Vec<Value>,
}

/// What to do with one line from the client: answer it here, hand messages to rmcp, or both
/// (a batch with refused items and notifications only).
#[derive(Debug, Default, PartialEq)]
struct Action {
    answer: Option<Value>,
    forward: Vec<Vec<u8>>,
}

impl Action {
    fn answer(answer: Value) -> Action {
        Action {
            answer: Some(answer),
            forward: Vec::new(),
        }
    }

    fn forward(forward: Vec<Vec<u8>>) -> Action {
        Action {
            answer: None,
            forward,
        }
    }
}

/// Reads client lines and decides, for each, what rmcp sees and what is answered here.
struct Inbound {
    shared: Arc<Mutex<Shared>>,
}

impl Inbound {
    fn line(&self, line: &[u8]) -> Action {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Action::default();
        }
        let message: Value = match serde_json::from_slice(line) {
            Ok(message) => message,
            Err(e) => {
                return Action::answer(error(
                    Value::Null,
                    PARSE_ERROR,
                    super::hygiene::parse_error_message(&e),
                ));
            }
        };
        let Value::Array(items) = message else {
            return match check(&message, false) {
                Err(answer) => Action::answer(answer),
                Ok(()) => Action::forward(vec![line.to_vec()]),
            };
        };
        let mut shared = lock(&self.shared);
        if items.is_empty() {
            return Action::answer(error(
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: an empty batch".into(),
            ));
        }
        if shared.revision.as_deref() != Some(BATCH_REVISION) {
            let revision = shared.revision.as_deref().unwrap_or("not yet negotiated");
            return Action::answer(error(
                Value::Null,
                INVALID_REQUEST,
                format!(
                    "Invalid Request: batches are part of MCP revision {BATCH_REVISION} only \
                     (this session's revision: {revision}); send one message per line"
                ),
            ));
        }
        let number = shared.next_batch;
        shared.next_batch += 1;
        let mut batch = Batch::default();
        let mut forward = Vec::new();
        for mut item in items {
            if let Err(answer) = check(&item, true) {
                batch.answers.push(answer);
                continue;
            }
            if item.get("method").is_some() {
                if let Some(id) = item.get("id").cloned() {
                    let private = format!("{BATCH_ID_PREFIX}{number}:{}", forward.len());
                    item["id"] = Value::String(private.clone());
                    shared.pending.insert(private, (number, id));
                    batch.waiting += 1;
                } else if item["method"] == "notifications/cancelled" {
                    rename_cancelled(&shared.pending, &mut item);
                }
            }
            forward.push(item.to_string().into_bytes());
        }
        if batch.waiting == 0 {
            // Notifications and responses only, and refused requests: answered now, if at all.
            let answer = (!batch.answers.is_empty()).then(|| Value::Array(batch.answers));
            return Action { answer, forward };
        }
        // The refused ones are answered with the others, in one array.
        shared.batches.insert(number, batch);
        Action::forward(forward)
    }
}

/// A `notifications/cancelled` naming a batched request by its original id names it by the
/// private id rmcp knows.
fn rename_cancelled(pending: &HashMap<String, (u64, Value)>, item: &mut Value) {
    let Some(target) = item.pointer("/params/requestId").cloned() else {
        return;
    };
    if let Some((private, _)) = pending.iter().find(|(_, (_, id))| *id == target) {
        item["params"]["requestId"] = Value::String(private.clone());
    }
}

/// rmcp's answers on their way to the client.
struct Outbound {
    shared: Arc<Mutex<Shared>>,
}

impl Outbound {
    /// What to write for one line rmcp wrote: the line itself, a completed batch, or nothing
    /// yet (an answer gathered into a batch still waiting for others).
    fn line(&self, line: &[u8]) -> Option<Vec<u8>> {
        let Ok(mut message) = serde_json::from_slice::<Value>(line) else {
            return Some(line.to_vec());
        };
        let mut shared = lock(&self.shared);
        if let Some(revision) = message
            .pointer("/result/protocolVersion")
            .and_then(Value::as_str)
            .filter(|_| message.pointer("/result/serverInfo").is_some())
        {
            shared.revision = Some(revision.to_string());
        }
        if message.get("error").is_some() && message.get("id").is_none() {
            message["id"] = Value::Null;
            return Some(message.to_string().into_bytes());
        }
        let private = message.get("id").and_then(Value::as_str).map(String::from);
        let Some((number, id)) = private.and_then(|p| shared.pending.remove(&p)) else {
            return Some(line.to_vec());
        };
        message["id"] = id;
        let batch = shared.batches.get_mut(&number)?;
        batch.answers.push(message);
        batch.waiting -= 1;
        if batch.waiting > 0 {
            return None;
        }
        let batch = shared.batches.remove(&number)?;
        Some(Value::Array(batch.answers).to_string().into_bytes())
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves `service` (rmcp) on `input`/`output` through the pre-processor. Returns when the
/// client closes `input` and every answer has been written.
pub async fn serve<S, R, W>(serve_rmcp: S, input: R, output: W) -> std::io::Result<()>
where
    S: FnOnce(
        tokio::io::DuplexStream,
        tokio::io::DuplexStream,
    ) -> tokio::task::JoinHandle<std::io::Result<()>>,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    const BUFFER: usize = 1 << 16;
    let (mut to_rmcp, rmcp_in) = tokio::io::duplex(BUFFER);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(BUFFER);
    let rmcp = serve_rmcp(rmcp_in, rmcp_out);
    let shared = Arc::new(Mutex::new(Shared::default()));
    let output = Arc::new(tokio::sync::Mutex::new(output));

    let writer = {
        let output = Arc::clone(&output);
        let outbound = Outbound {
            shared: Arc::clone(&shared),
        };
        tokio::spawn(async move {
            let mut lines = BufReader::new(from_rmcp);
            let mut line = Vec::new();
            loop {
                line.clear();
                if lines.read_until(b'\n', &mut line).await? == 0 {
                    return Ok::<(), std::io::Error>(());
                }
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                if let Some(answer) = outbound.line(text) {
                    write_line(&output, &answer).await?;
                }
            }
        })
    };

    let inbound = Inbound { shared };
    let mut lines = BufReader::new(input);
    let mut line = Vec::new();
    let mut rmcp = rmcp;
    let mut rmcp_done = None;
    'lines: loop {
        line.clear();
        let read = tokio::select! {
            read = read_line(&mut lines, &mut line, MAX_LINE) => read?,
            // rmcp stopped on its own: stop reading, as rmcp alone would have.
            done = &mut rmcp => {
                rmcp_done = Some(done);
                break 'lines;
            }
        };
        let action = match read {
            Line::Eof => break,
            // `oversized`, in front of this, follows such a line with a stand-in request that
            // carries its id, answered in `check`.
            Line::Oversized => Action::default(),
            Line::Read => {
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                inbound.line(text.strip_suffix(b"\r").unwrap_or(text))
            }
        };
        if let Some(answer) = action.answer {
            write_line(&output, answer.to_string().as_bytes()).await?;
        }
        for message in action.forward {
            if to_rmcp.write_all(&message).await.is_err() || to_rmcp.write_all(b"\n").await.is_err()
            {
                break 'lines; // rmcp has stopped
            }
        }
    }
    to_rmcp.shutdown().await.ok();
    drop(to_rmcp);
    let done = match rmcp_done {
        Some(done) => done,
        None => rmcp.await,
    };
    done.map_err(std::io::Error::other)??;
    writer.await.map_err(std::io::Error::other)??;
    output.lock().await.flush().await
}

/// The longest message read (rmcp's own limit); a longer one is skipped without being held in
/// memory.
const MAX_LINE: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;

/// What [`read_line`] found.
#[derive(Debug, PartialEq)]
enum Line {
    Read,
    /// A line over the limit, skipped up to its newline.
    Oversized,
    Eof,
}

/// Reads one line (with its newline) into `line`, holding at most `max` bytes of it.
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    let mut oversized = false;
    loop {
        let buf = input.fill_buf().await?;
        if buf.is_empty() {
            return Ok(match (oversized, line.is_empty()) {
                (true, _) => Line::Oversized,
                (false, true) => Line::Eof,
                (false, false) => Line::Read, // a last line without a newline
            });
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let used = chunk.len();
        if !oversized && line.len() + used <= max {
            line.extend_from_slice(chunk);
        } else {
            oversized = true;
            line.clear();
        }
        input.consume(used);
        if done {
            return Ok(if oversized {
                Line::Oversized
            } else {
                Line::Read
            });
        }
    }
}

async fn write_line<W: AsyncWrite + Unpin>(
    output: &tokio::sync::Mutex<W>,
    line: &[u8],
) -> std::io::Result<()> {
    let mut output = output.lock().await;
    output.write_all(line).await?;
    output.write_all(b"\n").await?;
    output.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::hygiene::INVALID_PARAMS;
    use serde_json::json;

    fn inbound(revision: Option<&str>) -> Inbound {
        Inbound {
            shared: Arc::new(Mutex::new(Shared {
                revision: revision.map(String::from),
                ..Shared::default()
            })),
        }
    }

    fn answer(action: Action) -> Value {
        assert!(action.forward.is_empty(), "{action:?}");
        action.answer.expect("an answer")
    }

    #[test]
    fn malformed_lines_are_answered_with_a_null_id() {
        let i = inbound(None);
        let a = answer(i.line(b"this is not JSON"));
        assert_eq!(a["id"], Value::Null);
        assert_eq!(a["error"]["code"], PARSE_ERROR);
        let a = answer(i.line(br#"{"foo": 1}"#));
        assert_eq!(
            (a["id"].clone(), a["error"]["code"].clone()),
            (Value::Null, json!(-32600))
        );
        let a = answer(i.line(br#"{"jsonrpc": "1.0", "id": 7, "method": "ping"}"#));
        assert_eq!(
            (a["id"].clone(), a["error"]["code"].clone()),
            (json!(7), json!(-32600))
        );
        let a = answer(i.line(br#"{"jsonrpc": "2.0", "id": null, "method": "ping"}"#));
        assert_eq!(a["id"], Value::Null);
        assert_eq!(i.line(b"  "), Action::default());
    }

    #[test]
    fn tool_calls_without_usable_params_are_invalid_params() {
        let i = inbound(None);
        for line in [
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_tasks","arguments":3}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":"x"}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{}}"#,
        ] {
            let a = answer(i.line(line.as_bytes()));
            assert_eq!(a["id"], 3, "{line}");
            assert_eq!(a["error"]["code"], INVALID_PARAMS, "{line}");
        }
        let ok = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x"}}"#;
        assert_eq!(i.line(ok), Action::forward(vec![ok.to_vec()]));
    }

    #[test]
    fn batches_need_the_revision_that_has_them() {
        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
        let a = answer(inbound(Some("2025-06-18")).line(batch));
        assert_eq!(a["error"]["code"], INVALID_REQUEST);
        assert_eq!(a["id"], Value::Null);
        assert!(
            a["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("2025-03-26")
        );
        let a = answer(inbound(Some(BATCH_REVISION)).line(b"[]"));
        assert_eq!(a["error"]["code"], INVALID_REQUEST);
    }

    #[test]
    fn a_batch_is_split_and_its_answers_gathered_under_the_original_ids() {
        let shared = Arc::new(Mutex::new(Shared {
            revision: Some(BATCH_REVISION.into()),
            ..Shared::default()
        }));
        let i = Inbound {
            shared: Arc::clone(&shared),
        };
        let o = Outbound { shared };
        let action = i.line(
            br#"[{"jsonrpc":"2.0","id":"a","method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"bad":1}]"#,
        );
        assert_eq!(action.answer, None, "the refused item waits for the others");
        let sent = action.forward;
        assert_eq!(sent.len(), 3);
        let ids: Vec<Value> = sent
            .iter()
            .map(|m| serde_json::from_slice::<Value>(m).expect("json")["id"].clone())
            .collect();
        assert_eq!(ids[1], Value::Null, "the notification keeps having no id");
        let reply = |id: &Value| {
            json!({"jsonrpc": "2.0", "id": id, "result": {}})
                .to_string()
                .into_bytes()
        };
        assert_eq!(o.line(&reply(&ids[2])), None, "waits for the other answer");
        let all: Value =
            serde_json::from_slice(&o.line(&reply(&ids[0])).expect("complete")).expect("json");
        let mut got: Vec<Value> = all
            .as_array()
            .expect("array")
            .iter()
            .map(|a| a["id"].clone())
            .collect();
        got.sort_by_key(Value::to_string);
        assert_eq!(got, vec![json!("a"), json!(2), Value::Null]);
    }

    #[tokio::test]
    async fn long_lines_are_skipped_whole() {
        let input = b"0123456789\nabc\n\nlast".to_vec();
        let mut reader = BufReader::with_capacity(4, &input[..]);
        let mut line = Vec::new();
        let mut got = Vec::new();
        loop {
            line.clear();
            match read_line(&mut reader, &mut line, 5).await.expect("read") {
                Line::Eof => break,
                other => got.push((other, String::from_utf8_lossy(&line).into_owned())),
            }
        }
        assert_eq!(
            got,
            vec![
                (Line::Oversized, String::new()),
                (Line::Read, "abc\n".into()),
                (Line::Read, "\n".into()),
                (Line::Read, "last".into()),
            ]
        );
    }

    #[test]
    fn an_error_without_an_id_gets_a_null_one() {
        let o = Outbound {
            shared: Arc::default(),
        };
        let out = o
            .line(br#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"}}"#)
            .expect("passed on");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["id"], Value::Null);
    }
}
