//! Keeping RPC URLs out of what the HTTP APIs show: an RPC URL often carries an API key
//! (`https://mainnet.example/v3/<key>`, `?apikey=…`, `user:pass@`), and the errors of HTTP
//! clients (reqwest, alloy, the Solana client) name the URL they failed on.

/// `text` with everything that looks like a URL (`scheme://…`, up to whitespace, a quote or
/// `<>`) replaced by `<url>`. Closing brackets and punctuation right after a URL are kept
/// (`(https://x/?k=1).` → `(<url>).`).
pub fn redact_urls(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // bytes of `text` already handled
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let sep = search + found;
        // The scheme: letters, digits, `+`, `-`, `.` before `://`, starting with a letter.
        let mut start = sep;
        while start > copied && is_scheme_char(bytes[start - 1]) {
            start -= 1;
        }
        while start < sep && !bytes[start].is_ascii_alphabetic() {
            start += 1;
        }
        let mut end = sep + 3;
        while end < bytes.len() && !is_url_end(bytes[end]) {
            end += 1;
        }
        while end > sep + 3 && is_trailing_punctuation(bytes[end - 1]) {
            end -= 1;
        }
        out.push_str(&text[copied..start]);
        out.push_str("<url>");
        copied = end;
        search = end.max(sep + 3);
    }
    out.push_str(&text[copied..]);
    out
}

/// Every string in `value` (keys excepted) passed through [`redact_urls`].
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if s.contains("://") {
                *s = redact_urls(s);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => map.values_mut().for_each(redact_json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn is_scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

fn is_url_end(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'<' | b'>')
}

fn is_trailing_punctuation(b: u8) -> bool {
    matches!(
        b,
        b')' | b']' | b'}' | b',' | b'.' | b';' | b':' | b'!' | b'?'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_urls_with_keys_and_credentials() {
        let cases = [
            (
                "error sending request for url (https://eth-mainnet.example.com/v2/SECRETKEY123)",
                "error sending request for url (<url>)",
            ),
            (
                "rpc https://user:hunter2@rpc.example.org:8545/path?apikey=SECRET&x=1 failed",
                "rpc <url> failed",
            ),
            (
                "http://127.0.0.1:8545/?apikey=SECRET: connection refused",
                "<url>: connection refused",
            ),
            ("wss://node.example/ws/SECRET", "<url>"),
            ("\"https://a.example/SECRET\"", "\"<url>\""),
            ("'https://a.example/SECRET'.", "'<url>'."),
            (
                "two: https://a.example/K1, http://b.example/K2.",
                "two: <url>, <url>.",
            ),
            ("<https://a.example/SECRET>", "<<url>>"),
            ("tab\thttps://a.example/SECRET\tnext", "tab\t<url>\tnext"),
            ("no scheme ://host/SECRET here", "no scheme <url> here"),
            ("1http://a.example/SECRET", "1<url>"),
            ("émoji ✓ https://a.example/SECRET ✓", "émoji ✓ <url> ✓"),
            ("https://", "<url>"),
        ];
        for (input, want) in cases {
            let got = redact_urls(input);
            assert_eq!(got, want, "input {input:?}");
            assert!(!got.contains("SECRET") && !got.contains("hunter2"));
        }
    }

    #[test]
    fn leaves_text_without_urls_alone() {
        for text in [
            "",
            "watch step failed: block 12 not found",
            "ratio 3:1 at 12:30",
            "0xabc",
            "a/b/c",
        ] {
            assert_eq!(redact_urls(text), text);
        }
    }

    #[test]
    fn redacts_every_string_of_a_json_value() {
        let mut v = serde_json::json!({
            "lastError": "POST https://rpc.example/KEY: 401",
            "history": [{"detail": "via http://x.example/?apikey=KEY"}, {"detail": null}],
            "attempts": 3,
            "message": "0x00ff",
        });
        redact_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "lastError": "POST <url>: 401",
                "history": [{"detail": "via <url>"}, {"detail": null}],
                "attempts": 3,
                "message": "0x00ff",
            })
        );
    }
}
