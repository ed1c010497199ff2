"""The frozen-encoder rule, once: how a method holding frozen pretrained networks (``core.features``) reports
calibration, moves between devices and writes and reads checkpoints.

- ``calibrated`` is False as soon as one frozen encoder has random weights (``allow_uncalibrated`` without the file).
- A checkpoint records, per encoder, whether it was the published network; it stores the weights only when they
  were random (published ones come from the weights manifest), and loading it into a method built with the other
  kind is refused: a decoder trained to invert random features is not the method, nor the reverse.
- The encoders are the registry's shared objects: ``to(device)`` swaps in the registry's copy on that device
  instead of moving them in place, and a checkpoint whose random weights differ from this build's (another torch
  version drew them) gets a private copy carrying the checkpoint's weights.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from core.errors import BenchError
from core.features import FeatureExtractor

RECORD = "pretrained_encoders"  # the checkpoint entry holding the per-encoder records


class FrozenEncoders:
    """Mixin (before ``Method`` in the bases) for methods with frozen encoders held in attributes.

    ``pretrained_encoders`` maps each encoder's checkpoint name to the attribute holding it (the attribute may be None
    when the method was built without that encoder, e.g. a zero loss weight). An encoder that is also among
    ``networks()`` under its checkpoint name is written only as its record. ``pretrained_encoders_changed`` is called
    after an encoder object was swapped (device move, checkpoint weights), for methods that wire views of it.
    """

    pretrained_encoders: ClassVar[dict[str, str]] = {}
    device: torch.device

    def networks(self) -> dict[str, nn.Module]:  # pragma: no cover - provided by Method
        raise NotImplementedError

    def pretrained(self) -> dict[str, FeatureExtractor]:
        """The frozen encoders this method was built with, by checkpoint name."""
        found = {name: getattr(self, attribute, None) for name, attribute in self.pretrained_encoders.items()}
        return {name: encoder for name, encoder in found.items() if encoder is not None}

    def pretrained_encoders_changed(self) -> None:
        """Hook: an encoder attribute now holds another object."""

    @property
    def calibrated(self) -> bool:
        return all(encoder.calibrated for encoder in self.pretrained().values())

    def _swap(self, name: str, encoder: FeatureExtractor) -> bool:
        if encoder is getattr(self, self.pretrained_encoders[name]):
            return False
        setattr(self, self.pretrained_encoders[name], encoder)
        return True

    def to(self, device: torch.device | str) -> Any:
        self.device = torch.device(device)
        for name, net in self.networks().items():
            if name not in self.pretrained_encoders:
                net.to(self.device)
        swapped = [self._swap(name, encoder.on(self.device)) for name, encoder in self.pretrained().items()]
        if any(swapped):
            self.pretrained_encoders_changed()
        return self

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {name: net.state_dict() for name, net in self.networks().items()
                                 if name not in self.pretrained_encoders}
        state[RECORD] = {name: {"calibrated": encoder.calibrated, "artifact": encoder.artifact,
                                **({} if encoder.calibrated else {"weights": encoder.state_dict()})}
                         for name, encoder in self.pretrained().items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        records = state.get(RECORD) or self._legacy_records(state)
        swapped = []
        for name, encoder in self.pretrained().items():
            record = records.get(name)
            if record is None:
                raise BenchError(f"checkpoint lacks the record of the frozen encoder {name!r}",
                                 hint="re-train with this version (delete the checkpoint folder)")
            if record["calibrated"] != encoder.calibrated:
                kinds = {True: f"the published {encoder.artifact} weights",
                         False: f"a random (uncalibrated) {encoder.artifact}"}
                raise BenchError(f"checkpoint was trained with {kinds[record['calibrated']]} but this method was "
                                 f"built with {kinds[encoder.calibrated]}",
                                 hint="build the method the way the checkpoint was trained (allow_uncalibrated and "
                                      "the presence of the weights file), or re-train")
            if not encoder.calibrated and "weights" in record:
                swapped.append(self._swap(name, encoder.with_weights(record["weights"])))
        for name, net in self.networks().items():
            if name in self.pretrained_encoders:
                continue
            if name not in state:
                raise KeyError(f"checkpoint lacks network {name!r}")
            net.load_state_dict(state[name])
        if any(swapped):
            self.pretrained_encoders_changed()

    def _legacy_records(self, state: dict[str, Any]) -> dict[str, Any]:
        """Records of a checkpoint written before this rule by adain, wct or spade_vae (``FrozenVGGState``: one
        ``meta.vgg_calibrated`` flag), so runs from then resume. Their random VGG was drawn by the same recipe and
        seed as this build's (``tests/core/test_features.py`` pins it), so the record needs no weights. Other old
        checkpoints (segin, egscit) have no record and are refused."""
        calibrated = state.get("meta", {}).get("vgg_calibrated")
        if calibrated is None:
            return {}
        return {name: {"calibrated": bool(calibrated)} for name in self.pretrained()}
