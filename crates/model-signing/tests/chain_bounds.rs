//! Resource bounds of certificate path building (pre-authentication CPU cost).
//!
//! The chain of a certificate bundle is validated before the DSSE signature is checked, so
//! whoever supplies a bundle controls the leaf and the intermediates without holding any key. A
//! leaf with a huge extension and many look-alike issuers (same subject, distinct keys, none of
//! which signed it) used to make every candidate re-hash the leaf's TBSCertificate: 100 decoys
//! and a 20 MB leaf took about 8 s. These tests pin the bounds: certificate size, chain length,
//! one signature check per (child, issuer) pair, and a fast result among decoys.
//!
//! Certificates are built here directly in DER (ECDSA P-256 / SHA-256 with aws-lc-rs), which keeps
//! the tests independent of the `openssl` CLI and fast to set up.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use model_signing::x509::{
    format_time, validate_chain, Certificate, ChainError, MAX_CERTIFICATE_BYTES,
    MAX_CHAIN_CERTIFICATES, MAX_TRUST_ANCHORS,
};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------------
// A small DER certificate builder

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// DER of an OBJECT IDENTIFIER from its dotted form (arcs below 2^28).
fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    }
    tlv(0x06, &body)
}

fn name(cn: &str) -> Vec<u8> {
    let atv = seq(&[oid("2.5.4.3"), tlv(0x0c, cn.as_bytes())]);
    seq(&[tlv(0x31, &atv)])
}

fn utc_time(t: i64) -> Vec<u8> {
    // format_time gives YYYY-MM-DDTHH:MM:SSZ; UTCTime is YYMMDDHHMMSSZ.
    let s = format_time(UNIX_EPOCH + Duration::from_secs(t as u64));
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    tlv(0x17, format!("{}Z", &digits[2..]).as_bytes())
}

fn ext(id: &str, critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(tlv(0x01, &[0xff]));
    }
    parts.push(tlv(0x04, &value));
    seq(&parts)
}

fn ca_exts() -> Vec<Vec<u8>> {
    vec![
        ext("2.5.29.19", true, seq(&[tlv(0x01, &[0xff])])), // CA:TRUE
        ext("2.5.29.15", true, tlv(0x03, &[1, 0x06])),      // keyCertSign, cRLSign
    ]
}

fn leaf_exts() -> Vec<Vec<u8>> {
    vec![
        ext("2.5.29.19", true, seq(&[])),              // CA:FALSE
        ext("2.5.29.15", true, tlv(0x03, &[7, 0x80])), // digitalSignature
    ]
}

/// A private, non-critical extension of `len` bytes of filler.
fn filler_ext(len: usize) -> Vec<u8> {
    ext("1.3.6.1.4.1.55555.1", false, tlv(0x04, &vec![0x5a; len]))
}

struct Key(EcdsaKeyPair);

impl Key {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("keygen");
        Key(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .expect("load key"),
        )
    }

    fn spki(&self) -> Vec<u8> {
        let alg = seq(&[oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")]);
        let mut bits = vec![0u8];
        bits.extend_from_slice(self.0.public_key().as_ref());
        seq(&[alg, tlv(0x03, &bits)])
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

const DAY: i64 = 86_400;

/// DER of a certificate `subject` (key `key`) issued by `issuer`, signed with `issuer_key`.
fn build_der(
    serial: u32,
    subject: &str,
    key: &Key,
    issuer: &str,
    issuer_key: &Key,
    exts: &[Vec<u8>],
) -> Vec<u8> {
    let alg = seq(&[oid("1.2.840.10045.4.3.2")]);
    // Minimal two's-complement encoding of a positive serial, as DER requires.
    let bytes = serial.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    let mut serial_bytes = bytes[skip..].to_vec();
    if serial_bytes[0] & 0x80 != 0 {
        serial_bytes.insert(0, 0);
    }
    let mut tbs_parts = vec![
        tlv(0xa0, &tlv(0x02, &[2])),
        tlv(0x02, &serial_bytes),
        alg.clone(),
        name(issuer),
        seq(&[utc_time(now() - DAY), utc_time(now() + 30 * DAY)]),
        name(subject),
        key.spki(),
    ];
    if !exts.is_empty() {
        tbs_parts.push(tlv(0xa3, &seq(exts)));
    }
    let tbs = seq(&tbs_parts);
    let sig = issuer_key.0.sign(&SystemRandom::new(), &tbs).expect("sign");
    let mut bits = vec![0u8];
    bits.extend_from_slice(sig.as_ref());
    seq(&[tbs, alg, tlv(0x03, &bits)])
}

/// A leaf-profile certificate of exactly `len` DER bytes (the filler extension is
/// resized until the randomised ECDSA signature length also fits).
fn cert_of_len(len: usize, cn: &str, key: &Key, issuer: &str, issuer_key: &Key) -> Vec<u8> {
    let mut filler = len.saturating_sub(1024);
    loop {
        let mut exts = leaf_exts();
        exts.push(filler_ext(filler));
        let der = build_der(9, cn, key, issuer, issuer_key, &exts);
        match der.len().cmp(&len) {
            std::cmp::Ordering::Equal => return der,
            std::cmp::Ordering::Less => filler += len - der.len(),
            std::cmp::Ordering::Greater => filler -= der.len() - len,
        }
    }
}

fn parse(der: &[u8]) -> Certificate {
    Certificate::from_der(der).expect("built certificate parses")
}

/// A self-signed root and its key.
fn root(cn: &str) -> (Key, Certificate) {
    let key = Key::new();
    let der = build_der(1, cn, &key, cn, &key, &ca_exts());
    (key, parse(&der))
}

/// `n` CA certificates named `cn`, each with its own key and serial and issued by `root`.
fn decoys(n: usize, cn: &str, root_cn: &str, root_key: &Key) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let key = Key::new();
            build_der(1000 + i as u32, cn, &key, root_cn, root_key, &ca_exts())
        })
        .collect()
}

