use super::encrypted::evp_bytes_to_key;
use super::*;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

const MSG: &[u8] = b"model signing test message \x00\x01\x02";
const PASS: &str = "secret";

fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

macro_rules! require_openssl {
    () => {
        if !have_openssl() {
            eprintln!("NOTE: the openssl CLI is not available; skipping this test");
            return;
        }
    };
}

fn ossl_status(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl")
}

fn ossl(dir: &Path, args: &[&str]) {
    let out = ossl_status(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn dgst_flag(hash: SigHash) -> &'static str {
    match hash {
        SigHash::Sha256 => "-sha256",
        SigHash::Sha384 => "-sha384",
        SigHash::Sha512 => "-sha512",
    }
}

fn assert_one_line(e: &KeyError) {
    let msg = e.to_string();
    assert!(
        !msg.contains('\n') && !msg.is_empty(),
        "bad message {msg:?}"
    );
}

/// (OpenSSL ecparam name, NIST name, curve).
const CURVES: [(&str, &str, Curve); 3] = [
    ("prime256v1", "P-256", Curve::P256),
    ("secp384r1", "P-384", Curve::P384),
    ("secp521r1", "P-521", Curve::P521),
];

/// Checks a key file against OpenSSL: same public PEM (hence hint), signatures verify both ways.
fn check_key_file(dir: &Path, file: &str, password: Option<&str>, curve: Curve) {
    let key = PrivateKey::from_pem(&read(dir, file), password.map(str::as_bytes))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(key.curve(), curve, "{file}");
    let public = key.public_key();
    assert_eq!(public.curve(), curve);

    let pass_arg = format!("pass:{}", password.unwrap_or(""));
    let mut passin: Vec<&str> = Vec::new();
    if password.is_some() {
        passin = vec!["-passin", &pass_arg];
    }
    let pub_file = format!("{file}.pub");
    // `-conv_form uncompressed` because OpenSSL keeps a SEC1 key's compressed point form,
    // while Python `cryptography` (and the hint) always use the uncompressed one.
    let mut args = vec![
        "ec",
        "-in",
        file,
        "-pubout",
        "-conv_form",
        "uncompressed",
        "-out",
        &pub_file,
    ];
    args.extend(&passin);
    ossl(dir, &args);
    let ossl_pub = read(dir, &pub_file);
    assert_eq!(public.to_pem().as_bytes(), ossl_pub.as_slice(), "{file}");
    assert_eq!(public.hint(), sha256_hex(&ossl_pub), "{file}");
    assert_eq!(PublicKey::from_pem(&ossl_pub).expect("load pub"), public);

    // Our signature, checked by OpenSSL with the curve's hash.
    let msg_file = format!("{file}.msg");
    std::fs::write(dir.join(&msg_file), MSG).expect("write msg");
    let sig = key.sign(MSG).expect("sign");
    let sig_file = format!("{file}.sig");
    std::fs::write(dir.join(&sig_file), &sig).expect("write sig");
    public.verify(MSG, &sig).expect("our verify");
    let flag = dgst_flag(curve.sig_hash());
    ossl(
        dir,
        &[
            "dgst",
            flag,
            "-verify",
            &pub_file,
            "-signature",
            &sig_file,
            &msg_file,
        ],
    );

    // OpenSSL's signature, checked by us.
    let osig_file = format!("{file}.osig");
    let mut args = vec!["dgst", flag, "-sign", file, "-out", &osig_file];
    args.extend(&passin);
    args.push(&msg_file);
    ossl(dir, &args);
    public
        .verify(MSG, &read(dir, &osig_file))
        .expect("verify openssl signature");

    assert!(matches!(
        public.verify(b"another message", &sig),
        Err(KeyError::VerificationFailed)
    ));
}

#[test]
fn loads_every_pem_format_on_every_curve_and_interoperates_with_openssl() {
    require_openssl!();
    for (name, nist, curve) in CURVES {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        let pass = format!("pass:{PASS}");
        ossl(
            d,
            &[
                "ecparam", "-name", name, "-genkey", "-noout", "-out", "sec1.pem",
            ],
        );
        ossl(
            d,
            &[
                "ecparam",
                "-name",
                name,
                "-genkey",
                "-out",
                "sec1_params.pem",
            ],
        );
        let curve_opt = format!("ec_paramgen_curve:{nist}");
        ossl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                &curve_opt,
                "-out",
                "pkcs8.pem",
            ],
        );
        let topk8 = |out: &str, extra: &[&str]| {
            let mut args = vec!["pkcs8", "-topk8", "-in", "pkcs8.pem", "-passout", &pass];
            args.extend(extra);
            args.extend(["-out", out]);
            ossl(d, &args);
        };
        topk8("p8_aes256.pem", &["-v2", "aes-256-cbc"]);
        topk8(
            "p8_aes128_sha1.pem",
            &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
        );
        topk8(
            "p8_aes192_sha512.pem",
            &["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512"],
        );
        topk8("p8_des3.pem", &["-v2", "des3"]);
        topk8("p8_scrypt.pem", &["-scrypt"]);
        let trad = |out: &str, cipher: &str| {
            ossl(
                d,
                &[
                    "ec", "-in", "sec1.pem", cipher, "-passout", &pass, "-out", out,
                ],
            );
        };
        trad("trad_aes256.pem", "-aes256");
        trad("trad_aes192.pem", "-aes192");
        trad("trad_aes128.pem", "-aes128");
        trad("trad_des3.pem", "-des3");
        ossl(
            d,
            &[
                "ec",
                "-in",
                "sec1.pem",
                "-conv_form",
                "compressed",
                "-out",
                "sec1_compressed.pem",
            ],
        );
        ossl(
            d,
            &[
                "ec",
                "-in",
                "sec1.pem",
                "-no_public",
                "-out",
                "sec1_nopub.pem",
            ],
        );
        ossl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "sec1.pem",
                "-out",
                "sec1_as_pkcs8.pem",
            ],
        );

        let sec1_text = read(d, "sec1_params.pem");
        assert!(String::from_utf8_lossy(&sec1_text).contains("BEGIN EC PARAMETERS"));

        for file in [
            "sec1.pem",
            "sec1_params.pem",
            "pkcs8.pem",
            "sec1_compressed.pem",
            "sec1_nopub.pem",
            "sec1_as_pkcs8.pem",
        ] {
            check_key_file(d, file, None, curve);
        }
        for file in [
            "p8_aes256.pem",
            "p8_aes128_sha1.pem",
            "p8_aes192_sha512.pem",
            "p8_des3.pem",
            "p8_scrypt.pem",
            "trad_aes256.pem",
            "trad_aes192.pem",
            "trad_aes128.pem",
            "trad_des3.pem",
        ] {
            check_key_file(d, file, Some(PASS), curve);
        }

        // Every form of the same key yields the same public key.
        let a = PrivateKey::from_pem(&read(d, "sec1.pem"), None).expect("sec1");
        for (file, pw) in [
            ("sec1_compressed.pem", None),
            ("sec1_nopub.pem", None),
            ("sec1_as_pkcs8.pem", None),
            ("trad_aes256.pem", Some(PASS.as_bytes())),
        ] {
            let b = PrivateKey::from_pem(&read(d, file), pw).expect(file);
            assert_eq!(a.public_key(), b.public_key(), "{file}");
        }
    }
}

