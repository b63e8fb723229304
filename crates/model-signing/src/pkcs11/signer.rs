//! The `pkcs11-key` and `pkcs11-certificate` signers.

use super::{
    bytes_attr, ck_detail, curve_from_params, describe_key, key_type_attr, key_type_name,
    label_and_id, public_from_point, PinPrompt, Pkcs11Error, Pkcs11Uri, TokenSession,
};
use crate::bundle::VerificationMaterial;
use crate::error::Result;
use crate::keys::{Curve, PublicKey, SigHash};
use crate::sign::{Method, RawSigner};
use crate::x509::{self, Certificate};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use sha2::Digest as _;

use super::uri::ObjectType;

/// Signs with an EC private key that stays in a PKCS#11 token. The bundle names the key by the hint
/// of its public key, like the `key` method, so `verify key` with the exported public key checks it.
pub struct Pkcs11Signer {
    /// A PKCS#11 session may be used by one thread at a time (cryptoki's `Session` is `Send`, not
    /// `Sync`); the lock makes the signer shareable, as every [`crate::sign::Signer`] is.
    token: std::sync::Mutex<TokenSession>,
    /// `token 'LABEL' (slot N)`.
    token_name: String,
    key: ObjectHandle,
    public: PublicKey,
    /// `'label' (id %01)`.
    key_name: String,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token_name)
            .field("key", &self.key_name)
            .field("curve", &self.public.curve())
            .finish()
    }
}

impl Pkcs11Signer {
    /// Opens the token and finds the private key `uri` names (and its public key).
    ///
    /// The PIN comes from the URI (`pin-value` or `pin-source`); when it has none and the token
    /// requires a login, `prompt` is asked (without a prompt that is an error). The URI must match
    /// exactly one token and exactly one private key; `type`, when given, must be `private` (or
    /// `public`, taken to mean the private key with the same label and id).
    pub fn open(uri: &Pkcs11Uri, prompt: Option<&mut PinPrompt<'_>>) -> Result<Self, Pkcs11Error> {
        if let Some(t) = uri.object_type {
            if !matches!(t, ObjectType::Private | ObjectType::Public) {
                return Err(Pkcs11Error::Key(format!(
                    "the PKCS#11 URI names an object of type={}: signing needs a private key (type=private)",
                    t.as_str()
                )));
            }
        }
        let token = TokenSession::open(uri, prompt)?;
        let key = find_private_key(&token, uri)?;
        let (label, id) = label_and_id(&token.session, key);
        let key_name = describe_key(&label, &id);
        let public = public_key_of(&token, key, &label, &id, &key_name)?;
        // CKA_ALWAYS_AUTHENTICATE wants a context-specific login between C_SignInit and the
        // single-part C_Sign that CKM_ECDSA needs; cryptoki only offers both calls together.
        let always_authenticate = token
            .session
            .get_attributes(key, &[AttributeType::AlwaysAuthenticate])
            .ok()
            .into_iter()
            .flatten()
            .any(|a| matches!(a, Attribute::AlwaysAuthenticate(true)));
        if always_authenticate {
            return Err(Pkcs11Error::UnsupportedKey(format!(
                "the private key {key_name} on the PKCS#11 {} needs its PIN again for every \
                 signature (CKA_ALWAYS_AUTHENTICATE), which is not supported",
                token.token
            )));
        }
        tracing::debug!(
            "PKCS#11 key {key_name} on {} ({}) in {}",
            token.token,
            public.curve(),
            token.module.path.display()
        );
        Ok(Pkcs11Signer {
            token_name: token.token.clone(),
            token: std::sync::Mutex::new(token),
            key,
            public,
            key_name,
        })
    }

    /// The key's public key (from the token).
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key's curve.
    pub fn curve(&self) -> Curve {
        self.public.curve()
    }

    /// Describes the key for messages: `key 'label' (id %01) on token 'HSM' (slot 3)`.
    pub fn description(&self) -> String {
        format!("key {} on {}", self.key_name, self.token_name)
    }

    /// Signs `message` on the token: hashes it with the curve's hash, signs the digest with
    /// `CKM_ECDSA` and returns the DER signature. The signature is checked against the public key
    /// before it is returned.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let digest = match self.public.curve().sig_hash() {
            SigHash::Sha256 => sha2::Sha256::digest(message).to_vec(),
            SigHash::Sha384 => sha2::Sha384::digest(message).to_vec(),
            SigHash::Sha512 => sha2::Sha512::digest(message).to_vec(),
        };
        let op = || format!("C_Sign with {}", self.description());
        // A thread that panicked while holding the lock left no state behind in it: the session
        // is still the session.
        let token = self.token.lock().unwrap_or_else(|p| p.into_inner());
        let raw = token
            .session
            .sign(&Mechanism::Ecdsa, self.key, &digest)
            .map_err(|e| Pkcs11Error::Call {
                op: op(),
                detail: ck_detail(&e),
            })?;
        let n = self.public.curve().scalar_len();
        if raw.len() != 2 * n {
            return Err(Pkcs11Error::Call {
                op: op(),
                detail: format!(
                    "the token returned a {}-byte signature, expected {} bytes (r || s)",
                    raw.len(),
                    2 * n
                ),
            });
        }
        let der = raw_ecdsa_to_der(&raw).map_err(|e| Pkcs11Error::Call {
            op: op(),
            detail: format!("the token's signature does not encode as DER: {e}"),
        })?;
        self.public
            .verify(message, &der)
            .map_err(|_| Pkcs11Error::Call {
                op: op(),
                detail: "the token's signature does not verify with the key's public key".into(),
            })?;
        Ok(der)
    }
}

