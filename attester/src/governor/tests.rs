//! The governor with a real sled store and the HTTP routes, driven with a fake clock.

use super::*;
use crate::state::AppState;
use crate::store::Store;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use std::sync::{Arc, RwLock};
use tower::ServiceExt;
use usd1_core::BurnBody;

const MESSENGER: B256 = B256::repeat_byte(0x11);
const TOKEN: &str = "governor-admin-token-for-the-unit-tests-0123456789";
const USD1: u128 = 1_000_000;

fn limits(daily: Option<u128>, big: Option<u128>) -> Limits {
    Limits {
        daily_limit: daily.map(|d| d * USD1),
        big_transfer: big.map(|b| b * USD1),
        window_secs: 15,
        big_delay_secs: 8,
    }
}

fn app_state(db: sled::Db, limits: Limits, token: Option<&str>) -> Arc<AppState> {
    let mut chains = BTreeMap::new();
    chains.insert(
        Domain(0),
        ChainGovernor {
            name: "ethereum".into(),
            limits,
            messenger: MESSENGER,
        },
    );
    let names = [
        (Domain(0), "ethereum".to_string()),
        (Domain(6), "base".to_string()),
    ]
    .into_iter()
    .collect();
    let key = alloy::signers::local::PrivateKeySigner::from_bytes(&B256::repeat_byte(7)).unwrap();
    Arc::new(AppState {
        violations: crate::violations::Violations::open(&db).unwrap(),
        waiting: tokio::sync::Semaphore::new(crate::state::MAX_WAITING),
        wakes: Default::default(),
        store: Store::open(db).unwrap(),
        key: crate::signer::EvmAttesterKey::new(key),
        unconfirmed: RwLock::new(Default::default()),
        chains: RwLock::new(Default::default()),
        cosigner: None,
        names,
        governor: Governor::new(chains, token.map(String::from)),
    })
}

fn temporary() -> sled::Db {
    sled::Config::new().temporary(true).open().unwrap()
}

fn message(nonce: u64, units: u128, sender: B256) -> Message {
    Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain(6),
        nonce,
        sender,
        recipient: B256::repeat_byte(0x22),
        destination_caller: B256::ZERO,
        body: BurnBody {
            version: 0,
            burn_token: B256::repeat_byte(0x33),
            mint_recipient: B256::repeat_byte(0x44),
            amount: U256::from(units),
            message_sender: B256::repeat_byte(0x55),
        }
        .encode(),
    }
}

fn tx(nonce: u64) -> B256 {
    B256::with_last_byte(nonce as u8)
}

/// A watcher reads burn `nonce` (USD1 `amount`) of block time `t` as final at `now`.
fn read(s: &AppState, nonce: u64, t: u64, amount: u128, now: u64) -> (B256, Admitted) {
    read_message(s, &message(nonce, amount * USD1, MESSENGER), t, now)
}

fn read_message(s: &AppState, m: &Message, t: u64, now: u64) -> (B256, Admitted) {
    let raw = m.encode();
    let hash = m.hash();
    let admitted = s
        .governor
        .admit(
            s,
            &Final {
                message: m,
                raw: &raw,
                hash: &hash,
                source_tx: &TxRef::from_hash(tx(m.nonce)),
                block: m.nonce,
                block_time: t,
            },
            now,
        )
        .unwrap();
    s.store.blocking().flush().unwrap();
    (hash, admitted)
}

