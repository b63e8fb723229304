"""Progress callbacks that release the GIL, callbacks that raise, Ctrl-C and the thread cap.

A callback that releases the GIL (``time.sleep``, a write to a pipe, ``logging``) used to
deadlock hashing with two or more workers, and SIGINT used to wait for the whole model to be
hashed. Whatever could hang runs in a subprocess with a timeout, so that a regression fails the
test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import model_signing_rs
from model_signing_rs.errors import ConfigError

# Generous: the child hashes 64 MiB three times; a deadlock never ends.
TIMEOUT = 60

MIB = 1 << 20
GIB = 1 << 30


def run_child(script: str, *args: object) -> subprocess.CompletedProcess:
    """Runs ``script`` in a new interpreter with stdout and stderr on pipes; fails on a hang."""
    try:
        return subprocess.run(
            [sys.executable, "-c", script, *map(str, args)],
            capture_output=True, text=True, timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the child hung for {TIMEOUT} s (deadlock?); stderr: {e.stderr!r}")


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """64 MiB in eight files: about 64 progress calls per run, several workers busy at once."""
    d = tmp_path_factory.mktemp("many")
    chunk = os.urandom(MIB)
    for i in range(8):
        with open(d / f"part{i}.bin", "wb") as f:
            for _ in range(8):
                f.write(chunk)
    return d


def sparse_model(root: pathlib.Path, files: int, size: int) -> pathlib.Path:
    """A model of ``files`` sparse files of ``size`` bytes: nothing on disk, slow to hash."""
    root.mkdir()
    for i in range(files):
        with open(root / f"big{i}.bin", "wb") as f:
            f.truncate(size)
    return root


def signed_then_grown(tmp_path: pathlib.Path, keys, files: int, size: int):
    """A model signed while its files were small, then grown (sparse) to ``size``: verifying it
    hashes every byte before it can find the mismatch."""
    m = sparse_model(tmp_path / "grown", files, 1)
    sig = tmp_path / "grown.sig"
    model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(m, sig)
    for p in m.iterdir():
        os.truncate(p, size)
    return m, sig


# Hashes, signs and verifies with a progress callback that releases the GIL in one of three ways,
# and prints what the callback saw for each operation.
GIL_CHILD = r"""
import json, logging, sys, time
import model_signing_rs as ms

model, sig, key, pub, kind, workers = sys.argv[1:7]
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
log = logging.getLogger("progress")
seen = []

def callback(done, total):
    seen.append((done, total))
    if kind == "sleep":
        time.sleep(0.002)
    elif kind == "print":
        # stdout is a pipe: each flush is a write(2) made with the GIL released.
        print(f"progress {done}/{total}", flush=True)
    elif kind == "logging":
        log.info("progress %d/%d", done, total)

def hashing():
    cfg = ms.hashing.Config().use_file_serialization(max_workers=int(workers))
    return cfg.set_progress(callback)

out = {}
hashing().hash(model)
out["hash"], seen[:] = list(seen), []
ms.signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(
    hashing()).sign(model, sig)
out["sign"], seen[:] = list(seen), []
ms.verifying.Config().use_elliptic_key_verifier(public_key=pub).set_hashing_config(
    hashing()).verify(model, sig)
out["verify"] = list(seen)
print("RESULT " + json.dumps(out), flush=True)
"""


@pytest.mark.parametrize("workers", [1, 2, 8])
@pytest.mark.parametrize("kind", ["sleep", "print", "logging"])
def test_callback_that_releases_the_gil(many, tmp_path, keys, kind, workers):
    r = run_child(GIL_CHILD, many, tmp_path / "m.sig", keys.private, keys.public, kind, workers)
    assert r.returncode == 0, r.stderr
    result = [line for line in r.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(result) == 1, r.stdout
    calls = json.loads(result[0][len("RESULT "):])
    total = 64 * MIB
    for op in ("hash", "sign", "verify"):
        seen = calls[op]
        assert seen[0] == [0, total], op
        assert seen[-1] == [total, total], op
        assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:])), op
        assert 3 <= len(seen) <= 110, (op, len(seen))
    n = sum(len(calls[op]) for op in calls)
    if kind == "print":
        assert r.stdout.count("progress ") == n
    if kind == "logging":
        assert r.stderr.count("progress ") == n


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    """8 GiB in four sparse files: seconds to hash, so an early stop is plain to see."""
    return sparse_model(tmp_path_factory.mktemp("huge") / "m", 4, 2 * GIB)


@pytest.mark.parametrize("workers", [1, 2, 8])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
@pytest.mark.parametrize("op", ["hash", "sign", "verify"])
def test_raising_callback_stops_hashing(huge, tmp_path, keys, op, exc, workers):
    calls = []

    def callback(done, total):
        calls.append(done)
        # The second call comes about 1% (80 MiB) in: hashing is under way on every worker.
        if len(calls) == 2:
            raise exc("stop here")

    hashing = model_signing_rs.hashing.Config().use_file_serialization(max_workers=workers)
    hashing.set_progress(callback)
    sig = tmp_path / "out.sig"
    if op == "verify":
        model, sig = signed_then_grown(tmp_path, keys, 4, 2 * GIB)
    start = time.monotonic()
    with pytest.raises(exc, match="stop here"):
        if op == "hash":
            hashing.hash(huge)
        elif op == "sign":
            model_signing_rs.signing.Config().use_elliptic_key_signer(
                private_key=keys.private
            ).set_hashing_config(hashing).sign(huge, sig)
        else:
            model_signing_rs.verifying.Config().use_elliptic_key_verifier(
                public_key=keys.public
            ).set_hashing_config(hashing).verify(model, sig)
    elapsed = time.monotonic() - start
    # Hashing all 8 GiB takes several seconds; stopping takes one read chunk per worker.
    assert elapsed < 1.5, elapsed
    assert len(calls) == 2, calls
    if op == "sign":
        assert not sig.exists()


# Starts hashing, signing or verifying a slow model and reports how it ended: the parent sends
# SIGINT once "ready" is printed. After the KeyboardInterrupt, the CPU time used over 0.3 s shows
# whether the work was left running.
SIGINT_CHILD = r"""
import os, sys, time
import model_signing_rs as ms

