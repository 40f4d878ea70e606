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
    let signer = load_evm_signer(
        &SignerConfig {
            key_file: good.path().into(),
            password_env: "X".into(),
        },
        "signer.key_file",
    )
    .unwrap();
    assert_eq!(
        format!("{:?}", signer.address()),
        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
    );
    let bad = write("not a key");
    let err = load_evm_signer(
        &SignerConfig {
            key_file: bad.path().into(),
            password_env: "X".into(),
        },
        "submitter.key_file",
    )
    .unwrap_err();
    assert!(!err.to_string().contains("not a key"));
    assert!(
        err.to_string().starts_with("submitter.key_file: "),
        "names the field: {err}"
    );
}

#[test]
fn a_missing_key_file_names_the_field_and_the_file() {
    let err = load_evm_signer(
        &SignerConfig {
            key_file: "/nonexistent/usd1/attester.key".into(),
            password_env: "X".into(),
        },
        "signer.key_file",
    )
    .unwrap_err();
    assert_eq!(err.field(), "signer.key_file");
    let shown = err.to_string();
    assert!(
        shown.starts_with("signer.key_file: cannot read /nonexistent/usd1/attester.key: "),
        "{shown}"
    );
    // An unreadable path (a directory) is the same kind of error.
    let dir = tempfile::tempdir().unwrap();
    let err = load_evm_signer(
        &SignerConfig {
            key_file: dir.path().into(),
            password_env: "X".into(),
        },
        "submitter.key_file",
    )
    .unwrap_err();
    assert!(
        matches!(&err, KeyError::Read(f, ..) if f == "submitter.key_file"),
        "{err}"
    );
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
            matches!(
                load_evm_signer(&cfg, "signer.key_file"),
                Err(KeyError::NoPassword(..))
            ),
            "no password in the environment"
        );
        jail.set_env("USD1_TEST_KEYSTORE_PW", "wrong");
        let err = load_evm_signer(&cfg, "signer.key_file").unwrap_err();
        assert!(matches!(err, KeyError::Keystore(..)), "{err}");
        assert!(
            !err.to_string().contains("wrong"),
            "the password is never shown"
        );
        jail.set_env("USD1_TEST_KEYSTORE_PW", "correct horse");
        assert_eq!(
            load_evm_signer(&cfg, "signer.key_file").unwrap().address(),
            signer.address()
        );
        Ok(())
    });
}

/// Runs `load` for an attester config with these `USD1_` variables set.
#[allow(clippy::result_large_err)] // figment::Jail's closure type, not ours
fn load_with_env(vars: &[(&str, &str)], file: &str) -> Result<AttesterConfig, ConfigError> {
    let mut result = None;
    figment::Jail::expect_with(|jail| {
        for (k, v) in vars {
            jail.set_env(k, v);
        }
        let f = write(file);
        result = Some(load::<AttesterConfig>(f.path()));
        Ok(())
    });
    result.unwrap()
}

#[test]
fn a_bad_environment_value_is_blamed_on_the_variable() {
    let err = load_with_env(&[("USD1_SERVICE__LISTEN", "nope")], ATTESTER).unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.starts_with("USD1_SERVICE__LISTEN=\"nope\""),
        "names the variable and its value: {shown}"
    );
    assert!(shown.contains("service.listen"), "{shown}");
    assert!(
        !shown.contains("config /"),
        "not blamed on the file: {shown}"
    );

    // A wrong type, deeper down.
    let err = load_with_env(&[("USD1_CHAINS__BASE__DOMAIN", "six")], ATTESTER)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("USD1_CHAINS__BASE__DOMAIN=\"six\""),
        "{err}"
    );
    assert!(err.contains("chains.base.domain"), "{err}");

    // figment matches names case-insensitively; the message shows the name as it was set.
    let err = load_with_env(&[("usd1_service__listen", "nope")], ATTESTER)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("usd1_service__listen="), "{err}");
}

#[test]
fn an_unknown_environment_key_names_the_variable_but_not_its_value() {
    let err = load_with_env(&[("USD1_SIGNER__KEY", "0xsecret")], ATTESTER).unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("USD1_SIGNER__KEY "), "{shown}");
    assert!(shown.contains("unknown field"), "{shown}");
    assert!(
        !shown.contains("0xsecret"),
        "the value may be a secret: {shown}"
    );
}

