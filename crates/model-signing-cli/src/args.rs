//! Raw command-line arguments, as close to Python model-signing 1.1.1's flags as clap allows.
//!
//! This layer only parses. [`crate::config`] resolves these into the library's configuration, so the
//! rest of the program never looks at flag spellings. Before clap sees argv, [`normalize`] rewrites
//! `--foo_bar` into `--foo-bar` (1.1.1 used underscores, later releases hyphens; both work here) and
//! inserts the default `sigstore` method after `sign`/`verify` when no method is named (global flags
//! such as `--log-level` may stand anywhere, also between `sign`/`verify` and the method).

use clap::{Args, Parser, Subcommand, ValueEnum};
use model_signing::pkcs11::Zeroizing;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// The environment variable holding the private key's password (`sign key`, `sign certificate`)
/// when neither `--password` nor `--password-file` is given.
pub const PASSWORD_ENV: &str = "MODEL_SIGNING_KEY_PASSWORD";
/// The environment variable holding the OAuth client secret (`sign sigstore`) when neither
/// `--client-secret` nor `--client-secret-file` is given.
pub const CLIENT_SECRET_ENV: &str = "MODEL_SIGNING_OAUTH_CLIENT_SECRET";

/// A secret value (a password): `{:?}` shows `Secret(<redacted>)`, and the memory is zeroized when
/// the value is dropped.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(Zeroizing::new(s))
    }
}

impl From<Zeroizing<String>> for Secret {
    fn from(s: Zeroizing<String>) -> Self {
        Secret(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `{:?}` of an optional secret kept as a plain `String` (fields read by code that takes a
/// `String`): `Some(<redacted>)` or `None`.
fn redacted(v: &Option<String>) -> &'static str {
    match v {
        Some(_) => "Some(<redacted>)",
        None => "None",
    }
}

/// The method names that may follow `sign` or `verify`.
pub const METHODS: [&str; 6] = [
    "sigstore",
    "key",
    "certificate",
    "pkcs11-key",
    "pkcs11-certificate",
    "policy",
];

/// Sign and verify machine-learning models (OpenSSF Model Signing).
#[derive(Debug, Parser)]
#[command(name = "model-signing", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL (also MODEL_SIGNING_LOG_LEVEL).
    #[arg(
        long,
        global = true,
        value_name = "LEVEL",
        ignore_case = true,
        value_enum
    )]
    pub log_level: Option<LogLevel>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log levels named as in Python's logging module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Progress and summaries (default).
    Info,
    /// Problems that do not stop the run.
    Warning,
    /// Errors only.
    Error,
    /// Errors only (Python's highest level).
    Critical,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign a model (default method: sigstore).
    Sign {
        /// Signing method.
        #[command(subcommand)]
        method: SignMethod,
    },
    /// Verify a model against its signature (default method: sigstore).
    Verify {
        /// Verification method.
        #[command(subcommand)]
        method: VerifyMethod,
    },
    /// Sign an attestation about a model (provenance, model card, evaluation results) and
    /// append it to its claims file (default method: sigstore).
    Attest {
        /// What to attest.
        #[command(subcommand)]
        kind: Box<crate::args_attest::AttestKind>,
    },
    /// Read a model's verified lineage, or find the models that used a package.
    Provenance {
        /// What to do.
        #[command(subcommand)]
        action: crate::args_attest::ProvenanceAction,
    },
    /// Print the model's root digest (`sha256:<hex>`) without signing.
    Digest(DigestArgs),
    /// Manage the cached Sigstore trusted root.
    #[command(name = "trust-root")]
    TrustRoot {
        /// What to do with it.
        #[command(subcommand)]
        action: TrustRootAction,
    },
    /// Inspect PKCS#11 modules and tokens (to find the URI of a signing key).
    Pkcs11 {
        /// What to do.
        #[command(subcommand)]
        action: Pkcs11Action,
    },
}

/// `pkcs11` actions.
#[derive(Debug, Subcommand)]
pub enum Pkcs11Action {
    /// List the slots and tokens of a PKCS#11 module and the keys on them, with a ready-to-use
    /// `pkcs11:` URI for each key.
    List(Pkcs11ListArgs),
}

/// `pkcs11 list`.
#[derive(Args)]
pub struct Pkcs11ListArgs {
    /// The PKCS#11 module: a path, or a name searched for in /usr/lib64/pkcs11,
    /// /usr/lib/pkcs11, /usr/lib/x86_64-linux-gnu/pkcs11 and /usr/lib/softhsm (e.g. libsofthsm2).
    #[arg(long, value_name = "PATH_OR_NAME", required = true)]
    pub module: String,
    /// User PIN: log in so that private keys are listed too.
    #[arg(long, value_name = "PIN")]
    pub pin: Option<String>,
    /// Only list the token with this label (and log in only there).
    #[arg(long, value_name = "LABEL")]
    pub token: Option<String>,
}

impl fmt::Debug for Pkcs11ListArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11ListArgs")
            .field("module", &self.module)
            .field("pin", &format_args!("{}", redacted(&self.pin)))
            .field("token", &self.token)
            .finish()
    }
}

/// Signing methods.
#[derive(Debug, Subcommand)]
pub enum SignMethod {
    /// Sigstore keyless signing (OIDC identity, Fulcio certificate, Rekor log entry).
    Sigstore(SignSigstoreArgs),
    /// Sign with an EC private key (PEM).
    Key(SignKeyArgs),
    /// Sign with an EC private key and its X.509 certificate chain.
    Certificate(SignCertificateArgs),
    /// Sign with a key held in a PKCS#11 token.
    #[command(name = "pkcs11-key")]
    Pkcs11Key(SignPkcs11KeyArgs),
    /// Sign with a PKCS#11 key and its X.509 certificate chain.
    #[command(name = "pkcs11-certificate")]
    Pkcs11Certificate(SignPkcs11CertificateArgs),
}

