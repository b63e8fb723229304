"""The Rust extension module (model_signing_rs._native). Internal: use the Python modules."""

from typing import Any, Dict, List, Optional, Tuple, final

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
    "attest_model",
    "query_claims",
    "open_verified",
    "VerifiedHandle",
    "MemoryReservation",
    "available_memory",
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
    attestations: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]: ...
def attest_model(
    model_path: str,
    signature_path: str,
    attestations_path: Optional[str],
    hash: Dict[str, Any],
    signer: Dict[str, Any],
    kind: str,
    spec: Dict[str, Any],
) -> str: ...
def query_claims(claims: List[str], verifier: Dict[str, Any], uses: str) -> str: ...
def run_cli(argv: List[str]) -> int: ...
def bundle_certificates(signature_path: str) -> Optional[List[bytes]]: ...
def load_policy(path: str) -> int: ...
def open_verified(
    model_path: str,
    signature_path: Optional[str],
    verifier: Dict[str, Any],
    options: Dict[str, Any],
    huggingface: Optional[str] = None,
    attestations: Optional[Dict[str, Any]] = None,
) -> VerifiedHandle: ...

@final
class VerifiedHandle:
    @property
    def model_path(self) -> str: ...
    @property
    def signature_path(self) -> str: ...
    def names(self) -> List[str]: ...
    def verified_names(self) -> List[str]: ...
    def size(self, name: str) -> int: ...
    def read(self, name: str) -> bytes: ...
    def read_safetensors(
        self, names: List[str]
    ) -> List[Tuple[bytearray, List[Tuple[str, str, List[int], int, int]]]]: ...
    def verify_all(self) -> int: ...
    def report(self) -> Dict[str, Any]: ...

def available_memory() -> Optional[int]: ...

@final
class MemoryReservation:
    def __new__(cls, bytes: int) -> "MemoryReservation": ...
    def __enter__(self) -> None: ...
    def __exit__(self, _t: Optional[Any], _v: Optional[Any], _tb: Optional[Any]) -> None: ...