#[test]
fn verifies_every_curve_hash_pair_signed_by_openssl() {
    require_openssl!();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    std::fs::write(d.join("msg"), MSG).expect("write");
    for (name, _, curve) in CURVES {
        ossl(
            d,
            &[
                "ecparam", "-name", name, "-genkey", "-noout", "-out", "k.pem",
            ],
        );
        ossl(d, &["ec", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
        let public = PublicKey::from_pem(&read(d, "pub.pem")).expect("pub");
        for hash in [SigHash::Sha256, SigHash::Sha384, SigHash::Sha512] {
            ossl(
                d,
                &[
                    "dgst",
                    dgst_flag(hash),
                    "-sign",
                    "k.pem",
                    "-out",
                    "sig",
                    "msg",
                ],
            );
            let sig = read(d, "sig");
            public
                .verify_with(MSG, &sig, hash)
                .unwrap_or_else(|e| panic!("{curve} {hash}: {e}"));
            let default = public.verify(MSG, &sig);
            assert_eq!(default.is_ok(), hash == curve.sig_hash(), "{curve} {hash}");
            for other in [SigHash::Sha256, SigHash::Sha384, SigHash::Sha512] {
                if other != hash {
                    assert!(public.verify_with(MSG, &sig, other).is_err());
                }
            }
        }
    }
}

#[test]
fn compressed_public_key_is_normalised_to_uncompressed() {
    require_openssl!();
    for (name, _, curve) in CURVES {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        ossl(
            d,
            &[
                "ecparam", "-name", name, "-genkey", "-noout", "-out", "k.pem",
            ],
        );
        ossl(d, &["ec", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
        ossl(
            d,
            &[
                "ec",
                "-in",
                "k.pem",
                "-pubout",
                "-conv_form",
                "compressed",
                "-out",
                "pubc.pem",
            ],
        );
        let full = PublicKey::from_pem(&read(d, "pub.pem")).expect("pub");
        let compressed = PublicKey::from_pem(&read(d, "pubc.pem")).expect("compressed pub");
        assert_ne!(read(d, "pub.pem"), read(d, "pubc.pem"));
        assert_eq!(compressed, full);
        assert_eq!(compressed.curve(), curve);
        assert_eq!(
            compressed.to_pem().as_bytes(),
            read(d, "pub.pem").as_slice()
        );
        assert_eq!(compressed.sec1_point().len(), 1 + 2 * curve.scalar_len());
    }
}

#[test]
fn rejects_other_key_types_with_a_clear_message() {
    require_openssl!();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let cases: [(&str, &[&str], &str); 6] = [
        (
            "k1.pem",
            &[
                "ecparam",
                "-name",
                "secp256k1",
                "-genkey",
                "-noout",
                "-out",
                "k1.pem",
            ],
            "EC secp256k1",
        ),
        (
            "bp.pem",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:brainpoolP256r1",
                "-out",
                "bp.pem",
            ],
            "EC brainpoolP256r1",
        ),
        (
            "rsa.pem",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
                "rsa.pem",
            ],
            "RSA",
        ),
        (
            "ed.pem",
            &["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"],
            "Ed25519",
        ),
        (
            "x.pem",
            &["genpkey", "-algorithm", "x25519", "-out", "x.pem"],
            "X25519",
        ),
        (
            "ec224.pem",
            &[
                "ecparam",
                "-name",
                "secp224r1",
                "-genkey",
                "-noout",
                "-out",
                "ec224.pem",
            ],
            "EC secp224r1 (P-224)",
        ),
    ];
    for (file, gen, what) in cases {
        ossl(d, gen);
        let expected = format!(
            "unsupported key type {what}: only EC P-256, P-384 and P-521 keys are supported"
        );
        let err = PrivateKey::from_pem(&read(d, file), None).expect_err(file);
        assert_eq!(err.to_string(), expected, "{file}");
        // The PKCS#8 form of SEC1 keys is refused the same way.
        ossl(d, &["pkey", "-in", file, "-out", "p8.pem"]);
        let err = PrivateKey::from_pem(&read(d, "p8.pem"), None).expect_err(file);
        assert_eq!(err.to_string(), expected, "{file} as PKCS#8");
        // ... and so is the public key.
        ossl(d, &["pkey", "-in", file, "-pubout", "-out", "pub.pem"]);
        let err = PublicKey::from_pem(&read(d, "pub.pem")).expect_err(file);
        assert_eq!(err.to_string(), expected, "{file} public");
    }

    ossl(
        d,
        &[
            "rsa",
            "-in",
            "rsa.pem",
            "-traditional",
            "-out",
            "rsa_trad.pem",
        ],
    );
    let err = PrivateKey::from_pem(&read(d, "rsa_trad.pem"), None).expect_err("rsa");
    assert!(
        matches!(&err, KeyError::UnsupportedKeyType(t) if t == "RSA"),
        "{err}"
    );
    ossl(
        d,
        &[
            "rsa",
            "-in",
            "rsa.pem",
            "-RSAPublicKey_out",
            "-out",
            "rsa_pub1.pem",
        ],
    );
    let err = PublicKey::from_pem(&read(d, "rsa_pub1.pem")).expect_err("rsa pub");
    assert!(
        matches!(&err, KeyError::UnsupportedKeyType(t) if t == "RSA"),
        "{err}"
    );

    ossl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "p256.pem",
        ],
    );
    ossl(
        d,
        &[
            "ec",
            "-in",
            "p256.pem",
            "-param_enc",
            "explicit",
            "-out",
            "explicit.pem",
        ],
    );
    let explicit_msg = "unsupported key type EC with explicit curve parameters: \
                        only EC P-256, P-384 and P-521 keys are supported";
    let err = PrivateKey::from_pem(&read(d, "explicit.pem"), None).expect_err("explicit");
    assert_eq!(err.to_string(), explicit_msg);
    ossl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "explicit.pem",
            "-out",
            "explicit8.pem",
        ],
    );
    let err = PrivateKey::from_pem(&read(d, "explicit8.pem"), None).expect_err("explicit");
    assert_eq!(err.to_string(), explicit_msg);
    ossl(
        d,
        &[
            "ec",
            "-in",
            "explicit.pem",
            "-pubout",
            "-out",
            "explicit_pub.pem",
        ],
    );
    let err = PublicKey::from_pem(&read(d, "explicit_pub.pem")).expect_err("explicit pub");
    assert_eq!(err.to_string(), explicit_msg);
}

