//! CI's fuzzing regression check: every committed corpus input (fuzz/corpus/<target>/) and
//! every seed goes through its target again, on stable. A crash fixed once stays fixed.

use std::path::{Path, PathBuf};
use usd1_fuzz_targets::TARGETS;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

#[test]
fn replays_the_committed_corpus() {
    let mut total = 0;
    for (target, run) in TARGETS {
        let dir = corpus_dir(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {target}");
        for file in &files {
            let data = std::fs::read(file).unwrap();
            // A panic names the input, so it can be turned into a unit test.
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} panics", file.display());
        }
        total += files.len();
    }
    assert!(total > 0);
}

#[test]
fn the_seeds_pass_every_target() {
    for (target, name, bytes) in usd1_fuzz_targets::seeds::seeds() {
        let run = TARGETS.iter().find(|(t, _)| *t == target).unwrap().1;
        run(&bytes);
        let _ = name;
    }
}

#[test]
fn every_target_has_a_fuzz_binary() {
    let bins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    for (target, _) in TARGETS {
        let file = bins.join(format!("{target}.rs"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("usd1_fuzz_targets::{target}(")),
            "{}",
            file.display()
        );
    }
}
