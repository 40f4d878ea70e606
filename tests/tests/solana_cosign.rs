//! EVM → Solana through the attesters' `/v1/solana/cosign` (DESIGN §4), on anvil and Agave's
//! test validator with real attester processes; the test plays the relayer. The mint lands
//! with the exact amount and supply over all three chains is unchanged; the attesters refuse
//! a non-canonical transaction (other amount, other recipient, no claim account, other signer
//! set, canonical bytes followed by more), a message already received, a caller without the
//! co-sign token, a fee payer other than the message's destinationCaller, more than the bounded
//! number of outstanding co-signatures, and a caller over its rate (which the signer route
//! names), each with a clear 4xx.

use alloy::primitives::U256;
use base64::Engine;
use serde_json::json;
use usd1_core::{Domain, Message, B256};
use usd1_deploy::solana::OPERATOR_CALLER;
use usd1_deploy::Devnet;
use usd1_e2e::*;
use usd1_evm::bindings::TokenMessenger;
use usd1_solana::mint_tx::attach;
use usd1_solana::mint_tx::{canonical_mint_message, MintParams};
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::message::Message as SolanaMessage;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::{Keypair, Signature, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;

/// Asks attester `i` to co-sign, as the devnet's operator (a caller the attesters list);
/// (HTTP status, body).
async fn ask(d: &Devnet, i: usize, hash: &B256, m: &SolanaMessage) -> (u16, serde_json::Value) {
    let token = d.solana.as_ref().unwrap().cosign_token(OPERATOR_CALLER);
    ask_raw(d, i, hash, &m.serialize(), Some(token)).await
}

/// The same with any bytes and credential.
async fn ask_raw(
    d: &Devnet,
    i: usize,
    hash: &B256,
    bytes: &[u8],
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let body = json!({
        "messageHash": format!("{hash:#x}"),
        "transaction": base64::engine::general_purpose::STANDARD.encode(bytes),
    });
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/solana/cosign", d.attester_urls[i]))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or_default(),
    )
}

struct Relay<'a> {
    d: &'a Devnet,
    rpc: SolanaRpc,
    payer: Keypair,
    rent: u64,
}

