"""``model_signing_rs.policy``: a trust policy picks the signers for each model (issue 22)."""

from __future__ import annotations

import os
import pathlib

import pytest

import model_signing_rs
from model_signing_rs import errors, policy


def _sign(model, sig, keys):
    model_signing_rs.signing.Config().use_elliptic_key_signer(
        private_key=keys.private
    ).sign(model, sig)


def _write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return p


def _key_policy(tmp_path, pattern, key):
    return _write(
        tmp_path,
        "apiVersion: model-signing.openssf.org/v1\n"
        "kind: Policy\n"
        "rules:\n"
        "  - name: ours\n"
        f'    models: [{{path: "{pattern}"}}]\n'
        f"    signers: [{{key: {key}}}]\n",
    )


def test_a_policy_verifies_the_models_it_names(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    _sign(model, sig, keys)
    where = os.path.realpath(model)
    trusted = policy.load(_key_policy(tmp_path, where, keys.public))
    assert len(trusted) == 1
    report = trusted.verify(model, sig)
    assert report.method == "key" and report.files_checked > 0


def test_a_model_no_rule_names_is_a_config_error(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    _sign(model, sig, keys)
    trusted = policy.load(_key_policy(tmp_path, "/nowhere/**", keys.public))
    with pytest.raises(errors.ConfigError, match="no rule of the policy"):
        trusted.verify(model, sig)


def test_a_signer_the_rule_does_not_trust_is_a_signature_error(model, tmp_path, keys):
    sig = tmp_path / "model.sig"
    _sign(model, sig, keys)
    trusted = policy.load(_key_policy(tmp_path, os.path.realpath(model), keys.other_public))
    with pytest.raises(errors.SignatureError, match="not from a signer rule 'ours' trusts"):
        trusted.verify(model, sig)


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules: []\nrules: []\n",
        "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nRules: []\n",
        "apiVersion: v1\nkind: ConfigMap\n",
        "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n  - name: no\n",
    ],
)
def test_an_invalid_policy_is_refused_at_load(tmp_path, text):
    with pytest.raises(errors.ConfigError, match="is not valid"):
        policy.load(_write(tmp_path, text))
