//! Re-signed statements: a valid signature over wrong content.

use super::*;

pub(crate) fn resources(v: &mut Value) -> &mut Vec<Value> {
    v["predicate"]["resources"].as_array_mut().unwrap()
}

/// Sets the subject digest to the SHA-256 of the listed digests, so the manifest is consistent.
pub(crate) fn fix_root(v: &mut Value) {
    let mut cat = Vec::new();
    if let Some(rs) = v["predicate"]["resources"].as_array() {
        for r in rs {
            if let Some(d) = r["digest"].as_str().and_then(|s| hex::decode(s).ok()) {
                cat.extend(d);
            }
        }
    }
    v["subject"][0]["digest"]["sha256"] = json!(hex::encode(HashAlgorithm::Sha256.digest(&cat)));
}

pub(crate) fn with(base: &Value, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = base.clone();
    f(&mut v);
    v
}

#[derive(Clone)]
pub(crate) enum Exp {
    /// Rejected before any hashing with this error class.
    Early(&'static str),
    /// Rejected by comparing with the model.
    Mismatch,
    /// Rejected, reported as a change of this resource (and nothing else).
    Changed(String),
    /// Verifies: equivalent or signer's prerogative (the reason is printed).
    Accept(&'static str),
}

pub(crate) struct Lab<'a> {
    root: &'a Path,
    signed: &'a Signed,
    rows: Vec<String>,
    failures: Vec<String>,
    tried: usize,
    rejected: usize,
    accepted: usize,
}

impl Lab<'_> {
    fn check(&mut self, name: &str, bytes: Vec<u8>, exp: Exp) {
        let p = Arc::new(CountingProgress::default());
        let opts = counting_opts(&p);
        let out = verify_bytes(self.root, &bytes, &self.signed.verifier(), &opts);
        let hashed = p.begins.load(Ordering::SeqCst) > 0;
        let ok = match (&exp, &out) {
            (_, Outcome::Panic(_)) => false,
            (Exp::Early(c), Outcome::Fail(e)) => class(e) == *c && !hashed,
            (Exp::Mismatch, Outcome::Fail(Error::Mismatch(_))) => true,
            (Exp::Changed(n), Outcome::Fail(Error::Mismatch(r))) => {
                r.missing.is_empty()
                    && r.extra.is_empty()
                    && r.changed.len() == 1
                    && &r.changed[0].name == n
            }
            (Exp::Accept(_), Outcome::Pass(_)) => true,
            _ => false,
        };
        match exp {
            Exp::Accept(_) => self.accepted += 1,
            _ => {
                self.tried += 1;
                if matches!(out, Outcome::Fail(_)) {
                    self.rejected += 1;
                }
            }
        }
        let want = match &exp {
            Exp::Early(c) => format!("{c} before hashing"),
            Exp::Mismatch => "Mismatch".into(),
            Exp::Changed(n) => format!("Mismatch: changed {n:?}"),
            Exp::Accept(why) => format!("verifies ({why})"),
        };
        let got = format!(
            "{}{}",
            out.describe(),
            if hashed && !matches!(out, Outcome::Pass(_)) {
                " [after hashing]"
            } else {
                ""
            }
        );
        self.rows.push(format!(
            "  {} {:<62} {}",
            if ok { "ok  " } else { "FAIL" },
            short(name),
            short(&got)
        ));
        if !ok {
            self.failures
                .push(format!("{name}: expected {want}, got {got}"));
        }
    }

    fn stmt(&mut self, name: &str, st: Value, exp: Exp) {
        let bytes = self.signed.resign(&st);
        self.check(name, bytes, exp);
    }

    fn finish(self, title: &str, start: Instant) {
        eprintln!(
            "\n== {title}: {:.1} s: {} must-reject cases, {} rejected; {} accepted-by-design cases ==\n{}",
            start.elapsed().as_secs_f64(),
            self.tried,
            self.rejected,
            self.accepted,
            self.rows.join("\n")
        );
        for f in &self.failures {
            eprintln!("FAILURE: {f}");
        }
        assert!(
            self.failures.is_empty(),
            "{} failures (first: {})",
            self.failures.len(),
            self.failures[0]
        );
        assert_eq!(self.tried, self.rejected);
    }
}

