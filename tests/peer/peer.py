#!/usr/bin/env python3
# Copyright 2026 The model-signing-rs Authors
# SPDX-License-Identifier: Apache-2.0
"""Drive the Python reference `model_signing` (1.1.x) through its API.

The 1.1.x CLI always hashes with files/sha256, so shard, blake2 and blake3
bundles can only be made and checked through the Python API. This driver
exposes that API as a small CLI for the Rust interop tests.

Run it with the interpreter of a venv that has `model-signing==1.1.x` and
`pyopenssl` installed (see scripts/test):

    python tests/peer/peer.py sign --method key --private-key k.pem \
        --serialization shards --hash blake2 --shard-size 1000 \
        --signature model.sig MODEL
    python tests/peer/peer.py verify --method certificate \
        --certificate-chain root.pem --serialization files --hash sha256 \
        --signature model.sig MODEL
    python tests/peer/peer.py digest --serialization shards --shard-size 7 MODEL
    python tests/peer/peer.py batch < jobs.json

Hashing options (`--serialization files|shards`, `--hash sha256|blake2|blake3`
(`blake2b` is accepted as an alias of `blake2`), `--shard-size N`) must be
given explicitly to `verify`: the 1.1.x guess from the bundle fails for
blake2b and for shards (`--guess-hashing` opts into it anyway).

Ignore paths (`--ignore-path`) are resolved like the Python CLI does: relative
to the current directory, then made relative to the model root (paths outside
the model are dropped). The signature file is always ignored, and the git
paths are ignored unless `--no-ignore-git-paths` is given.

Exit status: 0 and `ok` on stdout on success (for `digest`: the digest line);
1 and `peer.py <command> failed with error: <Type>: <message>` on stderr on
failure; 2 on usage errors.

`batch` reads a JSON list of jobs from stdin (or `--jobs FILE`). Each job is
an object whose keys are the long options of `sign`/`verify`/`digest` with
underscores (`"command"` selects the subcommand, `"model"` is the model
path, list options take lists, flags take booleans), e.g.
`{"command": "verify", "method": "key", "public_key": "p.pem",
"serialization": "files", "hash": "sha256", "signature": "s", "model": "m"}`.
It prints one JSON list with one `{"ok": bool, "output": str, "error": str}`
per job, in order, and exits 0 unless the job list itself is unusable. This
saves the ~1 s Python start-up per call.
"""

import argparse
import hashlib
import io
import json
import pathlib
import sys
import traceback

from model_signing import hashing
from model_signing import signing
from model_signing import verifying

_HASHES = {"sha256": "sha256", "blake2": "blake2", "blake2b": "blake2", "blake3": "blake3"}


def _resolve_ignore_paths(model_path, paths):
    """Same semantics as model_signing._cli._resolve_ignore_paths."""
    model_root = model_path.resolve()
    cwd = pathlib.Path.cwd()
    resolved = []
    for p in paths:
        p = pathlib.Path(p)
        candidate = (p if p.is_absolute() else (cwd / p)).resolve()
        try:
            resolved.append(candidate.relative_to(model_root))
        except ValueError:
            continue
    return resolved


def _hashing_config(args, model_path, extra_ignores=()):
    algorithm = _HASHES[args.hash]
    config = hashing.Config()
    if args.serialization == "files":
        config.use_file_serialization(hashing_algorithm=algorithm, allow_symlinks=args.allow_symlinks)
    else:
        config.use_shard_serialization(
            hashing_algorithm=algorithm,
            shard_size=args.shard_size,
            allow_symlinks=args.allow_symlinks,
        )
    ignored = _resolve_ignore_paths(model_path, list(args.ignore_path) + list(extra_ignores))
    config.set_ignored_paths(paths=ignored, ignore_git_paths=not args.no_ignore_git_paths)
    # Config.hash() pushes this into the serializer, overriding the argument
    # given to use_*_serialization, so it must be set here too.
    config.set_allow_symlinks(args.allow_symlinks)
    return config


def cmd_sign(args):
    model = pathlib.Path(args.model)
    config = signing.Config()
    if args.method == "key":
        config.use_elliptic_key_signer(private_key=args.private_key, password=args.password)
    else:
        if not args.signing_certificate:
            raise ValueError("--signing-certificate is required with --method certificate")
        config.use_certificate_signer(
            private_key=args.private_key,
            signing_certificate=args.signing_certificate,
            certificate_chain=list(args.certificate_chain),
        )
    config.set_hashing_config(_hashing_config(args, model, [args.signature]))
    config.sign(model, pathlib.Path(args.signature))
    return "ok"


