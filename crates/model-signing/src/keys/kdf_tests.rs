//! Key-derivation parameters in an encrypted PKCS#8 key are read before the password is checked,
//! so every combination, however hostile, must end in a typed error: never a panic (the `keys`
//! fuzz target found scrypt N=0 overflowing inside pkcs5), and never a derivation past the bounds.

use super::*;
use base64::Engine as _;
use pkcs8::der::Encode as _;
use pkcs8::pkcs5::pbes2::{self, Kdf, Pbkdf2Params, Pbkdf2Prf, ScryptParams};
use pkcs8::pkcs5::EncryptionScheme;

const IV: [u8; 16] = [7; 16];
const SALT: &[u8] = b"saltsalt";

/// A PEM `ENCRYPTED PRIVATE KEY` with these KDF parameters and ciphertext that no password opens.
fn encrypted_pem(kdf: Kdf<'_>) -> Vec<u8> {
    let info = pkcs8::EncryptedPrivateKeyInfo {
        encryption_algorithm: EncryptionScheme::Pbes2(pbes2::Parameters {
            kdf,
            encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: &IV },
        }),
        encrypted_data: &[0x5a; 48],
    };
    let der = info.to_der().expect("encode");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN ENCRYPTED PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("ascii"));
        pem.push('\n');
    }
    pem.push_str("-----END ENCRYPTED PRIVATE KEY-----\n");
    pem.into_bytes()
}

fn scrypt(n: u64, r: u16, p: u16, key_length: Option<u16>) -> Kdf<'static> {
    Kdf::Scrypt(ScryptParams {
        salt: SALT,
        cost_parameter: n,
        block_size: r,
        parallelization: p,
        key_length,
    })
}

#[test]
fn hostile_scrypt_parameters_are_typed_errors() {
    let key_lengths = [None, Some(0), Some(1), Some(32), Some(u16::MAX)];
    for n in [0, 1, 2, 3, 6, 1 << 10, 1 << 31, 1 << 63, u64::MAX] {
        for r in [0, 1, 8, u16::MAX] {
            for p in [0, 1, u16::MAX] {
                for len in key_lengths {
                    let pem = encrypted_pem(scrypt(n, r, p, len));
                    let err = PrivateKey::from_pem(&pem, Some(b"pw"))
                        .expect_err("no password opens this key");
                    let valid = n >= 2 && n.is_power_of_two() && r >= 1 && p >= 1;
                    let (n128, r128, p128) = (u128::from(n), u128::from(r), u128::from(p));
                    let cheap = 128 * r128 * (n128 + p128)
                        <= u128::from(crate::limits::MAX_SCRYPT_MEMORY)
                        && 128 * n128 * r128 * p128 <= u128::from(crate::limits::MAX_SCRYPT_WORK);
                    if !valid || !cheap {
                        assert!(
                            matches!(err, KeyError::UnsupportedEncryption(_)),
                            "N={n} r={r} p={p} len={len:?}: {err}"
                        );
                        assert!(err.to_string().contains("scrypt"), "{err}");
                    }
                    assert!(!err.to_string().contains('\n'), "{err}");
                }
            }
        }
    }
}

#[test]
fn scrypt_n_zero_names_the_rule() {
    let err =
        PrivateKey::from_pem(&encrypted_pem(scrypt(0, 8, 1, None)), Some(b"pw")).expect_err("N=0");
    assert!(
        err.to_string().contains("N=0") && err.to_string().contains("power of two"),
        "{err}"
    );
}

#[test]
fn hostile_pbkdf2_parameters_are_typed_errors() {
    let prfs = [
        Pbkdf2Prf::HmacWithSha1,
        Pbkdf2Prf::HmacWithSha224,
        Pbkdf2Prf::HmacWithSha256,
        Pbkdf2Prf::HmacWithSha384,
        Pbkdf2Prf::HmacWithSha512,
    ];
    for iterations in [0, 1, 2, crate::limits::MAX_PBKDF2_ITERATIONS + 1, u32::MAX] {
        for prf in prfs {
            for len in [None, Some(0), Some(1), Some(32), Some(u16::MAX)] {
                let kdf = Kdf::Pbkdf2(Pbkdf2Params {
                    salt: SALT,
                    iteration_count: iterations,
                    key_length: len,
                    prf,
                });
                let err = PrivateKey::from_pem(&encrypted_pem(kdf), Some(b"pw"))
                    .expect_err("no password opens this key");
                if iterations > crate::limits::MAX_PBKDF2_ITERATIONS {
                    assert!(
                        matches!(err, KeyError::UnsupportedEncryption(_)),
                        "iterations={iterations}: {err}"
                    );
                }
                assert!(!err.to_string().contains('\n'), "{err}");
            }
        }
    }
}