impl Relay<'_> {
    fn params<'m>(&self, m: &'m Message) -> MintParams<'m> {
        let sol = self.d.solana.as_ref().unwrap();
        MintParams {
            message: m,
            mint: sol.bridge.mint,
            multisig: sol.bridge.multisig,
            claim_authority: sol.claim_authority.pubkey(),
            rent_exempt_lamports: self.rent,
        }
    }

    async fn build(&self, m: &Message, signers: &[Pubkey]) -> SolanaMessage {
        self.build_paid_by(m, signers, &self.payer.pubkey()).await
    }

    async fn build_paid_by(
        &self,
        m: &Message,
        signers: &[Pubkey],
        payer: &Pubkey,
    ) -> SolanaMessage {
        let (blockhash, _) = self.rpc.blockhash().await.unwrap();
        canonical_mint_message(&self.params(m), signers, payer, blockhash).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn evm_to_solana_mints_through_the_attesters_cosignatures_and_refuses_the_rest() {
    let mut d = devnet("solana-cosign", |o| o.solana = true).await;
    // This test is the relayer: the devnet's own one would deliver the message first.
    d.kill_relayer().await;
    let sol = d.solana.as_ref().unwrap();
    let rpc = SolanaRpc::new(&sol.validator.rpc_url);
    let rent = rpc.rent_exempt_minimum(0).await.unwrap();
    let relay = Relay {
        d: &d,
        rpc,
        payer: sol.validator.faucet.insecure_clone(),
        rent,
    };
    let wallet = Keypair::new().pubkey();
    let supply_before =
        total_supply(&d).await + U256::from(relay.rpc.supply(&sol.bridge.mint).await.unwrap());

    // A user on ethereum burns 9.75 USD1 toward a Solana wallet.
    let a = d.chain("ethereum");
    let burn = user(&d)
        .burn_to(
            &a.rpc_url,
            &a.deployment,
            Domain::SOLANA,
            B256::from(wallet.to_bytes()),
            U256::from(9_750_000u64),
        )
        .await
        .unwrap();
    let hash = burn.message_hash;
    for url in &d.attester_urls[..2] {
        eventually(
            TRANSFER_TIMEOUT,
            "the attesters to see the burn final",
            || async { attester_answer(url, &hash).await.1["status"] == "complete" },
        )
        .await;
    }
    let keys = &sol.attester_keys;
    let pair = [keys[0].pubkey(), keys[1].pubkey()];

    // Unknown message: 404.
    let canonical = relay.build(&burn.message, &pair).await;
    assert_eq!(ask(&d, 0, &B256::repeat_byte(9), &canonical).await.0, 404);

    // Non-canonical transactions: 422 with the reason.
    let mut other_amount = burn.message.clone();
    let mut body = other_amount.burn_body().unwrap();
    body.amount = U256::from(99_000_000u64);
    other_amount.body = body.encode();
    let mut other_recipient = burn.message.clone();
    let mut body = other_recipient.burn_body().unwrap();
    body.mint_recipient = B256::from(Keypair::new().pubkey().to_bytes());
    other_recipient.body = body.encode();
    let mut no_claim = relay.build(&burn.message, &pair).await;
    no_claim.instructions.drain(..2);
    let outsider = Keypair::new().pubkey();
    let refusals = [
        ("other amount", relay.build(&other_amount, &pair).await),
        (
            "other recipient",
            relay.build(&other_recipient, &pair).await,
        ),
        ("no claim account", no_claim),
        (
            "other signer set",
            relay
                .build(&burn.message, &[keys[0].pubkey(), outsider])
                .await,
        ),
        (
            "all three signers",
            relay
                .build(
                    &burn.message,
                    &[keys[0].pubkey(), keys[1].pubkey(), keys[2].pubkey()],
                )
                .await,
        ),
    ];
    for (what, tx) in &refusals {
        let (code, body) = ask(&d, 0, &hash, tx).await;
        assert_eq!(code, 422, "{what}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: a reason is given"
        );
    }

    // The canonical bytes followed by anything: bincode would read the same message, but
    // only the exact canonical bytes are signed.
    let canonical = relay.build(&burn.message, &pair).await;
    let mut padded = canonical.serialize();
    padded.extend_from_slice(b"and then some");
    let token = sol.cosign_token(OPERATOR_CALLER);
    let (code, body) = ask_raw(&d, 0, &hash, &padded, Some(token)).await;
    assert_eq!(code, 422, "trailing bytes: {body}");
    assert!(body["error"].as_str().unwrap().contains("bytes"), "{body}");

    // No credential, or another one: 401, before anything is looked at.
    let (code, body) = ask_raw(&d, 0, &hash, &canonical.serialize(), None).await;
    assert_eq!(code, 401, "no token: {body}");
    let wrong = "f".repeat(64);
    let (code, body) = ask_raw(&d, 0, &hash, &canonical.serialize(), Some(&wrong)).await;
    assert_eq!(code, 401, "wrong token: {body}");

    // At most 16 outstanding co-signatures per message: 16 transactions with other fee payers,
    // all on a live blockhash, fill attester 3's record; the 17th is refused until some expire.
    let pair_of_3 = [keys[1].pubkey(), keys[2].pubkey()];
    for n in 0..16 {
        let tx = relay
            .build_paid_by(&burn.message, &pair_of_3, &Keypair::new().pubkey())
            .await;
        let (code, body) = ask(&d, 2, &hash, &tx).await;
        assert_eq!(code, 200, "co-signature {n}: {body}");
    }
    let tx = relay
        .build_paid_by(&burn.message, &pair_of_3, &Keypair::new().pubkey())
        .await;
    let (code, body) = ask(&d, 2, &hash, &tx).await;
    assert_eq!(code, 429, "the 17th outstanding co-signature: {body}");

    // The canonical transaction: two co-signatures, then the payer and the claim authority.
    let msg = relay.build(&burn.message, &pair).await;
    let mut tx = Transaction::new_unsigned(msg.clone());
    for (i, key) in keys.iter().enumerate().take(2) {
        let (code, body) = ask(&d, i, &hash, &msg).await;
        assert_eq!(code, 200, "{body}");
        let sig: Signature = body["signature"].as_str().unwrap().parse().unwrap();
        assert!(attach(&mut tx, &key.pubkey(), sig));
    }
    tx.try_partial_sign(&[&relay.payer, &sol.claim_authority], msg.recent_blockhash)
        .unwrap();
    tx.verify().expect("the attesters' signatures verify");
    let sig = relay.rpc.send(&tx).await.unwrap();
    // Like a relayer, re-send the same signed bytes while waiting (a busy node may drop them).
    eventually(TRANSFER_TIMEOUT, "the mint to be confirmed", || async {
        if relay
            .rpc
            .outcome(&sig)
            .await
            .ok()
            .flatten()
            .is_some_and(|o| o.error.is_none())
        {
            return true;
        }
        let _ = relay.rpc.send_skipping_preflight(&tx).await;
        false
    })
    .await;
    assert_eq!(
        solana_balance_becomes(&relay.rpc, &wallet, &sol.bridge.mint, 9_750_000).await,
        9_750_000
    );
    let solana_supply = U256::from(relay.rpc.supply(&sol.bridge.mint).await.unwrap());
    assert_eq!(
        total_supply(&d).await + solana_supply,
        supply_before,
        "supply over the three chains unchanged"
    );

    // Received: no attester co-signs it again (409).
    let again = relay
        .build(&burn.message, &[keys[1].pubkey(), keys[2].pubkey()])
        .await;
    let (code, body) = ask(&d, 2, &hash, &again).await;
    assert_eq!(code, 409, "{body}");

    // A message with a destinationCaller: only a transaction paid by that key is co-signed.
    let caller = Keypair::new().pubkey();
    let p = user(&d).provider(&a.rpc_url).unwrap();
    let receipt = TokenMessenger::new(a.deployment.messenger, p)
        .depositForBurnWithCaller(
            U256::from(1_000_000u64),
            Domain::SOLANA.0,
            B256::from(wallet.to_bytes()),
            a.deployment.token,
            B256::from(caller.to_bytes()),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let with_caller = usd1_deploy::client::burn_from_receipt(&receipt).unwrap();
    let caller_hash = with_caller.message_hash;
    eventually(
        TRANSFER_TIMEOUT,
        "attester 1 to see the burn with a caller final",
        || async {
            attester_answer(&d.attester_urls[0], &caller_hash).await.1["status"] == "complete"
        },
    )
    .await;
    let tx = relay.build(&with_caller.message, &pair).await;
    let (code, body) = ask(&d, 0, &caller_hash, &tx).await;
    assert_eq!(
        code, 422,
        "a fee payer other than the destinationCaller: {body}"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("destinationCaller"),
        "{body}"
    );
    let tx = relay
        .build_paid_by(&with_caller.message, &pair, &caller)
        .await;
    let (code, body) = ask(&d, 0, &caller_hash, &tx).await;
    assert_eq!(code, 200, "paid by the destinationCaller: {body}");

    // Co-signing is rate-limited per caller (the default: 200 a second, bursts of 400), and
    // the signer route says so, so that a relayer paces itself.
    let signer: serde_json::Value =
        reqwest::get(format!("{}/v1/solana/signer", d.attester_urls[1]))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(signer["signer"], keys[1].pubkey().to_string(), "{signer}");
    assert_eq!(signer["cosignRatePerS"], 200, "{signer}");
    let url = format!("{}/v1/solana/cosign", d.attester_urls[1]);
    let body = json!({
        "messageHash": format!("{:#x}", B256::repeat_byte(9)),
        "transaction": base64::engine::general_purpose::STANDARD.encode(tx.serialize()),
    });
    // 32 callers at once, each asking again as soon as it is answered, until the first 429
    // (at most 200 requests each): past the burst of 400 the rate refuses.
    let client = reqwest::Client::new();
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        let (token, refused) = (token.to_string(), refused.clone());
        callers.spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..200 {
                if refused.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let req = client.post(&url).bearer_auth(&token).json(&body);
                let code = req.send().await.map_or(0, |r| r.status().as_u16());
                if code == 429 {
                    refused.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                answers.push(code);
            }
            answers
        });
    }
    let answers: Vec<u16> = callers.join_all().await.concat();
    assert!(
        answers.contains(&429),
        "some requests are refused: {answers:?}"
    );
    assert!(
        !answers.contains(&200),
        "an unknown message is never co-signed: {answers:?}"
    );
    d.stop().await;
}
