//! The `usd1` command line on a devnet: transfers each way (one self-relayed), status,
//! balances, the supply audit passing — and failing after an extra mint by an admin key.

use alloy::primitives::U256;
use usd1_deploy::contracts;
use usd1_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_transfers_each_way_follows_and_audits() {
    let mut d = devnet("cli", |_| {}).await;
    let to = recipient().to_string();

    let out = usd1(
        &d,
        &[
            "transfer",
            "--from",
            "ethereum",
            "--to",
            "base",
            "--amount",
            "12.5",
            "--recipient",
            &to,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    for stage in ["burn", "final", "attested", "minted"] {
        assert!(
            shown.contains(&format!("{stage:<10} ✔")),
            "stage {stage} reported: {shown}"
        );
    }
    assert!(shown.contains("minted 12.5 USD1 on base"), "{shown}");
    assert_eq!(
        balance(&d, "base", recipient()).await,
        U256::from(12_500_000u64)
    );

    // With no relayer at all, --self-relay mints it.
    d.kill_relayer().await;
    let out = usd1(
        &d,
        &[
            "transfer",
            "--from",
            "base",
            "--to",
            "ethereum",
            "--amount",
            "0.75",
            "--recipient",
            &to,
            "--self-relay",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        balance(&d, "ethereum", recipient()).await,
        U256::from(750_000u64)
    );
    d.start_relayer().await.unwrap();

    // Status by message hash and by source transaction.
    let message = text(&out)
        .split("message 0x")
        .nth(1)
        .map(|s| format!("0x{}", &s[..64]))
        .expect("message hash shown");
    eventually(
        TRANSFER_TIMEOUT,
        "the relayer to record the self-relayed message",
        || async {
            let o = usd1(&d, &["status", &message]);
            o.status.success() && text(&o).contains("delivered")
        },
    )
    .await;

    let out = usd1(&d, &["balance", "--address", &to]);
    assert!(out.status.success());
    assert!(
        text(&out).contains("13.25"),
        "total shown with decimals: {}",
        text(&out)
    );

    let out = usd1(&d, &["audit"]);
    assert!(
        out.status.success(),
        "audit passes on an honest devnet: {}",
        text(&out)
    );

    // An admin key mints 1 USD1 out of thin air: the audit must fail and say by how much.
    let base = d.chain("base");
    let admin: alloy::signers::local::PrivateKeySigner =
        usd1_deploy::devnet::ANVIL_KEYS[0].parse().unwrap();
    contracts::issue(
        &base.admin,
        admin.address(),
        &base.deployment,
        recipient(),
        U256::from(1_000_000u64),
    )
    .await
    .unwrap();
    // The audit pins one block below the head: it sees the mint once a block is on top.
    let out = audit_until(&d, "the extra mint", |o| o.status.code() != Some(0)).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("DISCREPANCY") && text(&out).contains("+1 USD1"),
        "{}",
        text(&out)
    );

    // Bad input: a clear error, exit 2, no panic.
    for (args, says) in [
        (
            vec![
                "transfer",
                "--from",
                "ethereum",
                "--to",
                "base",
                "--amount",
                "1.0000001",
                "--recipient",
                &to,
            ],
            "decimal places",
        ),
        (
            vec![
                "transfer",
                "--from",
                "ethereum",
                "--to",
                "base",
                "--amount",
                "-3",
                "--recipient",
                &to,
            ],
            "has a sign",
        ),
        (
            vec![
                "transfer",
                "--from",
                "ethereum",
                "--to",
                "mars",
                "--amount",
                "1",
                "--recipient",
                &to,
            ],
            "no chain named \"mars\"",
        ),
        (
            vec![
                "transfer",
                "--from",
                "ethereum",
                "--to",
                "base",
                "--amount",
                "1",
                "--recipient",
                "0x1234",
            ],
            "is not an EVM address: it has 4 hex digits after 0x, not 40",
        ),
        (
            vec![
                "transfer",
                "--from",
                "ethereum",
                "--to",
                "base",
                "--amount",
                "99999999",
                "--recipient",
                &to,
            ],
            "less than",
        ),
        (vec!["status", "0xnothex"], "neither a message hash"),
    ] {
        let out = usd1(&d, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("panicked"));
    }

    // 7. Inputs people type: a recipient or amount that is wrong in a way the chain would
    // not (or not helpfully) catch is refused before the burn — exit 2, nothing burned.
    let me = user(&d).address();
    let (mine, supply) = (balance(&d, "ethereum", me).await, total_supply(&d).await);
    let zero = "0x0000000000000000000000000000000000000000";
    // One letter's case flipped: the EIP-55 checksum no longer matches.
    let typo = to.replacen("F79", "f79", 1);
    assert!(typo != to && typo.to_lowercase() == to.to_lowercase());
    let rule =
        "amounts are written like 12.5 or 0.5: digits, optionally a point and up to 6 decimals";
    let transfer = |amount: &str, recipient: &str| {
        usd1(
            &d,
            &[
                "transfer",
                "--from",
                "ethereum",
                "--to",
                "base",
                "--amount",
                amount,
                "--recipient",
                recipient,
            ],
        )
    };
    for (out, says) in [
        (transfer("1", zero), "--recipient is the zero address"),
        (transfer("1", &typo), "fails its EIP-55 checksum"),
        (transfer(" 1", &to), "contains a space"),
        (transfer(".5", &to), "starts with a point"),
        (transfer("5.", &to), "ends with a point"),
        (transfer("0", &to), "is zero"),
        (transfer("1e6", &to), rule),
        (
            usd1(&d, &["balance", "--address", &typo]),
            "--address \"0x90f79bf6EB2c",
        ),
        (
            usd1(&d, &["audit", "--issued", "2000000."]),
            "ends with a point",
        ),
    ] {
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(says), "{says}: {}", text(&out));
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
    }
    for amount in [" 1", ".5", "5."] {
        let out = transfer(amount, &to);
        assert!(text(&out).contains(rule), "names the rule: {}", text(&out));
    }
    assert_eq!(
        balance(&d, "ethereum", me).await,
        mine,
        "nothing was burned"
    );
    assert_eq!(total_supply(&d).await, supply, "nothing was burned");
    // All lower case (no checksum to check) is accepted: the balance of the same wallet.
    let out = usd1(&d, &["balance", "--address", &to.to_lowercase()]);
    assert!(out.status.success(), "{}", text(&out));
    d.stop().await;
}
