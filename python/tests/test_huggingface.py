"""``model_signing_rs.integrations.huggingface`` against the real ``huggingface_hub``,
``transformers`` (no torch), ``tokenizers`` and ``safetensors`` packages, offline (issue 22).

The model is made here (random tensors, a BERT config, a WordLevel tokenizer), signed as a folder
the way it would be before an upload, and laid out as ``huggingface_hub`` lays out its cache:
``models--ORG--NAME/{refs/main, blobs/ETAG, snapshots/COMMIT/...}`` with relative links, plus the
2.x cache-wide store. Sockets are closed for the whole module.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import socket

import numpy as np
import pytest
from safetensors.numpy import save_file

import model_signing_rs
from model_signing_rs import errors, policy
from model_signing_rs.integrations import huggingface

COMMIT = "a" * 39 + "1"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    def refuse(*a, **k):
        raise OSError("the network is closed in these tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _folder(root: pathlib.Path) -> pathlib.Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, PreTrainedTokenizerFast

    root.mkdir(parents=True)
    rng = np.random.default_rng(3)
    save_file(
        {"embeddings.word_embeddings.weight": rng.standard_normal((8, 16)).astype(np.float32)},
        str(root / "model.safetensors"),
    )
    BertConfig(
        vocab_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32,
    ).save_pretrained(root)
    vocab = {"[PAD]": 0, "[UNK]": 1, "hello": 2, "world": 3}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]"
    ).save_pretrained(root)
    return root


def _sign_folder(folder: pathlib.Path, keys) -> None:
    model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private).sign(
        folder, folder / "model.sig"
    )


def _cache(folder: pathlib.Path, cache: pathlib.Path, repo_id: str, shared: bool = False) -> pathlib.Path:
    """Lays `folder` out as huggingface_hub's cache does; returns the snapshot directory."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / COMMIT
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    if shared:
        (cache / "blobs").mkdir(exist_ok=True)
        (cache / "blobs" / ".huggingface-shared-blobs").write_text("1\n")
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(folder)
        data = path.read_bytes()
        etag = hashlib.sha256(data).hexdigest()
        blob = repo / "blobs" / etag
        if shared:
            store = cache / "blobs" / etag[:2] / etag
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_bytes(data)
            if not blob.exists():
                os.symlink(os.path.relpath(store, blob.parent), blob)
        else:
            blob.write_bytes(data)
        link = snap / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    return snap


def _policy(tmp_path: pathlib.Path, pattern: str, key) -> policy.Policy:
    p = tmp_path / "policy.yaml"
    p.write_text(
        "apiVersion: model-signing.openssf.org/v1\n"
        "kind: Policy\n"
        "rules:\n"
        "  - name: hub\n"
        f'    models: [{{huggingface: "{pattern}"}}]\n'
        f"    signers: [{{key: {key}}}]\n"
    )
    return policy.load(p)


def _hub(tmp_path: pathlib.Path, keys, shared: bool = False, at: str = ""):
    """A folder signed before upload and laid out as a cache snapshot of Acme/bert-tiny, and a
    policy trusting its signer for acme/*: (folder, cache, snapshot, policy)."""
    folder = _folder(tmp_path / f"upload{at}")
    _sign_folder(folder, keys)
    cache = tmp_path / f"cache{at}"
    snap = _cache(folder, cache, "Acme/bert-tiny", shared=shared)
    return folder, cache, snap, _policy(tmp_path, "acme/*", keys.public)


@pytest.fixture(params=[False, True], ids=["repo-blobs", "shared-store"])
def hub(request, tmp_path, keys):
    _, cache, snap, trusted = _hub(tmp_path, keys, shared=request.param)
    return cache, snap, trusted


def test_verify_snapshot(hub):
    cache, snap, trusted = hub
    report, path = huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=trusted)
    assert path == os.path.realpath(snap)
    assert report.method == "key"
    signed = [p for p in snap.rglob("*") if p.name != "model.sig" and not p.is_dir()]
    assert report.files_checked == report.resources == len(signed) >= 4
    assert report.signature_ignored_as == "model.sig"


