//! Shared helpers for the integration tests of the `model-signing` CLI.
//!
//! Use from a test file in `crates/model-signing-cli/tests/` with
//!
//! ```ignore
//! mod common;
//! use common::*;
//! ```
//!
//! What is here:
//!
//! * **Running commands** — [`run`] captures a [`Command`]'s output into a
//!   [`Run`], whose `assert_*` methods panic with the full command line,
//!   exit status, stdout and stderr. [`model_signing`] builds a [`Command`]
//!   for our binary; [`ms`] runs it in one go.
//! * **Keys and PKI** (via the `openssl` CLI, which must be on `PATH`) —
//!   [`gen_ec_key`] (SEC1 PEM private key + SPKI PEM public key, the formats
//!   `openssl ecparam -genkey` / `openssl ec -pubout` write),
//!   [`to_pkcs8`] (plain or encrypted PKCS#8), [`gen_root_ca`],
//!   [`gen_intermediate_ca`], [`gen_leaf_cert`] with [`LeafOptions`]
//!   (key usage, EKU, SAN, validity window incl. already-expired or
//!   not-yet-valid certificates), and [`Pki::generate`] for the usual
//!   root → intermediate → leaf chain.
//! * **Models** — [`write_file`], [`pattern`], [`make_interop_model`] (a
//!   directory with the tricky cases: nested dirs, an empty file, a file
//!   spanning several shards, spaces, unicode, `a.b` next to `a/b`, a
//!   dotfile), [`make_small_model`].
//! * **Python peers** — [`PyPeer::from_env`] finds the reference
//!   `model-signing` venvs named by `MS_PEER_PY_1_1_1` / `MS_PEER_PY_1_1_0`
//!   (set by `scripts/test`). When a variable is missing the test is
//!   skipped (returns `None` and prints a note), unless `MS_REQUIRE_PEERS=1`
//!   in which case it panics. [`PyPeer::peer`] runs `tests/peer/peer.py`
//!   (the API driver), [`PyPeer::batch`] runs many peer.py jobs in one
//!   Python process, [`PyPeer::cli`] is the peer's own `model_signing` CLI.
//!
//! Every helper panics on unexpected failure (it is test code), with a
//! message that says what was being done.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use keyed::*;
pub use tempfile::TempDir;

pub mod attest;
pub mod craft;
pub mod keyed;
pub mod measure;
pub mod oci;
pub mod strace;

// ---------------------------------------------------------------------------
// Locations
// ---------------------------------------------------------------------------

/// Path of our `model-signing` binary, built by cargo for the tests.
pub const BUILT_BIN: &str = env!("CARGO_BIN_EXE_model-signing");

/// The binary the tests run: cargo's build, or `MS_TEST_BIN` when set. Running the suite against
/// an older build (`MS_TEST_BIN=/path/to/old/model-signing cargo nextest run ...`) shows which
/// tests fail there, i.e. which findings a change fixed.
pub fn bin() -> PathBuf {
    std::env::var_os("MS_TEST_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(BUILT_BIN))
}

/// Root of the repository (the workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("canonicalize repo root")
}

/// `tests/peer/peer.py`, the driver for the Python reference API.
pub fn peer_script() -> PathBuf {
    repo_root().join("tests/peer/peer.py")
}

/// A fresh temporary directory, removed when dropped. Set
/// `MS_KEEP_TEMP=1` to keep it (its path is printed) for debugging.
pub fn tempdir() -> TempDir {
    let keep = env_flag("MS_KEEP_TEMP");
    let dir = tempfile::Builder::new()
        .prefix("ms-test-")
        .disable_cleanup(keep)
        .tempdir()
        .expect("create temp dir");
    if keep {
        eprintln!("keeping temp dir {}", dir.path().display());
    }
    dir
}

/// True when the environment variable is set to `1`, `true` or `yes`.
pub fn env_flag(name: &str) -> bool {
    matches!(
        std::env::var(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Ok("1" | "true" | "yes")
    )
}

// ---------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------

/// The captured result of running a command.
#[derive(Debug)]
pub struct Run {
    /// The command line, shell-quoted (for messages).
    pub cmdline: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics (showing the command and its output) unless it exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        if !self.success() {
            panic!("command failed, expected success\n{self}");
        }
        self
    }

    /// Panics unless the exit code is exactly `code`.
    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Self {
        if self.code() != Some(code) {
            panic!("expected exit code {code}\n{self}");
        }
        self
    }

    /// Panics unless stdout contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        if !self.stdout.contains(needle) {
            panic!("expected stdout to contain {needle:?}\n{self}");
        }
        self
    }

    /// Panics unless stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        if !self.stderr.contains(needle) {
            panic!("expected stderr to contain {needle:?}\n{self}");
        }
        self
    }

    /// Panics unless stdout or stderr contains `needle`.
    #[track_caller]
    pub fn assert_output_contains(&self, needle: &str) -> &Self {
        if !self.stdout.contains(needle) && !self.stderr.contains(needle) {
            panic!("expected the output to contain {needle:?}\n{self}");
        }
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.cmdline)?;
        writeln!(f, "status:  {}", self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(
            f,
            "--- stderr ---\n{}\n--------------",
            self.stderr.trim_end()
        )
    }
}

