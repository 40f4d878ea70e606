//! Creating the bridge mint (DESIGN §4): a classic SPL Token mint, 6 decimals, whose mint
//! authority is an SPL multisig of the attesters' ed25519 keys with `m` required, plus a
//! freeze authority. Deployment, not the adapter's business: it lives with the devnet.

use usd1_core::USD1_DECIMALS;
use usd1_solana::rpc::{SolanaError, SolanaRpc};
use usd1_solana::solana_program_pack::Pack;
use usd1_solana::solana_sdk::pubkey::Pubkey;
use usd1_solana::solana_sdk::signature::{Keypair, Signer};
use usd1_solana::solana_sdk::transaction::Transaction;
use usd1_solana::spl_token_interface::state::{Mint, Multisig};
use usd1_solana::{solana_system_interface, spl_token_interface, token_program};

#[derive(Debug, Clone, Copy)]
pub struct BridgeMint {
    pub mint: Pubkey,
    pub multisig: Pubkey,
}

/// Creates the multisig and the mint in one transaction paid by `payer`.
pub async fn create_bridge_mint(
    rpc: &SolanaRpc,
    payer: &Keypair,
    members: &[Pubkey],
    m: u8,
    freeze_authority: &Pubkey,
) -> Result<BridgeMint, SolanaError> {
    let (mint, multisig) = (Keypair::new(), Keypair::new());
    let token = token_program();
    let refs: Vec<&Pubkey> = members.iter().collect();
    let bad = |e: usd1_solana::solana_sdk::program_error::ProgramError| {
        SolanaError::Invalid(e.to_string())
    };
    let instructions = vec![
        solana_system_interface::instruction::create_account(
            &payer.pubkey(),
            &multisig.pubkey(),
            rpc.rent_exempt_minimum(Multisig::LEN).await?,
            Multisig::LEN as u64,
            &token,
        ),
        spl_token_interface::instruction::initialize_multisig2(
            &token,
            &multisig.pubkey(),
            &refs,
            m,
        )
        .map_err(bad)?,
        solana_system_interface::instruction::create_account(
            &payer.pubkey(),
            &mint.pubkey(),
            rpc.rent_exempt_minimum(Mint::LEN).await?,
            Mint::LEN as u64,
            &token,
        ),
        spl_token_interface::instruction::initialize_mint2(
            &token,
            &mint.pubkey(),
            &multisig.pubkey(),
            Some(freeze_authority),
            USD1_DECIMALS as u8,
        )
        .map_err(bad)?,
    ];
    let (blockhash, _) = rpc.blockhash().await?;
    let tx = Transaction::new_signed_with_payer(
        &instructions,
        Some(&payer.pubkey()),
        &[payer, &multisig, &mint],
        blockhash,
    );
    rpc.client()
        .send_and_confirm_transaction(&tx)
        .await
        .map_err(|e| SolanaError::Rpc {
            method: "sendTransaction",
            detail: e.to_string(),
        })?;
    Ok(BridgeMint {
        mint: mint.pubkey(),
        multisig: multisig.pubkey(),
    })
}
