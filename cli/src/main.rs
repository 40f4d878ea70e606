//! `usd1`: bridge USD1 between chains and follow the transfer; look one up; balances; the
//! cross-chain supply audit. Amounts are decimal strings (never floats), shown with the
//! token's 6 decimals. Exit 0 on success, 1 when something failed (or the audit found a
//! discrepancy), 2 when the input or config is wrong.

/// `println!` that never panics: a closed stdout (`usd1 status … | head`) is not an error.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod context;
mod governor;
mod lookup;
mod progress;
mod solana;
mod transfer;

use clap::{Parser, Subcommand};
use context::{CliError, Context};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "usd1",
    version,
    about = "Bridge USD1 between chains, follow transfers, audit supply"
)]
struct Args {
    /// The CLI config (chains, your key, the bridge's services). The devnet writes one.
    #[arg(
        long,
        short,
        global = true,
        env = "USD1_CLI_CONFIG",
        default_value = ".devnet/usd1.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Burn on one chain, mint on another, and follow it to the end.
    Transfer {
        /// Source chain name (as in the config).
        #[arg(long)]
        from: String,
        /// Destination chain name.
        #[arg(long)]
        to: String,
        /// Decimal amount of USD1, e.g. 12.5 or 0.5: digits, optionally a point and up to 6
        /// decimals (no sign, spaces, exponent or separators; 0.5, not .5; 5, not 5.).
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Who receives on the destination: an EVM address (0x and 40 hex digits; a mixed-case
        /// one must match its EIP-55 checksum), or with --to solana a base58 wallet. Never
        /// the zero address.
        #[arg(long)]
        recipient: String,
        /// Submit the mint yourself with the attesters' signatures instead of waiting for a relayer.
        #[arg(long)]
        self_relay: bool,
        /// Give up following after this many seconds (the transfer itself goes on).
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Where a transfer is: by message hash or source transaction hash.
    Status { id: String },
    /// USD1 balances on every configured chain.
    Balance {
        /// Whose (default: the configured user's): 0x and 40 hex digits, EIP-55 if mixed case.
        #[arg(long)]
        address: Option<String>,
    },
    /// Σ total supply over all chains + in-flight burns against the issued total.
    Audit {
        /// The issued total (default: [audit] issued_total from the config).
        #[arg(long)]
        issued: Option<String>,
        /// Forget the audit's index and build it again from each chain's start_block.
        #[arg(long, conflicts_with = "no_index")]
        rebuild: bool,
        /// Read every chain from its start_block and keep no index (the full rescan).
        #[arg(long)]
        no_index: bool,
        /// Where the index of burns and receipts is kept (default:
        /// ~/.cache/usd1-bridge/audit-<hash of the config's path>).
        #[arg(long, env = "USD1_AUDIT_INDEX")]
        index: Option<PathBuf>,
        /// Also compare every EVM receipt with the burns its source has now, naming the
        /// (source, nonce) pairs no burn backs (a finality violation). Reads every chain's
        /// whole history; done anyway when the sums do not add up.
        #[arg(long)]
        receipts: bool,
    },
    /// The attesters' governors: limits, windows, held transfers; release or drop a hold.
    Governor {
        #[command(subcommand)]
        action: GovernorAction,
        /// The attesters' governor admin token (their `governor.admin_token_file`); needed
        /// by release and drop.
        #[arg(long, global = true)]
        token_file: Option<PathBuf>,
        /// Only this attester (repeatable; default: every attester in [bridge] attesters).
        #[arg(long = "attester", global = true)]
        attesters: Vec<String>,
    },
}

#[derive(Subcommand)]
enum GovernorAction {
    /// Per source chain: the window's use and limit, the big-transfer threshold, what is held.
    Status,
    /// Sign a held (or dropped) message now.
    Release {
        /// The message hash (0x + 64 hex digits).
        hash: String,
    },
    /// Never sign a held message (the operators judged it fraudulent).
    Drop {
        /// The message hash (0x + 64 hex digits).
        hash: String,
    },
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    usd1_evm::tls::install();
    let result = match Context::load(&args.config) {
        Ok(ctx) => run(&ctx, &args.config, args.command).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        eprintln!("usd1: {}", e.message);
        std::process::exit(e.code);
    }
}

async fn run(ctx: &Context, config: &std::path::Path, command: Command) -> Result<(), CliError> {
    match command {
        Command::Transfer {
            from,
            to,
            amount,
            recipient,
            self_relay,
            timeout,
        } => {
            let args = transfer::TransferArgs {
                from,
                to,
                amount,
                recipient,
                self_relay,
                timeout: Duration::from_secs(timeout),
            };
            match &ctx.config.solana {
                Some(s) if args.to == s.name => solana::to_solana(ctx, args).await,
                Some(s) if args.from == s.name => solana::from_solana(ctx, args).await,
                _ => transfer::transfer(ctx, args).await,
            }
        }
        Command::Status { id } => lookup::status(ctx, &id).await,
        Command::Balance { address } => {
            // Checked as strictly as a transfer's recipient (EIP-55, not the zero address).
            let address = address
                .map(|a| context::evm_address("--address", &a).map(|a| a.to_string()))
                .transpose()?;
            lookup::balance(ctx, address).await
        }
        Command::Audit {
            issued,
            rebuild,
            no_index,
            index,
            receipts,
        } => {
            let options = lookup::AuditOptions {
                issued,
                rebuild,
                no_index,
                index,
                receipts,
                config: config.to_path_buf(),
            };
            lookup::audit(ctx, options).await
        }
        Command::Governor {
            action,
            token_file,
            attesters,
        } => {
            let action = match action {
                GovernorAction::Status => governor::Action::Status,
                GovernorAction::Release { hash } => governor::Action::Release(hash),
                GovernorAction::Drop { hash } => governor::Action::Drop(hash),
            };
            governor::governor(ctx, action, token_file.as_deref(), &attesters).await
        }
    }
}
