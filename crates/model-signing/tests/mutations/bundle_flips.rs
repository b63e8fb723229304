//! Bundle mutations: byte and field flips, truncations, encodings.

use super::*;

// ------------------------------------------------------------------------------------------------
// 2. Bundle mutations.

/// Describes how two JSON documents differ, in terms that do not depend on the exact flip.
pub(crate) fn json_diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => json_diff(&format!("{path}.{k}"), va, vb, out),
                    None => out.push(format!("{path}: key '{k}' renamed away")),
                }
            }
            if y.keys().any(|k| !x.contains_key(k)) && x.keys().all(|k| y.contains_key(k)) {
                out.push(format!("{path}: key added"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        (Value::String(p), Value::String(q)) if p != q => out.push(if p.eq_ignore_ascii_case(q) {
            format!("{path}: value changed in letter case only")
        } else {
            format!("{path}: value changed")
        }),
        _ if a != b => out.push(format!("{path}: value changed")),
        _ => {}
    }
}

pub(crate) fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("{b:#04x}")
    }
}

/// An accepted bundle variant: must carry exactly the signed content of the original.
/// Returns the category of the (benign) difference, or Err with a failure message.
pub(crate) fn classify_accepted(orig: &Bundle, mutated: &[u8]) -> Result<String, String> {
    let nb = bundle::parse(mutated).map_err(|e| format!("verified but does not re-parse: {e}"))?;
    if nb.payload != orig.payload || nb.payload_type != orig.payload_type {
        return Err("signed content changed and still VERIFIED".into());
    }
    let nv: Value = serde_json::from_slice(mutated).unwrap();
    let mut d = Vec::new();
    json_diff("", &orig.json(), &nv, &mut d);
    let mut cat = d
        .iter()
        .map(|s| s.trim_start_matches('.').to_string())
        .collect::<Vec<_>>()
        .join("; ");
    if cat.is_empty() {
        cat = "identical JSON value".into();
    }
    if nb.signature != orig.signature {
        cat += " [different signature bytes]";
    }
    Ok(cat)
}

#[derive(Default)]
pub(crate) struct Benign {
    count: usize,
    example: String,
}

