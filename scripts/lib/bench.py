#!/usr/bin/env python3
"""Benchmark driver behind scripts/bench (see there for usage).

Every limit is measured in the same run with a tool that is not ours:

* SHA-256 and BLAKE2b: `openssl speed -evp sha256|blake2b512 -bytes 1048576` on one core, times the
  cores the workload can use (one for a single file in files mode: its hash is one sequential
  chain; all cores otherwise);
* BLAKE3: the blake3 crate's own multi-threaded rate on an in-memory buffer (`examples/hashrate
  blake3-mt`, which calls `blake3::Hasher::update_rayon` and nothing of ours), with `b3sum` on the
  same page-cache-warm files side by side;
* cold reads (only where the page cache can be dropped: root and /proc/sys/vm/drop_caches
  writable): `dd iflag=direct bs=4M` over the same files, the storage limit.

Ours and the Python peer (model-signing 1.1.1: its CLI where it can do the job, else its API through
tests/peer/peer.py) run alternately on the same models; each cell is the median of the runs. Peak
RSS comes from GNU time. The table gives each workload as a share of its limit and as a ratio to
Python; a chart (SVG) shows ours, Python and the limit per workload.
"""

import argparse
import json
import os
import platform
import re
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


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


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


def files_of(root):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)


def warm(root):
    # The models were just written: until the kernel has written their dirty pages back, its flusher
    # threads compete with whatever runs first (that was sign, which looked 11% slower than verify).
    os.sync()
    for path in files_of(root):
        with open(path, "rb") as f:
            while f.read(8 * MiB):
                pass


def model_bytes(root):
    return sum(os.path.getsize(p) for p in files_of(root))


def can_drop_caches():
    return os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(cmd, before=None):
    """Runs cmd under GNU time; returns (seconds, peak RSS in KiB)."""
    if before:
        before()
    # Ours makes the signature durable (fsync before the rename); on ext4 that fsync also commits
    # whatever else is dirty on the filesystem, such as the signature the previous command wrote:
    # 2 ms alone, 60 ms behind 50 MB of another process's writes (strace -T on this machine). Each
    # command starts from a clean filesystem so that it pays for its own writes only.
    os.sync()
    with tempfile.NamedTemporaryFile("r") as out:
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.decode()}")
        rss = int(out.read().strip().splitlines()[-1])
    return dt, rss


def openssl_rate(alg, seconds):
    """Bytes per second of one core, from `openssl speed -evp ALG -bytes 1048576`."""
    out = subprocess.check_output(
        ["openssl", "speed", "-seconds", str(seconds), "-evp", alg, "-bytes", "1048576"],
        stderr=subprocess.DEVNULL).decode()
    # Last line: "<alg>   1567887.71k": thousands of bytes per second.
    m = re.search(r"^\S+\s+([\d.]+)k\s*$", out.strip().splitlines()[-1])
    if not m:
        sys.exit(f"cannot read openssl speed output:\n{out}")
    return float(m.group(1)) * 1000


def dd_direct_rate(paths):
    """Cold read rate of the storage: dd iflag=direct over every file, in bytes per second."""
    total, t0 = 0, time.perf_counter()
    for p in paths:
        sh(["dd", f"if={p}", "of=/dev/null", "bs=4M", "iflag=direct", "status=none"])
        total += os.path.getsize(p)
    return total / (time.perf_counter() - t0)


