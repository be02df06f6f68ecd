//! The JSON the core writes itself, `JSON.stringify` of a string (used where swing-store's
//! messages quote a name with `q()`), and the one shape it reads from the kernel's keys.

/// `JSON.stringify(s)`: the exact escaping V8 produces for a string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out.push('"');
    out
}

/// `JSON.stringify` of a JS string held as WTF-8: lone surrogates are escaped as `\udXXX`.
pub fn quote_wtf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for item in crate::wtf8::decode(bytes) {
        match item {
            Ok(c) => push_escaped(&mut out, c),
            Err(unit) => out.push_str(&format!("\\u{unit:04x}")),
        }
    }
    out.push('"');
    out
}

/// Whether JS finds a parsed JSON value (absent: `undefined`) truthy, as swing-store's checks
/// of an export record's fields do.
pub fn truthy(value: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// A JSON array of strings (`vat.names`, `vats.terminated`, ...), or `None` for anything else.
pub fn string_list(text: &str) -> Option<Vec<String>> {
    serde_json::from_str(text).ok()
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_like_json_stringify() {
        assert_eq!(quote("nope"), "\"nope\"");
        assert_eq!(quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(quote("€"), "\"€\"");
    }

    #[test]
    fn escapes_lone_surrogates_like_json_stringify() {
        assert_eq!(super::quote_wtf8(b"\xED\xA0\x80x"), "\"\\ud800x\"");
    }
}