#[test]
fn an_environment_value_that_fails_validation_is_blamed_on_the_variable() {
    let err = load_with_env(
        &[("USD1_CHAINS__BASE__RPC_URLS", r#"["ftp://10.0.0.1"]"#)],
        ATTESTER,
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("USD1_CHAINS__BASE__RPC_URLS="), "{shown}");
    assert!(shown.contains("is not an http(s) URL"), "{shown}");
}

#[test]
fn file_errors_still_name_the_file_when_variables_are_set() {
    // The variable is fine; the file's value is not: the file is to blame.
    let err = load_with_env(
        &[("USD1_SERVICE__LISTEN", "127.0.0.1:9")],
        &ATTESTER.replace("domain = 6", "domain = \"six\""),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("config /"), "{shown}");
    assert!(shown.contains("field `chains.base.domain`"), "{shown}");
    assert!(!shown.contains("USD1_"), "{shown}");
    let err = load_with_env(
        &[("USD1_SERVICE__LISTEN", "127.0.0.1:9")],
        &ATTESTER.replace("rpc_urls = [\"http://127.0.0.1:8546\"]", "rpc_urls = []"),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
}

#[test]
fn issued_total_follows_the_amount_rule() {
    let relayer = format!(
        "[service]\nlisten = \"127.0.0.1:0\"\ndb_path = \"/tmp/x\"\n[submitter]\nkey_file = \"/tmp/k\"\n[relayer]\nattesters = [\"http://a\"]\n[audit]\nissued_total = \"TOTAL\"\n{}",
        &ATTESTER[ATTESTER.find("[chains.ethereum]").unwrap()..]
    );
    for ok in ["2000000", "2000000.5"] {
        let f = write(&relayer.replace("TOTAL", ok));
        load::<RelayerConfig>(f.path()).unwrap();
    }
    for bad in [" 1", ".5", "5.", "1e6", "-1", "1_000"] {
        let f = write(&relayer.replace("TOTAL", bad));
        let err = load::<RelayerConfig>(f.path()).unwrap_err().to_string();
        assert!(err.contains("audit.issued_total"), "{bad:?}: {err}");
        assert!(
            err.contains("amounts are written like 12.5"),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn a_relayer_with_one_of_its_two_solana_keys_names_the_missing_one() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let example = std::fs::read_to_string(dir.join("relayer.toml")).unwrap();
    // The example's own Solana entry is last: replaced by ours (the older `[solana]` form).
    let base = example.split("\n[chains.solana]").next().unwrap();
    let solana = |keys: &str| {
        format!(
            "{base}\n[solana]\nrpc_urls = [\"http://127.0.0.1:8899\"]\nmint = \"{k}\"\nmultisig = \"{k}\"\nclaim_authority = \"{k}\"\n{keys}\n",
            k = "So11111111111111111111111111111111111111112"
        )
    };
    let f = write(&solana("payer_key_file = \"/keys/payer.json\""));
    let e = load::<RelayerConfig>(f.path()).unwrap_err().to_string();
    assert!(e.contains("solana.claim_authority_key_file"), "{e}");
    let f = write(&solana(
        "payer_key_file = \"/keys/payer.json\"\nclaim_authority_key_file = \"/keys/claim.json\"",
    ));
    load::<RelayerConfig>(f.path()).unwrap();
}

#[test]
fn a_deeply_nested_environment_value_is_an_error_not_a_stack_overflow() {
    // Found by fuzzing (config_parse): figment parses a variable's value recursively, so
    // thousands of `[` overflowed the stack (SIGSEGV) instead of failing the load.
    let value = "[".repeat(100_000);
    let err = load_with_env(&[("USD1_SERVICE__LISTEN", &value)], ATTESTER).unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("USD1_SERVICE__LISTEN "), "{shown}");
    assert!(shown.contains("nested"), "{shown}");
    assert!(!shown.contains("[["), "the value is not shown: {shown}");
    // A variable the attester's config does not take is not its business.
    load_with_env(&[("USD1_RELAYER__POLICY", &value)], ATTESTER).unwrap();
}

#[test]
fn an_escape_after_non_ascii_text_in_an_environment_value_is_an_error_not_a_panic() {
    // Found by fuzzing (config_parse): figment unescapes a quoted value by slicing it at a
    // character index as if it were a byte index, so text like `"é\n"` panicked (and text
    // whose slice happened to land on a boundary was silently cut).
    let err = load_with_env(&[("USD1_SERVICE__LISTEN", "\"é\\n\"")], ATTESTER).unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("USD1_SERVICE__LISTEN "), "{shown}");
    assert!(shown.contains("escape"), "{shown}");
}

/// Solana as an entry of `chains` (the form written today).
const SOLANA_ENTRY: &str = r#"
[chains.sol]
kind = "solana"
domain = 5
rpc_urls = ["http://127.0.0.1:8899", "http://127.0.0.1:8898"]
mint = "So11111111111111111111111111111111111111112"
multisig = "So11111111111111111111111111111111111111112"
claim_authority = "So11111111111111111111111111111111111111112"
cosign_key_file = "/keys/cosign.json"
"#;

#[test]
fn solana_is_an_entry_of_chains_with_kind_solana() {
    let f = write(&format!("{ATTESTER}{SOLANA_ENTRY}"));
    let c: AttesterConfig = load(f.path()).unwrap();
    let solana = c.solana.unwrap();
    assert_eq!(solana.name, "sol", "named by its key");
    assert_eq!(solana.rpc_urls.len(), 2);
    assert_eq!(
        c.chains.keys().collect::<Vec<_>>(),
        vec!["base", "ethereum"]
    );
}

#[test]
fn errors_in_the_solana_entry_name_it_as_written() {
    let bad_key = SOLANA_ENTRY.replace("mint = \"So1", "mint = \"0x");
    let e = load::<AttesterConfig>(write(&format!("{ATTESTER}{bad_key}")).path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("chains.sol.mint"), "{e}");
    let no_key = SOLANA_ENTRY.replace("cosign_key_file = \"/keys/cosign.json\"\n", "");
    let e = load::<AttesterConfig>(write(&format!("{ATTESTER}{no_key}")).path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("chains.sol.cosign_key_file"), "{e}");
    let unknown = format!("{ATTESTER}{SOLANA_ENTRY}colour = \"red\"\n");
    let e = load::<AttesterConfig>(write(&unknown).path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("chains.sol") && e.contains("colour"), "{e}");
    let both = format!("{ATTESTER}{SOLANA_ENTRY}\n[solana]\nrpc_urls = []\n");
    let e = load::<AttesterConfig>(write(&both).path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("[solana] is the older form"), "{e}");
}

#[test]
fn the_solana_entry_takes_environment_overrides_under_its_own_name() {
    let file = format!("{ATTESTER}{SOLANA_ENTRY}");
    let c = load_with_env(
        &[("USD1_CHAINS__SOL__RPC_URLS", r#"["http://10.0.0.9:8899"]"#)],
        &file,
    )
    .unwrap();
    assert_eq!(c.solana.unwrap().rpc_urls, vec!["http://10.0.0.9:8899"]);
    let err =
        load_with_env(&[("USD1_CHAINS__SOL__RPC_URLS", r#"["ftp://x"]"#)], &file).unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("USD1_CHAINS__SOL__RPC_URLS="), "{shown}");
    assert!(shown.contains("`chains.sol.rpc_urls`"), "{shown}");
}

#[test]
fn a_config_written_by_to_toml_has_solana_in_chains_and_loads_back() {
    let c: AttesterConfig = load(write(&format!("{ATTESTER}{SOLANA_ENTRY}")).path()).unwrap();
    let text = to_toml(&c).unwrap();
    assert!(
        text.contains("[chains.sol]") && !text.contains("\n[solana]"),
        "{text}"
    );
    let again: AttesterConfig = load(write(&text).path()).unwrap();
    assert_eq!(again.solana.unwrap().rpc_urls, c.solana.unwrap().rpc_urls);
}

/// The file alone (no `USD1_` overrides: other tests set some), validated.
fn file_alone<T: serde::de::DeserializeOwned + crate::Validate>(path: &std::path::Path) -> T {
    use figment::providers::{Format, Toml};
    let text = std::fs::read_to_string(path).unwrap();
    let (text, _) = crate::families::loaded_view(&text).unwrap();
    let c: T = figment::Figment::new()
        .merge(Toml::string(&text))
        .extract()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if let Err((field, why)) = c.validate() {
        panic!("{}: {field}: {why}", path.display());
    }
    c
}

#[test]
fn example_and_production_attesters_listen_on_loopback_only() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for path in [
        root.join("examples/attester.toml"),
        root.join("../deploy/config/attester.production.toml"),
    ] {
        let c: crate::AttesterConfig = file_alone(&path);
        assert!(
            c.service.listen.ip().is_loopback(),
            "{}: an attester behind its TLS proxy listens on 127.0.0.1",
            path.display()
        );
    }
    let example: crate::AttesterConfig = file_alone(&root.join("examples/attester.toml"));
    let solana = example
        .solana
        .expect("the example shows a chain of kind \"solana\"");
    assert!(!solana.cosign_tokens.is_empty(), "and its co-sign callers");
    let relayer: crate::RelayerConfig = file_alone(&root.join("examples/relayer.toml"));
    assert!(relayer.solana.unwrap().cosign_token_file.is_some());
}

#[test]
fn a_chain_of_a_kind_without_an_adapter_is_refused_by_name() {
    let f = write(&ATTESTER.replacen("kind = \"evm\"", "kind = \"cosmos\"", 1));
    let e = load::<AttesterConfig>(f.path()).unwrap_err().to_string();
    assert!(e.contains("chains.") && e.contains("\"cosmos\""), "{e}");
    assert!(e.contains("evm, solana"), "says which kinds are: {e}");
    let f = write(&ATTESTER.replacen("kind = \"evm\"\n", "", 1));
    let e = load::<AttesterConfig>(f.path()).unwrap_err().to_string();
    assert!(e.contains(".kind: missing"), "{e}");
}
