"""Colour correction of a ground truth toward a retrieved image: MSCA's retrieving task (Ma et al., §4: "we apply
color correction [46] on GT to eliminate color discrepancy"; [46] = WCT², Yoo et al. ICCV 2019).

``colour_correct(content, style, method="wct2", allow_uncalibrated=...)`` with uint8 [N, H, W, 3] in and out:

- ``wct2`` (the paper's method): photorealistic wavelet style transfer with the official pretrained ``cat5``
  checkpoints (weights manifest ``wct2_encoder_cat5``, ``wct2_decoder_cat5``), ``transfer_at`` encoder + skip +
  decoder and alpha 1 (the official defaults), at the images' own resolution (reflection-padded to a multiple of
  8 and cropped back; the official code resizes to 512 and centre-crops to a multiple of 16). Segment-wise when
  both label maps are given (the paper does not say whether it used them; the protocol decides and its settings
  record it).
- ``reinhard``: the named classical substitute (Reinhard, Ashikhmin, Gooch, Shirley, "Color Transfer between
  Images", IEEE CG&A 2001): per-channel mean and standard deviation transfer in the paper's decorrelated lαβ space,
  optionally per label segment. Chosen over per-channel histogram matching because it is the classical counterpart
  of WCT (first and second moments, in a decorrelated colour space instead of a learned feature space), it keeps
  smooth gradients (histogram matching of separate RGB channels shifts hues and posterises), and it needs no
  dependency beyond numpy (scikit-image is only a dev dependency here).

Without the WCT² weights, ``wct2`` raises ``MissingWeightsError`` (file, checksum, how to get it) unless
``allow_uncalibrated``: then ``reinhard`` runs and the result says ``calibrated=False``. WCT² never runs with random
weights (that would not be WCT²). ``reinhard`` by name also needs ``allow_uncalibrated``: it is not the paper's
method.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from core import weights
from core.errors import BenchError
from core.registry import Registry
from protocols.wct2 import WCT2, usable_labels

WCT2_ARTIFACTS = ("wct2_encoder_cat5", "wct2_decoder_cat5")
# Reinhard et al. 2001, Eq. 1 (RGB → LMS) and Eq. 6 (log LMS → lαβ); the inverse is computed, not the rounded Eq. 4.
_RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
_LOG_LMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [[1.0, 1.0, 1.0], [1.0, 1.0, -2.0], [1.0, -1.0, 0.0]])
_LMS_FLOOR = 1 / 255  # log10(0) is undefined; the paper is silent: one 8-bit step (our choice)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """RGB float [..., 3] in [0, 1] → Reinhard's lαβ [..., 3] (float64); LMS floored at ``_LMS_FLOOR``."""
    lms = np.maximum(rgb.astype(np.float64) @ _RGB_TO_LMS.T, _LMS_FLOOR)
    return np.log10(lms) @ _LOG_LMS_TO_LAB.T


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Reinhard's lαβ [..., 3] → RGB float64 [..., 3], not clipped (the exact inverse of ``rgb_to_lab`` above the
    floor)."""
    return (10.0 ** (lab @ np.linalg.inv(_LOG_LMS_TO_LAB).T)) @ np.linalg.inv(_RGB_TO_LMS).T


def _match_moments(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per channel of x [n, 3]: (x − μx)·σy/σx + μy (a constant channel only takes the new mean)."""
    mx, sx, my, sy = x.mean(0), x.std(0), y.mean(0), y.std(0)
    scale = np.divide(sy, sx, out=np.ones_like(sx), where=sx > 1e-12)
    return (x - mx) * scale + my


def reinhard_transfer(content: np.ndarray, style: np.ndarray, content_labels: np.ndarray | None = None,
                      style_labels: np.ndarray | None = None) -> np.ndarray:
    """Reinhard et al. 2001 colour transfer: content, style RGB float [H, W, 3] / [H', W', 3] in [0, 1] → RGB float64
    [H, W, 3], not clipped, whose lαβ mean and std per channel are the style's. With both label maps (int [H, W],
    [H', W']): per label that ``usable_labels`` accepts; the other pixels are left unchanged (as WCT² does)."""
    lab_c, lab_s = rgb_to_lab(content), rgb_to_lab(style)
    if content_labels is None or style_labels is None:
        out = _match_moments(lab_c.reshape(-1, 3), lab_s.reshape(-1, 3)).reshape(lab_c.shape)
    else:
        out = lab_c.copy()
        for label in usable_labels(content_labels, style_labels):
            where_c, where_s = content_labels == label, style_labels == label
            out[where_c] = _match_moments(lab_c[where_c], lab_s[where_s])
    return lab_to_rgb(out)


