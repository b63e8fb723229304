//! Key files given with `--private-key` / `--public-key`: PEM (plain and encrypted PKCS#8, SEC1,
//! traditional OpenSSL encryption) and DER SubjectPublicKeyInfo. A loaded public key then checks
//! the input itself as a signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_signing::keys::{PrivateKey, PublicKey};

fuzz_target!(|data: &[u8]| {
    let _ = PrivateKey::from_pem(data, None);
    let _ = PrivateKey::from_pem(data, Some(b"pw"));
    for key in [PublicKey::from_pem(data), PublicKey::from_spki_der(data)]
        .into_iter()
        .flatten()
    {
        let _ = key.verify(b"msg", data);
        let _ = key.hint();
        // The canonical form must load back as the same key.
        assert_eq!(
            PublicKey::from_spki_der(key.spki_der()).ok().as_ref(),
            Some(&key)
        );
    }
});
