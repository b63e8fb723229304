//! Verified load from Python: `open_verified` and the handle behind
//! `model_signing_rs.VerifiedModel`. The rules (what is read, hashed and compared) are
//! [`model_signing::verified`]'s; this converts arguments and results only.

use super::{
    build_verifier, check_model_exists, policy_of, to_py_err, verify_options, Op, VerifierSpec,
    VerifySpec,
};
use crate::progress::{self, PyProgress};
use model_signing::hashing::Progress;
use model_signing::policy::ModelRef;
use model_signing::verified::VerifiedModel;
use model_signing::Error;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict};
use std::mem::MaybeUninit;
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
        let err = |e| to_py_err(py, e, Op::Verify);
        let len = self.inner.buffer_len(name).map_err(err)?;
        let _held = model_signing::verified::reserve(len as u64).map_err(err)?;
        let mut fresh = Fresh::bytes(py, len)?;
        let buf = fresh.memory();
        let p = PyProgress::new(None);
        let stop = || p.cancelled();
        let r = if len >= WATCHED_READ {
            // On a thread of its own while this one runs Python's signal handlers: Ctrl-C stops
            // a multi-GiB read within a chunk (second outside review, F2).
            progress::run(py, &p, || self.inner.read_into_uninit(name, buf, &stop))?
        } else {
            // Over in milliseconds: a thread per read would cost more than the read (20,000
            // small files).
            py.allow_threads(|| self.inner.read_into_uninit(name, buf, &stop))
        };
        r.map_err(err)?;
        Ok(fresh.filled().downcast_into::<PyBytes>()?)
    }

    /// Reads the signed safetensors files `names` (verified, as `read`), in parallel on the
    /// engine's threads: each into a new `bytearray`, with its tensors laid out by the
    /// safetensors crate's own header parser and validator as `(name, dtype, shape, start, end)`
    /// byte ranges of that buffer.
    fn read_safetensors<'py>(
        &self,
        py: Python<'py>,
        names: Vec<String>,
    ) -> PyResult<Vec<(Bound<'py, PyByteArray>, Layout)>> {
        let err = |e| to_py_err(py, e, Op::Verify);
        let mut lens = Vec::with_capacity(names.len());
        for n in &names {
            lens.push(self.inner.buffer_len(n).map_err(err)?);
        }
        let total = lens.iter().fold(0usize, |t, l| t.saturating_add(*l));
        let _held = model_signing::verified::reserve(total as u64).map_err(err)?;
        let mut fresh = lens
            .iter()
            .map(|&l| Fresh::bytearray(py, l))
            .collect::<PyResult<Vec<_>>>()?;
        let jobs: Vec<(&str, &mut [MaybeUninit<u8>])> = names
            .iter()
            .map(String::as_str)
            .zip(fresh.iter_mut().map(Fresh::memory))
            .collect();
        let p = PyProgress::new(None);
        let stop = || p.cancelled();
        let results = progress::run(py, &p, || {
            let read = self.inner.read_many_uninit(jobs, &stop);
            read.into_iter()
                .zip(&names)
                .map(|(r, n)| r.map(|()| n.as_str()))
                .collect::<Vec<_>>()
        })?;
        let mut out = Vec::with_capacity(names.len());
        for (f, r) in fresh.into_iter().zip(results) {
            let name = r.map_err(err)?;
            let buf = f.filled().downcast_into::<PyByteArray>()?;
            // SAFETY: the bytearray was filled above and no Python code has a reference to it
            // yet, so nothing can resize or write it while this view is read.
            let layout = tensor_layout(name, unsafe { buf.as_bytes() }).map_err(err)?;
            out.push((buf, layout));
        }
        Ok(out)
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

/// Reads from this size on run beside the caller's signal handling (`progress::run`).
const WATCHED_READ: usize = 16 << 20;

/// A safetensors file's tensors: `(name, dtype, shape, start, end)`, byte ranges of its buffer.
type Layout = Vec<(String, String, Vec<usize>, usize, usize)>;

/// A new `bytes` or `bytearray` object whose memory is not initialised yet, and that memory,
/// to be filled before the object reaches Python code ([`Self::filled`]).
///
/// Why: pyo3's safe constructors zero-fill the buffer first. For a verified read that pass
/// touches every page of fresh memory once more before `pread` writes it (on the development
/// machine, 8 x 256 MiB: about 0.6 s of the 2.1 s a verified load took, against 0.4 s for the
/// faulting read itself), which made verified load slower than verify-then-load. The memory is
/// handed out as `MaybeUninit<u8>`, which the library fills through rustix's safe `pread`.
struct Fresh<'py> {
    obj: Bound<'py, PyAny>,
    ptr: *mut MaybeUninit<u8>,
    len: usize,
}

