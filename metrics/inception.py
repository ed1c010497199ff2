"""FID Inception features (pytorch-fid's port of the TF ``inception-2015-12-05`` graph), batched, with a disk cache
for reference sets.

Pipeline (pinned, part of the protocol hash): RGB float in [0,1] → optional 8-bit quantisation (round(x·255)/255,
what saving a PNG and reading it back with pytorch-fid does) → pytorch-fid ``InceptionV3``: bilinear resize to
299×299 (``align_corners=False``), scale to [-1,1], pool3 features (2048-d by default). Features come out float32;
statistics are computed in float64.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from core import features
from metrics.base import MetricInputError, as_batches, check_unit_range, exact_matmul, resolve_device
from metrics.cache import ArrayCache, tensor_content_hash

Images = torch.Tensor | Sequence[torch.Tensor]


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@dataclass
class ReferenceFeatures:
    """Features of a reference set, their statistics, and where they came from."""

    features: np.ndarray  # [N, dims] float32 (the network's own precision)
    mu: np.ndarray  # [dims] float64
    sigma: np.ndarray  # [dims, dims] float64
    data_hash: str
    from_cache: bool


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (ddof=1, as pytorch-fid) in float64."""
    feats = np.asarray(features, dtype=np.float64)
    if feats.shape[0] < 2:
        raise MetricInputError(f"FID/KID need at least 2 images per set for a covariance, got {feats.shape[0]}",
                               hint="give both sets at least 2 images (FID is only meaningful from thousands)")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


class InceptionFeatures:
    """Batched, device-aware pool3 (or 64/192/768-d) features from pytorch-fid's InceptionV3."""

    def __init__(self, dims: int = 2048, allow_uncalibrated: bool = False, quantize: bool = True,
                 batch_size: int = 50, device: str | torch.device | None = None, seed: int = 0) -> None:
        self.dims, self.quantize, self.batch_size, self.seed = dims, quantize, batch_size, seed
        self.device = resolve_device(device)
        # channels-last convolutions run ~1.5× faster on CPU (oneDNN); values differ from the default layout by
        # float32 round-off only (~1e-6 relative), like a different batch size or device would.
        self.network = features.get("fid_inception", dims=dims, allow_uncalibrated=allow_uncalibrated, seed=seed,
                                    device=self.device, channels_last=True)

    @property
    def calibrated(self) -> bool:
        return self.network.calibrated

    def settings(self) -> dict[str, Any]:
        return {
            "extractor": self.network.network,
            "pytorch_fid_version": package_version("pytorch-fid"),
            "weights_sha256": self.network.checksum,
            "calibrated": self.network.calibrated,
            "dims": self.dims,
            "input": "RGB float [0,1]; grayscale repeated to 3 channels",
            "quantize": "round to 8 bit (x*255) before features" if self.quantize else "none (float input)",
            "resize": "bilinear 299x299, align_corners=False, no antialias (inside pytorch-fid InceptionV3)",
            "normalise": "2x-1 (inside pytorch-fid InceptionV3)",
        }

    def _prepare(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.shape[1] == 1:
            batch = batch.expand(-1, 3, -1, -1)
        if batch.shape[1] != 3:
            raise MetricInputError(f"FID Inception needs RGB images, got {batch.shape[1]} channels",
                                   hint="give [N,3,H,W] RGB (or [N,1,H,W] grayscale) images")
        check_unit_range(batch)
        batch = batch.to(self.device, torch.float32)
        if self.quantize:
            batch = torch.round(batch * 255) / 255
        return batch.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def features(self, images: Images) -> np.ndarray:
        """[N, dims] float32 features."""
        chunks = []
        with exact_matmul():
            for batch in as_batches(images, self.batch_size):
                out = self.network(self._prepare(batch))[0]
                if out.shape[-1] != 1 or out.shape[-2] != 1:  # the 64/192/768-d blocks are spatial maps
                    out = torch.nn.functional.adaptive_avg_pool2d(out, 1)
                chunks.append(out.flatten(1).to("cpu", torch.float32).contiguous().numpy())
        if not chunks:
            raise MetricInputError("FID/KID: no images given", hint="give at least 2 images per set")
        return np.concatenate(chunks)

    def content_hash(self, images: Images) -> str:
        return tensor_content_hash(as_batches(images, self.batch_size), quantize=self.quantize)

    def reference(self, images: Images, cache: ArrayCache | None, protocol_hash: str,
                  data_hash: str | None = None) -> ReferenceFeatures:
        """Features and statistics of a reference set, read from / written to ``cache`` when given.

        ``data_hash`` lets callers that already know a content hash (e.g. file bytes of a folder) skip hashing.
        """
        data_hash = data_hash or self.content_hash(images)
        if cache is not None:
            hit = cache.load(data_hash, protocol_hash)
            if hit is not None and {"features", "mu", "sigma"} <= hit.keys():
                return ReferenceFeatures(hit["features"], hit["mu"], hit["sigma"], data_hash, True)
        feats = self.features(images)
        mu, sigma = gaussian_statistics(feats)
        if cache is not None:
            cache.save(data_hash, protocol_hash, features=feats, mu=mu, sigma=sigma)
        return ReferenceFeatures(feats, mu, sigma, data_hash, False)
