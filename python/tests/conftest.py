"""Fixtures: models, EC keys and a CA / intermediate / leaf certificate set (made with
``cryptography``, which the reference package pulls in), valid from an hour ago for a year."""

from __future__ import annotations

import datetime
import os
import pathlib
import subprocess
from typing import Dict

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def write_tree(root: pathlib.Path, files: Dict[str, bytes]) -> pathlib.Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


ODD_MODEL = {
    "weights.bin": bytes(range(256)) * 40,
    "config.json": b'{"a": 1}',
    "empty": b"",
    "with space.txt": b"space",
    "unicod\u00e9/\u00fc.bin": b"unicode",
    "colon:name": b"colon",
    "a.b": b"dot",
    "a/b": b"slash",
    "a/c/deep.bin": b"deep" * 100,
    ".git/HEAD": b"ref: refs/heads/main",
    ".gitignore": b"*.pyc",
    "README.md": b"readme",
}


@pytest.fixture
def model(tmp_path: pathlib.Path) -> pathlib.Path:
    return write_tree(tmp_path / "model", ODD_MODEL)


def _pem_key(key: ec.EllipticCurvePrivateKey, path: pathlib.Path, password: bytes = b"") -> None:
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    )


def _pem_pub(key: ec.EllipticCurvePrivateKey, path: pathlib.Path) -> None:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


class Keys:
    def __init__(self, d: pathlib.Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        self.dir = d
        k = ec.generate_private_key(ec.SECP256R1())
        self.private = d / "key.pem"
        self.public = d / "pub.pem"
        _pem_key(k, self.private)
        _pem_pub(k, self.public)
        self.encrypted = d / "key-enc.pem"
        _pem_key(k, self.encrypted, b"hunter2")
        other = ec.generate_private_key(ec.SECP256R1())
        self.other_public = d / "other-pub.pem"
        _pem_pub(other, self.other_public)
        self._pki()

    def _cert(self, subject, issuer, pub, signer, ca: bool, path: pathlib.Path):
        now = datetime.datetime.now(datetime.timezone.utc)
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
        )
        if ca:
            b = b.add_extension(
                x509.KeyUsage(
                    digital_signature=False, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
        else:
            b = b.add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                    crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
        cert = b.sign(signer, hashes.SHA256())
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _pki(self) -> None:
        d = self.dir
        ca = ec.generate_private_key(ec.SECP384R1())
        inter = ec.generate_private_key(ec.SECP384R1())
        leaf = ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = d / "ca.pem"
        self.int_cert = d / "int.pem"
        self.leaf_cert = d / "leaf.pem"
        self.leaf_key = d / "leaf-key.pem"
        self._cert("test-ca", "test-ca", ca.public_key(), ca, True, self.ca_cert)
        self._cert("test-int", "test-ca", inter.public_key(), ca, True, self.int_cert)
        self._cert("test-leaf", "test-int", leaf.public_key(), inter, False, self.leaf_cert)
        _pem_key(leaf, self.leaf_key)
        other_ca = ec.generate_private_key(ec.SECP384R1())
        self.other_ca_cert = d / "other-ca.pem"
        self._cert("other-ca", "other-ca", other_ca.public_key(), other_ca, True, self.other_ca_cert)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("keys"))


# The loopback mock Sigstore stack (tests/mock-sigstore), as the CLI tests start it: keyless
# signing (test_sigstore.py) and its TSA (test_timestamps.py).
def _mock_dir():
    d = os.environ.get("MS_MOCK_SIGSTORE_DIR")
    if not d:
        if os.environ.get("MS_REQUIRE_PEERS") == "1":
            pytest.fail("MS_MOCK_SIGSTORE_DIR is not set but MS_REQUIRE_PEERS=1")
        pytest.skip("MS_MOCK_SIGSTORE_DIR not set (scripts/test sets it)")
    return pathlib.Path(d)


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    d = _mock_dir()
    out = tmp_path_factory.mktemp("mock")
    log = open(out / "server.log", "wb")
    proc = subprocess.Popen(
        ["node", str(d / "server.js")],
        env={**os.environ, "OUTDIR": str(out / "trust"), "PORT": "0", "REKOR_V2": "0",
             "WITH_TSA": "0", "REKOR_WRONG_PAYLOAD": "0", "STDIN_WATCH": "1"},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        assert line.startswith("PORT="), (line, (out / "server.log").read_text())
        yield out / "trust" / "trust_config.json"
    finally:
        proc.kill()
        proc.wait()
        log.close()
