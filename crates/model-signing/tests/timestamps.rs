//! RFC 3161 timestamps through the library, offline, on real data: the shared vector
//! `model-transparency/scripts/tests/v1.1.0-sigstore/model.sig` carries a timestamp from the public
//! Sigstore TSA over its signature, and the Sigstore production root embedded in the library lists
//! that TSA. The CLI tests (`crates/model-signing-cli/tests/timestamps.rs`) cover signing against
//! a TSA, expired certificates and tampering end to end.
#![cfg(feature = "sigstore")]

mod common;

use model_signing::bundle;
use model_signing::sigstore::trust::TrustRoot;
use model_signing::sigstore::Instance;
use model_signing::timestamp::{TimestampPolicy, TsaTrust};
use model_signing::Error;

fn vector_bundle() -> Option<bundle::Bundle> {
    let v = common::vectors()?;
    let path = v.join("model-transparency/scripts/tests/v1.1.0-sigstore/model.sig");
    Some(bundle::read(&path).expect("the shared vector parses"))
}

fn production() -> TsaTrust {
    TsaTrust::from_trust_root(&TrustRoot::embedded(Instance::Production).expect("embedded root"))
}

#[test]
fn the_public_sigstore_tsa_timestamp_of_the_vector_verifies() {
    let Some(b) = vector_bundle() else { return };
    assert_eq!(b.timestamps.len(), 1, "the vector carries one timestamp");
    let trust = production();
    assert!(
        !trust.is_empty(),
        "the production root lists timestamp authorities"
    );
    let policy = TimestampPolicy {
        trust: Some(trust),
        require: true,
    };
    let checked = policy.check(&b.timestamps, &b.signature).expect("verifies");
    let r = &checked.reports[0];
    assert!(r.verified, "{r:?}");
    let time = r.time.as_deref().unwrap_or_default();
    // model-signing 1.1.0 was released in 2025; the vector was signed then.
    assert!(time.starts_with("2025-"), "{time}");
    assert!(
        r.tsa.as_deref().unwrap_or_default().contains("sigstore"),
        "{r:?}"
    );
    assert!(checked.earliest.is_some());
}

#[test]
fn the_vector_timestamp_over_another_signature_fails() {
    let Some(b) = vector_bundle() else { return };
    let mut other = b.signature.clone();
    if let Some(last) = other.last_mut() {
        *last ^= 1;
    }
    let policy = TimestampPolicy {
        trust: Some(production()),
        require: false,
    };
    match policy.check(&b.timestamps, &other) {
        Err(Error::Timestamp(m)) => assert!(m.contains("message imprint"), "{m}"),
        other => panic!("expected an imprint failure, got {other:?}"),
    }
}

#[test]
fn no_flipped_byte_changes_what_the_timestamp_says() {
    let Some(b) = vector_bundle() else { return };
    let policy = TimestampPolicy {
        trust: Some(production()),
        require: false,
    };
    let token = &b.timestamps[0];
    let original = policy.check(&b.timestamps, &b.signature).expect("verifies");
    // The TSA signs the TSTInfo (time, imprint, policy, nonce) through its signed attributes; CMS
    // leaves other bytes unsigned (SignedData's digestAlgorithms, the embedded certificates,
    // which are never trusted), and a flip there may still verify. What must hold: no flip makes
    // the token verify with a different time or for a different TSA.
    let mut failed = 0;
    let mut tried = 0;
    for i in 0..token.len() {
        let mut t = token.clone();
        if let Some(x) = t.get_mut(i) {
            *x ^= 0x01;
        }
        tried += 1;
        match policy.check(&[t], &b.signature) {
            Err(_) => failed += 1,
            Ok(c) => assert_eq!(
                c.reports,
                original.reports,
                "flipping byte {i} of {} changed what the timestamp says",
                token.len()
            ),
        }
    }
    // 819 of the 1,262 bytes fail here; nearly all the rest are the embedded certificates.
    assert!(failed * 2 > tried, "only {failed} of {tried} flips failed");
}

#[test]
fn without_trust_timestamps_are_reported_and_never_used() {
    let Some(b) = vector_bundle() else { return };
    let checked = TimestampPolicy::default()
        .check(&b.timestamps, &b.signature)
        .expect("no trust: not an error");
    assert_eq!(checked.reports.len(), 1);
    assert!(!checked.reports[0].verified);
    assert!(checked.earliest.is_none());
    let required = TimestampPolicy {
        trust: None,
        require: true,
    };
    assert!(matches!(
        required.check(&b.timestamps, &b.signature),
        Err(Error::Timestamp(_))
    ));
}

#[test]
fn a_trust_that_lists_another_tsa_refuses_it() {
    let Some(b) = vector_bundle() else { return };
    // A self-signed certificate of the shared vectors stands in for "some other TSA".
    let v = common::vectors().unwrap_or_default();
    let mut pem = None;
    for entry in walk(&v) {
        if entry.extension().and_then(|e| e.to_str()) == Some("pem") {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            if bytes.starts_with(b"-----BEGIN CERTIFICATE-----") {
                pem = Some(bytes);
                break;
            }
        }
    }
    let Some(pem) = pem else {
        panic!("no PEM certificate found under {}", v.display())
    };
    let trust = TsaTrust::from_pem_chains(&[("other.pem".into(), pem)]).expect("a chain");
    let policy = TimestampPolicy {
        trust: Some(trust),
        require: false,
    };
    match policy.check(&b.timestamps, &b.signature) {
        Err(Error::Timestamp(m)) => assert!(m.contains("trusted time-stamping authority"), "{m}"),
        other => panic!("expected an untrusted-TSA failure, got {other:?}"),
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
