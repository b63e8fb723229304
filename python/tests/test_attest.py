"""Issue 23: attestations (SLSA provenance, model cards, evaluation results) through the Python
API, checked by the real parsers of their consumers: the in-toto-attestation package's SLSA v1
message, and sigstore-python's DSSE verification of our keyless bundles."""

from __future__ import annotations

import base64
import json
import pathlib

import pytest
from conftest import write_tree
from test_sigstore import EMAIL, ISSUER, token

import model_signing_rs
from model_signing_rs import attest, errors, signing, verifying

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _statement(line: str) -> dict:
    b = json.loads(line)
    return json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))


def _signed(tmp_path: pathlib.Path, keys, name: str, files) -> pathlib.Path:
    m = write_tree(tmp_path / name, files)
    signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(m, m / "model.sig")
    return m


def _key_signer(keys) -> signing.Config:
    return signing.Config().use_elliptic_key_signer(private_key=keys.private)


def _key_verifier(keys) -> verifying.Config:
    return verifying.Config().use_elliptic_key_verifier(public_key=keys.public)


def test_in_toto_attestation_reads_our_provenance(tmp_path, keys):
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import resource_descriptor, statement_pb2
    from in_toto_attestation.v1.statement import Statement

    data = _signed(tmp_path, keys, "data", {"a.csv": b"1,2\n"})
    model = _signed(tmp_path, keys, "model", {"w.bin": b"weights"})
    out = attest.provenance(
        model, model / "model.sig", signer=_key_signer(keys), datasets=[data],
        base_models=["base=sha256:" + "ab" * 32],
        dependencies=attest.environment_packages(["numpy", "safetensors"]),
        source_repo="https://git.example/acme/train", source_commit=COMMIT,
        source_ref="refs/heads/main", entry_point="train.py",
        parameters={"lr": 0.001, "epochs": 3, "optimizer": {"name": "adamw"}},
        builder_id="https://ci.example/runner", invocation_id="run-7",
        started_on="2026-12-01T10:00:00Z", finished_on="2026-12-01T12:00:00Z",
        ci_environment=False,
    )
    assert out.line == 1 and out.kind == "provenance"
    st = _statement((model / "claims.jsonl").read_text().splitlines()[0])
    # The subject is exactly the digest the model's signature records.
    sig = json.loads((model / "model.sig").read_text())
    signed = json.loads(base64.b64decode(sig["dsseEnvelope"]["payload"]))
    assert st["subject"] == signed["subject"]
    # The package's own messages: no unknown field anywhere (ParseDict raises on one).
    pb = json_format.ParseDict(st, statement_pb2.Statement(), ignore_unknown_fields=False)
    Statement.copy_from_pb(pb).validate()
    prov = json_format.ParseDict(
        st["predicate"], provenance_pb2.Provenance(), ignore_unknown_fields=False
    )
    # SLSA v1's required fields.
    assert prov.build_definition.build_type.startswith("https://")
    assert prov.build_definition.HasField("external_parameters")
    assert prov.run_details.builder.id == "https://ci.example/runner"
    assert prov.run_details.metadata.invocation_id == "run-7"
    assert prov.run_details.metadata.started_on.ToJsonString() == "2026-12-01T10:00:00Z"
    deps = list(prov.build_definition.resolved_dependencies)
    for d in deps:
        resource_descriptor.ResourceDescriptor.copy_from_pb(d).validate()
    by_role = {d.annotations["role"]: d for d in deps}
    # The dataset is named by the digest its own signature records (its model.sig left out).
    data_report = _key_verifier(keys).verify(data, data / "model.sig")
    assert by_role["dataset"].digest["sha256"] == data_report.root_digest
    assert by_role["source"].digest["gitCommit"] == COMMIT
    assert by_role["package"].uri.startswith("pkg:pypi/")
    ext = json_format.MessageToDict(prov.build_definition.external_parameters)
    assert ext["parameters"]["optimizer"] == {"name": "adamw"}