/// Statements signed with the right key (valid signature) but with wrong content.
#[test]
pub(crate) fn bundle_resigned_statement_mutations_files() {
    let mut rng = Rng::for_test("bundle_resigned_statement_mutations_files");
    let fx = build_model(&mut rng, false);
    let signed = sign(
        &fx.root,
        &hashing(HashAlgorithm::Sha256, Serialization::Files),
    );
    let base = signed.statement();
    let start = Instant::now();
    let mut lab = Lab {
        root: &fx.root,
        signed: &signed,
        rows: Vec::new(),
        failures: Vec::new(),
        tried: 0,
        rejected: 0,
        accepted: 0,
    };
    let n_res = base["predicate"]["resources"].as_array().unwrap().len();
    let name0 = base["predicate"]["resources"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();

    lab.stmt(
        "unchanged statement, re-signed",
        base.clone(),
        Exp::Accept("control"),
    );
    // Order.
    lab.stmt(
        "resources 0 and 1 swapped, root digest not recomputed",
        with(&base, |v| resources(v).swap(0, 1)),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "resources reversed, root digest not recomputed",
        with(&base, |v| resources(v).reverse()),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "resources reversed, root digest recomputed",
        with(&base, |v| {
            resources(v).reverse();
            fix_root(v);
        }),
        Exp::Accept("order is free once the root digest matches it"),
    );
    lab.stmt(
        "root digest of other content",
        with(&base, |v| {
            v["subject"][0]["digest"]["sha256"] = json!("00".repeat(32));
        }),
        Exp::Early("Statement"),
    );
    // Duplicates.
    lab.stmt(
        "duplicate resource (same entry twice), root consistent",
        with(&base, |v| {
            let r = resources(v)[0].clone();
            resources(v).push(r);
            fix_root(v);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "duplicate resource name with another digest, root consistent",
        with(&base, |v| {
            let mut r = resources(v)[0].clone();
            r["digest"] = json!("ab".repeat(32));
            resources(v).insert(0, r);
            fix_root(v);
        }),
        Exp::Early("Statement"),
    );
    // Names.
    let outside_abs = fx.outside.join("x").display().to_string();
    let bad_names = [
        "../outside",
        "weights/../../outside",
        "..",
        "weights/..",
        "/etc/passwd",
        outside_abs.as_str(),
        "/",
        "",
        ".",
        "./config.json",
        "weights/./model.safetensors",
        "weights//model.safetensors",
        "weights/",
        "/weights/model.safetensors",
        "weights\\model.safetensors",
        "..\\outside",
        "config.json\0",
        "a\0b",
        "a\nb",
        "a\rb",
        "\u{7f}x",
        "x\u{85}",
        "\u{1b}[31mred",
    ];
    for bad in bad_names {
        lab.stmt(
            &format!("resource name {bad:?}, root consistent"),
            with(&base, |v| {
                resources(v)[0]["name"] = json!(bad);
                fix_root(v);
            }),
            Exp::Early("Statement"),
        );
        lab.stmt(
            &format!("extra resource {bad:?} added, root consistent"),
            with(&base, |v| {
                let mut r = resources(v)[0].clone();
                r["name"] = json!(bad);
                resources(v).push(r);
                fix_root(v);
            }),
            Exp::Early("Statement"),
        );
    }
    for odd in [
        "config.json\u{200b}",
        "Config.json",
        "config.json ",
        " config.json",
        "tokenizer/mode\u{300}le.txt",
        "config.json\t",
    ] {
        lab.stmt(
            &format!("resource renamed to valid but wrong name {odd:?}"),
            with(&base, |v| {
                let target = if odd.contains("mode") {
                    "tokenizer/modèle.txt"
                } else {
                    "config.json"
                };
                let i = resources(v)
                    .iter()
                    .position(|r| r["name"] == target)
                    .unwrap();
                resources(v)[i]["name"] = json!(odd);
                fix_root(v);
            }),
            Exp::Mismatch,
        );
    }
    // Digests.
    for i in 0..n_res {
        let name = base["predicate"]["resources"][i]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let pos = rng.below(64);
        lab.stmt(
            &format!("digest of {name:?} changed (hex char {pos}), root consistent"),
            with(&base, |v| {
                let d = resources(v)[i]["digest"].as_str().unwrap().to_string();
                let c = d.as_bytes()[pos];
                let r = if c == b'0' { '1' } else { '0' };
                let mut nd = d.clone();
                nd.replace_range(pos..pos + 1, &r.to_string());
                resources(v)[i]["digest"] = json!(nd);
                fix_root(v);
            }),
            Exp::Changed(name),
        );
    }
    lab.stmt(
        "digest in upper-case hex, root consistent",
        with(&base, |v| {
            let d = resources(v)[0]["digest"].as_str().unwrap().to_uppercase();
            resources(v)[0]["digest"] = json!(d);
        }),
        Exp::Accept("hex digits are case-insensitive: same digest"),
    );
    for (what, d) in [
        ("not hex", "zz".repeat(32)),
        ("31 bytes", "00".repeat(31)),
        ("33 bytes", "00".repeat(33)),
        ("odd length", "0".repeat(63)),
        ("empty", String::new()),
    ] {
        lab.stmt(
            &format!("digest {what}"),
            with(&base, |v| {
                resources(v)[0]["digest"] = json!(d);
                fix_root(v);
            }),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "digest a number",
        with(&base, |v| resources(v)[0]["digest"] = json!(12)),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "a resource removed, root consistent",
        with(&base, |v| {
            resources(v).remove(0);
            fix_root(v);
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "a resource for a file that does not exist, root consistent",
        with(&base, |v| {
            let mut r = resources(v)[0].clone();
            r["name"] = json!("weights/ghost.bin");
            resources(v).push(r);
            fix_root(v);
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "no resources at all, root consistent",
        with(&base, |v| {
            resources(v).clear();
            fix_root(v);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "resources not a list",
        with(&base, |v| v["predicate"]["resources"] = json!({})),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "resources missing",
        with(&base, |v| {
            v["predicate"].as_object_mut().unwrap().remove("resources");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "a resource that is a string",
        with(&base, |v| resources(v)[0] = json!("config.json")),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "a resource without a name",
        with(&base, |v| {
            resources(v)[0].as_object_mut().unwrap().remove("name");
        }),
        Exp::Early("Statement"),
    );
    // Algorithm strings.
    for alg in [
        "sha512",
        "SHA256",
        "sha-256",
        "blake2b",
        "blake3",
        "sha256-sharded-1000",
        "",
        "sha256 ",
    ] {
        lab.stmt(
            &format!("algorithm of {name0:?} -> {alg:?}"),
            with(&base, |v| resources(v)[0]["algorithm"] = json!(alg)),
            Exp::Early("Statement"),
        );
    }
    // hash_type.
    let set_alg_all = |v: &mut Value, a: &str| {
        for r in resources(v).iter_mut() {
            r["algorithm"] = json!(a);
        }
    };
    for ht in [
        "blake2b", "blake2", "blake3", "md5", "SHA256", "", "sha256\0",
    ] {
        lab.stmt(
            &format!("hash_type -> {ht:?}"),
            with(&base, |v| {
                v["predicate"]["serialization"]["hash_type"] = json!(ht)
            }),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "hash_type -> blake3 and every algorithm -> blake3 (32-byte digests)",
        with(&base, |v| {
            v["predicate"]["serialization"]["hash_type"] = json!("blake3");
            set_alg_all(v, "blake3");
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "hash_type missing",
        with(&base, |v| {
            v["predicate"]["serialization"]
                .as_object_mut()
                .unwrap()
                .remove("hash_type");
        }),
        Exp::Early("Statement"),
    );
    // method / shard_size.
    lab.stmt(
        "method -> shards (shard_size 1000), names unchanged",
        with(&base, |v| {
            v["predicate"]["serialization"]["method"] = json!("shards");
            v["predicate"]["serialization"]["shard_size"] = json!(1000);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "method -> shards, algorithms 'sha256-sharded-1000', names unchanged",
        with(&base, |v| {
            v["predicate"]["serialization"]["method"] = json!("shards");
            v["predicate"]["serialization"]["shard_size"] = json!(1000);
            set_alg_all(v, "sha256-sharded-1000");
        }),
        Exp::Early("Statement"),
    );
    for m in ["tar", "FILES", "", "files "] {
        lab.stmt(
            &format!("method -> {m:?}"),
            with(&base, |v| {
                v["predicate"]["serialization"]["method"] = json!(m)
            }),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "method missing",
        with(&base, |v| {
            v["predicate"]["serialization"]
                .as_object_mut()
                .unwrap()
                .remove("method");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "shard_size 1000 added to a files serialization",
        with(&base, |v| {
            v["predicate"]["serialization"]["shard_size"] = json!(1000)
        }),
        Exp::Accept("shard_size means nothing for files"),
    );
    // ignore_paths.
    let set_ignore = |v: &mut Value, x: Value| v["predicate"]["serialization"]["ignore_paths"] = x;
    lab.stmt(
        "ignore_paths [\".\"] (ignore everything)",
        with(&base, |v| set_ignore(v, json!(["."]))),
        Exp::Mismatch,
    );
    lab.stmt(
        "ignore_paths [\"./\"]",
        with(&base, |v| set_ignore(v, json!(["./"]))),
        Exp::Mismatch,
    );
    lab.stmt(
        "ignore_paths [\"config.json\"] (still listed in the manifest)",
        with(&base, |v| set_ignore(v, json!(["config.json"]))),
        Exp::Mismatch,
    );
    lab.stmt(
        "ignore_paths [\"weights\"] (still listed in the manifest)",
        with(&base, |v| set_ignore(v, json!(["weights"]))),
        Exp::Mismatch,
    );
    for ig in [
        json!(["../x"]),
        json!(["/abs"]),
        json!(["/"]),
        json!([""]),
        json!(["a/../../x"]),
        json!([".."]),
        json!(["a\0b"]),
        json!([1]),
        json!("config.json"),
        json!({"a": 1}),
    ] {
        lab.stmt(
            &format!("ignore_paths {ig}"),
            with(&base, |v| set_ignore(v, ig.clone())),
            Exp::Early("Statement"),
        );
    }
    // allow_symlinks.
    for a in [json!("yes"), json!(1), json!([])] {
        lab.stmt(
            &format!("allow_symlinks {a}"),
            with(&base, |v| {
                v["predicate"]["serialization"]["allow_symlinks"] = a.clone()
            }),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "allow_symlinks true (model has no symlinks)",
        with(&base, |v| {
            v["predicate"]["serialization"]["allow_symlinks"] = json!(true)
        }),
        Exp::Accept("the signer allowed symlinks; none are present"),
    );
    // Subjects and types.
    lab.stmt(
        "subject list empty",
        with(&base, |v| v["subject"] = json!([])),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "two subjects (same one twice)",
        with(&base, |v| {
            let s = v["subject"][0].clone();
            v["subject"].as_array_mut().unwrap().push(s);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject not a list",
        with(&base, |v| v["subject"] = v["subject"][0].clone()),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject without digest",
        with(&base, |v| {
            v["subject"][0].as_object_mut().unwrap().remove("digest");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject digest sha512 instead of sha256",
        with(&base, |v| {
            let d = v["subject"][0]["digest"]["sha256"].clone();
            v["subject"][0]["digest"] = json!({ "sha512": d });
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject digest truncated to 31 bytes",
        with(&base, |v| {
            let d = v["subject"][0]["digest"]["sha256"].as_str().unwrap()[..62].to_string();
            v["subject"][0]["digest"]["sha256"] = json!(d);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject digest upper-case hex",
        with(&base, |v| {
            let d = v["subject"][0]["digest"]["sha256"]
                .as_str()
                .unwrap()
                .to_uppercase();
            v["subject"][0]["digest"]["sha256"] = json!(d);
        }),
        Exp::Accept("hex digits are case-insensitive: same root digest"),
    );
    lab.stmt(
        "subject name changed",
        with(&base, |v| {
            v["subject"][0]["name"] = json!("someone-elses-model")
        }),
        Exp::Accept("the model name is informational, as in Python"),
    );
    lab.stmt(
        "_type -> Statement/v0.1",
        with(&base, |v| {
            v["_type"] = json!("https://in-toto.io/Statement/v0.1")
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "predicateType -> signature/v2.0",
        with(&base, |v| {
            v["predicateType"] = json!("https://model_signing/signature/v2.0");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "predicateType -> legacy Digests/v0.1 (subject read as one file)",
        with(&base, |v| {
            v["predicateType"] = json!("https://model_signing/Digests/v0.1");
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "unknown extra fields everywhere",
        with(&base, |v| {
            v["extra"] = json!(1);
            v["predicate"]["extra"] = json!({"x": [1, 2]});
            resources(v)[0]["extra"] = json!("y");
        }),
        Exp::Accept("unknown fields are ignored (they are signed, so harmless)"),
    );
    // Payload shape.
    for (what, p) in [
        ("payload '[]'", b"[]".to_vec()),
        ("payload '{}'", b"{}".to_vec()),
        ("payload not JSON", b"not json".to_vec()),
        ("payload empty", Vec::new()),
        ("payload 'null'", b"null".to_vec()),
        ("payload: statement + trailing junk", {
            let mut s = serde_json::to_vec(&base).unwrap();
            s.extend_from_slice(b"}");
            s
        }),
        ("payload: statement nested 10000 deep", {
            let mut s = b"{\"x\":".to_vec();
            s.extend(std::iter::repeat_n(b'[', 10_000));
            s
        }),
    ] {
        let bytes = signed.resign_raw(PAYLOAD_TYPE, &p);
        lab.check(&format!("{what} (signed)"), bytes, Exp::Early("Statement"));
    }
    lab.check(
        "payload: statement with UTF-8 BOM (signed)",
        signed.resign_raw(
            PAYLOAD_TYPE,
            &[
                b"\xef\xbb\xbf".as_slice(),
                &serde_json::to_vec(&base).unwrap(),
            ]
            .concat(),
        ),
        Exp::Early("Statement"),
    );
    // Envelope: payload type, media type, signatures, other keys.
    let pbytes = serde_json::to_vec(&base).unwrap();
    for pt in [
        "application/json",
        "application/vnd.in-toto+json; charset=utf-8",
        "application/vnd.in-toto+JSON",
        "",
    ] {
        lab.check(
            &format!("payloadType {pt:?} (re-signed over its PAE)"),
            signed.resign_raw(pt, &pbytes),
            Exp::Early("Bundle"),
        );
    }
    let bjson = &signed.bundle.json();
    for mt in [
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3.1+json",
        "",
    ] {
        lab.check(
            &format!("mediaType {mt:?}"),
            with_json(bjson, |v| v["mediaType"] = json!(mt)),
            Exp::Early("Bundle"),
        );
    }
    lab.check(
        "extra signature entry (same signature twice)",
        with_json(bjson, |v| {
            let s = v["dsseEnvelope"]["signatures"][0].clone();
            v["dsseEnvelope"]["signatures"]
                .as_array_mut()
                .unwrap()
                .push(s);
        }),
        Exp::Early("Bundle"),
    );
    lab.check(
        "extra signature entry (junk second signature)",
        with_json(bjson, |v| {
            v["dsseEnvelope"]["signatures"]
                .as_array_mut()
                .unwrap()
                .push(json!({"sig": "MEUCIQ==", "keyid": ""}));
        }),
        Exp::Early("Bundle"),
    );
    lab.check(
        "signatures empty",
        with_json(bjson, |v| v["dsseEnvelope"]["signatures"] = json!([])),
        Exp::Early("Bundle"),
    );
    lab.check(
        "verificationMaterial switched to a certificate chain",
        with_json(bjson, |v| {
            v["verificationMaterial"] = json!({
                "x509CertificateChain": {"certificates": [{"rawBytes": "MAA="}]},
                "tlogEntries": []
            });
        }),
        Exp::Early("Signature"),
    );
    lab.check(
        "messageSignature instead of dsseEnvelope",
        with_json(bjson, |v| {
            let e = v.as_object_mut().unwrap().remove("dsseEnvelope").unwrap();
            v["messageSignature"] = e;
        }),
        Exp::Early("Bundle"),
    );
    // Other keys.
    let other = KeySigner::new(PrivateKey::generate(Curve::P256).unwrap());
    let other_sig = other.sign(&pae(PAYLOAD_TYPE, &pbytes)).unwrap();
    let other_hint = match other.material().unwrap() {
        VerificationMaterial::PublicKey { hint, .. } => hint,
        _ => unreachable!(),
    };
    for (what, hint) in [
        ("our hint", Some(signed.public.hint())),
        ("its own hint", other_hint),
        ("no hint", None),
    ] {
        lab.check(
            &format!("signed by another P-256 key, {what}"),
            bundle::encode(
                &VerificationMaterial::PublicKey {
                    hint,
                    legacy_raw_bytes: false,
                },
                PAYLOAD_TYPE,
                &pbytes,
                &other_sig,
            )
            .unwrap(),
            Exp::Early("Signature"),
        );
    }
    let p384 = PrivateKey::generate(Curve::P384).unwrap();
    lab.check(
        "signed by a P-384 key, our hint",
        bundle::encode(
            &signed.material(),
            PAYLOAD_TYPE,
            &pbytes,
            &p384.sign(&pae(PAYLOAD_TYPE, &pbytes)).unwrap(),
        )
        .unwrap(),
        Exp::Early("Signature"),
    );
    lab.check(
        "signature over the PAE of another payload",
        bundle::encode(
            &signed.material(),
            PAYLOAD_TYPE,
            &pbytes,
            &signed.signer.sign(&pae(PAYLOAD_TYPE, b"{}")).unwrap(),
        )
        .unwrap(),
        Exp::Early("Signature"),
    );
    lab.check(
        "signature over the raw payload (no PAE)",
        bundle::encode(
            &signed.material(),
            PAYLOAD_TYPE,
            &pbytes,
            &signed.signer.sign(&pbytes).unwrap(),
        )
        .unwrap(),
        Exp::Early("Signature"),
    );
    lab.check(
        "signature over the v0.2 compat PAE",
        bundle::encode(
            &signed.material(),
            PAYLOAD_TYPE,
            &pbytes,
            &signed
                .signer
                .sign(&model_signing::dsse::pae_compat(PAYLOAD_TYPE, &pbytes))
                .unwrap(),
        )
        .unwrap(),
        // Only v0.2 (`Digests/v0.1`) statements were ever signed with that encoding: a current
        // statement signed with it is refused, and a junk payload costs no compat encoding.
        Exp::Early("Signature"),
    );
    lab.finish("re-signed statement mutations (files, sha256)", start);
}

#[test]
pub(crate) fn bundle_resigned_statement_mutations_shards() {
    let mut rng = Rng::for_test("bundle_resigned_statement_mutations_shards");
    let fx = build_model(&mut rng, false);
    let signed = sign(
        &fx.root,
        &hashing(
            HashAlgorithm::Sha256,
            Serialization::Shards { shard_size: 1000 },
        ),
    );
    let base = signed.statement();
    let start = Instant::now();
    let mut lab = Lab {
        root: &fx.root,
        signed: &signed,
        rows: Vec::new(),
        failures: Vec::new(),
        tried: 0,
        rejected: 0,
        accepted: 0,
    };
    let set_alg_all = |v: &mut Value, a: &str| {
        for r in resources(v).iter_mut() {
            r["algorithm"] = json!(a);
        }
    };
    let ser = |v: &mut Value, k: &str, x: Value| v["predicate"]["serialization"][k] = x;
    let big = base["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .position(|r| r["name"] == "weights/model.safetensors:1000:2000")
        .unwrap();

    lab.stmt(
        "unchanged statement, re-signed",
        base.clone(),
        Exp::Accept("control"),
    );
    lab.stmt(
        "every algorithm plain 'sha256' (the OMS spec text spelling)",
        with(&base, |v| set_alg_all(v, "sha256")),
        Exp::Accept("the spec's spelling is accepted"),
    );
    lab.stmt(
        "shard_size 1000.0",
        with(&base, |v| ser(v, "shard_size", json!(1000.0))),
        Exp::Accept("an integral float is the same size (Python writes floats)"),
    );
    for s in [999u64, 1001, 1, 4096, u64::MAX] {
        lab.stmt(
            &format!("shard_size {s}, algorithm strings stale"),
            with(&base, |v| ser(v, "shard_size", json!(s))),
            Exp::Early("Statement"),
        );
        lab.stmt(
            &format!("shard_size {s}, algorithm strings updated"),
            with(&base, |v| {
                ser(v, "shard_size", json!(s));
                set_alg_all(v, &format!("sha256-sharded-{s}"));
            }),
            Exp::Mismatch,
        );
    }
    for s in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("1000"),
        json!(null),
        json!(1e30),
        json!(true),
    ] {
        lab.stmt(
            &format!("shard_size {s}"),
            with(&base, |v| ser(v, "shard_size", s.clone())),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "shard_size missing",
        with(&base, |v| {
            v["predicate"]["serialization"]
                .as_object_mut()
                .unwrap()
                .remove("shard_size");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "method -> files, algorithm strings stale",
        with(&base, |v| ser(v, "method", json!("files"))),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "method -> files, algorithms 'sha256' ('f:0:1000' are valid file names)",
        with(&base, |v| {
            ser(v, "method", json!("files"));
            set_alg_all(v, "sha256");
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "hash_type -> blake2b",
        with(&base, |v| ser(v, "hash_type", json!("blake2b"))),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "hash_type -> blake3, algorithms 'blake3-sharded-1000'",
        with(&base, |v| {
            ser(v, "hash_type", json!("blake3"));
            set_alg_all(v, "blake3-sharded-1000");
        }),
        Exp::Mismatch,
    );
    for bad in [
        "weights/model.safetensors:01000:2000",
        "weights/model.safetensors:1000:1000",
        "weights/model.safetensors:2000:1000",
        "weights/model.safetensors:1000:",
        "weights/model.safetensors::2000",
        "weights/model.safetensors:1000",
        "weights/model.safetensors",
        "weights/model.safetensors:+1000:2000",
        "weights/model.safetensors:-1:2000",
        "weights/model.safetensors:1000:99999999999999999999999",
        "weights/model.safetensors:1e3:2000",
        "weights/model.safetensors: 1000:2000",
        "../outside:1000:2000",
        "/etc/passwd:1000:2000",
        "weights/../../outside:1000:2000",
        "weights//model.safetensors:1000:2000",
        ":1000:2000",
        "weights\\model.safetensors:1000:2000",
        "a\0b:1000:2000",
    ] {
        lab.stmt(
            &format!("shard name {bad:?}, root consistent"),
            with(&base, |v| {
                resources(v)[big]["name"] = json!(bad);
                fix_root(v);
            }),
            Exp::Early("Statement"),
        );
    }
    for odd in [
        "weights/model.safetensors:500:1500",
        "weights/model.safetensors:1000:1999",
        "weights/model.safetensors:1000:2001",
        "weights/model.safetensors:0:1000",
        "weights/other.safetensors:1000:2000",
    ] {
        lab.stmt(
            &format!("shard renamed to {odd:?}, root consistent"),
            with(&base, |v| {
                resources(v)[big]["name"] = json!(odd);
                fix_root(v);
            }),
            if odd.ends_with(":0:1000") {
                Exp::Early("Statement") // duplicate of the first shard
            } else {
                Exp::Mismatch
            },
        );
    }
    lab.stmt(
        "shard digest changed, root consistent",
        with(&base, |v| {
            resources(v)[big]["digest"] = json!("11".repeat(32));
            fix_root(v);
        }),
        Exp::Changed("weights/model.safetensors:1000:2000".into()),
    );
    lab.stmt(
        "last shard dropped, root consistent",
        with(&base, |v| {
            let i = resources(v)
                .iter()
                .rposition(|r| {
                    r["name"]
                        .as_str()
                        .unwrap()
                        .starts_with("weights/model.safetensors:")
                })
                .unwrap();
            resources(v).remove(i);
            fix_root(v);
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "shards 0 and 1 of the weights swapped, root not recomputed",
        with(&base, |v| resources(v).swap(big - 1, big)),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "shards of the weights reversed, root recomputed",
        with(&base, |v| {
            resources(v).reverse();
            fix_root(v);
        }),
        Exp::Accept("order is free once the root digest matches it"),
    );
    lab.stmt(
        "a shard for the empty file 'empty.bin:0:1', root consistent",
        with(&base, |v| {
            let mut r = resources(v)[0].clone();
            r["name"] = json!("empty.bin:0:1");
            resources(v).push(r);
            fix_root(v);
        }),
        Exp::Mismatch,
    );
    lab.finish("re-signed statement mutations (shards 1000, sha256)", start);
}
