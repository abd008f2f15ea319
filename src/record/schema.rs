//! JSON Schemas for the record's few hand-serialised values (a stamp, a late-after limit, a
//! series rule): each is a string (or number) with a parser of its own, so the derive cannot
//! see what it accepts. Everything else in the record's schema is derived from the types.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::{LateAfter, Stamp};
use crate::recur::Rule;

impl JsonSchema for Stamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Stamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A UTC instant, YYYY-MM-DDTHH:MM:SSZ (any RFC 3339 instant is read)."
        })
    }
}

impl JsonSchema for LateAfter {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "LateAfter".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [{ "type": "string" }, { "type": "integer", "minimum": 0 }],
            "description": "How late counts as missed: as typed (\"1h\") or seconds."
        })
    }
}

impl JsonSchema for Rule {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Rule".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "The series rule: \"every 1d\" or \"cron 0 9 * * 1-5\"."
        })
    }
}
