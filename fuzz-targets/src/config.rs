//! Config parsing (`usd1_config::load`): TOML read, `USD1_` overrides merged, validated,
//! with errors that name the field (or the variable). Operators write these files and
//! variables by hand, so any text must give a config or an error, never a panic.
//!
//! Input: `kind ‖ TOML text [‖ NUL ‖ NAME=VALUE (NUL NAME=VALUE)*]`; `kind` picks the
//! attester's, relayer's or CLI's schema, each `NAME=VALUE` sets `USD1_<NAME>` for that one
//! load. The text goes through a file because `load` is the one entry point the binaries use.

use std::path::PathBuf;
use usd1_config::{load, AttesterConfig, CliConfig, ConfigError, RelayerConfig};

/// A scratch file per thread (tests may run targets on several), removed when it ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

thread_local! {
    static SCRATCH: Scratch = Scratch(std::env::temp_dir().join(format!(
        "usd1-fuzz-config-{}-{:?}.toml",
        std::process::id(),
        std::thread::current().id()
    ).replace(['(', ')'], "")));
}

/// Held while `USD1_` variables are set and read: the environment is the process's, and
/// tests run on several threads.
static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Overrides set per input, at most: enough to combine a good and a bad one.
const MAX_OVERRIDES: usize = 4;

fn check<T>(result: Result<T, ConfigError>) {
    match result {
        // An error blamed on the environment names the variable.
        Err(ConfigError::Env { reason }) => assert!(reason.contains("USD1_"), "{reason}"),
        // Every other error renders, and says something.
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(_) => {}
    }
}

/// `USD1_<NAME>=VALUE` pairs; those the OS cannot hold (empty name, `=` in it) are skipped.
fn overrides(env: &str) -> Vec<(String, &str)> {
    env.split('\0')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| !name.is_empty())
        .take(MAX_OVERRIDES)
        .map(|(name, value)| (format!("USD1_{name}"), value))
        .collect()
}

pub fn config_parse(data: &[u8]) {
    let Some((&kind, text)) = data.split_first() else {
        return;
    };
    // `load` reads UTF-8 text; other bytes are a read error, not worth a file write.
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let (toml, env) = text.split_once('\0').unwrap_or((text, ""));
    let env = overrides(env);
    SCRATCH.with(|scratch| {
        let path = &scratch.0;
        if std::fs::write(path, toml).is_err() {
            return;
        }
        // A panic while held is the finding itself: the poison does not matter.
        let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
        for (name, value) in &env {
            std::env::set_var(name, value);
        }
        // Dropped before the lock, also when `check` panics (the corpus replay goes on).
        let _set = SetVars(env.iter().map(|(name, _)| name.clone()).collect());
        match kind % 3 {
            0 => check(load::<AttesterConfig>(path)),
            1 => check(load::<RelayerConfig>(path)),
            _ => check(load::<CliConfig>(path)),
        }
    });
}

/// Variables set for one input, removed when dropped.
struct SetVars(Vec<String>);

impl Drop for SetVars {
    fn drop(&mut self) {
        for name in &self.0 {
            std::env::remove_var(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configs_load() {
        for (target, name, data) in crate::seeds::seeds() {
            if target != "config_parse" {
                continue;
            }
            if data[1..].contains(&0) {
                continue; // with overrides: see below
            }
            SCRATCH.with(|s| {
                let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
                std::fs::write(&s.0, &data[1..]).unwrap();
                let ok = match data[0] {
                    0 => load::<AttesterConfig>(&s.0).map(drop),
                    _ => load::<RelayerConfig>(&s.0).map(drop),
                };
                assert!(ok.is_ok(), "{name}: {ok:?}");
            });
        }
    }

    #[test]
    fn overrides_are_set_for_one_load_and_blamed_by_name() {
        let seed = |name: &str| {
            crate::seeds::seeds()
                .into_iter()
                .find(|(t, n, _)| *t == "config_parse" && *n == name)
                .unwrap()
                .2
        };
        let data = seed("env_bad_value");
        let (toml, env) = std::str::from_utf8(&data[1..])
            .unwrap()
            .split_once('\0')
            .unwrap();
        let env = overrides(env);
        assert_eq!(env, vec![("USD1_SERVICE__LISTEN".to_string(), "nope")]);
        config_parse(&data);
        assert!(
            std::env::var_os("USD1_SERVICE__LISTEN").is_none(),
            "unset after"
        );
        SCRATCH.with(|s| {
            let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
            std::fs::write(&s.0, toml).unwrap();
            std::env::set_var("USD1_SERVICE__LISTEN", "nope");
            let err = load::<AttesterConfig>(&s.0).unwrap_err();
            std::env::remove_var("USD1_SERVICE__LISTEN");
            assert!(matches!(&err, ConfigError::Env { reason } if reason.contains("USD1_SERVICE__LISTEN")), "{err}");
        });
    }
}
