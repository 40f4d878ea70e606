//! Writes the seed inputs of every fuzz target under `<dir>/<target>/<name>`:
//! `cargo run -p usd1-fuzz-targets --example write_seeds -- fuzz/seeds`.

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/seeds".into());
    for (target, name, bytes) in usd1_fuzz_targets::seeds::seeds() {
        let folder = std::path::Path::new(&dir).join(target);
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join(name), bytes)?;
    }
    Ok(())
}
