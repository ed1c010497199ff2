"""Data-parallel training with ``torch.distributed`` for every learned method, without touching its training step
(issue 18 item 1). ``bench run`` under ``torchrun --nproc_per_node=N`` initialises the process group; then:

- **Data**: every ``methods.common.sampling.BatchSampler`` draws the same global batch (same seed) on every rank and
  keeps rank r's share ``idx[r::N]`` (``shard``): the global batch is the preset's ``batch_size``, N times the
  per-process one, so a run on N processes trains on the batches a 1-process run trains on.
- **Gradients**: ``GradientAveraging`` registers a global optimizer step pre-hook that all-reduces (averages) the
  gradients of the parameters an optimizer is about to update, just before ``step``. Each rank's loss is a mean over
  its share, so the average is the gradient of the mean over the global batch: the same update as one process (up to
  float summation order). This is DistributedDataParallel's arithmetic without its bucketed overlap of communication
  and backward (slower on many GPUs, and independent of how a method builds, wraps or calls its networks).
- **Batch norm**: ``param_free_norm='sync'`` (SPADE, CoCosNet: the official ``syncbatch``) is ``SyncBatchNorm``,
  torch's own on CUDA; on the CPU, which torch's does not support, the statistics are all-reduced here (autograd
  through ``torch.distributed.nn``), so the gloo runs compute the same normalisation.
- **Logged losses** are averaged over ranks (``average``) so that rank 0's history is the global batch's.
- **Writes**: only rank 0 (``is_main``) writes checkpoints; ``bench run`` lets only rank 0 evaluate, track and write
  results. A checkpoint holds the bare networks (nothing is wrapped), so 1-process and N-process runs resume from each
  other's checkpoints.

Randomness: ranks share the run seed, so they build identical networks and draw identical crops and flips per step;
draws made per image inside a method's step (noise vectors, dropout, image pools) come from each rank's own stream and
differ from a 1-process run, as they do under DistributedDataParallel. The equivalence test uses AdaIN, whose step has
no such draws.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from core.errors import DataError


def world_size() -> int:
    """Processes in the default group (1 when torch.distributed is not initialised)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 when torch.distributed is not initialised)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """True on rank 0 (and in a plain single-process run): the process that writes."""
    return rank() == 0


def shard(indices: torch.Tensor) -> torch.Tensor:
    """This rank's share ``indices[rank::N]`` of a global batch [B] (all of it on one process). ``DataError`` when
    B is not a multiple of N: the ranks would train on unequal shares and no longer average to the global batch."""
    n = world_size()
    if n == 1:
        return indices
    if len(indices) % n:
        raise DataError(f"a global batch of {len(indices)} cannot be split evenly over {n} processes",
                        hint=f"set the method's batch_size to a multiple of {n}, or run on a divisor of it")
    return indices[rank()::n]


def average(values: dict[str, float]) -> dict[str, float]:
    """The mean over ranks of each value (the same dict on every rank); unchanged on one process."""
    n = world_size()
    if n == 1 or not values:
        return values
    buffer = torch.tensor(list(values.values()), dtype=torch.float64)
    dist.all_reduce(buffer)
    return dict(zip(values, (buffer / n).tolist(), strict=True))


def _average_gradients(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])  # one all-reduce per step, not one per tensor
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


class GradientAveraging:
    """While active (a context manager), every ``optimizer.step()`` first averages the gradients of its parameters
    over the ranks. Does nothing on one process. Every rank must step the same optimizers in the same order, which
    holds because the ranks run the same code on the same schedule."""

    def __enter__(self) -> GradientAveraging:
        self._handle = (register_optimizer_step_pre_hook(_average_gradients)
                        if world_size() > 1 else None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.remove()


class SyncBatchNorm(nn.SyncBatchNorm):
    """``torch.nn.SyncBatchNorm`` that also synchronises on the CPU (gloo), where torch's raises: the per-channel sum,
    sum of squares and count are all-reduced with autograd, so gradients flow to every rank's inputs as in one batch.
    Input [N,C,H,W]; same parameters, buffers and state-dict keys as torch's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and world_size() > 1 and x.device.type == "cpu"):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        c = x.size(1)
        dims = [d for d in range(x.dim()) if d != 1]
        count = torch.full((1,), x.numel() / c, dtype=x.dtype)
        stats = all_reduce(torch.cat([x.sum(dims), (x * x).sum(dims), count]))
        total = stats[-1]
        mean = stats[:c] / total
        var = (stats[c:2 * c] / total - mean * mean).clamp_min(0)
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                momentum = 0.1 if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - momentum).add_(momentum * mean.detach())
                self.running_var.mul_(1 - momentum).add_(momentum * var.detach() * total / (total - 1).clamp_min(1))
                self.num_batches_tracked += 1
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) / (var.view(shape) + self.eps).sqrt()
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y
