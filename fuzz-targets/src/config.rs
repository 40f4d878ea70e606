//! Config parsing (`usd1_config::load`): TOML read, `USD1_` overrides merged, validated,
//! with errors that name the field. Operators write these files by hand, so any text must
//! give a config or an error, never a panic.
//!
//! Input: `kind ‖ TOML text`; `kind` picks the attester's, relayer's or CLI's schema. The text
//! goes through a file because `load` is the one entry point the binaries use.

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

fn check<T>(result: Result<T, ConfigError>) {
    if let Err(e) = result {
        // Every error renders, and names something.
        assert!(!e.to_string().is_empty());
    }
}

pub fn config_parse(data: &[u8]) {
    let Some((&kind, text)) = data.split_first() else {
        return;
    };
    // `load` reads UTF-8 text; other bytes are a read error, not worth a file write.
    if std::str::from_utf8(text).is_err() {
        return;
    }
    SCRATCH.with(|scratch| {
        let path = &scratch.0;
        if std::fs::write(path, text).is_err() {
            return;
        }
        match kind % 3 {
            0 => check(load::<AttesterConfig>(path)),
            1 => check(load::<RelayerConfig>(path)),
            _ => check(load::<CliConfig>(path)),
        }
    });
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
            SCRATCH.with(|s| {
                std::fs::write(&s.0, &data[1..]).unwrap();
                let ok = match data[0] {
                    0 => load::<AttesterConfig>(&s.0).map(drop),
                    _ => load::<RelayerConfig>(&s.0).map(drop),
                };
                assert!(ok.is_ok(), "{name}: {ok:?}");
            });
        }
    }
}
