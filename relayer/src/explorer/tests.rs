use super::search::{classify, Input};
use super::transfer::utc;
use super::*;
use crate::store::source_tx_bytes;
use axum::body::Body;
use axum::http::header;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use usd1_core::{HistoryEntry, MessageState};
use usd1_solana::solana_sdk::signature::Signature;

fn store() -> Store {
    let db = sled::Config::new().temporary(true).open().unwrap();
    Store::open(db).unwrap()
}

fn app(store: Store) -> Router {
    usd1_runtime::harden(
        router(Arc::new(Explorer::offline(store))),
        &usd1_runtime::ServerLimits::default(),
    )
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String, String) {
    let response = app
        .clone()
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let ct = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, ct, body) = get(app, uri).await;
    assert_eq!(ct, "application/json", "{uri}");
    (status, serde_json::from_str(&body).unwrap())
}

/// A burn from `sender` to `recipient` with this nonce, observed at `at_ms`.
fn record(
    nonce: u64,
    amount: u64,
    sender: B256,
    recipient: B256,
    at_ms: u64,
    tx: &str,
) -> MessageRecord {
    let body = usd1_core::BurnBody {
        version: 0,
        burn_token: B256::repeat_byte(1),
        mint_recipient: recipient,
        amount: U256::from(amount),
        message_sender: sender,
    };
    let m = Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain(6),
        nonce,
        sender: B256::repeat_byte(2),
        recipient: B256::repeat_byte(3),
        destination_caller: B256::ZERO,
        body: body.encode(),
    };
    let mut r = crate::feed::new_record(&m, &m.encode(), tx, 7, 1);
    r.observed_at_ms = at_ms;
    r
}

#[test]
fn answers_show_no_rpc_urls_but_keep_block_explorer_links() {
    let Json(v) = shown(json!({
        "lastError": "error sending request for url (https://rpc.example/v3/KEY)",
        "sourceTx": { "hash": "0x01", "url": "https://etherscan.io/tx/0x01" },
        "claims": [{ "explorerUrl": "https://explorer.solana.com/address/x" }],
    }));
    assert_eq!(v["lastError"], "error sending request for url (<url>)");
    assert_eq!(v["sourceTx"]["url"], "https://etherscan.io/tx/0x01");
    assert_eq!(
        v["claims"][0]["explorerUrl"],
        "https://explorer.solana.com/address/x"
    );
}

#[test]
fn utc_dates() {
    assert_eq!(utc(0), "1970-01-01 00:00:00");
    assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
    assert_eq!(utc(1_767_225_599), "2025-12-31 23:59:59");
}

