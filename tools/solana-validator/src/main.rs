//! `usd1-solana-validator`: Agave's test validator for the devnet and the e2e tests.
//!
//! Binds 127.0.0.1 only, on fixed ports derived from `--rpc-port P` (RPC P, pubsub P+1,
//! gossip P+2, the validator's other sockets in P+3..P+3+30): its automatic port discovery
//! fails on restricted hosts such as CI. Transaction history is on (the watcher needs
//! `getSignaturesForAddress`/`getTransaction`). SPL Token, Associated Token Account and Memo
//! are in its genesis. The genesis "mint" (funded) keypair is read from `--mint-keypair`, or
//! created there in the Solana CLI's JSON format. Prints `ready <rpc url>` once serving.

use solana_keypair::{read_keypair_file, write_keypair_file, Keypair};
use solana_rpc::rpc::JsonRpcConfig;
use solana_signer::Signer;
use solana_streamer::socket::SocketAddrSpace;
use solana_test_validator::TestValidatorGenesis;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::exit;

struct Args {
    ledger: PathBuf,
    rpc_port: u16,
    mint_keypair: PathBuf,
}

fn usage(problem: &str) -> ! {
    eprintln!("usd1-solana-validator: {problem}");
    eprintln!("usage: usd1-solana-validator --ledger DIR --rpc-port PORT --mint-keypair FILE");
    exit(2)
}

fn parse_args() -> Args {
    let mut ledger = None;
    let mut rpc_port = None;
    let mut mint_keypair = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--ledger" => ledger = Some(PathBuf::from(value)),
            "--rpc-port" => rpc_port = Some(value.parse().unwrap_or_else(|_| usage("--rpc-port must be a port number"))),
            "--mint-keypair" => mint_keypair = Some(PathBuf::from(value)),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let rpc_port: u16 = rpc_port.unwrap_or_else(|| usage("--rpc-port is required"));
    if rpc_port > u16::MAX - 40 {
        usage("--rpc-port leaves no room for the ports above it");
    }
    Args {
        ledger: ledger.unwrap_or_else(|| usage("--ledger is required")),
        rpc_port,
        mint_keypair: mint_keypair.unwrap_or_else(|| usage("--mint-keypair is required")),
    }
}

fn main() {
    let args = parse_args();
    let mint = if args.mint_keypair.exists() {
        read_keypair_file(&args.mint_keypair).unwrap_or_else(|e| {
            eprintln!("usd1-solana-validator: cannot read {}: {e}", args.mint_keypair.display());
            exit(2)
        })
    } else {
        let k = Keypair::new();
        write_keypair_file(&k, &args.mint_keypair).unwrap_or_else(|e| {
            eprintln!("usd1-solana-validator: cannot write {}: {e}", args.mint_keypair.display());
            exit(2)
        });
        k
    };

    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let base = args.rpc_port;
    let mut genesis = TestValidatorGenesis::default();
    genesis
        .ledger_path(&args.ledger)
        .bind_ip_addr(localhost)
        .rpc_port(base)
        .gossip_port(base + 2)
        .port_range((base + 3, base + 33))
        .rpc_config(JsonRpcConfig { enable_rpc_transaction_history: true, ..JsonRpcConfig::default_for_test() });

    match genesis.start_with_mint_address(mint.pubkey(), SocketAddrSpace::Unspecified) {
        Ok(validator) => {
            println!("ready {}", validator.rpc_url());
            validator.join();
        }
        Err(e) => {
            eprintln!("usd1-solana-validator: failed to start: {e}");
            exit(1);
        }
    }
}