impl SignMethod {
    /// The options every method shares.
    pub fn common(&self) -> &CommonSign {
        match self {
            SignMethod::Sigstore(a) => &a.common,
            SignMethod::Key(a) => &a.common,
            SignMethod::Certificate(a) => &a.common,
            SignMethod::Pkcs11Key(a) => &a.common,
            SignMethod::Pkcs11Certificate(a) => &a.common,
        }
    }
}

/// Verification methods.
#[derive(Debug, Subcommand)]
pub enum VerifyMethod {
    /// Verify a Sigstore keyless signature against an identity and issuer.
    Sigstore(VerifySigstoreArgs),
    /// Verify against an EC public key (PEM).
    Key(VerifyKeyArgs),
    /// Verify against trusted root certificates.
    Certificate(VerifyCertificateArgs),
    /// Verify against a trust policy file: the rule matching the model names the signers trusted
    /// for it (`verify --policy FILE MODEL` picks this method).
    Policy(VerifyPolicyArgs),
}

impl VerifyMethod {
    /// The options every method shares.
    pub fn common(&self) -> &CommonVerify {
        match self {
            VerifyMethod::Sigstore(a) => &a.common,
            VerifyMethod::Key(a) => &a.common,
            VerifyMethod::Certificate(a) => &a.common,
            VerifyMethod::Policy(a) => &a.common,
        }
    }

    /// The options every method shares, to change.
    pub fn common_mut(&mut self) -> &mut CommonVerify {
        match self {
            VerifyMethod::Sigstore(a) => &mut a.common,
            VerifyMethod::Key(a) => &mut a.common,
            VerifyMethod::Certificate(a) => &mut a.common,
            VerifyMethod::Policy(a) => &mut a.common,
        }
    }
}

/// Options every sign method shares.
#[derive(Debug, Args)]
pub struct CommonSign {
    /// The model: a directory or a single file.
    #[arg(value_name = "MODEL_PATH")]
    pub model_path: PathBuf,

    /// Where to write the signature bundle.
    #[arg(long, value_name = "SIGNATURE_PATH", default_value = "model.sig")]
    pub signature: PathBuf,

    /// Which files, and how they are hashed.
    #[command(flatten)]
    pub hash: HashArgs,

    /// Output format: `json` prints a report on stdout (for keyless signing, the identity and
    /// identity provider a verifier must pass).
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,

    /// Where an OCI image is (oci:// model paths).
    #[command(flatten)]
    pub oci: OciArgs,

    /// Also push the signature to the registry of an oci:// model, beside the image (a referrer
    /// where the registry has the referrers API, else the tag sha256-<manifest hex>.sig).
    #[arg(long)]
    pub attach: bool,

    /// Sign an OCI image even though its config blob will not be signed (a layer is titled
    /// config.json and takes that name, and the config is not the empty {}).
    #[arg(long)]
    pub allow_unsigned_config: bool,
}

/// Options for `oci://` model paths and `oci-manifest:` files.
#[derive(Debug, Args)]
pub struct OciArgs {
    /// Talk plain http to the registry of an oci:// model (local registries; ORAS's flag).
    #[arg(long)]
    pub plain_http: bool,
    /// For an oci:// image index: the platform whose manifest is meant (os/arch[/variant]).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Seconds all the registry requests of the command may take together (each one also has
    /// its own 60 s limit); default 120.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub registry_timeout: Option<u64>,
}

/// Options deciding which files are hashed and how (sign and digest).
#[derive(Debug, Args)]
pub struct HashArgs {
    /// Paths to leave out (relative to the current directory, or absolute; repeatable).
    #[arg(long = "ignore-paths", value_name = "PATH", action = clap::ArgAction::Append)]
    pub ignore_paths: Vec<PathBuf>,

    /// Ignore the top-level .git, .gitattributes, .github and .gitignore (default).
    #[arg(long, overrides_with = "no_ignore_git_paths")]
    pub ignore_git_paths: bool,

    /// Sign the top-level git paths too.
    #[arg(long, overrides_with = "ignore_git_paths")]
    pub no_ignore_git_paths: bool,

    /// Follow symlinks (a file link is hashed by its target's content under the link's name).
    #[arg(long)]
    pub allow_symlinks: bool,

    /// Per-file hash algorithm.
    #[arg(long, value_name = "ALGORITHM", default_value = "sha256", value_parser = ["sha256", "blake2b", "blake2", "blake3"])]
    pub hash_algorithm: String,

    /// Hash fixed-size shards of this many bytes instead of whole files (default shard size when
    /// sharding: 1000000000).
    #[arg(long, value_name = "BYTES")]
    pub shard_size: Option<u64>,

    /// Hash in shards of the default size (1000000000 bytes).
    #[arg(long)]
    pub shards: bool,

    /// Hashing threads, at most 256 (default, or 0: one per available core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(usize))]
    pub max_workers: Option<usize>,
}