/// What the certificate verifier does with a bundle's chain: parse every certificate, then build
/// the path. Returns the outcome and how long it took.
fn parse_and_validate(
    chain: &[Vec<u8>],
    anchors: &[Certificate],
) -> (Result<(), ChainError>, Duration) {
    let started = Instant::now();
    let result = (|| {
        let certs = chain
            .iter()
            .map(|d| Certificate::from_der(d))
            .collect::<Result<Vec<_>, _>>()?;
        let (leaf, intermediates) = certs.split_first().expect("non-empty chain");
        validate_chain(leaf, intermediates, anchors, SystemTime::now())
    })();
    (result, started.elapsed())
}

const ATTACK_BOUND: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// (a) the reported attack

#[test]
fn huge_leaf_among_look_alike_issuers_fails_fast() {
    let (root_key, anchor) = root("Bounds Root");
    // 100 CAs named "Decoy CA"; the leaf names "Decoy CA" as its issuer but was signed by a key
    // none of them holds.
    let mut chain = vec![{
        let (leaf_key, stranger) = (Key::new(), Key::new());
        let mut exts = leaf_exts();
        exts.push(filler_ext(20 * 1024 * 1024));
        build_der(7, "Huge Leaf", &leaf_key, "Decoy CA", &stranger, &exts)
    }];
    chain.extend(decoys(100, "Decoy CA", "Bounds Root", &root_key));

    let (result, elapsed) = parse_and_validate(&chain, std::slice::from_ref(&anchor));
    let err = result.expect_err("the chain must not validate");
    eprintln!("20 MB leaf, 100 look-alike issuers: {elapsed:?}: {err}");
    assert!(elapsed < ATTACK_BOUND, "took {elapsed:?}: {err}");
}

#[test]
fn largest_accepted_leaf_among_look_alike_issuers_fails_fast() {
    // The most the caps let through: a leaf just under the size limit and the maximum number of
    // look-alike intermediates.
    let (root_key, anchor) = root("Bounds Root");
    let (leaf_key, stranger) = (Key::new(), Key::new());
    let leaf = cert_of_len(
        MAX_CERTIFICATE_BYTES,
        "Big Leaf",
        &leaf_key,
        "Decoy CA",
        &stranger,
    );
    let mut chain = vec![leaf];
    chain.extend(decoys(
        MAX_CHAIN_CERTIFICATES - 1,
        "Decoy CA",
        "Bounds Root",
        &root_key,
    ));

    let (result, elapsed) = parse_and_validate(&chain, std::slice::from_ref(&anchor));
    let err = result.expect_err("the chain must not validate");
    assert!(
        matches!(err, ChainError::BadSignature { .. }),
        "a decoy's key was tried: {err}"
    );
    assert!(elapsed < ATTACK_BOUND, "took {elapsed:?}: {err}");
}

// ---------------------------------------------------------------------------------------------
// (b) certificate size

