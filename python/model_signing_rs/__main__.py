"""``python -m model_signing_rs`` and the ``model-signing`` console script: the Rust CLI itself."""

from __future__ import annotations

import sys
from typing import List, Optional

from . import _native


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the ``model-signing`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    args = sys.argv[1:] if argv is None else argv
    # stdout/stderr are written by Rust directly: flush what Python buffered first.
    sys.stdout.flush()
    sys.stderr.flush()
    return _native.run_cli(["model-signing", *args])


if __name__ == "__main__":
    sys.exit(main())