#[test]
fn search_input_is_classified() {
    let h = "ab".repeat(32);
    assert!(matches!(classify(&format!("0x{h}")), Input::Hash(_)));
    assert!(matches!(
        classify(&format!(" 0x{} ", h.to_uppercase())),
        Input::Hash(_)
    ));
    assert!(matches!(
        classify("0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
        Input::EvmAddress(_)
    ));
    let sig = Signature::from([7u8; 64]).to_string();
    assert_eq!(
        classify(&sig),
        Input::SolanaSignature(Signature::from([7u8; 64]))
    );
    let key = Pubkey::new_from_array([9u8; 32]);
    assert_eq!(classify(&key.to_string()), Input::SolanaKey(key));
    for bad in ["", "0x12", "hello world", "0xzz"] {
        assert_eq!(classify(bad), Input::Invalid, "{bad}");
    }
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_locally() {
    let app = app(store());
    let (status, _, _) = get(&app, "/explorer").await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    let (status, ct, html) = get(&app, "/explorer/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(html.contains("app.js") && html.contains("style.css"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    for (path, want) in [
        ("/explorer/app.js", "text/javascript"),
        ("/explorer/style.css", "text/css"),
        ("/explorer/favicon.svg", "image/svg+xml"),
    ] {
        let (status, ct, body) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(ct.starts_with(want), "{path}: {ct}");
        assert!(
            !body.contains("https://"),
            "{path} loads nothing from the internet"
        );
    }
}

#[tokio::test]
async fn search_finds_by_message_hash_source_tx_and_address() {
    let s = store();
    let user = Address::repeat_byte(0xaa).into_word();
    let other = Address::repeat_byte(0xbb).into_word();
    let tx = format!("0x{}", "cd".repeat(32));
    let a = record(1, 1_500_000, user, other, 1000, &tx);
    let b = record(
        2,
        2_000_000,
        other,
        other,
        2000,
        &format!("0x{}", "ef".repeat(32)),
    );
    s.observe(&a).await.unwrap();
    s.observe(&b).await.unwrap();
    let app = app(s);

    let (status, v) = get_json(&app, &format!("/v1/explorer/search?q={}", a.message_hash)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "found");
    assert_eq!(v["kind"], "message");
    assert_eq!(v["messages"][0]["amount"], "1.5");
    assert_eq!(v["messages"][0]["sourceChain"], "ethereum");
    assert_eq!(v["messages"][0]["destinationChain"], "base");
    assert_eq!(
        v["messages"][0]["sourceTx"]["url"],
        format!("https://scan.example/tx/{tx}")
    );

    let (_, v) = get_json(&app, &format!("/v1/explorer/search?q={tx}")).await;
    assert_eq!(v["kind"], "transaction");
    assert_eq!(v["messages"][0]["messageHash"], a.message_hash);

    let address = Address::repeat_byte(0xaa).to_checksum(None);
    let (_, v) = get_json(&app, &format!("/v1/explorer/search?q={address}")).await;
    assert_eq!(v["kind"], "address");
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    let (_, v) = get_json(
        &app,
        &format!("/v1/explorer/search?q={}", Address::repeat_byte(0xbb)),
    )
    .await;
    let found: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["messageHash"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        [b.message_hash.as_str(), a.message_hash.as_str()],
        "newest first"
    );

    let unknown = format!("0x{}", "01".repeat(32));
    let (status, v) = get_json(&app, &format!("/v1/explorer/search?q={unknown}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "not_found");
    assert!(v["note"].as_str().unwrap().starts_with("Not found"));
    let (_, v) = get_json(&app, "/v1/explorer/search?q=what").await;
    assert_eq!(v["status"], "invalid");
}

#[tokio::test]
async fn solana_source_signatures_are_indexed() {
    let s = store();
    let sig = Signature::from([5u8; 64]).to_string();
    let mut r = record(
        3,
        1_000_000,
        B256::repeat_byte(4),
        B256::repeat_byte(4),
        10,
        &sig,
    );
    r.source_domain = Domain::SOLANA;
    s.observe(&r).await.unwrap();
    let bytes = source_tx_bytes(&sig).unwrap();
    assert_eq!(bytes.len(), 64);
    let found = s.by_source_tx_bytes(Domain::SOLANA, &bytes).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].message_hash, r.message_hash);
    // Another domain's index does not answer for it.
    assert!(s
        .by_source_tx_bytes(Domain(0), &bytes)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_store_from_before_the_indexes_is_indexed_at_open() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let sig = Signature::from([6u8; 64]).to_string();
    let mut r = record(
        9,
        1_000_000,
        B256::repeat_byte(4),
        B256::repeat_byte(5),
        10,
        &sig,
    );
    r.source_domain = Domain::SOLANA;
    // As an older relayer wrote it: the record and the active set only.
    let key = r.message_hash.parse::<B256>().unwrap();
    db.open_tree("messages")
        .unwrap()
        .insert(key.as_slice(), serde_json::to_vec(&r).unwrap())
        .unwrap();
    let s = Store::open(db).unwrap();
    assert_eq!(s.by_nonce(Domain::SOLANA, 9).await.unwrap().len(), 1);
    assert_eq!(
        s.by_address(&B256::repeat_byte(5), 10).await.unwrap().len(),
        1
    );
    let bytes = source_tx_bytes(&sig).unwrap();
    assert_eq!(
        s.by_source_tx_bytes(Domain::SOLANA, &bytes)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.recent(None, 10, |_| true).await.unwrap().len(), 1);
}

#[tokio::test]
async fn recent_is_newest_first_filtered_and_paginated() {
    let s = store();
    let mut hashes = Vec::new();
    for i in 0..5u64 {
        let mut r = record(
            10 + i,
            1_000_000,
            B256::repeat_byte(1),
            B256::repeat_byte(1),
            100 + i,
            "0x00",
        );
        if i % 2 == 1 {
            r.state = MessageState::Skipped {
                reason: "below the minimum".into(),
            };
        }
        s.observe(&r).await.unwrap();
        hashes.push(r.message_hash.clone());
    }
    let app = app(s);
    let (_, v) = get_json(&app, "/v1/explorer/recent?limit=2").await;
    let page: Vec<&str> = v["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["messageHash"].as_str().unwrap())
        .collect();
    assert_eq!(page, [hashes[4].as_str(), hashes[3].as_str()]);
    let next = v["next"].as_str().unwrap().to_string();
    let (_, v) = get_json(&app, &format!("/v1/explorer/recent?limit=2&before={next}")).await;
    let page: Vec<&str> = v["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["messageHash"].as_str().unwrap())
        .collect();
    assert_eq!(page, [hashes[2].as_str(), hashes[1].as_str()]);
    let (_, v) = get_json(&app, "/v1/explorer/recent?state=skipped").await;
    assert_eq!(v["transfers"].as_array().unwrap().len(), 2);
    assert!(v["next"].is_null());
    let (_, v) = get_json(&app, "/v1/explorer/recent?source=5").await;
    assert!(v["transfers"].as_array().unwrap().is_empty());
    let (status, _) = get_json(&app, "/v1/explorer/recent?state=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get_json(&app, "/v1/explorer/recent?before=zz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_transfer_shows_its_timeline_replacements_and_reason() {
    let s = store();
    let mut a = record(
        42,
        3_000_000,
        B256::repeat_byte(1),
        B256::repeat_byte(1),
        10,
        "0x00",
    );
    a.attestation = None;
    a.state = MessageState::Failed {
        reason: "the destination refused it".into(),
    };
    a.history.push(HistoryEntry {
        at_ms: 11,
        state: "failed".into(),
        tx_hash: None,
        detail: None,
    });
    let mut b = record(
        42,
        3_000_000,
        B256::repeat_byte(1),
        B256::repeat_byte(2),
        20,
        "0x00",
    );
    b.state = MessageState::Confirmed {
        tx_hash: format!("0x{}", "77".repeat(32)),
    };
    b.sent_txs = vec![format!("0x{}", "77".repeat(32))];
    s.observe(&a).await.unwrap();
    s.observe(&b).await.unwrap();
    let app = app(s);
    let (_, v) = get_json(&app, &format!("/v1/explorer/transfers/{}", a.message_hash)).await;
    let t = &v["transfer"];
    assert_eq!(v["status"], "found");
    assert_eq!(t["amount"], "3");
    assert_eq!(t["outcome"]["kind"], "failed");
    let statuses: Vec<&str> = t["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "done",
            "done",
            "failed",
            "not_reached",
            "not_reached",
            "not_reached"
        ]
    );
    assert_eq!(t["stages"][2]["detail"], "the destination refused it");
    assert_eq!(
        t["replacements"][0]["messageHash"], b.message_hash,
        "same (source, nonce)"
    );

    let (_, v) = get_json(&app, &format!("/v1/explorer/transfers/{}", b.message_hash)).await;
    let t = &v["transfer"];
    assert_eq!(t["phase"], "final");
    assert_eq!(t["terminal"], true);
    assert_eq!(t["stages"][4]["status"], "done", "minted");
    assert_eq!(t["stages"][5]["status"], "done", "final");

    // Unknown to the relayer and (here) to every attester: not found, as JSON 200.
    let (status, v) = get_json(
        &app,
        &format!("/v1/explorer/transfers/0x{}", "02".repeat(32)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "not_found");
    let (status, _) = get_json(&app, "/v1/explorer/transfers/nothex").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn supply_before_any_audit_says_so() {
    let app = app(store());
    let (status, v) = get_json(&app, "/v1/supply").await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["available"].is_boolean());
    let (_, v) = get_json(&app, "/v1/explorer/governor").await;
    assert_eq!(v["available"], false);
}
