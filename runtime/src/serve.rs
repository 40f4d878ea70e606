//! The HTTP server of every usd1 service: axum's router behind hyper's HTTP/1.1 connection
//! handling, with the limits a public endpoint needs (docs/decisions.md, "HTTP servers").
//!
//! - **Header read timeout** (hyper's): a connection must deliver a complete request head
//!   within `header_read_timeout` of its accept or of the end of its previous response, or it
//!   is closed. This closes half-open connections (a partial request line, slowloris) and
//!   connections that never send anything, and it is also how long a keep-alive connection
//!   may wait idle for its next request.
//! - **Idle timeout**: a connection on which nothing was read or written for `idle_timeout`
//!   while no handler runs is closed: it covers what the header timer does not (a client
//!   that never reads its response, an unread request body trickled in).
//! - **Request timeout**: a handler, request body included, answers within
//!   `request_timeout` or the request gets a JSON 503.
//! - **Connection cap**: at most `max_connections` connections are served at once (lowered
//!   to fit under the open-file limit, which is raised to its hard limit at start). When the
//!   cap is reached, a new connection **evicts** the least recently active connection that
//!   has no request in flight; only when every connection is mid-request does the server stop
//!   accepting until one finishes. Refusing new connections instead would let a flood of idle
//!   or half-open connections starve `/healthz` and the API until the timeouts fire; evicting
//!   the stalest one keeps a new client's request served at once, and never cuts a request
//!   that is being handled.
//! - **Body limit** (`max_body_bytes`) for the extractors, and JSON errors for everything the
//!   framework rejects ([`harden`]).

use crate::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

/// The limits of a service's HTTP server; [`Default`] is what the services run with.
#[derive(Clone, Debug)]
pub struct ServerLimits {
    /// Time to receive a complete request head, counted from the accept or from the end of
    /// the previous response (so it is also the keep-alive idle time).
    pub header_read_timeout: Duration,
    /// A connection with no byte read or written for this long, and no handler running, is
    /// closed.
    pub idle_timeout: Duration,
    /// A handler (request body included) answers within this, or the request gets a 503.
    pub request_timeout: Duration,
    /// Connections served at once; lowered to fit the process's open-file limit.
    pub max_connections: usize,
    /// The largest request body the extractors accept (413 above).
    pub max_body_bytes: usize,
    /// On shutdown, how long in-flight requests get to finish.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_body_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Open files kept for everything but served connections (store, RPC clients, logs).
const RESERVED_FDS: u64 = 256;
/// hyper's per-connection buffer limit (its default is ~400 KiB): request heads are small.
const MAX_BUF: usize = 64 * 1024;
/// How much of a framework error's text body is kept when it is rewritten as JSON.
const MAX_ERROR_TEXT: usize = 4096;

/// Serves `router` on `listener` with `limits` until SIGINT or SIGTERM, then lets in-flight
/// requests finish (up to `limits.shutdown_grace`).
pub async fn serve(listener: TcpListener, router: Router, limits: ServerLimits) -> io::Result<()> {
    serve_with_shutdown(listener, router, limits, crate::shutdown_signal()).await
}

/// [`serve`], stopping when `shutdown` resolves.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let fd_limit = raise_fd_limit();
    let max = connection_cap(limits.max_connections, fd_limit);
    if max < limits.max_connections {
        tracing::warn!(
            max_connections = max,
            open_file_limit = fd_limit,
            "connection cap lowered to fit the open-file limit"
        );
    }
    let app = harden(router, &limits);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_BUF);
    let http = Arc::new(http);
    let registry = Arc::new(Registry::default());
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slot(&slots, &registry) => permit,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            permit,
            app.clone(),
            http.clone(),
            registry.clone(),
            stopped.clone(),
            limits.idle_timeout,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = registry.lock().len(),
            "connections still open after the shutdown grace period"
        );
    }
    Ok(())
}

/// The router with the API's error shape and limits: unknown routes, 405s and every
/// framework rejection answer `{"error": "..."}` (a framework 422 becomes 400), request
/// bodies are capped at `max_body_bytes`, and handlers time out after `request_timeout`.
/// [`serve`] applies it; tests can use it on a router directly.
pub fn harden(router: Router, limits: &ServerLimits) -> Router {
    router
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout,
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::map_response(json_errors))
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

async fn request_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the request took longer than {limit:?}; try again"),
        )
        .into_response(),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Any 4xx/5xx that is not already JSON (the framework's text/plain rejections, its empty
/// 405) becomes `{"error": "<its text, or the status's reason>"}`; a 422 from the framework
/// becomes 400 (422 is for business refusals, which are JSON already).
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_ERROR_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let text = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    } else {
        text
    };
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::json!({ "error": crate::redact_urls(&text) }).to_string();
    Response::from_parts(parts, Body::from(body))
}

/// Raises the soft open-file limit to the hard one; returns the soft limit in force.
#[cfg(unix)]
pub fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    // An unlimited hard limit cannot be the soft one for open files: take the kernel's
    // usual ceiling then.
    let target = limit.rlim_max.min(1 << 20);
    if limit.rlim_cur < target {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = target;
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
    Some(limit.rlim_cur as u64)
}

/// Raises the soft open-file limit to the hard one; returns the soft limit in force.
#[cfg(not(unix))]
pub fn raise_fd_limit() -> Option<u64> {
    None
}