impl RawSigner for Pkcs11Signer {
    fn method(&self) -> Method {
        Method::Pkcs11Key
    }

    fn material(&self) -> Result<VerificationMaterial> {
        Ok(VerificationMaterial::PublicKey {
            hint: Some(self.public.hint()),
            legacy_raw_bytes: false,
        })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self.sign_message(message)?)
    }
}

/// Signs with a PKCS#11 key whose X.509 certificate (and intermediates) go into the bundle, like the
/// `certificate` method.
#[derive(Debug)]
pub struct Pkcs11CertificateSigner {
    key: Pkcs11Signer,
    leaf: Certificate,
    chain: Vec<Certificate>,
}

impl Pkcs11CertificateSigner {
    /// Checks that `leaf` certifies the token's key and may sign (key usage, extended key usage),
    /// then builds the signer. `chain` holds the intermediates written after the leaf.
    pub fn new(
        key: Pkcs11Signer,
        leaf: Certificate,
        chain: Vec<Certificate>,
    ) -> Result<Self, Pkcs11Error> {
        let cert_key = leaf.public_key().map_err(|e| {
            Pkcs11Error::Certificate(format!(
                "the signing certificate '{}' has an unusable public key: {e}",
                leaf.subject()
            ))
        })?;
        if cert_key.spki_der() != key.public_key().spki_der() {
            return Err(Pkcs11Error::Certificate(format!(
                "the public key in the signing certificate '{}' does not match the PKCS#11 {}",
                leaf.subject(),
                key.description()
            )));
        }
        x509::check_signing_usage(&leaf).map_err(|e| Pkcs11Error::Certificate(e.to_string()))?;
        Ok(Pkcs11CertificateSigner { key, leaf, chain })
    }

    /// The token key this signer uses.
    pub fn key(&self) -> &Pkcs11Signer {
        &self.key
    }
}

impl RawSigner for Pkcs11CertificateSigner {
    fn method(&self) -> Method {
        Method::Pkcs11Certificate
    }

    fn material(&self) -> Result<VerificationMaterial> {
        let mut certs = vec![self.leaf.der().to_vec()];
        certs.extend(self.chain.iter().map(|c| c.der().to_vec()));
        Ok(VerificationMaterial::CertificateChain(certs))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self.key.sign_message(message)?)
    }
}

/// The one private key matching the URI's `object` and `id` on the session's token.
fn find_private_key(token: &TokenSession, uri: &Pkcs11Uri) -> Result<ObjectHandle, Pkcs11Error> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    let session = &token.session;
    let found = session
        .find_objects(&template)
        .map_err(|e| super::call_error(format!("C_FindObjects on {}", token.token), &e))?;
    let names = |objs: &[ObjectHandle]| -> Vec<String> {
        objs.iter()
            .map(|o| {
                let (l, i) = label_and_id(session, *o);
                describe_key(&l, &i)
            })
            .collect()
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => {
            let all = session
                .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
                .unwrap_or_default();
            let there = if all.is_empty() && !token.logged_in {
                " (no private key is visible without logging in: add pin-value or pin-source to the URI)"
                    .to_string()
            } else if all.is_empty() {
                " (the token has no private keys)".to_string()
            } else {
                format!(" (private keys on it: {})", names(&all).join(", "))
            };
            Err(Pkcs11Error::Key(format!(
                "no private key matches {} on the PKCS#11 {}{there}",
                uri.describe_object(),
                token.token
            )))
        }
        many => Err(Pkcs11Error::Key(format!(
            "{} private keys match {} on the PKCS#11 {}: {}; add object= or id= to the URI",
            many.len(),
            uri.describe_object(),
            token.token,
            names(many).join(", ")
        ))),
    }
}

