"""Verifying a model, as the reference's ``model_signing.verifying``.

Every hashing parameter (serialization, hash algorithm, shard size, symlink policy, recorded ignore
paths) is read from the signature, so ``set_hashing_config`` only contributes what the signer did
not decide: extra ignore paths, whether to ignore git paths (by default the bundle decides),
following symlinks, the number of workers and the progress callback. ``verify`` returns a ``VerificationReport`` (the
reference returns ``None``) and raises a ``VerificationError`` (a ``ValueError``) when the model
does not verify; a ``MismatchError`` lists the missing, extra and changed files.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import pathlib
import re
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional

from . import _native
from ._paths import PathLike, fspath
from .errors import ConfigError
from .hashing import Config as HashingConfig

if TYPE_CHECKING:
    from .attest import Attestation

__all__ = ["Config", "Timestamp", "VerificationReport"]

_logger = logging.getLogger(__name__)

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def _log_fingerprint(where: str, der: bytes) -> None:
    """The reference's fingerprint log line for one DER certificate."""
    fp = hashlib.sha256(der).digest()
    _logger.info("[%s] sha256 Fingerprint: %s", f"{where:^8}", ":".join(f"{b:02X}" for b in fp))


@dataclasses.dataclass(frozen=True)
class Timestamp:
    """An RFC 3161 timestamp of the bundle, as verification found it."""

    time: Optional[str]
    tsa: Optional[str]
    verified: bool
    error: Optional[str]


@dataclasses.dataclass(frozen=True)
class VerificationReport:
    """What a successful verification established."""

    signer: str
    method: str
    model_name: str
    root_digest: Optional[str]
    serialization: str
    hash_type: str
    shard_size: Optional[int]
    signed_ignore_paths: List[str]
    files_checked: int
    resources: int
    signature_ignored_as: Optional[str]
    warnings: List[str]
    timestamps: List[Timestamp] = dataclasses.field(default_factory=list)
    signature_source: Optional[str] = None
    #: The verified attestations (``attestations=`` or ``require=`` given, or a policy that
    #: asks for them), in claims-file order; ``None`` when none were asked for.
    attestations: Optional[List["Attestation"]] = None


def _report(d: Dict[str, Any]) -> VerificationReport:
    """A report from the dict the engine returns."""
    d["timestamps"] = [Timestamp(**t) for t in d.get("timestamps", [])]
    from .attest import _attestations

    text = d.pop("attestations", None)
    d["attestations"] = None if text is None else _attestations(json.loads(text))
    return VerificationReport(**d)


def _options(h: Optional[HashingConfig], ignore_unsigned_files: bool) -> Dict[str, Any]:
    """The verification options the engine takes, from a hashing configuration (or none)."""
    return {
        "ignore_paths": [] if h is None else h._serializer_ignores + h._ignored_paths,
        "ignore_git_paths": None if h is None else h._ignore_git_paths,
        "allow_symlinks": False if h is None else h._allow_symlinks,
        "max_workers": None if h is None else h._max_workers,
        "progress": None if h is None else h._progress,
        "ignore_unsigned_files": ignore_unsigned_files,
    }


def _claims_spec(attestations: Optional[PathLike], require: Iterable[str]) -> Dict[str, Any]:
    """The engine's attestation request."""
    req = [require] if isinstance(require, str) else list(require)
    return {
        "path": None if attestations is None else fspath(attestations),
        "require": [str(k) for k in req],
    }


