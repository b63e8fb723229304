"""Signed attestations about a model: SLSA provenance, model cards and evaluation results.

Not in the reference. Each attestation is an in-toto statement whose subject is the model's OMS
root digest (the digest its signature records), signed with any signing method and appended as
one line to the claims file (``claims.jsonl`` beside the signature by default)::

    from model_signing_rs import attest, signing, verifying

    signer = signing.Config().use_elliptic_key_signer(private_key="key.pem")
    attest.provenance("model", "model/model.sig", signer=signer,
                      datasets=["data"], dependencies=attest.environment_packages(["torch"]),
                      builder_id="https://ci.example/runner")
    report = verifying.Config().use_elliptic_key_verifier(public_key="key.pub").verify(
        "model", "model/model.sig", require=["provenance"])
    report.attestations[0].lineage.builder_id

Hashing, signing and verifying run in the Rust engine (``model-signing attest``, ``verify
--attestations``, ``provenance show|query`` are the same code). See ``docs/attestations.md`` for
the predicates.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

from . import _native
from ._paths import PathLike, fspath
from .signing import Config as SigningConfig
from .verifying import Config as VerifyingConfig

__all__ = [
    "Attestation",
    "AttestResult",
    "Dependency",
    "EvalResult",
    "Lineage",
    "QueryMatch",
    "environment_packages",
    "eval_results",
    "model_card",
    "provenance",
    "query",
]


@dataclasses.dataclass(frozen=True)
class AttestResult:
    """What ``provenance``, ``model_card`` and ``eval_results`` appended."""

    kind: str
    model_name: str
    root_digest: str
    attestations: str
    line: int
    method: str
    identity: Optional[str] = None
    identity_provider: Optional[str] = None
    warnings: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Dependency:
    """One resolved dependency of a provenance (``role``: source, dataset, base-model, package)."""

    role: str
    name: str
    uri: Optional[str] = None
    sha256: Optional[str] = None
    git_commit: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Lineage:
    """What a verified provenance says about how the model was made."""

    builder_id: str
    build_type: str
    dependencies: List[Dependency]
    source_repository: Optional[str] = None
    source_commit: Optional[str] = None
    entry_point: Optional[str] = None
    invocation_id: Optional[str] = None

    @property
    def datasets(self) -> List[Dependency]:
        """The datasets it names."""
        return [d for d in self.dependencies if d.role == "dataset"]


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """One verified evaluation result."""

    benchmark: str
    metric: str
    value: Any
    dataset: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Attestation:
    """One verified line of a claims file."""

    line: int
    kind: str
    predicate_type: str
    model_name: str
    root_digest: str
    signer: str
    method: str
    predicate: Dict[str, Any]
    lineage: Optional[Lineage] = None
    card: Optional[Dict[str, Any]] = None
    evaluator: Optional[str] = None
    results: List[EvalResult] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class QueryMatch:
    """A model whose verified provenance records the package a query asked about."""

    model_name: str
    root_digest: str
    attestations: str
    line: int
    package: str
    builder_id: str
    signer: str


def _attestations(report: Dict[str, Any]) -> List[Attestation]:
    out = []
    for a in report["attestations"]:
        lin = a.get("lineage")
        lineage = None
        if lin is not None:
            lineage = Lineage(
                builder_id=lin["builder_id"],
                build_type=lin["build_type"],
                dependencies=[Dependency(**d) for d in lin["dependencies"]],
                source_repository=lin.get("source_repository"),
                source_commit=lin.get("source_commit"),
                entry_point=lin.get("entry_point"),
                invocation_id=lin.get("invocation_id"),
            )
        out.append(
            Attestation(
                line=a["line"],
                kind=a["kind"],
                predicate_type=a["predicate_type"],
                model_name=a["subject"]["name"],
                root_digest=a["subject"]["root_digest"],
                signer=a["signer"]["signer"],
                method=a["signer"]["method"],
                predicate=a["predicate"],
                lineage=lineage,
                card=a.get("card"),
                evaluator=a.get("evaluator"),
                results=[EvalResult(**r) for r in a.get("results", [])],
            )
        )
    return out


def _spec(**kw: Any) -> Dict[str, Any]:
    spec: Dict[str, Any] = {
        "datasets": [],
        "base_models": [],
        "packages": [],
        "source_repo": None,
        "source_commit": None,
        "source_ref": None,
        "entry_point": None,
        "parameters": None,
        "builder_id": None,
        "invocation_id": None,
        "started_on": None,
        "finished_on": None,
        "ci_environment": False,
        "card": None,
        "results": None,
        "evaluator": None,
    }
    spec.update(kw)
    return spec


def _attest(
    kind: str,
    model_path: PathLike,
    signature_path: PathLike,
    signer: Optional[SigningConfig],
    attestations: Optional[PathLike],
    spec: Dict[str, Any],
) -> AttestResult:
    cfg = signer if signer is not None else SigningConfig()
    if cfg._signer is None:
        cfg.use_sigstore_signer()
    assert cfg._signer is not None
    out = json.loads(
        _native.attest_model(
            fspath(model_path),
            fspath(signature_path),
            None if attestations is None else fspath(attestations),
            cfg._hashing_config._spec(),
            cfg._signer,
            kind,
            spec,
        )
    )
    return AttestResult(
        kind=out["kind"],
        model_name=out["subject"]["name"],
        root_digest=out["subject"]["root_digest"],
        attestations=out["attestations"],
        line=out["line"],
        method=out["method"],
        identity=out.get("identity"),
        identity_provider=out.get("identity_provider"),
        warnings=list(out.get("warnings", [])),
    )


def _paths(items: Iterable[PathLike]) -> List[str]:
    return [i if isinstance(i, str) else fspath(i) for i in items]


def provenance(
    model_path: PathLike,
    signature_path: PathLike,
    *,
    signer: Optional[SigningConfig] = None,
    attestations: Optional[PathLike] = None,
    datasets: Iterable[PathLike] = (),
    base_models: Iterable[PathLike] = (),
    dependencies: Iterable[str] = (),
    source_repo: Optional[str] = None,
    source_commit: Optional[str] = None,
    source_ref: Optional[str] = None,
    entry_point: Optional[str] = None,
    parameters: Optional[Mapping[str, Any]] = None,
    builder_id: Optional[str] = None,
    invocation_id: Optional[str] = None,
    started_on: Optional[str] = None,
    finished_on: Optional[str] = None,
    ci_environment: bool = True,
) -> AttestResult:
    """Signs SLSA provenance v1 for the model and appends it to the claims file.

    ``signature_path`` is where the model's signature is (or will be): the subject is hashed as
    signing hashes it (``signer``'s hashing configuration, the signature and the claims file left
    out), and the claims file defaults to ``claims.jsonl`` beside it. ``datasets`` and
    ``base_models``: paths (digested as ``model_signing_rs.digest`` would, leaving out their own
    ``model.sig`` and ``claims.jsonl``) or ``[NAME=]sha256:HEX``. ``dependencies``: package URLs
    with versions (``environment_packages()`` lists the running environment's). On GitHub Actions
    and GitLab CI the builder, source and run are filled from the environment unless
    ``ci_environment=False``; values given here win.
    """
    return _attest(
        "provenance",
        model_path,
        signature_path,
        signer,
        attestations,
        _spec(
            datasets=_paths(datasets),
            base_models=_paths(base_models),
            packages=list(dependencies),
            source_repo=source_repo,
            source_commit=source_commit,
            source_ref=source_ref,
            entry_point=entry_point,
            parameters=None if parameters is None else json.dumps(dict(parameters)),
            builder_id=builder_id,
            invocation_id=invocation_id,
            started_on=started_on,
            finished_on=finished_on,
            ci_environment=ci_environment,
        ),
    )


def model_card(
    model_path: PathLike,
    signature_path: PathLike,
    *,
    card: PathLike,
    signer: Optional[SigningConfig] = None,
    attestations: Optional[PathLike] = None,
) -> AttestResult:
    """Signs the model card ``card`` (its digest and YAML front matter) about the model."""
    return _attest(
        "model-card", model_path, signature_path, signer, attestations, _spec(card=fspath(card))
    )


def eval_results(
    model_path: PathLike,
    signature_path: PathLike,
    *,
    results: PathLike,
    evaluator: Optional[str] = None,
    signer: Optional[SigningConfig] = None,
    attestations: Optional[PathLike] = None,
) -> AttestResult:
    """Signs evaluation results (a JSON file, see ``docs/attestations.md``) about the model."""
    return _attest(
        "eval",
        model_path,
        signature_path,
        signer,
        attestations,
        _spec(results=fspath(results), evaluator=evaluator),
    )


def query(
    claims: Iterable[PathLike], verifier: VerifyingConfig, *, uses: str
) -> List[QueryMatch]:
    """The models whose verified provenance, in any of the ``claims`` files, records the package
    ``uses`` (``pkg:pypi/torch``, ``pkg:pypi/torch@2.1.0`` or ``pkg:pypi/torch@>=2.0,<2.2``).
    Every line of every file must verify with ``verifier``."""
    found = json.loads(
        _native.query_claims([fspath(c) for c in claims], verifier._spec(), uses)
    )
    return [
        QueryMatch(
            model_name=m["subject"]["name"],
            root_digest=m["subject"]["root_digest"],
            attestations=m["attestations"],
            line=m["line"],
            package=m["package"],
            builder_id=m["builder_id"],
            signer=m["signer"],
        )
        for m in found
    ]


def environment_packages(names: Optional[Iterable[str]] = None) -> List[str]:
    """Package URLs (``pkg:pypi/NAME@VERSION``) of the distributions installed in the running
    Python environment: all of them, or those named in ``names`` (a name not installed raises
    ``LookupError``)."""
    from importlib import metadata

    if names is None:
        dists = {
            d.metadata["Name"]: d.version for d in metadata.distributions() if d.metadata["Name"]
        }
        return sorted(f"pkg:pypi/{_norm(n)}@{v}" for n, v in dists.items())
    out = []
    for n in names:
        try:
            out.append(f"pkg:pypi/{_norm(n)}@{metadata.version(n)}")
        except metadata.PackageNotFoundError:
            raise LookupError(f"the package {n!r} is not installed") from None
    return out


def _norm(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()
