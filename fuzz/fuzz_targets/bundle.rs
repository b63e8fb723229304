//! `model.sig` as read by `verify`: the lenient bundle reader, then the DSSE payload as an in-toto
//! statement, then the manifest checks. Every step must return `Err` on bad input, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_signing::{bundle, manifest, statement};

fuzz_target!(|data: &[u8]| {
    let Ok(b) = bundle::parse(data) else { return };
    let Ok(st) = statement::decode(&b.payload) else {
        return;
    };
    let _ = manifest::validate_signed(
        &st.manifest,
        st.serialization.hash_type,
        st.serialization.serialization,
    );
});
