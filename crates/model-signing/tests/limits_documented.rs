//! Every bound lives in `src/limits.rs`, and SECURITY.md's table of bounds lists each with its
//! value: this test fails when a constant is added without a row, or a value changes on one side
//! only.

use model_signing::limits::*;
use std::time::Duration;

/// A constant's value as SECURITY.md writes it: integers with thousands separators, durations in
/// seconds.
trait Shown {
    fn shown(&self) -> String;
}

macro_rules! shown_int {
    ($($t:ty),*) => {$(
        impl Shown for $t {
            fn shown(&self) -> String {
                let digits = self.to_string();
                let mut out = String::new();
                for (i, c) in digits.chars().enumerate() {
                    if i > 0 && (digits.len() - i) % 3 == 0 {
                        out.push(',');
                    }
                    out.push(c);
                }
                out
            }
        }
    )*};
}
shown_int!(usize, u64, u32);

impl Shown for Duration {
    fn shown(&self) -> String {
        format!("{} s", self.as_secs())
    }
}

macro_rules! bounds {
    ($($name:ident),* $(,)?) => {
        vec![$((stringify!($name), $name.shown())),*]
    };
}

#[test]
fn security_md_lists_every_bound_with_its_value() {
    let all = bounds![
        MAX_WORKERS,
        MAX_TREE_DEPTH,
        DIR_LOCK_WAIT,
        MAX_MANIFEST_BYTES,
        MAX_LAYERS,
        MAX_REGISTRY_ERROR_BYTES,
        MAX_TOKEN_RESPONSE_BYTES,
        REGISTRY_REQUEST_TIMEOUT,
        REGISTRY_DEADLINE,
        MAX_ATTACHED_BUNDLE_BYTES,
        MAX_ATTACHED_BUNDLES,
        MAX_BUNDLE_BYTES,
        MAX_TLOG_ENTRIES,
        MAX_TIMESTAMPS,
        MAX_SIGNATURES,
        MAX_PROOF_HASHES,
        MAX_RESOURCES,
        MAX_IGNORE_PATHS,
        MAX_CERTIFICATE_BYTES,
        MAX_CHAIN_CERTIFICATES,
        MAX_TRUST_ANCHORS,
        PATH_BUILDING_DEADLINE,
        MAX_PATH_LEN,
        MAX_STEPS,
        MAX_TIMESTAMP_BYTES,
        MAX_CHAIN_FILE_BYTES,
        MAX_KEY_FILE_BYTES,
        MAX_PBKDF2_ITERATIONS,
        MAX_SCRYPT_MEMORY,
        MAX_SCRYPT_WORK,
        MAX_SECRET_FILE_BYTES,
        MAX_DOCKER_CONFIG_BYTES,
        MAX_PIN_FILE_BYTES,
        MAX_TRUST_FILE_BYTES,
        MAX_OIDC_RESPONSE_BYTES,
        MAX_LOOPBACK_REQUEST_HEAD,
        MAX_POLICY_FILE_BYTES,
        MAX_POLICY_RULES,
        MAX_CLAIMS_FILE_BYTES,
        MAX_CLAIMS_LINES,
        MAX_CARD_BYTES,
        MAX_EVAL_RESULTS,
    ];
    // Every `pub const` of the module is in the list above (so a new one cannot skip the table).
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/limits.rs"))
        .expect("read limits.rs");
    let declared: Vec<&str> = src
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split(':').next())
        .collect();
    let listed: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    let mut a = declared.clone();
    let mut b = listed.clone();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "limits.rs and this test list different constants");

    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../SECURITY.md"))
        .expect("read SECURITY.md");
    for (name, value) in &all {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("SECURITY.md has no row for `{name}`"));
        let cell = row.split('|').nth(2).unwrap_or("").trim();
        assert_eq!(cell, value, "SECURITY.md gives `{name}` as {cell}");
    }
}