def test_keyless_attestation_verifies_in_sigstore_python(model, tmp_path, mock):
    from sigstore.models import Bundle, ClientTrustConfig
    from sigstore.verify import Verifier, policy

    sig = model / "model.sig"
    signer = signing.Config().use_sigstore_signer(identity_token=token(), trust_config=mock)
    signer.sign(model, sig)
    out = attest.provenance(
        model, sig, signer=signing.Config().use_sigstore_signer(
            identity_token=token(), trust_config=mock
        ),
        builder_id="https://ci.example/runner", ci_environment=False,
    )
    assert out.method == "sigstore" and out.identity == EMAIL
    line = (model / "claims.jsonl").read_text().splitlines()[0]
    trust = ClientTrustConfig.from_json(pathlib.Path(mock).read_text())
    v = Verifier(trusted_root=trust.trusted_root)
    ptype, payload = v.verify_dsse(
        Bundle.from_json(line), policy.Identity(identity=EMAIL, issuer=ISSUER)
    )
    assert ptype == "application/vnd.in-toto+json"
    assert json.loads(payload) == _statement(line)
    assert json.loads(payload)["predicateType"] == "https://slsa.dev/provenance/v1"
    with pytest.raises(Exception):
        v.verify_dsse(Bundle.from_json(line), policy.Identity(identity="x@y.z", issuer=ISSUER))
    # Ours verifies it with the model, under the same identity.
    r = verifying.Config().use_sigstore_verifier(
        identity=EMAIL, oidc_issuer=ISSUER, trust_config=mock
    ).verify(model, sig, require=["provenance"])
    assert r.attestations is not None and r.attestations[0].method == "sigstore"
    # The reference verifies the model with claims.jsonl inside it (recorded as ignored).
    import model_signing

    model_signing.verifying.Config().use_sigstore_verifier(
        identity=EMAIL, oidc_issuer=ISSUER, trust_config=mock
    ).verify(model, sig)


def test_lineage_cards_evals_and_failures(tmp_path, keys):
    data = _signed(tmp_path, keys, "data", {"a.csv": b"1,2\n"})
    model = _signed(tmp_path, keys, "model", {"w.bin": b"weights", "README.md": b"---\nlicense: mit\n---\n# M\n"})
    sig = model / "model.sig"
    s = _key_signer(keys)
    attest.provenance(model, sig, signer=s, datasets=[data], builder_id="https://b.example/1",
                      dependencies=["pkg:pypi/torch@2.1.0"], ci_environment=False)
    attest.model_card(model, sig, signer=s, card=model / "README.md")
    (tmp_path / "r.json").write_text(json.dumps({
        "evaluator": "harness", "results": [
            {"benchmark": "mmlu", "metric": "accuracy", "value": 0.7,
             "dataset": model_signing_rs.digest(data)}]}))
    attest.eval_results(model, sig, signer=s, results=tmp_path / "r.json")
    v = _key_verifier(keys)
    r = v.verify(model, sig, require=["provenance", "model-card", "eval"])
    kinds = [a.kind for a in r.attestations or []]
    assert kinds == ["provenance", "model-card", "eval"]
    a = r.attestations or []
    assert a[0].lineage is not None and a[0].lineage.datasets[0].name == "data"
    assert a[1].card is not None and a[1].card["license"] == "mit"
    assert a[2].results[0].benchmark == "mmlu" and a[2].evaluator == "harness"
    # Query: the range selects it, another range does not.
    assert [m.model_name for m in attest.query([model / "claims.jsonl"], v,
                                                 uses="pkg:pypi/torch@>=2.0,<2.2")] == ["model"]
    assert attest.query([model / "claims.jsonl"], v, uses="pkg:pypi/torch@>=2.2") == []
    # A line signed by another key: refused, naming the line.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other_key = tmp_path / "other.pem"
    other_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    other = signing.Config().use_elliptic_key_signer(private_key=other_key)
    attest.eval_results(model, sig, signer=other, results=tmp_path / "r.json")
    with pytest.raises(errors.AttestationError, match="line 4"):
        v.verify(model, sig, require=["eval"])
    lines = (model / "claims.jsonl").read_text().splitlines(keepends=True)
    (model / "claims.jsonl").write_text("".join(lines[:3]))
    # An attestation about another model (the dataset), appended to the model's file.
    attest.eval_results(data, data / "model.sig", signer=s, results=tmp_path / "r.json",
                        attestations=model / "claims.jsonl")
    with pytest.raises(errors.AttestationError, match="line 4: the attestation is about another"):
        v.verify(model, sig, attestations=model / "claims.jsonl")
    (model / "claims.jsonl").write_text("".join(lines[:3]))
    # Unknown kinds and a file that cannot be appended to.
    with pytest.raises(errors.ConfigError):
        v.verify(model, sig, require=["sbom"])
    (tmp_path / "cut.jsonl").write_text(lines[0].rstrip("\n"))
    with pytest.raises(errors.ConfigError, match="line break"):
        attest.model_card(model, sig, signer=s, card=model / "README.md",
                          attestations=tmp_path / "cut.jsonl")
    # Provenance needs a builder.
    with pytest.raises(errors.ConfigError, match="builder id"):
        attest.provenance(model, sig, signer=s, ci_environment=False)


