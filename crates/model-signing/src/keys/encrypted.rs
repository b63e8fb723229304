//! Encrypted private keys: PKCS#8 `ENCRYPTED PRIVATE KEY` (PBES2) with bounds on the key
//! derivation cost, and the traditional OpenSSL encrypted PEM (`Proc-Type: 4,ENCRYPTED`).

use super::pem::Block;
use super::{oid_name, KeyError};
use aws_lc_rs::cipher::{
    DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::iv::FixedLength;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use const_oid::ObjectIdentifier;
use der::Decode;
use md5::{Digest as _, Md5};
use zeroize::Zeroizing;

const REENCRYPT_HINT: &str = "re-encrypt the key with `openssl pkcs8 -topk8 -v2 aes-256-cbc`";
// The PKCS#12 PBE schemes, which const_oid::db does not name.
const ENCRYPTION_NAMES: [(ObjectIdentifier, &str); 6] = [
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.1"),
        "PKCS#12 pbeWithSHAAnd128BitRC4",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.2"),
        "PKCS#12 pbeWithSHAAnd40BitRC4",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3"),
        "PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.4"),
        "PKCS#12 pbeWithSHAAnd2-KeyTripleDES-CBC",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.5"),
        "PKCS#12 pbeWithSHAAnd128BitRC2-CBC",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6"),
        "PKCS#12 pbeWithSHAAnd40BitRC2-CBC",
    ),
];

/// Just the algorithm OID of an `EncryptedPrivateKeyInfo`, for naming unsupported schemes.
struct EncryptionAlgorithmOid(ObjectIdentifier);

impl<'a> der::DecodeValue<'a> for EncryptionAlgorithmOid {
    fn decode_value<R: der::Reader<'a>>(reader: &mut R, _header: der::Header) -> der::Result<Self> {
        let alg = spki::AlgorithmIdentifierRef::decode(reader)?;
        der::asn1::OctetStringRef::decode(reader)?;
        Ok(Self(alg.oid))
    }
}

impl der::FixedTag for EncryptionAlgorithmOid {
    const TAG: der::Tag = der::Tag::Sequence;
}

/// Decrypts an `EncryptedPrivateKeyInfo` (PBES2: PBKDF2 or scrypt; AES-CBC or DES-EDE3-CBC).
pub(super) fn decrypt_pkcs8(der: &[u8], password: &[u8]) -> Result<der::SecretDocument, KeyError> {
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der).map_err(|e| {
        // pkcs5 refuses to even parse schemes it does not know (e.g. PKCS#12 PBE, or PBES2
        // with Camellia), so find the OID it stumbled on to say which scheme it is.
        let unknown = match e.kind() {
            der::ErrorKind::OidUnknown { oid } => Some(oid),
            _ => match EncryptionAlgorithmOid::from_der(der) {
                Ok(EncryptionAlgorithmOid(oid)) if oid != pkcs8::pkcs5::pbes2::PBES2_OID => {
                    Some(oid)
                }
                _ => None,
            },
        };
        match unknown {
            Some(oid) => KeyError::UnsupportedEncryption(format!(
                "algorithm {}; {REENCRYPT_HINT}",
                oid_name(&oid, &ENCRYPTION_NAMES)
            )),
            _ => KeyError::invalid("encrypted private key", e),
        }
    })?;
    check_kdf_cost(&info.encryption_algorithm)?;
    info.decrypt(password).map_err(|e| match e {
        // pkcs5 0.7 reports bad padding after decryption as `EncryptFailed`.
        pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
        ) => KeyError::WrongPassword,
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            KeyError::UnsupportedEncryption(format!(
                "algorithm {}; {REENCRYPT_HINT}",
                oid_name(&oid, &ENCRYPTION_NAMES)
            ))
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::NoPbes1CryptSupport) => {
            KeyError::UnsupportedEncryption(format!(
                "legacy PKCS#5 v1.5 (PBES1) encryption; {REENCRYPT_HINT}"
            ))
        }
        // The envelope was parsed above, so a DER error here comes from the decrypted bytes: a
        // wrong password whose garbage happened to end in valid padding (about 1 in 256).
        pkcs8::Error::Asn1(_) => KeyError::WrongPassword,
        other => KeyError::invalid("encrypted private key", other),
    })
}

use crate::limits::MAX_PBKDF2_ITERATIONS;
use crate::limits::MAX_SCRYPT_MEMORY;
use crate::limits::MAX_SCRYPT_WORK;

