//! The rules every request of the API is held to, written into the generated OpenAPI
//! description so that it is as strict as the handlers (a client generated from it, or a
//! property-based tester, never sends what is refused, and is refused what it may not send).
//!
//! Handlers mark strings with a custom `format` that this module turns into the rule:
//! - `slug`: lower-case letters, digits and single hyphens, at most 120 ([`crate::slug`]);
//! - `line`: text that must not be blank (titles, names);
//! - `date-or-time`: a date (`2024-08-03`) or an RFC 3339 time ([`super::paging`]);
//!
//! and, without a marker, every other string a request carries (a path or query parameter, a
//! JSON field) gets the pattern of [`crate::input`]: no control characters but tab and line
//! breaks. Every integer named `id` or `…_id` is an id from 1 to [`super::MAX_ID`]; every
//! object a request sends refuses unknown fields (JSON bodies are read with
//! `deny_unknown_fields`, uploads take only their `file` parts).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// Any text without the control characters [`crate::input::is_refused`] refuses.
pub const TEXT: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$";
/// Like [`TEXT`], with at least one character that is not white space.
pub const LINE: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*[^\\s\\u0000-\\u001F\\u007F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$";
/// A slug ([`crate::slug::validate`]).
pub const SLUG: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// Writes the rules into an OpenAPI document (as JSON).
pub fn tighten(doc: &mut Value) {
    let mut request_components = BTreeSet::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                    for p in params {
                        let name = p
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        let in_path = p.get("in").and_then(Value::as_str) == Some("path");
                        if in_path
                            && name == "slug"
                            && let Some(s) = p.get_mut("schema").and_then(Value::as_object_mut)
                        {
                            // A slug in an address: anything else names nothing (404).
                            s.entry("format").or_insert(json!("slug"));
                        }
                        if let Some(s) = p.get_mut("schema") {
                            rule(s, &name, &mut request_components);
                        }
                    }
                }
                if let Some(content) = op
                    .pointer_mut("/requestBody/content")
                    .and_then(Value::as_object_mut)
                {
                    for media in content.values_mut() {
                        if let Some(s) = media.get_mut("schema") {
                            rule(s, "", &mut request_components);
                        }
                    }
                }
            }
        }
    }
    // Components a request names, followed through their references (once each).
    let mut done = BTreeSet::new();
    loop {
        let pending: Vec<String> = request_components
            .iter()
            .filter(|c| !done.contains(*c))
            .cloned()
            .collect();
        if pending.is_empty() {
            break;
        }
        for name in pending {
            done.insert(name.clone());
            let mut found = BTreeSet::new();
            if let Some(s) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
                rule(s, "", &mut found);
            }
            request_components.extend(found);
        }
    }
    inline_request_bodies(doc);
}

/// A request body's top-level schema is written out in place rather than referenced: each
/// body is its operation's own (tools that resolve references per operation, schemathesis's
/// coverage phase among them, otherwise mix up the bodies of operations on one path).
fn inline_request_bodies(doc: &mut Value) {
    let components = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or(Value::Null);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(content) = op
                .pointer_mut("/requestBody/content")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for media in content.values_mut() {
                let Some(schema) = media.get_mut("schema") else {
                    continue;
                };
                let target = schema
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .and_then(|name| components.get(name))
                    .cloned();
                if let Some(t) = target {
                    *schema = t;
                }
            }
        }
    }
}

