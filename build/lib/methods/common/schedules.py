"""Learning-rate schedules counted in training steps (iterations). Each returns a ``LambdaLR``/``StepLR`` to call
``.step()`` once per iteration; they have ``state_dict`` so a method lists them in ``optimizers()`` for resume."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, StepLR


def linear_decay(optimizer: Optimizer, constant_steps: int, decay_steps: int) -> LambdaLR:
    """CycleGAN/pix2pix/BicycleGAN/SPADE: the initial lr for ``constant_steps``, then linearly down to ~0 over
    ``decay_steps`` (factor 1 − max(0, t − constant)/(decay + 1), as the official ``linear`` policy does per epoch).
    A method whose config gives the total ``steps`` and the last ``decay_steps`` passes ``steps - decay_steps``."""
    constant_steps, decay_steps = int(constant_steps), int(decay_steps)
    return LambdaLR(optimizer, lambda t: 1.0 - max(0, t - constant_steps) / float(decay_steps + 1))


def step_decay(optimizer: Optimizer, step_size: int, gamma: float = 0.5) -> StepLR:
    """MUNIT/UNIT: lr × gamma every ``step_size`` iterations."""
    return StepLR(optimizer, step_size=max(1, int(step_size)), gamma=gamma)


def poly_decay(optimizer: Optimizer, total_steps: int, power: float = 0.9) -> LambdaLR:
    """EGSC-IT: lr · (1 − t/total)^power."""
    total = max(1, int(total_steps))
    return LambdaLR(optimizer, lambda t: max(0.0, 1.0 - t / total) ** power)


def inverse_time_decay(optimizer: Optimizer, decay: float) -> LambdaLR:
    """AdaIN/WCT (Torch7 ``optim.adam``'s ``learningRateDecay``): lr_t = lr / (1 + t·decay)."""
    return LambdaLR(optimizer, lambda step: 1.0 / (1.0 + step * decay))
