"""Stable hashes of settings and files, used for protocol hashes, cache keys and data fingerprints."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 1.0 and 1 are the same setting
    if isinstance(value, (np.integer, np.floating)):
        return _normalise(value.item())
    if isinstance(value, Path):
        return str(value)
    return value


def settings_hash(settings: dict[str, Any], length: int = 12) -> str:
    """sha256 of a canonical JSON encoding of ``settings`` (key order and 1 vs 1.0 do not matter)."""
    blob = json.dumps(_normalise(settings), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def git_blob_sha1(path: str | Path, chunk: int = 1 << 20) -> str:
    """git's object id of a file's bytes (sha1 over ``blob <size>\\0`` + the bytes): what a repository's tree records
    for a file, so a file published only inside a git repository has a public, exact checksum."""
    path = Path(path)
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def array_fingerprint(*arrays: np.ndarray, length: int = 16) -> str:
    """Content hash of arrays (shape, dtype and bytes), for data fingerprints."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:length]
