"""RFC 3161 trusted timestamps through the API: ``tsa_url`` when signing, ``tsa_certificate_chain``
and ``require_timestamp`` when verifying, the report's ``timestamps``, and the exceptions; against
the TSA of the loopback mock Sigstore stack (crates/model-signing-cli/tests/timestamps.rs covers
faketime, expired certificates and tampering through the CLI)."""

from __future__ import annotations

import base64
import json
import pathlib

import model_signing
import pytest

import model_signing_rs
from model_signing_rs import errors


@pytest.fixture(scope="module")
def tsa(mock):
    trust = json.loads(pathlib.Path(mock).read_text())
    url = trust["signingConfig"]["caUrls"][0]["url"] + "/api/v1/timestamp"
    pem = pathlib.Path(mock).with_name("tsa-chain.pem")
    certs = trust["trustedRoot"]["timestampAuthorities"][0]["certChain"]["certificates"]
    pem.write_text("".join(
        "-----BEGIN CERTIFICATE-----\n"
        + base64.encodebytes(base64.b64decode(c["rawBytes"])).decode()
        + "-----END CERTIFICATE-----\n"
        for c in certs
    ))
    return url, pem


def test_key_timestamp_signed_verified_reported(model, tmp_path, keys, tsa):
    url, chain = tsa
    sig = tmp_path / "model.sig"
    model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=keys.private, tsa_url=url
    ).sign(model, sig)
    vm = json.loads(sig.read_text())["verificationMaterial"]
    assert len(vm["timestampVerificationData"]["rfc3161Timestamps"]) == 1
    r = model_signing_rs.verifying.Config().use_elliptic_key_verifier(
        public_key=keys.public, tsa_certificate_chain=[chain], require_timestamp=True
    ).verify(model, sig)
    assert len(r.timestamps) == 1
    t = r.timestamps[0]
    assert t.verified and t.error is None and t.time and t.time.endswith("Z")
    assert "tsa signing" in (t.tsa or "")
    # The reference ignores the field.
    model_signing.verifying.Config().use_elliptic_key_verifier(
        public_key=keys.public
    ).set_hashing_config(
        model_signing.hashing.Config().set_ignored_paths(paths=[sig], ignore_git_paths=True)
    ).verify(model, sig)
    # Without the mock TSA's chain, the default trust (the Sigstore production root) does not
    # know it: the timestamp fails the verification instead of being ignored.
    with pytest.raises(errors.TimestampError, match="trusted time-stamping authority"):
        model_signing_rs.verifying.Config().use_elliptic_key_verifier(
            public_key=keys.public
        ).verify(model, sig)


def test_certificate_timestamp_and_two_tsas(model, tmp_path, keys, tsa):
    url, chain = tsa
    sig = tmp_path / "model.sig"
    model_signing_rs.signing.Config().use_certificate_signer(
        private_key=keys.leaf_key,
        signing_certificate=keys.leaf_cert,
        certificate_chain=[keys.int_cert],
        tsa_url=[url, url],
    ).sign(model, sig)
    r = model_signing_rs.verifying.Config().use_certificate_verifier(
        certificate_chain=[keys.ca_cert], tsa_certificate_chain=[chain]
    ).verify(model, sig)
    assert [t.verified for t in r.timestamps] == [True, True]
    model_signing.verifying.Config().use_certificate_verifier(
        certificate_chain=[keys.ca_cert]
    ).verify(model, sig)


def test_require_timestamp_without_one(model, tmp_path, keys, tsa):
    _, chain = tsa
    sig = tmp_path / "model.sig"
    model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(
        model, sig
    )
    v = model_signing_rs.verifying.Config()
    assert v.use_elliptic_key_verifier(public_key=keys.public).verify(model, sig).timestamps == []
    with pytest.raises(errors.TimestampError, match="required"):
        model_signing_rs.verifying.Config().use_elliptic_key_verifier(
            public_key=keys.public, tsa_certificate_chain=[chain], require_timestamp=True
        ).verify(model, sig)


def test_failing_tsa_raises_and_writes_nothing(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    with pytest.raises(errors.TimestampServiceError, match="TSA"):
        model_signing_rs.signing.Config().use_elliptic_key_signer(
            private_key=keys.private, tsa_url="http://127.0.0.1:1/api/v1/timestamp"
        ).sign(model, sig)
    assert not sig.exists()
    with pytest.raises(errors.ConfigError, match="not https"):
        model_signing_rs.signing.Config().use_elliptic_key_signer(
            private_key=keys.private, tsa_url="http://192.0.2.1/tsa"
        ).sign(model, sig)
    assert not sig.exists()