@dataclass(frozen=True)
class CorrectionResult:
    """``images`` uint8 [N, H, W, 3]; ``method`` the correction actually used; ``calibrated`` False when it is not
    the paper's (the substitute); ``settings`` for the protocol hash (implementation, weight checksums, notes)."""

    images: np.ndarray
    method: str
    calibrated: bool
    settings: dict[str, Any] = field(default_factory=dict)


class ColourCorrection:
    """A registered correction: ``correct`` maps one content/style pair (float RGB [H, W, 3] / [H', W', 3] in
    [0, 1], optional int label maps) to float RGB [H, W, 3]."""

    paper_method: ClassVar[bool] = False  # the method MSCA used ([46]); others need ``allow_uncalibrated``
    registry_name: ClassVar[str]

    def settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def correct(self, content: np.ndarray, style: np.ndarray, content_labels: np.ndarray | None,
                style_labels: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError


COLOUR_CORRECTIONS: Registry[type[ColourCorrection]] = Registry("colour correction")
SUBSTITUTE = "reinhard"  # what ``wct2`` falls back to under ``allow_uncalibrated`` when its weights are missing


@COLOUR_CORRECTIONS.register("reinhard")
class Reinhard(ColourCorrection):
    def settings(self) -> dict[str, Any]:
        return {"implementation": "reinhard2001_lalphabeta_moments", "lms_floor": _LMS_FLOOR, "weights_sha256": None,
                "segments": "usable_labels rule of WCT2 compute_label_info; others unchanged"}

    def correct(self, content: np.ndarray, style: np.ndarray, content_labels: np.ndarray | None,
                style_labels: np.ndarray | None) -> np.ndarray:
        return reinhard_transfer(content, style, content_labels, style_labels)


@functools.lru_cache(maxsize=2)
def _load(paths: tuple[str, ...], stamps: tuple[int, ...]) -> WCT2:
    del stamps  # part of the cache key only: a replaced file is loaded again
    model = WCT2()
    for part, path in zip((model.encoder, model.decoder), paths, strict=True):
        part.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return model.eval()


def load_wct2(allow_uncalibrated: bool) -> tuple[WCT2 | None, dict[str, str] | None]:
    """The WCT² network with the official cat5 checkpoints (loaded strictly) and their sha256 per artifact, or
    (None, None) when a file is missing and ``allow_uncalibrated``. Raises ``MissingWeightsError`` for a missing file
    without the opt-in, and for a file whose checksum does not match (always)."""
    paths = [weights.require(name, allow_uncalibrated) for name in WCT2_ARTIFACTS]
    if any(path is None for path in paths):
        return None, None
    found = [Path(path) for path in paths if path is not None]
    model = _load(tuple(str(p) for p in found), tuple(p.stat().st_mtime_ns for p in found))
    return model, {name: weights.digest_of(p) for name, p in zip(WCT2_ARTIFACTS, found, strict=True)}


def _pad8(x: torch.Tensor) -> torch.Tensor:
    """Reflection-pad the last two dims [..., H, W] up to multiples of 8 (bottom/right)."""
    h, w = x.shape[-2:]
    pad = (0, -w % 8, 0, -h % 8)
    if x.dtype == torch.int64:  # label maps: reflect through a float view (exact for ids below 2**24)
        return torch.nn.functional.pad(x[None, None].float(), pad, mode="reflect")[0, 0].long()
    return torch.nn.functional.pad(x, pad, mode="reflect")


@COLOUR_CORRECTIONS.register("wct2")
class Wct2(ColourCorrection):
    paper_method = True

    def __init__(self, model: WCT2, digests: dict[str, str]) -> None:
        self.model, self.digests = model, digests

    def settings(self) -> dict[str, Any]:
        return {"implementation": "wct2_cat5 (ours; clovaai/WCT2 22b16df transfer semantics)",
                "transfer_at": sorted(self.model.transfer_at), "alpha": self.model.alpha, "eps": self.model.eps,
                "resolution": "native, reflection-padded to a multiple of 8", "weights_sha256": dict(self.digests)}

    def correct(self, content: np.ndarray, style: np.ndarray, content_labels: np.ndarray | None,
                style_labels: np.ndarray | None) -> np.ndarray:
        h, w = content.shape[:2]
        c = _pad8(torch.from_numpy(content).permute(2, 0, 1)[None].float())
        s = _pad8(torch.from_numpy(style).permute(2, 0, 1)[None].float())
        lc = None if content_labels is None else _pad8(torch.from_numpy(content_labels.astype(np.int64)))
        ls = None if style_labels is None else _pad8(torch.from_numpy(style_labels.astype(np.int64)))
        out = self.model.transfer(c, s, lc, ls)
        return out[0, :, :h, :w].permute(1, 2, 0).double().numpy()


def _check(content: np.ndarray, style: np.ndarray, content_labels: np.ndarray | None,
           style_labels: np.ndarray | None) -> None:
    for what, image in (("content", content), ("style", style)):
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 4
                and image.shape[-1] == 3 and min(image.shape[1:3]) >= 8):
            raise BenchError(f"colour_correct: {what} must be uint8 [N, H, W, 3] with H, W >= 8, got "
                             f"{getattr(image, 'dtype', type(image).__name__)} {getattr(image, 'shape', '')}",
                             hint="pass images as a uint8 numpy array of shape [N, H, W, 3]")
    if len(content) != len(style):
        raise BenchError(f"colour_correct: {len(content)} content images but {len(style)} style images",
                         hint="pass one style image per content image")
    if (content_labels is None) != (style_labels is None):
        raise BenchError("colour_correct: segment-wise correction needs both label maps",
                         hint="pass content_labels and style_labels, or neither")
    for what, labels, image in (("content", content_labels, content), ("style", style_labels, style)):
        if labels is not None and (np.asarray(labels).shape != image.shape[:3]
                                   or not np.issubdtype(np.asarray(labels).dtype, np.integer)):
            raise BenchError(f"colour_correct: {what}_labels must be integer [N, H, W] = {image.shape[:3]}, got "
                             f"{np.asarray(labels).dtype} {np.asarray(labels).shape}",
                             hint="pass the class-id label map of each image at the image's size")