/// A wrong password whose decryption passes the padding check must still read as a wrong
/// password. Chance makes that happen for about 1 in 256 wrong passwords, so the test builds
/// the case directly: non-DER bytes encrypted under the password that is then supplied.
#[test]
fn valid_padding_around_garbage_is_a_wrong_password() {
    use pkcs8::der::{pem::LineEnding, EncodePem};
    let scheme = pkcs8::pkcs5::EncryptionScheme::from(
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7; 16], &[9; 16])
            .expect("parameters"),
    );
    for garbage in [
        &b"not a key"[..],
        &[0x30, 0x82, 0xff, 0xff, 0x02][..],
        &[0x73; 48][..],
    ] {
        let ciphertext = scheme.encrypt(b"pw", garbage).expect("encrypt");
        let info = pkcs8::EncryptedPrivateKeyInfo {
            encryption_algorithm: scheme.clone(),
            encrypted_data: &ciphertext,
        };
        let pem = info.to_pem(LineEnding::LF).expect("pem");
        let err = PrivateKey::from_pem(pem.as_bytes(), Some(b"pw")).expect_err("garbage");
        assert!(matches!(err, KeyError::WrongPassword), "{garbage:?}: {err}");
    }
}

#[test]
fn password_errors() {
    require_openssl!();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let pass = format!("pass:{PASS}");
    ossl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "sec1.pem",
        ],
    );
    ossl(
        d,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-out", "p8.pem",
        ],
    );
    ossl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "sec1.pem",
            "-passout",
            &pass,
            "-out",
            "p8enc.pem",
        ],
    );
    ossl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "des3",
            "-in",
            "sec1.pem",
            "-passout",
            &pass,
            "-out",
            "p8des.pem",
        ],
    );
    ossl(
        d,
        &[
            "ec", "-in", "sec1.pem", "-aes256", "-passout", &pass, "-out", "trad.pem",
        ],
    );
    ossl(
        d,
        &[
            "ec",
            "-in",
            "sec1.pem",
            "-des3",
            "-passout",
            &pass,
            "-out",
            "trad_des.pem",
        ],
    );

    for file in ["p8enc.pem", "p8des.pem", "trad.pem", "trad_des.pem"] {
        let pem = read(d, file);
        let err = PrivateKey::from_pem(&pem, None).expect_err(file);
        assert!(matches!(err, KeyError::PasswordRequired), "{file}: {err}");
        assert_eq!(
            err.to_string(),
            "the private key is encrypted: a password is required"
        );
        // Many wrong passwords, so that decryptions that end in valid-looking padding by
        // chance are covered too.
        for i in 0..40 {
            let wrong = format!("wrong{i}");
            let err = PrivateKey::from_pem(&pem, Some(wrong.as_bytes())).expect_err(file);
            assert!(
                matches!(err, KeyError::WrongPassword),
                "{file} {wrong}: {err}"
            );
        }
        assert_eq!(
            KeyError::WrongPassword.to_string(),
            "wrong password or corrupt encrypted key"
        );
        let err = PrivateKey::from_pem(&pem, Some(b"")).expect_err(file);
        assert!(
            matches!(err, KeyError::WrongPassword),
            "{file} empty: {err}"
        );
        PrivateKey::from_pem(&pem, Some(PASS.as_bytes())).expect(file);
    }
    for file in ["sec1.pem", "p8.pem"] {
        let err = PrivateKey::from_pem(&read(d, file), Some(b"secret")).expect_err(file);
        assert!(matches!(err, KeyError::UnexpectedPassword), "{file}: {err}");
        assert_eq!(
            err.to_string(),
            "a password was given but the private key is not encrypted"
        );
    }

    // Encryption schemes we do not read are named in the error.
    ossl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v1",
            "PBE-SHA1-3DES",
            "-in",
            "sec1.pem",
            "-passout",
            &pass,
            "-out",
            "p12pbe.pem",
        ],
    );
    ossl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "camellia256",
            "-in",
            "sec1.pem",
            "-passout",
            &pass,
            "-out",
            "camellia.pem",
        ],
    );
    for (file, name) in [
        ("p12pbe.pem", "pbeWithSHAAnd3-KeyTripleDES-CBC"),
        ("camellia.pem", "1.2.392.200011.61.1.1.1.4"),
    ] {
        let pem = read(d, file);
        let err = PrivateKey::from_pem(&pem, None).expect_err(file);
        assert!(matches!(err, KeyError::PasswordRequired), "{file}: {err}");
        let err = PrivateKey::from_pem(&pem, Some(PASS.as_bytes())).expect_err(file);
        assert!(
            matches!(err, KeyError::UnsupportedEncryption(_)),
            "{file}: {err}"
        );
        assert!(err.to_string().contains(name), "{file}: {err}");
        assert_one_line(&err);
    }

    // A traditional PEM with a cipher we do not support names it.
    let trad = String::from_utf8(read(d, "trad.pem")).expect("utf8");
    let camellia = trad.replace("AES-256-CBC", "CAMELLIA-256-CBC");
    let err = PrivateKey::from_pem(camellia.as_bytes(), Some(b"secret")).expect_err("camellia");
    assert!(matches!(err, KeyError::UnsupportedEncryption(_)), "{err}");
    assert!(err.to_string().contains("CAMELLIA-256-CBC"), "{err}");
    let no_dek: String = trad
        .lines()
        .filter(|l| !l.starts_with("DEK-Info"))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = PrivateKey::from_pem(no_dek.as_bytes(), Some(b"secret")).expect_err("no dek");
    assert!(matches!(err, KeyError::MalformedPem(_)), "{err}");
}

