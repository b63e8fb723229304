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


def test_keyless_under_a_model_validation_policy_and_verified_load(model, tmp_path, mock):
    """Issue 22: one ModelValidation document (sigstoreConfig + clientTrustConfig) is the policy
    for both a verify and a verified load of a keyless signature."""
    from model_signing_rs import open_verified, policy

    sig = model / "model.sig"
    model_signing_rs.signing.Config().use_sigstore_signer(
        identity_token=token(), trust_config=mock
    ).sign(model, sig)
    where = os.path.realpath(model)

    def mv(identity: str) -> pathlib.Path:
        p = tmp_path / f"mv-{len(identity)}.yaml"
        p.write_text(
            "apiVersion: ml.sigstore.dev/v1alpha1\n"
            "kind: ModelValidation\n"
            "metadata: {name: demo}\n"
            "spec:\n"
            "  model:\n"
            f'    path: "{where}"\n'
            f'    signaturePath: "{where}/model.sig"\n'
            "  config:\n"
            "    sigstoreConfig:\n"
            f'      certificateIdentity: "{identity}"\n'
            f'      certificateOidcIssuer: "{ISSUER}"\n'
            "    clientTrustConfig:\n"
            f'      trustConfigPath: "{os.path.realpath(mock)}"\n'
        )
        return p

    trusted = policy.load(mv(EMAIL))
    assert trusted.verify(model, sig).method == "sigstore"
    # The signature defaults to the resource's signaturePath.
    with open_verified(model, policy=trusted) as m:
        assert m.report.method == "sigstore" and EMAIL in m.report.signer
        assert m.verify_all().files_checked == m.report.resources
    with pytest.raises(errors.SignatureError):
        open_verified(model, policy=mv("someone@else.example"))
