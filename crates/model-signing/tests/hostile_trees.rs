//! Sign never writes what verify refuses: a property test over random model trees whose names come
//! from a hostile alphabet (control characters, escapes, quotes and backslashes, `:` and dots,
//! Unicode: combining marks, right-to-left overrides, zero-width characters, astral planes; names
//! up to the file system's 255 bytes; trees up to and past the depth bound), in `files` and
//! `shards` mode with every hash algorithm. For each tree, signing either fails with an error
//! (never a panic) or writes a bundle, and every bundle it writes verifies.
//!
//! A tree with a newline in a name used to sign and then fail every verification, so anyone who
//! could drop `note\nx.txt` into a tree that CI signs broke its signatures.

use model_signing::hashing::{HashAlgorithm, HashingConfig, Serialization};
use model_signing::sign::{self, KeySigner};
use model_signing::verify::{self, KeyVerifier, VerifyOptions};
use std::fs;
use std::path::Path;

const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2
OF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r
1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G
-----END PRIVATE KEY-----
";

/// xorshift64*: deterministic, so a failing seed can be replayed (`MS_TREE_SEED`).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// Pieces names are made of: ones every signature can name (however odd)...
const ALPHABET: &[&str] = &[
    "a",
    "B",
    "0",
    "-",
    "_",
    ".",
    " ",
    ":",
    "'",
    "\"",
    "=",
    "%",
    "#",
    "~",
    "\t",
    "é",
    "e\u{301}",
    "中",
    "🙂",
    "\u{202e}",
    "\u{200b}",
    "\u{feff}",
    "\u{2028}",
    "ſ",
    "\u{10ffff}",
];

/// ... and ones no signature may hold (control characters, terminal escapes, the backslash).
const HOSTILE: &[&str] = &[
    "\n",
    "\r",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{1}",
    "\u{85}",
    "\u{9b}",
    "\\",
];

fn name(r: &mut Rng) -> String {
    if r.below(20) == 0 {
        // Long names, up to the usual 255-byte limit of a file name.
        let unit = *r.pick(&["a", "é", "中"]);
        let n = 255 / unit.len();
        return unit.repeat(1 + r.below(n as u64) as usize);
    }
    let mut s = String::new();
    for _ in 0..1 + r.below(6) {
        let from = if r.below(40) == 0 { HOSTILE } else { ALPHABET };
        let piece: &&str = r.pick(from);
        s.push_str(piece);
    }
    if s == "." || s == ".." {
        s.push('x');
    }
    s
}

/// Writes a random tree under `root` (names the file system refuses are skipped).
fn tree(r: &mut Rng, root: &Path, depth: usize) {
    for _ in 0..1 + r.below(4) {
        let n = name(r);
        let p = root.join(&n);
        if r.below(3) == 0 && depth > 0 {
            if fs::create_dir(&p).is_ok() {
                tree(r, &p, depth - 1);
            }
        } else {
            let len = r.below(3000) as usize;
            let data: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            let _ = fs::write(&p, data);
        }
    }
}

fn configs() -> Vec<HashingConfig> {
    let mut out = Vec::new();
    for alg in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Blake2b,
        HashAlgorithm::Blake3,
    ] {
        for ser in [
            Serialization::Files,
            Serialization::Shards { shard_size: 700 },
        ] {
            out.push(HashingConfig {
                algorithm: alg,
                serialization: ser,
                ..Default::default()
            });
        }
    }
    out
}

#[test]
fn every_signature_written_verifies() {
    let signer = KeySigner::from_pem(KEY.as_bytes(), None).unwrap();
    let pk = model_signing::keys::PrivateKey::from_pem(KEY.as_bytes(), None).unwrap();
    let verifier = KeyVerifier::from_pem(pk.public_key().to_pem().as_bytes()).unwrap();
    let seeds: Vec<u64> = match std::env::var("MS_TREE_SEED") {
        Ok(s) => vec![s.parse().expect("MS_TREE_SEED is a number")],
        Err(_) => (1..=200).collect(),
    };
    let configs = configs();
    let (mut signed, mut refused) = (0, 0);
    for seed in seeds {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join("m");
        fs::create_dir(&m).unwrap();
        let depth = 1 + r.below(6) as usize;
        tree(&mut r, &m, depth);
        let cfg = &configs[seed as usize % configs.len()];
        let sig = tmp.path().join("m.sig");
        match sign::sign_model(&m, cfg, &signer, &sig) {
            Ok(_) => {
                signed += 1;
                if let Err(e) = verify::verify_model(&m, &sig, &verifier, &VerifyOptions::default())
                {
                    panic!("seed {seed}: signed, then refused by verify: {e}");
                }
            }
            Err(e) => {
                refused += 1;
                assert!(!sig.exists(), "seed {seed}: a failed sign left a file");
                let text = e.to_string();
                assert!(
                    !text.contains('\n') && !text.contains('\u{1b}'),
                    "seed {seed}: the error is not one safe line: {text:?}"
                );
            }
        }
    }
    eprintln!("{signed} trees signed and verified, {refused} refused");
    // Both outcomes must happen, or the alphabet is not doing its job.
    assert!(
        signed >= 20 && refused >= 20,
        "{signed} signed, {refused} refused"
    );
}

/// The depth bound holds on both sides: a tree past it is refused by sign (with a message,
/// not a stack overflow), and one at it signs and verifies.
#[test]
fn deep_trees_are_refused_not_overflowed() {
    let signer = KeySigner::from_pem(KEY.as_bytes(), None).unwrap();
    let pk = model_signing::keys::PrivateKey::from_pem(KEY.as_bytes(), None).unwrap();
    let verifier = KeyVerifier::from_pem(pk.public_key().to_pem().as_bytes()).unwrap();
    let bound = model_signing::limits::MAX_TREE_DEPTH;
    // 1,000 levels of `d/` stay under PATH_MAX; the old walk overflowed its stack at 967.
    for (depth, ok) in [(bound, true), (bound + 1, false), (1000, false)] {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join("m");
        let mut p = m.clone();
        for _ in 0..depth {
            p.push("d");
        }
        fs::create_dir_all(&p).unwrap();
        fs::write(p.join("f"), b"x").unwrap();
        let sig = tmp.path().join("m.sig");
        let r = sign::sign_model(&m, &HashingConfig::default(), &signer, &sig);
        assert_eq!(r.is_ok(), ok, "depth {depth}: {r:?}");
        if ok {
            verify::verify_model(&m, &sig, &verifier, &VerifyOptions::default()).unwrap();
        } else {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("directories deep"), "{e}");
            // The verifier walks with the same bound: it refuses the tree the same way.
            let good = tmp.path().join("good");
            fs::create_dir(&good).unwrap();
            fs::write(good.join("f"), b"x").unwrap();
            let gsig = tmp.path().join("g.sig");
            sign::sign_model(&good, &HashingConfig::default(), &signer, &gsig).unwrap();
            let e = verify::verify_model(&m, &gsig, &verifier, &VerifyOptions::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("directories deep"), "{e}");
        }
    }
}
