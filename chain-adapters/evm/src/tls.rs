//! TLS for every HTTP client (alloy's RPC transport, reqwest): rustls with the ring provider.
//! reqwest is built without a default provider (aws-lc's C build is slow), so one must be
//! installed before the first client is made; `install` is idempotent and cheap.

/// Makes rustls/ring the process's TLS provider if none is yet.
pub fn install() {
    // Err only means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn https_urls_are_supported() {
        super::install();
        let client = reqwest::Client::builder()
            .build()
            .expect("a TLS-capable client");
        // Nothing listens there: the error must be about connecting, not about https.
        let err = client.get("https://127.0.0.1:9/").send().await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
    }
}
