"""``model_signing_rs.open_verified``: the bytes handed over are the bytes hashed (issue 22).

The model is made here with the real ``safetensors`` and ``numpy`` packages. The time-of-check /
time-of-use tests show both sides: with the plain verify-then-load pattern, a file swapped after
verification is what the caller loads; through ``open_verified`` it never is.
"""

from __future__ import annotations

import json
import os
import pathlib
import threading

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import model_signing_rs
from model_signing_rs import errors, open_verified, policy, verifying


def _model(root: pathlib.Path, shard_mib: int = 1) -> pathlib.Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(7)
    save_file(
        {
            "embed": rng.standard_normal((256, 64)).astype(np.float32),
            "layer.0.weight": rng.standard_normal((64, 64)).astype(np.float32),
            "ids": np.arange(1000, dtype=np.int64),
        },
        str(root / "model.safetensors"),
    )
    (root / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 64}))
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    return root


def _sign(model: pathlib.Path, keys, **hashing) -> pathlib.Path:
    sig = model / "model.sig"
    cfg = model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private)
    if hashing:
        cfg.set_hashing_config(model_signing_rs.hashing.Config().use_shard_serialization(**hashing))
    cfg.sign(model, sig)
    return sig


def _policy(tmp_path: pathlib.Path, model: pathlib.Path, key) -> pathlib.Path:
    p = tmp_path / "policy.yaml"
    p.write_text(
        "apiVersion: model-signing.openssf.org/v1\n"
        "kind: Policy\n"
        "rules:\n"
        "  - name: ours\n"
        f'    models: [{{path: "{os.path.realpath(model)}"}}]\n'
        f"    signers: [{{key: {key}}}]\n"
    )
    return p


@pytest.fixture
def signed(tmp_path, keys):
    model = _model(tmp_path / "bert")
    _sign(model, keys)
    return model, _policy(tmp_path, model, keys.public)


def test_reads_what_was_signed(signed):
    model, pol = signed
    expected = load_file(str(model / "model.safetensors"))
    with open_verified(model, policy=policy.load(pol)) as m:
        assert m.files == ("config.json", "model.safetensors", "tokenizer/vocab.txt")
        assert m.report.method == "key" and m.report.files_checked == 0
        tensors = m.load_safetensors("model.safetensors")
        assert set(tensors) == set(expected)
        for k, v in expected.items():
            np.testing.assert_array_equal(tensors[k], v)
        assert json.loads(m.read_bytes("config.json"))["hidden_size"] == 64
        with m.open("tokenizer/vocab.txt") as f:
            assert f.read().splitlines()[2] == b"hello"
        assert m.verified_files == m.files
        assert m.report.files_checked == 3
    with pytest.raises(ValueError, match="closed"):
        m.read_bytes("config.json")


def test_a_verifying_config_works_as_well_as_a_policy(signed, keys):
    model, _ = signed
    cfg = verifying.Config().use_elliptic_key_verifier(public_key=keys.public)
    with open_verified(model, model / "model.sig", config=cfg) as m:
        assert m.verify_all().files_checked == 3
    bad = verifying.Config().use_elliptic_key_verifier(public_key=keys.other_public)
    with pytest.raises(errors.SignatureError):
        open_verified(model, config=bad)
    with pytest.raises(errors.ConfigError, match="exactly one"):
        open_verified(model)


def test_names_outside_the_signed_set_are_never_read(signed, tmp_path):
    model, pol = signed
    (tmp_path / "secret").write_bytes(b"top secret")
    with open_verified(model, policy=pol) as m:
        for name in ["model.sig", "../secret", "/etc/passwd", "tokenizer", "nope", "."]:
            with pytest.raises(errors.ModelError, match="not one of the model's signed files"):
                m.read_bytes(name)


def test_extra_missing_and_changed_files(signed):
    model, pol = signed
    (model / "extra.txt").write_text("x")
    with pytest.raises(errors.MismatchError) as e:
        open_verified(model, policy=pol)
    assert e.value.extra == ["extra.txt"]
    with open_verified(model, policy=pol, ignore_unsigned_files=True) as m:
        assert "extra.txt" not in m.files
    os.remove(model / "extra.txt")
    os.remove(model / "config.json")
    with pytest.raises(errors.MismatchError) as e:
        open_verified(model, policy=pol)
    assert e.value.missing == ["config.json"]
    (model / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 65}))
    # Listing does not hash: the change shows when the file is read, or by verify_all.
    with open_verified(model, policy=pol) as m:
        with pytest.raises(errors.MismatchError) as e:
            m.read_bytes("config.json")
        assert [c.name for c in e.value.changed] == ["config.json"]
        with pytest.raises(errors.MismatchError):
            m.verify_all()
        assert m.read_bytes("tokenizer/vocab.txt").startswith(b"[PAD]")


