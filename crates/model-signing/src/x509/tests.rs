use super::der::{
    single, DerReader, TAG_BIT_STRING, TAG_BOOLEAN, TAG_INTEGER, TAG_OCTET_STRING, TAG_OID,
    TAG_SEQUENCE, TAG_SET, TAG_UNIVERSAL, TAG_UTC_TIME, TAG_UTF8,
};
use super::name::canon_text;
use super::path::{PathBuilder, Step, MAX_STEPS};
use super::time::{secs_from_system_time, system_time_from_secs};
use super::*;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use const_oid::db::{rfc4519, rfc5280, rfc5912};
use const_oid::ObjectIdentifier;
use std::time::Duration;
use std::time::UNIX_EPOCH;

fn one(c: &Certificate) -> &[Certificate] {
    std::slice::from_ref(c)
}

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors");

/// Reads a vector file, or `None` (with a note) when the shared vectors are not present,
/// unless `MS_REQUIRE_VECTORS=1` makes that a failure.
fn vector(rel: &str) -> Option<Vec<u8>> {
    let path = format!("{VECTORS}/{rel}");
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            if std::env::var("MS_REQUIRE_VECTORS").as_deref() == Ok("1") {
                panic!("missing vector {path}: {e}");
            }
            eprintln!("note: skipping, vector {path} not available: {e}");
            None
        }
    }
}

fn vector_cert(rel: &str) -> Option<Certificate> {
    let bytes = vector(rel)?;
    let mut certs = parse_pem_certificates(&bytes).expect("parse vector");
    assert_eq!(certs.len(), 1, "{rel}");
    certs.pop()
}

struct Pki {
    root: Certificate,
    int: Certificate,
    leaf: Certificate,
}

fn mt_pki() -> Option<Pki> {
    let d = "model-transparency/scripts/tests/keys/certificate";
    Some(Pki {
        root: vector_cert(&format!("{d}/ca-cert.pem"))?,
        int: vector_cert(&format!("{d}/int-ca-cert.pem"))?,
        leaf: vector_cert(&format!("{d}/signing-key-cert.pem"))?,
    })
}

fn peer_pki() -> Option<Pki> {
    let d = "model-signing-peer/pki";
    Some(Pki {
        root: vector_cert(&format!("{d}/root-cert.pem"))?,
        int: vector_cert(&format!("{d}/int-cert.pem"))?,
        leaf: vector_cert(&format!("{d}/leaf-cert.pem"))?,
    })
}

// --- a tiny certificate builder (ECDSA P-256 / SHA-256) ---

struct Key(EcdsaKeyPair);

impl Key {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("generate");
        Key(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .expect("load"),
        )
    }

    fn spki(&self) -> Vec<u8> {
        let alg = seq(&[oid(&rfc5912::ID_EC_PUBLIC_KEY), oid(&rfc5912::SECP_256_R_1)]);
        let mut bits = vec![0u8];
        bits.extend_from_slice(self.0.public_key().as_ref());
        seq(&[alg, encode_tlv(TAG_BIT_STRING, &bits)])
    }
}

fn encode_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    super::der::encode_tlv(tag, content).expect("encodable TLV")
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    encode_tlv(TAG_SEQUENCE, &parts.concat())
}

fn oid(o: &ObjectIdentifier) -> Vec<u8> {
    encode_tlv(TAG_OID, o.as_bytes())
}

fn name(cn: &str) -> Vec<u8> {
    let atv = seq(&[
        oid(&rfc4519::COMMON_NAME),
        encode_tlv(TAG_UTF8, cn.as_bytes()),
    ]);
    seq(&[encode_tlv(TAG_SET, &atv)])
}

fn utc_time(secs: i64) -> Vec<u8> {
    let s = format_secs(secs); // YYYY-MM-DDTHH:MM:SSZ
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    encode_tlv(TAG_UTC_TIME, format!("{}Z", &digits[2..]).as_bytes())
}