def colour_correct(content: np.ndarray, style: np.ndarray, method: str = "wct2", *, allow_uncalibrated: bool,
                   content_labels: np.ndarray | None = None,
                   style_labels: np.ndarray | None = None) -> CorrectionResult:
    """Colour-correct ``content`` toward ``style`` (uint8 [N, H, W, 3] each, H, W >= 8; style may have another
    size), per label segment when both label maps (integer [N, H, W]) are given. Returns uint8 [N, H, W, 3].

    Raises ``UnknownNameError`` for an unknown ``method``; ``MissingWeightsError`` when the WCT² weights are missing
    and not ``allow_uncalibrated`` (or do not match their checksum); ``BenchError`` for malformed input and for the
    substitute named without ``allow_uncalibrated``."""
    _check(content, style, content_labels, style_labels)
    kind = COLOUR_CORRECTIONS.get(method)
    settings: dict[str, Any]
    if kind is Wct2:
        model, digests = load_wct2(allow_uncalibrated)
        if model is None or digests is None:
            correction: ColourCorrection = Reinhard()
            settings = {**correction.settings(), "substitute_for": "wct2",
                        "note": "WCT² weights missing: Reinhard et al. 2001 used instead (allow_uncalibrated)"}
        else:
            correction = Wct2(model, digests)
            settings = correction.settings()
    elif not kind.paper_method and not allow_uncalibrated:
        raise BenchError(f"colour correction {method!r} is not the paper's method (WCT², MSCA [46])",
                         hint="use method='wct2', or pass allow_uncalibrated=True (results are marked uncalibrated)")
    else:
        correction = kind()
        settings = correction.settings()
    segmented = content_labels is not None and style_labels is not None
    images = np.empty_like(content)
    for i in range(len(content)):
        out = correction.correct(content[i] / 255.0, style[i] / 255.0,
                                 content_labels[i] if segmented else None,  # type: ignore[index]
                                 style_labels[i] if segmented else None)  # type: ignore[index]
        images[i] = np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
    name = correction.registry_name
    return CorrectionResult(images=images, method=name, calibrated=correction.paper_method,
                            settings={**settings, "method": name, "segment_wise": segmented})
