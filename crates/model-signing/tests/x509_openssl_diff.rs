//! Differential test of `x509::validate_chain` against `openssl verify`.
//!
//! Chains are generated with the `openssl` CLI (`openssl ca`, so that notBefore / notAfter can be
//! chosen freely) in a temporary directory, varying key types, signature algorithms, the number of
//! intermediates, basicConstraints / keyUsage / pathLenConstraint, validity periods, anchors, wrong
//! issuer keys, critical extensions and name constraints. For every case the result of
//! `validate_chain(leaf, intermediates, anchors, at)` must agree with the exit status of
//! `openssl verify -CAfile anchors -untrusted intermediates -attime at leaf`, which runs
//! `X509_verify_cert` with the same default flags as the Python reference's pyOpenSSL store.
//!
//! Skipped (with a note) when no `openssl` binary is available, unless `MS_REQUIRE_OPENSSL=1`.

use model_signing::x509::{format_time, parse_pem_certificates, validate_chain, Certificate};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: i64 = 86_400;

struct Lab {
    dir: tempfile::TempDir,
    now: i64,
    counter: usize,
    cases: Vec<Case>,
}

#[derive(Clone)]
struct Issued {
    pem: PathBuf,
    key: PathBuf,
}

struct Spec<'a> {
    subj: &'a str,
    key: &'a Path,
    /// `None`: self-signed.
    issuer: Option<&'a Issued>,
    /// Extension section body; empty for a v1 certificate.
    ext: &'a str,
    /// Extra config sections referenced from `ext` (e.g. a dirName section).
    ext_sections: &'a str,
    /// Validity, in seconds relative to `now`.
    start: i64,
    end: i64,
    md: &'a str,
    sigopts: &'a [&'a str],
}

impl<'a> Spec<'a> {
    fn new(subj: &'a str, key: &'a Path, issuer: Option<&'a Issued>, ext: &'a str) -> Self {
        Spec {
            subj,
            key,
            issuer,
            ext,
            ext_sections: "",
            start: -100 * DAY,
            end: 300 * DAY,
            md: "sha256",
            sigopts: &[],
        }
    }

    fn sections(mut self, sections: &'a str) -> Self {
        self.ext_sections = sections;
        self
    }

    fn valid(mut self, start: i64, end: i64) -> Self {
        self.start = start;
        self.end = end;
        self
    }

    fn md(mut self, md: &'a str) -> Self {
        self.md = md;
        self
    }

    fn sigopts(mut self, sigopts: &'a [&'a str]) -> Self {
        self.sigopts = sigopts;
        self
    }
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
/// For leaves under issuers without a subjectKeyIdentifier (openssl cannot make an AKID keyid).
const LEAF_EXT_NOKID: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n";
const LEAF_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

impl Lab {
    fn new() -> Option<Lab> {
        let available = Command::new("openssl")
            .arg("version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !available {
            if std::env::var("MS_REQUIRE_OPENSSL").as_deref() == Ok("1") {
                panic!("openssl CLI not available");
            }
            eprintln!("note: skipping differential test, no openssl CLI");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("newcerts")).expect("mkdir");
        std::fs::write(d.join("index.txt"), "").expect("index");
        std::fs::write(d.join("serial"), "1000\n").expect("serial");
        let config = format!(
            "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndir = {}\ndatabase = $dir/index.txt\n\
             new_certs_dir = $dir/newcerts\nserial = $dir/serial\ndefault_md = sha256\n\
             policy = policy_any\nunique_subject = no\ncopy_extensions = none\n\
             [ policy_any ]\norganizationName = optional\ncommonName = optional\nemailAddress = optional\n",
            d.display()
        );
        std::fs::write(d.join("ca.cnf"), config).expect("config");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        Some(Lab {
            dir,
            now,
            counter: 0,
            cases: Vec::new(),
        })
    }

