"""SIFT Flow (Liu, Yuen & Torralba, TPAMI 33(5), 2011): dense SIFT descriptors matched by a coarse-to-fine
discrete flow with data, small-displacement and smoothness terms. A reusable matcher: the coco_stuff_scenes
protocol ranks retrieval candidates by ``data_energy``; SEGIN's matching ablation warps with ``warped``.

Objective (paper Eq. 3), for the flow w(p) = (u(p), v(p)) of target pixel p into the source:

    E(w) = Σ_p min(‖s_t(p) − s_s(p + w(p))‖₁, t) + η Σ_p (|u(p)| + |v(p)|)
           + Σ_{(p,q) 4-neighbours} min(α|u(p) − u(q)|, d) + min(α|v(p) − v(q)|, d)

minimised by dual-layer loopy BP (u and v decoupled, §3.3; ``siftflow_bp``) on a pyramid of SIFT images: the
coarsest level searches a ``topwsize`` window around zero, each finer level a small window around twice the
upsampled coarser flow. Parameters and every step the paper leaves to code follow the authors' Matlab/C++ release
(``SIFTflowc2f.m``, ``BPFlow.cpp``, ``ImageFeature.h``, its demo); our deviations are named where they occur:
the descriptor (OpenCV's, see ``dense_sift``), the BP schedule (synchronous, no multigrid start; see
``siftflow_bp.dual_layer_bp``), the pyramid's downsampling (``_pyramid``) and the exact median for outside matches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from core.errors import BenchError
from methods.common.siftflow_bp import data_term, dual_layer_bp, objective

DESCRIPTOR = "opencv SIFT (upright, 4x4 cells x 8 bins, cell 3 px) at every pixel, rescaled to L2 norm 255"


@dataclass(frozen=True)
class SiftFlowParams:
    """SIFT Flow's parameters; defaults are the authors' release demo (``demo.m``: ``alpha=2*255``, ``d=40*255``,
    ``gamma=0.005*255``, ``nlevels=4``, ``wsize=2``, ``topwsize=10``, ``nTopIterations=60``, ``nIterations=30``,
    ``cellsize=3``), i.e. the paper's α = 2, d = 40, η = 0.005 for descriptors scaled to [0, 1], scaled by 255 for
    descriptors quantised to [0, 255] as here.

    - ``alpha``: smoothness weight per pixel of flow difference; ``d``: its truncation (data-term units).
    - ``eta``: small-displacement weight per pixel of flow at the finest level; level i (0 = finest) uses
      ``eta * 2**i`` since one of its pixels spans 2**i finest pixels (``SIFTflowc2f.m``: ``gamma*2^(i-1)``).
    - ``data_threshold``: the paper's t on the L1 descriptor distance; ``None`` = untruncated, the release's default.
    - ``nlevels``: pyramid levels; ``wsize``: search half-window at the finest level, level i uses ``wsize + i``
      (``SIFTflowc2f.m``: ``wsize+i-1``, 1-based); ``topwsize``: half-window at the coarsest level, centred on 0.
    - ``top_iterations`` / ``iterations``: BP iterations at the coarsest / every other level.
    - ``cell_size``: SIFT cell width in pixels (the release's ``cellsize``; descriptor support 4 cells).
    """

    alpha: float = 2 * 255
    d: float = 40 * 255
    eta: float = 0.005 * 255
    data_threshold: float | None = None
    nlevels: int = 4
    wsize: int = 2
    topwsize: int = 10
    top_iterations: int = 60
    iterations: int = 30
    cell_size: int = 3

    def __post_init__(self) -> None:
        for name in ("alpha", "d", "eta"):
            if not float(getattr(self, name)) >= 0:
                raise BenchError(f"SIFT Flow {name} must be >= 0, got {getattr(self, name)}",
                                 hint=f"the release's default is {getattr(SiftFlowParams, name)}")
        if self.data_threshold is not None and not float(self.data_threshold) > 0:
            raise BenchError(f"SIFT Flow data_threshold must be > 0 or None, got {self.data_threshold}",
                             hint="None leaves the data term untruncated (the release's default)")
        for name in ("nlevels", "topwsize", "top_iterations", "iterations", "cell_size"):
            if int(getattr(self, name)) < 1:
                raise BenchError(f"SIFT Flow {name} must be >= 1, got {getattr(self, name)}",
                                 hint=f"the release's default is {getattr(SiftFlowParams, name)}")
        if int(self.wsize) < 0:
            raise BenchError(f"SIFT Flow wsize must be >= 0, got {self.wsize}", hint="the release's default is 2")

    def settings(self) -> dict[str, Any]:
        """Everything that determines the output, for protocol hashes."""
        return {"implementation": "harness dual-layer BP, synchronous schedule", "descriptor": DESCRIPTOR,
                **asdict(self)}


@dataclass
class SiftFlowResult:
    """What ``sift_flow`` returns.

    - ``flow``: float32 [H, W, 2] (u, v), integer-valued, in pixels: target pixel (x, y) matches source pixel
      (x + u, y + v).
    - ``energy``: the objective (module docstring) at ``flow`` on the finest level, summed over pixels.
    - ``data_energy``: its data term divided by H·W (mean L1 descriptor distance, descriptors in [0, 255]).
    - ``warped``: uint8 [H, W, C], the source sampled at (x + u, y + v), coordinates clamped to the image.
    - ``outside_cost``: the data cost of a match outside the source at the finest level (the median of the
      in-image candidate costs, the release's rule), needed to evaluate ``flow_energy`` on other flows.
    """

    flow: np.ndarray
    energy: float
    data_energy: float
    warped: np.ndarray
    outside_cost: float


def _check_image(image: np.ndarray, name: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) or (
            image.ndim == 3 and image.shape[2] not in (1, 3)):
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise BenchError(f"SIFT Flow {name} must be a uint8 [H,W,3] or [H,W] array, got {got}",
                         hint="convert with (np.clip(x, 0, 1) * 255).round().astype(np.uint8), channels last")


@lru_cache(maxsize=8)
def _grid(height: int, width: int, size: float) -> tuple[cv2.KeyPoint, ...]:
    return tuple(cv2.KeyPoint(float(x), float(y), size, 0.0) for y in range(height) for x in range(width))


def dense_sift(image: np.ndarray, cell_size: int = 3) -> np.ndarray:
    """One 128-d SIFT descriptor per pixel: float32 [H, W, 128], values integers in [0, 255], L2 norm ≈ 255
    (0 where the patch is flat).

    ``image``: uint8 [H, W, 3] (RGB) or [H, W]. The descriptor is OpenCV's SIFT (``cv2.SIFT_create().compute``) on
    a keypoint at every pixel, upright (angle 0), sized so one cell is ``cell_size`` pixels (OpenCV's cell width is
    3·size/2), i.e. the paper's dense SIFT: 4×4 cells × 8 orientations around each pixel, no rotation or scale
    invariance, cell 3 px (release ``mexDenseSIFT(im, cellsize=3, gridspacing=1)``). Why OpenCV and not our own
    port of the release's ``ImageFeature::imSIFT``: it is the maintained reference SIFT (trilinear binning,
    Gaussian window, 0.2 clipping); scikit-image has no SIFT on given keypoints. Differences from the release,
    accepted: grey input (the release takes the strongest channel's gradient), OpenCV's σ = 1.6 scale-space blur
    before the gradients, and its 0.2 clipping. Quantisation as the release: OpenCV returns the unit descriptor
    × 512 rounded; we rescale to × 255 and round, so ‖s‖₂ ≈ 255 and the release's α, d, η apply unchanged.
    Raises ``BenchError`` for a non-uint8 or wrongly shaped image.
    """
    _check_image(image, "image")
    grey = image if image.ndim == 2 else (image[..., 0] if image.shape[2] == 1 else
                                          cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY))
    height, width = grey.shape
    keypoints = _grid(height, width, 2.0 * cell_size / 3.0)
    found, descriptors = cv2.SIFT_create().compute(np.ascontiguousarray(grey), keypoints)
    if descriptors is None or len(found) != height * width:
        raise RuntimeError(f"OpenCV SIFT kept {len(found)} of {height * width} dense keypoints")
    return np.round(descriptors * (255.0 / 512.0)).astype(np.float32).reshape(height, width, 128)


def _pyramid(sift: np.ndarray, nlevels: int) -> list[np.ndarray]:
    """Finest first. Each level: 5×5 Gaussian, σ = 0.67, replicated border (``SIFTflowc2f.m``), then halved
    (ceil) by 2×2 area averaging; the release halves with Matlab's antialiased bicubic ``imresize``."""
    levels = [sift]
    for _ in range(1, nlevels):
        prev = cv2.GaussianBlur(levels[-1], (5, 5), 0.67, borderType=cv2.BORDER_REPLICATE)
        size = ((prev.shape[1] + 1) // 2, (prev.shape[0] + 1) // 2)
        levels.append(cv2.resize(prev, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1))
    return levels


def _resolve(params: SiftFlowParams | None, overrides: dict[str, Any]) -> SiftFlowParams:
    names = {f.name for f in fields(SiftFlowParams)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise BenchError(f"unknown SIFT Flow parameters {unknown}", hint=f"valid: {', '.join(sorted(names))}")
    base = asdict(params) if params is not None else {}
    return SiftFlowParams(**{**base, **overrides})


def _warp(source: np.ndarray, flow: np.ndarray) -> np.ndarray:
    height, width = flow.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    yy = np.clip(ys + flow[..., 1].astype(np.int64), 0, source.shape[0] - 1)
    xx = np.clip(xs + flow[..., 0].astype(np.int64), 0, source.shape[1] - 1)
    return source[yy, xx]


def sift_flow(source: np.ndarray, target: np.ndarray, params: SiftFlowParams | None = None,
              **overrides: Any) -> SiftFlowResult:
    """SIFT Flow from ``target`` into ``source`` (both uint8 [H, W, 3] or [H, W], same size): see
    ``SiftFlowResult``. Parameters: ``params`` and/or keyword overrides of ``SiftFlowParams`` fields.

    Coarse-to-fine as ``SIFTflowc2f.m``: SIFT images of both, a pyramid of ``nlevels``; at the coarsest level every
    pixel searches ``[-topwsize, topwsize]²`` for ``top_iterations`` BP iterations; at level i the window is
    ``wsize + i`` around ``round(2 · bicubic-upsampled coarser flow)`` for ``iterations``; α and d are the same at
    every level. Raises ``BenchError`` for bad images, sizes the pyramid cannot halve, or unknown parameters.
    """
    p = _resolve(params, overrides)
    _check_image(source, "source")
    _check_image(target, "target")
    if source.shape[:2] != target.shape[:2]:
        raise BenchError(f"SIFT Flow needs images of one size, got source {source.shape} and target {target.shape}",
                         hint="resize one of them (cv2.resize) to the other's size first")
    height, width = target.shape[:2]
    if min(height, width) < 2 ** (p.nlevels - 1) * 2:
        raise BenchError(f"a {height}x{width} image is too small for {p.nlevels} SIFT Flow pyramid levels",
                         hint=f"use nlevels <= {max(int(np.log2(min(height, width) / 2)) + 1, 1)} or larger images")
    pyr_t = _pyramid(dense_sift(target, p.cell_size), p.nlevels)
    pyr_s = _pyramid(dense_sift(source, p.cell_size), p.nlevels)
    flow = np.zeros((2, *pyr_t[-1].shape[:2]), np.int64)
    for level in range(p.nlevels - 1, -1, -1):
        h, w_ = pyr_t[level].shape[:2]
        if level == p.nlevels - 1:
            offsets, window, iterations = flow, p.topwsize, p.top_iterations
        else:
            up = cv2.resize(flow.transpose(1, 2, 0).astype(np.float32), (w_, h), interpolation=cv2.INTER_CUBIC)
            offsets = np.round(2 * up).astype(np.int64).transpose(2, 0, 1)
            window, iterations = p.wsize + level, p.iterations
        costs, outside = data_term(pyr_t[level], pyr_s[level], offsets, window, p.data_threshold)
        best = dual_layer_bp(costs, offsets, window, p.alpha, p.d, p.eta * 2 ** level, iterations)
        flow = offsets + best.labels - window
    uv = flow.transpose(1, 2, 0).astype(np.float32)
    return SiftFlowResult(flow=uv, energy=best.energy, data_energy=best.data_sum / (height * width),
                          warped=_warp(source, uv), outside_cost=outside)


def flow_energy(source: np.ndarray, target: np.ndarray, flow: np.ndarray, outside_cost: float,
                params: SiftFlowParams | None = None, **overrides: Any) -> tuple[float, float]:
    """The objective at any integer flow [H, W, 2] (u, v) on the finest level: (total, data term mean per pixel).

    Matches outside the source cost ``outside_cost`` (take ``SiftFlowResult.outside_cost`` to compare with a
    ``sift_flow`` result; its ``energy`` equals ``flow_energy`` at its ``flow``). Raises ``BenchError`` as
    ``sift_flow``, or when ``flow`` is not [H, W, 2] integer-valued.
    """
    p = _resolve(params, overrides)
    _check_image(source, "source")
    _check_image(target, "target")
    height, width = target.shape[:2]
    if flow.shape != (height, width, 2) or not np.array_equal(flow, np.round(flow)):
        raise BenchError(f"flow must be integer-valued [{height},{width},2], got {flow.shape}",
                         hint="round the flow (np.round) to whole pixels")
    s_t, s_s = dense_sift(target, p.cell_size), dense_sift(source, p.cell_size)
    offsets = flow.transpose(2, 0, 1).astype(np.int64)
    costs, _ = data_term(s_t, s_s, offsets, 0, p.data_threshold)
    inside = ((np.arange(height)[:, None] + offsets[1] >= 0) & (np.arange(height)[:, None] + offsets[1] < height)
              & (np.arange(width) + offsets[0] >= 0) & (np.arange(width) + offsets[0] < width))
    costs[~inside] = outside_cost
    total, data_sum = objective(costs, offsets, 0, np.zeros_like(offsets), p.alpha, p.d, p.eta)
    return total, data_sum / (height * width)
