"""Path arguments: ``str``, ``bytes`` or ``os.PathLike``, as the reference accepts them."""

from __future__ import annotations

import os
from typing import Union

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def fspath(p: PathLike) -> str:
    """The path as ``str`` (bytes are decoded with the file system encoding, so any name works)."""
    return os.fsdecode(os.fspath(p))
