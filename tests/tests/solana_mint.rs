//! The Solana destination on Agave's test validator, with no program of ours (DESIGN §4):
//! a 2-of-3 SPL multisig of attester ed25519 keys mints through the canonical transaction,
//! each attester checking it byte for byte before co-signing; a second mint of the same
//! message fails on chain at the claim account; 1 lamport sent to a claim address is refused,
//! and prefunding it with the full rent does not block the mint.

use std::time::Duration;
use usd1_core::{BurnBody, Domain, Message, B256, U256};
use usd1_deploy::bridge_mint::{create_bridge_mint, BridgeMint};
use usd1_deploy::solana::{free_port_block, SolanaValidator};
use usd1_e2e::{eventually, solana_balance_becomes, work_dir, RemoveUnlessFailed};
use usd1_solana::claim::claim_address;
use usd1_solana::mint_tx::{attach, cosign};
use usd1_solana::mint_tx::{canonical_mint_message, check_canonical, MintParams};
use usd1_solana::rpc::SolanaRpc;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::{Keypair, Signature, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;

const T: Duration = Duration::from_secs(60);

/// An EVM → Solana burn message for `wallet` (as an attester would have it stored).
fn message(nonce: u64, wallet: &Pubkey, mint: &Pubkey, amount: u64) -> Message {
    let body = BurnBody {
        version: 0,
        burn_token: B256::repeat_byte(0xee),
        mint_recipient: B256::from(wallet.to_bytes()),
        amount: U256::from(amount),
        message_sender: B256::repeat_byte(0x33),
    };
    Message {
        version: 0,
        source_domain: Domain(0),
        destination_domain: Domain::SOLANA,
        nonce,
        sender: B256::repeat_byte(0x44),
        recipient: B256::from(mint.to_bytes()),
        destination_caller: B256::ZERO,
        body: body.encode(),
    }
}

struct Net {
    rpc: SolanaRpc,
    payer: Keypair,
    claim_authority: Keypair,
    attesters: Vec<Keypair>,
    bridge: BridgeMint,
    rent: u64,
}

impl Net {
    fn params<'a>(&self, m: &'a Message) -> MintParams<'a> {
        MintParams {
            message: m,
            mint: self.bridge.mint,
            multisig: self.bridge.multisig,
            claim_authority: self.claim_authority.pubkey(),
            rent_exempt_lamports: self.rent,
        }
    }

    fn members(&self) -> Vec<Pubkey> {
        self.attesters.iter().map(|k| k.pubkey()).collect()
    }

    /// The relayer's part: build, get the two attesters' co-signatures (each checks the
    /// transaction first), sign as payer and claim authority, send.
    async fn mint(&self, m: &Message, by: [usize; 2]) -> Result<Signature, String> {
        let signers: Vec<Pubkey> = by.iter().map(|&i| self.attesters[i].pubkey()).collect();
        let (blockhash, _) = self.rpc.blockhash().await.map_err(|e| e.to_string())?;
        let msg =
            canonical_mint_message(&self.params(m), &signers, &self.payer.pubkey(), blockhash)
                .unwrap();
        let mut tx = Transaction::new_unsigned(msg.clone());
        tx.try_partial_sign(&[&self.payer, &self.claim_authority], blockhash)
            .unwrap();
        for &i in &by {
            let me = self.attesters[i].pubkey();
            check_canonical(&msg, &self.params(m), &self.members(), 2, &me).expect("canonical");
            assert!(attach(&mut tx, &me, cosign(&msg, &self.attesters[i])));
        }
        tx.verify().expect("every signature in place");
        let sig = self.rpc.send(&tx).await.map_err(|e| e.to_string())?;
        eventually(T, "the mint to be confirmed", || async {
            if self.rpc.outcome(&sig).await.ok().flatten().is_some() {
                return true;
            }
            let _ = self.rpc.send_skipping_preflight(&tx).await; // same bytes: a busy node may drop them
            false
        })
        .await;
        match self.rpc.outcome(&sig).await.unwrap().unwrap().error {
            None => Ok(sig),
            Some(e) => Err(e),
        }
    }

    async fn transfer(&self, to: &Pubkey, lamports: u64) -> Result<(), String> {
        let ix = usd1_solana::solana_system_interface::instruction::transfer(
            &self.payer.pubkey(),
            to,
            lamports,
        );
        let (blockhash, _) = self.rpc.blockhash().await.map_err(|e| e.to_string())?;
        let tx = Transaction::new_signed_with_payer(
            &[ix],
            Some(&self.payer.pubkey()),
            &[&self.payer],
            blockhash,
        );
        self.rpc
            .client()
            .send_and_confirm_transaction(&tx)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn multisig_mints_once_per_message_and_claims_cannot_be_blocked() {
    let dir = work_dir("solana-mint");
    let _cleanup = RemoveUnlessFailed(dir.clone());
    let validator = SolanaValidator::start(&dir, free_port_block().unwrap())
        .await
        .unwrap_or_else(|e| panic!("{e}; log in {}", dir.join("logs").display()));
    let rpc = SolanaRpc::new(&validator.rpc_url);
    let attesters: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
    let members: Vec<Pubkey> = attesters.iter().map(|k| k.pubkey()).collect();
    let payer = validator.faucet.insecure_clone();
    let bridge = create_bridge_mint(&rpc, &payer, &members, 2, &payer.pubkey())
        .await
        .unwrap();
    let rent = rpc.rent_exempt_minimum(0).await.unwrap();
    let net = Net {
        rpc,
        payer,
        claim_authority: Keypair::new(),
        attesters,
        bridge,
        rent,
    };
    let wallet = Pubkey::new_unique();

    // A 2-of-3 mint through the canonical transaction.
    let first = message(1, &wallet, &bridge.mint, 12_500_000);
    let sig = net
        .mint(&first, [0, 1])
        .await
        .expect("the first mint lands");
    assert_eq!(
        solana_balance_becomes(&net.rpc, &wallet, &bridge.mint, 12_500_000).await,
        12_500_000
    );
    let first_claim = claim_address(
        &net.claim_authority.pubkey(),
        first.source_domain,
        first.nonce,
    )
    .unwrap();
    assert!(net.rpc.owned_by_memo(&first_claim).await.unwrap());
    // The transaction's record is served a moment after its status is confirmed.
    eventually(T, "the mint's transaction record", || async {
        net.rpc.fee_and_compute_units(&sig).await.is_ok()
    })
    .await;
    let (fee, cu) = net.rpc.fee_and_compute_units(&sig).await.unwrap();
    println!(
        "mint transaction: fee {fee} lamports, {} compute units",
        cu.unwrap_or(0)
    );

    // The same message again, signed by another pair on a fresh blockhash: refused on chain.
    let again = net
        .mint(&first, [1, 2])
        .await
        .expect_err("a second mint of one message must fail");
    assert!(
        again.contains("0x0") || again.to_lowercase().contains("already in use"),
        "{again}"
    );
    assert_eq!(
        solana_balance_becomes(&net.rpc, &wallet, &bridge.mint, 12_500_000).await,
        12_500_000,
        "minted once"
    );

    // Claims cannot be blocked: 1 lamport is refused by the runtime's rent check, and the
    // full rent sent in advance does not stop the mint.
    let second = message(2, &wallet, &bridge.mint, 1_000_000);
    let claim = claim_address(
        &net.claim_authority.pubkey(),
        second.source_domain,
        second.nonce,
    )
    .unwrap();
    assert!(
        net.transfer(&claim, 1).await.is_err(),
        "1 lamport to a new account is refused"
    );
    net.transfer(&claim, net.rent)
        .await
        .expect("the full rent is accepted");
    net.mint(&second, [0, 2])
        .await
        .expect("a prefunded claim address does not block the mint");
    assert_eq!(
        solana_balance_becomes(&net.rpc, &wallet, &bridge.mint, 13_500_000).await,
        13_500_000
    );
    assert_eq!(net.rpc.supply(&bridge.mint).await.unwrap(), 13_500_000);
}
