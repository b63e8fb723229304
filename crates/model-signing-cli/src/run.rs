//! Runs a parsed command and renders its outcome the way Python model-signing does:
//! `Signing succeeded` / `Verification succeeded` on stdout, `... failed with error: ...` on stderr.

use crate::args::{
    Command, LogLevel, OutputFormat, PasswordArgs, SignMethod, TsaSignArgs, TsaVerifyArgs,
    VerifyMethod, PASSWORD_ENV,
};
use crate::config;
use crate::out;
use anyhow::{bail, Context, Result};
use model_signing::keys::{KeyError, PrivateKey};
use model_signing::pkcs11::Zeroizing;
use model_signing::sign::{self, CertificateSigner, KeySigner, RawSigner, Signer};
use model_signing::sigstore::trust::TrustOptions;
use model_signing::timestamp::{TimestampPolicy, TsaTrust};
use model_signing::verify::{self, BundleVerifier, CertificateVerifier, ChainTime, KeyVerifier};
use model_signing::x509;
use model_signing::Error as LibError;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

/// Sets up `tracing` on stderr at the requested level (flag, then `MODEL_SIGNING_LOG_LEVEL`, then
/// INFO).
pub fn init_logging(flag: Option<LogLevel>) {
    use clap::ValueEnum;
    let level = flag.or_else(|| {
        std::env::var("MODEL_SIGNING_LOG_LEVEL")
            .ok()
            .and_then(|v| LogLevel::from_str(&v, true).ok())
    });
    let filter = match level.unwrap_or(LogLevel::Info) {
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Warning => tracing::Level::WARN,
        LogLevel::Error | LogLevel::Critical => tracing::Level::ERROR,
    };
    // tracing orders levels by verbosity: WARN and ERROR compare below INFO.
    crate::progress::set_quiet(filter < tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(|| out::LogWriter)
        .with_target(false)
        .without_time()
        .with_level(true)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The prefix of the one error line each command prints on failure.
pub const SIGN_FAILED: &str = "Signing failed with error";
/// See [`SIGN_FAILED`].
pub const VERIFY_FAILED: &str = "Verification failed with error";
/// See [`SIGN_FAILED`].
pub const DIGEST_FAILED: &str = "Computing digest failed";

/// The error prefix of a command that hashes a model, if it is one.
pub fn hashing_prefix(cmd: &Command) -> Option<&'static str> {
    match cmd {
        Command::Sign { .. } => Some(SIGN_FAILED),
        Command::Verify { .. } => Some(VERIFY_FAILED),
        Command::Digest(_) => Some(DIGEST_FAILED),
        Command::Attest { .. } => Some(crate::attest_cmd::ATTEST_FAILED),
        Command::Provenance { .. } => Some(VERIFY_FAILED),
        _ => None,
    }
}

/// Runs a command and returns the process exit code.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Sign { method } => {
            let output = method.common().output;
            match sign_cmd(method) {
                Ok(report) => {
                    let text = if output == OutputFormat::Json {
                        let v = serde_json::to_value(&report).unwrap_or_default();
                        out::json(&v)
                    } else {
                        "Signing succeeded".to_string()
                    };
                    out::success(&text, "the signature was written")
                }
                Err(e) => {
                    if output == OutputFormat::Json {
                        let v = serde_json::json!({ "signed": false, "error": render(&e) });
                        out::failure_report(&out::json(&v));
                    }
                    fail(SIGN_FAILED, &e)
                }
            }
        }
        Command::Verify { method } => verify_cmd(method),
        Command::Attest { kind } => crate::attest_cmd::attest(*kind),
        Command::Provenance { action } => crate::attest_cmd::provenance(action),
        Command::TrustRoot { action } => crate::sigstore_verify::trust_root(action),
        Command::Pkcs11 { action } => crate::pkcs11_cmd::run(action),
        Command::Digest(d) => match digest_cmd(&d) {
            Ok(s) => out::success(&s, "the digest was computed"),
            Err(e) => fail(DIGEST_FAILED, &e),
        },
    }
}

/// Prints `prefix: message` on stderr and returns exit code 1.
pub fn fail(prefix: &str, e: &anyhow::Error) -> ExitCode {
    out::stderr_line(&format!("{prefix}: {}", render(e)));
    ExitCode::from(1)
}

