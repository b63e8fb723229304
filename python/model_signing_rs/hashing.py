"""Hashing a model into a manifest, as the reference's ``model_signing.hashing``.

The work is done by the Rust engine (parallel, with the GIL released). Differences from the
reference: ``chunk_size`` is accepted and ignored (the engine picks its read size); an ignore path
that lies outside the model raises ``ConfigError`` instead of being dropped silently.
"""

from __future__ import annotations

import pathlib
from typing import Any, Callable, Dict, Iterable, List, Literal, Optional

from . import _native
from ._paths import PathLike, fspath
from .manifest import (
    Digest,
    Manifest,
    _File,
    _FileSerialization,
    _ManifestKey,
    _Shard,
    _ShardSerialization,
)

HashAlgorithm = Literal["sha256", "blake2", "blake3"]

#: ``callback(bytes_hashed, bytes_total)``, see ``Config.set_progress``.
ProgressCallback = Callable[[int, int], object]

__all__ = ["Config", "Digest", "PathLike", "hash"]


def hash(model_path: PathLike) -> Manifest:
    """Hashes a model with the default configuration (sha256, one digest per file)."""
    return Config().hash(model_path)


class Config:
    """How to hash a model: serialization, algorithm, ignored paths, symlinks."""

    def __init__(self) -> None:
        self._algorithm: str = "sha256"
        self._shard_size: Optional[int] = None
        self._max_workers: Optional[int] = None
        self._allow_symlinks = False
        # Paths given to use_*_serialization and those of set/add_ignored_paths: both apply.
        self._serializer_ignores: List[str] = []
        self._ignored_paths: List[str] = []
        # None: the default (True when hashing and signing; when verifying, the bundle decides).
        self._ignore_git_paths: Optional[bool] = None
        self._progress: Optional[ProgressCallback] = None

    def use_file_serialization(
        self,
        *,
        hashing_algorithm: HashAlgorithm = "sha256",
        chunk_size: int = 1048576,
        max_workers: Optional[int] = None,
        allow_symlinks: bool = False,
        ignore_paths: Iterable[pathlib.Path] = frozenset(),
    ) -> "Config":
        """One digest per file. ``chunk_size`` is accepted for compatibility and ignored.

        ``max_workers``: hashing threads, at most 256 (``None`` or ``0``: one per core); more
        raises ``ConfigError`` when the model is hashed.
        """
        del chunk_size  # the engine chooses its own read size
        self._algorithm = hashing_algorithm
        self._shard_size = None
        self._max_workers = max_workers
        self._allow_symlinks = allow_symlinks
        self._serializer_ignores = [fspath(p) for p in ignore_paths]
        return self

    def use_shard_serialization(
        self,
        *,
        hashing_algorithm: HashAlgorithm = "sha256",
        chunk_size: int = 1048576,
        shard_size: int = 1_000_000_000,
        max_workers: Optional[int] = None,
        allow_symlinks: bool = False,
        ignore_paths: Iterable[pathlib.Path] = frozenset(),
    ) -> "Config":
        """One digest per ``shard_size`` bytes of every file (blake3: per file, as the reference)."""
        self.use_file_serialization(
            hashing_algorithm=hashing_algorithm,
            chunk_size=chunk_size,
            max_workers=max_workers,
            allow_symlinks=allow_symlinks,
            ignore_paths=ignore_paths,
        )
        if hashing_algorithm != "blake3":
            self._shard_size = shard_size
        return self

    def set_ignored_paths(
        self, *, paths: Iterable[PathLike], ignore_git_paths: bool = True
    ) -> "Config":
        """Paths (relative to the model directory) to leave out, and whether to leave out git's."""
        self._ignored_paths = [fspath(p) for p in paths]
        self._ignore_git_paths = ignore_git_paths
        return self

    def add_ignored_paths(
        self, *, model_path: PathLike, paths: Iterable[PathLike]
    ) -> None:
        """Adds paths (relative to the model directory) to leave out."""
        del model_path  # paths are resolved against the model when it is hashed
        for p in paths:
            s = fspath(p)
            if s not in self._ignored_paths:
                self._ignored_paths.append(s)

    def set_allow_symlinks(self, allow_symlinks: bool) -> "Config":
        """Whether symlinks are followed (otherwise a symlink is an error)."""
        self._allow_symlinks = allow_symlinks
        return self

    def set_progress(self, callback: Optional[ProgressCallback]) -> "Config":
        """Calls ``callback(bytes_hashed, bytes_total)`` while hashing (not in the reference).

        Used by ``hash`` and by signing and verifying with this configuration. It is called from
        the engine's threads (holding the GIL, one call at a time), about once per percent, at the
        start and at the end, with a count that never goes back. It may release the GIL (sleep,
        print, log). If it raises, hashing stops within a read chunk and that exception (even
        ``KeyboardInterrupt``) is what the call raises. Anything but a callable or ``None`` is a
        ``TypeError`` here, not when hashing starts.
        """
        if callback is not None and not callable(callback):
            raise TypeError(
                f"the progress callback must be callable or None, not {type(callback).__name__}"
            )
        self._progress = callback
        return self

    def _spec(self, *, default_git: bool = True) -> Dict[str, Any]:
        git = self._ignore_git_paths
        return {
            "hashing_algorithm": self._algorithm,
            "shard_size": self._shard_size,
            "allow_symlinks": self._allow_symlinks,
            "ignore_paths": self._serializer_ignores + self._ignored_paths,
            "ignore_git_paths": default_git if git is None else git,
            "max_workers": self._max_workers,
            "progress": self._progress,
        }

    def hash(
        self,
        model_path: PathLike,
        *,
        files_to_hash: Optional[Iterable[PathLike]] = None,
    ) -> Manifest:
        """Hashes the model at ``model_path`` (only ``files_to_hash`` if given)."""
        path = fspath(model_path)
        wanted = None if files_to_hash is None else [fspath(p) for p in files_to_hash]
        hash_type, shard_size, items, _root, ignored = _native.hash_model(
            path, self._spec(), wanted
        )
        return _manifest(path, hash_type, shard_size, self._allow_symlinks, items, ignored)


def _manifest(
    path: str,
    hash_type: str,
    shard_size: Optional[int],
    allow_symlinks: bool,
    items: List[Any],
    ignore_paths: List[str],
) -> Manifest:
    keys: Dict[_ManifestKey, Digest] = {}
    ser: Any
    if shard_size is None:
        for name, algorithm, digest in items:
            keys[_File._normalised(name)] = Digest(algorithm, digest)
        ser = _FileSerialization(hash_type, allow_symlinks, ignore_paths)
    else:
        for name, algorithm, digest in items:
            p, start, end = name.rsplit(":", 2)
            keys[_Shard._normalised(p, int(start), int(end))] = Digest(algorithm, digest)
        ser = _ShardSerialization(hash_type, shard_size, allow_symlinks, ignore_paths)
    return Manifest._from_keys(_native.model_name(path), keys, ser)


def _root_digest(model_path: PathLike, config: Optional[Config]) -> bytes:
    cfg = config if config is not None else Config()
    _t, _s, _items, root, _ignored = _native.hash_model(fspath(model_path), cfg._spec(), None)
    return bytes(root)
