"""In-process timings: model_signing_rs against the reference model_signing in one interpreter.

scripts/bench runs this with a venv that has both packages (`--json`, on the models it generated);
it can also run alone:

    python python/benchmarks/inprocess.py [--files N] [--big-mib N] [--runs N] [--dir DIR]

For every model it times, through each package's Python API, ``hashing.Config.hash``,
``signing.Config.sign`` and ``verifying.Config.verify`` with an EC P-256 key, the two packages
alternating, one uncounted run of each first, then the median of ``--runs``; plus each package's
import time (a fresh interpreter per import, median of five). The page cache is warm. For numbers
that mean anything, install a release wheel (``pip install ./python`` builds one).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List


def import_time(stmt: str, runs: int) -> float:
    code = f"import time; s = time.perf_counter(); {stmt}; print(time.perf_counter() - s)"
    return statistics.median(
        float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(runs)
    )


def alternate(fns: Dict[str, Callable[[], object]], runs: int, warmup: bool) -> Dict[str, float]:
    """Median seconds of each function, the functions alternating run by run."""
    if warmup:
        for f in fns.values():
            f()
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(runs):
        for k, f in fns.items():
            # Both packages write the signature (ours fsyncs it): start each from a synced
            # filesystem so neither pays for the other's dirty pages (see scripts/lib/bench.py).
            os.sync()
            s = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - s)
    return {k: statistics.median(v) for k, v in times.items()}


def hashing_configs(pkg: Any, ser: str, alg: str, shard: int) -> Any:
    if ser == "shards":
        return pkg.hashing.Config().use_shard_serialization(hashing_algorithm=alg, shard_size=shard)
    return pkg.hashing.Config().use_file_serialization(hashing_algorithm=alg)


def measure(models: List[Dict[str, Any]], key: str, pub: str, runs: int, warmup: bool) -> Dict[str, Any]:
    import model_signing
    import model_signing_rs

    pkgs = {"ours": model_signing_rs, "python": model_signing}
    rows = []
    tmp = tempfile.mkdtemp(prefix="ms-inproc-")
    for m in models:
        path, ser, alg, shard = m["path"], m["serialization"], m["hash"], m.get("shard_size") or 0
        hcfg = {k: hashing_configs(p, ser, alg, shard) for k, p in pkgs.items()}
        sig = {k: os.path.join(tmp, f"{m['name']}.{k}.sig".replace(" ", "_")) for k in pkgs}
        scfg = {k: p.signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(hcfg[k])
                for k, p in pkgs.items()}
        # The reference guesses the hashing from the manifest and gets blake2b wrong, so it is
        # told; ours reads it from the bundle (the config only adds ignore paths).
        vcfg = {k: p.verifying.Config().use_elliptic_key_verifier(public_key=pub).set_hashing_config(hcfg[k])
                for k, p in pkgs.items()}
        ops = {
            "hash": {k: (lambda k=k: hcfg[k].hash(path)) for k in pkgs},
            "sign": {k: (lambda k=k: scfg[k].sign(path, sig[k])) for k in pkgs},
            "verify": {k: (lambda k=k: vcfg[k].verify(path, sig[k])) for k in pkgs},
        }
        for op, fns in ops.items():
            med = alternate(fns, runs, warmup)
            rows.append(dict(w=m["name"], op=op, size=m["size"], ours=med["ours"], python=med["python"]))
            print(f"  in-process {m['name']} {op}: ours {med['ours']:.3f}s python {med['python']:.3f}s",
                  file=sys.stderr, flush=True)
    rows.extend(verified_load_rows(models, key, pub, runs, warmup, tmp))
    n = 5 if runs > 1 else 1
    imports = {
        "ours": import_time("import model_signing_rs", n),
        "python": import_time("import model_signing, model_signing.signing, model_signing.verifying", n),
    }
    return dict(rows=rows, imports=imports)


def safetensors_model(root: pathlib.Path, count: int, each: int) -> pathlib.Path:
    """`count` safetensors files of `each` bytes of tensor data (one random float32 tensor each)."""
    import numpy as np
    from safetensors.numpy import save_file

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for j in range(count):
        save_file({f"layer.{j}.weight": rng.standard_normal(each // 4, dtype=np.float32)},
                  str(root / f"model-{j:05d}-of-{count:05d}.safetensors"))
    return root


def verified_load_rows(models: List[Dict[str, Any]], key: str, pub: str, runs: int, warmup: bool,
                       tmp: str) -> List[Dict[str, Any]]:
    """Verified load (issue 22) against the reference's verify-then-load, on the same model:
    ours, `open_verified` then every file through it (`load_all_safetensors` for the weights,
    numpy arrays over the verified buffers; `read_bytes` for the rest: each byte read once,
    hashed in that read); the reference, `verifying.Config.verify`
    then `safetensors.numpy.load_file` for weights and `open().read()` for the rest. One
    safetensors model as large as the largest sha256 model here (8 files), and the many-small-files
    model as it is."""
    import model_signing
    import model_signing_rs
    from safetensors.numpy import load_file

    def count(path: str) -> int:
        return sum(len(f) for _, _, f in os.walk(path)) if os.path.isdir(path) else 1

    plain = [m for m in models if m["hash"] == "sha256" and m["serialization"] == "files"]
    big = next((m for m in plain if count(m["path"]) == 8), None)
    small = [m for m in plain if count(m["path"]) >= 1000]
    cases = []
    if big is not None:
        each = max(4096, big["size"] // 8)
        path = safetensors_model(pathlib.Path(tmp) / "st", 8, each)
        cases.append((f"safetensors, 8 x {each >> 20} MiB", str(path)))
    for m in small[:1]:
        cases.append((m["name"], m["path"]))
    # Both sides allocate about the model's size in fresh memory per run. On a virtual machine the
    # first touch of guest memory the host has not backed yet costs many times a normal page
    # fault, and which side meets it depends on the order of runs (here the two sides swapped
    # places from one run of the script to the next). Touching three times the largest model once
    # first makes both sides allocate from memory the host already backs.
    if big is not None:
        warm = bytearray(3 * big["size"])
        del warm
    rows = []
    for name, path in cases:
        files = sorted(str(p.relative_to(path)) for p in pathlib.Path(path).rglob("*") if p.is_file()
                       and p.name != "model.sig")
        sig = os.path.join(path, "model.sig")
        model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=key).sign(path, sig)
        ours_cfg = model_signing_rs.verifying.Config().use_elliptic_key_verifier(public_key=pub)
        ref_cfg = model_signing.verifying.Config().use_elliptic_key_verifier(public_key=pub)
        size = sum(os.path.getsize(os.path.join(path, f)) for f in files)

        def ours() -> None:
            with model_signing_rs.open_verified(path, sig, config=ours_cfg) as m:
                m.load_all_safetensors()
                for f in m.files:
                    if not f.endswith(".safetensors"):
                        m.read_bytes(f)

        def reference() -> None:
            ref_cfg.verify(path, sig)
            for f in files:
                full = os.path.join(path, f)
                if f.endswith(".safetensors"):
                    load_file(full)
                else:
                    with open(full, "rb") as fh:
                        fh.read()

        med = alternate({"ours": ours, "python": reference}, runs, warmup)
        os.remove(sig)
        rows.append(dict(w=name, op="verified load", size=size, ours=med["ours"], python=med["python"]))
        print(f"  in-process {name} verified load: ours {med['ours']:.3f}s python {med['python']:.3f}s",
              file=sys.stderr, flush=True)
    return rows


def make_models(root: pathlib.Path, files: int, big_mib: int) -> List[Dict[str, Any]]:
    small, big = root / "small", root / "big"
    if not small.exists():
        for i in range(files):
            d = small / f"d{i % 100}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i}.bin").write_bytes(os.urandom(4096))
    if not big.exists():
        big.mkdir(parents=True)
        chunk = os.urandom(1 << 20)
        for j in range(8):
            with open(big / f"w{j}.bin", "wb") as f:
                for _ in range(big_mib // 8):
                    f.write(chunk[:-1] + bytes([j]))
    nbig = (big_mib // 8) * 8 << 20
    return [
        dict(name=f"sha256, {files:,} x 4 KiB", path=str(small), serialization="files", hash="sha256",
             size=files * 4096),
        dict(name=f"sha256, 8 x {big_mib // 8} MiB", path=str(big), serialization="files", hash="sha256",
             size=nbig),
        dict(name=f"blake3, 8 x {big_mib // 8} MiB", path=str(big), serialization="files", hash="blake3",
             size=nbig),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", help="JSON list of {name, path, serialization, hash, shard_size, size}")
    ap.add_argument("--key")
    ap.add_argument("--pub")
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--big-mib", type=int, default=2048)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--dir")
    ap.add_argument("--json", action="store_true", help="print the result as JSON (for scripts/bench)")
    a = ap.parse_args()
    root = pathlib.Path(a.dir or tempfile.mkdtemp(prefix="ms-bench-"))
    if a.models:
        with open(a.models) as f:
            models = json.load(f)
        key, pub = a.key, a.pub
    else:
        models = make_models(root, a.files, a.big_mib)
        key, pub = str(root / "key.pem"), str(root / "pub.pem")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
        subprocess.run(["openssl", "ec", "-in", key, "-pubout", "-out", pub], check=True,
                       stderr=subprocess.DEVNULL)
    res = measure(models, key, pub, a.runs, not a.no_warmup)
    if a.json:
        print(json.dumps(res))
        return
    print("| workload | op | model_signing_rs (s) | model_signing 1.1.1 (s) | speed-up |")
    print("|---|---|---|---|---|")
    for r in res["rows"]:
        print(f"| {r['w']} | {r['op']} | {r['ours']:.3f} | {r['python']:.3f} | {r['python'] / r['ours']:.1f}x |")
    i = res["imports"]
    print(f"| import | - | {i['ours']:.3f} | {i['python']:.3f} | {i['python'] / i['ours']:.1f}x |")


if __name__ == "__main__":
    main()
