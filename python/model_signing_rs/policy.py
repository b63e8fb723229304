"""Trust policies: which signers are trusted for which models, from one file.

A policy (YAML: ``kind: Policy``, or the model-validation operator's ``ModelValidation``
resource) names, per model, the signers whose signatures count; the first rule that covers the
model decides, and a model no rule names is refused. See ``docs/policy.md`` in the repository.

::

    from model_signing_rs import policy

    trusted = policy.load("policy.yaml")          # raises ConfigError if the file is not valid
    report = trusted.verify("models/bert", "models/bert/model.sig")

``verify`` raises like ``verifying.Config.verify``: ``ConfigError`` for a model no rule names,
``SignatureError`` for a signature from a signer the rule does not trust, ``MismatchError`` when
the files differ. The policy file is read again at each ``verify``.
"""

from __future__ import annotations

from typing import Iterable, Optional

from . import _native, verifying
from ._paths import PathLike, fspath
from .hashing import Config as HashingConfig

__all__ = ["Policy", "load"]


class Policy:
    """A trust policy read from a file; see the module documentation."""

    def __init__(self, path: PathLike) -> None:
        self._path = fspath(path)
        self._rules = _native.load_policy(self._path)

    @property
    def path(self) -> str:
        """The policy file."""
        return self._path

    def __len__(self) -> int:
        """The number of rules."""
        return self._rules

    def verify(
        self,
        model_path: PathLike,
        signature_path: PathLike,
        *,
        hashing_config: Optional[HashingConfig] = None,
        ignore_unsigned_files: bool = False,
        plain_http: bool = False,
        platform: Optional[str] = None,
        attestations: Optional[PathLike] = None,
        require: Iterable[str] = (),
    ) -> verifying.VerificationReport:
        """Verifies the model (a path, or an ``oci://`` image) under this policy; its rule's
        ``attestations`` requirements, and ``attestations``/``require`` as in
        ``verifying.Config.verify``, are checked too."""
        config = verifying.Config()._use("policy", policy=self._path)
        if hashing_config is not None:
            config.set_hashing_config(hashing_config)
        config.set_ignore_unsigned_files(ignore_unsigned_files)
        return config.verify(
            model_path,
            signature_path,
            plain_http=plain_http,
            platform=platform,
            attestations=attestations,
            require=require,
        )


def load(path: PathLike) -> Policy:
    """Reads and checks the policy at ``path``: raises ``ConfigError`` if it is not valid."""
    return Policy(path)
