//! What the services' HTTP API tests share (feature `test-util`: dev-dependencies only).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;

/// `request` served by `app`: its status and its JSON body. Panics (a test failure) unless
/// the answer says it is JSON and is.
pub async fn json_answer(
    app: axum::Router,
    request: Request<Body>,
) -> (StatusCode, serde_json::Value) {
    let shown = format!("{} {}", request.method(), request.uri());
    let response = app.oneshot(request).await.expect("the router answers");
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
        "{shown}"
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body under 1 MiB");
    let json = serde_json::from_slice(&body).expect("a JSON body");
    (status, json)
}

/// Opens the sled database at `path` again after its last handle was dropped: sled lets go
/// of the file's lock once its background threads have let go of the store, a moment after
/// the drop (a test that reopened at once failed, "could not acquire lock", on a loaded
/// machine). Waits up to 10 s for the lock.
pub fn reopen_sled(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("reopening {}: {e}", path.display()),
        }
    }
}