/// Applies the rules to one schema of a request; `name` is the property or parameter it is.
fn rule(s: &mut Value, name: &str, refs: &mut BTreeSet<String>) {
    let Some(obj) = s.as_object_mut() else {
        return;
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str)
        && let Some(c) = r.strip_prefix("#/components/schemas/")
    {
        refs.insert(c.to_string());
        return;
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = obj.get_mut(key).and_then(Value::as_array_mut) {
            for v in list {
                rule(v, name, refs);
            }
        }
    }
    if let Some(items) = obj.get_mut("items") {
        rule(items, "", refs);
    }
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        for (k, v) in props.iter_mut() {
            rule(v, k, refs);
        }
        if !obj.contains_key("additionalProperties") {
            obj.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    if has_type(obj, "integer") && (name == "id" || name.ends_with("_id")) {
        obj.entry("minimum").or_insert(json!(1));
        obj.insert("maximum".into(), json!(super::MAX_ID));
    }
    if !has_type(obj, "string") {
        return;
    }
    match obj.get("format").and_then(Value::as_str) {
        Some("slug") => {
            obj.remove("format");
            obj.insert("pattern".into(), json!(SLUG));
            obj.insert("maxLength".into(), json!(crate::slug::MAX_LEN));
        }
        Some("line") => {
            obj.remove("format");
            obj.insert("pattern".into(), json!(LINE));
        }
        Some("date-or-time") => {
            let nullable = has_type(obj, "null");
            let description = obj.remove("description");
            let mut either = vec![
                json!({"type": "string", "format": "date"}),
                json!({"type": "string", "format": "date-time"}),
            ];
            if nullable {
                either.push(json!({"type": "null"}));
            }
            let mut m = Map::new();
            if let Some(d) = description {
                m.insert("description".into(), d);
            }
            m.insert("anyOf".into(), Value::Array(either));
            *obj = m;
        }
        Some("binary") => {
            // An upload's file: an empty part is no file.
            obj.entry("minLength").or_insert(json!(1));
        }
        Some(_) => {}
        None if obj.contains_key("enum") || obj.contains_key("pattern") => {}
        None => {
            obj.insert("pattern".into(), json!(TEXT));
        }
    }
}

fn has_type(obj: &Map<String, Value>, t: &str) -> bool {
    match obj.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|v| v == t),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_ids_and_objects_of_requests_get_their_rules() {
        let mut doc = json!({
            "paths": {"/x/{id}": {"patch": {
                "parameters": [
                    {"name": "id", "in": "path", "schema": {"type": "integer", "format": "int64"}},
                    {"name": "from", "in": "query", "schema": {"type": ["string", "null"], "format": "date-or-time"}}
                ],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}}},
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Out"}}}}}
            }}},
            "components": {"schemas": {
                "In": {"type": "object", "properties": {
                    "title": {"type": "string", "format": "line"},
                    "slug": {"type": ["string", "null"], "format": "slug"},
                    "body": {"type": "string"},
                    "when": {"type": "string", "format": "date-time"},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "photo_id": {"type": ["integer", "null"]},
                    "nested": {"$ref": "#/components/schemas/Nested"}
                }},
                "Nested": {"type": "object", "properties": {"url": {"type": "string"}}},
                "Out": {"type": "object", "properties": {"title": {"type": "string"}}}
            }}
        });
        tighten(&mut doc);
        let p = &doc["paths"]["/x/{id}"]["patch"]["parameters"];
        assert_eq!(p[0]["schema"]["minimum"], 1);
        assert_eq!(p[0]["schema"]["maximum"], super::super::MAX_ID);
        assert_eq!(p[1]["schema"]["anyOf"][1]["format"], "date-time");
        assert_eq!(p[1]["schema"]["anyOf"][2]["type"], "null");
        let i = &doc["components"]["schemas"]["In"];
        assert_eq!(i["additionalProperties"], false);
        assert_eq!(i["properties"]["title"]["pattern"], LINE);
        assert!(i["properties"]["title"].get("format").is_none());
        assert_eq!(i["properties"]["slug"]["pattern"], SLUG);
        assert_eq!(i["properties"]["body"]["pattern"], TEXT);
        assert!(i["properties"]["when"].get("pattern").is_none());
        assert!(i["properties"]["kind"].get("pattern").is_none());
        assert_eq!(i["properties"]["photo_id"]["maximum"], super::super::MAX_ID);
        let body = &doc["paths"]["/x/{id}"]["patch"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(
            body["properties"]["title"]["pattern"], LINE,
            "the body is written out in place"
        );
        let n = &doc["components"]["schemas"]["Nested"];
        assert_eq!(n["properties"]["url"]["pattern"], TEXT);
        assert_eq!(n["additionalProperties"], false);
        let o = &doc["components"]["schemas"]["Out"];
        assert!(
            o["properties"]["title"].get("pattern").is_none(),
            "answers are left as they are"
        );
    }
}
