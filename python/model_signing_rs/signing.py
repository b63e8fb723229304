"""Signing a model, as the reference's ``model_signing.signing``.

Key, certificate, PKCS#11 and Sigstore keyless signing run in the Rust engine, with the GIL
released.
"""

from __future__ import annotations

import logging
import pathlib
from typing import Any, Dict, Iterable, List, Optional, Union

from . import _native
from ._paths import PathLike, fspath
from .hashing import Config as HashingConfig

_logger = logging.getLogger(__name__)

#: One RFC 3161 TSA URL, several, or ``None``.
TsaUrls = Union[str, Iterable[str], None]

__all__ = ["Config", "SignResult", "sign"]


def sign(model_path: PathLike, signature_path: PathLike) -> "SignResult":
    """Signs a model with the default configuration (Sigstore, as in the reference)."""
    return Config().sign(model_path, signature_path)


class SignResult:
    """What a signature covers (the reference's ``sign`` returns ``None``; this is extra)."""

    def __init__(self, d: Dict[str, Any]) -> None:
        self.method: str = d["method"]
        self.root_digest: str = d["root_digest"]
        self.files: int = d["files"]
        self.resources: int = d["resources"]
        self.signature_ignored_as: Optional[str] = d["signature_ignored_as"]
        # Sigstore only: who the certificate says signed.
        self.identity: Optional[str] = d["identity"]
        self.identity_provider: Optional[str] = d["identity_provider"]
        self.warnings: List[str] = list(d["warnings"])

    def __repr__(self) -> str:
        return (
            f"SignResult(method={self.method!r}, root_digest={self.root_digest!r}, "
            f"files={self.files}, resources={self.resources})"
        )


class Config:
    """How to sign: the signer and the hashing configuration."""

    def __init__(self) -> None:
        self._hashing_config = HashingConfig()
        self._signer: Optional[Dict[str, Any]] = None

    def sign(
        self,
        model_path: PathLike,
        signature_path: PathLike,
        *,
        plain_http: bool = False,
        platform: Optional[str] = None,
        oci_manifest: bool = False,
        allow_unsigned_config: bool = False,
    ) -> SignResult:
        """Signs the model at ``model_path`` and writes the bundle to ``signature_path``.

        A signature path inside the model is left out of what is signed. ``model_path`` may also
        be an OCI image (not in the reference): ``oci://REGISTRY/REPO:TAG`` or ``@sha256:...``
        (only its manifest is fetched; ``plain_http`` for a local registry, ``platform`` such as
        ``linux/amd64`` for an image index), or a local manifest file: pass ``oci_manifest=True``;
        a path is never read as a manifest because of what it contains or how it is spelled. An image whose config blob the signature would not cover (a layer titled
        ``config.json`` beside a non-empty config) is refused unless ``allow_unsigned_config``.
        """
        if self._signer is None:
            self.use_sigstore_signer()
        assert self._signer is not None
        out = _native.sign_model(
            fspath(model_path),
            fspath(signature_path),
            self._hashing_config._spec(),
            self._signer,
            {
                "plain_http": plain_http,
                "platform": platform,
                "oci_manifest": oci_manifest,
                "allow_unsigned_config": allow_unsigned_config,
            },
        )
        for w in out.get("warnings", []):
            _logger.warning("%s", w)
        return SignResult(out)

    def set_hashing_config(self, hashing_config: HashingConfig) -> "Config":
        """Sets how the model is hashed."""
        self._hashing_config = hashing_config
        return self

    def _use(self, method: str, **kw: Any) -> "Config":
        spec: Dict[str, Any] = {
            "method": method,
            "private_key": None,
            "password": None,
            "signing_certificate": None,
            "certificate_chain": [],
            "pkcs11_uri": None,
            "module_paths": [],
            "tsa_urls": [],
            "sigstore": None,
        }
        spec.update(kw)
        self._signer = spec
        return self

    def use_sigstore_signer(
        self,
        *,
        oidc_issuer: Optional[str] = None,
        use_ambient_credentials: bool = False,
        use_staging: bool = False,
        force_oob: bool = False,
        identity_token: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        trust_config: Optional[pathlib.Path] = None,
    ) -> "Config":
        """Sigstore keyless signing: a Fulcio certificate for an OIDC identity, logged in Rekor.

        The token is ``identity_token``, else ``SIGSTORE_ID_TOKEN``, else ambient credentials
        (when ``use_ambient_credentials``), else the interactive login on the console. The services
        come from the signing config of ``trust_config`` (else the public or staging instance's).
        """
        return self._use(
            "sigstore",
            sigstore={
                "oidc_issuer": oidc_issuer,
                "use_ambient_credentials": use_ambient_credentials,
                "use_staging": use_staging,
                "force_oob": force_oob,
                "identity_token": identity_token,
                "client_id": client_id,
                "client_secret": client_secret,
                "trust_config": None if trust_config is None else fspath(trust_config),
            },
        )

    def use_elliptic_key_signer(
        self,
        *,
        private_key: PathLike,
        password: Optional[str] = None,
        tsa_url: TsaUrls = None,
    ) -> "Config":
        """Signs with an EC private key (PEM, optionally encrypted with ``password``).

        ``tsa_url`` (not in the reference): one RFC 3161 time-stamping authority URL, or several,
        each asked for a timestamp over the signature (see the package README).
        """
        return self._use(
            "key", private_key=fspath(private_key), password=password, tsa_urls=_urls(tsa_url)
        )

    def use_certificate_signer(
        self,
        *,
        private_key: PathLike,
        signing_certificate: PathLike,
        certificate_chain: Iterable[PathLike],
        tsa_url: TsaUrls = None,
    ) -> "Config":
        """Signs with an EC private key, its certificate and the intermediates; ``tsa_url`` as in
        ``use_elliptic_key_signer`` (a verified timestamp lets the signature outlive the
        certificate)."""
        return self._use(
            "certificate",
            private_key=fspath(private_key),
            signing_certificate=fspath(signing_certificate),
            certificate_chain=[fspath(p) for p in certificate_chain],
            tsa_urls=_urls(tsa_url),
        )

    def use_pkcs11_signer(
        self,
        *,
        pkcs11_uri: str,
        module_paths: Iterable[str] = frozenset(),
        tsa_url: TsaUrls = None,
    ) -> "Config":
        """Signs with a key on a PKCS#11 token (PIN in the URI or ``MODEL_SIGNING_PKCS11_PIN``)."""
        return self._use(
            "pkcs11-key",
            pkcs11_uri=pkcs11_uri,
            module_paths=[fspath(p) for p in module_paths],
            tsa_urls=_urls(tsa_url),
        )

    def use_pkcs11_certificate_signer(
        self,
        *,
        pkcs11_uri: str,
        signing_certificate: pathlib.Path,
        certificate_chain: Iterable[pathlib.Path],
        module_paths: Iterable[str] = frozenset(),
        tsa_url: TsaUrls = None,
    ) -> "Config":
        """Signs with a key on a PKCS#11 token, its certificate and the intermediates."""
        return self._use(
            "pkcs11-certificate",
            pkcs11_uri=pkcs11_uri,
            signing_certificate=fspath(signing_certificate),
            certificate_chain=[fspath(p) for p in certificate_chain],
            module_paths=[fspath(p) for p in module_paths],
            tsa_urls=_urls(tsa_url),
        )


def _urls(tsa_url: TsaUrls) -> List[str]:
    if tsa_url is None:
        return []
    if isinstance(tsa_url, str):
        return [tsa_url]
    return [str(u) for u in tsa_url]