/// `sign sigstore`.
///
/// The identity token comes from, in order: `--identity-token`; the `SIGSTORE_ID_TOKEN` environment
/// variable; with `--use-ambient-credentials`, the CI or cloud environment (GitHub Actions, GitLab
/// CI, Buildkite, CircleCI, Google Cloud); else an interactive login with the signing config's OIDC
/// issuer (a browser, or with `--oauth-force-oob` a code typed back).
#[derive(Args)]
pub struct SignSigstoreArgs {
    #[command(flatten)]
    pub common: CommonSign,
    /// Use Sigstore's staging instance (its signing config and trusted root).
    #[arg(long)]
    pub use_staging: bool,
    /// A ClientTrustConfig JSON file (private Sigstore instance): its signingConfig picks Fulcio,
    /// Rekor, the TSA and the OIDC issuer. Overrides --use-staging.
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// Detect ambient CI/cloud credentials before falling back to the interactive login.
    #[arg(long)]
    pub use_ambient_credentials: bool,
    /// A fixed OIDC identity token (JWT); also read from SIGSTORE_ID_TOKEN, which keeps it out of
    /// the process list.
    #[arg(long, value_name = "TOKEN")]
    pub identity_token: Option<String>,
    /// Print the login URL and read the code from stdin instead of opening a browser.
    #[arg(long)]
    pub oauth_force_oob: bool,
    /// Accept plain-http Fulcio, Rekor, TSA and OIDC URLs on hosts other than loopback (private
    /// test stacks only: the identity token would cross the network in clear text).
    #[arg(long)]
    pub allow_insecure_services: bool,
    /// OAuth client id for the interactive login; also the audience every token must have.
    #[arg(long, value_name = "ID", default_value = "sigstore")]
    pub client_id: String,
    /// OAuth client secret, for confidential clients of non-Sigstore issuers. Other processes can
    /// read a command line: prefer --client-secret-file or MODEL_SIGNING_OAUTH_CLIENT_SECRET.
    #[arg(long, value_name = "SECRET")]
    pub client_secret: Option<String>,
    /// Read the OAuth client secret from this file (one trailing newline is dropped; a regular
    /// file of at most 4096 bytes). Without this or --client-secret, MODEL_SIGNING_OAUTH_CLIENT_SECRET
    /// is used when set.
    #[arg(long, value_name = "PATH", conflicts_with = "client_secret")]
    pub client_secret_file: Option<PathBuf>,
}

impl fmt::Debug for SignSigstoreArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SignSigstoreArgs {
            common,
            use_staging,
            trust_config,
            use_ambient_credentials,
            identity_token,
            oauth_force_oob,
            allow_insecure_services,
            client_id,
            client_secret,
            client_secret_file,
        } = self;
        f.debug_struct("SignSigstoreArgs")
            .field("common", common)
            .field("use_staging", use_staging)
            .field("trust_config", trust_config)
            .field("use_ambient_credentials", use_ambient_credentials)
            .field(
                "identity_token",
                &format_args!("{}", redacted(identity_token)),
            )
            .field("oauth_force_oob", oauth_force_oob)
            .field("allow_insecure_services", allow_insecure_services)
            .field("client_id", client_id)
            .field(
                "client_secret",
                &format_args!("{}", redacted(client_secret)),
            )
            .field("client_secret_file", client_secret_file)
            .finish()
    }
}

/// Where the password of an encrypted private key comes from: `--password`, else
/// `--password-file`, else [`PASSWORD_ENV`] (read only when the key is encrypted), else a prompt on
/// the terminal.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// Password of an encrypted private key. Other processes can read a command line: prefer
    /// --password-file or MODEL_SIGNING_KEY_PASSWORD (without any of them, the password is asked
    /// for on a terminal).
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<Secret>,
    /// Read the private key's password from this file (one trailing newline is dropped; a regular
    /// file of at most 4096 bytes).
    #[arg(long, value_name = "PATH", conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
}

/// RFC 3161 timestamps over a key, certificate or PKCS#11 signature.
#[derive(Debug, Args)]
pub struct TsaSignArgs {
    /// Ask this RFC 3161 time-stamping authority for a timestamp over the signature (repeatable:
    /// one timestamp per TSA, stored in the bundle). A TSA that fails fails the signing, and no
    /// signature is written.
    #[arg(long, value_name = "URL", action = clap::ArgAction::Append)]
    pub tsa_url: Vec<String>,
    /// Seconds one TSA request may take; a failed request is retried once.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub tsa_timeout: u64,
    /// Accept plain-http TSA URLs on hosts other than loopback (private test stacks only).
    #[arg(long)]
    pub allow_insecure_services: bool,
}

/// Which RFC 3161 time-stamping authorities `verify key` and `verify certificate` trust, in this
/// order: --tsa-certificate-chain, else the timestampAuthorities of --trusted-root or
/// --trust-config, else those of the Sigstore production root (cached by `trust-root update`, or
/// embedded).
#[derive(Debug, Args)]
pub struct TsaVerifyArgs {
    /// A time-stamping authority to trust (PEM: the TSA's certificate first, its root last;
    /// repeatable, one file per TSA). Replaces the trusted root's timestamp authorities.
    #[arg(long, value_name = "PATH", action = clap::ArgAction::Append)]
    pub tsa_certificate_chain: Vec<PathBuf>,
    /// A TrustedRoot JSON file whose timestampAuthorities are trusted; takes precedence over
    /// --trust-config.
    #[arg(long, value_name = "PATH")]
    pub trusted_root: Option<PathBuf>,
    /// A ClientTrustConfig JSON file whose trustedRoot's timestampAuthorities are trusted.
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// Fail unless at least one timestamp in the signature verifies.
    #[arg(long)]
    pub require_timestamp: bool,
}

/// `sign key`.
#[derive(Debug, Args)]
pub struct SignKeyArgs {
    #[command(flatten)]
    pub common: CommonSign,
    /// The EC private key (PEM: PKCS#8, SEC1, encrypted PKCS#8 or encrypted OpenSSL PEM).
    #[arg(long, value_name = "PRIVATE_KEY", required = true)]
    pub private_key: PathBuf,
    /// The key's password, if it is encrypted.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Trusted timestamps.
    #[command(flatten)]
    pub tsa: TsaSignArgs,
}

