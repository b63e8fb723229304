//! The DSSE payload (in-toto statement) on its own, so the fuzzer need not get through base64 and
//! the bundle JSON first: decoding, the manifest checks, and every resource name parsed under both
//! serializations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_signing::hashing::Serialization;
use model_signing::{manifest, statement};

fuzz_target!(|data: &[u8]| {
    let Ok(st) = statement::decode(data) else {
        return;
    };
    let _ = manifest::validate_signed(
        &st.manifest,
        st.serialization.hash_type,
        st.serialization.serialization,
    );
    for r in &st.manifest.resources {
        for ser in [
            Serialization::Files,
            Serialization::Shards {
                shard_size: 1 << 20,
            },
        ] {
            if let Ok(p) = manifest::parse_name(&r.name, ser) {
                // A parsed name always satisfies the path rules, and a shard range is never empty.
                assert!(manifest::validate_path(&p.path).is_ok(), "{:?}", p.path);
                if let Some((start, end)) = p.range {
                    assert!(start < end);
                }
            }
        }
    }
});
