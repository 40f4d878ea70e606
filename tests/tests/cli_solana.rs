//! The `usd1` command line to and from Solana on a devnet: `transfer --to solana` toward a
//! Solana wallet (base58), `transfer --from solana` burning with the bridge memo; bad input
//! gets a clear error.

use usd1_e2e::*;
use usd1_solana::solana_sdk::signature::{Keypair, Signer};

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_transfers_to_and_from_solana() {
    let d = devnet("cli-solana", |o| o.solana = true).await;
    let wallet = Keypair::new().pubkey().to_string();
    let out = usd1(
        &d,
        &[
            "transfer",
            "--from",
            "ethereum",
            "--to",
            "solana",
            "--amount",
            "1.5",
            "--recipient",
            &wallet,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("minted 1.5 USD1 on solana"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("its balance: 1.5 USD1"),
        "{}",
        text(&out)
    );

    let to = recipient().to_string();
    let out = usd1(
        &d,
        &[
            "transfer",
            "--from",
            "solana",
            "--to",
            "base",
            "--amount",
            "0.75",
            "--recipient",
            &to,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("minted 0.75 USD1 on base"),
        "{}",
        text(&out)
    );
    assert_eq!(
        balance(&d, "base", recipient()).await,
        alloy::primitives::U256::from(750_000u64)
    );

    let out = usd1(
        &d,
        &[
            "transfer",
            "--from",
            "ethereum",
            "--to",
            "solana",
            "--amount",
            "1",
            "--recipient",
            &to,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("not a Solana address"),
        "{}",
        text(&out)
    );
    d.stop().await;
}
