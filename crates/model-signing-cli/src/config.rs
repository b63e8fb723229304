//! Resolves raw arguments into the one configuration the rest of the program reads.
//!
//! Path rules live here: ignore paths are relative to the current directory (as in Python) and must
//! land inside the model. The signature path is checked before a key is loaded or a password asked
//! for ([`model_signing::sign::check_signature_path`]); that it is left out of the model when it
//! lies inside is the library's rule (`sign_model`, `verify_model`). On `sign` and `digest` the git
//! paths are ignored unless `--no-ignore-git-paths`; on `verify` the bundle's recorded ignore list
//! decides unless one of the git flags is given.
//!
//! Secrets (a key password, an OAuth client secret) come from, in order: the flag, the `...-file`
//! flag, the environment variable, and (for a password) a prompt on the terminal; see [`Secret`].

use crate::args::{
    CommonSign, CommonVerify, DigestArgs, HashArgs, OciArgs, Secret, SignSigstoreArgs,
};
use anyhow::{bail, Context, Result};
use model_signing::hashing::{HashAlgorithm, HashingConfig, Serialization, DEFAULT_SHARD_SIZE};
use model_signing::oci::registry::RegistryOptions;
use model_signing::oci::{ModelSource, OciOptions};
use model_signing::verify::VerifyOptions;
use model_signing::walk::{self, IgnoreSet};
use std::path::{Path, PathBuf};

/// The resolved inputs of a sign command.
#[derive(Debug)]
pub struct SignConfig {
    /// The model path as given.
    pub model: PathBuf,
    /// Where the bundle goes.
    pub signature: PathBuf,
    /// How to hash.
    pub hashing: HashingConfig,
}

/// The resolved inputs of a verify command.
#[derive(Debug)]
pub struct VerifyConfig {
    /// The model path as given.
    pub model: PathBuf,
    /// The bundle.
    pub signature: PathBuf,
    /// Verification options.
    pub options: VerifyOptions,
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir().context("cannot determine the current directory")
}

fn check_model_exists(model: &Path) -> Result<()> {
    model_signing::walk::refuse_unsupported_reference(model)?;
    if std::fs::symlink_metadata(model).is_err() {
        bail!("the model path '{}' does not exist", model.display());
    }
    Ok(())
}

fn user_ignores(model: &Path, paths: &[PathBuf]) -> Result<IgnoreSet> {
    let cwd = cwd()?;
    let mut set = IgnoreSet::new();
    for p in paths {
        let rel = walk::resolve_user_path(model, &cwd, p)?;
        if rel == "." {
            bail!("ignore path '{}' is the whole model", p.display());
        }
        set.add(&rel)?;
    }
    Ok(set)
}

fn hashing(model: &Path, h: &HashArgs) -> Result<HashingConfig> {
    let algorithm: HashAlgorithm = h.hash_algorithm.parse()?;
    let serialization = match (h.shard_size, h.shards) {
        (Some(0), _) => bail!("--shard-size must be greater than 0"),
        (Some(n), _) => Serialization::Shards { shard_size: n },
        (None, true) => Serialization::Shards {
            shard_size: DEFAULT_SHARD_SIZE,
        },
        (None, false) => Serialization::Files,
    };
    let mut ignore = user_ignores(model, &h.ignore_paths)?;
    if !h.no_ignore_git_paths {
        ignore.add_git_paths();
    }
    Ok(HashingConfig {
        algorithm,
        serialization,
        allow_symlinks: h.allow_symlinks,
        ignore,
        engine: crate::progress::engine(h.max_workers),
    }
    .normalized())
}

/// What a sign or verify command works on.
pub enum Target<T> {
    /// Files, hashed (a directory or a single file).
    Files(T),
    /// An OCI image: a registry reference or a local manifest file.
    Oci {
        /// The reference or manifest file.
        source: Box<ModelSource>,
        /// How to reach it.
        opts: OciOptions,
        /// The bundle's path (`None`: verify with the signatures attached in the registry).
        signature: Option<PathBuf>,
        /// Sign only: also push the bundle to the registry.
        attach: bool,
    },
}

/// The OCI source `model` names, if it names one, with its options.
fn oci_target(
    model: &Path,
    o: &OciArgs,
    allow_unsigned_config: bool,
) -> Result<Option<(ModelSource, OciOptions)>> {
    let mut registry = RegistryOptions {
        plain_http: o.plain_http,
        ..Default::default()
    };
    if let Some(s) = o.registry_timeout {
        registry.deadline = std::time::Duration::from_secs(s);
    }
    let opts = OciOptions {
        platform: o.platform.clone(),
        registry,
        allow_unsigned_config,
    };
    if o.registry_timeout.is_some() && !model_signing::oci::is_reference(model) {
        bail!("--registry-timeout applies only to oci:// models");
    }
    Ok(model_signing::oci::detect_with(model, &opts)?.map(|s| (s, opts)))
}

