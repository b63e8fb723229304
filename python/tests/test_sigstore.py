"""Sigstore keyless signing and verification through the API, against the loopback mock stack
of tests/mock-sigstore (started as crates/model-signing-cli/tests/sigstore_e2e.rs starts it), and
cross-verification with the reference."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pathlib
import subprocess
import time

import model_signing
import pytest

import model_signing_rs
from model_signing_rs import errors

ISSUER = "https://oidc.mock.test"
EMAIL = "signer@example.com"


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


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(aud: str = "sigstore", exp_in: int = 600) -> str:
    now = int(time.time())
    head = _b64(b'{"alg":"HS256","typ":"JWT"}')
    body = _b64(json.dumps({
        "iss": ISSUER, "sub": EMAIL, "aud": aud, "email": EMAIL, "email_verified": True,
        "iat": now, "nbf": now, "exp": now + exp_in,
    }).encode())
    sig = hmac.new(b"k" * 32, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def test_keyless_sign_verify_both_apis(model, tmp_path, mock):
    sig = tmp_path / "model.sig"
    out = model_signing_rs.signing.Config().use_sigstore_signer(
        identity_token=token(), trust_config=mock
    ).sign(model, sig)
    assert out.method == "sigstore" and out.identity == EMAIL
    r = model_signing_rs.verifying.Config().use_sigstore_verifier(
        identity=EMAIL, oidc_issuer=ISSUER, trust_config=mock
    ).verify(model, sig)
    assert r.method == "sigstore" and EMAIL in r.signer
    model_signing.verifying.Config().use_sigstore_verifier(
        identity=EMAIL, oidc_issuer=ISSUER, trust_config=mock
    ).verify(model, sig)
    with pytest.raises(errors.VerificationError):
        model_signing_rs.verifying.Config().use_sigstore_verifier(
            identity="someone@else.com", oidc_issuer=ISSUER, trust_config=mock
        ).verify(model, sig)


def test_keyless_expired_token(model, tmp_path, mock):
    with pytest.raises(errors.SigstoreError):
        model_signing_rs.signing.Config().use_sigstore_signer(
            identity_token=token(exp_in=-120), trust_config=mock
        ).sign(model, tmp_path / "model.sig")
