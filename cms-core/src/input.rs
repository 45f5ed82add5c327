//! What is refused at the edge, whatever the route: control characters in addresses, queries,
//! forms and JSON strings. PostgreSQL cannot store a NUL at all (SQLite can), so one rule here
//! keeps the two backends answering alike: a clear 400 before any handler or query runs.
//! Tab, line feed and carriage return are text and pass.

/// True for a character no text field of Keepsake takes: C0 controls but tab, line feed and
/// carriage return, and DEL.
pub fn is_refused(c: char) -> bool {
    (c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// A calendar date written exactly `YYYY-MM-DD` (four-digit year; chrono alone also takes
/// `24-01-01` as the year 24 and `+002024-01-01`).
pub fn iso_date(s: &str) -> Option<chrono::NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// True when `s` holds a refused character ([`is_refused`]).
pub fn has_refused(s: &str) -> bool {
    s.chars().any(is_refused)
}

/// True when percent-decoded bytes hold a refused byte (an address or query string, checked
/// before it is known to be UTF-8).
pub fn decoded_has_refused(raw: &str) -> bool {
    percent_encoding::percent_decode_str(raw).any(|b| b.is_ascii() && is_refused(b as char))
}

/// True when a urlencoded form or query string holds a refused character in a name or value.
pub fn form_has_refused(body: &[u8]) -> bool {
    url::form_urlencoded::parse(body).any(|(k, v)| has_refused(&k) || has_refused(&v))
}

/// True when any string (or object key) in a JSON value holds a refused character.
pub fn json_has_refused(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => has_refused(s),
        serde_json::Value::Array(a) => a.iter().any(json_has_refused),
        serde_json::Value::Object(o) => {
            o.iter().any(|(k, v)| has_refused(k) || json_has_refused(v))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_allowed() {
        assert!(has_refused("a\0b"));
        assert!(has_refused("a\u{1b}[31m"));
        assert!(has_refused("a\u{7f}"));
        assert!(!has_refused("Kit & Joe\tline\r\nnext — ü 💚"));
        assert!(decoded_has_refused("/posts/a%00b"));
        assert!(decoded_has_refused("/posts/a%7Fb"));
        assert!(!decoded_has_refused("/posts/%E2%80%93-caf%C3%A9"));
        assert!(form_has_refused(b"email=a%00b&password=x"));
        assert!(form_has_refused(b"a%01=b"));
        assert!(!form_has_refused(b"q=a+b%0D%0Ac"));
        let v: serde_json::Value = serde_json::from_str(r#"{"t":["x","a\u0000b"]}"#).expect("json");
        assert!(json_has_refused(&v));
        let v: serde_json::Value =
            serde_json::from_str(r#"{"t":"line\nnext\\u0000"}"#).expect("json");
        assert!(!json_has_refused(&v));
    }
}