#[test]
fn garbage_and_wrong_kinds_of_pem() {
    require_openssl!();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    ossl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "k.pem",
        ],
    );
    ossl(d, &["ec", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
    ossl(
        d,
        &[
            "req", "-x509", "-new", "-key", "k.pem", "-subj", "/CN=test", "-days", "1", "-out",
            "cert.pem",
        ],
    );
    let key = read(d, "k.pem");
    let public = read(d, "pub.pem");
    let cert = read(d, "cert.pem");

    let mut errors = Vec::new();
    for input in [
        &b""[..],
        b"hello world\n",
        b"\x30\x82\x01\x00\xff\xfe",
        b"-----END PRIVATE KEY-----\n",
    ] {
        let err = PrivateKey::from_pem(input, None).expect_err("garbage");
        assert!(matches!(err, KeyError::NoPem { .. }), "{input:?}: {err}");
        errors.push(err);
        let err = PublicKey::from_pem(input).expect_err("garbage");
        assert!(matches!(err, KeyError::NoPem { .. }), "{input:?}: {err}");
        errors.push(err);
    }

    for cut in [key.len() / 2, key.len() - 10, 40] {
        let err = PrivateKey::from_pem(&key[..cut], None).expect_err("truncated");
        assert!(matches!(err, KeyError::MalformedPem(_)), "cut {cut}: {err}");
        errors.push(err);
    }
    let err = PublicKey::from_pem(&public[..public.len() / 2]).expect_err("truncated pub");
    assert!(matches!(err, KeyError::MalformedPem(_)), "{err}");

    // Lines removed from the middle: still framed, but the DER is cut short.
    let text = String::from_utf8(key.clone()).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    let shortened = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[lines.len() - 1]);
    let err = PrivateKey::from_pem(shortened.as_bytes(), None).expect_err("short");
    assert!(
        matches!(err, KeyError::InvalidKey { .. } | KeyError::MalformedPem(_)),
        "{err}"
    );
    errors.push(err);

    let bad_b64 = text.replacen(&lines[1][..8], "!!!!!!!!", 1);
    let err = PrivateKey::from_pem(bad_b64.as_bytes(), None).expect_err("bad base64");
    assert!(matches!(err, KeyError::MalformedPem(_)), "{err}");
    errors.push(err);

    let err = PrivateKey::from_pem(
        b"-----BEGIN PRIVATE KEY-----\nAAAAAA==\n-----END PRIVATE KEY-----\n",
        None,
    )
    .expect_err("bad der");
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
    errors.push(err);
    let err = PrivateKey::from_pem(
        b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
        None,
    )
    .expect_err("bad der");
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
    let err = PublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n")
        .expect_err("bad der");
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");

    let err = PrivateKey::from_pem(&public, None).expect_err("public as private");
    assert!(
        matches!(&err, KeyError::WrongKind { found, .. } if found == "a public key"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "expected a private key, but the PEM data holds a public key"
    );
    errors.push(err);
    let err = PrivateKey::from_pem(&cert, None).expect_err("cert as private");
    assert!(
        matches!(&err, KeyError::WrongKind { found, .. } if found == "a certificate"),
        "{err}"
    );
    errors.push(err);
    let err = PublicKey::from_pem(&key).expect_err("private as public");
    assert!(
        matches!(&err, KeyError::WrongKind { found, .. } if found == "a private key"),
        "{err}"
    );
    errors.push(err);
    let err = PublicKey::from_pem(&cert).expect_err("cert as public");
    assert!(
        matches!(&err, KeyError::WrongKind { found, .. } if found == "a certificate"),
        "{err}"
    );
    errors.push(err);

    // A point that is not on the curve.
    let good = PublicKey::from_pem(&public).expect("pub");
    let mut bad = good.spki_der().to_vec();
    if let Some(last) = bad.last_mut() {
        *last ^= 1;
    }
    let err = PublicKey::from_spki_der(&bad).expect_err("off-curve point");
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
    errors.push(err);

    // Text around the block and extra blocks are ignored; the first PUBLIC KEY is used.
    let mut mixed = b"some text\n".to_vec();
    mixed.extend_from_slice(&cert);
    mixed.extend_from_slice(&public);
    assert_eq!(PublicKey::from_pem(&mixed).expect("mixed"), good);
    let mut mixed = b"Private-Key: (256 bit)\n".to_vec();
    mixed.extend_from_slice(&key);
    PrivateKey::from_pem(&mixed, None).expect("key after text");

    for e in &errors {
        assert_one_line(e);
    }
}

#[test]
fn generated_keys_round_trip() {
    for curve in Curve::ALL {
        let key = PrivateKey::generate(curve).expect("generate");
        let public = key.public_key();
        assert_eq!(public.curve(), curve);
        let sig = key.sign(MSG).expect("sign");
        public.verify(MSG, &sig).expect("verify");
        public
            .verify_with(MSG, &sig, curve.sig_hash())
            .expect("verify_with");
        assert!(matches!(
            public.verify(b"tampered", &sig),
            Err(KeyError::VerificationFailed)
        ));
        assert!(matches!(
            public.verify(MSG, b"not a signature"),
            Err(KeyError::VerificationFailed)
        ));
        assert!(matches!(
            public.verify(MSG, &[]),
            Err(KeyError::VerificationFailed)
        ));

        assert!(public.spki_der().starts_with(openssl_spki_prefix(curve)));
        assert_eq!(
            public.spki_der().len(),
            openssl_spki_prefix(curve).len() + public.sec1_point().len()
        );
        assert_eq!(
            PublicKey::from_spki_der(public.spki_der()).expect("spki"),
            public
        );
        assert_eq!(
            PublicKey::from_sec1_point(curve, public.sec1_point()).expect("point"),
            public
        );
        let pem = public.to_pem();
        assert_eq!(PublicKey::from_pem(pem.as_bytes()).expect("pem"), public);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
        let body: Vec<&str> = pem
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("-----"))
            .collect();
        for (i, line) in body.iter().enumerate() {
            assert!(
                line.len() == 64 || (i == body.len() - 1 && line.len() < 64),
                "{line}"
            );
        }
        assert_eq!(public.hint(), sha256_hex(pem.as_bytes()));
        assert_eq!(public.hint().len(), 64);
        assert!(format!("{key:?}").contains(&public.hint()));
    }
    assert_eq!(Curve::P384.to_string(), "P-384");
    assert_eq!(Curve::P521.sig_hash(), SigHash::Sha512);
    assert_eq!(SigHash::Sha384.to_string(), "SHA-384");
    assert_eq!(Curve::from_oid(&rfc5912::SECP_384_R_1), Some(Curve::P384));
    assert_eq!(Curve::from_oid(&SECP256K1), None);
}

