//! The server's limits and error shape, on loopback with small limits.

use super::*;
use crate::extract::{Json, Path, Query};
use axum::routing::{get, post};
use serde::Deserialize;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

#[derive(Deserialize, serde::Serialize)]
struct Echo {
    a: u32,
}

#[derive(Deserialize)]
struct Page {
    limit: u32,
}

fn app() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "done"
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route("/echo", post(|Json(e): Json<Echo>| async move { Json(e) }))
        .route(
            "/n/{n}",
            get(|Path(n): Path<u32>| async move { n.to_string() }),
        )
        .route(
            "/q",
            get(|Query(p): Query<Page>| async move { p.limit.to_string() }),
        )
        .route(
            "/refuse",
            get(|| async { ApiError(StatusCode::UNPROCESSABLE_ENTITY, "not canonical".into()) }),
        )
}

fn limits() -> ServerLimits {
    ServerLimits {
        header_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_millis(300),
        max_connections: 16,
        max_body_bytes: 1024,
        shutdown_grace: Duration::from_secs(5),
    }
}

async fn call(request: axum::http::Request<Body>) -> (StatusCode, HeaderMap, serde_json::Value) {
    let response = harden(app(), &limits()).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 16).await.unwrap();
    let json = serde_json::from_slice(&body).unwrap_or_else(|_| {
        panic!(
            "not JSON ({} {:?}): {}",
            parts.status,
            parts.headers.get(header::CONTENT_TYPE),
            String::from_utf8_lossy(&body)
        )
    });
    (parts.status, parts.headers, json)
}

