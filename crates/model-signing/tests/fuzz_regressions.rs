//! Inputs that crashed a fuzz target (`fuzz/`, run with `scripts/fuzz`), kept as regression tests.
//!
//! Each test feeds the input to the same library calls as its fuzz target and asserts a clean
//! `Err`: libFuzzer counts a panic, an abort, an allocation over 2 GiB or more than 10 s on one
//! input as a crash, and so does a verifier that is fed hostile files.

use model_signing::keys::{KeyError, PrivateKey};
use std::time::{Duration, Instant};

/// Encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`) keys whose key-derivation parameters, read from the
/// file, are hostile. They decrypt nothing (the ciphertext is zeros); what matters is that
/// `PrivateKey::from_pem(.., Some(b"pw"))` (target `keys`) refuses them before deriving a key.
mod hostile_kdf {
    /// PBKDF2-HMAC-SHA256 with u32::MAX (4,294,967,295) iterations: over an hour of hashing
    /// (libFuzzer: timeout).
    pub const PBKDF2_U32_MAX_ITERATIONS: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGOMFoGCSqGSIb3DQEFDTBNMCwGCSqGSIb3DQEFDDAfBAhzYWx0c2FsdAIFAP//
//8wDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEAAAAAAAAAAAAAAAAAAAAAAE
MAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AA==
-----END ENCRYPTED PRIVATE KEY-----
";
    /// PBKDF2 with 2,000,001 iterations: one over the limit.
    pub const PBKDF2_OVER_LIMIT: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGMMFgGCSqGSIb3DQEFDTBLMCoGCSqGSIb3DQEFDDAdBAhzYWx0c2FsdAIDHoSB
MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBAAAAAAAAAAAAAAAAAAAAAABDAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
-----END ENCRYPTED PRIVATE KEY-----
";
    /// scrypt N=2^40, r=3, p=1: a 384 TiB allocation, which fails and aborts the process
    /// (AddressSanitizer: allocation-size-too-big).
    pub const SCRYPT_N_2_40: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGHMFMGCSqGSIb3DQEFDTBGMCUGCSsGAQQB2kcECzAYBAhzYWx0c2FsdAIGAQAA
AAAAAgEDAgEBMB0GCWCGSAFlAwQBKgQQAAAAAAAAAAAAAAAAAAAAAAQwAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
-----END ENCRYPTED PRIVATE KEY-----
";
    /// scrypt N=2, r=16384, p=65535: a 128 GiB buffer (libFuzzer: out-of-memory).
    pub const SCRYPT_HUGE_R_P: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGFMFEGCSqGSIb3DQEFDTBEMCMGCSsGAQQB2kcECzAWBAhzYWx0c2FsdAIBAgIC
QAACAwD//zAdBglghkgBZQMEASoEEAAAAAAAAAAAAAAAAAAAAAAEMAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==
-----END ENCRYPTED PRIVATE KEY-----
";
    /// scrypt N=2^21, r=8, p=1: 2 GiB (libFuzzer: malloc(2147483648) over -rss_limit_mb=2048).
    pub const SCRYPT_2_GIB: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGEMFAGCSqGSIb3DQEFDTBDMCIGCSsGAQQB2kcECzAVBAhzYWx0c2FsdAIDIAAA
AgEIAgEBMB0GCWCGSAFlAwQBKgQQAAAAAAAAAAAAAAAAAAAAAAQwAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
-----END ENCRYPTED PRIVATE KEY-----
";
    /// scrypt N=2^15, r=8, p=1: 32 MiB + 1 KiB, just over OpenSSL's (and our) 32 MiB limit.
    pub const SCRYPT_JUST_OVER: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGEMFAGCSqGSIb3DQEFDTBDMCIGCSsGAQQB2kcECzAVBAhzYWx0c2FsdAIDAIAA
AgEIAgEBMB0GCWCGSAFlAwQBKgQQAAAAAAAAAAAAAAAAAAAAAAQwAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
-----END ENCRYPTED PRIVATE KEY-----
";
    /// scrypt N=0, r=8, p=1: pkcs5 0.7.1 computes log2(N) as 63 - leading_zeros(N), which
    /// overflows for N=0 (a panic with overflow checks on; CI's `keys` run, December 2026).
    pub const SCRYPT_N_0: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGCME4GCSqGSIb3DQEFDTBBMCAGCSsGAQQB2kcECzATBAhzYWx0c2FsdAIBAAIB
CAIBATAdBglghkgBZQMEASoEEAcHBwcHBwcHBwcHBwcHBwcEMFpaWlpaWlpaWlpa
WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg==
-----END ENCRYPTED PRIVATE KEY-----
";
    /// PBKDF2 with OpenSSL's default 2048 iterations: within the limits.
    pub const PBKDF2_DEFAULT: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGLMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhzYWx0c2FsdAICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEAAAAAAAAAAAAAAAAAAAAAAEMAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==
-----END ENCRYPTED PRIVATE KEY-----
";
    /// scrypt with `openssl pkcs8 -scrypt`'s defaults N=2^14, r=8, p=1: within the limits.
    pub const SCRYPT_DEFAULT: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGDME8GCSqGSIb3DQEFDTBCMCEGCSsGAQQB2kcECzAUBAhzYWx0c2FsdAICQAAC
AQgCAQEwHQYJYIZIAWUDBAEqBBAAAAAAAAAAAAAAAAAAAAAABDAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
-----END ENCRYPTED PRIVATE KEY-----
";
}

