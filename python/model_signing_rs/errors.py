"""The exceptions of model_signing_rs.

Every failure of the engine is a ``ValueError`` subclass (the reference's contract: a model that
does not verify raises ``ValueError``), except file system errors, which are ``OSError`` (with the
usual subclasses such as ``FileNotFoundError``). The message is the engine's one-line message,
except for ``MismatchError``, whose message lists up to 20 files, one per line (its attributes
list them all).
"""

from __future__ import annotations

from typing import List, NamedTuple


class ModelSigningError(ValueError):
    """Base class of every model_signing_rs error that is not an ``OSError``."""


class ConfigError(ModelSigningError):
    """The configuration is inconsistent (unknown algorithm, bad ignore path, ...)."""


class ModelError(ModelSigningError):
    """The model cannot be signed or verified as it is (empty, special file, bad name, ...)."""


class SymlinkError(ModelError):
    """The model contains a symlink and symlinks are not allowed."""


class InvalidBundleError(ModelSigningError):
    """The signature bundle or its signed statement is malformed."""


class InvalidKeyError(ModelSigningError):
    """A key could not be loaded (malformed, unsupported, wrong password, ...)."""


class CertificateError(ModelSigningError):
    """A certificate could not be loaded or does not fit the key."""


class Pkcs11Error(ModelSigningError):
    """A PKCS#11 module, token, PIN or key problem."""


class SigstoreError(ModelSigningError):
    """Sigstore keyless signing failed (identity token, Fulcio, Rekor, TSA)."""


class UnsupportedError(ModelSigningError):
    """Something recognised but not implemented (yet)."""


class RegistryError(ModelSigningError):
    """An OCI registry could not be reached, refused access, or served an unusable manifest."""


class TimestampServiceError(ModelSigningError):
    """Signing failed because a time-stamping authority (``tsa_url``) did not answer usefully;
    no signature was written."""


class VerificationError(ModelSigningError):
    """The model did not verify."""


class SignatureError(VerificationError):
    """The signature is not valid, or not by the expected signer."""


class UntrustedCertificateError(VerificationError, CertificateError):
    """The certificate chain in the bundle does not lead to a trusted anchor (or is not valid)."""


class AttestationError(VerificationError):
    """An attestation (a line of a claims file) does not verify, is about another model, or is
    not one the requirements accept; the message names the file and the line."""


class TimestampError(VerificationError):
    """An RFC 3161 timestamp in the bundle does not verify (tampered, issued for another
    signature, or by an untrusted authority), or one was required and none verified."""


class ChangedFile(NamedTuple):
    """A resource whose digest differs: its name, the signed and the actual digest (hex)."""

    name: str
    expected: str
    actual: str


class ResizedFile(NamedTuple):
    """A sharded file whose size differs from the signed one."""

    name: str
    expected_size: int
    actual_size: int


class MismatchError(VerificationError):
    """The model on disk differs from the signed manifest.

    ``missing``: signed resources not on disk; ``extra``: resources on disk that were not signed;
    ``changed``: resources whose digest differs; ``resized``: sharded files whose size differs.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.missing: List[str] = []
        self.extra: List[str] = []
        self.changed: List[ChangedFile] = []
        self.resized: List[ResizedFile] = []


__all__ = [
    "ModelSigningError",
    "ConfigError",
    "ModelError",
    "SymlinkError",
    "InvalidBundleError",
    "InvalidKeyError",
    "CertificateError",
    "Pkcs11Error",
    "SigstoreError",
    "UnsupportedError",
    "TimestampServiceError",
    "RegistryError",
    "VerificationError",
    "TimestampError",
    "AttestationError",
    "SignatureError",
    "UntrustedCertificateError",
    "ChangedFile",
    "ResizedFile",
    "MismatchError",
]
