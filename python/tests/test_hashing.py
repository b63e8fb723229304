"""Differential: the same models hashed through model_signing_rs and the reference give equal
manifests (identifiers, algorithms, digests, order), and digest() equals the CLI's."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import model_signing
import pytest

import model_signing_rs
from conftest import ODD_MODEL, write_tree


def descriptors(m):
    return [
        (d.identifier, d.digest.algorithm, d.digest.digest_value)
        for d in m.resource_descriptors()
    ]


def configs(lib, serialization, algorithm):
    c = lib.hashing.Config()
    if serialization == "files":
        c.use_file_serialization(hashing_algorithm=algorithm)
    else:
        c.use_shard_serialization(hashing_algorithm=algorithm, shard_size=7)
    return c


@pytest.mark.parametrize("serialization", ["files", "shards"])
@pytest.mark.parametrize("algorithm", ["sha256", "blake2", "blake3"])
def test_same_manifest(model, serialization, algorithm):
    ours = configs(model_signing_rs, serialization, algorithm).hash(model)
    ref = configs(model_signing, serialization, algorithm).hash(model)
    assert descriptors(ours) == descriptors(ref)
    assert ours.model_name == ref.model_name
    o, r = dict(ours.serialization_type), dict(ref.serialization_type)
    # The reference lists its ignore paths in set order; ours are sorted.
    assert sorted(o.pop("ignore_paths")) == sorted(r.pop("ignore_paths"))
    assert o == r


@pytest.mark.parametrize("serialization", ["files", "shards"])
def test_ignore_paths_and_git(model, serialization):
    for git in (True, False):
        ours = configs(model_signing_rs, serialization, "sha256").set_ignored_paths(
            paths=["a", "README.md"], ignore_git_paths=git
        )
        ref = configs(model_signing, serialization, "sha256").set_ignored_paths(
            paths=["a", "README.md"], ignore_git_paths=git
        )
        om, rm = ours.hash(model), ref.hash(model)
        o, r = descriptors(om), descriptors(rm)
        assert o == r
        assert sorted(om.serialization_type.get("ignore_paths", [])) == sorted(
            rm.serialization_type.get("ignore_paths", [])
        )
        names = {i[0].split(":")[0] for i in o}
        assert "README.md" not in names and "a/b" not in names
        assert (".gitignore" in names) == (not git)


def test_add_ignored_paths_and_pathlike(model):
    ours = model_signing_rs.hashing.Config()
    ours.add_ignored_paths(model_path=model, paths=[pathlib.Path("config.json")])
    ref = model_signing.hashing.Config()
    ref.add_ignored_paths(model_path=model, paths=[pathlib.Path("config.json")])
    assert descriptors(ours.hash(os.fsencode(str(model)))) == descriptors(ref.hash(model))


def test_symlinks_allowed(model):
    os.symlink("weights.bin", model / "link.bin")
    with pytest.raises(model_signing_rs.errors.SymlinkError):
        model_signing_rs.hashing.Config().hash(model)
    ours = model_signing_rs.hashing.Config().set_allow_symlinks(True).hash(model)
    ref = model_signing.hashing.Config().set_allow_symlinks(True).hash(model)
    assert descriptors(ours) == descriptors(ref)


@pytest.mark.parametrize("serialization", ["files", "shards"])
def test_single_file_model(tmp_path, serialization):
    f = tmp_path / "model.bin"
    f.write_bytes(b"x" * 100)
    ours = configs(model_signing_rs, serialization, "sha256").hash(f)
    ref = configs(model_signing, serialization, "sha256").hash(f)
    assert descriptors(ours) == descriptors(ref)


def test_empty_files_only(tmp_path):
    m = write_tree(tmp_path / "m", {"a": b"", "b/c": b""})
    assert descriptors(model_signing_rs.hashing.hash(m)) == descriptors(
        model_signing.hashing.hash(m)
    )


def test_files_to_hash(model):
    wanted = [model / "config.json", model / "a" / "b"]
    ours = model_signing_rs.hashing.Config().hash(model, files_to_hash=wanted)
    ref = model_signing.hashing.Config().hash(model, files_to_hash=wanted)
    assert descriptors(ours) == descriptors(ref)
    assert len(descriptors(ours)) == 2


def test_manifest_equality(model):
    a = model_signing_rs.hashing.hash(model)
    b = model_signing_rs.hashing.hash(model)
    assert a == b
    (model / "config.json").write_bytes(b"changed")
    assert a != model_signing_rs.hashing.hash(model)
    d = next(iter(a.resource_descriptors())).digest
    assert d.digest_hex == d.digest_value.hex() and d.digest_size == 32


def test_digest_equals_cli(model):
    cfg = model_signing_rs.hashing.Config().use_shard_serialization(shard_size=1000)
    ours = model_signing_rs.digest(model, cfg)
    out = subprocess.run(
        [sys.executable, "-m", "model_signing_rs", "digest", "--shard-size", "1000", str(model)],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == ours
    assert model_signing_rs.digest(model).startswith("sha256:")


def test_errors_on_hash(tmp_path):
    with pytest.raises(FileNotFoundError):
        model_signing_rs.hashing.hash(tmp_path / "nope")
    with pytest.raises(model_signing_rs.errors.ConfigError):
        model_signing_rs.hashing.Config().use_file_serialization(
            hashing_algorithm="md5"  # type: ignore[arg-type]
        ).hash(tmp_path)
    with pytest.raises(ValueError):
        model_signing_rs.hashing.Config().set_ignored_paths(paths=["../x"]).hash(
            write_tree(tmp_path / "m", {"a": b"a"})
        )


@pytest.mark.parametrize("serialization", ["files", "shards"])
def test_manifest_built_from_items_equals_hashed(model, serialization):
    # The engine's keys are built on a fast path (normalised strings); a manifest built through the
    # public constructors from the same resources must be equal to it, sort the same, and differ
    # once one digest does.
    from model_signing_rs import manifest as mf

    hashed = configs(model_signing_rs, serialization, "sha256").hash(model)
    ser = mf.SerializationType.from_args(hashed.serialization_type)
    items = [
        ser.new_item("./" + d.identifier if serialization == "files" else d.identifier, d.digest)
        for d in hashed.resource_descriptors()
    ]
    rebuilt = mf.Manifest(hashed.model_name, reversed(items), ser)
    assert rebuilt == hashed
    assert descriptors(rebuilt) == descriptors(hashed)
    first = items[0]
    items[0] = ser.new_item(str(first.key), mf.Digest(first.digest.algorithm, b"\0" * 32))
    assert mf.Manifest(hashed.model_name, items, ser) != hashed