fn ext(o: &ObjectIdentifier, critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![oid(o)];
    if critical {
        parts.push(encode_tlv(TAG_BOOLEAN, &[0xff]));
    }
    parts.push(encode_tlv(TAG_OCTET_STRING, &value));
    seq(&parts)
}

fn bc(ca: bool, pathlen: Option<u8>) -> Vec<u8> {
    let mut parts = Vec::new();
    if ca {
        parts.push(encode_tlv(TAG_BOOLEAN, &[0xff]));
    }
    if let Some(p) = pathlen {
        parts.push(encode_tlv(TAG_INTEGER, &[p]));
    }
    ext(&rfc5280::ID_CE_BASIC_CONSTRAINTS, true, seq(&parts))
}

/// keyUsage from the first byte of flags (0x80 digitalSignature, 0x04 keyCertSign, ...).
fn ku(byte: u8) -> Vec<u8> {
    let unused = if byte == 0 {
        0
    } else {
        byte.trailing_zeros() as u8
    };
    ext(
        &rfc5280::ID_CE_KEY_USAGE,
        true,
        encode_tlv(TAG_BIT_STRING, &[unused, byte]),
    )
}

fn eku(oids: &[ObjectIdentifier]) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = oids.iter().map(oid).collect();
    ext(&rfc5280::ID_CE_EXT_KEY_USAGE, false, seq(&parts))
}

struct Spec<'a> {
    subject: &'a str,
    issuer: &'a str,
    key: &'a Key,
    issuer_key: &'a Key,
    not_before: i64,
    not_after: i64,
    exts: Vec<Vec<u8>>,
}