/// One line (plus the per-file lines of a mismatch report), with context chained by `: `, and the
/// flag that would change the outcome where the library's error has one (the library names no
/// flags).
pub fn render(e: &anyhow::Error) -> String {
    let mut out = model_signing::error::chain_text(e.as_ref());
    // Messages quote registries, bundles, file names and issuers: whatever they hold reaches the
    // terminal escaped, on one line. A mismatch report keeps its own line breaks (one per file)
    // and escapes its names itself.
    let report = e
        .chain()
        .any(|c| matches!(c.downcast_ref::<LibError>(), Some(LibError::Mismatch(_))));
    if !report {
        out = model_signing::error::untrusted_text(&out, usize::MAX);
    }
    if let Some(hint) = e
        .chain()
        .find_map(|c| c.downcast_ref::<LibError>().and_then(flag_hint))
    {
        out.push_str(hint);
    }
    out
}

/// The CLI's hint for a library error that a flag would change.
fn flag_hint(e: &LibError) -> Option<&'static str> {
    match e {
        LibError::Symlink { .. } => Some(" (use --allow-symlinks to follow symlinks)"),
        LibError::ChainValidOnlyAtSigning(_) => Some(
            " (--validate-at-signing-time accepts that on the signer's word; a trusted timestamp, \
             from signing with --tsa-url, proves it)",
        ),
        LibError::Timestamp(m) if m.contains("trusted time-stamping authority") => {
            Some(" (give that TSA's certificate chain with --tsa-certificate-chain)")
        }
        LibError::Mismatch(m) if !m.extra.is_empty() => {
            Some("\n  (extra files are not signed; use --ignore-unsigned-files to allow them)")
        }
        _ => None,
    }
}

/// A key or certificate file: a regular file under the library's size limit.
fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    Ok(model_signing::secret_file::read_input(
        path,
        model_signing::limits::MAX_KEY_FILE_BYTES,
        what,
    )?)
}

