#!/usr/bin/env python3
"""Benchmark driver behind scripts/bench (see there for usage).

Ours and the Python peer run alternately on the same page-cache-warm models; each cell is the median
of the runs. Peak RSS comes from GNU time. The hardware limit is the single-core hash rate of our
crate (examples/hashrate, measured here, now) times the cores the workload can use: one for a single
file in files mode (SHA-256 is sequential), all cores otherwise.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MiB = 1 << 20
GiB = 1 << 30


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def make_files(root, count, size, dirs=0):
    """count files of size random bytes; spread over `dirs` directories when dirs > 0."""
    os.makedirs(root, exist_ok=True)
    block = os.urandom(min(size, 4 * MiB)) if size else b""
    for i in range(count):
        d = os.path.join(root, f"d{i % dirs:03d}") if dirs else root
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
            left = size
            # Vary the content per file without paying for os.urandom on every byte.
            f.write(i.to_bytes(8, "little"))
            left -= min(8, left)
            while left > 0:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n


def warm(root):
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                while f.read(8 * MiB):
                    pass


def model_bytes(root):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)


def timed(cmd):
    """Runs cmd under GNU time; returns (seconds, peak RSS in KiB)."""
    with tempfile.NamedTemporaryFile("r") as out:
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.decode()}")
        rss = int(out.read().strip().splitlines()[-1])
    return dt, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--hashrate", required=True)
    ap.add_argument("--peer-python", required=True)
    ap.add_argument("--peer-py", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--only")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    runs = a.runs or (1 if a.quick else 3)
    cores = os.cpu_count() or 1
    peer_cli = os.path.join(os.path.dirname(a.peer_python), "model_signing")

    rate = {alg: float(subprocess.check_output([a.hashrate, alg, "1" if a.quick else "3"]).decode())
            for alg in ("sha256", "blake3")}
    print(f"machine: {cores} cores; single-core hash rate (this crate): "
          f"sha256 {rate['sha256'] / MiB:.0f} MiB/s, blake3 {rate['blake3'] / MiB:.0f} MiB/s", flush=True)

    if a.quick:
        big, many, nbig = 16 * MiB, 2000, 256 * MiB
    else:
        big, many, nbig = 256 * MiB, 100_000, 4 * GiB
    # name: (dataset, our flags, python mode, algorithm, cores usable)
    workloads = {
        "W1": ("w1", [], "cli", "sha256", cores),
        "W2f": ("w2", [], "cli", "sha256", 1),
        "W2s": ("w2", ["--shards"], ("shards", "sha256"), "sha256", cores),
        "W3": ("w1", ["--hash-algorithm", "blake3"], ("files", "blake3"), "blake3", cores),
        "W4": ("w4", [], "cli", "sha256", cores),
    }
    only = set(a.only.split(",")) if a.only else set(workloads)
    tmp = tempfile.mkdtemp(prefix="ms-bench-", dir=os.environ.get("MS_BENCH_DIR"))
    try:
        data = {}
        need = {workloads[w][0] for w in only}
        print("generating models...", flush=True)
        if "w1" in need:
            data["w1"] = os.path.join(tmp, "w1")
            make_files(data["w1"], 16, big)
        if "w2" in need:
            data["w2"] = os.path.join(tmp, "w2")
            make_files(data["w2"], 1, nbig)
        if "w4" in need:
            data["w4"] = os.path.join(tmp, "w4")
            make_files(data["w4"], many, 4096, dirs=100)
        key = os.path.join(tmp, "key.pem")
        pub = os.path.join(tmp, "key.pub")
        sh(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key])
        sh(["openssl", "ec", "-in", key, "-pubout", "-out", pub], stderr=subprocess.DEVNULL)

        rows = []
        for w in [w for w in workloads if w in only]:
            ds, flags, pymode, alg, use_cores = workloads[w]
            model = data[ds]
            size = model_bytes(model)
            warm(model)
            ours_sig = os.path.join(tmp, f"{w}.ours.sig")
            py_sig = os.path.join(tmp, f"{w}.py.sig")
            cmds = {
                ("sign", "ours"): [a.ours, "--log-level", "WARNING", "sign", "key", "--private-key", key,
                                   "--signature", ours_sig] + flags + [model],
                ("verify", "ours"): [a.ours, "--log-level", "WARNING", "verify", "key", "--public-key", pub,
                                     "--signature", ours_sig, model],
            }
            if pymode == "cli":
                cmds[("sign", "python")] = [peer_cli, "sign", "key", "--private_key", key, "--signature", py_sig, model]
                cmds[("verify", "python")] = [peer_cli, "verify", "key", "--public_key", pub, "--signature", py_sig, model]
            else:
                ser, h = pymode
                hashing = ["--serialization", ser, "--hash", h]
                cmds[("sign", "python")] = [a.peer_python, a.peer_py, "sign", "--method", "key", "--private-key", key,
                                            "--signature", py_sig] + hashing + [model]
                cmds[("verify", "python")] = [a.peer_python, a.peer_py, "verify", "--method", "key", "--public-key",
                                              pub, "--signature", py_sig] + hashing + [model]
            for op in ("sign", "verify"):
                times = {"ours": [], "python": []}
                rss = {"ours": 0, "python": 0}
                for _ in range(runs):
                    for impl in ("ours", "python"):
                        dt, r = timed(cmds[(op, impl)])
                        times[impl].append(dt)
                        rss[impl] = max(rss[impl], r)
                med = {k: statistics.median(v) for k, v in times.items()}
                limit = rate[alg] * use_cores
                rows.append((w, op, size, med, rss, limit, use_cores, len(times["ours"])))
                print(f"  {w} {op}: ours {med['ours']:.2f}s python {med['python']:.2f}s", flush=True)

        print()
        print(f"| workload | op | size | ours (s) | ours MiB/s | python (s) | python MiB/s | speed-up | "
              f"ours peak RSS | python peak RSS | % of limit ({cores}-core machine) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for w, op, size, med, rss, limit, use_cores, n in rows:
            ours_rate = size / med["ours"]
            py_rate = size / med["python"]
            print(f"| {w} | {op} | {size / MiB:.0f} MiB | {med['ours']:.2f} | {ours_rate / MiB:.0f} | "
                  f"{med['python']:.2f} | {py_rate / MiB:.0f} | {med['python'] / med['ours']:.2f}x | "
                  f"{rss['ours'] / 1024:.1f} MiB | {rss['python'] / 1024:.1f} MiB | "
                  f"{100 * ours_rate / limit:.0f}% of {use_cores} core(s) |")
        print(f"\nmedian of {runs} run(s) each, ours and python alternating; page cache warm.")
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