#[test]
fn oversized_certificate_is_refused_by_from_der() {
    let key = Key::new();
    let der = cert_of_len(MAX_CERTIFICATE_BYTES + 1, "Too Big", &key, "Too Big", &key);
    let started = Instant::now();
    let Err(err) = Certificate::from_der(&der) else {
        panic!("a certificate of {} bytes was accepted", der.len());
    };
    assert!(started.elapsed() < ATTACK_BOUND);
    let msg = err.to_string();
    assert!(matches!(err, ChainError::Limit(_)), "{msg}");
    assert!(
        msg.contains(&(MAX_CERTIFICATE_BYTES + 1).to_string()),
        "names the size: {msg}"
    );
    assert!(
        msg.contains(&MAX_CERTIFICATE_BYTES.to_string()),
        "names the limit: {msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");

    // One byte less is accepted (and is an otherwise ordinary certificate).
    let der = cert_of_len(MAX_CERTIFICATE_BYTES, "Just Fits", &key, "Just Fits", &key);
    Certificate::from_der(&der).expect("exactly at the limit");
}

// ---------------------------------------------------------------------------------------------
// (c) chain length

#[test]
fn too_many_intermediates_are_refused() {
    let (root_key, anchor) = root("Bounds Root");
    // A valid chain root -> int 1 -> ... -> int 17 -> leaf, so only the count can fail it.
    let mut issuer_cn = "Bounds Root".to_string();
    let mut issuer_key = root_key;
    let mut ints = Vec::new();
    for i in 1..=MAX_CHAIN_CERTIFICATES + 1 {
        let key = Key::new();
        let cn = format!("Int {i}");
        ints.push(parse(&build_der(
            100 + i as u32,
            &cn,
            &key,
            &issuer_cn,
            &issuer_key,
            &ca_exts(),
        )));
        issuer_cn = cn;
        issuer_key = key;
    }
    let leaf_key = Key::new();
    let leaf = parse(&build_der(
        5,
        "Deep Leaf",
        &leaf_key,
        &issuer_cn,
        &issuer_key,
        &leaf_exts(),
    ));
    ints.reverse(); // leaf's issuer first, as in a bundle
    assert_eq!(ints.len(), MAX_CHAIN_CERTIFICATES + 1);

    let anchors = std::slice::from_ref(&anchor);
    let err = validate_chain(&leaf, &ints, anchors, SystemTime::now()).expect_err("17");
    let msg = err.to_string();
    assert!(matches!(err, ChainError::Limit(_)), "{msg}");
    assert!(msg.contains("17"), "{msg}");
    assert!(
        msg.contains(&(MAX_CHAIN_CERTIFICATES - 1).to_string()),
        "{msg}"
    );

    // Sixteen intermediates are still too many; fifteen (a chain of 16 with the leaf) are fine.
    let err = validate_chain(&leaf, &ints[..16], anchors, SystemTime::now()).expect_err("16");
    assert!(matches!(err, ChainError::Limit(_)), "{err}");
    let leaf15 = parse(&build_der(
        6,
        "Leaf 15",
        &leaf_key,
        "Int 15",
        // ints is reversed: ints[2] is "Int 15"
        &Key::new(),
        &leaf_exts(),
    ));
    // (signed by the wrong key: the count check passes, then the signature fails)
    let err = validate_chain(&leaf15, &ints[2..], anchors, SystemTime::now()).expect_err("sig");
    assert!(matches!(err, ChainError::BadSignature { .. }), "{err}");
}

#[test]
fn fifteen_intermediates_validate() {
    let (root_key, anchor) = root("Bounds Root");
    let mut issuer_cn = "Bounds Root".to_string();
    let mut issuer_key = root_key;
    let mut ints = Vec::new();
    for i in 1..MAX_CHAIN_CERTIFICATES {
        let key = Key::new();
        let cn = format!("Int {i}");
        ints.push(parse(&build_der(
            100 + i as u32,
            &cn,
            &key,
            &issuer_cn,
            &issuer_key,
            &ca_exts(),
        )));
        issuer_cn = cn;
        issuer_key = key;
    }
    let leaf_key = Key::new();
    let leaf = parse(&build_der(
        5,
        "Deep Leaf",
        &leaf_key,
        &issuer_cn,
        &issuer_key,
        &leaf_exts(),
    ));
    ints.reverse();
    validate_chain(
        &leaf,
        &ints,
        std::slice::from_ref(&anchor),
        SystemTime::now(),
    )
    .expect("a chain of 16 certificates is accepted");
}