def test_shards_are_checked_in_the_read(tmp_path, keys):
    model = _model(tmp_path / "m")
    _sign(model, keys, shard_size=4096)
    pol = _policy(tmp_path, model, keys.public)
    data = (model / "model.safetensors").read_bytes()
    with open_verified(model, policy=pol) as m:
        assert m.report.serialization == "shards"
        assert m.read_bytes("model.safetensors") == data
    # One byte in the last shard.
    flipped = bytearray(data)
    flipped[-1] ^= 1
    (model / "model.safetensors").write_bytes(bytes(flipped))
    with open_verified(model, policy=pol) as m:
        with pytest.raises(errors.MismatchError) as e:
            m.read_bytes("model.safetensors")
        n = len(data)
        last = (n - 1) // 4096 * 4096
        assert [c.name for c in e.value.changed] == [f"model.safetensors:{last}:{n}"]


def _tampered(path: pathlib.Path) -> bytes:
    t = load_file(str(path))
    t["embed"] = np.zeros_like(t["embed"])
    out = path.with_name("evil.safetensors")
    save_file(t, str(out))
    return out.read_bytes()


def test_the_plain_verify_then_load_pattern_loads_a_swapped_file(signed, keys):
    """What open_verified closes: verify passes, then the file is swapped, then it is loaded."""
    model, pol = signed
    policy.load(pol).verify(model, model / "model.sig")
    evil = _tampered(model / "model.safetensors")
    os.remove(model / "evil.safetensors")
    tmp = model / "model.safetensors.new"
    tmp.write_bytes(evil)
    os.replace(tmp, model / "model.safetensors")
    loaded = load_file(str(model / "model.safetensors"))
    assert not loaded["embed"].any()  # the tampered tensors reached the caller


@pytest.mark.parametrize("how", ["rename", "in_place", "symlink"])
def test_a_file_swapped_after_open_is_never_returned(signed, tmp_path, how):
    model, pol = signed
    target = model / "model.safetensors"
    evil = _tampered(target)
    os.remove(model / "evil.safetensors")
    with open_verified(model, policy=pol) as m:
        if how == "rename":
            tmp = model / "swap.tmp"
            tmp.write_bytes(evil)
            os.replace(tmp, target)
        elif how == "in_place":
            with open(target, "r+b") as f:
                f.write(evil[: len(evil)])
                f.truncate()
        else:
            outside = tmp_path / "outside.safetensors"
            outside.write_bytes(evil)
            os.remove(target)
            os.symlink(outside, target)
        # Refused when the file is opened for the read (another inode, a link, a changed
        # status time) or when its bytes do not hash to the signed digest.
        with pytest.raises(errors.ModelSigningError):
            m.load_safetensors("model.safetensors")


def test_a_writer_racing_the_read_never_gets_its_bytes_through(tmp_path, keys):
    """A thread flips bytes of a 16 MiB file while it is read: every read returns the signed
    bytes or raises, never anything else."""
    model = tmp_path / "big"
    model.mkdir()
    original = os.urandom(16 << 20)
    (model / "w.bin").write_bytes(original)
    _sign(model, keys)
    pol = _policy(tmp_path, model, keys.public)
    stop = threading.Event()

    def writer() -> None:
        fd = os.open(model / "w.bin", os.O_WRONLY)
        try:
            i = 0
            while not stop.is_set():
                pos = (i * 7919 * 4096) % (16 << 20)
                os.pwrite(fd, b"\xff" * 4096, pos)
                os.pwrite(fd, original[pos : pos + 4096], pos)
                i += 1
        finally:
            os.close(fd)

    t = threading.Thread(target=writer)
    t.start()
    outcomes = {"ok": 0, "refused": 0}
    try:
        with open_verified(model, policy=pol) as m:
            for _ in range(30):
                try:
                    got = m.read_bytes("w.bin")
                except errors.ModelSigningError:
                    outcomes["refused"] += 1
                    continue
                assert got == original
                outcomes["ok"] += 1
    finally:
        stop.set()
        t.join()
    assert sum(outcomes.values()) == 30


