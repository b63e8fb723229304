//! Single-core hash rate of this crate's hashing code, for `scripts/bench`'s "hardware limit".
//!
//! `cargo run --release --example hashrate -- sha256|blake2b|blake3 [SECONDS]` prints bytes per second
//! for one thread streaming 1 MiB chunks (the engine's read size) out of a 64 MiB buffer, which is
//! what hashing a page-cached file costs minus the copy out of the page cache.

use model_signing::hashing::HashAlgorithm;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let alg: HashAlgorithm = match args.next().unwrap_or_else(|| "sha256".into()).parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let buf: Vec<u8> = (0..64usize << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut hasher = alg.streaming();
    let start = Instant::now();
    let mut bytes = 0u64;
    while start.elapsed() < Duration::from_secs_f64(secs) {
        for chunk in buf.chunks(1 << 20) {
            hasher.update(chunk);
            bytes += chunk.len() as u64;
        }
    }
    let rate = bytes as f64 / start.elapsed().as_secs_f64();
    std::hint::black_box(hasher.finish());
    println!("{rate:.0}");
}