/// Refuses key-derivation parameters that would take unbounded time or memory, before deriving.
fn check_kdf_cost(scheme: &pkcs8::pkcs5::EncryptionScheme<'_>) -> Result<(), KeyError> {
    use pkcs8::pkcs5::{pbes2::Kdf, EncryptionScheme};
    let EncryptionScheme::Pbes2(params) = scheme else {
        return Ok(());
    };
    match &params.kdf {
        Kdf::Pbkdf2(p) if p.iteration_count > MAX_PBKDF2_ITERATIONS => {
            Err(KeyError::UnsupportedEncryption(format!(
                "PBKDF2 with {} iterations (at most {MAX_PBKDF2_ITERATIONS} are accepted); {REENCRYPT_HINT}",
                p.iteration_count
            )))
        }
        Kdf::Scrypt(p) => {
            // RFC 7914 asks for N a power of two above 1 and r, p at least 1. pkcs5 0.7.1 takes
            // log2(N) with a subtraction that overflows (a panic with overflow checks) when N is
            // 0, so these are refused here, before it sees them.
            if p.cost_parameter < 2
                || !p.cost_parameter.is_power_of_two()
                || p.block_size == 0
                || p.parallelization == 0
            {
                return Err(KeyError::UnsupportedEncryption(format!(
                    "scrypt with N={}, r={}, p={} (RFC 7914 needs N a power of two above 1, \
                     r and p at least 1); {REENCRYPT_HINT}",
                    p.cost_parameter, p.block_size, p.parallelization
                )));
            }
            let (n, r, par) = (
                u128::from(p.cost_parameter),
                u128::from(p.block_size),
                u128::from(p.parallelization),
            );
            if 128 * r * (n + par) > u128::from(MAX_SCRYPT_MEMORY)
                || 128 * n * r * par > u128::from(MAX_SCRYPT_WORK)
            {
                return Err(KeyError::UnsupportedEncryption(format!(
                    "scrypt with N={n}, r={r}, p={par} needs more memory or time than accepted \
                     (128*r*(N+p) at most {MAX_SCRYPT_MEMORY} bytes, 128*N*r*p at most {MAX_SCRYPT_WORK}); \
                     {REENCRYPT_HINT}"
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

pub(super) fn is_encrypted_proc_type(value: &str) -> bool {
    value
        .split(',')
        .any(|part| part.trim().eq_ignore_ascii_case("ENCRYPTED"))
}

/// Decrypts the body of a traditional OpenSSL encrypted PEM (`Proc-Type: 4,ENCRYPTED`).
pub(super) fn decrypt_traditional(
    block: &Block,
    password: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let dek_info = block.dek_info.as_deref().ok_or_else(|| {
        KeyError::MalformedPem("encrypted PEM key without a DEK-Info header".into())
    })?;
    let (cipher, iv_hex) = dek_info
        .split_once(',')
        .ok_or_else(|| KeyError::MalformedPem(format!("bad DEK-Info header \"{dek_info}\"")))?;
    let cipher = cipher.trim().to_ascii_uppercase();
    let iv = hex::decode(iv_hex.trim())
        .map_err(|_| KeyError::MalformedPem(format!("bad IV in DEK-Info header \"{dek_info}\"")))?;
    let bad_iv =
        || KeyError::MalformedPem(format!("wrong IV length in DEK-Info header \"{dek_info}\""));
    // OpenSSL derives the key with EVP_BytesToKey, salted with the first 8 bytes of the IV.
    let salt = iv.get(..8).ok_or_else(bad_iv)?;
    let mut buf = Zeroizing::new(block.der.to_vec());

    let aes = match cipher.as_str() {
        "AES-128-CBC" => Some((&AES_128, 16)),
        "AES-192-CBC" => Some((&AES_192, 24)),
        "AES-256-CBC" => Some((&AES_256, 32)),
        _ => None,
    };
    if let Some((alg, key_len)) = aes {
        let iv: [u8; 16] = iv.as_slice().try_into().map_err(|_| bad_iv())?;
        let key = evp_bytes_to_key(password, salt, key_len);
        let key = UnboundCipherKey::new(alg, &key).map_err(|_| KeyError::WrongPassword)?;
        let key = PaddedBlockDecryptingKey::cbc_pkcs7(key).map_err(|_| KeyError::WrongPassword)?;
        let plain_len = key
            .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(iv)))
            .map_err(|_| KeyError::WrongPassword)?
            .len();
        buf.truncate(plain_len);
        return Ok(buf);
    }
    if cipher == "DES-EDE3-CBC" {
        let key = evp_bytes_to_key(password, salt, 24);
        let dec =
            cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv).map_err(|_| bad_iv())?;
        let plain_len = dec
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| KeyError::WrongPassword)?
            .len();
        buf.truncate(plain_len);
        return Ok(buf);
    }
    Err(KeyError::UnsupportedEncryption(format!(
        "PEM cipher {cipher}; re-encrypt the key with AES, e.g. `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )))
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration, as used by traditional encrypted PEM.
pub(super) fn evp_bytes_to_key(password: &[u8], salt: &[u8], key_len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(key_len + 16));
    let mut prev: Zeroizing<[u8; 16]> = Zeroizing::new([0; 16]);
    let mut first = true;
    while key.len() < key_len {
        let mut h = Md5::new();
        if !first {
            h.update(prev.as_slice());
        }
        h.update(password);
        h.update(salt);
        prev = Zeroizing::new(h.finalize().into());
        key.extend_from_slice(prev.as_slice());
        first = false;
    }
    key.truncate(key_len);
    key
}