def test_a_single_file_model(tmp_path, keys):
    f = tmp_path / "w.safetensors"
    save_file({"x": np.ones(4, dtype=np.float32)}, str(f))
    sig = tmp_path / "w.sig"
    model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(
        f, sig
    )
    cfg = verifying.Config().use_elliptic_key_verifier(public_key=keys.public)
    with open_verified(f, sig, config=cfg) as m:
        (name,) = m.files
        assert m.load_safetensors(name)["x"].tolist() == [1.0] * 4


def test_threads_share_one_verified_model(signed):
    model, pol = signed
    with open_verified(model, policy=pol) as m:
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(m.read_bytes("model.safetensors")))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 4 and len(set(results)) == 1


def test_the_default_signature_is_not_followed_out_of_the_model(signed, tmp_path, keys):
    """F1 (local models): MODEL/model.sig, found by default, linked to a file of the verifier's
    was read and its values quoted in the error. A signature the caller names is theirs to
    choose, links included."""
    model, pol = signed
    real = tmp_path / "real.sig"
    os.replace(model / "model.sig", real)
    secret = tmp_path / "secret.json"
    secret.write_bytes(b'{"dsseEnvelope": "hunter2-API-KEY"}')
    os.symlink(secret, model / "model.sig")
    with pytest.raises(errors.ModelError, match="symlink") as e:
        open_verified(model, policy=pol)
    assert "hunter2" not in str(e.value)
    with pytest.raises(errors.InvalidBundleError) as e:
        open_verified(model, secret, policy=pol)
    assert "hunter2" not in str(e.value)
    os.remove(model / "model.sig")
    os.symlink(real, model / "model.sig")
    with open_verified(model, model / "model.sig", policy=pol, ignore_unsigned_files=True) as m:
        assert m.read_bytes("config.json")


def test_a_file_larger_than_memory_is_refused_before_it_is_read(signed):
    """F3: a signed 5-byte file swapped (before open) for a sparse file of any size: the read
    allocated its whole size, up to the out-of-memory killer. Refused before allocating."""
    model, pol = signed
    with open(model / "config.json", "r+b") as f:
        f.truncate(1 << 40)  # 1 TiB, sparse
    with open_verified(model, policy=pol) as m:
        for read in (m.read_bytes, m.open, m.load_safetensors):
            with pytest.raises(errors.ModelError, match="more than the memory"):
                read("config.json")


def test_a_mismatch_message_is_bounded_and_the_lists_are_whole(signed):
    """F6: 20,000 extra files made a 20,001-line exception message."""
    model, pol = signed
    (model / "many").mkdir()
    for i in range(300):
        (model / "many" / f"f{i}").write_bytes(b"x")
    with pytest.raises(errors.MismatchError) as e:
        open_verified(model, policy=pol)
    assert len(e.value.extra) == 300
    lines = str(e.value).splitlines()
    assert len(lines) == 22 and "280 more" in lines[-1], lines[-3:]


def test_zero_copy_and_copying_loads_agree(tmp_path, keys):
    model = tmp_path / "m"
    model.mkdir()
    rng = np.random.default_rng(1)
    expected = {}
    for j in range(5):
        t = {
            f"w{j}": rng.standard_normal((33, 7)).astype(np.float32),
            f"b{j}": rng.integers(-5, 5, size=(9,), dtype=np.int64),
            f"h{j}": rng.standard_normal((4, 4)).astype(np.float16),
            f"m{j}": rng.integers(0, 2, size=(3,)).astype(bool),
            f"e{j}": np.zeros((0, 3), dtype=np.float64),
        }
        save_file(t, str(model / f"part-{j}.safetensors"))
        expected[f"part-{j}.safetensors"] = t
    (model / "config.json").write_text("{}")
    _sign(model, keys)
    pol = _policy(tmp_path, model, keys.public)
    with open_verified(model, policy=pol) as m:
        everything = m.load_all_safetensors()
        assert set(everything) == set(expected)
        for f, tensors in expected.items():
            views = everything[f]
            copies = m.load_safetensors(f, copy=True)
            assert set(views) == set(copies) == set(tensors)
            for k, v in tensors.items():
                assert views[k].dtype == v.dtype and views[k].shape == v.shape
                np.testing.assert_array_equal(views[k], v)
                np.testing.assert_array_equal(copies[k], v)
            # Views of a private buffer: writable, and writing changes nothing on disk.
            views[f"w{f[5]}"][0, 0] = 42.0
        assert load_file(str(model / "part-0.safetensors"))["w0"][0, 0] != 42.0
        with pytest.raises(errors.ModelSigningError, match="not a valid safetensors"):
            m.load_safetensors("config.json")
        # One file of several that does not match fails the whole call.
        with open(model / "part-3.safetensors", "r+b") as fh:
            fh.seek(-1, 2)
            last = fh.read(1)
            fh.seek(-1, 2)
            fh.write(bytes([last[0] ^ 1]))
    with open_verified(model, policy=pol) as m:
        with pytest.raises(errors.MismatchError) as e:
            m.load_all_safetensors()
        assert [c.name for c in e.value.changed] == ["part-3.safetensors"]