    fn fresh(&mut self, stem: &str) -> PathBuf {
        self.counter += 1;
        self.dir.path().join(format!("{:03}-{stem}", self.counter))
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn key(&mut self, kind: &str) -> PathBuf {
        let path = self.fresh(&format!("{kind}.key"));
        let p = path.to_str().expect("utf-8 path");
        let mut args = vec!["genpkey", "-out", p];
        match kind {
            "p256" => args.extend(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            "p384" => args.extend(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
            "p521" => args.extend(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]),
            "p256-explicit" => args.extend([
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-pkeyopt",
                "ec_param_enc:explicit",
            ]),
            "rsa2048" => args.extend(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
            "ed25519" => args.extend(["-algorithm", "ED25519"]),
            other => panic!("unknown key kind {other}"),
        }
        self.openssl(&args);
        path
    }

    fn date(&self, offset: i64) -> String {
        let t = UNIX_EPOCH + Duration::from_secs((self.now + offset) as u64);
        format_time(t)
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            + "Z"
    }

    fn cert(&mut self, spec: Spec<'_>) -> Issued {
        let csr = self.fresh("req.csr");
        let pem = self.fresh("cert.pem");
        let extfile = self.fresh("cert.ext");
        let (csr_s, pem_s, ext_s) = (
            csr.to_str().expect("path"),
            pem.to_str().expect("path"),
            extfile.to_str().expect("path"),
        );
        let key_s = spec.key.to_str().expect("path");
        self.openssl(&[
            "req", "-new", "-key", key_s, "-subj", spec.subj, "-out", csr_s,
        ]);
        let (start, end) = (self.date(spec.start), self.date(spec.end));
        let mut args: Vec<&str> = vec![
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-notext",
            "-preserveDN",
            "-in",
            csr_s,
            "-out",
            pem_s,
            "-startdate",
            &start,
            "-enddate",
            &end,
            "-md",
            spec.md,
        ];
        let issuer_cert;
        let issuer_key;
        match spec.issuer {
            None => args.extend(["-selfsign", "-keyfile", key_s]),
            Some(i) => {
                issuer_cert = i.pem.to_str().expect("path").to_string();
                issuer_key = i.key.to_str().expect("path").to_string();
                args.extend(["-cert", &issuer_cert, "-keyfile", &issuer_key]);
            }
        }
        if !spec.ext.is_empty() {
            std::fs::write(
                &extfile,
                format!("[ext]\n{}{}", spec.ext, spec.ext_sections),
            )
            .expect("write ext");
            args.extend(["-extfile", ext_s, "-extensions", "ext"]);
        }
        for opt in spec.sigopts {
            args.extend(["-sigopt", opt]);
        }
        self.openssl(&args);
        Issued {
            pem,
            key: spec.key.to_path_buf(),
        }
    }

    /// A CA certificate issued by `issuer` (or self-signed), valid for a year around now.
    /// A certificate issued by `issuer` (or self-signed), valid from 100 days ago for 400 days.
    fn ca(&mut self, subj: &str, key: &Path, issuer: Option<&Issued>, ext: &str) -> Issued {
        self.cert(Spec::new(subj, key, issuer, ext))
    }

    fn load(&self, issued: &Issued) -> Certificate {
        let bytes = std::fs::read(&issued.pem).expect("read cert");
        let mut certs = parse_pem_certificates(&bytes).expect("parse generated cert");
        assert_eq!(certs.len(), 1);
        certs.remove(0)
    }

    fn bundle(&mut self, stem: &str, certs: &[&Issued]) -> PathBuf {
        let path = self.fresh(stem);
        let mut text = Vec::new();
        for c in certs {
            text.extend(std::fs::read(&c.pem).expect("read"));
        }
        std::fs::write(&path, text).expect("write bundle");
        path
    }
}

struct Case {
    name: String,
    ours: Result<(), String>,
    openssl: Result<(), String>,
}

impl Lab {
    /// Runs one case through both verifiers and records the outcomes.
    fn check(&mut self, name: &str, leaf: &Issued, ints: &[&Issued], anchors: &[&Issued], at: i64) {
        let leaf_cert = self.load(leaf);
        let int_certs: Vec<Certificate> = ints.iter().map(|c| self.load(c)).collect();
        let anchor_certs: Vec<Certificate> = anchors.iter().map(|c| self.load(c)).collect();
        let at_time = UNIX_EPOCH + Duration::from_secs(at as u64);
        let ours = validate_chain(&leaf_cert, &int_certs, &anchor_certs, at_time)
            .map_err(|e| e.to_string());

        let anchors_pem = self.bundle("anchors.pem", anchors);
        let at_s = at.to_string();
        let mut cmd = Command::new("openssl");
        cmd.args([
            "verify",
            "-no-CApath",
            "-no-CAstore",
            "-attime",
            &at_s,
            "-CAfile",
        ])
        .arg(&anchors_pem);
        if !ints.is_empty() {
            let ints_pem = self.bundle("untrusted.pem", ints);
            cmd.arg("-untrusted").arg(ints_pem);
        }
        cmd.arg(&leaf.pem);
        let out = cmd.output().expect("run openssl verify");
        let openssl = if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let line = err
                .lines()
                .find(|l| l.contains("error ") && l.contains("lookup"))
                .or_else(|| err.lines().last())
                .unwrap_or("failed")
                .to_string();
            Err(line)
        };
        self.cases.push(Case {
            name: name.to_string(),
            ours,
            openssl,
        });
    }
}

#[test]
fn validate_chain_agrees_with_openssl_verify() {
    let Some(mut lab) = Lab::new() else { return };
    let started = std::time::Instant::now();
    let now = lab.now;

    // ---- keys ----
    let k_root = lab.key("p256");
    let k_int = lab.key("p256");
    let k_int2 = lab.key("p256");
    let k_leaf = lab.key("p256");
    let k_other = lab.key("p256");
    let k_p384 = lab.key("p384");
    let k_p384b = lab.key("p384");
    let k_p521 = lab.key("p521");
    let k_p521b = lab.key("p521");
    let k_rsa = lab.key("rsa2048");
    let k_rsa2 = lab.key("rsa2048");
    let k_ed = lab.key("ed25519");
    let k_explicit = lab.key("p256-explicit");

    // ---- the base P-256 PKI ----
    let root = lab.ca("/CN=Diff Root", &k_root, None, CA_EXT);
    let int = lab.ca("/CN=Diff Int", &k_int, Some(&root), CA_EXT);
    let leaf = lab.ca("/CN=Diff Leaf", &k_leaf, Some(&int), LEAF_EXT);
    lab.check("p256 root>int>leaf", &leaf, &[&int], &[&root], now);
    lab.check("anchor = intermediate only", &leaf, &[], &[&int], now);
    lab.check(
        "anchor = intermediate, int also untrusted",
        &leaf,
        &[&int],
        &[&int],
        now,
    );
    lab.check(
        "anchors = root + int, nothing untrusted",
        &leaf,
        &[],
        &[&root, &int],
        now,
    );
    lab.check(
        "root also in untrusted list",
        &leaf,
        &[&int, &root],
        &[&root],
        now,
    );
    lab.check("intermediate missing", &leaf, &[], &[&root], now);
    let unrelated = lab.ca("/CN=Unrelated Root", &k_other, None, CA_EXT);
    lab.check(
        "anchor = unrelated root",
        &leaf,
        &[&int],
        &[&unrelated],
        now,
    );
    lab.check(
        "anchors = unrelated + root",
        &leaf,
        &[&int],
        &[&unrelated, &root],
        now,
    );
    lab.check("root as leaf, trusted", &root, &[], &[&root], now);
    lab.check(
        "root only untrusted (leaf=int)",
        &int,
        &[&root],
        &[&unrelated],
        now,
    );

    // The fingerprint format is OpenSSL's.
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&root.pem)
        .output()
        .expect("openssl x509");
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = text.trim().split('=').nth(1).expect("fingerprint line");
    assert_eq!(lab.load(&root).fingerprint(), expected);

    // ---- validity boundaries (leaf valid [now-100d, now+300d)) ----
    let leaf_c = lab.load(&leaf);
    let (nb, na) = leaf_c.validity();
    let nb = nb.duration_since(UNIX_EPOCH).expect("nb").as_secs() as i64;
    let na = na.duration_since(UNIX_EPOCH).expect("na").as_secs() as i64;
    lab.check("at = notBefore", &leaf, &[&int], &[&root], nb);
    lab.check("at = notBefore - 1", &leaf, &[&int], &[&root], nb - 1);
    lab.check("at = notAfter - 1", &leaf, &[&int], &[&root], na - 1);
    lab.check("at = notAfter", &leaf, &[&int], &[&root], na);

    // ---- curves and signature algorithms ----
    let r384 = lab.cert(Spec::new("/CN=R384", &k_p384, None, CA_EXT).md("sha384"));
    let i384 = lab.cert(Spec::new("/CN=I384", &k_p384b, Some(&r384), CA_EXT).md("sha384"));
    let l384 = lab.cert(Spec::new("/CN=L384", &k_leaf, Some(&i384), LEAF_EXT).md("sha512"));
    lab.check(
        "P-384 sha384, leaf sig sha512",
        &l384,
        &[&i384],
        &[&r384],
        now,
    );
    let r521 = lab.cert(Spec::new("/CN=R521", &k_p521, None, CA_EXT).md("sha512"));
    let i521 = lab.cert(Spec::new("/CN=I521", &k_p521b, Some(&r521), CA_EXT));
    let l521 = lab.cert(Spec::new("/CN=L521", &k_p384, Some(&i521), LEAF_EXT).md("sha384"));
    lab.check("P-521 sha512/sha256/sha384", &l521, &[&i521], &[&r521], now);
    let rrsa = lab.ca("/CN=RSA Root", &k_rsa, None, CA_EXT);
    let irsa = lab.ca("/CN=RSA Int", &k_rsa2, Some(&rrsa), CA_EXT);
    let lrsa = lab.cert(Spec::new("/CN=RSA Leaf", &k_p384, Some(&irsa), LEAF_EXT).md("sha512"));
    lab.check(
        "RSA root>RSA int>P-384 leaf (sha256/sha512)",
        &lrsa,
        &[&irsa],
        &[&rrsa],
        now,
    );
    let lrsa384 =
        lab.cert(Spec::new("/CN=RSA Leaf 384", &k_leaf, Some(&irsa), LEAF_EXT).md("sha384"));
    lab.check("RSA PKCS#1 sha384", &lrsa384, &[&irsa], &[&rrsa], now);
    let ipss = lab.cert(
        Spec::new("/CN=PSS Int", &k_int, Some(&rrsa), CA_EXT)
            .sigopts(&["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"]),
    );
    let lpss = lab.cert(Spec::new("/CN=PSS Leaf", &k_leaf, Some(&ipss), LEAF_EXT));
    lab.check("RSASSA-PSS sha256 int", &lpss, &[&ipss], &[&rrsa], now);
    let red = lab.cert(Spec::new("/CN=Ed Root", &k_ed, None, CA_EXT).md("default"));
    let ied = lab.cert(Spec::new("/CN=Ed Int", &k_int, Some(&red), CA_EXT).md("default"));
    let led = lab.ca("/CN=Ed Leaf", &k_leaf, Some(&ied), LEAF_EXT);
    lab.check("Ed25519 root", &led, &[&ied], &[&red], now);

    // ---- depth and CA rules ----
    let direct = lab.ca("/CN=Direct Leaf", &k_leaf, Some(&root), LEAF_EXT);
    lab.check("0 intermediates", &direct, &[], &[&root], now);
    let int2 = lab.ca("/CN=Diff Int2", &k_int2, Some(&int), CA_EXT);
    let leaf2 = lab.ca("/CN=Deep Leaf", &k_leaf, Some(&int2), LEAF_EXT);
    lab.check("2 intermediates", &leaf2, &[&int2, &int], &[&root], now);
    lab.check(
        "2 intermediates, reversed order",
        &leaf2,
        &[&int, &int2],
        &[&root],
        now,
    );
    let pl0 = lab.ca(
        "/CN=PL0 Int",
        &k_int,
        Some(&root),
        &CA_EXT.replace("CA:TRUE", "CA:TRUE,pathlen:0"),
    );
    let pl0_sub = lab.ca("/CN=PL0 Sub", &k_int2, Some(&pl0), CA_EXT);
    let pl0_leaf = lab.ca("/CN=PL0 Leaf", &k_leaf, Some(&pl0_sub), LEAF_EXT);
    lab.check(
        "pathlen:0 int with CA below",
        &pl0_leaf,
        &[&pl0_sub, &pl0],
        &[&root],
        now,
    );
    let pl0_direct = lab.ca("/CN=PL0 Direct Leaf", &k_leaf, Some(&pl0), LEAF_EXT);
    lab.check(
        "pathlen:0 int issuing leaf",
        &pl0_direct,
        &[&pl0],
        &[&root],
        now,
    );
    let pl1 = lab.ca(
        "/CN=PL1 Int",
        &k_int,
        Some(&root),
        &CA_EXT.replace("CA:TRUE", "CA:TRUE,pathlen:1"),
    );
    let pl1_sub = lab.ca("/CN=PL1 Sub", &k_int2, Some(&pl1), CA_EXT);
    let pl1_leaf = lab.ca("/CN=PL1 Leaf", &k_leaf, Some(&pl1_sub), LEAF_EXT);
    lab.check(
        "pathlen:1 int with one CA below",
        &pl1_leaf,
        &[&pl1_sub, &pl1],
        &[&root],
        now,
    );
    let root_pl0 = lab.ca(
        "/CN=Root PL0",
        &k_root,
        None,
        &CA_EXT.replace("CA:TRUE", "CA:TRUE,pathlen:0"),
    );
    let rpl0_int = lab.ca("/CN=RPL0 Int", &k_int, Some(&root_pl0), CA_EXT);
    let rpl0_leaf = lab.ca("/CN=RPL0 Leaf", &k_leaf, Some(&rpl0_int), LEAF_EXT);
    lab.check(
        "root pathlen:0 with an intermediate",
        &rpl0_leaf,
        &[&rpl0_int],
        &[&root_pl0],
        now,
    );
    let rpl0_direct = lab.ca("/CN=RPL0 Direct", &k_leaf, Some(&root_pl0), LEAF_EXT);
    lab.check(
        "root pathlen:0 issuing leaf",
        &rpl0_direct,
        &[],
        &[&root_pl0],
        now,
    );

    let int_variants: [(&str, &str); 5] = [
        (
            "int CA:FALSE",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign\n",
        ),
        (
            "int without basicConstraints (KU keyCertSign)",
            "keyUsage=critical,keyCertSign\nsubjectKeyIdentifier=hash\n",
        ),
        (
            "int CA:TRUE, KU digitalSignature only",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
        ),
        (
            "int CA:TRUE without keyUsage",
            "basicConstraints=critical,CA:TRUE\n",
        ),
        ("int with no extensions (v1)", ""),
    ];
    for (label, ext) in int_variants {
        let i = lab.ca("/CN=Variant Int", &k_int, Some(&root), ext);
        let l = lab.ca("/CN=Variant Leaf", &k_leaf, Some(&i), LEAF_EXT_NOKID);
        lab.check(label, &l, &[&i], &[&root], now);
    }
    let root_variants: [(&str, &str); 5] = [
        (
            "root KU without keyCertSign",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
        ),
        (
            "root without BC, KU keyCertSign",
            "keyUsage=critical,keyCertSign\n",
        ),
        ("root v1 (no extensions)", ""),
        ("root v3 without BC or KU", "subjectKeyIdentifier=hash\n"),
        ("root CA:FALSE", "basicConstraints=critical,CA:FALSE\n"),
    ];
    for (label, ext) in root_variants {
        let r = lab.ca("/CN=Variant Root", &k_root, None, ext);
        let l = lab.ca("/CN=Variant Direct Leaf", &k_leaf, Some(&r), LEAF_EXT_NOKID);
        lab.check(label, &l, &[], &[&r], now);
    }
    let v1_leaf_root = lab.ca("/CN=V1 Selfsigned", &k_leaf, None, "");
    lab.check(
        "v1 self-signed leaf, trusted",
        &v1_leaf_root,
        &[],
        &[&v1_leaf_root],
        now,
    );

    // ---- wrong keys ----
    let fake_int = lab.ca("/CN=Diff Int", &k_other, Some(&root), CA_EXT);
    let wrong_leaf = lab.ca("/CN=Wrong Leaf", &k_leaf, Some(&fake_int), LEAF_EXT);
    lab.check(
        "leaf signed by look-alike int (AKID)",
        &wrong_leaf,
        &[&int],
        &[&root],
        now,
    );
    // openssl 3.0 adds key identifiers by default; "none" suppresses them.
    let no_kid = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n";
    let leaf_no_kid = "keyUsage=critical,digitalSignature\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n";
    let plain_int = lab.ca("/CN=Plain Int", &k_int, Some(&root), no_kid);
    let fake_plain = lab.ca("/CN=Plain Int", &k_other, Some(&root), no_kid);
    let wrong_plain = lab.ca(
        "/CN=Wrong Plain Leaf",
        &k_leaf,
        Some(&fake_plain),
        leaf_no_kid,
    );
    lab.check(
        "leaf signed by look-alike int (no AKID)",
        &wrong_plain,
        &[&plain_int],
        &[&root],
        now,
    );
    lab.check(
        "look-alike int itself in chain",
        &wrong_plain,
        &[&fake_plain],
        &[&root],
        now,
    );
    let fake_root = lab.ca("/CN=Diff Root", &k_other, None, CA_EXT);
    lab.check(
        "anchor = look-alike root",
        &leaf,
        &[&int],
        &[&fake_root],
        now,
    );

    // ---- validity of each level ----
    let exp_int =
        lab.cert(Spec::new("/CN=Expired Int", &k_int, Some(&root), CA_EXT).valid(-100 * DAY, -DAY));
    let exp_int_leaf = lab.cert(
        Spec::new("/CN=Under Expired", &k_leaf, Some(&exp_int), LEAF_EXT)
            .valid(-50 * DAY, 100 * DAY),
    );
    lab.check(
        "expired intermediate",
        &exp_int_leaf,
        &[&exp_int],
        &[&root],
        now,
    );
    lab.check(
        "expired intermediate, at its notBefore",
        &exp_int_leaf,
        &[&exp_int],
        &[&root],
        now - 50 * DAY,
    );
    let exp_leaf = lab
        .cert(Spec::new("/CN=Expired Leaf", &k_leaf, Some(&int), LEAF_EXT).valid(-30 * DAY, -DAY));
    lab.check("expired leaf", &exp_leaf, &[&int], &[&root], now);
    lab.check(
        "expired leaf at its notBefore",
        &exp_leaf,
        &[&int],
        &[&root],
        now - 30 * DAY,
    );
    let future_leaf = lab.cert(
        Spec::new("/CN=Future Leaf", &k_leaf, Some(&int), LEAF_EXT).valid(10 * DAY, 100 * DAY),
    );
    lab.check("not-yet-valid leaf", &future_leaf, &[&int], &[&root], now);
    let future_int = lab
        .cert(Spec::new("/CN=Future Int", &k_int, Some(&root), CA_EXT).valid(10 * DAY, 100 * DAY));
    let under_future = lab.ca("/CN=Under Future", &k_leaf, Some(&future_int), LEAF_EXT);
    lab.check(
        "not-yet-valid intermediate",
        &under_future,
        &[&future_int],
        &[&root],
        now,
    );
    let old_root =
        lab.cert(Spec::new("/CN=Old Root", &k_root, None, CA_EXT).valid(-100 * DAY, -DAY));
    let under_old = lab.ca("/CN=Under Old Root", &k_leaf, Some(&old_root), LEAF_EXT);
    lab.check("expired root", &under_old, &[], &[&old_root], now);
    // Same name and key, one expired and one valid root: OpenSSL prefers the valid one.
    let renewed_root =
        lab.cert(Spec::new("/CN=Old Root", &k_root, None, CA_EXT).valid(-DAY, 100 * DAY));
    lab.check(
        "expired + renewed root (same key)",
        &under_old,
        &[],
        &[&old_root, &renewed_root],
        now,
    );

    // ---- extensions ----
    let ext_cases: [(&str, String); 6] = [
        (
            "leaf unknown critical extension",
            format!("{LEAF_EXT}1.2.3.4=critical,ASN1:NULL\n"),
        ),
        (
            "leaf unknown non-critical extension",
            format!("{LEAF_EXT}1.2.3.4=ASN1:NULL\n"),
        ),
        (
            "leaf critical subjectKeyIdentifier",
            LEAF_EXT.replace(
                "subjectKeyIdentifier=hash",
                "subjectKeyIdentifier=critical,hash",
            ),
        ),
        (
            "leaf critical certificatePolicies",
            format!("{LEAF_EXT}certificatePolicies=critical,1.2.3.4\n"),
        ),
        (
            "leaf critical subjectAltName",
            format!("{LEAF_EXT}subjectAltName=critical,email:a@example.com\n"),
        ),
        (
            "leaf without KU/EKU",
            "basicConstraints=critical,CA:FALSE\n".to_string(),
        ),
    ];
    for (label, ext) in &ext_cases {
        let l = lab.ca("/CN=Ext Leaf", &k_leaf, Some(&int), ext);
        lab.check(label, &l, &[&int], &[&root], now);
    }
    let crit_int = lab.ca(
        "/CN=Crit Int",
        &k_int,
        Some(&root),
        &format!("{CA_EXT}1.2.3.4=critical,ASN1:NULL\n"),
    );
    let under_crit = lab.ca("/CN=Under Crit", &k_leaf, Some(&crit_int), LEAF_EXT);
    lab.check(
        "int unknown critical extension",
        &under_crit,
        &[&crit_int],
        &[&root],
        now,
    );

    // ---- self-issued and self-signed leaves ----
    let self_issued = lab.ca(
        "/CN=Diff Int",
        &k_leaf,
        Some(&int),
        &LEAF_EXT.replace("CA:FALSE", "CA:TRUE"),
    );
    lab.check(
        "self-issued CA leaf with AKID (model-transparency style)",
        &self_issued,
        &[&int],
        &[&root],
        now,
    );
    let self_issued_nokid = lab.ca("/CN=Plain Int", &k_leaf, Some(&plain_int), leaf_no_kid);
    lab.check(
        "self-issued leaf, no key ids, same key type",
        &self_issued_nokid,
        &[&plain_int],
        &[&root],
        now,
    );
    let rsa_plain = lab.ca("/CN=RSA Plain", &k_rsa2, Some(&rrsa), no_kid);
    let self_issued_rsa = lab.ca("/CN=RSA Plain", &k_leaf, Some(&rsa_plain), leaf_no_kid);
    lab.check(
        "self-issued EC leaf under RSA int, no key ids",
        &self_issued_rsa,
        &[&rsa_plain],
        &[&rrsa],
        now,
    );
    let ss_leaf = lab.ca("/CN=Self Signed Leaf", &k_leaf, None, LEAF_EXT);
    lab.check("self-signed leaf, trusted", &ss_leaf, &[], &[&ss_leaf], now);
    lab.check(
        "self-signed leaf, not trusted",
        &ss_leaf,
        &[&ss_leaf],
        &[&root],
        now,
    );

    // ---- explicit EC parameters ----
    let explicit_leaf = lab.ca("/CN=Explicit Leaf", &k_explicit, Some(&int), LEAF_EXT);
    lab.check(
        "leaf with explicit EC parameters",
        &explicit_leaf,
        &[&int],
        &[&root],
        now,
    );

    // ---- name constraints ----
    let nc_cases: [(&str, &str, &str, &str, &str); 9] = [
        (
            "NC DNS permitted, SAN inside",
            "permitted;DNS:example.com",
            "",
            "/CN=nc leaf",
            "subjectAltName=DNS:a.example.com\n",
        ),
        (
            "NC DNS permitted, SAN outside",
            "permitted;DNS:example.com",
            "",
            "/CN=nc leaf",
            "subjectAltName=DNS:a.example.org\n",
        ),
        (
            "NC DNS excluded, SAN inside excluded",
            "excluded;DNS:evil.com",
            "",
            "/CN=nc leaf",
            "subjectAltName=DNS:www.evil.com\n",
        ),
        (
            "NC DNS permitted, no SAN, CN host name outside",
            "permitted;DNS:example.com",
            "",
            "/CN=host.example.org",
            "",
        ),
        (
            "NC DNS permitted, no SAN, CN not a host name",
            "permitted;DNS:example.com",
            "",
            "/CN=model signer",
            "",
        ),
        (
            "NC email permitted, SAN inside",
            "permitted;email:example.com",
            "",
            "/CN=nc leaf",
            "subjectAltName=email:dev@example.com\n",
        ),
        (
            "NC email permitted, SAN outside",
            "permitted;email:example.com",
            "",
            "/CN=nc leaf",
            "subjectAltName=email:dev@example.org\n",
        ),
        (
            "NC dirName permitted, subject inside",
            "permitted;dirName:dir_sect",
            "[dir_sect]\nO=Good Org\n",
            "/O=good   org/CN=nc leaf",
            "",
        ),
        (
            "NC dirName permitted, subject outside",
            "permitted;dirName:dir_sect",
            "[dir_sect]\nO=Good Org\n",
            "/O=Bad Org/CN=nc leaf",
            "",
        ),
    ];
    for (label, constraint, sections, leaf_subj, leaf_ext) in nc_cases {
        let i = lab.cert(
            Spec::new(
                "/CN=NC Int",
                &k_int,
                Some(&root),
                &format!("{CA_EXT}nameConstraints=critical,{constraint}\n"),
            )
            .sections(sections),
        );
        let l = lab.ca(
            leaf_subj,
            &k_leaf,
            Some(&i),
            &format!("{LEAF_EXT}{leaf_ext}"),
        );
        lab.check(label, &l, &[&i], &[&root], now);
    }

    // ---- more signature variants ----
    let pss_max = lab.cert(
        Spec::new("/CN=PSS Max Int", &k_int, Some(&rrsa), CA_EXT)
            .sigopts(&["rsa_padding_mode:pss"]),
    );
    let under_pss_max = lab.ca("/CN=Under PSS Max", &k_leaf, Some(&pss_max), LEAF_EXT);
    lab.check(
        "RSASSA-PSS default (maximal) salt",
        &under_pss_max,
        &[&pss_max],
        &[&rrsa],
        now,
    );
    let pss384 = lab.cert(
        Spec::new("/CN=PSS384 Int", &k_int, Some(&rrsa), CA_EXT)
            .md("sha384")
            .sigopts(&["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"]),
    );
    let under_pss384 = lab.ca("/CN=Under PSS384", &k_leaf, Some(&pss384), LEAF_EXT);
    lab.check(
        "RSASSA-PSS sha384 digest-length salt",
        &under_pss384,
        &[&pss384],
        &[&rrsa],
        now,
    );

    // ---- more name constraints ----
    let nc_more: [(&str, &str, &str, &str); 6] = [
        (
            "NC IP permitted, SAN inside",
            "permitted;IP:10.0.0.0/255.0.0.0",
            "/CN=nc leaf",
            "subjectAltName=IP:10.1.2.3\n",
        ),
        (
            "NC IP permitted, SAN outside",
            "permitted;IP:10.0.0.0/255.0.0.0",
            "/CN=nc leaf",
            "subjectAltName=IP:192.168.1.1\n",
        ),
        (
            "NC URI permitted, SAN inside",
            "permitted;URI:.example.com",
            "/CN=nc leaf",
            "subjectAltName=URI:https://www.example.com/x\n",
        ),
        (
            "NC URI permitted, SAN outside",
            "permitted;URI:.example.com",
            "/CN=nc leaf",
            "subjectAltName=URI:https://www.example.org/x\n",
        ),
        (
            "NC email permitted, DN emailAddress outside",
            "permitted;email:example.com",
            "/CN=nc leaf/emailAddress=dev@example.org",
            "",
        ),
        (
            "NC email excluded host, DN emailAddress inside",
            "excluded;email:.example.com",
            "/CN=nc leaf/emailAddress=dev@sub.example.com",
            "",
        ),
    ];
    for (label, constraint, leaf_subj, leaf_ext) in nc_more {
        let i = lab.ca(
            "/CN=NC2 Int",
            &k_int,
            Some(&root),
            &format!("{CA_EXT}nameConstraints=critical,{constraint}\n"),
        );
        let l = lab.ca(
            leaf_subj,
            &k_leaf,
            Some(&i),
            &format!("{LEAF_EXT}{leaf_ext}"),
        );
        lab.check(label, &l, &[&i], &[&root], now);
    }
    let nc_root = lab.ca(
        "/CN=NC Root",
        &k_root,
        None,
        &format!("{CA_EXT}nameConstraints=critical,permitted;DNS:example.com\n"),
    );
    let nc_root_int = lab.ca("/CN=NC Root Int", &k_int, Some(&nc_root), CA_EXT);
    let nc_root_leaf = lab.ca(
        "/CN=nc leaf",
        &k_leaf,
        Some(&nc_root_int),
        &format!("{LEAF_EXT}subjectAltName=DNS:x.example.net\n"),
    );
    lab.check(
        "NC on the trust anchor, SAN outside",
        &nc_root_leaf,
        &[&nc_root_int],
        &[&nc_root],
        now,
    );

    // ---- key rollover: self-issued intermediates do not count towards pathlen ----
    let root_pl1 = lab.ca(
        "/CN=Root PL1",
        &k_root,
        None,
        &CA_EXT.replace("CA:TRUE", "CA:TRUE,pathlen:1"),
    );
    let roll_old = lab.ca("/CN=Rollover CA", &k_int, Some(&root_pl1), CA_EXT);
    let roll_new = lab.ca("/CN=Rollover CA", &k_int2, Some(&roll_old), CA_EXT);
    let roll_leaf = lab.ca("/CN=Rollover Leaf", &k_leaf, Some(&roll_new), LEAF_EXT);
    lab.check(
        "self-issued rollover int under root pathlen:1",
        &roll_leaf,
        &[&roll_new, &roll_old],
        &[&root_pl1],
        now,
    );
    let roll_sub = lab.ca("/CN=Rollover Sub", &k_other, Some(&roll_new), CA_EXT);
    let roll_sub_leaf = lab.ca("/CN=Rollover Sub Leaf", &k_leaf, Some(&roll_sub), LEAF_EXT);
    lab.check(
        "rollover + one more CA under root pathlen:1",
        &roll_sub_leaf,
        &[&roll_sub, &roll_new, &roll_old],
        &[&root_pl1],
        now,
    );

    // ---- the leaf itself in the trust store (no partial chains) ----
    lab.check(
        "anchors = leaf + root",
        &leaf,
        &[&int],
        &[&leaf, &root],
        now,
    );
    lab.check("anchors = leaf only", &leaf, &[&int], &[&leaf], now);

    // ---- twin intermediates (same name and key), one expired ----
    let twin_old =
        lab.cert(Spec::new("/CN=Diff Int", &k_int, Some(&root), CA_EXT).valid(-100 * DAY, -DAY));
    lab.check(
        "expired twin of the intermediate listed first",
        &leaf,
        &[&twin_old, &int],
        &[&root],
        now,
    );
    lab.check(
        "only the expired twin of the intermediate",
        &leaf,
        &[&twin_old],
        &[&root],
        now,
    );

    // ---- the shared vector PKIs, checked at the leaf's notBefore like the reference ----
    let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors");
    let vector_sets = [
        (
            "vector model-transparency PKI",
            "model-transparency/scripts/tests/keys/certificate",
            ["ca-cert.pem", "int-ca-cert.pem", "signing-key-cert.pem"],
        ),
        (
            "vector model-signing-peer PKI",
            "model-signing-peer/pki",
            ["root-cert.pem", "int-cert.pem", "leaf-cert.pem"],
        ),
    ];
    for (label, dir, [r, i, l]) in vector_sets {
        let base = Path::new(vectors).join(dir);
        if !base.join(l).exists() {
            eprintln!("note: vectors {} not available", base.display());
            continue;
        }
        let issued = |f: &str| Issued {
            pem: base.join(f),
            key: PathBuf::new(),
        };
        let (r, i, l) = (issued(r), issued(i), issued(l));
        let at = lab.load(&l).validity().0;
        let at = at.duration_since(UNIX_EPOCH).expect("at").as_secs() as i64;
        lab.check(label, &l, &[&i], &[&r], at);
        lab.check(
            &format!("{label}, intermediate as anchor"),
            &l,
            &[],
            &[&i],
            at,
        );
    }

    // ---- report ----
    let show = |r: &Result<(), String>| match r {
        Ok(()) => "OK".to_string(),
        Err(e) => format!("FAIL ({e})"),
    };
    let mut disagreements = 0;
    println!(
        "{:<4} {:<62} {:<5} {:<5} verdict",
        "#", "case", "ours", "ossl"
    );
    let cases = std::mem::take(&mut lab.cases);
    for (n, c) in cases.iter().enumerate() {
        let agree = c.ours.is_ok() == c.openssl.is_ok();
        if !agree {
            disagreements += 1;
        }
        let mark = |r: &Result<(), String>| if r.is_ok() { "ok" } else { "err" };
        let verdict = if agree { "agree" } else { "DISAGREE" };
        println!(
            "{:<4} {:<62} {:<5} {:<5} {verdict}",
            n + 1,
            c.name,
            mark(&c.ours),
            mark(&c.openssl)
        );
        println!("       ours:    {}", show(&c.ours));
        println!("       openssl: {}", show(&c.openssl));
    }
    println!(
        "{} cases, {} agree, {} disagree, {:.1}s",
        cases.len(),
        cases.len() - disagreements,
        disagreements,
        started.elapsed().as_secs_f64()
    );
    assert!(cases.len() >= 30, "expected at least 30 cases");
    assert_eq!(
        disagreements, 0,
        "validate_chain disagrees with openssl verify"
    );
}
