use super::*;
use std::io::Write;

const ATTESTER: &str = r#"
[service]
listen = "127.0.0.1:7001"
db_path = "/tmp/a1"

[signer]
key_file = "/tmp/k"

[chains.ethereum]
domain = 0
kind = "evm"
rpc_urls = ["http://127.0.0.1:8545"]
finality = { confirmations = 2 }
message_transmitter = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
token_messenger = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
token = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"

[chains.base]
domain = 6
kind = "evm"
rpc_urls = ["http://127.0.0.1:8546"]
finality = "finalized"
message_transmitter = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
token_messenger = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
token = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
"#;

fn write(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn parses_a_valid_attester_config() {
    let f = write(ATTESTER);
    let c: AttesterConfig = load(f.path()).unwrap();
    assert_eq!(
        c.chains["ethereum"].finality,
        Finality::Confirmations { confirmations: 2 }
    );
    assert_eq!(c.chains["base"].finality, Finality::Finalized);
    assert_eq!(c.chains["base"].poll_interval_ms, 1000);
}

#[test]
fn a_wrong_type_names_the_field() {
    let f = write(&ATTESTER.replace("domain = 6", "domain = \"six\""));
    let err = load::<AttesterConfig>(f.path()).unwrap_err().to_string();
    assert!(err.contains("chains.base.domain"), "{err}");
}

#[test]
fn a_bad_address_names_the_field() {
    let f = write(&ATTESTER.replace("token = \"0x9fE4", "token = \"0xZZ"));
    let err = load::<AttesterConfig>(f.path()).unwrap_err().to_string();
    assert!(err.contains("token"), "{err}");
}

#[test]
fn duplicate_domains_are_rejected() {
    let f = write(&ATTESTER.replace("domain = 6", "domain = 0"));
    let err = load::<AttesterConfig>(f.path()).unwrap_err().to_string();
    assert!(err.contains("domain 0 is also used"), "{err}");
}

#[test]
fn empty_rpc_list_is_rejected() {
    let f = write(&ATTESTER.replace("rpc_urls = [\"http://127.0.0.1:8546\"]", "rpc_urls = []"));
    let err = load::<AttesterConfig>(f.path()).unwrap_err().to_string();
    assert!(err.contains("chains.base.rpc_urls"), "{err}");
}

#[test]
fn unknown_fields_are_rejected() {
    let f = write(&ATTESTER.replace("[signer]", "[signer]\nkey_fiel = \"x\""));
    let err = load::<AttesterConfig>(f.path()).unwrap_err().to_string();
    assert!(err.contains("key_fiel"), "{err}");
}

#[test]
fn malformed_toml_is_a_parse_error() {
    let f = write("[service\nlisten=");
    assert!(matches!(
        load::<AttesterConfig>(f.path()),
        Err(ConfigError::Parse { .. })
    ));
}

#[test]
fn missing_file_is_a_read_error() {
    let err = load::<AttesterConfig>(std::path::Path::new("/nonexistent/usd1.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
}

#[test]
fn hex_key_loads_and_garbage_is_refused() {
    let good = write("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n");
    let signer = load_evm_signer(&SignerConfig {
        key_file: good.path().into(),
        password_env: "X".into(),
    })
    .unwrap();
    assert_eq!(
        format!("{:?}", signer.address()),
        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
    );
    let bad = write("not a key");
    let err = load_evm_signer(&SignerConfig {
        key_file: bad.path().into(),
        password_env: "X".into(),
    })
    .unwrap_err();
    assert!(!err.to_string().contains("not a key"));
}

#[test]
fn the_example_configs_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    load::<AttesterConfig>(&dir.join("attester.toml")).unwrap();
    load::<RelayerConfig>(&dir.join("relayer.toml")).unwrap();
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure type, not ours
fn environment_variables_override_the_file() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("USD1_SERVICE__LISTEN", "127.0.0.1:9999");
        // Not config: used by scripts and for the keystore password.
        jail.set_env("USD1_BIN_DIR", "/x");
        jail.set_env("USD1_KEYSTORE_PASSWORD", "secret");
        jail.set_env(
            "USD1_CHAINS__BASE__RPC_URLS",
            r#"["http://10.9.9.9:8545","http://10.9.9.8:8545"]"#,
        );
        let f = write(ATTESTER);
        let c: AttesterConfig = load(f.path()).map_err(|e| e.to_string())?;
        assert_eq!(c.service.listen.port(), 9999);
        assert_eq!(c.chains["base"].rpc_urls.len(), 2);
        Ok(())
    });
}

#[test]
fn the_production_configs_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config");
    let a: AttesterConfig = load(&dir.join("attester.production.toml")).unwrap();
    assert_eq!(a.chains["ethereum"].finality, Finality::Finalized);
    let r: RelayerConfig = load(&dir.join("relayer.production.toml")).unwrap();
    assert_eq!(r.audit.issued_total.as_deref(), Some("250000000"));
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure type, not ours
fn a_keystore_loads_with_its_password_from_the_environment() {
    use alloy::signers::local::PrivateKeySigner;
    let dir = tempfile::tempdir().unwrap();
    let (signer, _) = PrivateKeySigner::new_keystore(
        dir.path(),
        &mut rand::thread_rng(),
        "correct horse",
        Some("k.json"),
    )
    .unwrap();
    let cfg = SignerConfig {
        key_file: dir.path().join("k.json"),
        password_env: "USD1_TEST_KEYSTORE_PW".into(),
    };
    figment::Jail::expect_with(|jail| {
        assert!(
            matches!(load_evm_signer(&cfg), Err(KeyError::NoPassword(..))),
            "no password in the environment"
        );
        jail.set_env("USD1_TEST_KEYSTORE_PW", "wrong");
        let err = load_evm_signer(&cfg).unwrap_err();
        assert!(matches!(err, KeyError::Keystore(..)), "{err}");
        assert!(
            !err.to_string().contains("wrong"),
            "the password is never shown"
        );
        jail.set_env("USD1_TEST_KEYSTORE_PW", "correct horse");
        assert_eq!(load_evm_signer(&cfg).unwrap().address(), signer.address());
        Ok(())
    });
}
