"""In-process timings: model_signing_rs against the reference model_signing in one interpreter.

Usage: python python/benchmarks/inprocess.py [--cli PATH] [--files N] [--big-mib N] [--dir DIR]

Builds two models in DIR (default: a temporary directory): N x 4 KiB files and one large file,
then prints a Markdown table of hashing times (best of three after one uncounted run; the
reference once, it is slow), plus sign and verify with an EC key and each package's import time.
For numbers that mean anything, install a release wheel (`pip install ./python` builds one).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time


def best(f, n=3):
    f()
    t = 1e9
    for _ in range(n):
        s = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - s)
    return t


def import_time(mod: str) -> float:
    code = f"import time; s = time.perf_counter(); import {mod}; print(time.perf_counter() - s)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(3)]
    return min(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli")
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--big-mib", type=int, default=512)
    ap.add_argument("--dir")
    a = ap.parse_args()
    import model_signing
    import model_signing_rs
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    root = pathlib.Path(a.dir or tempfile.mkdtemp(prefix="ms-bench-"))
    small, big = root / "small", root / "big"
    if not small.exists():
        for i in range(a.files):
            d = small / f"d{i % 100}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i}.bin").write_bytes(os.urandom(4096))
    if not big.exists():
        big.mkdir(parents=True)
        chunk = os.urandom(1 << 20)
        with open(big / "weights.bin", "wb") as f:
            for _ in range(a.big_mib):
                f.write(chunk)
    key = ec.generate_private_key(ec.SECP256R1())
    (root / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (root / "pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    rows = []
    for label, model, alg in [
        (f"{a.files:,} x 4 KiB, sha256", small, "sha256"),
        (f"{a.big_mib} MiB file, sha256", big, "sha256"),
        (f"{a.big_mib} MiB file, blake3", big, "blake3"),
    ]:
        ours = model_signing_rs.hashing.Config().use_file_serialization(hashing_algorithm=alg)
        ref = model_signing.hashing.Config().use_file_serialization(hashing_algorithm=alg)
        t_ours = best(lambda: ours.hash(model))
        t_ref = best(lambda: ref.hash(model), n=1)
        cli = ""
        if a.cli:
            t_cli = best(lambda: subprocess.run(
                [a.cli, "digest", "--hash-algorithm", alg, str(model)], check=True, capture_output=True))
            cli = f"{t_cli:.3f} s"
        rows.append((f"hash {label}", t_ours, t_ref, cli))

    sig = root / "small.sig"
    t_sign = best(lambda: model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=root / "key.pem").sign(small, sig))
    t_sign_ref = best(lambda: model_signing.signing.Config().use_elliptic_key_signer(
        private_key=root / "key.pem").sign(small, sig), n=1)
    t_ver = best(lambda: model_signing_rs.verifying.Config().use_elliptic_key_verifier(
        public_key=root / "pub.pem").verify(small, sig))
    t_ver_ref = best(lambda: model_signing.verifying.Config().use_elliptic_key_verifier(
        public_key=root / "pub.pem").verify(small, sig), n=1)
    rows.append((f"sign key, {a.files:,} files", t_sign, t_sign_ref, ""))
    rows.append((f"verify key, {a.files:,} files", t_ver, t_ver_ref, ""))
    rows.append(("import", import_time("model_signing_rs"), import_time("model_signing.signing"), ""))

    print("| operation | model_signing_rs | model_signing 1.1.1 | speed-up | CLI |")
    print("|---|---|---|---|---|")
    for label, o, r, c in rows:
        print(f"| {label} | {o:.3f} s | {r:.3f} s | {r / o:.1f}x | {c} |")


if __name__ == "__main__":
    main()