def test_load_config_tokenizer_and_weights_from_verified_bytes(hub):
    cache, snap, trusted = hub
    with huggingface.open_snapshot("Acme/bert-tiny", cache_dir=cache, policy=trusted) as m:
        assert m.commit == COMMIT
        config = m.auto_config()
        assert config.model_type == "bert" and config.hidden_size == 16
        tok = m.auto_tokenizer()
        assert tok("hello world")["input_ids"] == [2, 3]
        w = m.load_safetensors("model.safetensors")
        assert w["embeddings.word_embeddings.weight"].shape == (8, 16)
        private = m._dirs
        assert private and all(not p.startswith(str(cache)) for p in private)
        # transformers read the private copy, which holds no weights.
        assert not any(n.endswith(".safetensors") for d in private for n in os.listdir(d))
    assert not any(os.path.exists(p) for p in private)


def test_the_policy_decides(hub, tmp_path, keys):
    cache, _, _ = hub
    other = _policy(tmp_path, "acme/*", keys.other_public)
    with pytest.raises(errors.SignatureError, match="rule 'hub'"):
        huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=other)
    elsewhere = _policy(tmp_path, "other-org/*", keys.public)
    with pytest.raises(errors.ConfigError, match="no rule"):
        huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=elsewhere)


def test_a_changed_blob_fails(hub):
    cache, snap, trusted = hub
    blob = os.path.realpath(snap / "config.json")
    os.chmod(blob, 0o644)
    with open(blob, "a") as f:
        f.write(" ")
    with pytest.raises(errors.MismatchError) as e:
        huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=trusted)
    assert [c.name for c in e.value.changed] == ["config.json"]


def test_links_out_of_the_blob_store_are_refused(tmp_path, keys):
    folder, cache, snap, trusted = _hub(tmp_path, keys)
    outside = tmp_path / "outside.json"
    outside.write_bytes((folder / "config.json").read_bytes())
    cases = {
        "absolute link to a file outside": lambda p: os.symlink(outside, p),
        "relative link to a file outside": lambda p: os.symlink(os.path.relpath(outside, p.parent), p),
        "a link into refs": lambda p: os.symlink("../../refs/main", p),
    }
    for what, make in cases.items():
        link = snap / "config.json"
        saved = os.readlink(link)
        os.remove(link)
        make(link)
        with pytest.raises(errors.ModelError, match="does not lead to a file of the cache"):
            huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=trusted)
        os.remove(link)
        os.symlink(saved, link)
    # Three hops: snapshot -> blob -> another link -> the blob's content.
    blob = snap.parent.parent / "blobs" / os.path.basename(os.readlink(snap / "config.json"))
    hop = blob.with_name("hop")
    os.rename(blob, hop)
    os.symlink("hop2", blob)
    os.symlink("hop", blob.with_name("hop2"))
    with pytest.raises(errors.ModelError, match="at most two hops"):
        huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=trusted)


def test_a_planted_ref_leads_nowhere(tmp_path, keys):
    folder, cache, snap, trusted = _hub(tmp_path, keys)
    # huggingface_hub reads refs/main without checking it: make it lead to another directory.
    elsewhere = snap.parent.parent / "elsewhere"
    elsewhere.mkdir()
    (snap.parent.parent / "refs" / "main").write_text("../elsewhere")
    with pytest.raises(errors.ModelError, match="commit id"):
        huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=trusted)


def test_the_hubs_own_errors_for_what_is_not_cached(tmp_path, keys):
    trusted = _policy(tmp_path, "acme/*", keys.public)
    from huggingface_hub.errors import LocalEntryNotFoundError

    with pytest.raises(LocalEntryNotFoundError):
        huggingface.verify_snapshot("acme/missing", cache_dir=tmp_path, policy=trusted)


# Findings of the outside review of verified load and the Hugging Face hand-off, each a test
# first (the review's scripts: F1 to F3).