fn request(method: &str, uri: &str, content_type: Option<&str>, body: &str) -> Request {
    let mut r = axum::http::Request::builder().method(method).uri(uri);
    if let Some(t) = content_type {
        r = r.header(header::CONTENT_TYPE, t);
    }
    r.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn framework_rejections_answer_json_with_a_4xx() {
    let json = Some("application/json");
    let big = format!("{{\"a\": 1, \"pad\": \"{}\"}}", "x".repeat(2000));
    let cases: Vec<(Request, StatusCode, &str)> = vec![
        (
            request("POST", "/echo", json, "{not json"),
            StatusCode::BAD_REQUEST,
            "as JSON",
        ),
        (
            request("POST", "/echo", json, r#"{"a": "x"}"#),
            StatusCode::BAD_REQUEST,
            "a:",
        ),
        (
            request("POST", "/echo", json, "{}"),
            StatusCode::BAD_REQUEST,
            "missing field",
        ),
        (
            request("POST", "/echo", None, r#"{"a": 1}"#),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            request("POST", "/echo", json, &big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "length limit",
        ),
        (
            request("GET", "/nope", None, ""),
            StatusCode::NOT_FOUND,
            "no route for GET /nope",
        ),
        (
            request("DELETE", "/healthz", None, ""),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
        (
            request("GET", "/echo", None, ""),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
        (
            request("GET", "/q?limit=abc", None, ""),
            StatusCode::BAD_REQUEST,
            "query",
        ),
        (
            request("GET", "/q", None, ""),
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            request("GET", "/n/abc", None, ""),
            StatusCode::BAD_REQUEST,
            "cannot parse `abc`",
        ),
        (
            request("GET", "/hang", None, ""),
            StatusCode::SERVICE_UNAVAILABLE,
            "took longer",
        ),
        // A business refusal keeps its 422.
        (
            request("GET", "/refuse", None, ""),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not canonical",
        ),
    ];
    for (req, want, says) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let (status, headers, body) = call(req).await;
        assert_eq!(status, want, "{what}: {body}");
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "application/json",
            "{what}"
        );
        let text = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {body}"));
        assert!(
            text.to_lowercase().contains(&says.to_lowercase()),
            "{what}: {text:?} should mention {says:?}"
        );
        assert_eq!(body.as_object().unwrap().len(), 1, "{what}: {body}");
    }
    // The 405 still says what is allowed.
    let (_, headers, _) = call(request("DELETE", "/healthz", None, "")).await;
    assert!(headers.get(header::ALLOW).is_some());
    // Good requests are untouched.
    let (status, _, body) = call(request("POST", "/echo", json, r#"{"a": 7}"#)).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, serde_json::json!({ "a": 7 }))
    );
}

async fn start(
    limits: ServerLimits,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with_shutdown(listener, app(), limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

/// One request on a new connection (`Connection: close`): (status, body).
async fn get_once(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A keep-alive connection that made one request and stays open.
async fn idle_keep_alive(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.ends_with(b"\r\n\r\nok") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    s
}

/// A connection that sent part of a request line and stops.
async fn half_open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost:")
        .await
        .unwrap();
    s
}

/// Whether the server closed `s` within `within` (EOF or reset).
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(within, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // e.g. a 408 before the close
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_and_silent_connections_are_closed_after_the_header_timeout() {
    let (addr, stop, server) = start(limits()).await;
    let started = Instant::now();
    let mut conns = Vec::new();
    for i in 0..10 {
        conns.push(if i % 2 == 0 {
            half_open(addr).await
        } else {
            TcpStream::connect(addr).await.unwrap()
        });
    }
    // A keep-alive connection waiting for its next request is timed the same way.
    conns.push(idle_keep_alive(addr).await);
    for c in &mut conns {
        assert!(closed_within(c, Duration::from_secs(3)).await, "left open");
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(350),
        "closed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_closes_a_connection_that_moves_no_bytes() {
    let (addr, stop, server) = start(ServerLimits {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    assert!(started.elapsed() >= Duration::from_millis(250));
    // A handler slower than the idle timeout is not cut by it.
    let (addr2, stop2, server2) = start(ServerLimits {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(200),
        request_timeout: Duration::from_secs(5),
        ..limits()
    })
    .await;
    assert_eq!(get_once(addr2, "/slow").await, (200, "done".into()));
    stop.send(()).unwrap();
    stop2.send(()).unwrap();
    server.await.unwrap().unwrap();
    server2.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_and_half_open_connections_does_not_starve_new_clients() {
    // Timeouts long enough that only the cap can make room.
    let (addr, stop, server) = start(ServerLimits {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(5),
        ..limits()
    })
    .await;
    // A request in flight when the flood arrives is not cut.
    let slow = tokio::spawn(get_once(addr, "/slow"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut flood = Vec::new();
    for i in 0..200 {
        flood.push(if i % 2 == 0 {
            half_open(addr).await
        } else {
            idle_keep_alive(addr).await
        });
    }
    for _ in 0..5 {
        let asked = Instant::now();
        assert_eq!(get_once(addr, "/healthz").await, (200, "ok".into()));
        let took = asked.elapsed();
        assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    }
    assert_eq!(slow.await.unwrap(), (200, "done".into()));
    // The oldest flood connections were evicted; at most the cap is still open.
    let mut closed = 0;
    let mut closed_idle = 0;
    for (i, c) in flood.iter_mut().enumerate() {
        if closed_within(c, Duration::from_millis(20)).await {
            closed += 1;
            closed_idle += i % 2;
        }
    }
    assert!(
        closed_idle > 50,
        "idle keep-alive connections are evicted too"
    );
    assert!(closed >= 200 - 16, "only {closed} of 200 evicted");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_lets_requests_finish() {
    let (addr, stop, server) = start(ServerLimits {
        header_read_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(5),
        ..limits()
    })
    .await;
    let mut idle = idle_keep_alive(addr).await;
    let mut partial = half_open(addr).await;
    let slow = tokio::spawn(get_once(addr, "/slow"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    stop.send(()).unwrap();
    assert!(closed_within(&mut idle, Duration::from_millis(300)).await);
    assert!(closed_within(&mut partial, Duration::from_millis(300)).await);
    assert_eq!(slow.await.unwrap(), (200, "done".into()));
    server.await.unwrap().unwrap();
    // Waited for the request in flight only, not for the grace period.
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[test]
fn the_cap_fits_under_the_open_file_limit() {
    assert_eq!(connection_cap(1024, Some(20_000)), 1024);
    assert_eq!(connection_cap(1024, Some(1024)), 768);
    assert_eq!(connection_cap(1024, None), 1024);
    assert_eq!(connection_cap(1024, Some(100)), 8);
}
