//! Keeping the spelling of what a change did not touch: a record is parsed into typed fields
//! and `f64`-backed numbers, so without this a rewrite would respell unknown fields.

use serde_json::Value;

/// `new` (a record re-serialised after a change) with every member whose value did not change
/// written exactly as in `original`, the line it replaces.
///
/// A record is parsed into `f64`-backed numbers, so without this an unknown field such as
/// `"custom": 123456789012345678901234567890` came back as `1.2345678901234568e+29`, `1e2`
/// as `100.0` and `-0` as `-0.0` after any change to the record. Members are matched by key,
/// at every level of nested objects; one whose parsed value is the same in both lines keeps
/// its original text, so only what the change touched is written anew. (serde_json's
/// `arbitrary_precision` would keep big numbers but still respell `1e2` as `1e+2`, and it
/// changes the error messages of typed fields, which MCP shows to models.) If either line
/// is not a JSON object, `new` is returned as is.
pub fn keep_spelling(original: &[u8], new: &str) -> String {
    let Ok(original) = std::str::from_utf8(original) else {
        return new.to_string();
    };
    let original = original.strip_suffix('\r').unwrap_or(original);
    merge_spelling(original, new).unwrap_or_else(|| new.to_string())
}

/// The object `new` with members taken from `original` where their values are equal.
fn merge_spelling(original: &str, new: &str) -> Option<String> {
    let old = members(original)?;
    let fresh = members(new)?;
    let mut out = String::with_capacity(new.len() + 16);
    out.push('{');
    for (i, (key, raw)) in fresh.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        let before = old.iter().find(|(k, _)| k == key).map(|(_, r)| r.get());
        out.push_str(&member_text(before, raw.get()));
    }
    out.push('}');
    Some(out)
}

/// The text of one member: the original's when its value is unchanged; a nested object merged
/// member by member; else the new text.
fn member_text(before: Option<&str>, after: &str) -> String {
    let Some(before) = before else {
        return after.to_string();
    };
    if before == after {
        return before.to_string();
    }
    let parsed = |t: &str| serde_json::from_str::<Value>(t).ok();
    match (parsed(before), parsed(after)) {
        (Some(b), Some(a)) if b == a => before.to_string(),
        (Some(Value::Object(_)), Some(Value::Object(_))) => {
            merge_spelling(before, after).unwrap_or_else(|| after.to_string())
        }
        _ => after.to_string(),
    }
}

/// The members of a JSON object, in order, with their raw text.
fn members(text: &str) -> Option<Vec<(String, &serde_json::value::RawValue)>> {
    struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
    impl<'de> serde::de::Visitor<'de> for Visitor<'de> {
        type Value = Vec<(String, &'de serde_json::value::RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(
            self,
            mut map: M,
        ) -> Result<Self::Value, M::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, &'de serde_json::value::RawValue>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let out =
        serde::Deserializer::deserialize_map(&mut de, Visitor(std::marker::PhantomData)).ok()?;
    de.end().ok()?;
    Some(out)
}