def test_the_signature_link_obeys_the_blob_rule_and_its_target_is_never_quoted(tmp_path, keys):
    """F1: snapshots/C/model.sig linked to a file outside the cache was parsed, and the parser's
    error quoted its values and keys."""
    folder, cache, snap, trusted = _hub(tmp_path, keys)
    secret = tmp_path / "vault" / "credentials.json"
    secret.parent.mkdir()
    os.remove(snap / "model.sig")
    for link in [str(secret), os.path.relpath(secret, snap)]:
        if os.path.lexists(snap / "model.sig"):
            os.remove(snap / "model.sig")
        os.symlink(link, snap / "model.sig")
        for content in [b'{"dsseEnvelope": "hunter2-API-KEY"}', b'{"mediaType": 12345678901}']:
            secret.write_bytes(content)
            with pytest.raises(errors.ModelSigningError) as e:
                huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=trusted)
            assert "hunter2" not in str(e.value) and "12345678901" not in str(e.value)
            assert "does not lead to a file of the cache" in str(e.value), str(e.value)


def test_a_blob_directory_that_is_a_link_is_refused(tmp_path, keys):
    """F2: models--ORG--NAME/blobs replaced by a link to another directory made a one-hop link
    into it count as 'in the blobs', and the outside file's digest reached the report."""
    folder, cache, snap, trusted = _hub(tmp_path, keys)
    repo = snap.parent.parent
    elsewhere = tmp_path / "elsewhere"
    os.rename(repo / "blobs", elsewhere)
    os.symlink(elsewhere, repo / "blobs")
    with pytest.raises(errors.ModelError, match="blobs"):
        huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=trusted)
    # The shared store likewise.
    _, cache2, _, _ = _hub(tmp_path, keys, shared=True, at="2")
    os.rename(cache2 / "blobs", tmp_path / "store-elsewhere")
    os.symlink(tmp_path / "store-elsewhere", cache2 / "blobs")
    with pytest.raises(errors.ModelError):
        huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache2, policy=trusted)


def test_attestations_in_a_snapshot_follow_the_blob_rule(tmp_path, keys):
    """Issue 23, second review F1: the snapshot's claims.jsonl is a link into the blobs (read
    under the blob rule when the policy asks for attestations); linked out of the cache, it is
    refused like model.sig, and its target is never quoted."""
    from model_signing_rs import attest

    folder = _folder(tmp_path / "upload")
    _sign_folder(folder, keys)
    (tmp_path / "r.json").write_text(
        '{"results": [{"benchmark": "b", "metric": "m", "value": 1}]}'
    )
    attest.eval_results(
        folder, folder / "model.sig", results=tmp_path / "r.json",
        signer=model_signing_rs.signing.Config().use_elliptic_key_signer(private_key=keys.private),
    )
    cache = tmp_path / "cache"
    snap = _cache(folder, cache, "Acme/bert-tiny")
    assert (snap / "claims.jsonl").is_symlink()
    p = tmp_path / "policy.yaml"
    p.write_text(
        "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n"
        '  - models: [{huggingface: "acme/*"}]\n'
        f"    signers: [{{key: {keys.public}}}]\n"
        "    attestations: {require: [eval]}\n"
    )
    with huggingface.open_snapshot("Acme/bert-tiny", cache_dir=cache, policy=p) as m:
        assert [a.kind for a in m.report.attestations or []] == ["eval"]
    secret = tmp_path / "vault" / "c.json"
    secret.parent.mkdir()
    secret.write_text('{"client_secret_ABC123": "x"}\n')
    os.remove(snap / "claims.jsonl")
    os.symlink(secret, snap / "claims.jsonl")
    with pytest.raises(errors.ModelSigningError) as e:
        huggingface.verify_snapshot("Acme/bert-tiny", cache_dir=cache, policy=p)
    assert "ABC123" not in str(e.value)
    assert "does not lead to a file of the cache" in str(e.value), str(e.value)
