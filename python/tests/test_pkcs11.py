"""PKCS#11 signing through the API on a throwaway SoftHSM2 token (MS_SOFTHSM_MODULE, else
/usr/lib/softhsm/libsofthsm2.so), verified by our API and by the reference."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import model_signing
import pytest

import model_signing_rs
from model_signing_rs import errors

PIN = "1234"
LABEL = "ms-py"


def _module() -> pathlib.Path:
    m = os.environ.get("MS_SOFTHSM_MODULE") or "/usr/lib/softhsm/libsofthsm2.so"
    if not (os.path.isfile(m) and shutil.which("softhsm2-util")):
        if os.environ.get("MS_REQUIRE_PEERS") == "1":
            pytest.fail("SoftHSM2 is missing but MS_REQUIRE_PEERS=1")
        pytest.skip("SoftHSM2 (module and softhsm2-util) not installed")
    return pathlib.Path(m)


@pytest.fixture(scope="module")
def token(tmp_path_factory, keys):
    module = _module()
    d = tmp_path_factory.mktemp("softhsm")
    (d / "tokens").mkdir()
    conf = d / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}

    def util(*args):
        subprocess.run(["softhsm2-util", *args], env=env, check=True, capture_output=True)

    util("--init-token", "--free", "--label", LABEL, "--so-pin", "5678", "--pin", PIN)
    util("--import", str(keys.private), "--token", LABEL, "--label", "k", "--id", "01", "--pin", PIN)
    util("--import", str(keys.leaf_key), "--token", LABEL, "--label", "leaf", "--id", "02", "--pin", PIN)
    # The module is loaded in this process: it reads SOFTHSM2_CONF from our environment.
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        yield module
    finally:
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old


def test_pkcs11_key(model, tmp_path, keys, token):
    sig = tmp_path / "model.sig"
    uri = f"pkcs11:token={LABEL};object=k?module-path={token}&pin-value={PIN}"
    out = model_signing_rs.signing.Config().use_pkcs11_signer(pkcs11_uri=uri).sign(model, sig)
    assert out.method == "pkcs11-key"
    model_signing_rs.verifying.Config().use_elliptic_key_verifier(public_key=keys.public).verify(
        model, sig
    )
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=keys.public).verify(
        model, sig
    )


def test_pkcs11_module_paths_and_env_pin(model, tmp_path, keys, token, monkeypatch):
    sig = tmp_path / "model.sig"
    monkeypatch.setenv("MODEL_SIGNING_PKCS11_PIN", PIN)
    model_signing_rs.signing.Config().use_pkcs11_signer(
        pkcs11_uri=f"pkcs11:token={LABEL};object=k", module_paths=[str(token)]
    ).sign(model, sig)
    model_signing_rs.verifying.Config().use_elliptic_key_verifier(public_key=keys.public).verify(
        model, sig
    )


def test_pkcs11_certificate(model, tmp_path, keys, token):
    sig = tmp_path / "model.sig"
    uri = f"pkcs11:token={LABEL};object=leaf?module-path={token}&pin-value={PIN}"
    out = model_signing_rs.signing.Config().use_pkcs11_certificate_signer(
        pkcs11_uri=uri, signing_certificate=keys.leaf_cert, certificate_chain=[keys.int_cert]
    ).sign(model, sig)
    assert out.method == "pkcs11-certificate"
    model_signing.verifying.Config().use_certificate_verifier(
        certificate_chain=[keys.ca_cert]
    ).verify(model, sig)
    model_signing_rs.verifying.Config().use_certificate_verifier(
        certificate_chain=[keys.ca_cert]
    ).verify(model, sig)


def test_pkcs11_errors(model, tmp_path, token, monkeypatch):
    monkeypatch.delenv("MODEL_SIGNING_PKCS11_PIN", raising=False)
    with pytest.raises(errors.Pkcs11Error):
        model_signing_rs.signing.Config().use_pkcs11_signer(
            pkcs11_uri=f"pkcs11:token={LABEL};object=k?module-path={token}&pin-value=0000"
        ).sign(model, tmp_path / "x.sig")
    with pytest.raises(errors.Pkcs11Error):
        model_signing_rs.signing.Config().use_pkcs11_signer(
            pkcs11_uri=f"pkcs11:token={LABEL};object=nope?module-path={token}&pin-value={PIN}"
        ).sign(model, tmp_path / "x.sig")
    with pytest.raises(errors.Pkcs11Error):
        model_signing_rs.signing.Config().use_pkcs11_signer(pkcs11_uri="not-a-uri").sign(
            model, tmp_path / "x.sig"
        )
    # No PIN anywhere and no prompt inside Python: an error, not a hang.
    with pytest.raises(errors.Pkcs11Error):
        model_signing_rs.signing.Config().use_pkcs11_signer(
            pkcs11_uri=f"pkcs11:token={LABEL};object=k?module-path={token}"
        ).sign(model, tmp_path / "x.sig")