/// What target `keys` does with every input (the public-key calls are cheap and kept for parity).
fn keys_target(data: &[u8]) -> Result<PrivateKey, KeyError> {
    assert!(PrivateKey::from_pem(data, None).is_err());
    assert!(model_signing::keys::PublicKey::from_pem(data).is_err());
    assert!(model_signing::keys::PublicKey::from_spki_der(data).is_err());
    PrivateKey::from_pem(data, Some(b"pw"))
}

#[test]
fn hostile_key_derivation_parameters_are_refused_before_deriving() {
    use hostile_kdf::*;
    for (name, pem) in [
        ("PBKDF2 u32::MAX iterations", PBKDF2_U32_MAX_ITERATIONS),
        ("PBKDF2 limit + 1", PBKDF2_OVER_LIMIT),
        ("scrypt N=2^40", SCRYPT_N_2_40),
        ("scrypt r=16384 p=65535", SCRYPT_HUGE_R_P),
        ("scrypt 2 GiB", SCRYPT_2_GIB),
        ("scrypt 32 MiB + 1 KiB", SCRYPT_JUST_OVER),
        ("scrypt N=0", SCRYPT_N_0),
    ] {
        let start = Instant::now();
        let err = keys_target(pem.as_bytes()).err();
        let elapsed = start.elapsed();
        assert!(
            matches!(err, Some(KeyError::UnsupportedEncryption(_))),
            "{name}: {err:?}"
        );
        assert!(elapsed < Duration::from_secs(1), "{name}: took {elapsed:?}");
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("re-encrypt"),
            "{name}: the message should say what to do: {msg}"
        );
    }
}

#[test]
fn ordinary_key_derivation_parameters_still_derive() {
    use hostile_kdf::*;
    // Zero ciphertext under any key fails the padding check (or yields no key): the KDF ran and
    // the key was refused for its content, not for its parameters.
    for (name, pem) in [
        ("PBKDF2 2048", PBKDF2_DEFAULT),
        ("scrypt N=2^14 r=8 p=1", SCRYPT_DEFAULT),
    ] {
        let err = keys_target(pem.as_bytes()).err();
        assert!(
            matches!(err, Some(KeyError::WrongPassword)),
            "{name}: {err:?}"
        );
    }
}
