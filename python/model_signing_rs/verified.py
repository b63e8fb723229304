"""Verified load: the bytes your code receives are the bytes that were hashed.

Verifying a model and then loading it with another library leaves a gap: between the hash and the
load, a file can be replaced or rewritten, and what is loaded is not what was checked.
``open_verified`` closes it. It checks the signature and the signer first (with a trust policy or
a ``verifying.Config``), lists the model against the signed manifest (a missing, extra or resized
file fails at once), and then hands out files only through reads that hash the very bytes they
return: each file is read once into private memory, hashed in that read and compared with its
signed digest before you get it. A file that does not match raises ``MismatchError``; a file the
signature does not list is never read (``ModelError``). What you hold afterwards is a private
copy: later changes to the file on disk do not reach it.

::

    from model_signing_rs import open_verified, policy

    with open_verified("models/bert", policy=policy.load("policy.yaml")) as model:
        tensors = model.load_safetensors("model.safetensors")   # numpy arrays
        config = json.loads(model.read_bytes("config.json"))
        with model.open("tokenizer.json") as f:
            ...
        print(model.report.signer)

Memory: each read holds one whole file (as ``safetensors.numpy.load`` needs it).
"""

from __future__ import annotations

import io
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from . import _native
from ._paths import PathLike, fspath
from .errors import ConfigError, ModelError, UnsupportedError
from .hashing import Config as HashingConfig
from .policy import Policy
from .verifying import Config as VerifyingConfig
from .verifying import VerificationReport, _claims_spec, _options, _report

__all__ = ["VerifiedModel", "open_verified"]


class VerifiedModel:
    """A model whose signature verified; its files are read only through verified reads.

    A context manager: after ``close()`` (or the ``with`` block) every read raises ``ValueError``.
    Safe to share between threads.
    """

    def __init__(self, handle: Any) -> None:
        self._handle: Optional[Any] = handle

    def _h(self) -> Any:
        if self._handle is None:
            raise ValueError("the verified model is closed")
        return self._handle

    def __enter__(self) -> "VerifiedModel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases the model; reads raise ``ValueError`` afterwards."""
        self._handle = None

    @property
    def path(self) -> str:
        """The model directory (canonical)."""
        return fspath(self._h().model_path)

    @property
    def signature_path(self) -> str:
        """The signature that was verified."""
        return fspath(self._h().signature_path)

    @property
    def files(self) -> Tuple[str, ...]:
        """The signed files' names (POSIX, relative to the model), sorted."""
        return tuple(self._h().names())

    @property
    def verified_files(self) -> Tuple[str, ...]:
        """The files read and matched so far."""
        return tuple(self._h().verified_names())

    @property
    def report(self) -> VerificationReport:
        """The signer and the signed parameters; ``files_checked`` counts the files read and
        matched so far (``verify_all`` checks the rest)."""
        return _report(self._h().report())

    def size(self, name: str) -> int:
        """The size in bytes of the signed file ``name``."""
        return int(self._h().size(name))

    def read_bytes(self, name: str) -> bytes:
        """The content of the signed file ``name``, hashed in the same read and matched.

        Raises ``MismatchError`` when it differs from the signed file, ``ModelError`` for a name
        the signature does not list, ``ModelError`` also when the file was replaced since the
        model was opened.
        """
        data: bytes = self._h().read(name)
        return data

    def open(self, name: str) -> io.BytesIO:
        """A binary file-like object over the verified content of ``name`` (for configs and
        tokenizers); read fully, and checked, before it is returned."""
        return io.BytesIO(self.read_bytes(name))

    def load_safetensors(self, name: str, *, copy: bool = False) -> Dict[str, Any]:
        """The tensors of the signed safetensors file ``name`` as numpy arrays, from verified
        bytes (needs ``numpy``).

        By default the arrays are writable views of one private buffer holding the verified file
        (no copy), laid out by the safetensors format's own parser and validator (the Rust
        ``safetensors`` crate under the ``safetensors`` package); ``copy=True`` passes the
        verified bytes to the ``safetensors`` package's ``safetensors.numpy.load`` instead (a copy
        per tensor, as the package does).
        """
        if copy:
            from safetensors.numpy import load

            data = self.read_bytes(name)
            try:
                tensors: Dict[str, Any] = load(data)
            except KeyError as e:  # safetensors.numpy's dtype table
                raise UnsupportedError(
                    f"a tensor of {name!r} has dtype {e.args[0] if e.args else '?'}, which numpy "
                    "has no type for"
                ) from e
            except Exception as e:  # SafetensorError (not a ValueError), numpy's ValueError
                raise ModelError(f"{name!r} is not a valid safetensors file: {e}") from e
            return tensors
        return self.load_all_safetensors([name])[name]

    def load_all_safetensors(
        self, names: Optional[Iterable[str]] = None
    ) -> Dict[str, Dict[str, Any]]:
        """``load_safetensors`` of several files (by default every signed ``*.safetensors``),
        read and hashed in parallel: ``{file name: {tensor name: array}}``."""
        if names is None:
            wanted = [f for f in self.files if f.endswith(".safetensors")]
        else:
            wanted = list(names)
        out: Dict[str, Dict[str, Any]] = {}
        for name, (buf, layout) in zip(wanted, self._h().read_safetensors(wanted)):
            out[name] = _arrays(name, buf, layout)
        return out

    def verify_all(self) -> VerificationReport:
        """Hashes every signed file not read yet, so the report covers the whole model; raises
        ``MismatchError`` listing every file that differs."""
        self._h().verify_all()
        return self.report