/// Loads a private key. Its password comes from `--password`, else `--password-file`, else (only
/// when the key is encrypted, so that a variable set for another key does not break an unencrypted
/// one) [`PASSWORD_ENV`], else a prompt on the terminal. Errors name where the password came from,
/// never the password.
fn load_private_key(path: &Path, pw: &PasswordArgs) -> Result<PrivateKey> {
    let pem = model_signing::secret_file::read_private_key(path)?;
    let cannot = |from: &str| {
        format!(
            "cannot load private key '{}' with the password from {from}",
            path.display()
        )
    };
    if let Some(p) = &pw.password {
        return PrivateKey::from_pem(&pem, Some(p.expose().as_bytes()))
            .with_context(|| cannot("--password"));
    }
    if let Some(f) = &pw.password_file {
        let p = config::read_secret_file(f, "--password-file")?;
        return PrivateKey::from_pem(&pem, Some(p.expose().as_bytes()))
            .with_context(|| cannot(&format!("--password-file '{}'", f.display())));
    }
    match PrivateKey::from_pem(&pem, None) {
        Ok(k) => Ok(k),
        Err(KeyError::PasswordRequired) => {
            if let Some(p) = config::env_secret(PASSWORD_ENV)? {
                return PrivateKey::from_pem(&pem, Some(p.expose().as_bytes()))
                    .with_context(|| cannot(PASSWORD_ENV));
            }
            if !std::io::stdin().is_terminal() {
                bail!(
                    "cannot load private key '{}': {} (no terminal to ask on: give \
                     --password-file FILE or set {PASSWORD_ENV})",
                    path.display(),
                    KeyError::PasswordRequired
                );
            }
            let p = rpassword::prompt_password(format!("Password for {}: ", path.display()))
                .map(Zeroizing::new)
                .context("cannot read the password")?;
            PrivateKey::from_pem(&pem, Some(p.as_bytes()))
                .with_context(|| format!("cannot load private key '{}'", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot load private key '{}'", path.display())),
    }
}

fn load_certs(paths: &[std::path::PathBuf]) -> Result<Vec<x509::Certificate>> {
    let mut out = Vec::new();
    for p in paths {
        let pem = read(p, "certificate file")?;
        out.extend(
            x509::parse_pem_certificates(&pem)
                .with_context(|| format!("cannot load certificates from '{}'", p.display()))?,
        );
    }
    Ok(out)
}

/// What `sign --output json` prints: the library's outcome, with where the bundle went.
#[derive(Debug, serde::Serialize)]
pub struct SignReport {
    /// Always true (a failure prints `signed: false` and the error instead).
    pub signed: bool,
    /// Where the bundle was written.
    pub signature: std::path::PathBuf,
    /// For an OCI image: the digest of the manifest that was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_manifest: Option<String>,
    /// What was signed, how and by whom.
    #[serde(flatten)]
    pub outcome: sign::SignOutcome,
}

/// `raw` as a [`Signer`], timestamped by the TSAs of `t` when it names any.
fn with_tsa(raw: Box<dyn RawSigner>, t: &TsaSignArgs) -> Result<Box<dyn Signer>> {
    Ok(sign::with_timestamps(
        raw,
        &t.tsa_url,
        std::time::Duration::from_secs(t.tsa_timeout),
        t.allow_insecure_services,
    )?)
}

/// The timestamp policy of `verify key` and `verify certificate` (trust order: see
/// [`TsaVerifyArgs`]).
fn timestamp_policy(t: &TsaVerifyArgs) -> Result<TimestampPolicy> {
    let opts = TrustOptions {
        trusted_root: t.trusted_root.clone(),
        trust_config: t.trust_config.clone(),
        ..Default::default()
    };
    Ok(TimestampPolicy {
        trust: Some(TsaTrust::load(&t.tsa_certificate_chain, &opts)?),
        require: t.require_timestamp,
    })
}

/// The signer a sign method names, with the resolved target (shared by `sign` and `attest`).
pub fn signer_of(
    method: SignMethod,
) -> Result<(config::Target<config::SignConfig>, Box<dyn Signer>)> {
    Ok(match method {
        SignMethod::Key(a) => {
            let c = config::sign(&a.common)?;
            let key = load_private_key(&a.private_key, &a.password)?;
            (c, with_tsa(Box::new(KeySigner::new(key)), &a.tsa)?)
        }
        SignMethod::Certificate(a) => {
            let c = config::sign(&a.common)?;
            let key = load_private_key(&a.private_key, &a.password)?;
            let leaf = load_certs(std::slice::from_ref(&a.signing_certificate))?
                .into_iter()
                .next()
                .context("the signing certificate file holds no certificate")?;
            let chain = load_certs(&a.certificate_chain)?;
            (
                c,
                with_tsa(Box::new(CertificateSigner::new(key, leaf, chain)?), &a.tsa)?,
            )
        }
        SignMethod::Sigstore(mut a) => {
            let c = config::sign(&a.common)?;
            // The signer reads only `client_secret`: fold the file and the environment into it.
            a.client_secret = config::client_secret(&a)?;
            (c, Box::new(crate::sigstore_sign::signer(a)?))
        }
        SignMethod::Pkcs11Key(a) => {
            let c = config::sign(&a.common)?;
            let signer = crate::pkcs11_cmd::key_signer(&a.pkcs11_uri)?;
            (c, with_tsa(Box::new(signer), &a.tsa)?)
        }
        SignMethod::Pkcs11Certificate(a) => {
            let c = config::sign(&a.common)?;
            let leaf = load_certs(std::slice::from_ref(&a.signing_certificate))?
                .into_iter()
                .next()
                .context("the signing certificate file holds no certificate")?;
            let chain = load_certs(&a.certificate_chain)?;
            let signer = crate::pkcs11_cmd::certificate_signer(&a.pkcs11_uri, leaf, chain)?;
            (c, with_tsa(Box::new(signer), &a.tsa)?)
        }
    })
}

fn sign_cmd(method: SignMethod) -> Result<SignReport> {
    let (common, signer) = signer_of(method)?;
    let (out, signature, oci_manifest) = match common {
        config::Target::Files(c) => {
            let out = sign::sign_model(&c.model, &c.hashing, signer.as_ref(), &c.signature)?;
            (out, c.signature, None)
        }
        config::Target::Oci {
            source,
            opts,
            signature,
            attach,
        } => {
            let signature = signature.context("internal: no signature path")?;
            let signed = model_signing::oci::sign_model(
                &source,
                &opts,
                signer.as_ref(),
                &signature,
                attach,
            )?;
            let img = &signed.image;
            tracing::info!(
                "signed the OCI image {} (manifest sha256:{})",
                img.source,
                hex::encode(img.manifest_digest)
            );
            if attach {
                let at = model_signing::oci::attach(&source, img, &signed.bundle, &opts)
                    .with_context(|| {
                        format!(
                            "the signature was written to '{}' but could not be attached",
                            signature.display()
                        )
                    })?;
                tracing::info!("attached the signature to {} as {at}", img.source);
            }
            let digest = format!("sha256:{}", hex::encode(img.manifest_digest));
            (signed.outcome, signature, Some(digest))
        }
    };
    for w in &out.warnings {
        if out.method == sign::Method::Sigstore && w.starts_with("the new signature") {
            tracing::warn!(
                "{w} (if that root is out of date, run `model-signing trust-root update`)"
            );
        } else {
            tracing::warn!("{w}");
        }
    }
    tracing::info!(
        "signed {} files ({} resources), root digest sha256:{}, signature written to {}",
        out.files,
        out.resources,
        hex::encode(out.root_digest),
        signature.display()
    );
    if let Some(id) = &out.identity {
        tracing::info!(
            "signed as {} ({}); verify with --identity {} --identity-provider {}",
            id.identity,
            id.identity_provider,
            id.identity,
            id.identity_provider
        );
    }
    Ok(SignReport {
        signed: true,
        signature,
        oci_manifest,
        outcome: out,
    })
}

/// What a verify method resolved to, handed to the work that needs a verifier.
pub struct Trust<'a> {
    /// The model and its signature.
    pub target: &'a config::Target<config::VerifyConfig>,
    /// The options every method shares.
    pub common: &'a crate::args::CommonVerify,
    /// Checks a bundle's signature and signer.
    pub verifier: &'a dyn BundleVerifier,
    /// A policy rule's attestation requirements.
    pub rule: Option<&'a model_signing::attest::Requirements>,
    /// For sigstore: the trusted root used.
    pub trust_root: Option<model_signing::sigstore::trust::TrustRootInfo>,
    /// For a policy: the policy (its other rules decide for other models, such as a
    /// dependency's signed copy).
    pub policy: Option<&'a model_signing::policy::Policy>,
}

impl<'a> Trust<'a> {
    /// The trust of a method that names its signer directly (key, certificate, sigstore).
    fn of(
        target: &'a config::Target<config::VerifyConfig>,
        common: &'a crate::args::CommonVerify,
        verifier: &'a dyn BundleVerifier,
    ) -> Self {
        Trust {
            target,
            common,
            verifier,
            rule: None,
            trust_root: None,
            policy: None,
        }
    }
}

/// Resolves a verify method (its model, signature and trust) and runs `f` with it.
pub fn with_trust<R>(method: VerifyMethod, f: impl FnOnce(Trust<'_>) -> Result<R>) -> Result<R> {
    match method {
        VerifyMethod::Key(a) => {
            let c = config::verify(&a.common)?;
            let v = key_verifier(&a.trust)?;
            f(Trust::of(&c, &a.common, &v))
        }
        VerifyMethod::Certificate(a) => {
            let c = config::verify(&a.common)?;
            let v = certificate_verifier(&a.trust)?;
            f(Trust::of(&c, &a.common, &v))
        }
        VerifyMethod::Policy(mut a) => {
            let policy = model_signing::policy::load(&a.policy)?;
            // A ModelValidation says where the signature is (spec.model.signaturePath).
            if a.common.signature.is_none() {
                a.common.signature = policy.signature.clone();
            }
            let mut c = config::verify(&a.common)?;
            // The path the rule is chosen by is the path that is verified: resolved once, so a
            // link flipped between the two cannot pair one model's rule with another's files.
            if let config::Target::Files(f) = &mut c {
                f.model = model_signing::walk::canonical_root(&f.model)?;
            }
            let repo;
            let model = match &c {
                config::Target::Files(f) => model_signing::policy::ModelRef::Path(&f.model),
                config::Target::Oci { source, .. } => match source.as_ref() {
                    model_signing::oci::ModelSource::Registry(r) => {
                        repo = format!("{}/{}", r.registry, r.repository);
                        model_signing::policy::ModelRef::Oci(&repo)
                    }
                    _ => anyhow::bail!(
                        "a trust policy matches local paths and oci:// repositories; a \
                         manifest file (oci-manifest:) has neither"
                    ),
                },
            };
            let v = policy.verifier_for(&model)?;
            let rule = v.attestation_requirements();
            f(Trust {
                target: &c,
                common: &a.common,
                verifier: &v,
                rule,
                trust_root: None,
                policy: Some(&policy),
            })
        }
        VerifyMethod::Sigstore(a) => {
            let c = config::verify(&a.common)?;
            let (v, root) = crate::sigstore_verify::verifier(&a.trust)?;
            f(Trust {
                trust_root: Some(root),
                ..Trust::of(&c, &a.common, &v)
            })
        }
    }
}

/// The verifier of `verify key`'s trust flags.
pub fn key_verifier(t: &crate::args::KeyTrust) -> Result<KeyVerifier> {
    Ok(KeyVerifier::from_pem(&read(&t.public_key, "public key")?)
        .with_context(|| format!("cannot load public key '{}'", t.public_key.display()))?
        .with_timestamps(timestamp_policy(&t.tsa)?))
}

/// The verifier of `verify certificate`'s trust flags.
pub fn certificate_verifier(t: &crate::args::CertificateTrust) -> Result<CertificateVerifier> {
    let anchors = load_certs(&t.certificate_chain)?;
    if t.log_fingerprints {
        for cert in &anchors {
            tracing::info!(
                "[  init  ] sha256 Fingerprint: {} ({})",
                cert.fingerprint(),
                cert.subject()
            );
        }
    }
    let time = if t.validate_at_signing_time {
        ChainTime::SigningTime
    } else {
        ChainTime::Now
    };
    Ok(CertificateVerifier::new(anchors, time)?.with_timestamps(timestamp_policy(&t.tsa)?))
}

fn verify_cmd(method: VerifyMethod) -> ExitCode {
    let output = method.common().output;
    let result = with_trust(method, |t| run_verify(&t));
    match result {
        Ok(report) => {
            let text = match output {
                OutputFormat::Text => "Verification succeeded".to_string(),
                OutputFormat::Json => {
                    let mut v = serde_json::to_value(&report).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("verified".into(), true.into());
                    }
                    out::json(&v)
                }
            };
            out::success(&text, "the model was verified")
        }
        Err(e) => {
            if output == OutputFormat::Json {
                let mut v = serde_json::json!({ "verified": false, "error": render(&e) });
                if let Some(LibError::Mismatch(m)) = e.downcast_ref::<LibError>() {
                    v["problems"] = serde_json::to_value(m).unwrap_or_default();
                }
                out::failure_report(&out::json(&v));
            }
            fail(VERIFY_FAILED, &e)
        }
    }
}

/// Verifies with the resolved trust and logs a summary; shared by every verify method, and by
/// `provenance show`. The model's attestations are verified too when the flags or the policy
/// rule ask for them.
pub fn run_verify(t: &Trust<'_>) -> Result<verify::VerifyReport> {
    let (c, v, ignore_unsigned) = (t.target, t.verifier, t.common.ignore_unsigned_files);
    let mut report = match c {
        config::Target::Files(c) => verify::verify_model(&c.model, &c.signature, v, &c.options)?,
        config::Target::Oci {
            source,
            opts,
            signature: None,
            ..
        } => {
            let (report, img, at) =
                model_signing::oci::verify_attached(source, opts, v, ignore_unsigned)?;
            tracing::info!(
                "the OCI image {} (manifest sha256:{}) matches the signature attached as {at}",
                img.source,
                hex::encode(img.manifest_digest)
            );
            report
        }
        config::Target::Oci {
            source,
            opts,
            signature: Some(signature),
            ..
        } => {
            let (report, img) =
                model_signing::oci::verify_model(source, opts, signature, v, ignore_unsigned)?;
            tracing::info!(
                "the OCI image {} (manifest sha256:{}) matches the signature",
                img.source,
                hex::encode(img.manifest_digest)
            );
            report
        }
    };
    for (i, t) in report.signer.timestamps.iter().flatten().enumerate() {
        match (&t.time, &t.tsa) {
            (Some(time), Some(tsa)) if t.verified => {
                tracing::info!("timestamp {}: {time}, by {tsa} (verified)", i + 1)
            }
            _ => tracing::warn!(
                "timestamp {}: not verified ({}), not used",
                i + 1,
                t.error.as_deref().unwrap_or("unknown reason")
            ),
        }
    }
    tracing::info!(
        "verified {} files ({} {} resources, {}) signed by {}",
        report.files_checked,
        report.resources,
        report.serialization.method(),
        report.hash_type,
        report.signer.signer
    );
    if t.trust_root.is_some() {
        report.trust_root = t.trust_root.clone();
    }
    report.attestations = crate::attest_cmd::verify_claims(t, &report)?;
    Ok(report)
}

fn digest_cmd(d: &crate::args::DigestArgs) -> Result<String> {
    let (model, h) = config::digest(d)?;
    let (_, manifest) = model_signing::manifest::Manifest::for_model(&model, &h)?;
    Ok(format!("sha256:{}", hex::encode(manifest.root_digest())))
}
