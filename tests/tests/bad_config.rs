//! 6. A malformed config file gives one clear error naming the field, a non-zero exit
//!    code, and no panic.

use std::process::Command;
use usd1_deploy::process::bin_path;

const GOOD_CHAIN: &str = r#"
[chains.ethereum]
domain = 0
kind = "evm"
rpc_urls = ["http://127.0.0.1:1"]
finality = { confirmations = 2 }
message_transmitter = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
token_messenger = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
token = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
"#;

fn run(binary: &str, config: &str) -> (i32, String) {
    run_with_env(binary, config, &[])
}

fn run_with_env(binary: &str, config: &str, env: &[(&str, &str)]) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("usd1-e2e-config-{}-{binary}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.toml", config.len()));
    std::fs::write(&path, config).unwrap();
    let out = Command::new(bin_path(binary))
        .arg("--config")
        .arg(&path)
        .envs(env.iter().copied())
        .output()
        .expect("binary built (cargo build --bins)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_clear_error(binary: &str, config: &str, field: &str) {
    let (code, stderr) = run(binary, config);
    assert_ne!(code, 0, "{binary} must fail");
    assert!(
        stderr.contains(field),
        "{binary}: error should name `{field}`: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{binary} panicked: {stderr}");
    assert_eq!(
        stderr.matches(&format!("{binary}:")).count(),
        1,
        "exactly one error: {stderr}"
    );
}

#[test]
fn malformed_configs_give_one_clear_error_naming_the_field() {
    let attester = format!("[service]\nlisten = \"127.0.0.1:0\"\ndb_path = \"/tmp/x\"\n[signer]\nkey_file = \"/tmp/k\"\n{GOOD_CHAIN}");
    assert_clear_error(
        "usd1-attester",
        &attester.replace("domain = 0", "domain = \"zero\""),
        "chains.ethereum.domain",
    );
    assert_clear_error(
        "usd1-attester",
        &attester.replace("listen = \"127.0.0.1:0\"", "listen = \"nowhere\""),
        "service.listen",
    );
    assert_clear_error(
        "usd1-attester",
        &attester.replace("token = \"0x9fE4", "token = \"0xQQ"),
        "chains.ethereum.token",
    );
    assert_clear_error(
        "usd1-attester",
        &attester.replace("rpc_urls = [\"http://127.0.0.1:1\"]", "rpc_urls = []"),
        "chains.ethereum.rpc_urls",
    );
    assert_clear_error("usd1-attester", "[service\nlisten", "line 1, column 9");

    let relayer = format!(
        "[service]\nlisten = \"127.0.0.1:0\"\ndb_path = \"/tmp/x\"\n[submitter]\nkey_file = \"/tmp/k\"\n[relayer]\nattesters = [\"ftp://a\"]\n{GOOD_CHAIN}"
    );
    assert_clear_error("usd1-relayer", &relayer, "relayer.attesters");
    assert_clear_error(
        "usd1-relayer",
        &relayer.replace("[relayer]\nattesters = [\"ftp://a\"]\n", ""),
        "relayer",
    );
}

