//! `filter.response.nulls`: members whose value is `null` taken out of the JSON objects of a proxied answer, every
//! other byte of the answer left as the provider sent it.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

/// The largest answer filtered: a longer one is sent as it came, streamed.
pub const FILTER_LIMIT: usize = 8 * 1024 * 1024;

/// Whether an answer with these headers is JSON Tether can read: `application/json` or `…+json`, not compressed.
pub fn filterable(headers: &HeaderMap) -> bool {
    let encoded =
        headers.get(header::CONTENT_ENCODING).is_some_and(|value| !value.as_bytes().eq_ignore_ascii_case(b"identity"));
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .is_some_and(|kind| {
            kind == "application/json" || (kind.starts_with("application/") && kind.ends_with("+json"))
        });
    let too_long = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok())
        .is_some_and(|length| length > FILTER_LIMIT);
    json && !encoded && !too_long
}

/// The provider's answer with its null members taken out, when it is JSON of at most [`FILTER_LIMIT`] bytes; any
/// other answer goes on as it came (what was read so far, then the rest streamed). Answers the body and whether
/// its length changed.
pub async fn filtered_body(response: reqwest::Response) -> (Body, bool) {
    let mut stream = response.bytes_stream();
    let mut read = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) if read.len() + chunk.len() <= FILTER_LIMIT => read.extend_from_slice(&chunk),
            outcome => {
                let head = futures::stream::iter([Ok::<Bytes, reqwest::Error>(read.freeze()), outcome]);
                return (Body::from_stream(head.chain(stream)), false);
            }
        }
    }
    let read = read.freeze();
    match without_null_members(&read) {
        Some(filtered) if filtered.len() != read.len() => (Body::from(filtered), true),
        _ => (Body::from(read), false),
    }
}

/// `text` without the object members whose value is `null`, at any depth; `None` when nothing changes or the
/// text is not JSON. Elements of arrays stay, `null` or not.
pub fn without_null_members(text: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find(text, b"null")?;
    // Checked first, so the copier below meets only well-formed JSON (nested at most serde_json's 128 levels).
    serde_json::from_slice::<serde::de::IgnoredAny>(text).ok()?;
    let mut copier = Copier { text, at: 0, out: Vec::with_capacity(text.len()) };
    copier.value();
    copier.out.extend_from_slice(&text[copier.at..]);
    (copier.out.len() != text.len()).then_some(copier.out)
}

/// Copies a well-formed JSON text, leaving out null members.
struct Copier<'a> {
    text: &'a [u8],
    at: usize,
    out: Vec<u8>,
}

