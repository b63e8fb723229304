"""OCI images through the API: ``oci://`` references (against Debian's docker-registry on
127.0.0.1, filled with the ``oras`` client as crates/model-signing-cli/tests/oci.rs does) and local
manifest files, signed and verified with ``signing.Config.sign`` / ``verifying.Config.verify``."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import time

import pytest

import model_signing_rs
from model_signing_rs import errors

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _tools():
    reg, oras_py = os.environ.get("MS_DOCKER_REGISTRY"), os.environ.get("MS_ORAS_PY")
    if not (reg and oras_py):
        if os.environ.get("MS_REQUIRE_PEERS") == "1":
            pytest.fail("MS_DOCKER_REGISTRY / MS_ORAS_PY not set but MS_REQUIRE_PEERS=1")
        pytest.skip("the OCI registry tools are not set up (scripts/test sets them)")
    return reg, oras_py


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg, oras_py = _tools()
    d = tmp_path_factory.mktemp("registry")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (d / "config.yml").write_text(
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {d / 'data'}}}}}\n"
        f'http: {{addr: "127.0.0.1:{port}", secret: ms-test}}\n'
    )
    proc = subprocess.Popen([reg, "serve", str(d / "config.yml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.time() < deadline, "docker-registry did not start"
            time.sleep(0.05)
    host = f"127.0.0.1:{port}"

    def client(*args):
        subprocess.run([oras_py, str(ROOT / "tests/oci/push.py"), *args], check=True,
                       capture_output=True)

    try:
        yield host, client
    finally:
        proc.kill()
        proc.wait()


def _key_configs(keys):
    s = model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private)
    v = model_signing_rs.verifying.Config().use_elliptic_key_verifier(public_key=keys.public)
    return s, v


def test_sign_verify_by_reference_and_manifest_file(tmp_path, keys, registry):
    host, client = registry
    m = tmp_path / "m"
    m.mkdir()
    (m / "weights.bin").write_bytes(os.urandom(2000))
    (m / "config.json").write_text('{"hidden": 4}\n')
    # The empty config ORAS pushes: nothing is left unsigned beside the config.json layer.
    cfg = tmp_path / "cfg.json"
    cfg.write_text("{}")
    client("push", host, "models/bert:v1", str(cfg), str(m / "weights.bin"), str(m / "config.json"))
    ref = f"oci://{host}/models/bert:v1"
    sig = tmp_path / "bert.sig"
    s, v = _key_configs(keys)
    out = s.sign(ref, sig, plain_http=True)
    assert out.files == 2
    r = v.verify(ref, sig, plain_http=True)
    assert r.files_checked == 2 and r.model_name == "bert"
    # A local manifest file verifies against the same signature, when the caller says it is one
    # (keyword or prefix); given as a plain path it is a model file, hashed, and the signature
    # says it was made for an image.
    manifest = tmp_path / "bert.manifest.json"
    client("manifest", host, "models/bert:v1", str(manifest))
    v.verify(manifest, sig, oci_manifest=True)
    with pytest.raises(errors.ModelError, match="made for an OCI image"):
        v.verify(manifest, sig)
    # The CLI's `oci-manifest:` prefix means nothing in Python, where pathlib turns
    # "./oci-manifest:x" into "oci-manifest:x" and no spelling could name a directory of that name:
    # a directory planted under that name beside the real manifest is hashed, never skipped.
    planted = tmp_path / "oci-manifest:bert.manifest.json"
    planted.mkdir()
    (planted / "weights.bin").write_bytes(b"not the signed weights")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for spelled in (pathlib.Path("./oci-manifest:bert.manifest.json"),
                        "oci-manifest:bert.manifest.json"):
            with pytest.raises(errors.MismatchError):
                v.verify(spelled, sig)
    finally:
        os.chdir(cwd)
    # A re-pushed tampered layer: a MismatchError (a ValueError) naming it.
    (m / "weights.bin").write_bytes(os.urandom(2000))
    client("push", host, "models/bert:v1", str(cfg), str(m / "weights.bin"), str(m / "config.json"))
    with pytest.raises(errors.MismatchError) as e:
        v.verify(ref, sig, plain_http=True)
    assert [c.name for c in e.value.changed] == ["weights.bin"]
    # https by default: a plain-http registry is not spoken to in clear text.
    with pytest.raises(errors.RegistryError, match="registry"):
        s.sign(ref, tmp_path / "other.sig")
    assert not (tmp_path / "other.sig").exists()


def test_oci_errors(tmp_path, keys):
    s, _ = _key_configs(keys)
    with pytest.raises(errors.ConfigError, match="OCI reference"):
        s.sign("oci://registry/model", tmp_path / "m.sig")
    idx = tmp_path / "index.json"
    idx.write_text('{"schemaVersion": 2, "manifests": []}')
    with pytest.raises(errors.ModelError, match="image index"):
        s.sign(idx, tmp_path / "m.sig", oci_manifest=True)
    with pytest.raises(errors.ConfigError, match="the path is an oci:// reference"):
        s.sign("oci://r.example/m:v1", tmp_path / "m.sig", oci_manifest=True)
    # Read strictly: a key Go clients fold onto a field is refused.
    folded = tmp_path / "folded.json"
    h = "a" * 64
    folded.write_text(
        '{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:%s","size":2},'
        '"layers":[{"mediaType":"x","digest":"sha256:%s","size":1}],"Layers":[]}' % (h, h)
    )
    with pytest.raises(errors.ModelError, match="Go clients"):
        s.sign(folded, tmp_path / "m.sig", oci_manifest=True)
    # Without the keyword, the same file is a model file and signs as one.
    assert s.sign(folded, tmp_path / "f.sig").files == 1
    # A config with content beside a config.json layer needs consent.
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(
        '{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:%s","size":2},'
        '"layers":[{"mediaType":"x","digest":"sha256:%s","size":1,"annotations":'
        '{"org.opencontainers.image.title":"config.json"}}]}' % ("c" * 64, h)
    )
    with pytest.raises(errors.ModelError, match="any config"):
        s.sign(unsigned, tmp_path / "u.sig", oci_manifest=True)
    assert s.sign(unsigned, tmp_path / "u.sig", oci_manifest=True,
                  allow_unsigned_config=True).files == 1
    model = tmp_path / "plain"
    model.mkdir()
    (model / "a").write_text("a")
    with pytest.raises(errors.ConfigError, match="apply only to OCI images"):
        s.sign(model, tmp_path / "m.sig", plain_http=True)
    with pytest.raises(errors.ConfigError, match="OCI registry reference"):
        model_signing_rs.hashing.Config().hash("oci://localhost:5000/m:v1")


def test_what_verification_did_not_check_is_logged(tmp_path, keys, caplog):
    """A signature that binds names and digests only (here: of a directory holding the image's
    files, as other tools sign images) verifies an image with a warning; code written for the
    reference never reads the report, so the warning is logged too."""
    import hashlib
    import json
    import logging

    model = tmp_path / "files"
    model.mkdir()
    (model / "w.bin").write_bytes(b"weights")
    (model / "config.json").write_bytes(b'{"arch": "x"}')
    digest = {n: hashlib.sha256((model / n).read_bytes()).hexdigest() for n in ("w.bin", "config.json")}
    manifest = tmp_path / "image.json"
    manifest.write_text(json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + digest["config.json"], "size": 13},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + digest["w.bin"], "size": 7,
                    "annotations": {"org.opencontainers.image.title": "w.bin"}}],
    }))
    s, v = _key_configs(keys)
    sig = tmp_path / "files.sig"
    s.sign(model, sig)
    with caplog.at_level(logging.WARNING, logger="model_signing_rs"):
        report = v.verify(manifest, sig, oci_manifest=True)
    assert any("names and digests only" in w for w in report.warnings)
    assert any("names and digests only" in r.getMessage() for r in caplog.records)