#[test]
fn evp_bytes_to_key_matches_openssl() {
    // `openssl enc -aes-256-cbc -pass pass:secret -S 0102030405060708 -P -md md5` prints
    // key=C9E5...79AB and iv=E24B...D893: the first 48 bytes of the derivation.
    let out = evp_bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 48);
    assert_eq!(
        hex::encode_upper(out.as_slice()),
        "C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB\
         E24B32BBBC4EF02ECBCB6576523AD893"
    );
    assert_eq!(
        evp_bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 16).len(),
        16
    );
}

const PY_MAKE: &str = r#"
import sys
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s, hashes
d, msg = sys.argv[1], bytes.fromhex(sys.argv[2])
for name, c, h in [("P-256", ec.SECP256R1(), hashes.SHA256()),
                   ("P-384", ec.SECP384R1(), hashes.SHA384()),
                   ("P-521", ec.SECP521R1(), hashes.SHA512())]:
    k = ec.generate_private_key(c)
    def w(suffix, data):
        with open(f"{d}/{name}{suffix}", "wb") as f:
            f.write(data)
    w(".pub", k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
    enc = s.BestAvailableEncryption(b"secret")
    w("_pkcs8.pem", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
    w("_trad.pem", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()))
    w("_pkcs8_enc.pem", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, enc))
    w("_trad_enc.pem", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, enc))
    w(".pysig", k.sign(msg, ec.ECDSA(h)))