def test_policy_requires_provenance_from_a_builder(tmp_path, keys):
    from model_signing_rs import policy

    model = _signed(tmp_path, keys, "model", {"w.bin": b"weights"})
    sig = model / "model.sig"
    where = pathlib.Path(model).resolve()

    def pol(builders: str) -> pathlib.Path:
        p = tmp_path / f"policy-{len(builders)}.yaml"
        p.write_text(
            "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n"
            f'  - models: [{{path: "{where}"}}]\n'
            f'    signers: [{{key: "{keys.public}"}}]\n'
            "    attestations:\n"
            "      require: [provenance]\n"
            f"      builders: [{builders}]\n"
        )
        return p

    good = pol('"https://ci.acme.example/*"')
    with pytest.raises(errors.AttestationError, match="claims.jsonl. does not exist"):
        policy.load(good).verify(model, sig)
    attest.provenance(model, sig, signer=_key_signer(keys),
                      builder_id="https://ci.acme.example/train", ci_environment=False)
    r = policy.load(good).verify(model, sig)
    assert r.attestations is not None and r.attestations[0].lineage is not None
    with pytest.raises(errors.AttestationError, match="line 1: the provenance's builder"):
        policy.load(pol('"https://elsewhere.example/*"')).verify(model, sig)


def test_verified_load_applies_the_policys_attestation_rules(tmp_path, keys):
    """Review finding F1: open_verified(policy=...) loaded weights that the policy's
    attestations block refused (a provenance from another builder, a garbage or deleted
    claims file)."""
    from model_signing_rs import open_verified, policy

    model = _signed(tmp_path, keys, "model", {"w.bin": b"weights"})
    sig = model / "model.sig"
    where = pathlib.Path(model).resolve()
    p = tmp_path / "policy.yaml"
    p.write_text(
        "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n"
        f'  - models: [{{path: "{where}"}}]\n'
        f'    signers: [{{key: "{keys.public}"}}]\n'
        "    attestations:\n"
        "      require: [provenance]\n"
        '      builders: ["https://ci.acme.example/*"]\n'
    )
    with pytest.raises(errors.AttestationError, match="does not exist"):
        open_verified(model, policy=p)
    attest.provenance(model, sig, signer=_key_signer(keys),
                      builder_id="https://evil.example/laptop", ci_environment=False)
    with pytest.raises(errors.AttestationError, match="builder"):
        open_verified(model, policy=policy.load(p))
    (model / "claims.jsonl").write_text("garbage\n")
    with pytest.raises(errors.AttestationError, match="line 1"):
        open_verified(model, policy=p)
    (model / "claims.jsonl").unlink()
    attest.provenance(model, sig, signer=_key_signer(keys),
                      builder_id="https://ci.acme.example/train", ci_environment=False)
    with open_verified(model, policy=p) as m:
        assert m.read_bytes("w.bin") == b"weights"
        assert m.report.attestations is not None
        assert m.report.attestations[0].lineage is not None
    # With a config, the caller asks the same way as verify.
    with pytest.raises(errors.AttestationError, match="no verified eval"):
        open_verified(model, config=_key_verifier(keys), require=["eval"])
    with open_verified(model, config=_key_verifier(keys), require=["provenance"]) as m:
        assert [a.kind for a in m.report.attestations or []] == ["provenance"]