#[test]
fn a_missing_key_file_is_a_clear_error_not_a_panic() {
    let attester = format!("[service]\nlisten = \"127.0.0.1:0\"\ndb_path = \"{}\"\n[signer]\nkey_file = \"/nonexistent/attester.key\"\n{GOOD_CHAIN}",
        std::env::temp_dir().join(format!("usd1-e2e-nokey-{}", std::process::id())).display());
    let (code, stderr) = run("usd1-attester", &attester);
    assert_eq!(code, 2, "a config error exits 2: {stderr}");
    assert!(
        stderr.contains("signer.key_file: cannot read /nonexistent/attester.key"),
        "names the field and the file: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.matches("usd1-attester:").count(), 1, "{stderr}");

    let relayer = format!("[service]\nlisten = \"127.0.0.1:0\"\ndb_path = \"{}\"\n[submitter]\nkey_file = \"/nonexistent/relayer.key\"\n[relayer]\nattesters = [\"http://127.0.0.1:1\"]\n{GOOD_CHAIN}",
        std::env::temp_dir().join(format!("usd1-e2e-nokey-r-{}", std::process::id())).display());
    let (code, stderr) = run("usd1-relayer", &relayer);
    assert_eq!(code, 2, "a config error exits 2: {stderr}");
    assert!(
        stderr.contains("submitter.key_file: cannot read /nonexistent/relayer.key"),
        "names the field and the file: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.matches("usd1-relayer:").count(), 1, "{stderr}");

    // A file that is there but holds no key: the same field named, the content never shown.
    let garbage = std::env::temp_dir().join(format!("usd1-e2e-garbage-key-{}", std::process::id()));
    std::fs::write(&garbage, "not a key at all").unwrap();
    let (code, stderr) = run(
        "usd1-attester",
        &attester.replace("/nonexistent/attester.key", &garbage.display().to_string()),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("signer.key_file: "), "{stderr}");
    assert!(!stderr.contains("not a key at all"), "{stderr}");
}

#[test]
fn a_bad_environment_override_names_the_variable_not_the_file() {
    let attester = format!("[service]\nlisten = \"127.0.0.1:0\"\ndb_path = \"/tmp/x\"\n[signer]\nkey_file = \"/tmp/k\"\n{GOOD_CHAIN}");
    let (code, stderr) = run_with_env(
        "usd1-attester",
        &attester,
        &[("USD1_SERVICE__LISTEN", "nope")],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("usd1-attester: USD1_SERVICE__LISTEN=\"nope\""),
        "names the variable and its value: {stderr}"
    );
    assert!(stderr.contains("service.listen"), "{stderr}");
    assert!(
        !stderr.contains(".toml"),
        "not blamed on the file: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // An unknown key under a known section: the variable is named, its value is not shown.
    let (code, stderr) = run_with_env(
        "usd1-attester",
        &attester,
        &[("USD1_SIGNER__PRIVATE_KEY", "0xdeadbeef")],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("USD1_SIGNER__PRIVATE_KEY"), "{stderr}");
    assert!(!stderr.contains("0xdeadbeef"), "{stderr}");
}

/// A store written by a newer version of the service is refused at start, naming both
/// format numbers, before anything in it is read or written: an older binary would misread
/// it (docs/decisions.md, "Storage").
#[test]
fn a_store_written_by_a_newer_version_is_refused_at_start() {
    for (binary, key_section, rest) in [
        ("usd1-attester", "signer", ""),
        (
            "usd1-relayer",
            "submitter",
            "[relayer]\nattesters = [\"http://127.0.0.1:1\"]\n",
        ),
    ] {
        let dir = std::env::temp_dir().join(format!(
            "usd1-e2e-newer-store-{}-{binary}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let db_path = dir.join("db");
        {
            let db = sled::open(&db_path).unwrap();
            db.insert(b"store_format", &99u32.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        let key = dir.join("key");
        std::fs::write(&key, format!("0x{}", "11".repeat(32))).unwrap();
        let config = format!(
            "[service]\nlisten = \"127.0.0.1:0\"\ndb_path = \"{}\"\n[{key_section}]\nkey_file = \"{}\"\n{rest}{GOOD_CHAIN}",
            db_path.display(),
            key.display()
        );
        let (code, stderr) = run(binary, &config);
        assert_ne!(code, 0, "{binary} must refuse the store: {stderr}");
        assert!(
            stderr.contains(&format!("written by a newer {binary} (format 99;")),
            "{binary}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.matches(&format!("{binary}:")).count(), 1, "{stderr}");
        let db = sled::open(&db_path).unwrap();
        assert_eq!(
            db.get(b"store_format").unwrap().unwrap().as_ref(),
            99u32.to_be_bytes(),
            "left as it was"
        );
        assert_eq!(db.tree_names().len(), 1, "nothing else created");
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