"#;

const PY_VERIFY: &str = r#"
import sys
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s, hashes
d, msg = sys.argv[1], bytes.fromhex(sys.argv[2])
for name, h in [("P-256", hashes.SHA256()), ("P-384", hashes.SHA384()), ("P-521", hashes.SHA512())]:
    pub = s.load_pem_public_key(open(f"{d}/{name}.pub", "rb").read())
    pub.verify(open(f"{d}/{name}.rssig", "rb").read(), msg, ec.ECDSA(h))
"#;

fn python_with_cryptography() -> bool {
    Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Interop with the Python `cryptography` package the reference implementation uses, when
/// it is installed: every key format it writes loads, public PEM/hint are identical, and
/// signatures verify both ways.
#[test]
fn interoperates_with_python_cryptography() {
    if !python_with_cryptography() {
        eprintln!("NOTE: python3 with `cryptography` is not available; skipping this test");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let dir = d.to_str().expect("utf8 tempdir");
    let msg_hex = hex::encode(MSG);
    let run = |script: &str| {
        let out = Command::new("python3")
            .args(["-c", script, dir, &msg_hex])
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(PY_MAKE);
    for curve in Curve::ALL {
        let name = curve.name();
        let pub_pem = read(d, &format!("{name}.pub"));
        let public = PublicKey::from_pem(&pub_pem).expect("python public key");
        assert_eq!(public.to_pem().as_bytes(), pub_pem.as_slice());
        assert_eq!(public.hint(), sha256_hex(&pub_pem));
        public
            .verify(MSG, &read(d, &format!("{name}.pysig")))
            .expect("verify python signature");
        for (suffix, pw) in [
            ("_pkcs8.pem", None),
            ("_trad.pem", None),
            ("_pkcs8_enc.pem", Some(PASS.as_bytes())),
            ("_trad_enc.pem", Some(PASS.as_bytes())),
        ] {
            let file = format!("{name}{suffix}");
            let key =
                PrivateKey::from_pem(&read(d, &file), pw).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(key.public_key(), public, "{file}");
            std::fs::write(
                d.join(format!("{name}.rssig")),
                key.sign(MSG).expect("sign"),
            )
            .expect("write sig");
        }
    }
    run(PY_VERIFY);
}

// ---- external vectors --------------------------------------------------------------

fn vectors_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors"
    ));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("MS_REQUIRE_VECTORS").as_deref() != Ok("1"),
        "MS_REQUIRE_VECTORS=1 but {} is missing",
        dir.display()
    );
    eprintln!(
        "NOTE: {} is missing; skipping the vector test",
        dir.display()
    );
    None
}

