"""The one checkpoint format of the harness: written by ``Method.save`` (weights) and ``TrainLoop`` (a resumable
training state), read back by ``Method.load`` and ``TrainLoop.resume``.

A checkpoint is a ``torch.save`` dict::

    {"format": FORMAT_VERSION, "method": <registry name>, "params": <resolved parameters>,
     "state": {"nets": Method.state_dict(), ...},      # + "optim" etc. from Method.training_state()
     ...}                                               # TrainLoop adds "step", "rng", "history", "extra"

``state["nets"]`` is whatever the method's ``state_dict()`` returns (methods with frozen encoders override it), so
weights saved by either writer load with ``Method.load_state_dict``. Writes are atomic and durable (a temp file beside
the target, flushed to disk with ``fsync``, then ``os.replace`` and an ``fsync`` of the folder): a process killed
mid-write, or a machine that loses power, leaves the previous checkpoint (or none), never a half-written file that
loads. A file that is truncated or corrupt all the same (a copy cut short, disk trouble) is refused with
``CheckpointError`` naming it, never loaded as a fresh start. Checkpoints from before the format had a version
(``TrainLoop``'s and ``Method.save``'s) are read as format 1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from core.errors import CheckpointError

FORMAT_VERSION = 1


def _retrain(path: Path) -> str:
    return f"delete it (`rm {path}`) and rerun: training restarts from step 0 (only the last checkpoint is kept)"


def write_checkpoint(path: str | Path, method: str, params: dict[str, Any], state: dict[str, Any],
                     **extra: Any) -> None:
    """Write a checkpoint of ``method`` (its registry name) atomically; ``state`` must hold the weights as ``nets``."""
    if "nets" not in state:
        raise ValueError("a checkpoint state holds the method's weights under 'nets'")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")  # a stale one from a killed write is simply overwritten
    try:
        with open(tmp, "wb") as handle:
            torch.save({"format": FORMAT_VERSION, "method": method, "params": params, "state": state, **extra},
                       handle)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def read_checkpoint(path: str | Path, method: str, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """The checkpoint dict at ``path`` (see the module docstring).

    Raises ``CheckpointError`` (a ``BenchError``) when the file is missing, unreadable (truncated, corrupt or not a
    checkpoint), of another format version, or written by another method than ``method``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}", hint="check the path; `bench run` writes them under "
                                                               "paths.checkpoints")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch/pickle/zip raise many kinds on a cut or damaged file
        detail = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointError(f"{path} is not a readable checkpoint, truncated or corrupt ({type(exc).__name__}: "
                              f"{detail})", hint=_retrain(path)) from exc
    if isinstance(blob, dict) and "format" not in blob:
        blob = _from_unversioned(blob, method)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
        found = blob.get("format", "none") if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(f"{path} is not a checkpoint of format {FORMAT_VERSION} (found format {found})",
                              hint=_retrain(path))
    if blob.get("method") != method:
        raise CheckpointError(f"{path} holds a {blob.get('method')!r} checkpoint, not {method!r}",
                              hint="load it with the method that wrote it")
    if not isinstance(blob.get("state"), dict) or "nets" not in blob["state"]:
        raise CheckpointError(f"{path} has no network weights (state['nets'])", hint=_retrain(path))
    return blob


def _from_unversioned(blob: dict[str, Any], method: str) -> dict[str, Any]:
    """Checkpoints written before the format had a version, so that runs resume across the upgrade: ``TrainLoop``'s
    (``step`` + ``state`` = training state, no method name) and ``Method.save``'s (``state`` = the weights)."""
    if "step" in blob and isinstance(blob.get("state"), dict) and "nets" in blob["state"]:
        return {**blob, "format": FORMAT_VERSION, "method": method, "params": blob.get("params", {})}
    if "method" in blob and "state" in blob:
        return {**blob, "format": FORMAT_VERSION, "state": {"nets": blob["state"]}}
    return blob