/// `sign certificate`.
#[derive(Debug, Args)]
pub struct SignCertificateArgs {
    #[command(flatten)]
    pub common: CommonSign,
    /// The EC private key of the signing certificate.
    #[arg(long, value_name = "PRIVATE_KEY", required = true)]
    pub private_key: PathBuf,
    /// The key's password, if it is encrypted.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// The signing (leaf) certificate, PEM.
    #[arg(long, value_name = "CERTIFICATE_PATH", required = true)]
    pub signing_certificate: PathBuf,
    /// Intermediate certificates to embed after the leaf (repeatable; a file may hold several).
    #[arg(long, value_name = "CERTIFICATE_PATH", action = clap::ArgAction::Append)]
    pub certificate_chain: Vec<PathBuf>,
    /// Trusted timestamps.
    #[command(flatten)]
    pub tsa: TsaSignArgs,
}

/// `sign pkcs11-key`.
///
/// The URI names the module (`module-path` or `module-name`), the token (`token`, `serial`,
/// `slot-id`, ...), the key (`object` = label, `id`) and optionally the PIN (`pin-value`,
/// `pin-source`); without a PIN the token's PIN is asked for on the terminal. `model-signing pkcs11
/// list --module ...` prints the URI of every key.
#[derive(Debug, Args)]
pub struct SignPkcs11KeyArgs {
    #[command(flatten)]
    pub common: CommonSign,
    /// RFC 7512 PKCS#11 URI of the key, e.g.
    /// 'pkcs11:token=HSM;object=model-key?module-name=libsofthsm2&pin-source=/run/pin'.
    #[arg(long, value_name = "PKCS11_URI", required = true)]
    pub pkcs11_uri: String,
    /// Trusted timestamps.
    #[command(flatten)]
    pub tsa: TsaSignArgs,
}

/// `sign pkcs11-certificate`: like `sign pkcs11-key`, with the key's certificate chain in the
/// bundle instead of its public key hint.
#[derive(Debug, Args)]
pub struct SignPkcs11CertificateArgs {
    #[command(flatten)]
    pub common: CommonSign,
    /// RFC 7512 PKCS#11 URI of the key (see `sign pkcs11-key --help`).
    #[arg(long, value_name = "PKCS11_URI", required = true)]
    pub pkcs11_uri: String,
    /// The signing (leaf) certificate, PEM.
    #[arg(long, value_name = "CERTIFICATE_PATH", required = true)]
    pub signing_certificate: PathBuf,
    /// Intermediate certificates to embed after the leaf.
    #[arg(long, value_name = "CERTIFICATE_PATH", action = clap::ArgAction::Append)]
    pub certificate_chain: Vec<PathBuf>,
    /// Trusted timestamps.
    #[command(flatten)]
    pub tsa: TsaSignArgs,
}

/// Output format of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// `Verification succeeded` / an error line.
    Text,
    /// A JSON report on stdout.
    Json,
}

/// Options every verify method shares.
#[derive(Debug, Args)]
pub struct CommonVerify {
    /// The model: a directory or a single file.
    #[arg(value_name = "MODEL_PATH")]
    pub model_path: PathBuf,

    /// The signature bundle to check (required, except for an oci:// model: without it, the
    /// signatures attached to the image in its registry are tried).
    #[arg(long, value_name = "SIGNATURE_PATH")]
    pub signature: Option<PathBuf>,

    /// More paths to leave out, on top of those the signer recorded (repeatable).
    #[arg(long = "ignore-paths", value_name = "PATH", action = clap::ArgAction::Append)]
    pub ignore_paths: Vec<PathBuf>,

    /// Ignore the top-level git paths on top of those the signer recorded (default: as the
    /// signature records; ignored for signatures from before 1.1, which record none).
    #[arg(long, overrides_with = "no_ignore_git_paths")]
    pub ignore_git_paths: bool,

    /// Do not add the top-level git paths to those the signer recorded.
    #[arg(long, overrides_with = "ignore_git_paths")]
    pub no_ignore_git_paths: bool,

    /// Follow symlinks even if the signature does not record that the signer did.
    #[arg(long)]
    pub allow_symlinks: bool,

    /// Check only the files the signature lists; tolerate extra files.
    #[arg(long, overrides_with = "no_ignore_unsigned_files")]
    pub ignore_unsigned_files: bool,

    /// Fail on files the signature does not list (default).
    #[arg(long, overrides_with = "ignore_unsigned_files")]
    pub no_ignore_unsigned_files: bool,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,

    /// Hashing threads, at most 256 (default, or 0: one per available core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(usize))]
    pub max_workers: Option<usize>,

    /// Where an OCI image is (oci:// model paths).
    #[command(flatten)]
    pub oci: OciArgs,

    /// Verify the model's attestations too: every line of this claims file must verify with the
    /// same trust as the model and be about the model (default with --require or a policy that
    /// asks for attestations: claims.jsonl beside the signature).
    #[arg(long, value_name = "PATH")]
    pub attestations: Option<PathBuf>,

    /// Require a verified attestation of this kind (repeatable): provenance, model-card, eval.
    #[arg(long, value_name = "KIND", action = clap::ArgAction::Append,
          value_parser = ["provenance", "model-card", "eval"])]
    pub require: Vec<String>,
}

/// `verify sigstore`.
#[derive(Debug, Args)]
pub struct VerifySigstoreArgs {
    #[command(flatten)]
    pub common: CommonVerify,
    /// Whom to trust.
    #[command(flatten)]
    pub trust: SigstoreTrust,
}

