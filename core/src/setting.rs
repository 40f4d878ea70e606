//! What a chain adapter needs to check its own settings: an error naming the field (relative
//! to the chain's entry; the config crate says where the entry is in the file), and the URL
//! rules every chain family shares.

/// A setting of one chain's entry that cannot be used, e.g. `rpc_urls`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidSetting {
    /// The field within the chain's entry (`rpc_urls`, `cosign_tokens`, …).
    pub field: String,
    pub reason: String,
}

impl InvalidSetting {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// At least one node, each an http(s) URL (tried in order, the next when one fails).
pub fn check_rpc_urls(urls: &[String]) -> Result<(), InvalidSetting> {
    if urls.is_empty() {
        return Err(InvalidSetting::new(
            "rpc_urls",
            "must list at least one URL",
        ));
    }
    match urls.iter().find(|u| !is_http(u)) {
        Some(url) => Err(InvalidSetting::new(
            "rpc_urls",
            format!("{url:?} is not an http(s) URL"),
        )),
        None => Ok(()),
    }
}

/// A block explorer URL template: http(s), with `{tx}` where the transaction goes.
pub fn check_explorer_url(url: &str) -> Result<(), InvalidSetting> {
    let invalid = |reason: String| InvalidSetting::new("explorer_tx_url", reason);
    if !is_http(url) {
        return Err(invalid(format!("{url:?} is not an http(s) URL")));
    }
    if !url.contains("{tx}") {
        return Err(invalid(format!(
            "{url:?} has no {{tx}} where the transaction hash goes"
        )));
    }
    Ok(())
}

/// A node's websocket URL (`ws_url`): ws:// or wss://, with a host.
pub fn check_ws_url(url: &str) -> Result<(), InvalidSetting> {
    let invalid = |why: String| InvalidSetting::new("ws_url", format!("{url:?} {why}"));
    let parsed = url::Url::parse(url).map_err(|e| invalid(format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "ws" | "wss") {
        return Err(invalid("is not a ws:// or wss:// URL".into()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host".into()));
    }
    Ok(())
}

fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explorer_urls_are_http_with_a_tx_placeholder() {
        assert!(check_explorer_url("https://etherscan.io/tx/{tx}").is_ok());
        assert!(check_explorer_url("http://127.0.0.1:4000/tx/{tx}?cluster=custom").is_ok());
        let e = check_explorer_url("https://etherscan.io/tx/").unwrap_err();
        assert_eq!(e.field, "explorer_tx_url");
        assert!(e.reason.contains("{tx}"), "{e}");
        let e = check_explorer_url("javascript:alert(1)//{tx}").unwrap_err();
        assert!(e.reason.contains("not an http(s) URL"), "{e}");
    }

    #[test]
    fn ws_urls_are_ws_or_wss_with_a_host() {
        assert!(check_ws_url("ws://127.0.0.1:8545").is_ok());
        assert!(check_ws_url("wss://eth.example/v3/key").is_ok());
        for bad in [
            "http://127.0.0.1:8545",
            "ws://",
            "ws://a b",
            "127.0.0.1:8545",
            "ws://:8545",
            "ws://?x",
            "ws://h:notaport",
        ] {
            let e = check_ws_url(bad).expect_err(bad);
            assert_eq!(e.field, "ws_url");
            assert!(e.reason.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn rpc_urls_are_listed_and_http() {
        assert!(check_rpc_urls(&["http://127.0.0.1:8545".into()]).is_ok());
        assert_eq!(check_rpc_urls(&[]).unwrap_err().field, "rpc_urls");
        let e = check_rpc_urls(&["https://a".into(), "ws://b".into()]).unwrap_err();
        assert!(e.reason.contains("\"ws://b\""), "{e}");
    }
}
