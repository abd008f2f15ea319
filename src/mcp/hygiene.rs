//! Request hygiene for both MCP transports: the JSON-RPC 2.0 answers rmcp does not give.
//!
//! rmcp ignores a message that is not JSON, answers a malformed message without an `id`,
//! answers a `tools/call` without `params` (or with non-object `arguments`) as "method not
//! found". Each message from a client, a line on stdio ([`super::stdio`]) or the body of a POST
//! to `/mcp` ([`refuse_body`]), is checked here first, so the same bad request gets the same
//! code and message over either transport:
//!
//! - not JSON: `-32700` (parse error) with `"id": null`;
//! - not a JSON-RPC 2.0 request, notification or response: `-32600` (invalid request), with its
//!   `id` when one can be read, else `"id": null`;
//! - `params` that do not fit the method (`tools/call` without a tool name, `arguments` that
//!   are not an object, `resources/read` without a `uri`, `params` that are neither an object
//!   nor an array): `-32602` (invalid params).

use serde_json::{Value, json};

pub(super) const PARSE_ERROR: i64 = -32700;
pub(super) const INVALID_REQUEST: i64 = -32600;
pub(super) const INVALID_PARAMS: i64 = -32602;

/// The parse error's message, for a line or a body.
pub(super) fn parse_error_message(e: &serde_json::Error) -> String {
    format!("Parse error: the message is not JSON ({e})")
}

/// The answer to send instead of passing an HTTP body on, or `None` to pass it. A batch is
/// refused: the HTTP transport takes one message per request.
pub fn refuse_body(body: &[u8]) -> Option<Value> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let message: Value = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(e) => return Some(error(Value::Null, PARSE_ERROR, parse_error_message(&e))),
    };
    if message.is_array() {
        return Some(error(
            Value::Null,
            INVALID_REQUEST,
            "Invalid Request: the HTTP transport takes one JSON-RPC message per request, not a \
             batch"
                .into(),
        ));
    }
    check(&message, false).err()
}

/// Checks one message (not a batch); `Err` is the answer to send instead of passing it on.
pub(super) fn check(message: &Value, in_batch: bool) -> Result<(), Value> {
    let Value::Object(fields) = message else {
        return Err(error(
            Value::Null,
            INVALID_REQUEST,
            "Invalid Request: a JSON-RPC message is an object".into(),
        ));
    };
    // The id, when it is one JSON-RPC allows (MCP also forbids null).
    let id = match fields.get("id") {
        Some(id @ Value::String(_)) => Some(id.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Value::Number(n.clone())),
        _ => None,
    };
    let invalid = |why: &str| {
        error(
            id.clone().unwrap_or(Value::Null),
            INVALID_REQUEST,
            format!("Invalid Request: {why}"),
        )
    };
    // The stand-in `oversized` puts after a line too long to read: answered here, with the
    // long line's id when it could be found, else null.
    if fields.get("method").and_then(Value::as_str) == Some(super::oversized::METHOD) {
        let bytes = message
            .pointer("/params/bytes")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        return Err(error(
            id.clone().unwrap_or(Value::Null),
            INVALID_REQUEST,
            super::oversized::message(bytes),
        ));
    }
    if fields.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid("\"jsonrpc\" must be \"2.0\""));
    }
    if fields.contains_key("id") && id.is_none() {
        return Err(invalid("\"id\" must be a string or a whole number"));
    }
    let Some(method) = fields.get("method") else {
        // A response to a request of ours.
        if id.is_some() && (fields.contains_key("result") || fields.contains_key("error")) {
            return Ok(());
        }
        return Err(invalid(
            "expected a request (\"method\" and \"id\"), a notification (\"method\") or a \
             response (\"id\" and \"result\" or \"error\")",
        ));
    };
    let Value::String(method) = method else {
        return Err(invalid("\"method\" must be a string"));
    };
    let Some(id) = id.clone() else {
        return Ok(()); // a notification: never answered, whatever its params
    };
    if in_batch && method == "initialize" {
        return Err(invalid("initialize must not be part of a batch"));
    }
    let bad_params = |why: String| {
        Err(error(
            id.clone(),
            INVALID_PARAMS,
            format!("Invalid params for {method}: {why}"),
        ))
    };
    let params = fields.get("params");
    match params {
        None | Some(Value::Object(_)) | Some(Value::Array(_)) => {}
        Some(other) => return bad_params(format!("params must be an object, not {}", kind(other))),
    }
    let field = |name: &str| params.and_then(|p| p.get(name));
    match method.as_str() {
        "tools/call" => {
            let Some(Value::Object(_)) = params else {
                return bad_params(
                    "params must be an object with the tool's \"name\" and its \"arguments\" \
                     object, e.g. {\"name\": \"list_tasks\", \"arguments\": {}}"
                        .into(),
                );
            };
            match field("name") {
                Some(Value::String(_)) => {}
                None => return bad_params("params.name (the tool's name) is missing".into()),
                Some(other) => {
                    return bad_params(format!(
                        "params.name must be a string, not {}",
                        kind(other)
                    ));
                }
            }
            match field("arguments") {
                None | Some(Value::Null) | Some(Value::Object(_)) => {}
                Some(other) => {
                    return bad_params(format!(
                        "params.arguments must be an object of named arguments, not {}",
                        kind(other)
                    ));
                }
            }
        }
        "resources/read" => match field("uri") {
            Some(Value::String(_)) => {}
            _ => {
                return bad_params(
                    "params.uri (a string such as \"defer://tasks\") is required".into(),
                );
            }
        },
        "initialize" => {
            if !matches!(field("protocolVersion"), Some(Value::String(_))) {
                return bad_params("params.protocolVersion (a string) is required".into());
            }
            if !matches!(field("clientInfo"), Some(Value::Object(_))) {
                return bad_params("params.clientInfo (an object) is required".into());
            }
        }
        _ => {}
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_checked_like_a_line() {
        let answer = refuse_body(b"{not json").expect("refused");
        assert_eq!(answer["error"]["code"], PARSE_ERROR);
        assert_eq!(answer["id"], Value::Null);
        let answer =
            refuse_body(br#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#).expect("refused");
        assert_eq!(answer["error"]["code"], INVALID_PARAMS);
        assert_eq!(answer["id"], 7);
        assert!(refuse_body(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).is_none());
        assert_eq!(
            refuse_body(b"[]").expect("refused")["error"]["code"],
            INVALID_REQUEST
        );
    }
}
