"""Cross-signing with the reference (both directions, key and certificate) and every error path."""

from __future__ import annotations

import json
import pathlib
import shutil

import model_signing
import pytest

import model_signing_rs
from model_signing_rs import errors


def rs_key_sign(model, sig, keys, **kw):
    return model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=keys.private, **kw
    ).sign(model, sig)


def rs_key_verify(model, sig, public):
    return model_signing_rs.verifying.Config().use_elliptic_key_verifier(
        public_key=public
    ).verify(model, sig)


def ref_verifier_config(lib, model, sig):
    # The reference's verifier needs the signer's ignore list to see git paths as the signer did.
    return lib.hashing.Config().set_ignored_paths(paths=[sig], ignore_git_paths=True)


def test_key_rs_signs_reference_verifies(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    out = rs_key_sign(model, sig, keys)
    assert out.method == "key" and len(out.root_digest) == 64
    model_signing.verifying.Config().use_elliptic_key_verifier(
        public_key=keys.public
    ).verify(model, sig)


def test_key_reference_signs_rs_verifies(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    model_signing.signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(
        model, sig
    )
    report = rs_key_verify(model, sig, keys.public)
    assert report.method == "key"
    assert report.serialization == "files" and report.hash_type == "sha256"
    assert report.files_checked == len([p for p in model.rglob("*") if p.is_file()]) - 2
    assert report.root_digest is not None


@pytest.mark.parametrize("algorithm", ["sha256", "blake2", "blake3"])
def test_key_shards_roundtrip(model, tmp_path, keys, algorithm):
    sig = tmp_path / "model.sig"
    h = model_signing_rs.hashing.Config().use_shard_serialization(
        hashing_algorithm=algorithm, shard_size=100
    )
    model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=keys.private
    ).set_hashing_config(h).sign(model, sig)
    r = rs_key_verify(model, sig, keys.public)
    assert r.hash_type == ("blake2b" if algorithm == "blake2" else algorithm)
    assert r.serialization == ("files" if algorithm == "blake3" else "shards")


def test_encrypted_key(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=keys.encrypted, password="hunter2"
    ).sign(model, sig)
    rs_key_verify(model, sig, keys.public)
    with pytest.raises(errors.InvalidKeyError):
        model_signing_rs.signing.Config().use_elliptic_key_signer(
            private_key=keys.encrypted, password="wrong"
        ).sign(model, sig)
    with pytest.raises(errors.InvalidKeyError, match="password"):
        model_signing_rs.signing.Config().use_elliptic_key_signer(
            private_key=keys.encrypted
        ).sign(model, sig)


def test_signature_inside_model(model, keys):
    sig = model / "model.sig"
    out = rs_key_sign(model, sig, keys)
    assert out.signature_ignored_as == "model.sig"
    r = rs_key_verify(model, sig, keys.public)
    assert r.signature_ignored_as == "model.sig"


def test_certificate_rs_signs_reference_verifies(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    out = model_signing_rs.signing.Config().use_certificate_signer(
        private_key=keys.leaf_key,
        signing_certificate=keys.leaf_cert,
        certificate_chain=[keys.int_cert],
    ).sign(model, sig)
    assert out.method == "certificate"
    model_signing.verifying.Config().use_certificate_verifier(
        certificate_chain=[keys.ca_cert]
    ).verify(model, sig)
    r = model_signing_rs.verifying.Config().use_certificate_verifier(
        certificate_chain=[keys.ca_cert]
    ).verify(model, sig)
    assert r.method == "certificate" and "test-leaf" in r.signer


def test_log_fingerprints_as_the_reference(model, tmp_path, keys, caplog):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    sig = tmp_path / "model.sig"
    model_signing_rs.signing.Config().use_certificate_signer(
        private_key=keys.leaf_key,
        signing_certificate=keys.leaf_cert,
        certificate_chain=[keys.int_cert],
    ).sign(model, sig)

    def lines(lib):
        caplog.clear()
        with caplog.at_level("INFO"):
            lib.verifying.Config().use_certificate_verifier(
                certificate_chain=[keys.ca_cert], log_fingerprints=True
            ).verify(model, sig)
        return sorted(r.getMessage() for r in caplog.records if "Fingerprint" in r.getMessage())

    ours = lines(model_signing_rs)
    want = sorted(
        ":".join(f"{b:02X}" for b in x509.load_pem_x509_certificate(p.read_bytes()).fingerprint(
            hashes.SHA256()))
        for p in (keys.leaf_cert, keys.int_cert)
    )
    got = [line.rsplit(" ", 1)[1] for line in ours if "[ verify ]" in line]
    assert sorted(got) == want
    ca = x509.load_pem_x509_certificate(keys.ca_cert.read_bytes()).fingerprint(hashes.SHA256())
    assert [line for line in ours if "[  init  ]" in line] == [
        "[  init  ] sha256 Fingerprint: " + ":".join(f"{b:02X}" for b in ca)
    ]
    assert ours == lines(model_signing)
    caplog.clear()
    with caplog.at_level("INFO"):
        model_signing_rs.verifying.Config().use_certificate_verifier(
            certificate_chain=[keys.ca_cert]
        ).verify(model, sig)
    assert not [r for r in caplog.records if "Fingerprint" in r.getMessage()]


def test_certificate_reference_signs_rs_verifies(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    model_signing.signing.Config().use_certificate_signer(
        private_key=keys.leaf_key,
        signing_certificate=keys.leaf_cert,
        certificate_chain=[keys.int_cert],
    ).sign(model, sig)
    r = model_signing_rs.verifying.Config().use_certificate_verifier(
        certificate_chain=[keys.ca_cert], validate_at_signing_time=True
    ).verify(model, sig)
    assert r.method == "certificate"


def test_untrusted_chain(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    model_signing_rs.signing.Config().use_certificate_signer(
        private_key=keys.leaf_key,
        signing_certificate=keys.leaf_cert,
        certificate_chain=[keys.int_cert],
    ).sign(model, sig)
    with pytest.raises(errors.UntrustedCertificateError) as e:
        model_signing_rs.verifying.Config().use_certificate_verifier(
            certificate_chain=[keys.other_ca_cert]
        ).verify(model, sig)
    assert isinstance(e.value, errors.VerificationError)
    assert isinstance(e.value, ValueError)
    # A certificate that does not certify the key is refused before hashing.
    with pytest.raises(errors.ConfigError, match="does not match"):
        model_signing_rs.signing.Config().use_certificate_signer(
            private_key=keys.private,
            signing_certificate=keys.leaf_cert,
            certificate_chain=[keys.int_cert],
        ).sign(model, sig)


def test_mismatch_details(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    rs_key_sign(model, sig, keys)
    (model / "config.json").write_bytes(b"tampered")
    (model / "README.md").unlink()
    (model / "new.bin").write_bytes(b"new")
    with pytest.raises(errors.MismatchError) as e:
        rs_key_verify(model, sig, keys.public)
    err = e.value
    assert isinstance(err, ValueError) and isinstance(err, model_signing_rs.VerificationError)
    assert err.missing == ["README.md"]
    assert err.extra == ["new.bin"]
    assert [c.name for c in err.changed] == ["config.json"]
    c = err.changed[0]
    assert c.expected != c.actual and len(c.actual) == 64
    # Extra files are tolerated on request.
    (model / "config.json").write_bytes(b'{"a": 1}')
    (model / "README.md").write_bytes(b"readme")
    with pytest.raises(errors.MismatchError):
        rs_key_verify(model, sig, keys.public)
    model_signing_rs.verifying.Config().use_elliptic_key_verifier(
        public_key=keys.public
    ).set_ignore_unsigned_files(True).verify(model, sig)
    # Or ignored through the hashing config's ignore paths.
    model_signing_rs.verifying.Config().use_elliptic_key_verifier(
        public_key=keys.public
    ).set_hashing_config(
        model_signing_rs.hashing.Config().set_ignored_paths(paths=["new.bin"])
    ).verify(model, sig)


def test_wrong_key(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    rs_key_sign(model, sig, keys)
    with pytest.raises(errors.SignatureError):
        rs_key_verify(model, sig, keys.other_public)


def test_bad_bundle(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    rs_key_sign(model, sig, keys)
    bundle = json.loads(sig.read_text())
    bad = tmp_path / "bad.sig"
    bad.write_text("{not json")
    with pytest.raises(errors.InvalidBundleError):
        rs_key_verify(model, bad, keys.public)
    del bundle["dsseEnvelope"]
    bad.write_text(json.dumps(bundle))
    with pytest.raises(errors.InvalidBundleError):
        rs_key_verify(model, bad, keys.public)


def test_bad_key_files(model, tmp_path, keys):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(errors.InvalidKeyError):
        model_signing_rs.signing.Config().use_elliptic_key_signer(
            private_key=garbage
        ).sign(model, tmp_path / "x.sig")
    with pytest.raises(errors.CertificateError):
        model_signing_rs.signing.Config().use_certificate_signer(
            private_key=keys.leaf_key, signing_certificate=garbage, certificate_chain=[]
        ).sign(model, tmp_path / "x.sig")
    with pytest.raises(ValueError):
        rs_key_verify(model, tmp_path / "x.sig", garbage)


def test_missing_files(model, tmp_path, keys):
    with pytest.raises(FileNotFoundError):
        rs_key_verify(model, tmp_path / "missing.sig", keys.public)
    with pytest.raises(FileNotFoundError):
        rs_key_sign(tmp_path / "nomodel", tmp_path / "x.sig", keys)
    with pytest.raises(FileNotFoundError):
        model_signing_rs.signing.Config().use_elliptic_key_signer(
            private_key=tmp_path / "nokey.pem"
        ).sign(model, tmp_path / "x.sig")
    with pytest.raises(errors.ConfigError):
        model_signing_rs.verifying.Config().verify(model, tmp_path / "x.sig")
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(errors.ModelError):
        rs_key_sign(empty, tmp_path / "x.sig", keys)


def test_blake2_and_float_free_bundle_reference_cannot_guess(model, tmp_path, keys):
    """A blake2 bundle: we read the parameters from it (the reference's guess fails)."""
    sig = tmp_path / "model.sig"
    model_signing.signing.Config().use_elliptic_key_signer(
        private_key=keys.private
    ).set_hashing_config(
        model_signing.hashing.Config().use_file_serialization(hashing_algorithm="blake2")
    ).sign(model, sig)
    r = rs_key_verify(model, sig, keys.public)
    assert r.hash_type == "blake2b"


def test_ignore_unsigned_files_shards_and_str_paths(model, tmp_path, keys):
    sig = str(tmp_path / "model.sig")
    model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=str(keys.private)
    ).set_hashing_config(
        model_signing_rs.hashing.Config().use_shard_serialization(shard_size=64)
    ).sign(str(model), sig)
    (model / "unsigned.bin").write_bytes(b"u" * 200)
    with pytest.raises(errors.MismatchError) as e:
        rs_key_verify(str(model), sig, str(keys.public))
    assert e.value.extra == ["unsigned.bin"]
    r = model_signing_rs.verifying.Config().use_elliptic_key_verifier(
        public_key=str(keys.public)
    ).set_ignore_unsigned_files(True).verify(str(model), sig)
    assert r.serialization == "shards" and r.shard_size == 64


def test_resized_shard_file(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=keys.private
    ).set_hashing_config(
        model_signing_rs.hashing.Config().use_shard_serialization(shard_size=64)
    ).sign(model, sig)
    with open(model / "weights.bin", "ab") as f:
        f.write(b"more")
    with pytest.raises(errors.MismatchError) as e:
        rs_key_verify(model, sig, keys.public)
    assert [r.name for r in e.value.resized] == ["weights.bin"]