fn build(spec: Spec<'_>) -> Certificate {
    let alg = seq(&[oid(&ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"))]);
    let mut tbs_parts = vec![
        encode_tlv(0xa0, &encode_tlv(TAG_INTEGER, &[2])),
        encode_tlv(TAG_INTEGER, &[0x01, 0x23, 0x45]),
        alg.clone(),
        name(spec.issuer),
        seq(&[utc_time(spec.not_before), utc_time(spec.not_after)]),
        name(spec.subject),
        spec.key.spki(),
    ];
    if !spec.exts.is_empty() {
        tbs_parts.push(encode_tlv(0xa3, &seq(&spec.exts)));
    }
    let tbs = seq(&tbs_parts);
    let sig = spec
        .issuer_key
        .0
        .sign(&SystemRandom::new(), &tbs)
        .expect("sign");
    let mut bits = vec![0u8];
    bits.extend_from_slice(sig.as_ref());
    let der = seq(&[tbs, alg, encode_tlv(TAG_BIT_STRING, &bits)]);
    Certificate::from_der(&der).expect("built certificate parses")
}

const DAY: i64 = 86_400;

fn now() -> i64 {
    secs_from_system_time(SystemTime::now())
}

/// Root -> intermediate -> leaf, all valid from a year ago for two years.
struct Gen {
    root_key: Key,
    int_key: Key,
    leaf_key: Key,
    root: Certificate,
    int: Certificate,
}

fn gen_pki() -> Gen {
    let (root_key, int_key, leaf_key) = (Key::new(), Key::new(), Key::new());
    let (nb, na) = (now() - 365 * DAY, now() + 365 * DAY);
    let root = build(Spec {
        subject: "Gen Root",
        issuer: "Gen Root",
        key: &root_key,
        issuer_key: &root_key,
        not_before: nb,
        not_after: na,
        exts: vec![bc(true, None), ku(0x06)],
    });
    let int = build(Spec {
        subject: "Gen Int",
        issuer: "Gen Root",
        key: &int_key,
        issuer_key: &root_key,
        not_before: nb,
        not_after: na,
        exts: vec![bc(true, Some(0)), ku(0x06)],
    });
    Gen {
        root_key,
        int_key,
        leaf_key,
        root,
        int,
    }
}

fn leaf_with(g: &Gen, not_before: i64, not_after: i64, exts: Vec<Vec<u8>>) -> Certificate {
    build(Spec {
        subject: "Gen Leaf",
        issuer: "Gen Int",
        key: &g.leaf_key,
        issuer_key: &g.int_key,
        not_before,
        not_after,
        exts,
    })
}

fn signing_exts() -> Vec<Vec<u8>> {
    vec![
        bc(false, None),
        ku(0x80),
        eku(&[rfc5280::ID_KP_CODE_SIGNING]),
    ]
}

fn at_not_before(c: &Certificate) -> SystemTime {
    c.validity().0
}

// --- vectors ---

#[test]
fn model_transparency_pki_validates() {
    let Some(p) = mt_pki() else { return };
    // The leaf is self-issued (subject == issuer == intermediate-ca) and a CA, yet signed by
    // the intermediate: it must not be mistaken for a self-signed root.
    assert_eq!(p.leaf.subject(), p.leaf.issuer());
    assert!(!p.leaf.is_self_signed());
    assert!(p.root.is_self_signed());
    let at = at_not_before(&p.leaf);
    validate_chain(&p.leaf, one(&p.int), one(&p.root), at).expect("valid chain");
    // The root may also travel in the bundle's chain.
    validate_chain(&p.leaf, &[p.int.clone(), p.root.clone()], one(&p.root), at)
        .expect("valid chain with root in the untrusted list");
    // Or the intermediate may be trusted along with the root.
    validate_chain(&p.leaf, &[], &[p.int.clone(), p.root.clone()], at)
        .expect("valid chain with trusted intermediate");
    check_signing_usage(&p.leaf).expect("signing usage");
}

#[test]
fn peer_pki_validates() {
    let Some(p) = peer_pki() else { return };
    assert_eq!(p.root.subject(), "CN=Test Root CA");
    let at = at_not_before(&p.leaf);
    validate_chain(&p.leaf, one(&p.int), one(&p.root), at).expect("valid chain");
    check_signing_usage(&p.leaf).expect("signing usage");
}

#[test]
fn intermediate_only_anchor_fails() {
    for p in [mt_pki(), peer_pki()].into_iter().flatten() {
        let at = at_not_before(&p.leaf);
        let err = validate_chain(&p.leaf, &[], one(&p.int), at).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no trusted root"), "{msg}");
        assert!(msg.contains("partial chains"), "{msg}");
        let err = validate_chain(&p.leaf, one(&p.int), one(&p.int), at).unwrap_err();
        assert!(matches!(err, ChainError::NoTrustedRoot { .. }), "{err}");
    }
}

#[test]
fn unrelated_anchor_fails() {
    let (Some(mt), Some(peer)) = (mt_pki(), peer_pki()) else {
        return;
    };
    let at = at_not_before(&mt.leaf);
    let err = validate_chain(&mt.leaf, one(&mt.int), one(&peer.root), at).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no trusted root found for 'CN=intermediate-ca'"),
        "{msg}"
    );
    assert!(msg.contains("'CN=root-ca'"), "{msg}");
    // Without the intermediate the leaf's issuer is missing.
    let err = validate_chain(&mt.leaf, &[], one(&mt.root), at).unwrap_err();
    assert!(
        err.to_string()
            .contains("issuer 'CN=intermediate-ca' not in the chain"),
        "{err}"
    );
}

#[test]
fn fingerprint_matches_openssl_format() {
    let Some(p) = peer_pki() else { return };
    let fp = p.root.fingerprint();
    assert_eq!(fp.len(), 32 * 3 - 1);
    assert!(fp
        .chars()
        .all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
}

// --- generated chains ---

#[test]
fn generated_chain_validates() {
    let g = gen_pki();
    let leaf = leaf_with(&g, now() - DAY, now() + DAY, signing_exts());
    validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).expect("valid");
    check_signing_usage(&leaf).expect("usage");
    leaf.public_key().ok(); // keys.rs may still be a stub; must not panic either way
}

#[test]
fn broken_link_fails() {
    let g = gen_pki();
    // Same issuer name as the intermediate, but signed with an unrelated key.
    let other = Key::new();
    let leaf = build(Spec {
        subject: "Gen Leaf",
        issuer: "Gen Int",
        key: &g.leaf_key,
        issuer_key: &other,
        not_before: now() - DAY,
        not_after: now() + DAY,
        exts: signing_exts(),
    });
    let err = validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "signature on 'CN=Gen Leaf' does not verify with issuer 'CN=Gen Int'"
    );
}

#[test]
fn expired_leaf_fails_with_dates() {
    let g = gen_pki();
    let (nb, na) = (now() - 100 * DAY, now() - 10 * DAY);
    let leaf = leaf_with(&g, nb, na, signing_exts());
    let at = SystemTime::now();
    let err = validate_chain(&leaf, one(&g.int), one(&g.root), at).unwrap_err();
    let msg = err.to_string();
    let expected = format!(
        "certificate 'CN=Gen Leaf' has expired: valid {} to {}, checked at {}",
        format_secs(nb),
        format_secs(na),
        format_time(at)
    );
    assert_eq!(msg, expected);
    // Checked at its notBefore (as the reference does) it is fine.
    validate_chain(&leaf, one(&g.int), one(&g.root), at_not_before(&leaf))
        .expect("valid at notBefore");
}

#[test]
fn validity_boundaries_match_openssl() {
    let g = gen_pki();
    let (nb, na) = (now() - 10 * DAY, now() + 10 * DAY);
    let leaf = leaf_with(&g, nb, na, signing_exts());
    let check = |t: i64| validate_chain(&leaf, one(&g.int), one(&g.root), system_time_from_secs(t));
    assert!(check(nb).is_ok());
    assert!(matches!(check(nb - 1), Err(ChainError::NotYetValid { .. })));
    assert!(check(na - 1).is_ok());
    // OpenSSL's X509_cmp_time treats equality with notAfter as expired.
    assert!(matches!(check(na), Err(ChainError::Expired { .. })));
}

#[test]
fn not_yet_valid_fails() {
    let g = gen_pki();
    let leaf = leaf_with(&g, now() + 10 * DAY, now() + 100 * DAY, signing_exts());
    let err = validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("certificate 'CN=Gen Leaf' is not yet valid: valid "),
        "{err}"
    );
}