async fn call(
    s: &Arc<AppState>,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let response = crate::api::router(s.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn answer(s: &Arc<AppState>, hash: &B256) -> Value {
    call(s, "GET", &format!("/v1/attestations/{hash:#x}"), None)
        .await
        .1
}

#[tokio::test]
async fn a_big_transfer_is_held_then_signed_once_after_its_delay() {
    let s = app_state(temporary(), limits(Some(100), Some(50)), None);
    let (big, admitted) = read(&s, 1, 1000, 50, 1002);
    assert_eq!(
        admitted,
        Admitted::Held {
            kind: HoldKind::BigTransfer,
            release_at: 1008
        }
    );
    assert_eq!(
        answer(&s, &big).await,
        json!({ "status": "pending_governor", "attestation": null, "releaseAt": 1008, "reason": "big_transfer" })
    );
    let (small, admitted) = read(&s, 2, 1001, 49, 1003);
    assert_eq!(admitted, Admitted::Signed, "below the threshold");
    assert_eq!(answer(&s, &small).await["status"], "complete");
    // By transaction too.
    let (_, by_tx) = call(&s, "GET", &format!("/v1/messages/0/{:#x}", tx(1)), None).await;
    assert_eq!(by_tx["messages"][0]["status"], "pending_governor");
    assert_eq!(by_tx["messages"][0]["messageHash"], format!("{big:#x}"));

    assert_eq!(s.governor.tick(&*s, 1007).unwrap(), 0);
    assert_eq!(s.governor.tick(&*s, 1008).unwrap(), 1);
    assert_eq!(answer(&s, &big).await["status"], "complete");
    assert_eq!(
        s.store.blocking().window(Domain(0)).unwrap(),
        vec![(1001, 49 * USD1)],
        "a released big transfer is not counted"
    );
    // Read again (a restart before the cursor moved): nothing changes.
    assert_eq!(read(&s, 1, 1000, 50, 1010).1, Admitted::Known);
    assert_eq!(s.governor.tick(&*s, 1010).unwrap(), 0);
}

#[tokio::test]
async fn a_run_over_the_window_is_partly_held_and_released_in_burn_order() {
    let s = app_state(temporary(), limits(Some(10), None), None);
    assert_eq!(read(&s, 1, 100, 4, 102).1, Admitted::Signed);
    assert_eq!(read(&s, 2, 101, 4, 103).1, Admitted::Signed);
    let (third, held) = read(&s, 3, 102, 4, 104);
    assert!(matches!(
        held,
        Admitted::Held {
            kind: HoldKind::Window,
            ..
        }
    ));
    let (fourth, held) = read(&s, 4, 103, 1, 105);
    assert!(matches!(held, Admitted::Held { .. }), "behind the queue");
    // The plan: burn 1 leaves the window at 115, room for both.
    assert_eq!(answer(&s, &third).await["releaseAt"], 115);
    assert_eq!(answer(&s, &fourth).await["releaseAt"], 115);
    let (_, status) = call(&s, "GET", "/v1/governor", None).await;
    assert_eq!(status["chains"][0]["held"], 2);
    assert_eq!(status["chains"][0]["heldValue"], "5");
    assert_eq!(status["held"][0]["messageHash"], format!("{third:#x}"));
    assert_eq!(s.governor.tick(&*s, 114).unwrap(), 0);
    assert_eq!(s.governor.tick(&*s, 115).unwrap(), 2);
    assert_eq!(answer(&s, &fourth).await["status"], "complete");
    let window = s.store.blocking().window(Domain(0)).unwrap();
    // Both released burns count at their release stamp (the window sums one stamp's entries).
    assert_eq!(
        window
            .iter()
            .filter(|(t, _)| *t == 115)
            .map(|(_, v)| *v)
            .sum::<u128>(),
        5 * USD1,
        "{window:?}"
    );
}

#[tokio::test]
async fn messages_that_are_not_bridge_burns_are_not_governed() {
    let s = app_state(temporary(), limits(Some(10), Some(5)), None);
    let anyone = message(1, 1_000 * USD1, B256::repeat_byte(0x99));
    assert_eq!(read_message(&s, &anyone, 100, 100).1, Admitted::Signed);
    assert!(s.store.blocking().window(Domain(0)).unwrap().is_empty());
}

#[tokio::test]
async fn holds_and_the_window_survive_a_restart_and_nothing_is_counted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (held, last) = {
        let s = app_state(sled::open(&path).unwrap(), limits(Some(10), Some(8)), None);
        read(&s, 1, 100, 6, 101);
        let (big, _) = read(&s, 2, 101, 9, 102);
        let (held, _) = read(&s, 3, 102, 5, 103);
        (held, big)
    };
    // A restart: everything is read from the store again.
    let db = usd1_runtime::testing::reopen_sled(&path);
    let s = app_state(db, limits(Some(10), Some(8)), None);
    assert_eq!(answer(&s, &held).await["releaseAt"], 115);
    assert_eq!(answer(&s, &last).await["releaseAt"], 109);
    // Read again by a watcher whose cursor had not moved: still held, not counted.
    assert_eq!(read(&s, 3, 102, 5, 104).1, Admitted::Known);
    assert_eq!(s.governor.tick(&*s, 109).unwrap(), 1);
    assert_eq!(s.governor.tick(&*s, 115).unwrap(), 1);
    assert_eq!(
        s.store.blocking().window(Domain(0)).unwrap(),
        vec![(100, 6 * USD1), (115, 5 * USD1)]
    );
    assert_eq!(s.governor.tick(&*s, 200).unwrap(), 0);
    assert_eq!(s.store.blocking().count(), 3);
}

#[tokio::test]
async fn operators_release_and_drop_with_their_token_only() {
    let s = app_state(temporary(), limits(Some(100), Some(10)), Some(TOKEN));
    let (a, _) = read(&s, 1, 100, 20, 100);
    let (b, _) = read(&s, 2, 100, 30, 100);
    let release = format!("/v1/governor/release/{a:#x}");
    for token in [None, Some("wrong"), Some(&TOKEN[1..])] {
        let (status, body) = call(&s, "POST", &release, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {body}");
        assert!(body["error"].is_string());
    }
    assert_eq!(answer(&s, &a).await["status"], "pending_governor");
    let (status, body) = call(&s, "POST", &release, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["status"].clone(), body["released"].clone()),
        (json!("complete"), json!(true))
    );
    assert_eq!(answer(&s, &a).await["attestation"], body["attestation"]);
    let (_, again) = call(&s, "POST", &release, Some(TOKEN)).await;
    assert_eq!(again["released"], false);
    assert!(
        s.store.blocking().window(Domain(0)).unwrap().is_empty(),
        "a manual release is not counted"
    );

    let drop = format!("/v1/governor/drop/{b:#x}");
    assert_eq!(
        call(&s, "POST", &drop, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = call(&s, "POST", &drop, Some(TOKEN)).await;
    assert_eq!(
        (status, body["dropped"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(
        answer(&s, &b).await,
        json!({ "status": "dropped_by_governor", "attestation": null })
    );
    assert_eq!(
        s.governor.tick(&*s, 10_000).unwrap(),
        0,
        "never signed by time"
    );
    assert_eq!(
        read(&s, 2, 100, 30, 10_001).1,
        Admitted::Known,
        "nor when read again"
    );
    let (_, status_body) = call(&s, "GET", "/v1/governor", None).await;
    assert_eq!(status_body["dropped"][0]["messageHash"], format!("{b:#x}"));
    // Signed already: too late to drop.
    let (status, _) = call(
        &s,
        "POST",
        &format!("/v1/governor/drop/{a:#x}"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Unknown.
    let unknown = format!("/v1/governor/release/0x{}", "ab".repeat(32));
    assert_eq!(
        call(&s, "POST", &unknown, Some(TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
    // A dropped message can still be released by an explicit decision.
    let (status, body) = call(
        &s,
        "POST",
        &format!("/v1/governor/release/{b:#x}"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        (status, body["released"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(answer(&s, &b).await["status"], "complete");
}

#[tokio::test]
async fn without_an_admin_token_the_routes_answer_403() {
    let s = app_state(temporary(), limits(Some(100), Some(10)), None);
    let (a, _) = read(&s, 1, 100, 20, 100);
    for route in ["release", "drop"] {
        let (status, body) = call(
            &s,
            "POST",
            &format!("/v1/governor/{route}/{a:#x}"),
            Some(TOKEN),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["error"].as_str().unwrap().contains("admin_token_file"));
    }
    assert_eq!(
        call(&s, "GET", "/v1/governor", None).await.0,
        StatusCode::OK
    );
}

/// The window the governor keeps in memory (so a decision does not read the whole window
/// from the store) says what the store's entries say, after signatures, a release from the
/// queue and a prune.
#[tokio::test]
async fn the_window_in_memory_matches_the_store_through_signs_releases_and_prunes() {
    let s = app_state(temporary(), limits(Some(10), Some(100)), None);
    let domain = Domain(0);
    let matches = |when: &str| {
        let fresh = Window::new(15, s.store.blocking().window(domain).unwrap());
        let mut windows = s.governor.lock();
        let kept = windows.get(s.store.blocking(), domain, 15).unwrap();
        for at in [100, 101, 102, 110, 115, 116, 117, 130, 400, 410, 501] {
            assert_eq!(kept.used(at), fresh.used(at), "{when}, at {at}");
        }
    };
    read(&s, 1, 100, 3, 100);
    read(&s, 2, 101, 4, 101);
    matches("after two signatures");
    let (held, admitted) = read(&s, 3, 102, 5, 102);
    assert!(matches!(admitted, Admitted::Held { .. }), "{admitted:?}");
    matches("after a hold");
    assert_eq!(
        s.governor.tick(&*s, 117).unwrap(),
        1,
        "released from the queue"
    );
    assert!(s.store.blocking().get(&held).unwrap().is_some());
    matches("after the release");
    read(&s, 4, 118, 1, 118);
    matches("after a signature on top");
    read(&s, 5, 400, 2, 400);
    matches("after a later signature");
    s.governor.tick(&*s, 500).unwrap(); // two windows past the last burn: older ones pruned
    assert_eq!(
        s.store.blocking().window(domain).unwrap(),
        vec![(400, 2 * USD1)]
    );
    matches("after the prune");
    read(&s, 6, 501, 2, 501);
    matches("after a signature once pruned");
}

/// A poll's burns decided together (`admit_all`, the backfill's path) end exactly as the same
/// burns decided one by one (`admit`): the same outcomes, signatures, holds, window entries
/// and chain meta, over random runs of burns: small, big, over the window, not governed,
/// repeated, with releases between polls.
#[tokio::test]
async fn a_poll_decided_together_ends_as_one_decision_after_another() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    for case in 0..150 {
        // Tight limits hold often; loose ones let long runs go together.
        let daily = [10, 25, 1_000][next(3) as usize];
        let big = [8, 100][next(2) as usize];
        let one = app_state(temporary(), limits(Some(daily), Some(big)), None);
        let all = app_state(temporary(), limits(Some(daily), Some(big)), None);
        let mut time = 1_000;
        let mut sent: Vec<Message> = Vec::new();
        let (mut outcomes_one, mut outcomes_all) = (Vec::new(), Vec::new());
        for _poll in 0..6 {
            let mut poll = Vec::new();
            for _ in 0..next(8) {
                time += next(4);
                let m = match next(10) {
                    0 if !sent.is_empty() => sent[next(sent.len() as u64) as usize].clone(),
                    1 => message(sent.len() as u64, USD1, B256::repeat_byte(0x99)),
                    2 => message(sent.len() as u64, 9 * USD1, MESSENGER),
                    _ => message(sent.len() as u64, (1 + next(5) as u128) * USD1, MESSENGER),
                };
                sent.push(m.clone());
                poll.push((m, time));
            }
            let now = time + next(3);
            let raws: Vec<_> = poll.iter().map(|(m, _)| (m.encode(), m.hash())).collect();
            let txs: Vec<_> = poll
                .iter()
                .map(|(m, _)| TxRef::from_hash(tx(m.nonce)))
                .collect();
            let finals: Vec<Final<'_>> = poll
                .iter()
                .zip(&raws)
                .zip(&txs)
                .map(|(((m, t), (raw, hash)), tx)| Final {
                    message: m,
                    raw,
                    hash,
                    source_tx: tx,
                    block: m.nonce,
                    block_time: *t,
                })
                .collect();
            for f in &finals {
                outcomes_one.push(one.governor.admit(&*one, f, now).unwrap());
            }
            outcomes_all.extend(all.governor.admit_all(&*all, &finals, now).unwrap());
            same_window_and_meta(&one, &all, case);
            for s in [&one, &all] {
                s.governor.tick(&**s, now).unwrap();
            }
        }
        assert_eq!(outcomes_one, outcomes_all, "case {case}: outcomes");
        let (a, b) = (one.store.blocking(), all.store.blocking());
        for m in &sent {
            let signature =
                |s: &crate::store::BlockingStore| s.get(&m.hash()).unwrap().map(|r| r.signature);
            assert_eq!(signature(a), signature(b), "case {case}: nonce {}", m.nonce);
        }
        let holds = |s: &crate::store::BlockingStore| {
            let mut h = s.all_holds().unwrap();
            h.iter_mut().for_each(|h| h.held_at_ms = 0);
            h
        };
        assert_eq!(holds(a), holds(b), "case {case}: holds");
        same_window_and_meta(&one, &all, case);
    }
}

fn same_window_and_meta(one: &AppState, all: &AppState, case: usize) {
    let (a, b) = (one.store.blocking(), all.store.blocking());
    let window = |s: &crate::store::BlockingStore| s.window(Domain(0)).unwrap();
    assert_eq!(window(a), window(b), "case {case}: window");
    let meta = |s: &crate::store::BlockingStore| s.governor_meta(Domain(0)).unwrap();
    assert_eq!(meta(a), meta(b), "case {case}: meta");
}

/// A backfill's poll, signed part by part while earlier parts are decided and stored: every
/// burn ends signed once, with the signature the key gives it, in parts past the first.
#[tokio::test]
async fn a_long_poll_is_signed_and_stored_part_by_part() {
    let s = app_state(temporary(), limits(Some(1_000_000), None), None);
    let burns: Vec<usd1_core::ObservedBurn> = (0..1_100u64)
        .map(|n| {
            let m = message(n, USD1, MESSENGER);
            usd1_core::ObservedBurn::new(m, TxRef::from_hash(tx(n)), n, 1_000 + n)
        })
        .collect();
    crate::watch::sign_and_attest(&s, &burns).unwrap();
    for b in &burns {
        let stored = s.store.blocking().get(&b.hash).unwrap().expect("signed");
        assert_eq!(stored.signature, s.key.sign(&b.hash).unwrap().to_hex());
    }
    assert_eq!(
        s.store.blocking().window(Domain(0)).unwrap().len(),
        burns.len()
    );
}

/// A backfill's burns of one block count in the window as one stored entry (sled's cost is
/// per entry), with their sum; one signed alone later at the same time adds its own, and the
/// window sums both.
#[tokio::test]
async fn a_runs_burns_of_one_block_are_one_window_entry_with_their_sum() {
    let s = app_state(temporary(), limits(Some(1_000), None), None);
    let burns: Vec<usd1_core::ObservedBurn> = (0..30u64)
        .map(|n| {
            let m = message(n, (n as u128 + 1) * USD1, MESSENGER);
            // Three blocks of ten burns.
            usd1_core::ObservedBurn::new(m, TxRef::from_hash(tx(n)), n / 10, 1_000 + n / 10)
        })
        .collect();
    crate::watch::sign_and_attest(&s, &burns).unwrap();
    let store = s.store.blocking();
    assert!(burns.iter().all(|b| store.is_signed(&b.hash).unwrap()));
    assert_eq!(store.window_entries_stored(), 3, "one a block");
    let sum = |from: u128| (from..from + 10).map(|n| (n + 1) * USD1).sum::<u128>();
    assert_eq!(
        store.window(Domain(0)).unwrap(),
        [(1_000, sum(0)), (1_001, sum(10)), (1_002, sum(20))]
    );
    assert_eq!(store.governor_meta(Domain(0)).unwrap().latest_burn, 1_002);
    // A burn of the last block read alone (a later poll): its own entry, summed with the rest.
    read(&s, 30, 1_002, 7, 1_003);
    assert_eq!(store.window_entries_stored(), 4);
    assert_eq!(
        store.window(Domain(0)).unwrap().last(),
        Some(&(1_002, sum(20) + 7 * USD1))
    );
}

/// A decision that panicked part way may have kept in memory a window entry it never
/// stored: the next decision reads the window from the store again.
#[tokio::test]
async fn after_a_panicked_decision_the_window_is_read_from_the_store_again() {
    let s = app_state(temporary(), limits(Some(10), None), None);
    read(&s, 1, 100, 3, 100);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut windows = s.governor.lock();
        windows.get(s.store.blocking(), Domain(0), 15).unwrap();
        windows.push(Domain(0), 101, 5 * USD1); // kept, never stored
        panic!("a decision fails part way");
    }));
    assert!(panicked.is_err());
    let mut windows = s.governor.lock();
    let kept = windows.get(s.store.blocking(), Domain(0), 15).unwrap();
    assert_eq!(kept.used(101), 3 * USD1, "only what the store has");
}

/// Figures for docs/benchmarks.md ("Attester backfill"): a backfill's poll of 5,090 burns
/// signed and stored as the watcher does (`sign_and_attest` + the flush) against signing the
/// same hashes alone on every core, on an on-disk store; and the decide-and-write part alone
/// (signatures made beforehand). Release:
/// `cargo test --release -p usd1-attester --bin usd1-attester backfill_writing_figures --
/// --ignored --nocapture`.
#[test]
#[ignore = "a measurement: docs/benchmarks.md, Attester backfill"]
fn backfill_writing_figures() {
    use std::time::{Duration, Instant};
    let burns: Vec<usd1_core::ObservedBurn> = (0..5_090u64)
        .map(|n| {
            let m = message(n, USD1, MESSENGER);
            let tx = TxRef::from_hash(tx(n));
            // ~40 burns a block, as the devnet's backfill bench makes them.
            usd1_core::ObservedBurn::new(m, tx, n / 40, 1_000 + n / 40)
        })
        .collect();
    let hashes: Vec<B256> = burns.iter().map(|b| b.hash).collect();
    let fresh = || {
        let dir = tempfile::tempdir().unwrap();
        let db = usd1_runtime::service_error::open_store(dir.path()).unwrap();
        (dir, app_state(db, limits(Some(1_000_000_000), None), None))
    };
    let median = |f: &dyn Fn() -> Duration| {
        let mut runs: Vec<Duration> = (0..5).map(|_| f()).collect();
        runs.sort();
        runs[2]
    };
    let signing = median(&|| {
        let (_dir, s) = fresh();
        let t = Instant::now();
        s.key.sign_ahead(&hashes);
        t.elapsed()
    });
    let attester = median(&|| {
        let (_dir, s) = fresh();
        let t = Instant::now();
        crate::watch::sign_and_attest(&s, &burns).unwrap();
        s.store.blocking().flush().unwrap();
        t.elapsed()
    });
    let writing = median(&|| {
        let (_dir, s) = fresh();
        s.key.sign_ahead(&hashes);
        let t = Instant::now();
        crate::watch::attest_all(&s, &burns, true).unwrap();
        s.store.blocking().flush().unwrap();
        t.elapsed()
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / burns.len() as f64;
    println!("a backfill's poll of {} burns, medians of 5:", burns.len());
    println!("  signing alone on every core: {:.1} ms", ms(signing));
    println!(
        "  signed and stored (sign_and_attest + flush): {:.1} ms",
        ms(attester)
    );
    println!(
        "  deciding and writing alone (signed beforehand): {:.1} ms, {:.1} us a burn",
        ms(writing),
        per(writing)
    );
    println!(
        "  signing alone / signed and stored: {:.2}x",
        signing.as_secs_f64() / attester.as_secs_f64()
    );
}

/// Where a test's log lines go: the captured text of a subscriber at the default level.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_backfill_logs_a_line_a_part_and_names_every_burn_it_holds() {
    let (_dir, db) = {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        (dir, db)
    };
    let s = app_state(db, limits(Some(10), None), None);
    let now = usd1_runtime::now_ms() / 1000;
    // 300 burns of 1 USD1 in one recent block (parts of 64, 128, 108): the window (10 USD1)
    // signs 10, holds 290.
    let burns: Vec<usd1_core::ObservedBurn> = (0..300u64)
        .map(|n| {
            let m = message(n, USD1, MESSENGER);
            usd1_core::ObservedBurn::new(m, TxRef::from_hash(tx(n)), 7, now)
        })
        .collect();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        crate::watch::sign_and_attest(&s, &burns).unwrap();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let held: Vec<&usd1_core::ObservedBurn> = burns
        .iter()
        .filter(|b| s.store.blocking().hold(&b.hash).unwrap().is_some())
        .collect();
    assert_eq!(held.len(), 290);
    for b in held {
        assert!(
            log.contains(&format!("{:#x}", b.hash)),
            "the held burn {} is not named",
            b.message.nonce
        );
    }
    // Even the first part (64 burns, under the threshold alone) is the poll's: no line a
    // signed burn at the default level, one line a part.
    assert_eq!(log.matches(" attested block=").count(), 0, "{log}");
    assert_eq!(
        log.matches("attested a backfill's part").count(),
        3,
        "{log}"
    );
}