/// Resolves the options shared by every sign method.
pub fn sign(c: &CommonSign) -> Result<Target<SignConfig>> {
    if let Some((source, opts)) = oci_target(&c.model_path, &c.oci, c.allow_unsigned_config)? {
        let h = &c.hash;
        if !h.ignore_paths.is_empty()
            || h.shard_size.is_some()
            || h.shards
            || h.allow_symlinks
            || !h.hash_algorithm.eq_ignore_ascii_case("sha256")
        {
            bail!(
                "--ignore-paths, --hash-algorithm, --shard-size, --shards and --allow-symlinks do \
                 not apply to an OCI image: its signature records the registry's sha256 digests \
                 of every layer and the config"
            );
        }
        if c.attach && !matches!(source, ModelSource::Registry(_)) {
            bail!("--attach needs an oci:// model: a manifest file has no registry to attach to");
        }
        model_signing::sign::check_signature_path(&c.signature)?;
        return Ok(Target::Oci {
            source: Box::new(source),
            opts,
            signature: Some(c.signature.clone()),
            attach: c.attach,
        });
    }
    if c.attach {
        bail!("--attach applies only to oci:// models");
    }
    if c.allow_unsigned_config {
        bail!("--allow-unsigned-config applies only to OCI images (oci:// and oci-manifest:)");
    }
    Ok(Target::Files(sign_files(c)?))
}

fn sign_files(c: &CommonSign) -> Result<SignConfig> {
    check_model_exists(&c.model_path)?;
    model_signing::sign::check_signature_path(&c.signature)?;
    let h = hashing(&c.model_path, &c.hash)?;
    Ok(SignConfig {
        model: c.model_path.clone(),
        signature: c.signature.clone(),
        hashing: h,
    })
}

/// Resolves the options shared by every verify method.
pub fn verify(c: &CommonVerify) -> Result<Target<VerifyConfig>> {
    if let Some((source, opts)) = oci_target(&c.model_path, &c.oci, false)? {
        if !c.ignore_paths.is_empty() || c.allow_symlinks {
            bail!(
                "--ignore-paths and --allow-symlinks do not apply to an OCI image (verify a pulled \
                 copy of it to leave files out)"
            );
        }
        if c.signature.is_none() && !matches!(source, ModelSource::Registry(_)) {
            bail!("--signature is required for a manifest file");
        }
        return Ok(Target::Oci {
            source: Box::new(source),
            opts,
            signature: c.signature.clone(),
            attach: false,
        });
    }
    Ok(Target::Files(verify_files(c)?))
}

fn verify_files(c: &CommonVerify) -> Result<VerifyConfig> {
    check_model_exists(&c.model_path)?;
    let Some(signature) = c.signature.clone() else {
        bail!("--signature is required (only an oci:// model can be verified with the signatures attached to it)");
    };
    let mut ignore = user_ignores(&c.model_path, &c.ignore_paths)?;
    // A claims file named inside the model is left out of it, as the one beside the signature is.
    if let Some(claims) = &c.attestations {
        if let Some(rel) = model_signing::sign::signature_ignore_path(&c.model_path, claims)? {
            ignore.add(&rel)?;
        }
    }
    Ok(VerifyConfig {
        model: c.model_path.clone(),
        signature,
        options: VerifyOptions {
            ignore,
            // Neither flag: the bundle decides (see `VerifyOptions::ignore_git_paths`).
            ignore_git_paths: match (c.ignore_git_paths, c.no_ignore_git_paths) {
                (_, true) => Some(false),
                (true, false) => Some(true),
                (false, false) => None,
            },
            ignore_unsigned_files: c.ignore_unsigned_files,
            allow_symlinks: c.allow_symlinks,
            engine: crate::progress::engine(c.max_workers),
            link_store: None,
        },
    })
}

/// Resolves `digest`'s options.
pub fn digest(d: &DigestArgs) -> Result<(PathBuf, HashingConfig)> {
    check_model_exists(&d.model_path)?;
    let h = hashing(&d.model_path, &d.hash)?;
    Ok((d.model_path.clone(), h))
}

pub use model_signing::limits::MAX_SECRET_FILE_BYTES;

/// Reads a secret from the file a `flag` names: a regular file (checked on the opened file, which
/// is opened without blocking, so a FIFO or `/dev/zero` fails at once) of at most
/// [`MAX_SECRET_FILE_BYTES`], UTF-8, without one trailing newline. Errors never show the content.
pub fn read_secret_file(path: &Path, flag: &str) -> Result<Secret> {
    model_signing::secret_file::read_line(path, MAX_SECRET_FILE_BYTES)
        .map(Secret::from)
        .with_context(|| format!("cannot read {flag} '{}'", path.display()))
}

/// The secret in the environment variable `name`; `None` when it is unset or empty.
pub fn env_secret(name: &str) -> Result<Option<Secret>> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => match v.into_string() {
            Ok(s) => Ok(Some(Secret::from(s))),
            Err(_) => bail!("{name} is not valid UTF-8"),
        },
    }
}

/// The OAuth client secret `sign sigstore` uses: `--client-secret`, else `--client-secret-file`,
/// else [`crate::args::CLIENT_SECRET_ENV`], else none.
pub fn client_secret(a: &SignSigstoreArgs) -> Result<Option<String>> {
    if let Some(s) = &a.client_secret {
        return Ok(Some(s.clone()));
    }
    let secret = match &a.client_secret_file {
        Some(p) => Some(read_secret_file(p, "--client-secret-file")?),
        None => env_secret(crate::args::CLIENT_SECRET_ENV)?,
    };
    Ok(secret.map(|s| s.expose().to_string()))
}
