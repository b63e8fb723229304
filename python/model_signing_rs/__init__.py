"""model_signing_rs: sign and verify ML models (OpenSSF Model Signing) on a Rust engine.

The API is the one of the reference package ``model_signing`` 1.1.1, so switching is one line::

    import model_signing_rs as model_signing
"""

from __future__ import annotations

from typing import Optional

from . import _native, attest, errors, hashing, manifest, policy, signing, verified, verifying
from ._paths import PathLike
from .errors import MismatchError, ModelSigningError, VerificationError
from .verified import VerifiedModel, open_verified

__version__: str = _native.__version__

__all__ = [
    "attest",
    "digest",
    "errors",
    "hashing",
    "manifest",
    "policy",
    "signing",
    "verified",
    "verifying",
    "open_verified",
    "VerifiedModel",
    "MismatchError",
    "ModelSigningError",
    "VerificationError",
]


def digest(model_path: PathLike, hashing_config: Optional[hashing.Config] = None) -> str:
    """The model's root digest, ``sha256:<hex>``, as ``model-signing digest`` prints it.

    It is the digest a signature of the model with the same hashing configuration records.
    """
    return "sha256:" + hashing._root_digest(model_path, hashing_config).hex()