def svg_chart(rows, title):
    """A grouped bar chart (GB/s): ours, Python and the limit for every workload and operation."""
    width, bar, gap, left, top = 900, 14, 22, 230, 50
    scale_max = max(max(r["ours"], r["python"] or 0, r["limit"]) for r in rows) * 1.1
    height = top + len(rows) * (3 * bar + gap) + 40
    px = lambda v: (width - left - 120) * v / scale_max  # noqa: E731
    colours = {"ours": "#2b6cb0", "python": "#d69e2e", "limit": "#a0aec0"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">{title}</text>']
    x = left
    for i, (k, label) in enumerate([("ours", "model-signing-rs"), ("python", "Python 1.1.1"),
                                    ("limit", "limit (outside anchor)")]):
        out.append(f'<rect x="{x}" y="28" width="12" height="12" fill="{colours[k]}"/>'
                   f'<text x="{x + 16}" y="38">{label}</text>')
        x += 190
    y = top
    for r in rows:
        out.append(f'<text x="{left - 8}" y="{y + 1.5 * bar + 4}" text-anchor="end">'
                   f'{r["label"]}</text>')
        for j, k in enumerate(("ours", "python", "limit")):
            v = r[k]
            if v is None:
                continue
            w = max(px(v), 1)
            note = f" ({r['share']:.0f}% of limit)" if k == "ours" else ""
            out.append(f'<rect x="{left}" y="{y + j * bar}" width="{w:.1f}" height="{bar - 2}" '
                       f'fill="{colours[k]}"/>'
                       f'<text x="{left + w + 4:.1f}" y="{y + j * bar + bar - 4}">{v / 1e9:.2f} GB/s'
                       f'{note}</text>')
        y += 3 * bar + gap
    out.append(f'<text x="10" y="{height - 12}" fill="#555">{r_note(rows)}</text></svg>')
    return "\n".join(out)


def r_note(rows):
    return "GB/s = 10^9 bytes per second over the model's bytes; median of the runs, page cache warm " \
           "except the cold row."


def inprocess_table(a, workloads, only, data, key, pub, runs, cli_rows):
    """The Python API rows: python/benchmarks/inprocess.py in one interpreter with both packages,
    on the models generated above, each as a share of the same limit as the CLI rows."""
    models, limits = [], {}
    for w in [w for w in workloads if w in only]:
        ds, flags, pymode, limit, limit_name, cold = workloads[w]
        if cold:
            continue
        ser, h, n = pymode or ("files", "sha256", None)
        models.append(dict(name=w, path=data[ds], serialization=ser, hash=h, shard_size=n,
                           size=model_bytes(data[ds])))
        limits[w] = (limit, limit_name)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(models, f)
        f.flush()
        print("in-process (Python API)...", flush=True)
        out = subprocess.run([a.inprocess_python, os.path.join(os.environ.get("MS_ROOT", "."), "python",
                                                                 "benchmarks", "inprocess.py"),
                              "--json", "--models", f.name, "--key", key, "--pub", pub, "--runs", str(runs)]
                             + (["--no-warmup"] if a.quick else []),
                             check=True, stdout=subprocess.PIPE).stdout
    res = json.loads(out)
    cli = {(r["w"], r["op"]): r["med"]["ours"] for r in cli_rows}
    print("\nIn process: `hashing.Config.hash`, `signing.Config.sign` and `verifying.Config.verify` of "
          "model_signing_rs against model_signing 1.1.1 in one interpreter (python/benchmarks/inprocess.py); "
          "'verified load' is `open_verified` and a read of every file through it (safetensors files by "
          "`load_all_safetensors`) against the reference's `verify` then `safetensors.numpy.load_file` / `read()`")
    print()
    print("| workload | op | model_signing_rs (s) | GB/s | share of limit | model_signing 1.1.1 (s) | speed-up | "
          "our CLI (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        limit, _ = limits.get(r["w"], (None, None))
        rate = r["size"] / r["ours"]
        share = f"{100 * rate / limit:.0f}%" if limit else "-"
        c = cli.get((r["w"], r["op"]))
        print(f"| {r['w']} | {r['op']} | {r['ours']:.3f} | {rate / 1e9:.2f} | {share} | {r['python']:.3f} | "
              f"{r['python'] / r['ours']:.2f}x | {f'{c:.3f}' if c else '-'} |")
    i = res["imports"]
    print(f"| import | - | {i['ours']:.3f} | - | - | {i['python']:.3f} | {i['python'] / i['ours']:.1f}x | - |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--hashrate", required=True)
    ap.add_argument("--peer-python", required=True)
    ap.add_argument("--peer-py", required=True)
    ap.add_argument("--b3sum")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--only")
    ap.add_argument("--chart", help="where to write the SVG chart (default target/bench/bench.svg)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--inprocess-python",
                    help="a python with model_signing_rs and model_signing 1.1.1: adds the in-process rows")
    a = ap.parse_args()
    runs = a.runs or (1 if a.quick else 3)
    cores = os.cpu_count() or 1
    peer_cli = os.path.join(os.path.dirname(a.peer_python), "model_signing")
    secs = 1 if a.quick else 3

    print(f"machine: {cpu_model()}, {cores} cores, Linux {platform.release()}", flush=True)
    sha = openssl_rate("sha256", secs)
    b2 = openssl_rate("blake2b512", secs)
    b3 = float(subprocess.check_output([a.hashrate, "blake3-mt", str(secs)]).decode())
    print(f"anchors: openssl sha256 {sha / 1e9:.2f} GB/s per core, openssl blake2b512 "
          f"{b2 / 1e9:.2f} GB/s per core, blake3 crate multi-threaded in memory {b3 / 1e9:.2f} GB/s",
          flush=True)

    if a.quick:
        big, nbig, many, shard = 16 * MiB, 64 * MiB, 2000, 8 * MiB
    else:
        big, nbig, many, shard = 256 * MiB, 2 * GiB, 20_000, 256 * MiB
    cold_ok = can_drop_caches() and not a.quick
    # name: (dataset, our sign flags, python (None: CLI; else (serialization, hash, shard)),
    #        limit in bytes/s, what the limit is, cold)
    workloads = {
        "sha256 8 files": ("many_big", [], None, sha * cores, f"openssl sha256 x {cores} cores", False),
        "blake2b 8 files": ("many_big", ["--hash-algorithm", "blake2b"], ("files", "blake2", None),
                            b2 * cores, f"openssl blake2b512 x {cores} cores", False),
        "sha256 1 file": ("one_big", [], None, sha, "openssl sha256 x 1 core (one sequential hash)", False),
        "sha256 1 file, shards": ("one_big", ["--shard-size", str(shard)], ("shards", "sha256", shard),
                                  sha * cores, f"openssl sha256 x {cores} cores", False),
        "blake3 8 files": ("many_big", ["--hash-algorithm", "blake3"], ("files", "blake3", None),
                           b3, "blake3 crate, multi-threaded, in memory", False),
        "sha256 small files": ("small", [], None, None, "", False),
        "sha256 8 files, cold": ("many_big", [], None, None, "dd iflag=direct", True),
    }
    only = set(a.only.split(",")) if a.only else set(workloads)
    tmp = tempfile.mkdtemp(prefix="ms-bench-", dir=os.environ.get("MS_BENCH_DIR"))
    try:
        data = {}
        need = {workloads[w][0] for w in only}
        print("generating models...", flush=True)
        if "many_big" in need:
            data["many_big"] = os.path.join(tmp, "many_big")
            make_files(data["many_big"], 8, big)
        if "one_big" in need:
            data["one_big"] = os.path.join(tmp, "one_big")
            make_files(data["one_big"], 1, nbig)
        if "small" in need:
            data["small"] = os.path.join(tmp, "small")
            make_files(data["small"], many, 4096, dirs=100)
        key = os.path.join(tmp, "key.pem")
        pub = os.path.join(tmp, "key.pub")
        sh(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key])
        sh(["openssl", "ec", "-in", key, "-pubout", "-out", pub], stderr=subprocess.DEVNULL)

        rows = []
        extra = []
        for w in [w for w in workloads if w in only]:
            ds, flags, pymode, limit, limit_name, cold = workloads[w]
            if cold and not cold_ok:
                extra.append(f"{w}: skipped (the page cache cannot be dropped here)")
                continue
            model = data[ds]
            size = model_bytes(model)
            before = drop_caches if cold else None
            if cold:
                drop_caches()
                limit = dd_direct_rate(files_of(model))
                limit_name = f"dd iflag=direct bs=4M ({limit / 1e9:.2f} GB/s)"
            else:
                warm(model)
            ours_sig = os.path.join(tmp, f"{len(rows)}.ours.sig")
            py_sig = os.path.join(tmp, f"{len(rows)}.py.sig")
            cmds = {
                ("sign", "ours"): [a.ours, "--log-level", "WARNING", "sign", "key", "--private-key", key,
                                   "--signature", ours_sig] + flags + [model],
                ("verify", "ours"): [a.ours, "--log-level", "WARNING", "verify", "key", "--public-key", pub,
                                     "--signature", ours_sig, model],
            }
            if pymode is None:
                cmds[("sign", "python")] = [peer_cli, "sign", "key", "--private_key", key, "--signature", py_sig, model]
                cmds[("verify", "python")] = [peer_cli, "verify", "key", "--public_key", pub, "--signature", py_sig, model]
            else:
                ser, h, n = pymode
                hashing = ["--serialization", ser, "--hash", h] + (["--shard-size", str(n)] if n else [])
                cmds[("sign", "python")] = [a.peer_python, a.peer_py, "sign", "--method", "key", "--private-key", key,
                                            "--signature", py_sig] + hashing + [model]
                cmds[("verify", "python")] = [a.peer_python, a.peer_py, "verify", "--method", "key", "--public-key",
                                              pub, "--signature", py_sig] + hashing + [model]
            ops = ["sign"] if cold else ["sign", "verify"]
            if "blake3" in w:
                cmds[("digest", "ours")] = [a.ours, "--log-level", "WARNING", "digest", "--hash-algorithm",
                                            "blake3", model]
                ops.append("digest")
            for op in ops:
                times = {"ours": [], "python": []}
                rss = {"ours": 0, "python": 0}
                impls = [i for i in ("ours", "python") if (op, i) in cmds]
                if not a.quick and not cold:
                    # One uncounted run of each first, so neither pays for first-touch costs
                    # (page tables, the dynamic loader, Python's imports) in a counted run.
                    for impl in impls:
                        timed(cmds[(op, impl)], before)
                for _ in range(runs):
                    for impl in impls:
                        dt, r = timed(cmds[(op, impl)], before)
                        times[impl].append(dt)
                        rss[impl] = max(rss[impl], r)
                med = {k: statistics.median(v) if v else None for k, v in times.items()}
                rows.append(dict(w=w, op=op, size=size, med=med, rss=rss, limit=limit, limit_name=limit_name))
                print(f"  {w} {op}: ours {med['ours']:.2f}s"
                      + (f" python {med['python']:.2f}s" if med["python"] else ""), flush=True)
            if "blake3" in w and a.b3sum:
                t = [timed([a.b3sum, "--num-threads", str(cores)] + files_of(model))[0] for _ in range(runs)]
                extra.append(f"b3sum (crates.io) on the same files, {cores} threads: "
                             f"{size / statistics.median(t) / 1e9:.2f} GB/s (median {statistics.median(t):.2f} s)")

        print()
        print("| workload | op | size | ours (s) | ours GB/s | share of limit | limit | Python (s) | ours vs Python | "
              "ours peak RSS | Python peak RSS |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        chart = []
        for r in rows:
            ours_rate = r["size"] / r["med"]["ours"]
            py = r["med"]["python"]
            share = 100 * ours_rate / r["limit"] if r["limit"] else None
            share_s = f"{share:.0f}%" if share is not None else "-"
            limit_s = f"{r['limit'] / 1e9:.2f} GB/s {r['limit_name']}" if r["limit"] else "-"
            py_s = f"{py:.2f}" if py else "-"
            ratio_s = f"{py / r['med']['ours']:.2f}x" if py else "-"
            py_rss = f"{r['rss']['python'] / 1024:.0f} MiB" if py else "-"
            print(f"| {r['w']} | {r['op']} | {r['size'] / MiB:.0f} MiB | {r['med']['ours']:.2f} | "
                  f"{ours_rate / 1e9:.2f} | {share_s} | {limit_s} | {py_s} | {ratio_s} | "
                  f"{r['rss']['ours'] / 1024:.0f} MiB | {py_rss} |")
            if r["limit"]:
                chart.append(dict(label=f"{r['w']} {r['op']}", ours=ours_rate,
                                  python=r["size"] / py if py else None, limit=r["limit"], share=share))
        if a.inprocess_python:
            inprocess_table(a, workloads, only, data, key, pub, runs, rows)
        for e in extra:
            print(f"\n{e}")
        print(f"\nmedian of {runs} run(s) each, ours and Python alternating; page cache warm except "
              f"the cold row (caches dropped before every run). CPU: {cpu_model()}.")
        path = a.chart or os.path.join(os.environ.get("MS_ROOT", "."), "target", "bench", "bench.svg")
        if chart:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w") as f:
                f.write(svg_chart(chart, f"model-signing-rs vs Python 1.1.1 vs the limit ({cpu_model()}, "
                                         f"{cores} cores)"))
            print(f"chart: {path}")
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
