"""The Rust extension module (model_signing_rs._native). Internal: use the Python modules."""

from typing import Any, Dict, List, Optional, Tuple

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "__version__",
    "hash_model",
    "model_name",
    "sign_model",
    "verify_model",
    "run_cli",
    "bundle_certificates",
    "load_policy",
]

DEFAULT_SHARD_SIZE: int
__version__: str

def hash_model(
    model_path: str, spec: Dict[str, Any], files_to_hash: Optional[List[str]] = None
) -> Tuple[str, Optional[int], List[Tuple[str, str, bytes]], bytes, List[str]]: ...
def model_name(model_path: str) -> str: ...
def sign_model(
    model_path: str,
    signature_path: str,
    hash: Dict[str, Any],
    signer: Dict[str, Any],
    oci: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]: ...
def verify_model(
    model_path: str,
    signature_path: str,
    verifier: Dict[str, Any],
    options: Dict[str, Any],
    oci: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]: ...
def run_cli(argv: List[str]) -> int: ...
def bundle_certificates(signature_path: str) -> Optional[List[bytes]]: ...
def load_policy(path: str) -> int: ...
