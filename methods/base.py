"""The one interface every method implements: ``fit`` on training data, ``translate`` under an exemplar.

Image convention everywhere in the harness: float32 tensors, NCHW, RGB, values in [0, 1]. Methods that work in
[-1, 1] convert internally. A method declares what it needs in ``capabilities``; protocols read that declaration to
refuse a method they cannot evaluate, with the reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from datasets.base import TrainData
from methods.common.checkpoint import read_checkpoint, write_checkpoint
from methods.common.params import resolve_params

Training = Literal["none", "paired", "unpaired", "single_image"]
Guidance = Literal["exemplar", "noise", "none"]
Direction = Literal["AB", "BA"]


@dataclass(frozen=True)
class Capabilities:
    """What a method needs from a protocol and how it uses the exemplar.

    training: the training data ``fit`` needs: ``none`` (not learned), ``paired`` (input and its ground truth),
        ``unpaired`` (two domains, no correspondence), ``single_image`` (one image and its label map).
    guidance: how the output varies: ``exemplar`` (the exemplar image steers it), ``noise`` (a random code), ``none``.
    directions: ``both`` if one trained model translates A→B and B→A, ``AB`` if only A→B.
    needs_label_maps: the input is (or comes with) a semantic label map.
    needs_exemplar_labels: the exemplar's label map is needed too (passed as ``translate(..., exemplar_labels=)``,
        encoded like the content).
    ignores_content: the output does not depend on the content (``exemplar_copy``), so any conditioning will do.
    needs_target_image: ``translate`` also needs the image behind the content layout (``target_image=`` float
        [N,3,H,W] in [0,1]), e.g. Deep Image Analogy, which matches two images rather than a layout and an image.
    """

    training: Training
    guidance: Guidance
    directions: Literal["both", "AB"] = "both"
    needs_label_maps: bool = False
    needs_exemplar_labels: bool = False
    ignores_content: bool = False
    needs_target_image: bool = False
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        parts = [f"train={self.training}", f"guidance={self.guidance}", f"directions={self.directions}"]
        if self.needs_label_maps:
            parts.append("label-maps")
        if self.needs_exemplar_labels:
            parts.append("exemplar-labels")
        if self.needs_target_image:
            parts.append("target-image")
        return " ".join(parts)


@dataclass
class FitContext:
    """What the orchestrator hands to ``fit``: where to checkpoint, the seed, and where to log."""

    workdir: Path
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: bool = True
    # training batches fetched in this many worker processes (0: in the main process) and, with pin_memory, in
    # page-locked memory for fast host→GPU copies; neither changes the batches (methods.common.sampling.load)
    loader_workers: int = 0
    pin_memory: bool = False
    log_metrics: Callable[[int, dict[str, float]], None] | None = None
    # called after every training step with (steps done, total steps); used for intermediate evaluations (pruning)
    on_step: Callable[[int, int], None] | None = None

    def log(self, step: int, values: dict[str, float]) -> None:
        if self.log_metrics is not None:
            self.log_metrics(step, values)


class Method(ABC):
    """Base class of every method. Subclasses register with ``@METHODS.register("name")``.

    Parameters: a method declares every parameter it accepts, with its default, in ``defaults``; ``__init__``
    resolves the given ones against it (``methods.common.params.resolve_params``: an unknown name is a
    ``BenchError``) into ``self.params``, then checks their values with ``check_params`` (the runner calls it too,
    before any data is built). ``defaults = None`` keeps the given parameters as they are (test doubles).
    """

    capabilities: ClassVar[Capabilities]
    registry_name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any] | None] = None

    def __init__(self, **params: Any) -> None:
        if self.defaults is not None:
            params = resolve_params(self.registry_name or type(self).__name__, self.defaults, params)
        type(self).check_params(params)
        self.params = dict(params)
        self.device = torch.device("cpu")

    @classmethod  # noqa: B027 - optional hook, not abstract
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Refuse parameter values that are wrong whatever the data (an unknown choice, a value out of range), with
        a ``BenchError`` naming the valid values. ``params`` are resolved (every declared name present). Called by
        ``__init__`` and by ``bench run`` before it builds any data; checks that need the data (sizes, channel
        counts set by the protocol) stay in ``__init__`` or ``fit``. The default checks nothing."""

    # -- training and inference -------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:  # noqa: B027 - optional hook, not abstract
        """Train on ``data``. Methods that learn nothing keep this default."""

    @abstractmethod
    def translate(
        self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB", seed: int = 0
    ) -> torch.Tensor:
        """Translate a batch of ``content`` images under ``exemplar`` images (same batch size) to [0,1] images."""

    @property
    def calibrated(self) -> bool:
        """False when the method runs a frozen pretrained encoder with random weights instead of the published ones
        (``allow_uncalibrated``; see ``methods.common.frozen``). Methods without pretrained encoders are calibrated."""
        return True

    # -- networks, parameters and checkpoints -------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        """The method's trainable networks by name (empty for non-learned methods)."""
        return {}

    def parameter_counts(self, trainable_only: bool = True) -> dict[str, int]:
        """Parameters per network; by default only trainable ones (frozen pretrained encoders are not counted)."""
        return {name: sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)
                for name, net in self.networks().items()}

    def to(self, device: torch.device | str) -> Method:
        self.device = torch.device(device)
        for net in self.networks().values():
            net.to(self.device)
        return self

    def eval_mode(self) -> None:
        for net in self.networks().values():
            net.eval()

    def train_mode(self) -> None:
        for net in self.networks().values():
            net.train()

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimisers (and anything with ``state_dict``, e.g. schedulers) that a resumed ``fit`` must restore."""
        return {}

    def training_state(self) -> dict[str, Any]:
        return {"nets": self.state_dict(), "optim": {k: o.state_dict() for k, o in self.optimizers().items()}}

    def load_training_state(self, state: dict[str, Any]) -> None:
        self.load_state_dict(state["nets"])
        for name, optimiser in self.optimizers().items():
            optimiser.load_state_dict(state["optim"][name])

    def state_dict(self) -> dict[str, Any]:
        return {name: net.state_dict() for name, net in self.networks().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        nets = self.networks()
        missing = set(nets) - set(state)
        if missing:
            raise KeyError(f"checkpoint lacks networks {sorted(missing)}")
        for name, net in nets.items():
            net.load_state_dict(state[name])

    def save(self, path: str | Path) -> None:
        """Write params and weights in the checkpoint format (``methods.common.checkpoint``), atomically."""
        write_checkpoint(path, self.registry_name, self.params, {"nets": self.state_dict()})

    def load(self, path: str | Path) -> None:
        """Load the weights of a checkpoint written by ``save`` or by ``TrainLoop``; ``BenchError`` on a missing,
        corrupt or foreign file."""
        self.load_state_dict(read_checkpoint(path, self.registry_name, self.device)["state"]["nets"])