impl Copier<'_> {
    fn whitespace(&mut self) -> &[u8] {
        let start = self.at;
        while self.text.get(self.at).is_some_and(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
        &self.text[start..self.at]
    }

    fn copy_whitespace(&mut self) {
        let start = self.at;
        self.whitespace();
        self.out.extend_from_slice(&self.text[start..self.at]);
    }

    /// Copies one value (the text is at its first byte).
    fn value(&mut self) {
        self.copy_whitespace();
        match self.text[self.at] {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => {
                let end = self.string_end(self.at);
                self.out.extend_from_slice(&self.text[self.at..end]);
                self.at = end;
            }
            _ => {
                let start = self.at;
                while self.text.get(self.at).is_some_and(|byte| !b" \t\n\r,]}".contains(byte)) {
                    self.at += 1;
                }
                self.out.extend_from_slice(&self.text[start..self.at]);
            }
        }
    }

    /// Where the string starting at `start` (its opening quote) ends, after its closing quote.
    fn string_end(&self, start: usize) -> usize {
        let mut at = start + 1;
        loop {
            match self.text[at] {
                b'\\' => at += 2,
                b'"' => return at + 1,
                _ => at += 1,
            }
        }
    }

    fn array(&mut self) {
        self.out.push(b'[');
        self.at += 1;
        self.copy_whitespace();
        if self.text[self.at] == b']' {
            self.out.push(b']');
            self.at += 1;
            return;
        }
        loop {
            self.value();
            self.copy_whitespace();
            let separator = self.text[self.at];
            self.out.push(separator);
            self.at += 1;
            if separator == b']' {
                return;
            }
        }
    }

    fn object(&mut self) {
        self.out.push(b'{');
        self.at += 1;
        let mut kept = 0;
        loop {
            let before_key = self.at;
            self.whitespace();
            if self.text[self.at] == b'}' {
                self.out.extend_from_slice(&self.text[before_key..self.at]);
                self.out.push(b'}');
                self.at += 1;
                return;
            }
            let key_end = self.string_end(self.at);
            self.at = key_end;
            self.whitespace();
            self.at += 1; // the colon
            self.whitespace();
            let is_null = self.text[self.at..].starts_with(b"null");
            if is_null {
                self.at += 4;
            } else {
                if kept > 0 {
                    self.out.push(b',');
                }
                self.out.extend_from_slice(&self.text[before_key..self.at]);
                self.value();
                kept += 1;
            }
            let before_separator = self.at;
            self.whitespace();
            let separator = self.text[self.at];
            self.at += 1;
            if separator == b'}' {
                self.out.extend_from_slice(&self.text[before_separator..self.at - 1]);
                self.out.push(b'}');
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn filtered(text: &str) -> String {
        without_null_members(text.as_bytes()).map(|bytes| String::from_utf8(bytes).unwrap()).unwrap_or(text.into())
    }

    #[test]
    fn null_members_go_at_every_depth_and_the_rest_stays_byte_for_byte() {
        assert_eq!(filtered(r#"{"a":null,"b":1}"#), r#"{"b":1}"#);
        assert_eq!(filtered(r#"{"b":1,"a":null}"#), r#"{"b":1}"#);
        assert_eq!(filtered(r#"{"a":null}"#), r#"{}"#);
        assert_eq!(filtered(r#"{ "x" : 1.50 , "n" : null , "y" : "null" }"#), r#"{ "x" : 1.50, "y" : "null" }"#);
        assert_eq!(
            filtered(r#"[{"id":"1","owner":{"name":null,"email":"a@b"},"tags":[null,1]},null]"#),
            r#"[{"id":"1","owner":{"email":"a@b"},"tags":[null,1]},null]"#
        );
        assert_eq!(filtered("{\n  \"a\": 1,\n  \"b\": null\n}"), "{\n  \"a\": 1\n}");
        assert_eq!(filtered(r#"{"q\"null":null,"k":"\\"}"#), r#"{"k":"\\"}"#);
        assert_eq!(
            filtered(r#"{"big":123456789012345678901234567890,"z":null}"#),
            r#"{"big":123456789012345678901234567890}"#
        );
    }

    #[test]
    fn text_without_null_members_or_not_json_is_left_alone() {
        for text in [r#"{"a":1}"#, r#"{"a":"null"}"#, r#"[null]"#, "null", r#"{"a":nul"#, "not json null", ""] {
            assert_eq!(without_null_members(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn the_filtered_text_reads_as_the_value_without_its_null_members() {
        fn strip(value: Value) -> Value {
            match value {
                Value::Object(map) => {
                    Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip(v))).collect())
                }
                Value::Array(items) => Value::Array(items.into_iter().map(strip).collect()),
                other => other,
            }
        }
        let value = json!({"a": null, "b": [{"c": null, "d": {"e": null, "f": []}}, {}], "g": {"h": null}, "i": "x"});
        for text in [value.to_string(), serde_json::to_string_pretty(&value).unwrap()] {
            let out: Value = serde_json::from_str(&filtered(&text)).unwrap();
            assert_eq!(out, strip(value.clone()));
        }
    }

    #[test]
    fn only_uncompressed_json_of_a_bounded_length_is_filtered() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
            }
            map
        };
        assert!(filterable(&headers(&[("content-type", "application/json; charset=utf-8")])));
        assert!(filterable(&headers(&[("content-type", "application/vnd.api+json")])));
        assert!(!filterable(&headers(&[("content-type", "text/plain")])));
        assert!(!filterable(&headers(&[("content-type", "application/json"), ("content-encoding", "gzip")])));
        let too_long = (FILTER_LIMIT + 1).to_string();
        assert!(!filterable(&headers(&[("content-type", "application/json"), ("content-length", &too_long)])));
    }
}
