"""Manifests: the hashed resources of a model, as in the reference's ``model_signing.manifest``.

The classes mirror the reference's (same names, constructors, properties and equality: two
manifests are equal when they pair the same keys with the same digests, whatever their model names
and serialization). The digests come from the Rust engine.
"""

from __future__ import annotations

import abc
import dataclasses
import pathlib
from typing import Any, Dict, Iterable, Iterator, Tuple, Union


@dataclasses.dataclass(frozen=True, order=True)
class Digest:
    """A digest: the algorithm's name (``sha256``, ``sha256-sharded-1024``, ...) and its bytes."""

    algorithm: str
    digest_value: bytes

    @property
    def digest_hex(self) -> str:
        """The digest as lowercase hex."""
        return self.digest_value.hex()

    @property
    def digest_size(self) -> int:
        """The digest length in bytes."""
        return len(self.digest_value)


@dataclasses.dataclass(frozen=True, order=True)
class _ResourceDescriptor:
    """One resource of a manifest: its identifier (file or ``file:start:end``) and digest."""

    identifier: str
    digest: Digest


class _ManifestKey(metaclass=abc.ABCMeta):
    """A key of a manifest item, convertible to and from its string form."""

    @classmethod
    @abc.abstractmethod
    def from_str(cls, s: str) -> "_ManifestKey":
        """Builds a key from its string form."""

    @abc.abstractmethod
    def _order(self) -> Tuple[Any, ...]:
        """The sort key: path components, then the shard range."""


def _parts(name: str) -> Tuple[str, ...]:
    # PurePosixPath orders by path components, not by the string ("a/b" < "a.b"), and the
    # reference sorts its resources that way.
    return tuple(name.split("/"))


class _File(_ManifestKey):
    """A file key. It holds the normalised POSIX string, not a PurePosixPath: building, hashing
    and comparing tens of thousands of PurePath objects was half the time of ``Config.hash``."""

    __slots__ = ("_name",)

    def __init__(self, path: Union[str, pathlib.PurePath]) -> None:
        self._name = str(pathlib.PurePosixPath(path))

    @classmethod
    def _normalised(cls, name: str) -> "_File":
        # The engine's names are already normalised POSIX paths.
        k = cls.__new__(cls)
        k._name = name
        return k

    @property
    def path(self) -> pathlib.PurePath:
        return pathlib.PurePosixPath(self._name)

    def _order(self) -> Tuple[Any, ...]:
        return (_parts(self._name),)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._name == other._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __lt__(self, other: "_File") -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._order() < other._order()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r})"

    def __str__(self) -> str:
        return self._name

    @classmethod
    def from_str(cls, s: str) -> "_File":
        return cls(s)


class _Shard(_ManifestKey):
    """A shard key: file (normalised POSIX string), start included, end excluded."""

    __slots__ = ("_name", "start", "end")

    def __init__(
        self, path: Union[str, pathlib.PurePath], start: int, end: int
    ) -> None:
        self._name = str(pathlib.PurePosixPath(path))
        self.start = start
        self.end = end

    @classmethod
    def _normalised(cls, name: str, start: int, end: int) -> "_Shard":
        k = cls.__new__(cls)
        k._name, k.start, k.end = name, start, end
        return k

    @property
    def path(self) -> pathlib.PurePath:
        return pathlib.PurePosixPath(self._name)

    def _order(self) -> Tuple[Any, ...]:
        return (_parts(self._name), self.start, self.end)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return (self._name, self.start, self.end) == (other._name, other.start, other.end)

    def __hash__(self) -> int:
        return hash((self._name, self.start, self.end))

    def __lt__(self, other: "_Shard") -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._order() < other._order()

    def __repr__(self) -> str:
        return f"_Shard(path={self.path!r}, start={self.start}, end={self.end})"

    def __str__(self) -> str:
        return f"{self._name}:{self.start}:{self.end}"

    @classmethod
    def from_str(cls, s: str) -> "_Shard":
        # The file part may itself contain ':' (the engine allows it): the range is the last two.
        parts = s.rsplit(":", 2)
        if len(parts) != 3:
            raise ValueError(f"Expected 3 components separated by `:`, got {s}")
        return cls(parts[0], int(parts[1]), int(parts[2]))


class ManifestItem(metaclass=abc.ABCMeta):
    """An object of a model (file or shard) paired with its digest."""

    digest: Digest

    @property
    @abc.abstractmethod
    def key(self) -> _ManifestKey:
        """The item's unique key in a manifest."""


class FileManifestItem(ManifestItem):
    """A file (model-relative POSIX path) and its digest."""

    def __init__(self, *, path: pathlib.PurePath, digest: Digest) -> None:
        self._path = pathlib.PurePosixPath(path)
        self.digest = digest

    @property
    def key(self) -> _ManifestKey:
        return _File(self._path)