/// The trust flags of `verify sigstore` (also `provenance query sigstore`).
#[derive(Debug, Args)]
pub struct SigstoreTrust {
    /// The expected signer identity (certificate SAN: email or URI), matched exactly. Optional when
    /// --identity-regex is given.
    #[arg(
        long,
        value_name = "IDENTITY",
        required_unless_present = "identity_regex"
    )]
    pub identity: Option<String>,
    /// A regular expression the whole certificate SAN must match (anchored at both ends). With
    /// --identity as well, both must hold.
    #[arg(long, value_name = "REGEX")]
    pub identity_regex: Option<String>,
    /// The expected OIDC issuer, matched exactly.
    #[arg(long, value_name = "IDENTITY_PROVIDER", required = true)]
    pub identity_provider: String,
    /// Use Sigstore's staging instance (its cached or embedded trusted root).
    #[arg(long)]
    pub use_staging: bool,
    /// A ClientTrustConfig JSON file (private Sigstore instance); its trustedRoot is used.
    #[arg(long, value_name = "PATH")]
    pub trust_config: Option<PathBuf>,
    /// A TrustedRoot JSON file; takes precedence over --trust-config.
    #[arg(long, value_name = "PATH")]
    pub trusted_root: Option<PathBuf>,
}

/// `trust-root` actions.
#[derive(Debug, Subcommand)]
pub enum TrustRootAction {
    /// Fetch the current Sigstore trusted root and signing config through TUF and cache them for
    /// `verify sigstore` (without this, the root embedded in the binary is used).
    Update(TrustRootUpdateArgs),
}

/// `trust-root update`.
#[derive(Debug, Args)]
pub struct TrustRootUpdateArgs {
    /// Update the staging instance's root instead of production's.
    #[arg(long)]
    pub use_staging: bool,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// `verify key`.
#[derive(Debug, Args)]
pub struct VerifyKeyArgs {
    #[command(flatten)]
    pub common: CommonVerify,
    /// Whom to trust.
    #[command(flatten)]
    pub trust: KeyTrust,
}

/// The trust flags of `verify key` (also `provenance query key`).
#[derive(Debug, Args)]
pub struct KeyTrust {
    /// The EC public key (PEM).
    #[arg(long, value_name = "PUBLIC_KEY", required = true)]
    pub public_key: PathBuf,
    /// Trust for RFC 3161 timestamps (verified and reported; a key has no validity to extend).
    #[command(flatten)]
    pub tsa: TsaVerifyArgs,
}

/// `verify policy` (also `verify --policy FILE ...`).
#[derive(Debug, Args)]
pub struct VerifyPolicyArgs {
    #[command(flatten)]
    pub common: CommonVerify,
    /// The trust policy: a `model-signing.openssf.org/v1` Policy or a `ModelValidation`
    /// resource (YAML).
    #[arg(long, value_name = "POLICY_PATH", required = true)]
    pub policy: PathBuf,
}

/// `verify certificate`.
#[derive(Debug, Args)]
pub struct VerifyCertificateArgs {
    #[command(flatten)]
    pub common: CommonVerify,
    /// Whom to trust.
    #[command(flatten)]
    pub trust: CertificateTrust,
}

/// The trust flags of `verify certificate` (also `provenance query certificate`).
#[derive(Debug, Args)]
pub struct CertificateTrust {
    /// Trusted root certificates (repeatable; a file may hold several).
    #[arg(long, value_name = "CERTIFICATE_PATH", action = clap::ArgAction::Append, required = true)]
    pub certificate_chain: Vec<PathBuf>,
    /// Check the chain at the leaf's notBefore instead of now (model-signing 1.x behaviour; accepts
    /// expired certificates on the signer's word). A verified timestamp takes precedence.
    #[arg(long)]
    pub validate_at_signing_time: bool,
    /// Log the SHA-256 fingerprints of the anchors and the chain.
    #[arg(long)]
    pub log_fingerprints: bool,
    /// Trust for RFC 3161 timestamps: with one verified, the chain must be valid at the earliest
    /// verified time instead of now.
    #[command(flatten)]
    pub tsa: TsaVerifyArgs,
}

/// `digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The model: a directory or a single file.
    #[arg(value_name = "MODEL_PATH")]
    pub model_path: PathBuf,
    /// Which files, and how they are hashed.
    #[command(flatten)]
    pub hash: HashArgs,
}

/// A global flag of the top-level parser, as [`normalize`] needs to know it: its spellings and
/// whether it takes a value.
struct GlobalFlag {
    /// Long names and aliases, without the leading `--`.
    longs: Vec<String>,
    /// Short names and aliases.
    shorts: Vec<char>,
    /// The flag takes a value (`--log-level LEVEL`).
    takes_value: bool,
}

/// The global flags of [`Cli`], read from clap so that a flag added there is skipped over by
/// [`normalize`] without a second list to keep in step.
fn global_flags() -> Vec<GlobalFlag> {
    global_flags_at(&[])
}

/// The global flags defined at the subcommand `path` (`["attest", "provenance"]`): those of the
/// kind that its method subcommands inherit.
fn global_flags_at(path: &[&str]) -> Vec<GlobalFlag> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    // Building fills in what clap derives lazily (the default action of an argument).
    cmd.build();
    let mut at = &cmd;
    for p in path {
        match at.find_subcommand(p) {
            Some(c) => at = c,
            None => return Vec::new(),
        }
    }
    at.get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| GlobalFlag {
            longs: a
                .get_all_aliases()
                .unwrap_or_default()
                .into_iter()
                .chain(a.get_long())
                .map(str::to_string)
                .collect(),
            shorts: a
                .get_all_short_aliases()
                .unwrap_or_default()
                .into_iter()
                .chain(a.get_short())
                .collect(),
            takes_value: a.get_action().takes_values(),
        })
        .collect()
}