/// `wanted`, lowered so that served connections leave [`RESERVED_FDS`] open files.
fn connection_cap(wanted: usize, fd_limit: Option<u64>) -> usize {
    let fits = fd_limit.map_or(usize::MAX, |l| {
        usize::try_from(l.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX)
    });
    wanted
        .min(fits)
        .clamp(8, Semaphore::MAX_PERMITS.min(u32::MAX as usize))
}

async fn accept_failed(e: io::Error) {
    // A client that went away between its connect and our accept: nothing to wait for.
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    // Out of open files or memory: give connections time to close instead of spinning.
    tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A connection slot: a free one, or one freed by evicting the least recently active
/// connection with no request in flight; waits while every connection is mid-request.
async fn slot(slots: &Arc<Semaphore>, registry: &Registry) -> OwnedSemaphorePermit {
    loop {
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return permit;
        }
        registry.evict_one();
        // The semaphore is never closed, so only the timeout can fail this.
        if let Ok(Ok(permit)) =
            tokio::time::timeout(Duration::from_millis(50), slots.clone().acquire_owned()).await
        {
            return permit;
        }
    }
}

/// Milliseconds on a monotonic clock private to this module.
fn clock_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// What the accept loop and the connection's own task know of a connection.
#[derive(Default)]
struct Conn {
    /// Requests from their handler's call until their response body is done.
    busy: AtomicUsize,
    /// Handlers running.
    handling: AtomicUsize,
    /// [`clock_ms`] of the last byte read or written, or request started or finished.
    last_active: AtomicU64,
    /// Already asked to close (not chosen again).
    evicting: AtomicBool,
    evict: Notify,
}

impl Conn {
    fn touch(&self) {
        self.last_active.store(clock_ms(), Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self) -> (u64, Arc<Conn>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::default());
        conn.touch();
        self.lock().insert(id, conn.clone());
        (id, conn)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Asks the least recently active connection with no request in flight to close;
    /// false when every connection is mid-request.
    fn evict_one(&self) -> bool {
        let conns = self.lock();
        let victim = conns
            .values()
            .filter(|c| c.busy.load(Ordering::Relaxed) == 0 && !c.evicting.load(Ordering::Relaxed))
            .min_by_key(|c| c.last_active.load(Ordering::Relaxed));
        match victim {
            Some(c) => {
                c.evicting.store(true, Ordering::Relaxed);
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Counts a request as in flight from its handler's call until its response body is done.
struct Busy(Arc<Conn>);

impl Busy {
    fn new(conn: Arc<Conn>) -> Self {
        conn.busy.fetch_add(1, Ordering::Relaxed);
        conn.touch();
        Self(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// Counts a handler as running.
struct Handling(Arc<Conn>);

impl Handling {
    fn new(conn: Arc<Conn>) -> Self {
        conn.handling.fetch_add(1, Ordering::Relaxed);
        Self(conn)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A response body that keeps its request counted as in flight until it is done.
struct GuardedBody {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, noting when bytes move.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.conn.touch();
        }
        polled
    }
}

impl Tracked {
    fn wrote(&self, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &polled {
            if *n > 0 {
                self.conn.touch();
            }
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Serves one connection until it ends, is evicted, idles out, or the server stops. The
/// socket is closed before the slot (`_permit`) is given back.
async fn connection(
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    app: Router,
    http: Arc<hyper::server::conn::http1::Builder>,
    registry: Arc<Registry>,
    mut stopped: watch::Receiver<bool>,
    idle_timeout: Duration,
) {
    let (id, conn) = registry.add();
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: conn.clone(),
    });
    let service = {
        let conn = conn.clone();
        hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let busy = Busy::new(conn.clone());
            let handling = Handling::new(conn.clone());
            let app = app.clone();
            async move {
                let response = tower::ServiceExt::oneshot(app, request).await;
                drop(handling);
                response.map(|r| r.map(|inner| GuardedBody { inner, _busy: busy }))
            }
        })
    };
    let served = http.serve_connection(io, service);
    tokio::pin!(served);
    let mut check = tokio::time::interval(
        (idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)),
    );
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let idle_ms = idle_timeout.as_millis() as u64;
    let mut stopping = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection closed");
                }
                break;
            }
            () = conn.evict.notified() => {
                if conn.busy.load(Ordering::Relaxed) == 0 {
                    tracing::debug!("connection evicted for a new one (connection cap)");
                    break;
                }
                // A request arrived since it was chosen: keep it.
                conn.evicting.store(false, Ordering::Relaxed);
            }
            _ = stopped.changed(), if !stopping => {
                // Nothing in flight (idle, or a request head still incomplete): close now;
                // otherwise let hyper finish the request and close after its response.
                if conn.busy.load(Ordering::Relaxed) == 0 {
                    break;
                }
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
            _ = check.tick() => {
                let quiet = clock_ms().saturating_sub(conn.last_active.load(Ordering::Relaxed));
                if conn.handling.load(Ordering::Relaxed) == 0 && quiet >= idle_ms {
                    tracing::debug!(idle_ms = quiet, "connection idle; closing it");
                    break;
                }
            }
        }
    }
    registry.remove(id);
}

#[cfg(test)]
mod tests;