fn shell_quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Shell-quoted rendering of a command (program, arguments and, when set,
/// the working directory).
pub fn describe(cmd: &Command) -> String {
    let mut parts = vec![shell_quote(cmd.get_program())];
    parts.extend(cmd.get_args().map(shell_quote));
    let mut line = parts.join(" ");
    if let Some(dir) = cmd.get_current_dir() {
        line = format!("(cd {} && {line})", shell_quote(dir.as_os_str()));
    }
    line
}

/// Runs `cmd` to completion with stdin closed, capturing its output.
/// Panics only if the command cannot be started.
pub fn run(cmd: &mut Command) -> Run {
    run_with_stdin(cmd, None)
}

/// Like [`run`], feeding `input` to the command's stdin.
pub fn run_with_stdin(cmd: &mut Command, input: Option<&[u8]>) -> Run {
    let cmdline = describe(cmd);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{cmdline}`: {e}"));
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        // A child that exits early closes the pipe; its output says why.
        let _ = stdin.write_all(input);
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for `{cmdline}`: {e}"));
    Run {
        cmdline,
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A [`Command`] for our `model-signing` binary.
pub fn model_signing() -> Command {
    Command::new(bin())
}

/// Runs our `model-signing` binary with `args`.
pub fn ms<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(model_signing().args(args))
}

/// Builds an argument vector from mixed `&str` / `&Path` / `String` items:
/// `args!["verify", "key", "--public-key", &key.public_key]`.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        vec![$(::std::ffi::OsString::from(AsRef::<::std::ffi::OsStr>::as_ref(&$a))),*]
    };
}

// ---------------------------------------------------------------------------
// openssl
// ---------------------------------------------------------------------------

/// Runs `openssl ARGS` in `dir`; panics (with the output) if it fails.
pub fn openssl<I, S>(dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let r = run(Command::new("openssl").current_dir(dir).args(args));
    if !r.success() {
        panic!("openssl failed (is the openssl CLI installed?)\n{r}");
    }
    r
}

/// An elliptic curve supported by model signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    /// The name `openssl ecparam -name` understands.
    pub fn openssl_name(self) -> &'static str {
        match self {
            Curve::P256 => "prime256v1",
            Curve::P384 => "secp384r1",
            Curve::P521 => "secp521r1",
        }
    }

    /// Short lowercase label, handy in file names: `p256`, ...
    pub fn label(self) -> &'static str {
        match self {
            Curve::P256 => "p256",
            Curve::P384 => "p384",
            Curve::P521 => "p521",
        }
    }
}

/// A private key and its public key, as PEM files.
#[derive(Clone, Debug)]
pub struct KeyPair {
    /// SEC1 `EC PRIVATE KEY` PEM (as `openssl ecparam -genkey -noout`).
    pub private_key: PathBuf,
    /// SPKI `PUBLIC KEY` PEM (as `openssl ec -pubout`).
    pub public_key: PathBuf,
    pub curve: Curve,
}

/// Generates `DIR/NAME.pem` (private) and `DIR/NAME-pub.pem` (public).
pub fn gen_ec_key(dir: &Path, name: &str, curve: Curve) -> KeyPair {
    let private_key = dir.join(format!("{name}.pem"));
    let public_key = dir.join(format!("{name}-pub.pem"));
    openssl(
        dir,
        args![
            "ecparam",
            "-name",
            curve.openssl_name(),
            "-genkey",
            "-noout",
            "-out",
            &private_key
        ],
    );
    openssl(
        dir,
        args!["ec", "-in", &private_key, "-pubout", "-out", &public_key],
    );
    KeyPair {
        private_key,
        public_key,
        curve,
    }
}

/// Converts `key` to a PKCS#8 PEM at `out`: unencrypted (`PRIVATE KEY`)
/// when `password` is `None`, else `ENCRYPTED PRIVATE KEY` (PBES2,
/// AES-256-CBC).
pub fn to_pkcs8(key: &Path, out: &Path, password: Option<&str>) -> PathBuf {
    let dir = out.parent().expect("output has a parent dir");
    let mut a = args!["pkcs8", "-topk8", "-in", key, "-out", out];
    match password {
        None => a.push("-nocrypt".into()),
        Some(p) => a.extend(args!["-v2", "aes-256-cbc", "-passout", format!("pass:{p}")]),
    }
    openssl(dir, a);
    out.to_path_buf()
}

/// A certificate authority: its certificate and private key (PEM).
#[derive(Clone, Debug)]
pub struct Ca {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Self-signed root CA `DIR/NAME-cert.pem` + `DIR/NAME-key.pem`
/// (CN "Test Root CA NAME", CA:TRUE, keyCertSign+cRLSign, 10 years).
pub fn gen_root_ca(dir: &Path, name: &str, curve: Curve) -> Ca {
    let (ca, request) = root_ca_request(dir, name, curve);
    openssl(dir, request);
    ca
}

/// The `openssl req` arguments of [`gen_root_ca`] and [`gen_root_ca_at`], and where they write.
fn root_ca_request(dir: &Path, name: &str, curve: Curve) -> (Ca, Vec<OsString>) {
    let cert = dir.join(format!("{name}-cert.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    let request = args![
        "req",
        "-x509",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        format!("ec_paramgen_curve:{}", curve.openssl_name()),
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &cert,
        "-days",
        "3650",
        "-subj",
        format!("/CN=Test Root CA {name}"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-addext",
        "subjectKeyIdentifier=hash"
    ];
    (Ca { cert, key }, request)
}

/// Intermediate CA signed by `issuer` (CA:TRUE pathlen:0, 5 years).
pub fn gen_intermediate_ca(dir: &Path, name: &str, curve: Curve, issuer: &Ca) -> Ca {
    let cert = dir.join(format!("{name}-cert.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    let csr = dir.join(format!("{name}.csr"));
    let ext = dir.join(format!("{name}.ext"));
    fs::write(
        &ext,
        "basicConstraints=critical,CA:TRUE,pathlen:0\n\
         keyUsage=critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    )
    .expect("write ext file");
    openssl(
        dir,
        args![
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            format!("ec_paramgen_curve:{}", curve.openssl_name()),
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            format!("/CN=Test Intermediate CA {name}")
        ],
    );
    openssl(
        dir,
        args![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &issuer.cert,
            "-CAkey",
            &issuer.key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "1825",
            "-extfile",
            &ext
        ],
    );
    Ca { cert, key }
}

/// Validity window of a generated certificate.
#[derive(Clone, Debug)]
pub enum Validity {
    /// From now for this many days (`openssl x509 -req -days N`).
    Days(u32),
    /// Explicit window as Unix timestamps (seconds); either may be in the
    /// past or the future (uses `openssl ca -startdate/-enddate`).
    Window { not_before: i64, not_after: i64 },
}

/// Options for [`gen_leaf_cert`]. The default is a code-signing leaf:
/// CN and SAN email `model-signer@example.com`, CA:FALSE,
/// KU digitalSignature, EKU codeSigning, valid for 365 days from now.
#[derive(Clone, Debug)]
pub struct LeafOptions {
    pub common_name: String,
    /// `subjectAltName` value, e.g. `email:a@b.c` (None: no SAN).
    pub subject_alt_name: Option<String>,
    /// `keyUsage` value (None: no extension).
    pub key_usage: Option<String>,
    /// `extendedKeyUsage` value (None: no extension).
    pub extended_key_usage: Option<String>,
    /// `basicConstraints` value (None: no extension).
    pub basic_constraints: Option<String>,
    /// Extra raw lines for the openssl extension file.
    pub extra_extensions: Vec<String>,
    pub validity: Validity,
}

impl Default for LeafOptions {
    fn default() -> Self {
        LeafOptions {
            common_name: "model-signer@example.com".into(),
            subject_alt_name: Some("email:model-signer@example.com".into()),
            key_usage: Some("critical,digitalSignature".into()),
            extended_key_usage: Some("codeSigning".into()),
            basic_constraints: Some("critical,CA:FALSE".into()),
            extra_extensions: Vec::new(),
            validity: Validity::Days(365),
        }
    }
}

/// Unix timestamp of now (seconds).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Formats a Unix timestamp as `YYYYMMDDHHMMSSZ` (openssl/ASN.1 time).
pub fn openssl_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Issues `DIR/NAME-cert.pem` for `key`'s public key, signed by `issuer`.
pub fn gen_leaf_cert(
    dir: &Path,
    name: &str,
    key: &KeyPair,
    issuer: &Ca,
    opts: &LeafOptions,
) -> PathBuf {
    let cert = dir.join(format!("{name}-cert.pem"));
    let csr = dir.join(format!("{name}.csr"));
    let ext = dir.join(format!("{name}.ext"));
    let mut lines = Vec::new();
    if let Some(v) = &opts.basic_constraints {
        lines.push(format!("basicConstraints={v}"));
    }
    if let Some(v) = &opts.key_usage {
        lines.push(format!("keyUsage={v}"));
    }
    if let Some(v) = &opts.extended_key_usage {
        lines.push(format!("extendedKeyUsage={v}"));
    }
    if let Some(v) = &opts.subject_alt_name {
        lines.push(format!("subjectAltName={v}"));
    }
    lines.push("subjectKeyIdentifier=hash".into());
    lines.push("authorityKeyIdentifier=keyid".into());
    lines.extend(opts.extra_extensions.iter().cloned());
    fs::write(&ext, lines.join("\n") + "\n").expect("write ext file");
    openssl(
        dir,
        args![
            "req",
            "-new",
            "-key",
            &key.private_key,
            "-out",
            &csr,
            "-subj",
            format!("/CN={}", opts.common_name)
        ],
    );
    match opts.validity {
        Validity::Days(days) => {
            openssl(
                dir,
                args![
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &issuer.cert,
                    "-CAkey",
                    &issuer.key,
                    "-CAcreateserial",
                    "-out",
                    &cert,
                    "-days",
                    days.to_string(),
                    "-extfile",
                    &ext
                ],
            );
        }
        Validity::Window {
            not_before,
            not_after,
        } => {
            // `openssl ca` is the only way to pick both dates with
            // OpenSSL 3.0; it needs a tiny database.
            let db = dir.join(format!("{name}-ca-db"));
            fs::create_dir_all(&db).expect("create ca db");
            fs::write(db.join("index.txt"), "").expect("write index");
            fs::write(db.join("serial"), format!("{:016X}\n", unix_now())).expect("write serial");
            let cnf = db.join("ca.cnf");
            fs::write(
                &cnf,
                format!(
                    "[ca]\ndefault_ca=d\n[d]\ndatabase={db}/index.txt\n\
                     new_certs_dir={db}\nserial={db}/serial\ndefault_md=sha256\n\
                     policy=p\nunique_subject=no\ncopy_extensions=none\n\
                     [p]\ncommonName=supplied\n",
                    db = db.display()
                ),
            )
            .expect("write ca config");
            openssl(
                dir,
                args![
                    "ca",
                    "-batch",
                    "-notext",
                    "-config",
                    &cnf,
                    "-cert",
                    &issuer.cert,
                    "-keyfile",
                    &issuer.key,
                    "-in",
                    &csr,
                    "-out",
                    &cert,
                    "-startdate",
                    openssl_time(not_before),
                    "-enddate",
                    openssl_time(not_after),
                    "-extfile",
                    &ext
                ],
            );
        }
    }
    cert
}

/// A root → intermediate → leaf certificate chain in one directory.
#[derive(Clone, Debug)]
pub struct Pki {
    pub root: Ca,
    pub intermediate: Ca,
    /// The leaf's key pair (the signing key).
    pub leaf_key: KeyPair,
    pub leaf_cert: PathBuf,
}

impl Pki {
    /// Generates the chain into `dir`: root and intermediate CA keys on
    /// `ca_curve`, the leaf (default [`LeafOptions`]) on `leaf_curve`.
    /// Files: `root-{cert,key}.pem`, `int-{cert,key}.pem`,
    /// `leaf-key.pem`, `leaf-key-pub.pem`, `leaf-cert.pem`.
    pub fn generate(dir: &Path, ca_curve: Curve, leaf_curve: Curve) -> Pki {
        Self::generate_with(dir, ca_curve, leaf_curve, &LeafOptions::default())
    }

    /// Like [`Pki::generate`] with custom leaf options.
    pub fn generate_with(
        dir: &Path,
        ca_curve: Curve,
        leaf_curve: Curve,
        leaf: &LeafOptions,
    ) -> Pki {
        fs::create_dir_all(dir).expect("create pki dir");
        let root = gen_root_ca(dir, "root", ca_curve);
        let intermediate = gen_intermediate_ca(dir, "int", ca_curve, &root);
        let leaf_key = gen_ec_key(dir, "leaf-key", leaf_curve);
        let leaf_cert = gen_leaf_cert(dir, "leaf", &leaf_key, &intermediate, leaf);
        Pki {
            root,
            intermediate,
            leaf_key,
            leaf_cert,
        }
    }
}

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/// Writes `root/rel` (creating parent directories) and returns its path.
pub fn write_file(root: &Path, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent dirs");
    }
    fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// `len` deterministic, non-repeating-looking bytes derived from `seed`.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut x = 0x9E37_79B9_u32 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Files of [`make_interop_model`] (relative, `/`-separated) and sizes.
pub const INTEROP_MODEL_FILES: &[(&str, usize)] = &[
    ("config.json", 27),
    ("weights.bin", 3500),
    ("exact.bin", 2000),
    ("empty.bin", 0),
    ("sub/tokenizer.txt", 13),
    ("sub/deep/nested/layer.bin", 1500),
    ("with space.txt", 11),
    ("caf\u{e9}.txt", 6),
    ("a.b", 3),
    ("a/b", 3),
    ("a-b/c", 5),
    (".hidden", 7),
];

/// Creates `dir/model` with the files of [`INTEROP_MODEL_FILES`]:
/// nested directories, an empty file, `weights.bin` (3500 bytes: 4 shards
/// of 1000, the last one short) and `exact.bin` (2000 bytes: exactly 2),
/// a name with a space, a non-ASCII name (`café.txt`), `a.b` / `a-b/c`
/// next to the directory `a/` (component-wise vs. byte-wise ordering
/// differ), and a dotfile. Returns the model directory.
pub fn make_interop_model(dir: &Path) -> PathBuf {
    let model = dir.join("model");
    for (i, (rel, len)) in INTEROP_MODEL_FILES.iter().enumerate() {
        let contents = match *rel {
            "config.json" => br#"{"model_type": "interop"}"#.to_vec(),
            _ => pattern(*len, i as u8),
        };
        let contents = if contents.len() < *len {
            let mut c = contents;
            c.resize(*len, b'\n');
            c
        } else {
            contents
        };
        assert_eq!(contents.len(), *len, "size of {rel}");
        write_file(&model, rel, contents);
    }
    model
}

/// Creates `dir/NAME` with three small files (`a.txt`, `b/c.bin`,
/// `d.bin`). Returns the model directory.
pub fn make_small_model(dir: &Path, name: &str) -> PathBuf {
    let model = dir.join(name);
    write_file(&model, "a.txt", "hello model\n");
    write_file(&model, "b/c.bin", pattern(100, 1));
    write_file(&model, "d.bin", pattern(10, 2));
    model
}

/// Recursively copies a directory (files and directories only).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
            // Copies of read-only upstream vectors are made to be modified.
            let mut perm = fs::metadata(&target).expect("stat copy").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            fs::set_permissions(&target, perm).expect("make copy writable");
        }
    }
}

/// `../shared/vectors` (canonical), or `None` with a note when it is missing; with
/// `MS_REQUIRE_VECTORS=1` a missing directory panics, so CI cannot skip the vector tests.
pub fn vectors() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    if p.is_dir() {
        return Some(p.canonicalize().expect("canonicalize vectors dir"));
    }
    if env_flag("MS_REQUIRE_VECTORS") {
        panic!("MS_REQUIRE_VECTORS=1 but {} is missing", p.display());
    }
    eprintln!("skipping: {} not found", p.display());
    None
}

/// Flips one byte of `path` at `offset` (the file must be long enough).
pub fn tamper(path: &Path, offset: usize) {
    let mut data = fs::read(path).expect("read file to tamper");
    data[offset] ^= 0x01;
    fs::write(path, data).expect("write tampered file");
}

// ---------------------------------------------------------------------------
// Python peers
// ---------------------------------------------------------------------------

/// Env var naming the python of the model-signing 1.1.1 venv.
pub const PEER_PY_1_1_1: &str = "MS_PEER_PY_1_1_1";
/// Env var naming the python of the model-signing 1.1.0 venv.
pub const PEER_PY_1_1_0: &str = "MS_PEER_PY_1_1_0";

/// A Python reference implementation (`model-signing` in a venv).
#[derive(Clone, Debug)]
pub struct PyPeer {
    /// The env var it came from (for messages).
    pub var: &'static str,
    /// The venv's python interpreter.
    pub python: PathBuf,
}

/// One result of [`PyPeer::batch`].
#[derive(Clone, Debug)]
pub struct BatchResult {
    pub ok: bool,
    /// `ok` for sign/verify, the `sha256:...` line for digest.
    pub output: String,
    /// `Type: message` of the exception when `ok` is false.
    pub error: String,
}

impl PyPeer {
    /// The peer named by env var `var` (e.g. [`PEER_PY_1_1_1`]).
    ///
    /// If the variable is unset or empty: panics when `MS_REQUIRE_PEERS=1`,
    /// otherwise prints a note and returns `None` (the caller should
    /// return, i.e. skip). Panics if it is set but not an existing file.
    #[track_caller]
    pub fn from_env(var: &'static str) -> Option<PyPeer> {
        let test = std::thread::current()
            .name()
            .unwrap_or("this test")
            .to_string();
        match std::env::var_os(var).filter(|v| !v.is_empty()) {
            None if env_flag("MS_REQUIRE_PEERS") => panic!(
                "{var} is not set but MS_REQUIRE_PEERS=1: run the tests through \
                 scripts/test, which installs the Python peers"
            ),
            None => {
                eprintln!("note: {var} not set; skipping {test} (scripts/test sets it)");
                None
            }
            Some(p) => {
                let python = PathBuf::from(p);
                assert!(
                    python.is_file(),
                    "{var}={} does not exist",
                    python.display()
                );
                Some(PyPeer { var, python })
            }
        }
    }

    /// A [`Command`] running `tests/peer/peer.py` with this interpreter.
    pub fn peer_cmd(&self) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.arg(peer_script());
        cmd
    }

    /// Runs `peer.py ARGS`.
    pub fn peer<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.peer_cmd().args(args))
    }

    /// The peer's own CLI (`<venv>/bin/model_signing`).
    pub fn cli(&self) -> Command {
        let bin = self
            .python
            .parent()
            .expect("python has a parent dir")
            .join("model_signing");
        Command::new(bin)
    }

    /// Runs many peer.py jobs in one Python process (`peer.py batch`), see
    /// `tests/peer/peer.py` for the job format. Returns one result per
    /// job, in order. Panics if the batch as a whole fails. `Run` is
    /// returned too, for messages.
    pub fn batch(&self, jobs: &[serde_json::Value]) -> (Vec<BatchResult>, Run) {
        let input = serde_json::to_vec(jobs).expect("serialize jobs");
        let r = run_with_stdin(self.peer_cmd().arg("batch"), Some(&input));
        if !r.success() {
            panic!("peer.py batch failed\n{r}");
        }
        let parsed: Vec<serde_json::Value> = serde_json::from_str(r.stdout.trim())
            .unwrap_or_else(|e| panic!("peer.py batch printed bad JSON ({e})\n{r}"));
        assert_eq!(parsed.len(), jobs.len(), "one result per job\n{r}");
        let results = parsed
            .into_iter()
            .map(|v| BatchResult {
                ok: v["ok"].as_bool().expect("ok is a bool"),
                output: v["output"].as_str().unwrap_or_default().to_string(),
                error: v["error"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        (results, r)
    }
}

/// Converts paths to strings for JSON jobs.
pub fn path_str(p: &Path) -> String {
    p.to_str().expect("UTF-8 path").to_string()
}

/// Convenience for argument lists: `os(&["a", "b"])`.
pub fn os(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

// ===========================================================================
// Sigstore mock stack (tests/mock-sigstore) and identity tokens
// (added for the keyless signing tests, crates/model-signing-cli/tests/sigstore_e2e.rs)
// ===========================================================================

/// Env var naming the directory of `tests/mock-sigstore` with its
/// `node_modules` installed (set by `scripts/test`).
pub const MOCK_SIGSTORE_DIR: &str = "MS_MOCK_SIGSTORE_DIR";

/// How to start a [`MockSigstore`].
#[derive(Clone, Debug, Default)]
pub struct MockOptions {
    /// The signing config lists a Rekor v2 log (else v1).
    pub rekor_v2: bool,
    /// The signing config lists the TSA.
    pub tsa: bool,
    /// The OAuth token endpoint requires this client secret.
    pub client_secret: Option<String>,
    /// The email of the tokens the OAuth token endpoint issues.
    pub oauth_email: Option<String>,
    /// The Rekor v1 shim logs the payload hash of other bytes (a misbehaving log).
    pub rekor_wrong_payload: bool,
    /// Run the server with its clock shifted by this libfaketime spec (e.g. `"-7d"`, see
    /// [`faketime_env`]): its certificates (TSA, Fulcio CA), trust files and timestamps then
    /// date from that time. `None`: the real clock.
    pub faketime: Option<String>,
}

/// A running `tests/mock-sigstore/server.js` on 127.0.0.1 (random port) with
/// its trust files in a temporary directory. Dropping it stops the server.
pub struct MockSigstore {
    child: std::process::Child,
    /// Base URL of every service (Fulcio, Rekor, TSA, OIDC issuer).
    pub url: String,
    /// `trust_config.json`: a ClientTrustConfig for `--trust-config`.
    pub trust_config: PathBuf,
    /// `trusted_root.json`.
    pub trusted_root: PathBuf,
    /// Where the server's request log (its stderr) goes.
    pub log: PathBuf,
    dir: TempDir,
}

impl MockSigstore {
    /// The mock's directory from [`MOCK_SIGSTORE_DIR`]. Unset: prints a note
    /// and returns `None` (skip), or panics when `MS_REQUIRE_PEERS=1`.
    #[track_caller]
    pub fn dir_from_env() -> Option<PathBuf> {
        let test = std::thread::current()
            .name()
            .unwrap_or("this test")
            .to_string();
        match std::env::var_os(MOCK_SIGSTORE_DIR).filter(|v| !v.is_empty()) {
            None if env_flag("MS_REQUIRE_PEERS") => panic!(
                "{MOCK_SIGSTORE_DIR} is not set but MS_REQUIRE_PEERS=1: run the tests \
                 through scripts/test, which installs the Sigstore mock"
            ),
            None => {
                eprintln!(
                    "note: {MOCK_SIGSTORE_DIR} not set; skipping {test} (scripts/test sets it)"
                );
                None
            }
            Some(d) => {
                let d = PathBuf::from(d);
                assert!(
                    d.join("node_modules/@sigstore/mock").is_dir(),
                    "{MOCK_SIGSTORE_DIR}={} has no node_modules/@sigstore/mock (npm ci there)",
                    d.display()
                );
                Some(d)
            }
        }
    }

    /// Starts a mock, or returns `None` to skip (see [`Self::dir_from_env`]).
    #[track_caller]
    pub fn start(opts: &MockOptions) -> Option<MockSigstore> {
        let mock_dir = Self::dir_from_env()?;
        Some(Self::start_in(&mock_dir, opts))
    }

    /// Starts `server.js` of `mock_dir`; panics (with its log) if it does not
    /// come up within 60 s.
    pub fn start_in(mock_dir: &Path, opts: &MockOptions) -> MockSigstore {
        let dir = tempdir();
        let log = dir.path().join("server.log");
        let out = dir.path().join("trust");
        let flag = |b: bool| if b { "1" } else { "0" };
        let mut cmd = Command::new("node");
        cmd.arg(mock_dir.join("server.js"))
            .env("OUTDIR", &out)
            .env("PORT", "0")
            .env("REKOR_V2", flag(opts.rekor_v2))
            .env("WITH_TSA", flag(opts.tsa))
            .env("REKOR_WRONG_PAYLOAD", flag(opts.rekor_wrong_payload))
            .env("STDIN_WATCH", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).expect("create mock log"));
        if let Some(s) = &opts.client_secret {
            cmd.env("OAUTH_CLIENT_SECRET", s);
        }
        if let Some(e) = &opts.oauth_email {
            cmd.env("OAUTH_EMAIL", e);
        }
        if let Some(spec) = &opts.faketime {
            faketime_env(&mut cmd, spec);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node (is Node.js installed?): {e}"));
        let stdout = child.stdout.take().expect("mock stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_default();
        let port: u16 = match line
            .trim()
            .strip_prefix("PORT=")
            .and_then(|p| p.parse().ok())
        {
            Some(p) => p,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the Sigstore mock did not start (stdout {line:?})\n--- log ---\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        MockSigstore {
            child,
            url: format!("http://127.0.0.1:{port}"),
            trust_config: out.join("trust_config.json"),
            trusted_root: out.join("trusted_root.json"),
            log,
            dir,
        }
    }

    /// The server's request log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A scratch directory that lives as long as the mock.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// The URL of the mock's RFC 3161 TSA, for `--tsa-url`.
    pub fn tsa_url(&self) -> String {
        format!("{}/api/v1/timestamp", self.url)
    }

    /// The DER certificates of the mock's TSA as its `trusted_root.json` lists them
    /// (`timestampAuthorities[0].certChain.certificates`): the TSA signing certificate first, its
    /// root last.
    pub fn tsa_chain_der(&self) -> Vec<Vec<u8>> {
        use base64::Engine;
        let root: serde_json::Value = serde_json::from_slice(
            &fs::read(&self.trusted_root).expect("read the mock's trusted_root.json"),
        )
        .expect("trusted_root.json is JSON");
        root["timestampAuthorities"][0]["certChain"]["certificates"]
            .as_array()
            .unwrap_or_else(|| panic!("trusted_root.json lists no TSA chain: {root}"))
            .iter()
            .map(|c| {
                base64::engine::general_purpose::STANDARD
                    .decode(c["rawBytes"].as_str().expect("rawBytes is a string"))
                    .expect("rawBytes is base64")
            })
            .collect()
    }

    /// Writes the mock TSA's chain (see [`Self::tsa_chain_der`]) as one PEM file, TSA signing
    /// certificate first, root last (the form `--tsa-certificate-chain` takes), into the mock's
    /// scratch directory, and returns its path.
    pub fn tsa_chain_pem(&self) -> PathBuf {
        let path = self.scratch().join("tsa-chain.pem");
        let pem: String = self
            .tsa_chain_der()
            .iter()
            .map(|der| pem_encode("CERTIFICATE", der))
            .collect();
        fs::write(&path, pem).expect("write the TSA chain PEM");
        path
    }

    /// Stops the server now (later requests fail to connect).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MockSigstore {
    fn drop(&mut self) {
        self.stop();
    }
}

/// HMAC-SHA256 (RFC 2104), for HS256 test tokens.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// A JWT signed with HS256 under a throwaway key: the mock Fulcio (and
/// sigstore-python, which reads the claims unverified) accept it.
pub fn mint_jwt(claims: &serde_json::Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{head}.{body}");
    let sig = hmac_sha256(&[b'k'; 32], signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A token for `email` at `issuer` with audience `aud`, expiring
/// `exp_in` seconds from now (negative: already expired).
pub fn identity_token(issuer: &str, email: &str, aud: &str, exp_in: i64) -> String {
    let now = unix_now();
    mint_jwt(&serde_json::json!({
        "iss": issuer, "sub": email, "aud": aud, "email": email,
        "email_verified": true, "iat": now, "nbf": now, "exp": now + exp_in,
    }))
}

/// Environment variables through which ambient credentials could be found; removed so that a test
/// run inside some CI does not pick up that CI's identity.
pub const AMBIENT_VARS: [&str; 8] = [
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "GCE_METADATA_HOST",
    "SIGSTORE_ID_TOKEN",
];

/// `GET url` over plain HTTP on loopback; returns (status, body).
pub fn http_get(url: &str) -> (u16, String) {
    use std::io::Read;
    use std::net::TcpStream;
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Runs `sign sigstore --oauth-force-oob` (from `cmd`, which may carry environment variables)
/// against `mock` and plays the user: waits for the login URL on stderr, opens it (the mock issuer
/// shows the code) and types the code on stdin.
pub fn oob_sign(
    mock: &MockSigstore,
    mut cmd: Command,
    extra: Vec<OsString>,
    sig: &Path,
    model: &Path,
) -> Run {
    use std::io::{BufRead, BufReader};
    for v in AMBIENT_VARS {
        cmd.env_remove(v);
    }
    cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    cmd.args(args![
        "sign",
        "sigstore",
        "--trust-config",
        &mock.trust_config,
        "--oauth-force-oob",
        "--signature",
        sig
    ])
    .args(extra)
    .arg(model)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let cmdline = describe(&cmd);
    let mut child = cmd.spawn().expect("start model-signing");
    let mut stdin = child.stdin.take().expect("stdin");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("/oauth/authorize?") {
                let _ = tx.send(line.trim().to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    if let Ok(url) = rx.recv_timeout(Duration::from_secs(120)) {
        let (status, body) = http_get(&url);
        assert_eq!(status, 200, "{body}");
        // The body may be chunked; the code is the word after "code: ".
        let code = body
            .split_once("code: ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("the mock shows the code: {body:?}"))
            .to_string();
        writeln!(stdin, "{code}").expect("type the code");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait for model-signing");
    Run {
        cmdline,
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: reader.join().expect("stderr reader"),
    }
}

// ===========================================================================
// libfaketime (Debian `faketime`): run a program with its wall clock shifted
// (added for the RFC 3161 timestamp tests, crates/model-signing-cli/tests/timestamps.rs)
// ===========================================================================

/// `-----BEGIN LABEL-----` PEM of `der` (64-column base64, LF line ends).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Path of libfaketime's multi-threaded preload library (`libfaketimeMT.so.1`, from the Debian
/// package `libfaketime`, which `faketime` depends on; `scripts/test` installs it), or `None`.
/// `MS_FAKETIME_LIB` overrides the search.
pub fn faketime_lib() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MS_FAKETIME_LIB").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/faketime/libfaketimeMT.so.1",
        "/usr/lib64/faketime/libfaketimeMT.so.1",
        "/usr/local/lib/faketime/libfaketimeMT.so.1",
    ];
    if let Some(p) = candidates.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return Some(p);
    }
    let out = Command::new("dpkg")
        .args(["-L", "libfaketime"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.ends_with("/libfaketimeMT.so.1"))
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// True when libfaketime is installed. Otherwise prints a note and returns false (the caller
/// skips), or panics when `MS_REQUIRE_PEERS=1` (`scripts/test` installs it).
#[track_caller]
pub fn faketime_available() -> bool {
    if faketime_lib().is_some() {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    if env_flag("MS_REQUIRE_PEERS") {
        panic!(
            "libfaketime is not installed but MS_REQUIRE_PEERS=1: run the tests through \
             scripts/test, which installs it (apt faketime)"
        );
    }
    eprintln!("note: libfaketime not installed; skipping {test} (apt-get install faketime)");
    false
}

/// Makes `cmd` run with its wall clock shifted by the libfaketime spec `spec` (relative, such as
/// `"-7d"` or `"+2h"`, or absolute `"@2025-01-01 00:00:00"`; see faketime(1)). The library is
/// preloaded directly (`LD_PRELOAD`) rather than through the `faketime` wrapper, which forks
/// and would leave the real program running when the wrapper is killed. Monotonic clocks are
/// left alone (`FAKETIME_DONT_FAKE_MONOTONIC=1`): timers and `Instant` keep working. Works for
/// node (its `Date`), our binary and openssl; not for statically linked programs. Panics when
/// libfaketime is missing (check [`faketime_available`] first).
pub fn faketime_env<'a>(cmd: &'a mut Command, spec: &str) -> &'a mut Command {
    let lib = faketime_lib().expect("libfaketime is not installed (apt-get install faketime)");
    let mut preload = OsString::from(&lib);
    if let Some(old) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
        preload.push(":");
        preload.push(old);
    }
    cmd.env("LD_PRELOAD", preload)
        .env("FAKETIME", spec)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        // No `.faketimerc` or `FAKETIME_TIMESTAMP_FILE` of the user can change the spec.
        .env_remove("FAKETIME_TIMESTAMP_FILE")
        .env("FAKETIME_NO_CACHE", "1")
}

/// A [`Command`] for our `model-signing` binary with its clock shifted by `spec`
/// (see [`faketime_env`]).
pub fn model_signing_at(spec: &str) -> Command {
    let mut cmd = model_signing();
    faketime_env(&mut cmd, spec);
    cmd
}

/// Runs our `model-signing` binary with `args` and its clock shifted by `spec`.
pub fn ms_at<I, S>(spec: &str, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(model_signing_at(spec).args(args))
}

/// Runs `openssl ARGS` in `dir` with its clock shifted by `spec` (certificates it issues then
/// start at the shifted time); panics if it fails.
pub fn openssl_at<I, S>(spec: &str, dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("openssl");
    faketime_env(&mut cmd, spec).current_dir(dir).args(args);
    let r = run(&mut cmd);
    if !r.success() {
        panic!("openssl (under faketime {spec}) failed\n{r}");
    }
    r
}

/// A self-signed root CA like [`gen_root_ca`] (10 years) whose validity starts at the shifted
/// time `spec` (e.g. `"-30d"`: valid from 30 days ago), for certificates that must have been
/// valid in the past.
pub fn gen_root_ca_at(spec: &str, dir: &Path, name: &str, curve: Curve) -> Ca {
    let (ca, request) = root_ca_request(dir, name, curve);
    openssl_at(spec, dir, request);
    ca
}

/// Parses an RFC 3339 / ISO 8601 UTC time (`2025-10-10T02:12:20Z`, `2025-10-10T02:12:20.123Z`,
/// `2025-10-10 02:12:20Z`, or with `+00:00`) into Unix seconds; `None` for anything else.
pub fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let rest = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix("+00:00"))
        .or_else(|| s.strip_suffix('z'))?;
    let (date, time) = rest.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let time = time.split('.').next()?;
    let mut t = time.split(':');
    let (hh, mm, ss): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}