/// The public key of the private key `key`: from its `CKA_PUBLIC_KEY_INFO` or `CKA_EC_POINT` when
/// the module exposes them on the private key, else from the public key object with the same id
/// (or, when the key has no id, the same label).
fn public_key_of(
    token: &TokenSession,
    key: ObjectHandle,
    label: &str,
    id: &[u8],
    key_name: &str,
) -> Result<PublicKey, Pkcs11Error> {
    let session = &token.session;
    let what = format!("the private key {key_name} on the PKCS#11 {}", token.token);
    match key_type_attr(session, key) {
        Some(k) if k == KeyType::EC => {}
        Some(k) => {
            return Err(Pkcs11Error::UnsupportedKey(format!(
                "{what} is of type {}: only EC keys on P-256, P-384 or P-521 can sign models",
                key_type_name(k)
            )))
        }
        None => {
            return Err(Pkcs11Error::UnsupportedKey(format!(
                "{what} has no readable key type (CKA_KEY_TYPE)"
            )))
        }
    }
    let params = bytes_attr(session, key, AttributeType::EcParams)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Pkcs11Error::UnsupportedKey(format!("{what} has no readable curve (CKA_EC_PARAMS)"))
        })?;
    let curve = curve_from_params(&params).map_err(|c| {
        Pkcs11Error::UnsupportedKey(format!(
            "{what} is on the curve {c}: only P-256, P-384 and P-521 can sign models"
        ))
    })?;
    let from_info = bytes_attr(session, key, AttributeType::PublicKeyInfo)
        .filter(|v| !v.is_empty())
        .and_then(|spki| PublicKey::from_spki_der(&spki).ok())
        .filter(|k| k.curve() == curve);
    if let Some(k) = from_info {
        return Ok(k);
    }
    if let Some(point) = bytes_attr(session, key, AttributeType::EcPoint).filter(|p| !p.is_empty())
    {
        return public_from_point(curve, &point)
            .map_err(|e| Pkcs11Error::UnsupportedKey(format!("{what}: {e}")));
    }
    let mut template = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::EC),
    ];
    let by = if !id.is_empty() {
        template.push(Attribute::Id(id.to_vec()));
        format!("id {}", super::uri::encode_id(id))
    } else if !label.is_empty() {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
        format!("label '{label}'")
    } else {
        return Err(Pkcs11Error::Key(format!(
            "{what} exposes no public key (CKA_EC_POINT) and has neither a label nor an id to find its public key object by"
        )));
    };
    let candidates = session
        .find_objects(&template)
        .map_err(|e| super::call_error(format!("C_FindObjects on {}", token.token), &e))?;
    for obj in candidates {
        let same_curve =
            bytes_attr(session, obj, AttributeType::EcParams).as_deref() == Some(params.as_slice());
        if !same_curve {
            continue;
        }
        if let Some(point) = bytes_attr(session, obj, AttributeType::EcPoint) {
            if let Ok(k) = public_from_point(curve, &point) {
                return Ok(k);
            }
        }
    }
    Err(Pkcs11Error::Key(format!(
        "{what} exposes no public key (CKA_EC_POINT), and no {curve} public key object with {by} was found on the token"
    )))
}

/// Converts a raw PKCS#11 ECDSA signature `r || s` (two equal halves) into an ASN.1 DER
/// `Ecdsa-Sig-Value` (`SEQUENCE { INTEGER r, INTEGER s }`).
pub(crate) fn raw_ecdsa_to_der(raw: &[u8]) -> der::Result<Vec<u8>> {
    use der::Encode as _;
    let (r, s) = raw.split_at(raw.len() / 2);
    // `UintRef` is the unsigned reading: leading zeros stripped, 0x00 prepended to a high bit.
    [der::asn1::UintRef::new(r)?, der::asn1::UintRef::new(s)?].to_der()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_encoding_rules() {
        // High bit set: padded; leading zeros: stripped; zero: a single 00.
        assert_eq!(
            raw_ecdsa_to_der(&[0x80, 0x01, 0x00, 0x7f]).unwrap(),
            vec![0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x7f]
        );
        assert_eq!(
            raw_ecdsa_to_der(&[0x00, 0x00, 0x00, 0x05]).unwrap(),
            vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x05]
        );
    }

    /// Raw signatures from aws-lc (fixed-length r||s) converted by us must verify as DER, on every
    /// curve, including P-521 whose SEQUENCE needs a long-form length.
    #[test]
    fn raw_to_der_verifies() {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
        let msg = b"pkcs11 raw signature";
        let rng = SystemRandom::new();
        for (fixed, curve) in [
            (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, Curve::P256),
            (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, Curve::P384),
            (&signature::ECDSA_P521_SHA512_FIXED_SIGNING, Curve::P521),
        ] {
            let pair = EcdsaKeyPair::generate(fixed).unwrap();
            let public = PublicKey::from_sec1_point(curve, pair.public_key().as_ref()).unwrap();
            for _ in 0..20 {
                let raw = pair.sign(&rng, msg).unwrap();
                assert_eq!(raw.as_ref().len(), 2 * curve.scalar_len());
                let der = raw_ecdsa_to_der(raw.as_ref()).unwrap();
                public.verify(msg, &der).unwrap();
            }
        }
    }
}
