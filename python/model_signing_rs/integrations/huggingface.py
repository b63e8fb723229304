"""Hugging Face hand-off: verify a cached snapshot, and load it only from verified bytes.

The snapshot is found by ``huggingface_hub`` itself, offline (``snapshot_download(...,
local_files_only=True)``: nothing is downloaded), in the standard cache layout
``CACHE/models--ORG--NAME/snapshots/COMMIT``. The path it returns must be exactly that (a planted
``refs/`` file cannot lead elsewhere). The snapshot's files are links into the cache's own blobs;
those links, relative and of at most two hops (``huggingface_hub`` 2.x adds a cache-wide store),
are followed and no other. The trust policy's ``huggingface:`` patterns match the repo id,
ignoring ASCII case as the Hub does. The signature is ``model.sig`` in the snapshot (sign the
folder before you upload it: ``signing.Config().use_...().sign(folder, folder / "model.sig")``,
then upload the folder, signature included) unless one is given.

::

    from model_signing_rs import policy
    from model_signing_rs.integrations import huggingface

    trusted = policy.load("policy.yaml")
    report, path = huggingface.verify_snapshot("acme/bert-tiny", policy=trusted)
    with huggingface.open_snapshot("acme/bert-tiny", policy=trusted) as model:
        config = model.auto_config()          # transformers.AutoConfig, from verified bytes
        tokenizer = model.auto_tokenizer()    # transformers.AutoTokenizer, likewise
        weights = model.load_safetensors("model.safetensors")
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, List, Optional, Tuple, Union

from .._paths import PathLike, fspath
from ..errors import UnsupportedError
from ..verified import VerifiedModel, open_verified
from ..verifying import VerificationReport

if TYPE_CHECKING:  # pragma: no cover
    from ..policy import Policy

__all__ = ["HuggingFaceModel", "open_snapshot", "verify_snapshot"]

# Files that hold weights: never copied for AutoConfig/AutoTokenizer, which do not need them.
_WEIGHT_SUFFIXES = (
    ".safetensors",
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".h5",
    ".msgpack",
    ".onnx",
    ".gguf",
    ".npz",
)


def _snapshot_path(repo_id: str, revision: Optional[str], cache_dir: Optional[PathLike]) -> str:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:  # pragma: no cover - the tests install it
        raise UnsupportedError(
            "the Hugging Face integration needs the huggingface_hub package"
        ) from e
    path: str = snapshot_download(
        repo_id,
        revision=revision,
        cache_dir=None if cache_dir is None else fspath(cache_dir),
        local_files_only=True,
    )
    return path


class HuggingFaceModel(VerifiedModel):
    """A verified snapshot: a ``VerifiedModel`` that also builds ``transformers`` objects from
    verified bytes only."""

    def __init__(self, handle: Any, repo_id: str) -> None:
        super().__init__(handle)
        self.repo_id = repo_id
        self._dirs: List[str] = []

    @property
    def commit(self) -> str:
        """The snapshot's commit id."""
        return os.path.basename(self.path)

    def close(self) -> None:
        for d in self._dirs:
            shutil.rmtree(d, ignore_errors=True)
        self._dirs = []
        super().close()

    def private_copy(self) -> str:
        """A new private directory (mode 0700, removed at ``close``) holding the verified bytes
        of every signed file except weights: what ``from_pretrained`` reads for configs and
        tokenizers, so that it never opens the snapshot or the cache itself."""
        d = tempfile.mkdtemp(prefix="model-signing-verified-")
        self._dirs.append(d)
        for name in self.files:
            if name.lower().endswith(_WEIGHT_SUFFIXES) or name == ".":
                continue
            dest = os.path.join(d, *name.split("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(self.read_bytes(name))
        return d

    def auto_config(self, **kwargs: Any) -> Any:
        """``transformers.AutoConfig.from_pretrained`` over verified bytes (offline, no remote
        code)."""
        from transformers import AutoConfig

        kwargs.setdefault("local_files_only", True)
        kwargs["trust_remote_code"] = False
        return AutoConfig.from_pretrained(self.private_copy(), **kwargs)

    def auto_tokenizer(self, **kwargs: Any) -> Any:
        """``transformers.AutoTokenizer.from_pretrained`` over verified bytes (offline, no remote
        code)."""
        from transformers import AutoTokenizer

        kwargs.setdefault("local_files_only", True)
        kwargs["trust_remote_code"] = False
        return AutoTokenizer.from_pretrained(self.private_copy(), **kwargs)


def open_snapshot(
    repo_id: str,
    *,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    policy: Union["Policy", PathLike],
    signature: Optional[PathLike] = None,
) -> HuggingFaceModel:
    """Verifies the cached snapshot of ``repo_id`` (``revision`` defaults to ``main``) under
    ``policy`` and returns it as a ``HuggingFaceModel`` (a context manager)."""
    path = _snapshot_path(repo_id, revision, cache_dir)
    # Left to the engine when not given: the snapshot's model.sig is then read under the same
    # link rule as the model's files.
    opened = open_verified(path, signature, policy=policy, _huggingface=repo_id)
    return HuggingFaceModel(opened._h(), repo_id)


def verify_snapshot(
    repo_id: str,
    *,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    policy: Union["Policy", PathLike],
    signature: Optional[PathLike] = None,
) -> Tuple[VerificationReport, str]:
    """Verifies the cached snapshot of ``repo_id`` under ``policy``, every file hashed; returns
    the report and the snapshot's path. Raises like ``verifying.Config.verify``."""
    with open_snapshot(
        repo_id, revision=revision, cache_dir=cache_dir, policy=policy, signature=signature
    ) as model:
        return model.verify_all(), model.path
