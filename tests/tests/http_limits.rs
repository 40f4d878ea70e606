//! HTTP servers under a flood (README "HTTP APIs", docs/decisions.md "HTTP servers"): thousands
//! of half-open connections (a partial request line, never finished) and idle keep-alive
//! connections against an attester and the relayer, on loopback. While they are open, and
//! while more keep coming, `/healthz` from a new client answers within 1 s and a transfer
//! completes; the server closes every half-open connection within its header read timeout.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use usd1_e2e::*;

/// Per service, opened at once.
const HALF_OPEN: usize = 3000;
const IDLE: usize = 3000;
/// Concurrent openers per service.
const OPENERS: usize = 32;
/// While the transfer runs: openers per service, and the connections each keeps open.
const CHURNERS: usize = 4;
const CHURN_KEEP: usize = 100;
/// The servers' header read timeout (usd1_runtime::ServerLimits::default()), and the slack
/// allowed on top for a busy machine.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const SLACK: Duration = Duration::from_secs(3);
const HEALTHZ_WITHIN: Duration = Duration::from_secs(1);

fn socket(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

async fn half_open(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await??;
    s.write_all(b"GET /healthz HTT").await?;
    Ok(s)
}

/// A connection that made one keep-alive request, got its answer, and stays open.
async fn idle(addr: SocketAddr) -> std::io::Result<TcpStream> {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: flood\r\n\r\n")
            .await?;
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.ends_with(b"\r\n\r\nok") {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got.extend_from_slice(&buf[..n]);
        }
        Ok(s)
    })
    .await?
}

#[derive(Default)]
struct Flood {
    /// (connection, when it was opened)
    half_open: Vec<(TcpStream, Instant)>,
    idle: Vec<(TcpStream, Instant)>,
    failed: usize,
}

/// Opens `half` half-open and `idle_count` idle connections to `addr`, `OPENERS` at a time.
async fn flood(addr: SocketAddr, half: usize, idle_count: usize) -> Flood {
    let mut openers = JoinSet::new();
    for w in 0..OPENERS {
        let share = |n: usize| n / OPENERS + usize::from(w < n % OPENERS);
        let (h, i) = (share(half), share(idle_count));
        openers.spawn(async move {
            let mut f = Flood::default();
            for k in 0..h.max(i) {
                if k < h {
                    match half_open(addr).await {
                        Ok(s) => f.half_open.push((s, Instant::now())),
                        Err(_) => f.failed += 1,
                    }
                }
                if k < i {
                    match idle(addr).await {
                        Ok(s) => f.idle.push((s, Instant::now())),
                        Err(_) => f.failed += 1,
                    }
                }
            }
            f
        });
    }
    let mut all = Flood::default();
    while let Some(f) = openers.join_next().await {
        let f = f.unwrap();
        all.half_open.extend(f.half_open);
        all.idle.extend(f.idle);
        all.failed += f.failed;
    }
    all
}

/// How long after `opened` the server closed each connection (None: not by `opened` +
/// `HEADER_TIMEOUT` + `SLACK`).
async fn closed_after(conns: Vec<(TcpStream, Instant)>) -> Vec<Option<Duration>> {
    let mut waits = JoinSet::new();
    for (mut s, opened) in conns {
        waits.spawn(async move {
            let deadline = tokio::time::Instant::from_std(opened + HEADER_TIMEOUT + SLACK);
            let mut buf = [0u8; 256];
            loop {
                match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
                    Err(_) => return None,
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(opened.elapsed()),
                    Ok(Ok(_)) => continue,
                }
            }
        });
    }
    let mut out = Vec::new();
    while let Some(r) = waits.join_next().await {
        out.push(r.unwrap());
    }
    out
}

/// `/healthz` latencies from new clients (a new connection each), per service.
#[derive(Default)]
struct Probes {
    latencies: Vec<(String, Duration)>,
    failures: Vec<String>,
}