class ShardedFileManifestItem(ManifestItem):
    """A file shard (path, start included, end excluded) and its digest."""

    def __init__(
        self, *, path: pathlib.PurePath, start: int, end: int, digest: Digest
    ) -> None:
        self._path = pathlib.PurePosixPath(path)
        self._start = start
        self._end = end
        self.digest = digest

    @property
    def key(self) -> _ManifestKey:
        return _Shard(self._path, self._start, self._end)


class SerializationType(metaclass=abc.ABCMeta):
    """The serialization (and its parameters) that produced a manifest."""

    @property
    @abc.abstractmethod
    def serialization_parameters(self) -> Dict[str, Any]:
        """The parameters, as recorded in a signature."""

    @classmethod
    def from_args(cls, args: Dict[str, Any]) -> "SerializationType":
        """Builds a serialization type from its recorded parameters."""
        method = args["method"]
        if method == "files":
            return _FileSerialization(
                args["hash_type"],
                args.get("allow_symlinks", False),
                args.get("ignore_paths", ()),
            )
        if method == "shards":
            return _ShardSerialization(
                args["hash_type"],
                args["shard_size"],
                args.get("allow_symlinks", False),
                args.get("ignore_paths", ()),
            )
        raise ValueError(f"Unknown serialization type {method}")

    @abc.abstractmethod
    def new_item(self, name: str, digest: Digest) -> ManifestItem:
        """Builds the manifest item of this serialization for a resource name."""


class _FileSerialization(SerializationType):
    method = "files"

    def __init__(
        self,
        hash_type: str,
        allow_symlinks: bool = False,
        ignore_paths: Iterable[Union[str, pathlib.PurePath]] = frozenset(),
    ) -> None:
        self._hash_type = hash_type
        self._allow_symlinks = allow_symlinks
        self._ignore_paths = [str(p) for p in ignore_paths]

    @property
    def serialization_parameters(self) -> Dict[str, Any]:
        res: Dict[str, Any] = {
            "method": self.method,
            "hash_type": self._hash_type,
            "allow_symlinks": self._allow_symlinks,
        }
        if self._ignore_paths:
            res["ignore_paths"] = self._ignore_paths
        return res

    def new_item(self, name: str, digest: Digest) -> ManifestItem:
        return FileManifestItem(path=pathlib.PurePosixPath(name), digest=digest)


class _ShardSerialization(_FileSerialization):
    method = "shards"

    def __init__(
        self,
        hash_type: str,
        shard_size: int,
        allow_symlinks: bool = False,
        ignore_paths: Iterable[Union[str, pathlib.PurePath]] = frozenset(),
    ) -> None:
        super().__init__(hash_type, allow_symlinks, ignore_paths)
        self._shard_size = shard_size

    @property
    def serialization_parameters(self) -> Dict[str, Any]:
        # The reference's key order: method, hash_type, shard_size, then the files' keys.
        res: Dict[str, Any] = {
            "method": self.method,
            "hash_type": self._hash_type,
            "shard_size": self._shard_size,
        }
        res.update((k, v) for k, v in super().serialization_parameters.items() if k not in res)
        return res

    def new_item(self, name: str, digest: Digest) -> ManifestItem:
        key = _Shard.from_str(name)
        return ShardedFileManifestItem(
            path=key.path, start=key.start, end=key.end, digest=digest
        )


class Manifest:
    """The manifest of a model: every resource paired with its digest."""

    def __init__(
        self,
        model_name: str,
        items: Iterable[ManifestItem],
        serialization_type: SerializationType,
    ) -> None:
        self._name = model_name
        self._item_to_digest = {item.key: item.digest for item in items}
        self._serialization_type = serialization_type

    @classmethod
    def _from_keys(
        cls,
        model_name: str,
        item_to_digest: Dict[_ManifestKey, Digest],
        serialization_type: SerializationType,
    ) -> "Manifest":
        """Builds a manifest from keys and digests directly (no ManifestItem objects): the engine
        returns tens of thousands of resources, and the items would double the Python work."""
        m = cls.__new__(cls)
        m._name = model_name
        m._item_to_digest = item_to_digest
        m._serialization_type = serialization_type
        return m

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Manifest):
            return NotImplemented
        return self._item_to_digest == other._item_to_digest

    # Mutable-looking but compared by content, like the reference (which leaves it unhashable).
    __hash__ = None  # type: ignore[assignment]

    def resource_descriptors(self) -> Iterator[_ResourceDescriptor]:
        """Yields each resource, sorted by key (the reference's order)."""
        for item, digest in sorted(self._item_to_digest.items(), key=lambda kv: kv[0]._order()):
            yield _ResourceDescriptor(identifier=str(item), digest=digest)

    @property
    def model_name(self) -> str:
        """The model's name (final path component); informative only."""
        return self._name

    @property
    def serialization_type(self) -> Dict[str, Any]:
        """The serialization parameters that produced this manifest."""
        return self._serialization_type.serialization_parameters


__all__ = [
    "Digest",
    "ManifestItem",
    "FileManifestItem",
    "ShardedFileManifestItem",
    "SerializationType",
    "Manifest",
]