/// DSSE v1 pre-authentication encoding.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Python's `repr(bytes)` for data without both quote kinds: what model_signing v0.2 signed.
fn py_bytes_repr(data: &[u8]) -> String {
    let mut out = String::from("b'");
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

/// (payload type, payload, signature) of the single DSSE signature of a bundle.
fn bundle_dsse(path: &Path) -> (String, Vec<u8>, Vec<u8>, serde_json::Value) {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("read bundle")).expect("json");
    let env = &v["dsseEnvelope"];
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64
        .decode(env["payload"].as_str().expect("payload"))
        .expect("b64");
    let sig = b64
        .decode(env["signatures"][0]["sig"].as_str().expect("sig"))
        .expect("b64");
    let ty = env["payloadType"].as_str().expect("type").to_owned();
    (ty, payload, sig, v)
}

#[test]
fn external_vectors() {
    let Some(vectors) = vectors_dir() else { return };

    // model-transparency: P-384 SEC1 key with certtool text before the PEM block.
    let mt = vectors.join("model-transparency/scripts/tests");
    let keys = mt.join("keys/certificate");
    let private =
        PrivateKey::from_pem(&read(&keys, "signing-key.pem"), None).expect("signing-key.pem");
    assert_eq!(private.curve(), Curve::P384);
    let public =
        PublicKey::from_pem(&read(&keys, "signing-key-pub.pem")).expect("signing-key-pub.pem");
    assert_eq!(private.public_key(), public);
    let expected_hint = "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e";
    assert_eq!(public.hint(), expected_hint);
    // The hint is the SHA-256 of the bare PEM block of the key file.
    let text = String::from_utf8(read(&keys, "signing-key-pub.pem")).expect("utf8");
    let start = text.find("-----BEGIN PUBLIC KEY-----").expect("begin");
    assert_eq!(public.to_pem(), &text[start..]);

    for dir in [
        "v1.1.0-elliptic-key",
        "v1.0.1-elliptic-key",
        "v1.0.0-elliptic-key",
        "v0.3.1-elliptic-key",
    ] {
        let (ty, payload, sig, bundle) = bundle_dsse(&mt.join(dir).join("model.sig"));
        public
            .verify(&pae(&ty, &payload), &sig)
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        if dir == "v1.1.0-elliptic-key" {
            assert_eq!(
                bundle["verificationMaterial"]["publicKey"]["hint"],
                expected_hint
            );
        }
        assert!(public.verify(&pae(&ty, b"other"), &sig).is_err());
    }

    // v0.2.0 signed Python's repr of the payload, hashed with SHA-256 on a P-384 key.
    let (ty, payload, sig, _) = bundle_dsse(&mt.join("v0.2.0-certificate/model.sig"));
    let legacy = format!(
        "DSSEV1 {} {} {} {}",
        ty.len(),
        ty,
        payload.len(),
        py_bytes_repr(&payload)
    );
    public
        .verify_with(legacy.as_bytes(), &sig, SigHash::Sha256)
        .expect("v0.2.0 legacy signature");
    assert!(public.verify(legacy.as_bytes(), &sig).is_err());

    // RSA CA keys in the same directory are refused by name.
    for f in ["ca-priv.pem", "int-ca-priv.pem"] {
        let err = PrivateKey::from_pem(&read(&keys, f), None).expect_err(f);
        assert!(
            matches!(&err, KeyError::UnsupportedKeyType(t) if t == "RSA"),
            "{f}: {err}"
        );
    }

    // model-signing-peer: P-256 keys made by model-signing 1.1.1.
    let peer = vectors.join("model-signing-peer");
    let pki = peer.join("pki");
    let private = PrivateKey::from_pem(&read(&pki, "signing-key.pem"), None).expect("peer key");
    assert_eq!(private.curve(), Curve::P256);
    let pub_pem = read(&pki, "signing-key-pub.pem");
    let public = PublicKey::from_pem(&pub_pem).expect("peer pub");
    assert_eq!(private.public_key(), public);
    for f in ["root-key.pem", "int-key.pem"] {
        PrivateKey::from_pem(&read(&pki, f), None)
            .map(|_| ())
            .or_else(|e| match e {
                KeyError::UnsupportedKeyType(_) => Ok(()),
                other => Err(other),
            })
            .unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let sigs = peer.join("sigs");
    for name in [
        "key-files-sha256.sig",
        "key-shard-blake2.sig",
        "key-files-blake3.sig",
    ] {
        let (ty, payload, sig, bundle) = bundle_dsse(&sigs.join(name));
        public
            .verify(&pae(&ty, &payload), &sig)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let hint = bundle["verificationMaterial"]["publicKey"]["hint"]
            .as_str()
            .map(str::to_owned);
        if let Some(hint) = hint {
            assert_eq!(hint, public.hint(), "{name}");
        }
    }
}

/// The DER of a `SubjectPublicKeyInfo` up to the point bytes, as `openssl ec -pubout` writes it.
fn openssl_spki_prefix(curve: Curve) -> &'static [u8] {
    match curve {
        // SEQUENCE(89) { SEQUENCE(19) { id-ecPublicKey, prime256v1 }, BIT STRING(66) 00 }
        Curve::P256 => &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ],
        // SEQUENCE(118) { SEQUENCE(16) { id-ecPublicKey, secp384r1 }, BIT STRING(98) 00 }
        Curve::P384 => &[
            0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
        ],
        // SEQUENCE(155) { SEQUENCE(16) { id-ecPublicKey, secp521r1 }, BIT STRING(134) 00 }
        Curve::P521 => &[
            0x30, 0x81, 0x9b, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
            0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23, 0x03, 0x81, 0x86, 0x00,
        ],
    }
}