/// Whether `tok` (already rewritten to hyphens) is one of `flags`: `None` if not, else whether the
/// next token is its value (`--log-level DEBUG`, not `--log-level=DEBUG`).
fn global_flag(flags: &[GlobalFlag], tok: &str) -> Option<bool> {
    if let Some(rest) = tok.strip_prefix("--") {
        let (name, attached) = match rest.split_once('=') {
            Some((n, _)) => (n, true),
            None => (rest, false),
        };
        let f = flags.iter().find(|f| f.longs.iter().any(|l| l == name))?;
        return Some(f.takes_value && !attached);
    }
    let mut chars = tok.strip_prefix('-')?.chars();
    let c = chars.next()?;
    let f = flags.iter().find(|f| f.shorts.contains(&c))?;
    Some(f.takes_value && chars.as_str().is_empty())
}

/// `--foo_bar[=v]` as `--foo-bar[=v]`; any other token unchanged.
fn hyphenate(s: &str) -> String {
    let Some(flag) = s.strip_prefix("--") else {
        return s.to_string();
    };
    match flag.split_once('=') {
        Some((name, value)) => format!("--{}={value}", name.replace('_', "-")),
        None => format!("--{}", flag.replace('_', "-")),
    }
}

/// Where [`normalize`] is in the command line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    /// No command yet.
    BeforeCommand,
    /// After `attest` or `provenance`: the next token names the kind or action.
    AwaitKind,
    /// After `sign` or `verify`: the next token that is not a global flag (or its value) decides
    /// whether the default method is inserted.
    AwaitMethod,
    /// Past the point where anything is inserted.
    Rest,
}

