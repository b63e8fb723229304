//! Hash rates for `scripts/bench`.
//!
//! `cargo run --release --example hashrate -- sha256|blake2b|blake3 [SECONDS]` prints bytes per
//! second for one thread of this crate's streaming hasher over 1 MiB chunks of a 64 MiB buffer.
//!
//! `... -- blake3-mt [SECONDS]` prints the blake3 crate's own multi-threaded rate
//! (`blake3::Hasher::update_rayon`, nothing of ours) over a 256 MiB in-memory buffer: the outside
//! anchor for BLAKE3 workloads.

use model_signing::hashing::HashAlgorithm;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "sha256".into());
    if name == "blake3-mt" {
        let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2.0);
        let buf: Vec<u8> = (0..256usize << 20)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let start = Instant::now();
        let mut bytes = 0u64;
        while start.elapsed() < Duration::from_secs_f64(secs) {
            let mut h = blake3::Hasher::new();
            h.update_rayon(&buf);
            std::hint::black_box(h.finalize());
            bytes += buf.len() as u64;
        }
        println!("{:.0}", bytes as f64 / start.elapsed().as_secs_f64());
        return;
    }
    let alg: HashAlgorithm = match name.parse() {
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
