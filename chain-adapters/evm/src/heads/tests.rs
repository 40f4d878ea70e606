//! The follower against a fake node: a websocket server on loopback that confirms the
//! `newHeads` subscription and then sends what each test scripts.

use super::*;
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// What the fake node sends once it has confirmed the subscription.
#[derive(Clone)]
enum Script {
    /// These notification results, then it keeps the connection open.
    Heads(Vec<String>),
    /// One message of this many bytes.
    Huge(usize),
    /// Closes the connection before the websocket handshake.
    HangUp,
    /// Confirms the subscription, then closes the socket.
    Close,
}

/// Serves `scripts[i]` to the i-th connection (the last one to any after it); reports each
/// connection on the returned channel.
async fn fake_node(scripts: Vec<Script>) -> (String, mpsc::UnboundedReceiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (connected, connections) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for i in 0.. {
            let (tcp, _) = listener.accept().await.unwrap();
            let script = scripts[i.min(scripts.len() - 1)].clone();
            let _ = connected.send(i);
            tokio::spawn(serve(tcp, script));
        }
    });
    (url, connections)
}

async fn serve(tcp: tokio::net::TcpStream, script: Script) {
    if matches!(script, Script::HangUp) {
        return;
    }
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    // The subscription request: answer it with subscription id 0x1.
    let Some(Ok(Message::Text(request))) = ws.next().await else {
        return;
    };
    let request: serde_json::Value = serde_json::from_str(&request).unwrap();
    assert_eq!(request["method"], "eth_subscribe");
    assert_eq!(request["params"][0], "newHeads");
    let reply = serde_json::json!({"jsonrpc": "2.0", "id": request["id"], "result": "0x1"});
    ws.send(Message::Text(reply.to_string().into()))
        .await
        .unwrap();
    let notification = |result: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"eth_subscription","params":{{"subscription":"0x1","result":{result}}}}}"#
        )
    };
    match script {
        Script::Heads(results) => {
            for r in results {
                if ws
                    .send(Message::Text(notification(&r).into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        Script::HangUp => return,
        Script::Close => {
            let _ = ws.close(None).await;
            return;
        }
        Script::Huge(bytes) => {
            let big = format!("\"{}\"", "a".repeat(bytes));
            let _ = ws.send(Message::Text(notification(&big).into())).await;
        }
    }
    // Held open (answering pings) until the client goes.
    while let Some(Ok(_)) = ws.next().await {}
}

/// Counts heads; `wait_for` returns once `n` have come.
#[derive(Clone, Default)]
struct Counter(Arc<(AtomicUsize, tokio::sync::Notify)>);

impl Counter {
    fn on_head(&self) -> OnHead {
        let me = self.clone();
        Arc::new(move || {
            me.0 .0.fetch_add(1, Ordering::SeqCst);
            me.0 .1.notify_waiters();
        })
    }
    fn count(&self) -> usize {
        self.0 .0.load(Ordering::SeqCst)
    }
    async fn wait_for(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let notified = self.0 .1.notified();
                if self.count() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} heads of {n}", self.count()));
    }
}

/// The follower on a quick clock: every head wakes (no gap) unless a test says otherwise.
fn quick() -> Timing {
    Timing {
        connect_timeout: Duration::from_secs(10),
        silence: Duration::from_secs(60),
        wake_gap: Duration::ZERO,
        first_pause: Duration::from_millis(50),
        max_pause: Duration::from_millis(200),
        steady: Duration::from_secs(30),
    }
}

fn spawn_follow(
    chain: &str,
    url: &str,
    counter: &Counter,
    timing: Timing,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(follow_with(
        chain.into(),
        url.into(),
        counter.on_head(),
        timing,
    ))
}

async fn next_connection(connections: &mut mpsc::UnboundedReceiver<usize>) -> usize {
    tokio::time::timeout(Duration::from_secs(20), connections.recv())
        .await
        .expect("a connection within 20 s")
        .expect("the fake node runs")
}

fn up(chain: &str) -> i64 {
    metrics::HEADS_SUBSCRIBED.with_label_values(&[chain]).get()
}

#[tokio::test]
async fn each_pushed_head_wakes_and_the_gauge_says_subscribed() {
    let header = r#"{"number":"0x10","hash":"0x01"}"#.to_string();
    let (url, _) = fake_node(vec![Script::Heads(vec![header; 3])]).await;
    let heads = Counter::default();
    let task = spawn_follow("heads-a", &url, &heads, quick());
    heads.wait_for(3).await;
    assert_eq!(
        metrics::HEADS_SUBSCRIBED
            .with_label_values(&["heads-a"])
            .get(),
        1
    );
    assert_eq!(
        metrics::HEADS_PUSHED.with_label_values(&["heads-a"]).get(),
        3
    );
    task.abort();
}

#[tokio::test]
async fn a_head_is_a_wake_up_whatever_it_holds() {
    // Not a header at all: still one wake each, and nothing is read from it.
    let junk = vec!["null".into(), "\"not a block\"".into(), "[1,2]".into()];
    let (url, _) = fake_node(vec![Script::Heads(junk)]).await;
    let heads = Counter::default();
    let task = spawn_follow("heads-b", &url, &heads, quick());
    heads.wait_for(3).await;
    task.abort();
}

#[tokio::test]
async fn an_oversized_message_drops_the_connection_and_the_follower_comes_back() {
    let (url, mut connections) = fake_node(vec![
        Script::Huge(MAX_MESSAGE + 1),
        Script::Heads(vec!["{}".into()]),
    ])
    .await;
    let heads = Counter::default();
    let task = spawn_follow("heads-c", &url, &heads, quick());
    assert_eq!(next_connection(&mut connections).await, 0);
    assert_eq!(next_connection(&mut connections).await, 1);
    heads.wait_for(1).await;
    assert_eq!(heads.count(), 1, "the oversized message woke nobody");
    task.abort();
}

#[tokio::test]
async fn a_node_that_hangs_up_is_tried_again_until_it_serves() {
    let (url, mut connections) = fake_node(vec![
        Script::HangUp,
        Script::HangUp,
        Script::Heads(vec!["{}".into()]),
    ])
    .await;
    let heads = Counter::default();
    let task = spawn_follow("heads-d", &url, &heads, quick());
    for i in 0..3 {
        assert_eq!(next_connection(&mut connections).await, i);
    }
    heads.wait_for(1).await;
    assert_eq!(up("heads-d"), 1);
    task.abort();
}

#[tokio::test]
async fn a_closed_socket_sets_the_gauge_to_zero_and_the_follower_not_alloy_reconnects() {
    // Subscribed, then closed; every later connection is refused before the handshake.
    let (url, mut connections) = fake_node(vec![Script::Close, Script::HangUp]).await;
    let heads = Counter::default();
    let task = spawn_follow("heads-e", &url, &heads, quick());
    assert_eq!(next_connection(&mut connections).await, 0);
    // The retry comes from the follower's loop, which has put the gauge down first.
    assert_eq!(next_connection(&mut connections).await, 1);
    assert_eq!(up("heads-e"), 0);
    assert_eq!(heads.count(), 0);
    task.abort();
}

#[tokio::test]
async fn a_silent_subscription_is_dropped_and_made_again() {
    let (url, mut connections) = fake_node(vec![Script::Heads(vec![])]).await;
    let heads = Counter::default();
    let timing = Timing {
        silence: Duration::from_millis(300),
        ..quick()
    };
    let task = spawn_follow("heads-f", &url, &heads, timing);
    assert_eq!(next_connection(&mut connections).await, 0);
    assert_eq!(next_connection(&mut connections).await, 1, "resubscribed");
    task.abort();
}

#[tokio::test]
async fn a_flood_of_heads_wakes_once_at_once_and_once_at_the_gaps_end() {
    let flood = vec!["{}".to_string(); 200];
    let (url, _) = fake_node(vec![Script::Heads(flood)]).await;
    let heads = Counter::default();
    let timing = Timing {
        wake_gap: Duration::from_secs(3),
        ..quick()
    };
    let task = spawn_follow("heads-g", &url, &heads, timing);
    heads.wait_for(1).await;
    let pushed = || metrics::HEADS_PUSHED.with_label_values(&["heads-g"]).get();
    tokio::time::timeout(Duration::from_secs(20), async {
        while pushed() < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every head taken");
    // Read before the gap ends: the first head woke, the rest wait for the owed wake.
    assert_eq!(heads.count(), 1, "200 heads inside one gap");
    heads.wait_for(2).await;
    task.abort();
}

#[test]
fn paced_wakes_fold_heads_inside_the_gap_into_one_at_its_end() {
    let t = Instant::now();
    let ms = |n: u64| t + Duration::from_millis(n);
    let mut p = Paced::new(Duration::from_millis(100));
    assert!(p.head(ms(0)), "the first head wakes at once");
    assert_eq!(p.due(), None);
    assert!(!p.head(ms(10)));
    assert!(!p.head(ms(90)));
    assert_eq!(p.due(), Some(ms(100)), "one wake owed, at the gap's end");
    p.woke(ms(100));
    assert_eq!(p.due(), None);
    assert!(p.head(ms(250)), "past the gap a head wakes at once again");
}