/// Asks every service's `/healthz` on a new connection every 100 ms until `stop`.
async fn probe(services: Vec<(String, String)>, stop: Arc<AtomicBool>, out: Arc<Mutex<Probes>>) {
    while !stop.load(Ordering::Relaxed) {
        for (name, url) in &services {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let asked = Instant::now();
            let answer = client.get(format!("{url}/healthz")).send().await;
            let took = asked.elapsed();
            let mut p = out.lock().unwrap();
            match answer {
                Ok(r) if r.status().is_success() => p.latencies.push((name.clone(), took)),
                Ok(r) => p.failures.push(format!("{name}: status {}", r.status())),
                Err(e) => p.failures.push(format!("{name}: {e}")),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keeps opening half-open and idle connections to `addr` until `stop`, each churner keeping
/// its last `CHURN_KEEP`; returns how many it opened.
async fn churn(addr: SocketAddr, stop: Arc<AtomicBool>, opened: Arc<AtomicUsize>) {
    let mut churners = JoinSet::new();
    for _ in 0..CHURNERS {
        let (stop, opened) = (stop.clone(), opened.clone());
        churners.spawn(async move {
            let mut kept = std::collections::VecDeque::new();
            while !stop.load(Ordering::Relaxed) {
                for s in [half_open(addr).await, idle(addr).await]
                    .into_iter()
                    .flatten()
                {
                    opened.fetch_add(1, Ordering::Relaxed);
                    kept.push_back(s);
                }
                while kept.len() > CHURN_KEEP {
                    kept.pop_front();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
    while churners.join_next().await.is_some() {}
}

fn max_latency(p: &Probes, since: usize) -> Duration {
    p.latencies[since..]
        .iter()
        .map(|(_, d)| *d)
        .max()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn floods_of_half_open_and_idle_connections_starve_neither_health_nor_transfers() {
    // The flood's sockets are this process's files too (the services raise their own limit).
    let fd_limit = usd1_runtime::raise_fd_limit().unwrap_or(1024) as usize;
    let churn_fds = 2 * CHURNERS * (CHURN_KEEP + 2) * 2;
    let budget = fd_limit.saturating_sub(1024 + churn_fds) / 2;
    let (half, idle_count) = if HALF_OPEN + IDLE <= budget {
        (HALF_OPEN, IDLE)
    } else {
        (budget / 2, budget / 2)
    };
    eprintln!("open-file limit {fd_limit}: {half} half-open + {idle_count} idle per service");

    let d = devnet("http_limits", |_| {}).await;
    let services = vec![
        ("attester".to_string(), d.attester_urls[0].clone()),
        ("relayer".to_string(), d.relayer_url.clone()),
    ];
    let probes = Arc::new(Mutex::new(Probes::default()));
    let stop_probing = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe(
        services.clone(),
        stop_probing.clone(),
        probes.clone(),
    ));

    // 1. The flood, against both services at once.
    let started = Instant::now();
    let floods: Vec<_> = services
        .iter()
        .map(|(_, url)| tokio::spawn(flood(socket(url), half, idle_count)))
        .collect();
    let mut opened = Vec::new();
    for f in floods {
        opened.push(f.await.unwrap());
    }
    let flood_took = started.elapsed();
    // While the last of them are open (the first close after the header timeout).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during_flood = probes.lock().unwrap().latencies.len();
    let flood_max = max_latency(&probes.lock().unwrap(), 0);
    for ((name, _), f) in services.iter().zip(&opened) {
        eprintln!(
            "{name}: opened {} half-open + {} idle in {flood_took:?} ({} failed to open)",
            f.half_open.len(),
            f.idle.len(),
            f.failed
        );
        assert!(
            f.failed * 100 <= half + idle_count,
            "{name}: {} of {} connections could not be opened",
            f.failed,
            half + idle_count
        );
    }
    eprintln!("/healthz during the flood: {during_flood} answers, slowest {flood_max:?}");

    // 2. The server closes them: half-open ones within the header timeout (or sooner,
    //    evicted for newer connections), idle keep-alive ones too.
    let mut closing = JoinSet::new();
    for ((name, _), f) in services.iter().zip(opened) {
        let name = name.clone();
        closing.spawn(async move {
            let (half_open, idle) = tokio::join!(closed_after(f.half_open), closed_after(f.idle));
            (name, half_open, idle)
        });
    }

    // 3. A transfer while more connections keep coming.
    let stop_churn = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicUsize::new(0));
    let churners: Vec<_> = services
        .iter()
        .map(|(_, url)| tokio::spawn(churn(socket(url), stop_churn.clone(), churned.clone())))
        .collect();
    let before_transfer = probes.lock().unwrap().latencies.len();
    let transfer_started = Instant::now();
    let b = burn(&d, "ethereum", "base", 1_000_000).await;
    wait_confirmed(&d, &b.message_hash).await;
    let transfer_took = transfer_started.elapsed();
    stop_churn.store(true, Ordering::Relaxed);
    for c in churners {
        c.await.unwrap();
    }
    eprintln!(
        "transfer confirmed in {transfer_took:?} while {} more connections were opened",
        churned.load(Ordering::Relaxed)
    );

    while let Some(closed) = closing.join_next().await {
        let (name, half_open, idle) = closed.unwrap();
        for (kind, closed) in [("half-open", half_open), ("idle", idle)] {
            let late = closed.iter().filter(|c| c.is_none()).count();
            let slowest = closed.iter().flatten().max().copied().unwrap_or_default();
            let evicted = closed
                .iter()
                .flatten()
                .filter(|d| **d < HEADER_TIMEOUT - Duration::from_millis(500))
                .count();
            // Closed before the header timeout could have fired: evicted at the cap.
            eprintln!(
                "{name}: {} {kind} connections closed by the server, {evicted} of them \
                 evicted for newer ones at the connection cap, the last after {slowest:?}",
                closed.len() - late
            );
            assert_eq!(
                late,
                0,
                "{name}: {late} {kind} connections still open after {:?}",
                HEADER_TIMEOUT + SLACK
            );
        }
    }

    stop_probing.store(true, Ordering::Relaxed);
    prober.await.unwrap();
    let p = std::mem::take(&mut *probes.lock().unwrap());
    let transfer_max = max_latency(&p, before_transfer);
    let mut sorted: Vec<Duration> = p.latencies.iter().map(|(_, d)| *d).collect();
    sorted.sort();
    eprintln!(
        "/healthz: {} answers, median {:?}, slowest {:?} (during the transfer {transfer_max:?})",
        sorted.len(),
        sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
        sorted.last().copied().unwrap_or_default(),
    );
    assert!(p.failures.is_empty(), "/healthz failed: {:?}", p.failures);
    assert!(during_flood > 0, "no /healthz answer during the flood");
    for (name, took) in &p.latencies {
        assert!(
            *took < HEALTHZ_WITHIN,
            "{name} /healthz took {took:?} (limit {HEALTHZ_WITHIN:?})"
        );
    }
    d.stop().await;
}
