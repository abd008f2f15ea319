//! Requests as JSON: how MCP's tool arguments, an HTTP body and an HTTP query become an
//! operation's request type, with one wording for what does not fit.
//!
//! Every JSON front end reads requests through [`from_json`], so the same bad request gets the
//! same answer over MCP (either transport) and HTTP. `serde_path_to_error` names the field
//! that did not fit (`key_points[1]`); serde's own words for the problem are put in plain
//! terms ("must be a string, not the number 30").

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// `value` as the request `T`. Absent and `null` optional fields take their defaults; an
/// unknown field is refused, naming the fields there are.
pub fn from_json<T: DeserializeOwned>(value: Value) -> Result<T> {
    let value = match value {
        // No arguments at all (`arguments` left out, an empty body) mean no fields.
        Value::Null => Value::Object(Map::new()),
        other => other,
    };
    if !value.is_object() {
        return Err(Error::Request {
            field: String::new(),
            reason: format!(
                "the request must be a JSON object of named fields, not {}",
                describe(&value)
            ),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        Error::Request {
            field: if field == "." { String::new() } else { field },
            reason: reword(&e.into_inner().to_string()),
        }
    })
}

/// A request from the bytes of an HTTP body (empty means `{}`).
pub fn from_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return from_json(Value::Null);
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| Error::Request {
        field: String::new(),
        reason: format!("the request body is not valid JSON ({e})"),
    })?;
    from_json(value)
}

/// A request from an HTTP query string (`status=failed&limit=10`); each value is a string, and
/// the request's own types read numbers and booleans from it.
pub fn from_query<T: DeserializeOwned>(query: &str) -> Result<T> {
    let mut map = Map::new();
    for (key, value) in form_pairs(query) {
        let value = match value.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            text => match text.parse::<u64>() {
                Ok(n) => Value::from(n),
                Err(_) => Value::String(value),
            },
        };
        map.insert(key, value);
    }
    from_json(Value::Object(map))
}

/// `a=1&b=x%20y` as pairs, percent- and plus-decoded.
fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// serde's message in words a person (or a model) reads: `invalid type: integer `30`,
/// expected a string` becomes `must be a string, not the number 30`.
fn reword(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return format!(
                "must be {}, not {}",
                expected_words(expected),
                found_words(found)
            );
        }
    }
    message.to_string()
}

fn expected_words(expected: &str) -> String {
    match expected {
        "u32" | "a u32" => "a whole number from 0 to 4294967295".into(),
        "u64" | "usize" => "a whole number of at least 0".into(),
        "i64" | "i32" => "a whole number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "a list".into(),
        "a map" => "an object".into(),
        other if other.starts_with("struct ") => "an object".into(),
        other => other.to_string(),
    }
}

fn found_words(found: &str) -> String {
    let inner = |prefix: &str| {
        found
            .strip_prefix(prefix)
            .map(|v| v.trim_matches('`').to_string())
    };
    if let Some(n) = inner("integer ").or_else(|| inner("floating point ")) {
        return format!("the number {n}");
    }
    if let Some(b) = inner("boolean ") {
        return b;
    }
    if let Some(s) = found.strip_prefix("string ") {
        return format!("the string {s}");
    }
    match found {
        "sequence" => "a list".into(),
        "map" => "an object".into(),
        "unit value" | "null" => "null".into(),
        other => other.to_string(),
    }
}

/// A value as a message shows it.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", crate::error::quote_value(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// For a list field: `null` means the empty list, as leaving it out does.
pub fn null_as_empty<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// For a `bool` field: `null` means `false`, as leaving it out does.
pub fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// A list of one kind given as a list, as one value, or (in a query string) as a
/// comma-separated string: `"failed"`, `["failed", "scheduled"]`, `"failed,scheduled"`.
pub fn one_or_many<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
        Nothing(()),
    }
    let items: Vec<String> = match Raw::deserialize(d) {
        Ok(Raw::One(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Ok(Raw::Many(items)) => items,
        Ok(Raw::Nothing(())) => Vec::new(),
        Err(_) => {
            return Err(serde::de::Error::custom(
                "must be a name or a list of names, e.g. [\"scheduled\"]",
            ));
        }
    };
    items
        .iter()
        .map(|item| item.parse().map_err(serde::de::Error::custom))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        when: String,
        #[serde(default, deserialize_with = "null_as_empty")]
        key_points: Vec<String>,
        #[serde(default)]
        max_retries: Option<u32>,
        #[serde(default, deserialize_with = "null_as_false")]
        dry_run: bool,
        #[serde(default, deserialize_with = "one_or_many")]
        status: Vec<crate::record::Status>,
    }

    fn error(value: Value) -> String {
        from_json::<Probe>(value).expect_err("refused").to_string()
    }

    #[test]
    fn a_field_that_does_not_fit_is_named_in_plain_words() {
        assert_eq!(
            error(json!({"when": 30})),
            "when: must be a string, not the number 30"
        );
        assert_eq!(
            error(json!({"when": "1h", "key_points": ["a", 2]})),
            "key_points[1]: must be a string, not the number 2"
        );
        assert_eq!(
            error(json!({"when": "1h", "max_retries": -1})),
            "max_retries: must be a whole number from 0 to 4294967295, not the number -1"
        );
        assert_eq!(
            error(json!({"when": "1h", "dry_run": "true"})),
            "dry_run: must be true or false, not the string \"true\""
        );
        assert!(error(json!({})).contains("missing field `when`"));
        let unknown = error(json!({"when": "1h", "task_id": "x"}));
        assert!(
            unknown.contains("unknown field `task_id`") && unknown.contains("`when`"),
            "{unknown}"
        );
        assert_eq!(
            error(json!({"when": "1h", "status": "later"})),
            "status: unknown status \"later\": use one of scheduled, executing, completed, \
             failed, cancelled"
        );
        assert!(error(json!([1])).contains("JSON object"));
    }

    #[test]
    fn nulls_and_absent_fields_take_their_defaults() {
        let p: Probe = from_json(json!({"when": "1h", "key_points": null, "dry_run": null,
            "max_retries": null, "status": null}))
        .expect("accepted");
        assert!(p.key_points.is_empty() && !p.dry_run && p.max_retries.is_none());
        assert!(p.status.is_empty());
        let p: Probe = from_json(json!({"when": "1h", "status": "failed,scheduled"})).expect("ok");
        assert_eq!(p.status.len(), 2);
        let p: Probe = from_json(json!({"when": "1h", "status": ["failed"]})).expect("ok");
        assert_eq!(p.status, vec![crate::record::Status::Failed]);
    }

    #[test]
    fn queries_and_bodies_read_like_json() {
        let p: Probe =
            from_query("when=in%202h&max_retries=3&dry_run=true&status=failed").expect("query");
        assert_eq!(p.when, "in 2h");
        assert_eq!(p.max_retries, Some(3));
        assert!(p.dry_run);
        let p: Probe = from_query("when=tomorrow+9am").expect("plus is a space");
        assert_eq!(p.when, "tomorrow 9am");
        let e = from_body::<Probe>(b"{not json").expect_err("refused");
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        assert!(
            from_body::<Probe>(b"  ")
                .expect_err("when is required")
                .to_string()
                .contains("when")
        );
    }
}