/// A C API constructor of `bytes` or `bytearray` from a pointer and a size
/// (`PyBytes_FromStringAndSize`, `PyByteArray_FromStringAndSize`).
type Create = unsafe extern "C" fn(
    *const std::os::raw::c_char,
    pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject;

/// The C API accessor of such an object's buffer (`PyBytes_AsString`, `PyByteArray_AsString`).
type Buffer = unsafe extern "C" fn(*mut pyo3::ffi::PyObject) -> *mut std::os::raw::c_char;

impl<'py> Fresh<'py> {
    fn bytes(py: Python<'py>, len: usize) -> PyResult<Self> {
        Self::new(
            py,
            len,
            pyo3::ffi::PyBytes_FromStringAndSize,
            pyo3::ffi::PyBytes_AsString,
        )
    }

    fn bytearray(py: Python<'py>, len: usize) -> PyResult<Self> {
        Self::new(
            py,
            len,
            pyo3::ffi::PyByteArray_FromStringAndSize,
            pyo3::ffi::PyByteArray_AsString,
        )
    }

    fn new(py: Python<'py>, len: usize, create: Create, buffer: Buffer) -> PyResult<Self> {
        let size = pyo3::ffi::Py_ssize_t::try_from(len)
            .map_err(|_| pyo3::exceptions::PyMemoryError::new_err(len))?;
        // SAFETY: `create(NULL, n)` (`PyBytes_FromStringAndSize` or
        // `PyByteArray_FromStringAndSize`) returns a new reference to an object of `n`
        // uninitialised bytes, or NULL with an exception set, which `from_owned_ptr_or_err` turns
        // into an error; `buffer` on it (`PyBytes_AsString` or `PyByteArray_AsString`) returns
        // its memory (a valid pointer for zero bytes too), which stays where it is while the
        // object lives and is not resized, and nothing can resize it: no other code has a
        // reference to it. The GIL is held (`py`).
        unsafe {
            let obj = Bound::from_owned_ptr_or_err(py, create(std::ptr::null(), size))?;
            let ptr = buffer(obj.as_ptr()).cast::<MaybeUninit<u8>>();
            Ok(Fresh { obj, ptr, len })
        }
    }

    /// The object's memory, borrowed from `self` (so it cannot outlive the object).
    fn memory(&mut self) -> &mut [MaybeUninit<u8>] {
        if self.len == 0 || self.ptr.is_null() {
            return &mut [];
        }
        // SAFETY: `ptr` points to `len` bytes owned by `obj`, which `self` keeps alive and which
        // no one else references (it was created above and has not been returned); the `&mut
        // self` borrow makes this the only slice of it. `MaybeUninit<u8>` needs no
        // initialisation, and the object is never resized meanwhile.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// The object, once the caller has initialised all of its memory (on an error the object is
    /// dropped instead, never shown to Python code).
    fn filled(self) -> Bound<'py, PyAny> {
        self.obj
    }
}

/// The tensors of a safetensors file in `buf`, parsed and validated by the safetensors crate
/// (`SafeTensors::read_metadata`: header size, UTF-8 JSON, dtype times shape equal to each
/// tensor's span, contiguous offsets covering the buffer exactly).
fn tensor_layout(name: &str, buf: &[u8]) -> Result<Layout, Error> {
    let (n, meta) = safetensors::SafeTensors::read_metadata(buf).map_err(|e| {
        Error::Model(format!(
            "'{}' is not a valid safetensors file: {}",
            model_signing::error::untrusted_text(name, 300),
            model_signing::error::untrusted_text(&e.to_string(), 300)
        ))
    })?;
    let base = n.saturating_add(8);
    let mut out: Layout = meta
        .tensors()
        .into_iter()
        .map(|(k, info)| {
            (
                k,
                info.dtype.to_string(),
                info.shape.clone(),
                base.saturating_add(info.data_offsets.0),
                base.saturating_add(info.data_offsets.1),
            )
        })
        .collect();
    out.sort_by_key(|t| t.3);
    Ok(out)
}

fn open_inner(
    model: &Path,
    signature: Option<&Path>,
    verifier: &VerifierSpec,
    spec: &VerifySpec,
    huggingface: Option<&str>,
    claims: Option<&crate::attest::ClaimsSpec>,
) -> Result<(VerifiedModel, PathBuf, PathBuf), Error> {
    let policy = policy_of(verifier)?;
    let mut opts = verify_options(model, spec, None)?;
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
    // The attestations are checked as `verify` checks them: what the caller asks, and what the
    // policy's rule asks whether or not the caller asks anything (the outside review loaded
    // weights under a policy whose attestation rules it never applied).
    let attested = |opened: &mut VerifiedModel,
                    v: &dyn model_signing::verify::BundleVerifier,
                    rule: Option<&model_signing::attest::Requirements>|
     -> Result<(), Error> {
        let mut request = match claims {
            Some(c) => c.request(rule)?,
            None => model_signing::attest::claims::Request {
                rule,
                ..Default::default()
            },
        };
        request.link_store = opts.link_store.clone();
        let report = opened.report();
        let a = model_signing::attest::claims::verify_for_model(&request, &signature, &report, v)?;
        opened.set_attestations(a);
        Ok(())
    };
    let opened = match &policy {
        Some(policy) => {
            let model_ref = match &snapshot {
                Some(s) => ModelRef::HuggingFace(&s.repo_id),
                None => ModelRef::Path(&root),
            };
            let v = policy.verifier_for(&model_ref)?;
            let mut m = VerifiedModel::open_bundle(&root, bundle, &signature, &v, &opts)?;
            attested(&mut m, &v, v.attestation_requirements())?;
            m
        }
        None => {
            let v = build_verifier(verifier)?;
            let mut m = VerifiedModel::open_bundle(&root, bundle, &signature, v.as_ref(), &opts)?;
            attested(&mut m, v.as_ref(), None)?;
            m
        }
    };
    Ok((opened, root, signature))
}

/// Verifies the signature and signer of a local model (or, with `huggingface`, a snapshot of
/// that repo id in a Hugging Face cache), lists it against the signed manifest, and returns the
/// handle its files are read through.
#[pyfunction]
#[pyo3(signature = (model_path, signature_path, verifier, options, huggingface=None, attestations=None))]
pub fn open_verified(
    py: Python<'_>,
    model_path: PathBuf,
    signature_path: Option<PathBuf>,
    verifier: VerifierSpec,
    options: VerifySpec,
    huggingface: Option<String>,
    attestations: Option<crate::attest::ClaimsSpec>,
) -> PyResult<VerifiedHandle> {
    let (inner, model, signature) = py
        .allow_threads(|| {
            open_inner(
                &model_path,
                signature_path.as_deref(),
                &verifier,
                &options,
                huggingface.as_deref(),
                attestations.as_ref(),
            )
        })
        .map_err(|e| to_py_err(py, e, Op::Verify))?;
    Ok(VerifiedHandle {
        inner,
        model,
        signature,
    })
}

/// The memory a verified read may still take (see `model_signing::verified::available_memory`);
/// `None` where it is unknown.
#[pyfunction]
pub fn available_memory() -> Option<u64> {
    model_signing::verified::available_memory()
}

/// Memory held back from verified reads while the object is entered, as a read under way on
/// another thread holds it (for tests and for callers that load other large objects alongside).
#[pyclass(module = "model_signing_rs._native")]
pub struct MemoryReservation {
    bytes: u64,
    held: Option<model_signing::verified::Reservation>,
}

#[pymethods]
impl MemoryReservation {
    #[new]
    fn new(bytes: u64) -> Self {
        MemoryReservation { bytes, held: None }
    }

    fn __enter__(mut slf: PyRefMut<'_, Self>, py: Python<'_>) -> PyResult<()> {
        let r = model_signing::verified::reserve(slf.bytes)
            .map_err(|e| to_py_err(py, e, Op::Verify))?;
        slf.held = Some(r);
        Ok(())
    }

    fn __exit__(
        &mut self,
        _t: Option<Bound<'_, PyAny>>,
        _v: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) {
        self.held = None;
    }
}
