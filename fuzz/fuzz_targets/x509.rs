//! Certificates from `--signing-certificate` / `--certificate-chain` and from bundles: PEM and DER
//! parsing, the accessors used in messages, the signing-usage check, and path validation over
//! chains cut from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_signing::x509::{self, Certificate};
use std::time::{Duration, SystemTime};

/// Splits `data` into consecutive DER TLVs (definite lengths only), so one input can carry a whole
/// DER chain. Stops at the first element that does not fit.
fn der_elements(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 8 {
        let first = data[1];
        let (len, hdr) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || data.len() < 2 + n {
                break;
            }
            let len = data[2..2 + n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, 2 + n)
        };
        let Some(total) = hdr.checked_add(len).filter(|&t| t <= data.len()) else {
            break;
        };
        out.push(&data[..total]);
        data = &data[total..];
    }
    out
}

fn exercise(certs: &[Certificate]) {
    let Some((leaf, rest)) = certs.split_first() else {
        return;
    };
    for c in certs {
        let _ = c.subject();
        let _ = c.issuer();
        let _ = c.public_key();
        let (not_before, not_after) = c.validity();
        let _ = x509::format_time(not_before);
        let _ = x509::format_time(not_after);
        let _ = c.fingerprint();
        let _ = c.is_self_signed();
        let _ = x509::check_signing_usage(c);
    }
    let now = SystemTime::now();
    let _ = x509::validate_chain(leaf, rest, std::slice::from_ref(leaf), now);
    if let Some((root, middle)) = rest.split_last() {
        let _ = x509::validate_chain(leaf, middle, std::slice::from_ref(root), now);
        // At the leaf's notBefore, one second before it, and at the far end of the time range.
        let (nb, _) = leaf.validity();
        let _ = x509::validate_chain(leaf, middle, std::slice::from_ref(root), nb);
        if let Some(t) = nb.checked_sub(Duration::from_secs(1)) {
            let _ = x509::validate_chain(leaf, middle, std::slice::from_ref(root), t);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(certs) = x509::parse_pem_certificates(data) {
        exercise(&certs);
    }
    if let Ok(c) = Certificate::from_der(data) {
        exercise(std::slice::from_ref(&c));
    }
    let parts = der_elements(data);
    if parts.len() > 1 {
        let certs: Vec<Certificate> = parts
            .iter()
            .filter_map(|p| Certificate::from_der(p).ok())
            .collect();
        exercise(&certs);
    }
});