# The safetensors dtypes numpy has, as ``safetensors.numpy`` maps them (its ``_TYPES``).
_NUMPY_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "U64": "<u8",
    "I32": "<i4",
    "U32": "<u4",
    "I16": "<i2",
    "U16": "<u2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
    "C64": "<c8",
}


def _arrays(file: str, buf: bytearray, layout: List[Tuple[str, str, List[int], int, int]]) -> Dict[str, Any]:
    import numpy as np

    arrays: Dict[str, Any] = {}
    for name, dtype, shape, start, end in layout:
        code = _NUMPY_DTYPES.get(dtype)
        if code is None:
            raise UnsupportedError(
                f"tensor {name!r} of {file!r} has dtype {dtype}, which numpy has no type for"
            )
        dt = np.dtype(code)
        try:
            arrays[name] = np.frombuffer(
                buf, dtype=dt, count=(end - start) // dt.itemsize, offset=start
            ).reshape(shape)
        except ValueError as e:  # numpy's own limits (more than 64 dimensions, ...)
            raise ModelError(f"tensor {name!r} of {file!r} cannot be a numpy array: {e}") from e
    return arrays


def open_verified(
    model_path: PathLike,
    signature_path: Optional[PathLike] = None,
    *,
    policy: Union[Policy, PathLike, None] = None,
    config: Optional[VerifyingConfig] = None,
    hashing_config: Optional[HashingConfig] = None,
    ignore_unsigned_files: bool = False,
    attestations: Optional[PathLike] = None,
    require: Iterable[str] = (),
    _huggingface: Optional[str] = None,
) -> VerifiedModel:
    """Verifies the signature of the local model at ``model_path`` and returns a
    ``VerifiedModel`` to read its files through.

    The signer is checked by ``policy`` (a ``policy.Policy`` or the path of a policy file: the
    rule for this model decides) or by ``config`` (a ``verifying.Config`` with its method set);
    give exactly one. ``signature_path`` defaults to the policy's ``signaturePath`` (a
    ``ModelValidation``), else ``MODEL/model.sig``. ``hashing_config`` contributes what it does
    to ``verifying.Config.verify`` (extra ignore paths, git paths, symlinks). The model's
    attestations are checked as ``verifying.Config.verify`` checks them: those a policy's rule
    asks for, and ``attestations``/``require``; ``report.attestations`` lists them.
    """
    if (policy is None) == (config is None):
        raise ConfigError("give exactly one of policy and config")
    if config is None:
        assert policy is not None
        path = policy.path if isinstance(policy, Policy) else policy
        config = VerifyingConfig()._use("policy", policy=fspath(path))
    if hashing_config is None:
        hashing_config = config._hashing_config
    ignore_unsigned_files = ignore_unsigned_files or config._ignore_unsigned_files
    handle = _native.open_verified(
        fspath(model_path),
        None if signature_path is None else fspath(signature_path),
        config._spec(),
        _options(hashing_config, ignore_unsigned_files),
        _huggingface,
        _claims_spec(attestations, require),
    )
    return VerifiedModel(handle)
