"""``bench run`` on N processes: ``torchrun --nproc_per_node=N -m bench run ...`` (issue 18 item 1).

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; ``init`` then joins the default process group (NCCL on
CUDA, each rank on GPU ``LOCAL_RANK``; gloo on the CPU). Rank 0 runs ``bench run`` as on one process: it decides which
methods train (skipping FINISHED ones and refusals), broadcasts that list, fits each method together with the other
ranks, then alone evaluates, tracks in MLflow and writes the results. Ranks > 0 run ``worker``: the same fits, in the
same order, and nothing else. What the ranks share during a fit (sharded batches, averaged gradients, synchronised
batch norm, averaged logged losses, rank-0 checkpoints) is ``methods.common.distributed``. Single-image methods (they
fit per case inside the evaluation) and the protocols' own segmenter training run on rank 0 alone.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from omegaconf import DictConfig

from core.errors import BenchError
from methods.common.distributed import GradientAveraging, world_size

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bench.devices import Hardware

log = logging.getLogger("bench")
# a rank waits this long for the others (rank 0 evaluates while the others wait for the next fit)
TIMEOUT = timedelta(hours=12)


def launched() -> bool:
    """Whether this process was started by torchrun (or another launcher) as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank_from_env() -> int:
    return int(os.environ.get("RANK", "0"))


def init(device: torch.device) -> torch.device:
    """Join the process group when launched as one of several processes; returns this rank's device (``cuda:L``
    for local rank L on a GPU run). ``BenchError`` when a GPU run has fewer visible GPUs than local ranks."""
    if not launched() or dist.is_initialized():
        return device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "gloo"
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise BenchError(f"local rank {local} has no GPU: {torch.cuda.device_count()} visible",
                             hint="use --nproc_per_node at most the number of GPUs per node")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    dist.init_process_group(backend, timeout=TIMEOUT)
    log.info("rank %d of %d (%s, %s)", dist.get_rank(), dist.get_world_size(), backend, device)
    if dist.get_rank() > 0:  # rank 0 tells the story once; the others speak only of their own trouble
        for name in ("bench", "methods", "protocols"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return device


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_plan(labels: list[str] | None, batch_sizes: dict[str, int] | None = None) -> list[str]:
    """Rank 0's list of the method labels to fit, on every rank (rank 0 passes it and each one's global
    ``batch_size``, the others ``None``). ``BenchError`` on every rank, before anything trains, when a batch cannot
    be split evenly over the processes."""
    n = world_size()
    if n == 1:
        return list(labels or [])
    problem: tuple[str, str] | None = None
    if labels is not None:
        odd = {label: b for label, b in (batch_sizes or {}).items() if label in labels and b % n}
        if odd:
            first = next(iter(odd))
            problem = (f"batch_size {', '.join(f'{k}={v}' for k, v in odd.items())} cannot be split evenly over {n} "
                       "processes (the batch size is the global batch)",
                       f"e.g. +methods.{first}.override.batch_size={n * max(1, odd[first] // n)}, or torchrun "
                       "--nproc_per_node= a divisor of it")
    box: list[Any] = [(labels, problem)]
    dist.broadcast_object_list(box, src=0)
    labels, problem = box[0]
    if problem:
        raise BenchError(problem[0], hint=problem[1])
    return list(labels)


@contextmanager
def training(hardware: Hardware) -> Iterator[None]:
    """Around a method's ``fit``: gradients averaged over the ranks (nothing on one process) and the run's precision
    (``hardware.autocast``)."""
    with GradientAveraging(), hardware.autocast():
        yield


def worker(cfg: DictConfig, hardware: Hardware) -> None:
    """Ranks > 0: fit rank 0's methods with it, in its order, and write nothing."""
    from bench.runner import _MethodRun, build_protocol, method_config_key, seed_everything
    from methods import FitContext, create_method
    from protocols.base import Workspace

    protocol = build_protocol(cfg)
    protocol.prepare()
    common = {"protocol_hash": protocol.protocol_hash()}
    protocol.workspace = Workspace(Path(cfg.paths.results), Path(cfg.paths.checkpoints), str(hardware.device), False,
                                   None, "")
    mruns = {str(label): _MethodRun(str(label), mcfg, cfg, protocol, common) for label, mcfg in cfg.methods.items()}
    for label in broadcast_plan(None):
        mrun = mruns[label]
        params, config_key = method_config_key(mrun)
        workdir = Path(cfg.paths.checkpoints) / protocol.name / label / config_key
        try:
            seed_everything(int(cfg.seed))
            method = create_method(mrun.method_class, **params).to(hardware.device)
            ctx = FitContext(workdir=workdir, seed=int(cfg.seed), device=hardware.device, progress=False,
                             loader_workers=hardware.loader_workers, pin_memory=hardware.pin_memory)
            with training(hardware):
                method.fit(protocol.train_data(), ctx)
        except Exception as exc:  # rank 0 records the failure; this rank goes on to the next method
            log.warning("rank %d: %s failed: %s", dist.get_rank(), label, str(exc).splitlines()[0])