def cmd_verify(args):
    model = pathlib.Path(args.model)
    config = verifying.Config()
    if args.method == "key":
        if not args.public_key:
            raise ValueError("--public-key is required with --method key")
        config.use_elliptic_key_verifier(public_key=args.public_key)
    else:
        config.use_certificate_verifier(certificate_chain=list(args.certificate_chain))
    if not args.guess_hashing:
        config.set_hashing_config(_hashing_config(args, model, [args.signature]))
    config.set_ignore_unsigned_files(args.ignore_unsigned_files)
    config.verify(model, pathlib.Path(args.signature))
    return "ok"


def cmd_digest(args):
    model = pathlib.Path(args.model)
    manifest = _hashing_config(args, model).hash(model)
    # Exactly what signing.Payload does for the in-toto subject digest.
    hasher = hashlib.sha256()
    for descriptor in manifest.resource_descriptors():
        hasher.update(descriptor.digest.digest_value)
    return "sha256:" + hasher.hexdigest()


def _add_hashing_options(p):
    p.add_argument("--serialization", choices=["files", "shards"], default="files")
    p.add_argument("--hash", choices=sorted(_HASHES), default="sha256")
    p.add_argument("--shard-size", type=int, default=1_000_000_000)
    p.add_argument("--ignore-path", action="append", default=[], metavar="PATH")
    p.add_argument("--no-ignore-git-paths", action="store_true")
    p.add_argument("--allow-symlinks", action="store_true")


def _parser():
    parser = argparse.ArgumentParser(prog="peer.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sign = sub.add_parser("sign", help="sign MODEL with the Python API")
    sign.add_argument("--method", choices=["key", "certificate"], required=True)
    sign.add_argument("--private-key", required=True)
    sign.add_argument("--password")
    sign.add_argument("--signing-certificate")
    sign.add_argument("--certificate-chain", action="append", default=[])
    sign.add_argument("--signature", required=True)
    _add_hashing_options(sign)
    sign.add_argument("model")
    sign.set_defaults(func=cmd_sign)

    verify = sub.add_parser("verify", help="verify MODEL with the Python API")
    verify.add_argument("--method", choices=["key", "certificate"], required=True)
    verify.add_argument("--public-key")
    verify.add_argument("--certificate-chain", action="append", default=[])
    verify.add_argument("--signature", required=True)
    verify.add_argument("--ignore-unsigned-files", action="store_true")
    verify.add_argument(
        "--guess-hashing",
        action="store_true",
        help="let model_signing guess the hashing config from the bundle",
    )
    _add_hashing_options(verify)
    verify.add_argument("model")
    verify.set_defaults(func=cmd_verify)

    digest = sub.add_parser("digest", help="print sha256:<root digest> of MODEL")
    _add_hashing_options(digest)
    digest.add_argument("model")
    digest.set_defaults(func=cmd_digest)

    batch = sub.add_parser("batch", help="run a JSON list of jobs, print JSON results")
    batch.add_argument("--jobs", help="JSON file (default: stdin)")
    batch.set_defaults(func=None)
    return parser


def _job_argv(job):
    """Turns a batch job object into an argv for _parser()."""
    job = dict(job)
    command = job.pop("command")
    model = job.pop("model")
    argv = [command]
    for key, value in job.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            if value:
                argv.append(flag)
        elif isinstance(value, list):
            for v in value:
                argv += [flag, str(v)]
        elif value is not None:
            argv += [flag, str(value)]
    argv.append(str(model))
    return argv


def _error_text(exc):
    return f"{type(exc).__name__}: {exc}"


def run_batch(args, parser):
    text = pathlib.Path(args.jobs).read_text() if args.jobs else sys.stdin.read()
    jobs = json.loads(text)
    if not isinstance(jobs, list):
        raise ValueError("batch input must be a JSON list")
    results = []
    for job in jobs:
        try:
            argv = _job_argv(job)
            err = io.StringIO()
            old_stderr, sys.stderr = sys.stderr, err
            try:
                job_args = parser.parse_args(argv)
            except SystemExit:
                raise ValueError(f"bad job {job!r}: {err.getvalue().strip()}") from None
            finally:
                sys.stderr = old_stderr
            if job_args.func is None:
                raise ValueError("nested batch jobs are not supported")
            output = job_args.func(job_args)
            results.append({"ok": True, "output": output, "error": ""})
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            results.append({"ok": False, "output": "", "error": _error_text(exc)})
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")
    return 0


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "batch":
            return run_batch(args, parser)
        print(args.func(args))
        return 0
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        print(f"peer.py {args.command} failed with error: {_error_text(exc)}", file=sys.stderr)
        if args.command == "batch":
            traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