class Config:
    """How to verify: the verifier and the (few) hashing options that verification takes."""

    def __init__(self) -> None:
        self._verifier: Optional[Dict[str, Any]] = None
        self._log_fingerprints = False
        self._hashing_config: Optional[HashingConfig] = None
        self._ignore_unsigned_files = False

    def verify(
        self,
        model_path: PathLike,
        signature_path: PathLike,
        *,
        plain_http: bool = False,
        platform: Optional[str] = None,
        oci_manifest: bool = False,
        attestations: Optional[PathLike] = None,
        require: Iterable[str] = (),
    ) -> VerificationReport:
        """Verifies the model at ``model_path`` against the bundle at ``signature_path``.

        ``model_path`` may be an OCI image, or a local manifest file with ``oci_manifest=True``,
        as in ``signing.Config.sign``: the manifest fetched now must list exactly the signed
        layers and config. Without it, a path is a model and is hashed, whatever it contains or
        however it is spelled.

        Not in the reference: with ``attestations`` (a claims file) or ``require`` (kinds:
        ``"provenance"``, ``"model-card"``, ``"eval"``; the claims file then defaults to
        ``claims.jsonl`` beside the signature), every attestation must verify with this same
        verifier and be about this model; ``report.attestations`` lists them. A failure raises
        ``AttestationError`` naming the line.
        """
        verifier = self._spec()
        options = _options(self._hashing_config, self._ignore_unsigned_files)
        if self._log_fingerprints and verifier.get("method") == "certificate":
            for der in _native.bundle_certificates(fspath(signature_path)) or []:
                _log_fingerprint("verify", der)
        d = _native.verify_model(
            fspath(model_path),
            fspath(signature_path),
            verifier,
            options,
            {"plain_http": plain_http, "platform": platform, "oci_manifest": oci_manifest},
            _claims_spec(attestations, require),
        )
        # What verification did not check (an OCI signature that binds names and digests only,
        # a config without a resource) goes to the log too: code written for the reference, whose
        # verify returns None, never reads the report.
        for w in d.get("warnings", []):
            _logger.warning("%s", w)
        return _report(d)

    def _spec(self) -> Dict[str, Any]:
        """The verifier as the engine takes it; ``ConfigError`` when no method was chosen."""
        if self._verifier is None:
            raise ConfigError(
                "no verifier configured: call use_elliptic_key_verifier, "
                "use_certificate_verifier or use_sigstore_verifier first"
            )
        return self._verifier

    def set_hashing_config(self, hashing_config: HashingConfig) -> "Config":
        """Sets extra ignore paths, git-path and symlink policy and workers (see the module doc)."""
        self._hashing_config = hashing_config
        return self

    def set_ignore_unsigned_files(self, ignore_unsigned_files: bool) -> "Config":
        """Tolerates files that the signature does not list."""
        self._ignore_unsigned_files = ignore_unsigned_files
        return self

    def _use(self, method: str, **kw: Any) -> "Config":
        spec: Dict[str, Any] = {
            "method": method,
            "public_key": None,
            "certificate_chain": [],
            "validate_at_signing_time": False,
            "identity": None,
            "oidc_issuer": None,
            "use_staging": False,
            "trust_config": None,
            "tsa_certificate_chain": [],
            "require_timestamp": False,
            "policy": None,
        }
        spec.update(kw)
        self._verifier = spec
        return self

    def use_sigstore_verifier(
        self,
        *,
        identity: str,
        oidc_issuer: str,
        use_staging: bool = False,
        trust_config: Optional[pathlib.Path] = None,
    ) -> "Config":
        """Verifies a Sigstore keyless signature by ``identity`` from ``oidc_issuer``."""
        return self._use(
            "sigstore",
            identity=identity,
            oidc_issuer=oidc_issuer,
            use_staging=use_staging,
            trust_config=None if trust_config is None else fspath(trust_config),
        )

    def use_elliptic_key_verifier(
        self,
        *,
        public_key: PathLike,
        tsa_certificate_chain: Iterable[PathLike] = (),
        require_timestamp: bool = False,
    ) -> "Config":
        """Verifies a signature made with the EC key whose public half is ``public_key`` (PEM).

        Not in the reference: the bundle's RFC 3161 timestamps are verified against the TSAs of
        ``tsa_certificate_chain`` (PEM files, one per TSA: its certificate first, its root last),
        else those of the Sigstore production root, and listed in the report;
        ``require_timestamp`` fails unless one verifies.
        """
        return self._use(
            "key",
            public_key=fspath(public_key),
            tsa_certificate_chain=[fspath(p) for p in tsa_certificate_chain],
            require_timestamp=require_timestamp,
        )

    def use_certificate_verifier(
        self,
        *,
        certificate_chain: Iterable[PathLike] = frozenset(),
        log_fingerprints: bool = False,
        validate_at_signing_time: bool = False,
        tsa_certificate_chain: Iterable[PathLike] = (),
        require_timestamp: bool = False,
    ) -> "Config":
        """Verifies a certificate signature against the trust anchors in ``certificate_chain``.

        The chain must be valid now; ``validate_at_signing_time=True`` checks it at the leaf's
        issuance instead, as the reference does. With a timestamp verified against
        ``tsa_certificate_chain`` (as in ``use_elliptic_key_verifier``), the chain must be valid at
        the earliest verified timestamp instead: a certificate that expired since still verifies. ``log_fingerprints=True`` logs (INFO,
        logger ``model_signing_rs.verifying``) the SHA-256 fingerprint of every certificate in the
        bundle's chain, in the reference's format, before verifying.
        """
        self._log_fingerprints = log_fingerprints
        anchors = [fspath(p) for p in certificate_chain]
        if log_fingerprints:
            # As the reference logs its trust anchors when the verifier is built. The engine
            # parses the anchors again when verifying; this reads them only for the log.
            for path in anchors:
                with open(path, "rb") as f:
                    pem = f.read(1 << 20)
                for b64 in _PEM_CERT.findall(pem):
                    _log_fingerprint("init", base64.b64decode(b64))
        return self._use(
            "certificate",
            certificate_chain=anchors,
            validate_at_signing_time=validate_at_signing_time,
            tsa_certificate_chain=[fspath(p) for p in tsa_certificate_chain],
            require_timestamp=require_timestamp,
        )