#[test]
pub(crate) fn bundle_single_byte_flips_everywhere() {
    let mut rng = Rng::for_test("bundle_single_byte_flips_everywhere");
    let fx = build_model(&mut rng, false);
    let signed = sign(
        &fx.root,
        &hashing(HashAlgorithm::Sha256, Serialization::Files),
    );
    let v = signed.verifier();
    let opts = VerifyOptions::default();
    let orig = &signed.bytes;
    assert!(matches!(
        verify_bytes(&fx.root, orig, &v, &opts),
        Outcome::Pass(_)
    ));
    let start = Instant::now();
    let (mut tried, mut rejected) = (0usize, 0usize);
    let mut by_class: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut benign: BTreeMap<String, Benign> = BTreeMap::new();
    let mut failures = Vec::new();
    // Every position, every single-bit flip, plus one random byte xor.
    for pos in 0..orig.len() {
        let mut masks: Vec<u8> = (0..8).map(|b| 1u8 << b).collect();
        loop {
            let m = rng.nonzero_byte();
            if m.count_ones() > 1 {
                masks.push(m);
                break;
            }
        }
        for mask in masks {
            let mut m = orig.clone();
            m[pos] ^= mask;
            tried += 1;
            match verify_bytes(&fx.root, &m, &v, &opts) {
                Outcome::Fail(e) => {
                    rejected += 1;
                    *by_class.entry(class(&e)).or_default() += 1;
                }
                Outcome::Panic(p) => {
                    failures.push(format!("PANIC flipping byte {pos} ^ {mask:#04x}: {p}"))
                }
                Outcome::Pass(_) => match classify_accepted(&signed.bundle, &m) {
                    Ok(cat) => {
                        let b = benign.entry(cat).or_default();
                        b.count += 1;
                        if b.example.is_empty() {
                            let lo = pos.saturating_sub(12);
                            let hi = (pos + 12).min(orig.len());
                            b.example = format!(
                                "byte {pos} {} -> {} in ...{}...",
                                show_byte(orig[pos]),
                                show_byte(m[pos]),
                                String::from_utf8_lossy(&orig[lo..hi])
                            );
                        }
                    }
                    Err(f) => failures.push(format!("byte {pos} ^ {mask:#04x}: {f}")),
                },
            }
        }
    }
    let benign_total: usize = benign.values().map(|b| b.count).sum();
    let mut s = format!(
        "\n== bundle single-byte flips ({} bytes, every position x 8 bit flips + 1 random xor): {:.1} s ==\n\
         tried {tried}, rejected {rejected}, accepted as equivalent {benign_total}\nrejected by error class: {by_class:?}\n\
         accepted flips (signed content identical; grouped by what changed):\n",
        orig.len(),
        start.elapsed().as_secs_f64()
    );
    for (cat, b) in &benign {
        s += &format!("  {:>4} x {cat}\n         e.g. {}\n", b.count, b.example);
    }
    eprintln!("{s}");
    for f in &failures {
        eprintln!("FAILURE: {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
    assert_eq!(tried, rejected + benign_total);
}

/// P-256 group order.
pub(crate) const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// (r, s) of a short-form DER ECDSA signature, as unsigned big-endian integers.
pub(crate) fn der_parse(sig: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert!(sig[0] == 0x30 && sig[1] as usize == sig.len() - 2 && sig[2] == 0x02);
    let rl = sig[3] as usize;
    let r = sig[4..4 + rl].to_vec();
    assert_eq!(sig[4 + rl], 0x02);
    let sl = sig[5 + rl] as usize;
    let s = sig[6 + rl..6 + rl + sl].to_vec();
    (r, s)
}

pub(crate) fn der_int(v: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
    if v.is_empty() || v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    let mut out = vec![0x02, v.len() as u8];
    out.extend(v);
    out
}

pub(crate) fn der_seq(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30, body.len() as u8];
    out.extend_from_slice(body);
    out
}

pub(crate) fn to32(v: &[u8]) -> [u8; 32] {
    let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

/// n - s, big-endian.
pub(crate) fn n_minus(s: &[u8]) -> Vec<u8> {
    let s = to32(s);
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = P256_N[i] as i16 - s[i] as i16 - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    out.to_vec()
}

pub(crate) fn with_json(orig: &Value, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = orig.clone();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// Flips inside the decoded payload, signature and hint; truncations; encoding variants.
#[test]
pub(crate) fn bundle_field_flips_truncations_and_encodings() {
    let mut rng = Rng::for_test("bundle_field_flips_truncations_and_encodings");
    let fx = build_model(&mut rng, false);
    let signed = sign(
        &fx.root,
        &hashing(HashAlgorithm::Sha256, Serialization::Files),
    );
    let v = signed.verifier();
    let opts = VerifyOptions::default();
    let b = &signed.bundle;
    let start = Instant::now();
    let mut rows: Vec<(String, usize, usize, usize, String)> = Vec::new(); // name, tried, rejected, benign, classes
    let mut failures = Vec::new();
    let mut run = |name: &str, variants: Vec<Vec<u8>>, benign_ok: &dyn Fn(&Bundle) -> bool| {
        let (mut t, mut r, mut ok) = (0, 0, 0);
        let mut classes: BTreeMap<&'static str, usize> = BTreeMap::new();
        for m in variants {
            t += 1;
            match verify_bytes(&fx.root, &m, &v, &opts) {
                Outcome::Fail(e) => {
                    r += 1;
                    *classes.entry(class(&e)).or_default() += 1;
                }
                Outcome::Panic(p) => failures.push(format!("{name}: PANIC {p}")),
                Outcome::Pass(_) => match classify_accepted(b, &m) {
                    Ok(cat) => {
                        let nb = bundle::parse(&m).unwrap();
                        if benign_ok(&nb) {
                            ok += 1;
                        } else {
                            failures.push(format!("{name}: ACCEPTED ({cat})"));
                        }
                    }
                    Err(f) => failures.push(format!("{name}: {f}")),
                },
            }
        }
        rows.push((name.to_string(), t, r, ok, format!("{classes:?}")));
    };
    let never = |_: &Bundle| false;
    let enc = |payload: &[u8], sig: &[u8], hint: Option<String>| {
        bundle::encode(
            &VerificationMaterial::PublicKey {
                hint,
                legacy_raw_bytes: false,
            },
            PAYLOAD_TYPE,
            payload,
            sig,
        )
        .unwrap()
    };
    let hint = signed.public.hint();

    // Payload: every position, one random xor each; then truncations at every length.
    let variants = (0..b.payload.len())
        .map(|i| {
            let mut p = b.payload.clone();
            p[i] ^= rng.nonzero_byte();
            enc(&p, &b.signature, Some(hint.clone()))
        })
        .collect();
    run(
        "payload byte flips (re-encoded, old signature)",
        variants,
        &never,
    );
    let variants = (0..b.payload.len())
        .map(|l| enc(&b.payload[..l], &b.signature, Some(hint.clone())))
        .collect();
    run("payload truncated (every length)", variants, &never);
    let variants = (0..scaled(200))
        .map(|_| {
            let mut p = b.payload.clone();
            let k = rng.between(1, 64);
            let at = rng.below(p.len() + 1);
            let extra = rng.bytes(k);
            p.splice(at..at, extra);
            enc(&p, &b.signature, Some(hint.clone()))
        })
        .collect();
    run("payload random insertions", variants, &never);

    // Signature: every bit of every byte; every truncation; appended bytes.
    let mut variants = Vec::new();
    for i in 0..b.signature.len() {
        for bit in 0..8 {
            let mut s = b.signature.clone();
            s[i] ^= 1 << bit;
            variants.push(enc(&b.payload, &s, Some(hint.clone())));
        }
    }
    run("signature bit flips (every bit)", variants, &never);
    let variants = (0..b.signature.len())
        .map(|l| enc(&b.payload, &b.signature[..l], Some(hint.clone())))
        .collect();
    run("signature truncated (every length)", variants, &never);

    // Hint: every position replaced by every other hex digit, its other case, and junk.
    let mut variants = Vec::new();
    let mut case_only = Vec::new();
    for (i, c) in hint.char_indices() {
        for r in "0123456789abcdefABCDEFg -".chars() {
            if r == c {
                continue;
            }
            let mut h = hint.clone();
            h.replace_range(i..i + 1, &r.to_string());
            if r.eq_ignore_ascii_case(&c) {
                case_only.push(enc(&b.payload, &b.signature, Some(h)));
            } else {
                variants.push(enc(&b.payload, &b.signature, Some(h)));
            }
        }
    }
    for h in [
        String::new(),
        hint[..63].to_string(),
        format!("{hint}0"),
        format!(" {hint}"),
        "00".repeat(32),
    ] {
        variants.push(enc(&b.payload, &b.signature, Some(h)));
    }
    run("hint changed (other digit, junk, length)", variants, &never);
    let hint_case_ok = |nb: &Bundle| matches!(&nb.material, VerificationMaterial::PublicKey { hint: Some(h), .. } if h.eq_ignore_ascii_case(&hint));
    case_only.push(enc(&b.payload, &b.signature, Some(hint.to_uppercase())));
    run(
        "hint changed in letter case only (equivalent)",
        case_only,
        &hint_case_ok,
    );

    // The whole bundle truncated at every length.
    let variants = (0..signed.bytes.len())
        .map(|l| signed.bytes[..l].to_vec())
        .collect();
    run("bundle JSON truncated (every length)", variants, &never);

    let mut s = format!(
        "\n== bundle field mutations: {:.1} s ==\n{:<52} {:>6} {:>8} {:>10}  rejected by class\n",
        start.elapsed().as_secs_f64(),
        "mutation",
        "tried",
        "rejected",
        "equivalent"
    );
    for (n, t, r, ok, c) in &rows {
        s += &format!("{n:<52} {t:>6} {r:>8} {ok:>10}  {c}\n");
    }
    eprintln!("{s}");

    // Encoding variants and signature malleability: report each; whatever is accepted must carry
    // the signed content unchanged (checked by classify_accepted).
    let j = &b.json();
    let p64 = STANDARD.encode(&b.payload);
    let s64 = STANDARD.encode(&b.signature);
    let mut variants: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    let set = |path: &[&str], val: Value| {
        with_json(j, |v| {
            let mut cur = v;
            for (i, k) in path.iter().enumerate() {
                if i + 1 == path.len() {
                    cur[*k] = val.clone();
                } else if let Ok(idx) = k.parse::<usize>() {
                    cur = &mut cur[idx];
                } else {
                    cur = &mut cur[*k];
                }
            }
        })
    };
    let payload_at = ["dsseEnvelope", "payload"];
    let sig_at = ["dsseEnvelope", "signatures", "0", "sig"];
    variants.push((
        "payload base64 without padding".into(),
        Some(set(&payload_at, json!(STANDARD_NO_PAD.encode(&b.payload)))),
    ));
    variants.push((
        "payload base64 with 3 extra '='".into(),
        Some(set(&payload_at, json!(format!("{p64}===")))),
    ));
    let noncanon = |raw: &[u8]| -> Option<String> {
        let t = STANDARD_NO_PAD.encode(raw);
        if raw.len().is_multiple_of(3) {
            return None;
        }
        const ALPHA: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let last = t.chars().last().unwrap();
        let idx = ALPHA.find(last).unwrap() | 1;
        let mut u = t[..t.len() - 1].to_string();
        u.push(ALPHA.as_bytes()[idx] as char);
        u += if raw.len() % 3 == 1 { "==" } else { "=" };
        Some(u)
    };
    variants.push((
        "payload base64 with non-zero trailing bits".into(),
        noncanon(&b.payload).map(|u| set(&payload_at, json!(u))),
    ));
    variants.push((
        "payload base64 URL-safe alphabet".into(),
        (p64.contains('+') || p64.contains('/'))
            .then(|| set(&payload_at, json!(URL_SAFE.encode(&b.payload)))),
    ));
    variants.push((
        "payload base64 with a newline inside".into(),
        Some(set(
            &payload_at,
            json!(format!("{}\n{}", &p64[..8], &p64[8..])),
        )),
    ));
    variants.push((
        "payload base64 with a leading space".into(),
        Some(set(&payload_at, json!(format!(" {p64}")))),
    ));
    let mut esc = String::from_utf8(signed.bytes.clone()).unwrap();
    esc = esc.replacen(
        &format!("\"payload\":\"{}", &p64[..1]),
        &format!("\"payload\":\"\\u{:04x}", p64.as_bytes()[0]),
        1,
    );
    variants.push((
        "payload first char as JSON \\u escape".into(),
        Some(esc.into_bytes()),
    ));
    variants.push((
        "signature base64 without padding".into(),
        Some(set(&sig_at, json!(STANDARD_NO_PAD.encode(&b.signature)))),
    ));
    variants.push((
        "signature base64 with 3 extra '='".into(),
        Some(set(&sig_at, json!(format!("{s64}===")))),
    ));
    variants.push((
        "signature base64 with non-zero trailing bits".into(),
        noncanon(&b.signature).map(|u| set(&sig_at, json!(u))),
    ));
    let (r, sv) = der_parse(&b.signature);
    let high_s = der_seq(&[der_int(&r), der_int(&n_minus(&sv))].concat());
    variants.push((
        "signature (r, n-s) high/low-S twin".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&high_s)))),
    ));
    let mut padded_r = der_int(&r);
    padded_r.insert(2, 0);
    padded_r[1] += 1;
    let nonmin = der_seq(&[padded_r, der_int(&sv)].concat());
    variants.push((
        "signature DER with non-minimal INTEGER (extra 0x00)".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&nonmin)))),
    ));
    let mut longform = vec![0x30, 0x81, (b.signature.len() - 2) as u8];
    longform.extend_from_slice(&b.signature[2..]);
    variants.push((
        "signature DER with long-form length".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&longform)))),
    ));
    let mut trailing = b.signature.clone();
    trailing.push(0);
    variants.push((
        "signature DER + trailing 0x00".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&trailing)))),
    ));
    let raw = [to32(&r), to32(&sv)].concat();
    variants.push((
        "signature as raw r||s (P1363)".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&raw)))),
    ));
    variants.push((
        "pretty-printed JSON".into(),
        Some(serde_json::to_vec_pretty(j).unwrap()),
    ));
    let snake = String::from_utf8(signed.bytes.clone())
        .unwrap()
        .replace("mediaType", "media_type")
        .replace("verificationMaterial", "verification_material")
        .replace("publicKey", "public_key")
        .replace("tlogEntries", "tlog_entries")
        .replace("dsseEnvelope", "dsse_envelope")
        .replace("payloadType", "payload_type");
    variants.push(("snake_case field names".into(), Some(snake.into_bytes())));
    variants.push((
        "keyid removed".into(),
        Some(with_json(j, |v| {
            v["dsseEnvelope"]["signatures"][0]
                .as_object_mut()
                .unwrap()
                .remove("keyid");
        })),
    ));
    variants.push((
        "keyid set to another key's id".into(),
        Some(set(
            &["dsseEnvelope", "signatures", "0", "keyid"],
            json!("someone-else"),
        )),
    ));
    variants.push((
        "tlogEntries removed".into(),
        Some(with_json(j, |v| {
            v["verificationMaterial"]
                .as_object_mut()
                .unwrap()
                .remove("tlogEntries");
        })),
    ));
    variants.push((
        "hint removed (no hint: the verifier's key decides)".into(),
        Some(with_json(j, |v| {
            v["verificationMaterial"]["publicKey"]
                .as_object_mut()
                .unwrap()
                .remove("hint");
        })),
    ));
    variants.push((
        "hint null".into(),
        Some(set(
            &["verificationMaterial", "publicKey", "hint"],
            Value::Null,
        )),
    ));
    variants.push((
        "hint a number".into(),
        Some(set(
            &["verificationMaterial", "publicKey", "hint"],
            json!(7),
        )),
    ));
    let mut flipped_payload = b.payload.clone();
    flipped_payload[b.payload.len() / 2] ^= 1;
    let fp64 = STANDARD.encode(&flipped_payload);
    let text = String::from_utf8(signed.bytes.clone()).unwrap();
    variants.push((
        "duplicate 'payload' key: mutated first, original last".into(),
        Some(
            text.replacen(
                "\"payload\":",
                &format!("\"payload\":\"{fp64}\",\"payload\":"),
                1,
            )
            .into_bytes(),
        ),
    ));
    variants.push((
        "duplicate 'payload' key: original first, mutated last".into(),
        Some(
            text.replacen(
                &format!("\"payload\":\"{p64}\","),
                &format!("\"payload\":\"{p64}\",\"payload\":\"{fp64}\","),
                1,
            )
            .into_bytes(),
        ),
    ));
    variants.push((
        "mediaType in other letter case".into(),
        Some(set(
            &["mediaType"],
            json!(bundle::MEDIA_TYPE_V03.to_uppercase()),
        )),
    ));
    variants.push((
        "trailing garbage after the JSON object".into(),
        Some([signed.bytes.as_slice(), b"x"].concat()),
    ));
    variants.push((
        "trailing whitespace after the JSON object".into(),
        Some([signed.bytes.as_slice(), b"\n\t "].concat()),
    ));
    variants.push((
        "UTF-8 BOM before the JSON object".into(),
        Some([b"\xef\xbb\xbf".as_slice(), signed.bytes.as_slice()].concat()),
    ));
    let mut s = String::from(
        "\n== bundle encoding variants (accepted ones must keep the signed content) ==\n",
    );
    for (name, bytes) in variants {
        let Some(bytes) = bytes.filter(|b| *b != signed.bytes) else {
            s += &format!("  {name:<58} n/a for this bundle (no such variant or same bytes)\n");
            continue;
        };
        let out = verify_bytes(&fx.root, &bytes, &v, &opts);
        let verdict = match &out {
            Outcome::Pass(_) => match classify_accepted(b, &bytes) {
                Ok(cat) => format!("accepted, equivalent ({cat})"),
                Err(f) => {
                    failures.push(format!("{name}: {f}"));
                    format!("ACCEPTED: {f}")
                }
            },
            Outcome::Panic(p) => {
                failures.push(format!("{name}: PANIC {p}"));
                format!("PANIC {p}")
            }
            Outcome::Fail(_) => format!("rejected: {}", out.describe()),
        };
        s += &format!("  {name:<58} {verdict}\n");
    }
    eprintln!("{s}");
    for f in &failures {
        eprintln!("FAILURE: {f}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (first: {})",
        failures.len(),
        failures[0]
    );
    for (n, t, r, ok, _) in &rows {
        assert_eq!(t, &(r + ok), "{n}");
    }
}
