//! Verified load from Python: `open_verified` and the handle behind
//! `model_signing_rs.VerifiedModel`. The rules (what is read, hashed and compared) are
//! [`model_signing::verified`]'s; this converts arguments and results only.

use super::{
    build_verifier, check_model_exists, engine, resolve_ignores, to_py_err, Op, VerifierSpec,
    VerifySpec,
};
use model_signing::policy::ModelRef;
use model_signing::verified::VerifiedModel;
use model_signing::verify::VerifyOptions;
use model_signing::Error;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::path::{Path, PathBuf};

/// A verified model (see `model_signing_rs.verified`): read-only, shareable between threads.
#[pyclass(module = "model_signing_rs._native", frozen)]
pub struct VerifiedHandle {
    inner: VerifiedModel,
    /// The model directory (canonical) and the signature that was verified.
    model: PathBuf,
    signature: PathBuf,
}

#[pymethods]
impl VerifiedHandle {
    /// The signed files' names, sorted.
    fn names(&self) -> Vec<String> {
        self.inner.names().map(str::to_string).collect()
    }

    /// The names read and matched so far.
    fn verified_names(&self) -> Vec<String> {
        self.inner.verified_names()
    }

    /// The model directory (canonical).
    #[getter]
    fn model_path(&self) -> PathBuf {
        self.model.clone()
    }

    /// The signature file that was verified.
    #[getter]
    fn signature_path(&self) -> PathBuf {
        self.signature.clone()
    }

    /// The size of a signed file.
    fn size(&self, py: Python<'_>, name: &str) -> PyResult<u64> {
        self.inner
            .size(name)
            .map_err(|e| to_py_err(py, e, Op::Verify))
    }

    /// The file's bytes, read once, hashed in that read and matched against the signature; the
    /// GIL is released while reading.
    fn read<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        let len = self
            .inner
            .buffer_len(name)
            .map_err(|e| to_py_err(py, e, Op::Verify))?;
        // Read straight into the new bytes object, which no other thread can see yet.
        PyBytes::new_with(py, len, |buf| {
            py.allow_threads(|| self.inner.read_into(name, buf))
                .map_err(|e| to_py_err(py, e, Op::Verify))
        })
    }

    /// Hashes every signed file not read yet and compares; returns the number checked in all.
    fn verify_all(&self, py: Python<'_>) -> PyResult<usize> {
        py.allow_threads(|| self.inner.verify_all())
            .map_err(|e| to_py_err(py, e, Op::Verify))
    }

    /// The verification report, as `verify_model` returns it.
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        super::report_dict(py, &self.inner.report())
    }
}

fn open_inner(
    model: &Path,
    signature: Option<&Path>,
    verifier: &VerifierSpec,
    spec: &VerifySpec,
    huggingface: Option<&str>,
) -> Result<(VerifiedModel, PathBuf, PathBuf), Error> {
    let policy = match (verifier.method.as_str(), &verifier.policy) {
        ("policy", Some(path)) => Some(model_signing::policy::load(path)?),
        ("policy", None) => return Err(Error::Config("no policy file was given".into())),
        _ => None,
    };
    let mut opts = VerifyOptions {
        ignore: resolve_ignores(model, &spec.ignore_paths)?,
        ignore_git_paths: spec.ignore_git_paths,
        ignore_unsigned_files: spec.ignore_unsigned_files,
        allow_symlinks: spec.allow_symlinks,
        engine: engine(spec.max_workers, None),
        link_store: None,
    };
    // Resolved once: the rule is chosen by, and the files read from, the same directory.
    let snapshot = match huggingface {
        Some(id) => Some(model_signing::huggingface::snapshot(model, id)?),
        None => None,
    };
    let root = match &snapshot {
        Some(s) => {
            opts.link_store = Some(s.store.clone());
            s.path.clone()
        }
        None => {
            check_model_exists(model)?;
            model_signing::walk::canonical_root(model)?
        }
    };
    // A signature the caller (or the policy) names is read as named; the default one inside the
    // model is not followed out of it.
    let (signature, bundle) = match signature
        .map(Path::to_path_buf)
        .or_else(|| policy.as_ref().and_then(|p| p.signature.clone()))
    {
        Some(s) => {
            let b = model_signing::bundle::read(&s)?;
            (s, b)
        }
        None => {
            let s = root.join("model.sig");
            let b = model_signing::verified::read_default_signature(&s, opts.link_store.as_ref())?;
            (s, b)
        }
    };
    let opened = match &policy {
        Some(policy) => {
            let model_ref = match &snapshot {
                Some(s) => ModelRef::HuggingFace(&s.repo_id),
                None => ModelRef::Path(&root),
            };
            let v = policy.verifier_for(&model_ref)?;
            VerifiedModel::open_bundle(&root, bundle, &signature, &v, &opts)?
        }
        None => {
            let v = build_verifier(verifier)?;
            VerifiedModel::open_bundle(&root, bundle, &signature, v.as_ref(), &opts)?
        }
    };
    Ok((opened, root, signature))
}

/// Verifies the signature and signer of a local model (or, with `huggingface`, a snapshot of
/// that repo id in a Hugging Face cache), lists it against the signed manifest, and returns the
/// handle its files are read through.
#[pyfunction]
#[pyo3(signature = (model_path, signature_path, verifier, options, huggingface=None))]
pub fn open_verified(
    py: Python<'_>,
    model_path: PathBuf,
    signature_path: Option<PathBuf>,
    verifier: VerifierSpec,
    options: VerifySpec,
    huggingface: Option<String>,
) -> PyResult<VerifiedHandle> {
    let (inner, model, signature) = py
        .allow_threads(|| {
            open_inner(
                &model_path,
                signature_path.as_deref(),
                &verifier,
                &options,
                huggingface.as_deref(),
            )
        })
        .map_err(|e| to_py_err(py, e, Op::Verify))?;
    Ok(VerifiedHandle {
        inner,
        model,
        signature,
    })
}