#[test]
fn too_many_anchors_are_refused() {
    let (root_key, anchor) = root("Bounds Root");
    let leaf_key = Key::new();
    let leaf = parse(&build_der(
        5,
        "Leaf",
        &leaf_key,
        "Bounds Root",
        &root_key,
        &leaf_exts(),
    ));
    // Many distinct anchors are cheap to make by re-signing with one key and distinct serials.
    let other = Key::new();
    let mut anchors: Vec<Certificate> = (0..MAX_TRUST_ANCHORS)
        .map(|i| {
            let cn = format!("Other Root {i}");
            parse(&build_der(i as u32, &cn, &other, &cn, &other, &ca_exts()))
        })
        .collect();
    anchors.push(anchor);
    let err = validate_chain(&leaf, &[], &anchors, SystemTime::now()).expect_err("too many");
    assert!(matches!(err, ChainError::Limit(_)), "{err}");
    assert!(err.to_string().contains("1000"), "{err}");
    // At the limit the right root is found among the others.
    anchors.remove(0);
    validate_chain(&leaf, &[], &anchors, SystemTime::now()).expect("at the limit");
}

// ---------------------------------------------------------------------------------------------
// (d) memoised signature checks among look-alikes

#[test]
fn real_issuer_among_look_alikes_is_found_quickly() {
    let (root_key, anchor) = root("Bounds Root");
    // Fourteen decoys named like the real intermediate, plus the real one in the middle.
    let mut chain_ders = decoys(14, "Look-alike CA", "Bounds Root", &root_key);
    let real_key = Key::new();
    let real = build_der(
        42,
        "Look-alike CA",
        &real_key,
        "Bounds Root",
        &root_key,
        &ca_exts(),
    );
    chain_ders.insert(7, real);
    let leaf_key = Key::new();
    let mut leaf_ext = leaf_exts();
    leaf_ext.push(filler_ext(32 * 1024));
    let leaf = build_der(
        8,
        "Signed Leaf",
        &leaf_key,
        "Look-alike CA",
        &real_key,
        &leaf_ext,
    );
    chain_ders.insert(0, leaf);
    assert_eq!(chain_ders.len(), MAX_CHAIN_CERTIFICATES);

    let anchors = std::slice::from_ref(&anchor);
    let (result, elapsed) = parse_and_validate(&chain_ders, anchors);
    result.expect("the real issuer is found among the decoys");
    assert!(elapsed < ATTACK_BOUND, "took {elapsed:?}");

    // The same leaf signed by a stranger: every decoy is tried once and the search ends quickly
    // with a signature error.
    let stranger = Key::new();
    chain_ders[0] = build_der(
        8,
        "Signed Leaf",
        &leaf_key,
        "Look-alike CA",
        &stranger,
        &leaf_ext,
    );
    let (result, elapsed) = parse_and_validate(&chain_ders, anchors);
    let err = result.expect_err("nobody in the chain signed it");
    assert!(matches!(err, ChainError::BadSignature { .. }), "{err}");
    assert!(elapsed < ATTACK_BOUND, "took {elapsed:?}");
}

#[test]
fn self_issued_look_alike_mesh_is_bounded() {
    // Every CA is named "Mesh", issued by "Mesh", and cross-signed by every other key (key
    // identifiers keep them from counting as self-signed): each one has several valid issuers, so
    // the number of simple paths explodes while none reaches the anchor. Only the memo and the
    // step / time budgets keep it bounded. Each CA carries 60 KB of filler so that a repeated
    // signature check would show.
    let (_, anchor) = root("Bounds Root");
    let keys: Vec<Key> = (0..4).map(|_| Key::new()).collect();
    let skid = |i: usize| ext("2.5.29.14", false, tlv(0x04, &[i as u8]));
    let akid = |j: usize| ext("2.5.29.35", false, seq(&[tlv(0x80, &[j as u8])]));
    let leaf_key = Key::new();
    let mut leaf_ext = leaf_exts();
    leaf_ext.push(akid(0));
    let mut chain = vec![build_der(
        1,
        "Mesh Leaf",
        &leaf_key,
        "Mesh",
        &keys[0],
        &leaf_ext,
    )];
    for (i, key) in keys.iter().enumerate() {
        for (j, signer) in keys.iter().enumerate() {
            if i != j {
                let mut exts = ca_exts();
                exts.extend([skid(i), akid(j), filler_ext(60 * 1024)]);
                let serial = 10 + (i * keys.len() + j) as u32;
                chain.push(build_der(serial, "Mesh", key, "Mesh", signer, &exts));
            }
        }
    }
    assert!(chain.len() <= MAX_CHAIN_CERTIFICATES);
    let (result, elapsed) = parse_and_validate(&chain, std::slice::from_ref(&anchor));
    let err = result.expect_err("no path to the anchor");
    eprintln!("mesh of {}: {elapsed:?}: {err}", chain.len() - 1);
    assert!(elapsed < ATTACK_BOUND, "took {elapsed:?}: {err}");
}