op, model, sig, key, pub, callback = sys.argv[1:7]
calls = []
hashing = ms.hashing.Config().use_file_serialization(max_workers=2)
if callback == "yes":
    hashing.set_progress(lambda done, total: (calls.append(done), time.sleep(0.001)))
print("ready", flush=True)
start = time.monotonic()
try:
    if op == "hash":
        hashing.hash(model)
    elif op == "sign":
        ms.signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(
            hashing).sign(model, sig)
    else:
        ms.verifying.Config().use_elliptic_key_verifier(public_key=pub).set_hashing_config(
            hashing).verify(model, sig)
except KeyboardInterrupt:
    took = time.monotonic() - start
    cpu = time.process_time()
    time.sleep(0.3)
    cpu = time.process_time() - cpu
    print(f"interrupted after {took:.2f} s; {len(calls)} calls; cpu {cpu:.3f}", flush=True)
    sys.exit(3)
except Exception as e:
    print(f"failed: {type(e).__name__}: {e}", flush=True)
    sys.exit(4)
print(f"finished after {time.monotonic() - start:.2f} s", flush=True)
"""


@pytest.mark.parametrize("callback", ["no", "yes"])
@pytest.mark.parametrize("op", ["hash", "sign", "verify"])
def test_sigint_stops_hashing(tmp_path, keys, op, callback):
    if op == "verify":
        model, sig = signed_then_grown(tmp_path, keys, 2, 4 * GIB)
    else:
        model, sig = sparse_model(tmp_path / "m", 2, 4 * GIB), tmp_path / "m.sig"
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_CHILD, op, str(model), str(sig), str(keys.private),
         str(keys.public), callback],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail("the child did not stop on SIGINT")
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, (out, err)
    # Hashing the 8 GiB takes several seconds; the interrupt waits for one chunk per worker.
    assert elapsed < 2.0, (elapsed, out)
    cpu = float(out.split("cpu ")[1])
    assert cpu < 0.1, out
    if callback == "yes":
        assert " 0 calls" not in out, out
    if op == "sign":
        assert not sig.exists()


def test_sigint_stops_the_console_script(tmp_path):
    """``python -m model_signing_rs`` is the CLI: Ctrl-C ends it at once, as it ends the binary."""
    model = sparse_model(tmp_path / "m", 2, 4 * GIB)
    proc = subprocess.Popen(
        [sys.executable, "-m", "model_signing_rs", "digest", "--max-workers", "2", str(model)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(1.0)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail("the console script did not stop on SIGINT")
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGINT, (out, err)
    assert elapsed < 2.0, elapsed


@pytest.mark.parametrize("op", ["hash", "sign", "verify"])
def test_max_workers_over_the_cap_is_a_config_error(model, tmp_path, keys, op):
    sig = tmp_path / "m.sig"
    model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(
        model, sig
    )
    over = model_signing_rs.hashing.Config().use_file_serialization(max_workers=10**6)
    start = time.monotonic()
    with pytest.raises(ConfigError, match="^1000000 hashing threads were requested; at most 256 "):
        if op == "hash":
            over.hash(model)
        elif op == "sign":
            model_signing_rs.signing.Config().use_elliptic_key_signer(
                private_key=keys.private
            ).set_hashing_config(over).sign(model, tmp_path / "new.sig")
        else:
            model_signing_rs.verifying.Config().use_elliptic_key_verifier(
                public_key=keys.public
            ).set_hashing_config(over).verify(model, sig)
    assert time.monotonic() - start < 2.0
    assert not (tmp_path / "new.sig").exists()
    # The cap itself is allowed.
    at_cap = model_signing_rs.hashing.Config().use_file_serialization(max_workers=256)
    assert at_cap.hash(model).resource_descriptors()


def test_a_progress_callback_that_is_not_callable_is_refused_at_once():
    with pytest.raises(TypeError, match="callable"):
        model_signing_rs.hashing.Config().set_progress(42)  # type: ignore[arg-type]
    assert model_signing_rs.hashing.Config().set_progress(None) is not None
