//! How swing-store's error messages show the values in them. Its `Fail` templates render a
//! string JSON-quoted and an object as JSON with its keys sorted (`@endo/errors` renders
//! substitutions unredacted in the debug mode hosts run with), so a message can be matched
//! against swing-store's by the same pattern.

use serde_json::Value;

use crate::json::quote;

/// A JSON value as `@endo/errors` shows it: compact, object keys in sorted order.
pub fn value(value: &Value) -> String {
    let mut out = String::new();
    push(&mut out, value);
    out
}

fn push(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quote(key));
                out.push(':');
                push(out, item);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push(out, item);
            }
            out.push(']');
        }
        Value::String(s) => out.push_str(&quote(s)),
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn objects_show_their_keys_sorted() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"vatID":"v1","endPos":4,"nested":[1,"a",{"b":1,"a":2}]}"#)
                .unwrap();
        assert_eq!(
            super::value(&v),
            r#"{"endPos":4,"nested":[1,"a",{"a":2,"b":1}],"vatID":"v1"}"#
        );
    }
}
