"""The registry of pretrained feature extractors and its one entry point, ``get``.

In the spirit of torch-fidelity's ``register_feature_extractor``: every pretrained network the harness uses (loss
networks of methods, backbones of metrics) is a ``FeatureExtractor`` subclass registered under a name, and
``get(name, allow_uncalibrated=..., seed=..., device=..., **options)`` returns it built from the weights manifest
(``core.weights``, the single source of file names and checksums), frozen and cached:

- the file is present and verified → the published weights, ``calibrated`` True;
- missing, no opt-in → ``MissingWeightsError`` (file, checksum, download command);
- missing, ``allow_uncalibrated=True`` → the class's seeded random initialisation, ``calibrated`` False.

One call with the same key (name, weights identity, seed, options, device, memory format) returns the same object,
so a network is built once per process. That object is shared: it stays in eval mode under ``.train()``, takes no
gradient, and refuses in-place moves and weight loads (``on(device)`` and ``with_weights(state)`` return other
objects instead). Builds run under ``forbid_downloads()`` and ``seeded(seed)``, so they never touch the network and
never disturb the caller's random state.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from core import weights
from core.errors import BenchError
from core.features.guard import forbid_downloads
from core.registry import Registry
from core.seeding import seeded

_CPU = torch.device("cpu")


class FeatureExtractor(nn.Module):
    """A frozen pretrained network built by the registry. Subclasses set the class attributes and ``create``.

    ``settings()`` is what a metric puts into its protocol hash: ``artifact`` (manifest name), ``weights_sha256``
    (the file's sha256, or ``random-init(seed=…)``), ``calibrated``, ``network`` and ``input`` (descriptions);
    ``provenance()`` is its first three keys alone.
    """

    artifact: ClassVar[str]  # manifest name of the weights file
    network: ClassVar[str]  # what the network is, e.g. "torchvision vgg19().features"
    input: ClassVar[str]  # the input convention ``forward`` expects
    options: ClassVar[dict[str, Any]] = {}  # build options ``get`` accepts, with their defaults
    builds_on_device: ClassVar[bool] = False  # True: built directly on the device (no CPU copy to move)
    registry_name: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.calibrated = True
        self.checksum = ""
        self.path: Path | None = None
        self.seed = 0
        self.build_options: dict[str, Any] = {}
        self.placement: tuple[torch.device, bool] = (_CPU, False)  # (device, channels_last)
        self._key: tuple[Any, ...] | None = None  # set while the registry's cache shares this object

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """The build options with defaults filled in; an unknown name is a ``BenchError``. Subclasses validate
        values and normalise them (the result is part of the cache key, so it must be hashable)."""
        unknown = sorted(set(options) - set(cls.options))
        if unknown:
            raise BenchError(f"feature extractor {cls.registry_name!r} has no option(s) {unknown}",
                             hint=f"valid options: {', '.join(cls.options) or '(none)'}")
        return {**cls.options, **options}

    @classmethod
    def check_installed(cls) -> None:
        """Raise ``BenchError`` (with the install command) when a library the network needs is missing."""

    @classmethod
    def create(cls, path: Path | None, seed: int, device: torch.device, **options: Any) -> FeatureExtractor:
        """Build the network (random weights drawn from the current, already seeded, RNG) and load ``path`` when
        it is given. Called by the registry only."""
        raise NotImplementedError

    # -- provenance ------------------------------------------------------------------------------------------------
    def provenance(self) -> dict[str, Any]:
        return {"artifact": self.artifact, "weights_sha256": self.checksum, "calibrated": self.calibrated}

    def settings(self) -> dict[str, Any]:
        return self.provenance() | {"network": self.network, "input": self.input}

    # -- frozen and shared -------------------------------------------------------------------------------------------
    @property
    def shared(self) -> bool:
        return self._key is not None

    def train(self, mode: bool = True) -> FeatureExtractor:  # frozen: always in eval mode
        return super().train(False)

    def _apply(self, fn: Any, recurse: bool = True) -> FeatureExtractor:
        if self.shared:
            raise RuntimeError(f"the {self.registry_name} feature extractor is shared through the registry's cache "
                               "and cannot be moved in place; use `.on(device)` or "
                               "`core.features.get(..., device=...)`")
        return super()._apply(fn, recurse)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        if self.shared:
            raise RuntimeError(f"the {self.registry_name} feature extractor is shared; use `.with_weights(state)`")
        return super().load_state_dict(state_dict, strict, assign)

    def private_copy(self) -> FeatureExtractor:
        """A deep copy that the cache does not share (free to move and load)."""
        key, self._key = self._key, None
        try:
            return copy.deepcopy(self)
        finally:
            self._key = key

    def on(self, device: torch.device | str) -> FeatureExtractor:
        """This extractor on ``device``: the cache's copy there (shared) or, for a private copy, itself moved."""
        device = torch.device(device)
        if _same_device(self.placement[0], device):
            return self
        if not self.shared:
            self.to(device)
            self.placement = (device, self.placement[1])
            return self
        assert self._key is not None
        return _placed(type(self), self._key[:-2], self.path, self.seed, self.build_options, device,
                       self.placement[1])

    def with_weights(self, state: Mapping[str, torch.Tensor]) -> FeatureExtractor:
        """This extractor if ``state`` holds exactly its weights, else a private copy carrying ``state`` (e.g. a
        checkpoint's random encoder drawn by another torch version)."""
        own = self.state_dict()
        if own.keys() == state.keys() and all(torch.equal(own[k], state[k].to(own[k].device)) for k in own):
            return self
        private = self.private_copy()
        private.load_state_dict(state)
        return private


def _same_device(a: torch.device, b: torch.device) -> bool:
    return a.type == b.type and (a.index or 0) == (b.index or 0)


FEATURES: Registry[type[FeatureExtractor]] = Registry("feature extractor", package="core.features")
_CACHE: dict[tuple[Any, ...], FeatureExtractor] = {}


def register(name: str) -> Any:
    """Class decorator: ``@register("vgg19") class VGG19(FeatureExtractor): ...``."""
    return FEATURES.register(name)


def names() -> list[str]:
    return FEATURES.names()


def get(name: str, *, allow_uncalibrated: bool = False, seed: int = 0, device: torch.device | str = "cpu",
        channels_last: bool = False, **options: Any) -> FeatureExtractor:
    """The registered extractor ``name``, frozen, cached and shared (see the module docstring).

    ``channels_last`` stores 4-D weights in channels-last layout (faster CPU convolutions; inputs should match).
    Raises ``UnknownNameError`` for an unknown name, ``BenchError`` for an unknown option, ``MissingWeightsError``
    when the weights file is missing (without ``allow_uncalibrated``) or does not match its checksum.
    """
    cls = FEATURES.get(name)
    cls.check_installed()
    options = cls.check_options(options)
    path = weights.require(cls.artifact, allow_uncalibrated=allow_uncalibrated)
    identity = weights.weights_checksum(cls.artifact, path, seed)
    base = (name, identity, seed, tuple(sorted(options.items())))
    return _placed(cls, base, path, seed, options, torch.device(device), channels_last)


def _placed(cls: type[FeatureExtractor], base: tuple[Any, ...], path: Path | None, seed: int,
            options: dict[str, Any], device: torch.device, channels_last: bool) -> FeatureExtractor:
    key = (*base, f"{device.type}:{device.index or 0}", channels_last)
    if key in _CACHE:
        return _CACHE[key]
    if cls.builds_on_device or (device.type == "cpu" and not channels_last):
        module = _build(cls, path, seed, device, options)
    else:  # a copy of the CPU build, moved: the same numbers as building on CPU and moving
        module = _placed(cls, base, path, seed, options, _CPU, False).private_copy()
        if channels_last:
            module.to(device, memory_format=torch.channels_last)
        else:
            module.to(device)
    module.placement = (device, channels_last)
    module._key = key
    _CACHE[key] = module
    return module


def _build(cls: type[FeatureExtractor], path: Path | None, seed: int, device: torch.device,
           options: dict[str, Any]) -> FeatureExtractor:
    with forbid_downloads(), seeded(seed):
        module = cls.create(path, seed, device, **options)
    module.calibrated = path is not None
    module.checksum = weights.weights_checksum(cls.artifact, path, seed)
    module.path, module.seed, module.build_options = path, seed, dict(options)
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module
