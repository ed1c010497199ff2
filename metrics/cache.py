"""On-disk cache of reference-set features and statistics.

Entries are keyed by the data's content hash *and* the metric protocol hash (weights checksum, resize, quantisation,
feature layer, ...): a changed image or a changed setting is a different key, so a stale entry can never be read
(torch-fidelity keys by a user-chosen name; imaginaire by path only; both can go stale). Writes go to a temporary
file in the same folder and are renamed into place, so an interrupted run never leaves a half-written entry. An
entry that is unreadable all the same (cut short, damaged: a zip CRC error) is derived data: ``load`` logs one warning
naming the file and returns None, so the caller recomputes it from the reference images and overwrites it.

Location: ``$BENCH_CACHE`` (default ``~/.cache/bench``), sub-folder per namespace.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)


def cache_root() -> Path:
    return Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "bench")).expanduser()


class ArrayCache:
    """A folder of ``.npz`` entries named ``<protocol hash>-<data hash>.npz``."""

    def __init__(self, namespace: str, root: str | Path | None = None) -> None:
        self.folder = (Path(root).expanduser() if root is not None else cache_root()) / namespace

    def path(self, data_hash: str, protocol_hash: str) -> Path:
        return self.folder / f"{protocol_hash}-{data_hash}.npz"

    def load(self, data_hash: str, protocol_hash: str) -> dict[str, np.ndarray] | None:
        path = self.path(data_hash, protocol_hash)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except Exception as exc:  # numpy/zipfile raise many kinds (BadZipFile, ValueError, EOFError, OSError)
            detail = (str(exc).strip().splitlines() or [""])[0]
            log.warning("cached entry %s is unreadable (%s: %s): recomputing it and overwriting the file", path,
                        type(exc).__name__, detail)
            return None

    def save(self, data_hash: str, protocol_hash: str, **arrays: np.ndarray) -> Path:
        path = self.path(data_hash, protocol_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return path


def tensor_content_hash(batches: Iterable[torch.Tensor], quantize: bool = True, length: int = 24) -> str:
    """sha256 of image content: 8-bit pixel values when ``quantize`` (what a PNG would hold), else float32 bytes."""
    digest = hashlib.sha256()
    count = 0
    for batch in batches:
        data = batch.detach().to("cpu", torch.float32)
        if quantize:
            data = torch.round(data.clamp(0, 1) * 255).to(torch.uint8)
        digest.update(f"{tuple(data.shape[1:])}|{data.dtype}|".encode())
        digest.update(data.contiguous().numpy().tobytes())
        count += data.shape[0]
    digest.update(f"n={count}".encode())
    return digest.hexdigest()[:length]
