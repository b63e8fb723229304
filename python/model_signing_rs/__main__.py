"""``python -m model_signing_rs`` and the ``model-signing`` console script: the Rust CLI itself."""

from __future__ import annotations

import signal
import sys
import threading
from typing import List, Optional

from . import _native


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the ``model-signing`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    args = sys.argv[1:] if argv is None else argv
    if argv is None and threading.current_thread() is threading.main_thread():
        # The process is the command: Ctrl-C ends it at once, as it ends the binary. Python's own
        # handler would only set a flag, looked at after the command has run to its end. A
        # disposition that is not Python's (SIGINT ignored by `nohup`, a handler of the caller's)
        # is left as it is.
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
    # stdout/stderr are written by Rust directly: flush what Python buffered first.
    sys.stdout.flush()
    sys.stderr.flush()
    return _native.run_cli(["model-signing", *args])


if __name__ == "__main__":
    sys.exit(main())
