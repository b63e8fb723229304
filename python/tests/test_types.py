"""The type information matches the runtime: mypy --strict on the package (whose Python modules
are annotated inline, with py.typed) and stubtest on the extension module's _native.pyi."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import model_signing_rs

pytest.importorskip("mypy")

PKG = pathlib.Path(model_signing_rs.__file__).parent


def test_py_typed_and_stub_installed():
    assert (PKG / "py.typed").is_file()
    assert (PKG / "_native.pyi").is_file()


def test_mypy_strict(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), "-p", "model_signing_rs"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_stubtest_native(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--mypy-config-file", os.devnull, "model_signing_rs._native"],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "MYPY_CACHE_DIR": str(tmp_path)},
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_python_39_compatible():
    # The wheel is abi3 for CPython >= 3.9, and this machine has only 3.11 (mypy 2.4 no longer
    # accepts --python-version 3.9): vermin checks the sources' syntax and standard-library use
    # against 3.9, annotations included.
    vermin = pathlib.Path(sys.executable).with_name("vermin")
    out = subprocess.run(
        [str(vermin), "--no-tips", "-t=3.9-", "--eval-annotations", "--violations", str(PKG)],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