#[test]
fn expired_intermediate_fails() {
    let g = gen_pki();
    let int = build(Spec {
        subject: "Gen Int",
        issuer: "Gen Root",
        key: &g.int_key,
        issuer_key: &g.root_key,
        not_before: now() - 100 * DAY,
        not_after: now() - DAY,
        exts: vec![bc(true, None), ku(0x04)],
    });
    let leaf = leaf_with(&g, now() - DAY, now() + DAY, signing_exts());
    let err = validate_chain(&leaf, &[int], one(&g.root), SystemTime::now()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("certificate 'CN=Gen Int' has expired"),
        "{err}"
    );
}

#[test]
fn signing_usage_rules() {
    let g = gen_pki();
    let (nb, na) = (now() - DAY, now() + DAY);
    let none = leaf_with(&g, nb, na, vec![bc(false, None)]);
    let err = check_signing_usage(&none).unwrap_err();
    assert_eq!(
        err.to_string(),
        "certificate 'CN=Gen Leaf' cannot be used for signing: it has neither KeyUsage digitalSignature nor ExtendedKeyUsage codeSigning"
    );
    // The chain itself is fine: validate_chain does not check the leaf's usage.
    validate_chain(&none, one(&g.int), one(&g.root), SystemTime::now()).expect("chain");

    let wrong = leaf_with(
        &g,
        nb,
        na,
        vec![
            ku(0x20),
            eku(&[ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1")]),
        ],
    );
    assert!(check_signing_usage(&wrong).is_err());
    let eku_only = leaf_with(
        &g,
        nb,
        na,
        vec![ku(0x20), eku(&[rfc5280::ID_KP_CODE_SIGNING])],
    );
    check_signing_usage(&eku_only).expect("EKU codeSigning suffices");
    let ku_only = leaf_with(&g, nb, na, vec![ku(0x80)]);
    check_signing_usage(&ku_only).expect("KU digitalSignature suffices");
    let no_ku_eku = leaf_with(&g, nb, na, vec![eku(&[rfc5280::ID_KP_CODE_SIGNING])]);
    check_signing_usage(&no_ku_eku).expect("missing KU counts as absent");
}

#[test]
fn issuer_must_be_a_ca() {
    let g = gen_pki();
    let (nb, na) = (now() - DAY, now() + DAY);
    for (exts, reason) in [
        (vec![bc(false, None)], "basicConstraints CA:FALSE"),
        (vec![bc(true, None), ku(0x80)], "keyCertSign"),
        (vec![], "no basicConstraints"),
        (vec![ku(0x04)], "only a root"),
    ] {
        let int = build(Spec {
            subject: "Gen Int",
            issuer: "Gen Root",
            key: &g.int_key,
            issuer_key: &g.root_key,
            not_before: nb,
            not_after: na,
            exts,
        });
        let leaf = leaf_with(&g, nb, na, signing_exts());
        let err = validate_chain(&leaf, &[int], one(&g.root), SystemTime::now()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("'CN=Gen Int' is not a CA ("), "{msg}");
        assert!(msg.contains(reason), "{msg}");
        assert!(msg.ends_with("but issued 'CN=Gen Leaf'"), "{msg}");
    }
}

#[test]
fn path_length_enforced() {
    let g = gen_pki();
    let (nb, na) = (now() - DAY, now() + DAY);
    // Root -> Int (pathlen:0) -> Sub -> leaf: Int may not have a CA below it.
    let sub_key = Key::new();
    let sub = build(Spec {
        subject: "Gen Sub",
        issuer: "Gen Int",
        key: &sub_key,
        issuer_key: &g.int_key,
        not_before: nb,
        not_after: na,
        exts: vec![bc(true, None), ku(0x04)],
    });
    let leaf = build(Spec {
        subject: "Gen Leaf",
        issuer: "Gen Sub",
        key: &g.leaf_key,
        issuer_key: &sub_key,
        not_before: nb,
        not_after: na,
        exts: signing_exts(),
    });
    let err = validate_chain(
        &leaf,
        &[sub, g.int.clone()],
        one(&g.root),
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::PathLength {
                pathlen: 0,
                below: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unknown_critical_extension_fails() {
    let g = gen_pki();
    let mut exts = signing_exts();
    exts.push(ext(
        &ObjectIdentifier::new_unwrap("1.2.3.4.5"),
        true,
        vec![0x05, 0x00],
    ));
    let leaf = leaf_with(&g, now() - DAY, now() + DAY, exts);
    let err = validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "certificate 'CN=Gen Leaf' has an unhandled critical extension 1.2.3.4.5"
    );
    // Non-critical unknown extensions are ignored.
    let mut exts = signing_exts();
    exts.push(ext(
        &ObjectIdentifier::new_unwrap("1.2.3.4.5"),
        false,
        vec![0x05, 0x00],
    ));
    let leaf = leaf_with(&g, now() - DAY, now() + DAY, exts);
    validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).expect("ok");
}

#[test]
fn self_signed_leaf_needs_to_be_trusted() {
    let key = Key::new();
    let leaf = build(Spec {
        subject: "Lonely",
        issuer: "Lonely",
        key: &key,
        issuer_key: &key,
        not_before: now() - DAY,
        not_after: now() + DAY,
        exts: vec![ku(0x80)],
    });
    assert!(leaf.is_self_signed());
    validate_chain(&leaf, &[], one(&leaf), SystemTime::now()).expect("trusted leaf");
    let err = validate_chain(&leaf, one(&leaf), &[], SystemTime::now()).unwrap_err();
    assert!(
        err.to_string()
            .contains("is self-signed and is not among the trusted"),
        "{err}"
    );
}

#[test]
fn name_comparison_is_canonical() {
    let g = gen_pki();
    // Issuer written with different case and spacing still names the intermediate.
    let leaf = build(Spec {
        subject: "Gen Leaf",
        issuer: "  gen   INT ",
        key: &g.leaf_key,
        issuer_key: &g.int_key,
        not_before: now() - DAY,
        not_after: now() + DAY,
        exts: signing_exts(),
    });
    validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).expect("ok");
}

#[test]
fn name_constraints_apply() {
    let g = gen_pki();
    let (nb, na) = (now() - DAY, now() + DAY);
    let dns_subtree = |d: &str| seq(&[encode_tlv(0x82, d.as_bytes())]);
    let nc_ext = |permitted: Vec<Vec<u8>>, excluded: Vec<Vec<u8>>| {
        let mut parts = Vec::new();
        if !permitted.is_empty() {
            parts.push(encode_tlv(0xa0, &permitted.concat()));
        }
        if !excluded.is_empty() {
            parts.push(encode_tlv(0xa1, &excluded.concat()));
        }
        ext(&rfc5280::ID_CE_NAME_CONSTRAINTS, true, seq(&parts))
    };
    let san = |d: &str| {
        ext(
            &rfc5280::ID_CE_SUBJECT_ALT_NAME,
            false,
            seq(&[encode_tlv(0x82, d.as_bytes())]),
        )
    };
    for (nc, leaf_san, ok) in [
        (
            nc_ext(vec![dns_subtree("example.com")], vec![]),
            "a.example.com",
            true,
        ),
        (
            nc_ext(vec![dns_subtree("example.com")], vec![]),
            "example.org",
            false,
        ),
        (
            nc_ext(vec![dns_subtree("example.com")], vec![]),
            "badexample.com",
            false,
        ),
        (
            nc_ext(vec![], vec![dns_subtree("evil.example.com")]),
            "x.evil.example.com",
            false,
        ),
        (
            nc_ext(vec![], vec![dns_subtree("evil.example.com")]),
            "good.example.com",
            true,
        ),
    ] {
        let int = build(Spec {
            subject: "Gen Int",
            issuer: "Gen Root",
            key: &g.int_key,
            issuer_key: &g.root_key,
            not_before: nb,
            not_after: na,
            exts: vec![bc(true, None), ku(0x04), nc],
        });
        let mut exts = signing_exts();
        exts.push(san(leaf_san));
        let leaf = leaf_with(&g, nb, na, exts);
        let r = validate_chain(&leaf, &[int], one(&g.root), SystemTime::now());
        assert_eq!(r.is_ok(), ok, "{leaf_san}: {r:?}");
        if let Err(e) = r {
            assert!(matches!(e, ChainError::NameConstraints { .. }), "{e}");
        }
    }
}

#[test]
fn look_alike_mesh_is_bounded() {
    // Every CA is named "Loop", issued by "Loop", and cross-signed by every key: the number of
    // simple paths explodes, so only the work budget keeps this fast.
    let keys: Vec<Key> = (0..6).map(|_| Key::new()).collect();
    let kid = |i: usize| {
        ext(
            &rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            encode_tlv(TAG_OCTET_STRING, &[i as u8]),
        )
    };
    let akid = |j: usize| {
        ext(
            &rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            seq(&[encode_tlv(0x80, &[j as u8])]),
        )
    };
    let (nb, na) = (now() - DAY, now() + DAY);
    let mut mesh = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        for (j, signer) in keys.iter().enumerate() {
            if i == j {
                continue; // self-signed ones would end the search
            }
            mesh.push(build(Spec {
                subject: "Loop",
                issuer: "Loop",
                key,
                issuer_key: signer,
                not_before: nb,
                not_after: na,
                exts: vec![bc(true, None), kid(i), akid(j)],
            }));
        }
    }
    let leaf_key = Key::new();
    let leaf = build(Spec {
        subject: "Mesh Leaf",
        issuer: "Loop",
        key: &leaf_key,
        issuer_key: &keys[0],
        not_before: nb,
        not_after: na,
        exts: vec![akid(0), ku(0x80)],
    });
    let g = gen_pki();
    // 30 intermediates are more than a bundle may carry.
    let err = validate_chain(&leaf, &mesh, one(&g.root), SystemTime::now()).unwrap_err();
    assert!(matches!(err, ChainError::Limit(_)), "{err}");

    // The path search itself, below the chain-length check: the step budget ends it, and
    // the memo means no (child, issuer) pair is verified twice and no TBS hashed twice.
    let started = Instant::now();
    let deadline = started + PATH_BUILDING_DEADLINE;
    let mut b = PathBuilder::new(&leaf, &mesh, one(&g.root), now(), deadline);
    let mut path = vec![Step {
        node: 0,
        trusted_phase: false,
    }];
    assert!(!b.extend(&mut path));
    let elapsed = started.elapsed();
    assert!(b.steps > MAX_STEPS, "the step budget ended it: {}", b.steps);
    assert!(!b.timed_out, "{elapsed:?}");
    let n = b.certs.len();
    assert!(
        b.digests.len() <= n,
        "{} digests for {n} certificates",
        b.digests.len()
    );
    assert!(
        b.sig_cache.len() <= n * n,
        "{} signature checks",
        b.sig_cache.len()
    );
    assert!(
        matches!(b.best, Some((_, ChainError::NoTrustedRoot { .. }))),
        "{:?}",
        b.best
    );
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");

    // A 15-intermediate mesh (the most a bundle may hold) is within bounds too.
    let started = Instant::now();
    let err = validate_chain(&leaf, &mesh[..15], one(&g.root), SystemTime::now()).unwrap_err();
    assert!(matches!(err, ChainError::NoTrustedRoot { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn path_building_deadline_fails_validation() {
    let g = gen_pki();
    let leaf = leaf_with(&g, now() - DAY, now() + DAY, signing_exts());
    let at = SystemTime::now();
    validate_chain(&leaf, one(&g.int), one(&g.root), at).expect("valid in time");
    // A deadline already passed: the search stops at its first step.
    let err =
        validate_chain_until(&leaf, one(&g.int), one(&g.root), at, Instant::now()).unwrap_err();
    assert!(matches!(err, ChainError::Limit(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("certificate path building exceeded the time limit of 2 s"),
        "{msg}"
    );
}

#[test]
fn look_alike_issuers_are_each_verified_once() {
    // Twenty CAs share the intermediate's name; one of them (the real one) signed the leaf.
    let g = gen_pki();
    let (nb, na) = (now() - DAY, now() + DAY);
    let decoy_keys: Vec<Key> = (0..20).map(|_| Key::new()).collect();
    let mut ints: Vec<Certificate> = decoy_keys
        .iter()
        .map(|k| {
            build(Spec {
                subject: "Gen Int",
                issuer: "Gen Root",
                key: k,
                issuer_key: &g.root_key,
                not_before: nb,
                not_after: na,
                exts: vec![bc(true, None), ku(0x06)],
            })
        })
        .collect();
    ints.push(g.int.clone());
    let leaf = leaf_with(&g, nb, na, signing_exts());
    let mut b = PathBuilder::new(
        &leaf,
        &ints,
        one(&g.root),
        now(),
        Instant::now() + PATH_BUILDING_DEADLINE,
    );
    let mut path = vec![Step {
        node: 0,
        trusted_phase: false,
    }];
    assert!(b.extend(&mut path), "{:?}", b.best);
    // The leaf's TBS was hashed once for all 21 candidates it was checked against.
    let leaf_checks = b.sig_cache.keys().filter(|(c, _)| *c == 0).count();
    assert_eq!(leaf_checks, 21);
    let leaf_digests = b.digests.keys().filter(|(c, _)| *c == 0).count();
    assert_eq!(leaf_digests, 1);
}

/// What `der` would refuse and OpenSSL reads: why `DerReader` is not `der::SliceReader`.
#[test]
fn der_reader_keeps_openssl_leniencies() {
    use ::der::Decode as _;
    for non_minimal in [
        &[0x04, 0x81, 0x01, 0xaa][..],
        &[0x04, 0x82, 0x00, 0x01, 0xaa],
    ] {
        assert_eq!(single(non_minimal, TAG_OCTET_STRING).unwrap().value, [0xaa]);
        assert!(::der::asn1::OctetStringRef::from_der(non_minimal).is_err());
    }
    let universal = [0x1c, 0x04, 0, 0, 0, 0x41];
    assert_eq!(
        DerReader::new(&universal).read().unwrap().tag,
        TAG_UNIVERSAL
    );
    assert!(::der::asn1::AnyRef::from_der(&universal).is_err());
    // Writing has no leniency to keep: `encode_tlv` is `der`'s header, minimal lengths.
    assert_eq!(
        encode_tlv(TAG_OCTET_STRING, &[0xaa; 0x80])[..3],
        [0x04, 0x81, 0x80]
    );
    assert_eq!(
        encode_tlv(TAG_OCTET_STRING, &[0xaa; 0x100])[..4],
        [0x04, 0x82, 0x01, 0x00]
    );
}

#[test]
fn canonical_text_rules() {
    assert_eq!(canon_text(b"  Foo \t  Bar  "), b"foo bar".to_vec());
    assert_eq!(canon_text(b""), Vec::<u8>::new());
    assert_eq!(canon_text("ÄB".as_bytes()), "Äb".as_bytes().to_vec());
}

// --- parsing ---

#[test]
fn pem_parsing() {
    let g = gen_pki();
    let pem_text = |c: &Certificate| pem::encode(&pem::Pem::new("CERTIFICATE", c.der().to_vec()));
    let both = format!(
        "junk before\n{}some text\n{}",
        pem_text(&g.root),
        pem_text(&g.int)
    );
    let certs = parse_pem_certificates(both.as_bytes()).expect("two certs");
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0].subject(), "CN=Gen Root");
    assert_eq!(certs[1].subject(), "CN=Gen Int");
    // DER input is accepted too.
    let der = parse_pem_certificates(g.root.der()).expect("der");
    assert_eq!(der[0].der(), g.root.der());
    // A PEM file with only a key has no certificate.
    let key_only = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![1, 2, 3]));
    assert!(matches!(
        parse_pem_certificates(key_only.as_bytes()),
        Err(ChainError::NoCertificates(_))
    ));
}

#[test]
fn garbage_is_rejected() {
    assert!(parse_pem_certificates(b"").is_err());
    assert!(parse_pem_certificates(b"hello world").is_err());
    assert!(parse_pem_certificates(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    let bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        parse_pem_certificates(bad.as_bytes()),
        Err(ChainError::Parse(_))
    ));
    let bad_b64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert!(parse_pem_certificates(bad_b64.as_bytes()).is_err());
    // Truncations of a valid certificate never panic.
    let g = gen_pki();
    for n in 0..g.int.der().len() {
        assert!(Certificate::from_der(&g.int.der()[..n]).is_err());
    }
}

#[test]
fn time_formatting() {
    assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    assert_eq!(format_secs(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(format_secs(1_746_228_988), "2025-05-02T23:36:28Z");
    assert_eq!(format_secs(253_402_300_799), "9999-12-31T23:59:59Z");
    assert_eq!(format_secs(-1), "1969-12-31T23:59:59Z");
    assert_eq!(
        format_time(UNIX_EPOCH - Duration::from_millis(1)),
        "1969-12-31T23:59:59Z"
    );
}