/// Rewrites argv for clap: `--foo_bar[=v]` becomes `--foo-bar[=v]`, and `sign`/`verify` without a
/// method get `sigstore` inserted (Python's default). Global flags (`--log-level LEVEL`) may stand
/// before the command, between `sign`/`verify` and the method, or after it: they and their values
/// are skipped when looking for the method, and their values are passed on as given. Tokens after
/// `--` are left alone.
pub fn normalize(args: Vec<OsString>) -> Vec<OsString> {
    let flags = global_flags();
    let mut out = Vec::with_capacity(args.len() + 1);
    // `verify --policy FILE MODEL` names no method: the policy is the method.
    let default_method = if args.iter().any(|a| {
        a.to_str()
            .is_some_and(|t| t == "--policy" || t.starts_with("--policy="))
    }) {
        "policy"
    } else {
        "sigstore"
    };
    let mut args = args.into_iter();
    out.extend(args.next());
    let mut pos = Position::BeforeCommand;
    let mut value_next = false;
    let mut command = String::new();
    // The flags a kind's method subcommands inherit (`attest provenance --dataset D key M`).
    let mut kind_flags: Vec<GlobalFlag> = Vec::new();
    while let Some(a) = args.next() {
        if value_next {
            value_next = false;
            out.push(a);
            continue;
        }
        // A token that is not UTF-8 is never a flag or a method: only a path can be one.
        let tok = a.to_str().map(hyphenate);
        let s = tok.as_deref();
        if s == Some("--") {
            // `sign -- MODEL`: what follows is positional, so the method is the default one.
            if pos == Position::AwaitMethod {
                out.push(OsString::from(default_method));
            }
            out.push(a);
            out.extend(args);
            break;
        }
        if let Some(takes_value) = s.and_then(|t| global_flag(&flags, t)) {
            value_next = takes_value;
            out.push(tok.map_or(a, OsString::from));
            continue;
        }
        if pos == Position::AwaitMethod {
            if let Some(takes_value) = s.and_then(|t| global_flag(&kind_flags, t)) {
                value_next = takes_value;
                out.push(tok.map_or(a, OsString::from));
                continue;
            }
        }
        match pos {
            Position::BeforeCommand => {
                if !s.is_some_and(|t| t.starts_with('-')) {
                    pos = match s {
                        Some("sign" | "verify") => Position::AwaitMethod,
                        Some(c @ ("attest" | "provenance")) => {
                            command = c.to_string();
                            Position::AwaitKind
                        }
                        _ => Position::Rest,
                    };
                }
            }
            Position::AwaitKind => {
                let kinds: &[&str] = if command == "attest" {
                    &["provenance", "model-card", "eval"]
                } else {
                    &["show", "query"]
                };
                pos = match s {
                    Some(k) if kinds.contains(&k) => {
                        kind_flags = global_flags_at(&[command.as_str(), k]);
                        Position::AwaitMethod
                    }
                    _ => Position::Rest,
                };
            }
            Position::AwaitMethod => {
                let named = s
                    .is_some_and(|t| METHODS.contains(&t) || matches!(t, "-h" | "--help" | "help"));
                if !named {
                    out.push(OsString::from(default_method));
                }
                pos = Position::Rest;
            }
            Position::Rest => {}
        }
        out.push(tok.map_or(a, OsString::from));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: &[&str]) -> Vec<String> {
        normalize(v.iter().map(OsString::from).collect())
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn underscores_become_hyphens() {
        assert_eq!(
            n(&[
                "ms",
                "sign",
                "key",
                "--private_key",
                "k_1.pem",
                "--signature=a_b.sig",
                "m_x"
            ]),
            vec![
                "ms",
                "sign",
                "key",
                "--private-key",
                "k_1.pem",
                "--signature=a_b.sig",
                "m_x"
            ]
        );
    }

    #[test]
    fn default_method_is_sigstore() {
        assert_eq!(
            n(&["ms", "sign", "./m"]),
            vec!["ms", "sign", "sigstore", "./m"]
        );
        assert_eq!(
            n(&[
                "ms",
                "--log-level",
                "DEBUG",
                "verify",
                "--signature",
                "s",
                "m"
            ])[3..5],
            ["verify", "sigstore"]
        );
        assert_eq!(
            n(&["ms", "sign", "key", "m"]),
            vec!["ms", "sign", "key", "m"]
        );
        assert_eq!(n(&["ms", "sign", "--help"]), vec!["ms", "sign", "--help"]);
        assert_eq!(
            n(&["ms", "attest", "provenance", "--dataset", "d", "key", "m"]),
            vec!["ms", "attest", "provenance", "--dataset", "d", "key", "m"]
        );
        assert_eq!(
            n(&["ms", "attest", "eval", "--results", "r.json", "m"]),
            vec![
                "ms",
                "attest",
                "eval",
                "--results",
                "r.json",
                "sigstore",
                "m"
            ]
        );
        assert_eq!(
            n(&[
                "ms",
                "provenance",
                "query",
                "--uses",
                "pkg:pypi/x",
                "c.jsonl"
            ]),
            vec![
                "ms",
                "provenance",
                "query",
                "sigstore",
                "--uses",
                "pkg:pypi/x",
                "c.jsonl"
            ]
        );
        assert_eq!(
            n(&["ms", "provenance", "show", "key", "m"]),
            vec!["ms", "provenance", "show", "key", "m"]
        );
        assert_eq!(n(&["ms", "sign"]), vec!["ms", "sign"]);
        assert_eq!(n(&["ms", "digest", "m"]), vec!["ms", "digest", "m"]);
    }

    fn parse(v: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(normalize(v.iter().map(OsString::from).collect()))
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let secret = "hunter2-SECRET";
        for argv in [
            &[
                "ms",
                "sign",
                "key",
                "--private-key",
                "k",
                "--password",
                secret,
                "m",
            ][..],
            &[
                "ms",
                "sign",
                "certificate",
                "--private-key",
                "k",
                "--password",
                secret,
                "--signing-certificate",
                "c",
                "m",
            ],
            &[
                "ms",
                "sign",
                "--identity-token",
                secret,
                "--client-secret",
                secret,
                "m",
            ],
            &["ms", "pkcs11", "list", "--module", "x", "--pin", secret],
        ] {
            let cli = parse(argv).unwrap();
            let dbg = format!("{cli:?} {cli:#?}");
            assert!(!dbg.contains(secret), "{dbg}");
            assert!(dbg.contains("redacted"), "{dbg}");
        }
        assert_eq!(
            format!("{:?}", Secret::from(secret.to_string())),
            "Secret(<redacted>)"
        );
    }

    #[test]
    fn secret_file_flags() {
        // Both spellings; the value flag and the file flag exclude each other (a usage error).
        let cli = parse(&[
            "ms",
            "sign",
            "key",
            "--private_key",
            "k",
            "--password_file",
            "p",
            "m",
        ])
        .unwrap();
        let Command::Sign {
            method: SignMethod::Key(a),
        } = cli.command
        else {
            panic!("not sign key")
        };
        assert_eq!(a.password.password_file, Some(PathBuf::from("p")));
        assert!(a.password.password.is_none());
        for argv in [
            &[
                "ms",
                "sign",
                "key",
                "--private-key",
                "k",
                "--password",
                "x",
                "--password-file",
                "p",
                "m",
            ][..],
            &[
                "ms",
                "sign",
                "certificate",
                "--private-key",
                "k",
                "--signing-certificate",
                "c",
                "--password-file=p",
                "--password=x",
                "m",
            ],
            &[
                "ms",
                "sign",
                "--client-secret",
                "x",
                "--client_secret_file",
                "p",
                "m",
            ],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict, "{e}");
            assert!(!e.to_string().contains("=x"), "{e}");
        }
        let cli = parse(&["ms", "sign", "--client-secret-file", "p", "m"]).unwrap();
        let Command::Sign {
            method: SignMethod::Sigstore(a),
        } = cli.command
        else {
            panic!("not sign sigstore")
        };
        assert_eq!(a.client_secret_file, Some(PathBuf::from("p")));
    }

    /// `sign`/`verify` argv with `--log-level` (both spellings, both value forms) before the
    /// command, between it and the method, and after the method: nothing is inserted when a method
    /// is named, whichever way the global flag is written.
    #[test]
    fn global_flags_anywhere_around_the_method() {
        for (cmd, method, level) in [
            ("sign", "key", "DEBUG"),
            ("verify", "key", "WARNING"),
            ("sign", "certificate", "ERROR"),
            ("verify", "sigstore", "INFO"),
        ] {
            let joined = format!("--log-level={level}");
            let forms: [Vec<&str>; 2] = [vec!["--log-level", level], vec![joined.as_str()]];
            for flag in &forms {
                let with = |at: usize| {
                    let mut v = vec!["ms", cmd, method, "--signature", "s", "m"];
                    for (i, f) in flag.iter().enumerate() {
                        v.insert(at + i, f);
                    }
                    v
                };
                for at in [1, 2, 3, 6] {
                    let argv = with(at);
                    assert_eq!(n(&argv), argv, "{argv:?}");
                }
                let argv = with(2);
                let mut underscored: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
                underscored[2] = underscored[2].replace("log-level", "log_level");
                let u: Vec<&str> = underscored.iter().map(String::as_str).collect();
                assert_eq!(n(&u), argv, "{u:?}");
            }
        }
    }

    /// Without a method, `sigstore` goes after the global flags that follow `sign`/`verify`, before
    /// the first other token.
    #[test]
    fn default_method_after_global_flags() {
        assert_eq!(
            n(&["ms", "sign", "--log-level", "DEBUG", "./m"]),
            vec!["ms", "sign", "--log-level", "DEBUG", "sigstore", "./m"]
        );
        assert_eq!(
            n(&["ms", "sign", "--log_level=DEBUG", "--signature", "s", "m"]),
            vec![
                "ms",
                "sign",
                "--log-level=DEBUG",
                "sigstore",
                "--signature",
                "s",
                "m"
            ]
        );
        assert_eq!(
            n(&[
                "ms",
                "--log-level",
                "INFO",
                "verify",
                "--log-level",
                "ERROR",
                "--help"
            ]),
            vec![
                "ms",
                "--log-level",
                "INFO",
                "verify",
                "--log-level",
                "ERROR",
                "--help"
            ]
        );
        // A global flag's value is never taken for the method or the command.
        assert_eq!(
            n(&["ms", "sign", "--log-level", "key", "m"]),
            vec!["ms", "sign", "--log-level", "key", "sigstore", "m"]
        );
        assert_eq!(
            n(&["ms", "--log-level", "sign", "digest", "m"]),
            vec!["ms", "--log-level", "sign", "digest", "m"]
        );
        // At the end, with nothing after it, nothing is inserted (clap reports the missing method).
        assert_eq!(
            n(&["ms", "verify", "--log-level", "DEBUG"]),
            vec!["ms", "verify", "--log-level", "DEBUG"]
        );
    }

    #[test]
    fn double_dash_after_sign_means_the_default_method() {
        assert_eq!(
            n(&["ms", "sign", "--log-level", "DEBUG", "--", "--m_x"]),
            vec![
                "ms",
                "sign",
                "--log-level",
                "DEBUG",
                "sigstore",
                "--",
                "--m_x"
            ]
        );
        assert_eq!(
            n(&["ms", "sign", "key", "--", "--log_level", "x_y"]),
            vec!["ms", "sign", "key", "--", "--log_level", "x_y"]
        );
    }

    /// A model path that is not UTF-8 is still a model path: the default method goes before it.
    #[cfg(unix)]
    #[test]
    fn non_utf8_model_path_gets_the_default_method() {
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"m\xff").to_os_string();
        let argv = vec![
            OsString::from("ms"),
            OsString::from("sign"),
            OsString::from("--log-level"),
            OsString::from("DEBUG"),
            bad.clone(),
        ];
        assert_eq!(
            normalize(argv),
            vec![
                OsString::from("ms"),
                OsString::from("sign"),
                OsString::from("--log-level"),
                OsString::from("DEBUG"),
                OsString::from("sigstore"),
                bad,
            ]
        );
    }

    /// The normalized argv parses, with the level and the method the user meant, wherever the
    /// global flag stands.
    #[test]
    fn global_flags_parse_in_every_position() {
        for argv in [
            &[
                "ms",
                "--log-level",
                "DEBUG",
                "sign",
                "key",
                "--private-key",
                "k",
                "m",
            ][..],
            &[
                "ms",
                "sign",
                "--log-level",
                "DEBUG",
                "key",
                "--private-key",
                "k",
                "m",
            ],
            &[
                "ms",
                "sign",
                "--log-level=debug",
                "key",
                "--private-key",
                "k",
                "m",
            ],
            &[
                "ms",
                "sign",
                "key",
                "--log-level",
                "DEBUG",
                "--private-key",
                "k",
                "m",
            ],
            &[
                "ms",
                "sign",
                "key",
                "--private-key",
                "k",
                "m",
                "--log_level",
                "DEBUG",
            ],
        ] {
            let cli = parse(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(cli.log_level, Some(LogLevel::Debug), "{argv:?}");
            assert!(
                matches!(
                    cli.command,
                    Command::Sign {
                        method: SignMethod::Key(_)
                    }
                ),
                "{argv:?}"
            );
        }
        for argv in [
            &[
                "ms",
                "verify",
                "--log-level",
                "WARNING",
                "key",
                "--public-key",
                "p",
                "--signature",
                "s",
                "m",
            ][..],
            &[
                "ms",
                "verify",
                "key",
                "--public-key",
                "p",
                "--log-level",
                "WARNING",
                "--signature",
                "s",
                "m",
            ],
        ] {
            let cli = parse(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(cli.log_level, Some(LogLevel::Warning), "{argv:?}");
            assert!(
                matches!(
                    cli.command,
                    Command::Verify {
                        method: VerifyMethod::Key(_)
                    }
                ),
                "{argv:?}"
            );
        }
        let cli = parse(&["ms", "sign", "--log-level", "ERROR", "m"]).unwrap();
        assert_eq!(cli.log_level, Some(LogLevel::Error));
        assert!(matches!(
            cli.command,
            Command::Sign {
                method: SignMethod::Sigstore(_)
            }
        ));
    }

    /// The global flags come from the parser itself; a short flag, an attached value and a flag
    /// without a value are recognised too (none exists yet, so a made-up list stands in).
    #[test]
    fn global_flag_spellings() {
        let real = global_flags();
        assert!(real
            .iter()
            .any(|f| f.longs.iter().any(|l| l == "log-level") && f.takes_value));
        let flags = [
            GlobalFlag {
                longs: vec!["level".into(), "lvl".into()],
                shorts: vec!['l'],
                takes_value: true,
            },
            GlobalFlag {
                longs: vec!["quiet".into()],
                shorts: vec!['q'],
                takes_value: false,
            },
        ];
        assert_eq!(global_flag(&flags, "--level"), Some(true));
        assert_eq!(global_flag(&flags, "--lvl"), Some(true));
        assert_eq!(global_flag(&flags, "--level=x"), Some(false));
        assert_eq!(global_flag(&flags, "-l"), Some(true));
        assert_eq!(global_flag(&flags, "-lx"), Some(false));
        assert_eq!(global_flag(&flags, "--quiet"), Some(false));
        assert_eq!(global_flag(&flags, "-q"), Some(false));
        assert_eq!(global_flag(&flags, "--levels"), None);
        assert_eq!(global_flag(&flags, "-x"), None);
        assert_eq!(global_flag(&flags, "-"), None);
        assert_eq!(global_flag(&flags, "level"), None);
    }

    #[test]
    fn after_double_dash_untouched() {
        assert_eq!(
            n(&["ms", "digest", "--", "--a_b"]),
            vec!["ms", "digest", "--", "--a_b"]
        );
    }
}
