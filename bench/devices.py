"""Where a run computes: the torch device and how training batches reach it (``device=``, ``loader.workers=``,
``loader.pin_memory=`` of ``bench run``; issue 18 item 5).

``auto`` loader settings follow the device: on a GPU the batches are fetched in worker processes
(``min(4, CPUs − 1)``, counting the CPUs this process may use: its affinity mask, shared by the node's ranks) into
page-locked memory, so that data loading does not starve the GPU; on the CPU they are fetched in the training process
(workers would compete with it for the same cores). Neither setting changes a number: ``methods.common.sampling.load``
gives the same batches for every setting (tested per method).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch

from core.errors import BenchError
from methods.common.distributed import world_size

MAX_AUTO_WORKERS = 4


@dataclass(frozen=True)
class Hardware:
    """The resolved settings of a run: device, loader worker processes (≥ 0), pinned memory and the training
    precision (``fp32``, or ``bf16``: the methods' ``fit`` under ``torch.autocast`` to bfloat16)."""

    device: torch.device
    loader_workers: int
    pin_memory: bool
    precision: str = "fp32"

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context a method trains in: ``torch.autocast(device type, bfloat16)`` for ``bf16``, else nothing."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def describe(self) -> str:
        """What a results table must say about how the methods trained: "" for the default (fp32, one process)."""
        parts = []
        if self.precision != "fp32":
            parts.append(f"{self.precision} autocast (numbers differ from fp32 training)")
        if world_size() > 1:
            parts.append(f"data-parallel on {world_size()} processes (global batch = the preset's batch_size)")
        return "; ".join(parts)

    def params(self) -> dict[str, Any]:
        """The resolved values, as recorded with the run (``auto`` is never what the store says)."""
        return {"hardware.device": str(self.device), "hardware.loader_workers": self.loader_workers,
                "hardware.pin_memory": self.pin_memory, "hardware.precision": self.precision,
                "hardware.gpu": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "none",
                "hardware.processes": world_size()}


def resolve_device(name: str) -> torch.device:
    """``torch.device(name)``; ``BenchError`` (one line) for a name torch does not know or a CUDA device that is not
    there, naming what is."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise BenchError(f"device={name!r} is not a torch device ({exc})",
                         hint="use device=cpu or device=cuda") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise BenchError(f"device={name} but torch {torch.__version__} sees no CUDA GPU here",
                             hint="run with device=cpu; for a GPU run, torch.cuda.is_available() must be true "
                                  "(a CUDA build of torch and a driver that sees the GPU)")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise BenchError(f"device={name} but only {count} CUDA device(s) are visible (cuda:0..cuda:{count - 1})",
                             hint="pick one of them, or set CUDA_VISIBLE_DEVICES")
    elif device.type not in {"cpu", "mps"}:
        raise BenchError(f"device={name}: the harness runs on cpu or cuda (mps untested)", hint="use device=cpu")
    return device


def _auto(value: Any) -> bool:
    return value is None or str(value).lower() == "auto"


PRECISIONS = ("fp32", "bf16")


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity mask (what SLURM's ``--cpus-per-task``, cgroup cpusets and
    ``taskset`` grant; ``os.cpu_count()`` counts the whole node), shared by the ranks ``torchrun`` starts on this
    node (``LOCAL_WORLD_SIZE``); at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity masks (macOS, Windows)
        cpus = os.cpu_count() or 1
    try:
        local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return max(1, cpus // local)


def auto_workers(on_gpu: bool) -> int:
    """``loader.workers=auto``: on a GPU ``min(4, usable CPUs − 1)`` worker processes (one CPU stays with the
    training process), on the CPU none (workers would compete with the training for the same cores)."""
    return min(MAX_AUTO_WORKERS, usable_cpus() - 1) if on_gpu else 0


def resolve_hardware(device_name: str, workers: Any = "auto", pin_memory: Any = "auto",
                     precision: str = "fp32") -> Hardware:
    """``Hardware`` from the run's ``device``, ``loader.workers`` (``auto`` or an int ≥ 0), ``loader.pin_memory``
    (``auto`` or a bool) and ``precision``. ``BenchError`` on a bad value; ``precision=fp16`` is refused: float16
    needs loss scaling inside each method's step, which the methods do not do (bfloat16 does not need it)."""
    precision = str(precision).lower()
    if precision == "fp16":
        raise BenchError("precision=fp16 needs loss scaling (GradScaler) in every method's training step, which the "
                         "harness's methods do not do", hint="use precision=bf16 (no scaling needed) or fp32")
    if precision not in PRECISIONS:
        raise BenchError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}", hint="e.g. precision=bf16")
    device = resolve_device(str(device_name))
    on_gpu = device.type == "cuda"
    n = workers
    if _auto(n):
        n = auto_workers(on_gpu)
    try:
        n = int(str(n)) if not isinstance(n, bool) else -1  # "1.5" and true are not counts
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise BenchError(f"loader.workers={workers!r} is not a number of processes", hint="use auto, 0, 1, 2, ...")
    pin = pin_memory
    if _auto(pin):
        pin = on_gpu
    elif not isinstance(pin, bool):
        raise BenchError(f"loader.pin_memory={pin_memory!r} is not true, false or auto",
                         hint="e.g. loader.pin_memory=true")
    return Hardware(device, n, bool(pin), precision)
