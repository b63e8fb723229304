"""The GIL is released while hashing; many threads verify at once; the console script and
``python -m model_signing_rs`` are the Rust CLI."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time

import pytest

import model_signing_rs
from conftest import write_tree


@pytest.fixture(scope="module")
def big_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    chunk = os.urandom(1 << 20)
    for i in range(4):
        with open(d / f"part{i}.bin", "wb") as f:
            for _ in range(48):
                f.write(chunk)
    return d


def test_python_thread_runs_while_hashing(big_model):
    ticks = 0
    stop = threading.Event()

    def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        before = ticks
        start = time.monotonic()
        cfg = model_signing_rs.hashing.Config().use_file_serialization(max_workers=1)
        cfg.hash(big_model)
        elapsed = time.monotonic() - start
        during = ticks - before
    finally:
        stop.set()
        t.join()
    # With the GIL held, the ticker could not have run at all while hashing.
    assert during >= max(3, int(elapsed * 100)), (during, elapsed)


def test_eight_threads_verify(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(
        model, sig
    )
    cfg = model_signing_rs.verifying.Config().use_elliptic_key_verifier(public_key=keys.public)
    results, failures = [], []

    def worker():
        try:
            for _ in range(5):
                results.append(cfg.verify(model, sig).root_digest)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            failures.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert len(results) == 40 and len(set(results)) == 1


def _script() -> str:
    exe = shutil.which("model-signing", path=os.path.dirname(sys.executable))
    assert exe, "console script model-signing not installed next to the interpreter"
    return exe


@pytest.mark.parametrize("runner", ["script", "module"])
def test_cli_sign_and_verify(model, tmp_path, keys, runner):
    cmd = [_script()] if runner == "script" else [sys.executable, "-m", "model_signing_rs"]
    sig = tmp_path / "cli.sig"
    out = subprocess.run(
        cmd + ["sign", "key", str(model), "--private-key", str(keys.private), "--signature", str(sig)],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "Signing succeeded" in out.stdout
    out = subprocess.run(
        cmd + ["verify", "key", str(model), "--public-key", str(keys.public), "--signature", str(sig)],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "Verification succeeded" in out.stdout
    # And the API verifies what the CLI signed.
    model_signing_rs.verifying.Config().use_elliptic_key_verifier(public_key=keys.public).verify(
        model, sig
    )
    (model / "config.json").write_bytes(b"tampered")
    out = subprocess.run(
        cmd + ["verify", "key", str(model), "--public-key", str(keys.public), "--signature", str(sig)],
        capture_output=True, text=True,
    )
    assert out.returncode == 1 and "config.json" in out.stderr
    out = subprocess.run(cmd + ["no-such-command"], capture_output=True, text=True)
    assert out.returncode == 2


def test_truncated_file_raises_not_sigbus(tmp_path):
    """Hashing reads files (no memory maps), so a file shrinking under it raises at worst."""
    m = write_tree(tmp_path / "m", {"big.bin": b"\0" * (64 << 20)})
    cfg = model_signing_rs.hashing.Config().use_file_serialization(hashing_algorithm="blake3")
    stop = threading.Event()

    def truncate():
        time.sleep(0.005)
        os.truncate(m / "big.bin", 1024)
        stop.set()

    t = threading.Thread(target=truncate)
    t.start()
    try:
        cfg.hash(m)
    except (OSError, ValueError):
        pass
    t.join()
    assert stop.is_set()


def test_progress_callback(big_model, tmp_path, keys):
    calls = []
    cfg = model_signing_rs.hashing.Config().set_progress(lambda done, total: calls.append((done, total)))
    cfg.hash(big_model)
    total = 4 * 48 << 20
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert 3 <= len(calls) <= 110
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))

    def boom(done, total):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        model_signing_rs.hashing.Config().set_progress(boom).hash(big_model)
    # Signing and verifying report through the hashing config too.
    sig = tmp_path / "big.sig"
    signed, verified = [], []
    model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=keys.private
    ).set_hashing_config(
        model_signing_rs.hashing.Config().set_progress(lambda d, t: signed.append(d))
    ).sign(big_model, sig)
    model_signing_rs.verifying.Config().use_elliptic_key_verifier(
        public_key=keys.public
    ).set_hashing_config(
        model_signing_rs.hashing.Config().set_progress(lambda d, t: verified.append(d))
    ).verify(big_model, sig)
    assert signed[-1] == total and verified[-1] == total


def test_run_cli_in_process_twice(model, capfd):
    from model_signing_rs import _native

    for _ in range(2):
        assert _native.run_cli(["model-signing", "digest", str(model)]) == 0
    out = capfd.readouterr().out.split()
    assert out == [model_signing_rs.digest(model)] * 2
    assert _native.run_cli(["model-signing", "--no-such-flag"]) == 2