# Findings of the second outside review (new code: uninitialised buffers, parallel reads,
# zero-copy tensors), each a test first.


def _swap_for_sparse(path: pathlib.Path, size: int) -> None:
    """A signed file replaced (before the model is opened) by a sparse one of `size` bytes: its
    digest records no size, so only hashing it all tells."""
    with open(path, "r+b") as f:
        f.truncate(size)


def test_reads_in_flight_count_against_memory(signed):
    """Review 2, F1: three threads each read a file of 40% of the available memory; each read
    alone fitted, together they met the out-of-memory killer. What is being read is reserved."""
    model, pol = signed
    avail = model_signing_rs._native.available_memory()
    if avail is None:
        pytest.skip("available memory is unknown here")
    _swap_for_sparse(model / "config.json", avail * 6 // 10)
    with open_verified(model, policy=pol) as m:
        # A reservation held as by a read in flight on another thread:
        with model_signing_rs._native.MemoryReservation(avail * 6 // 10):
            with pytest.raises(errors.ModelError, match="more than the memory"):
                m.read_bytes("config.json")


def _interrupt_after(seconds: float, exc: type) -> None:
    import signal

    def handler(signum, frame):
        raise exc("interrupted by the test")

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, TimeoutError])
def test_a_signal_stops_a_read_and_its_exception_is_raised(signed, exc):
    """Review 2, F2 and F3: Ctrl-C was ignored until a multi-GiB read ended, and a handler's
    exception raised while the read's own error was being built was lost (a plain ValueError)."""
    import signal
    import time

    model, pol = signed
    avail = model_signing_rs._native.available_memory() or 0
    size = 8 << 30
    if avail < 2 * size:
        pytest.skip("not enough memory for an 8 GiB read here")
    _swap_for_sparse(model / "config.json", size)
    with open_verified(model, policy=pol) as m:
        _interrupt_after(0.3, exc)
        start = time.monotonic()
        try:
            with pytest.raises(exc):
                m.read_bytes("config.json")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
        # Hashing 8 GiB takes seconds; the read stops within a chunk of the signal.
        assert time.monotonic() - start < 2.0
        # The model stays usable.
        assert m.read_bytes("tokenizer/vocab.txt").startswith(b"[PAD]")


def _raw_safetensors(path: pathlib.Path, header: dict, data: bytes) -> None:
    h = json.dumps(header).encode()
    path.write_bytes(len(h).to_bytes(8, "little") + h + data)


def test_copying_loads_raise_typed_errors(tmp_path, keys):
    """Review 2, F4: copy=True raised KeyError for a dtype numpy lacks and the safetensors
    package's own error for a malformed file; neither a ValueError."""
    model = tmp_path / "m"
    model.mkdir()
    _raw_safetensors(model / "bf16.safetensors", {"x": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4)
    _raw_safetensors(model / "bad.safetensors", {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 8)
    dims = [1] * 65
    _raw_safetensors(model / "deep.safetensors", {"x": {"dtype": "F32", "shape": dims, "data_offsets": [0, 4]}}, b"\0" * 4)
    _sign(model, keys)
    pol = _policy(tmp_path, model, keys.public)
    with open_verified(model, policy=pol) as m:
        for copy in (False, True):
            with pytest.raises(errors.UnsupportedError, match="BF16"):
                m.load_safetensors("bf16.safetensors", copy=copy)
            with pytest.raises(errors.ModelError):
                m.load_safetensors("bad.safetensors", copy=copy)
            with pytest.raises(errors.ModelError):
                m.load_safetensors("deep.safetensors", copy=copy)
