"""Writing outputs as image files and reading them back, in memory: what a paper's evaluation did to its outputs
before scoring them.

CoCosNet's FIDs were computed on outputs saved as JPEG (microsoft/CoCosNet issue #19: saving ``.jpg`` reproduces the
paper's CelebA-HQ FID 14.3, PNG gives 16.95; reference notes official-implementations.md §4e and §9). Its ``test.py
--save_per_img`` writes each output with ``torchvision.utils.save_image`` under the input's file name (``.jpg`` for
ADE20k, CelebA-HQ and DeepFashion): 8-bit by ``x·255 + 0.5`` truncated, then Pillow's JPEG encoder with its
defaults (quality 75, 4:2:0 chroma subsampling). PNG is lossless: its round trip is the 8-bit quantisation alone.
"""

from __future__ import annotations

import io

import numpy as np
import PIL
import torch
from PIL import Image

from metrics.base import MetricInputError, check_unit_range

SAVE_FORMATS = ("png", "jpeg")
PIL_DEFAULT_JPEG_QUALITY = 75  # Pillow's default: torchvision's save_image passes no quality


def codec_settings(save_format: str, jpeg_quality: int = PIL_DEFAULT_JPEG_QUALITY) -> dict[str, object]:
    """The settings that determine ``codec_roundtrip``'s result (for a protocol hash). Raises ``MetricInputError``
    for an unknown format or a quality outside 1..95."""
    if save_format not in SAVE_FORMATS:
        raise MetricInputError(f"unknown save format {save_format!r}; valid: {', '.join(SAVE_FORMATS)}",
                               hint="fid.save_format=jpeg (CoCosNet's outputs, issue #19) or png")
    if save_format == "png":
        return {"save_format": "png", "quantise": "x*255+0.5 truncated (torchvision save_image)"}
    if not 1 <= int(jpeg_quality) <= 95:
        raise MetricInputError(f"JPEG quality {jpeg_quality} outside 1..95",
                               hint=f"fid.jpeg_quality={PIL_DEFAULT_JPEG_QUALITY} (Pillow's default)")
    return {"save_format": "jpeg", "jpeg_quality": int(jpeg_quality), "chroma_subsampling": "4:2:0",
            "quantise": "x*255+0.5 truncated (torchvision save_image)", "codec": f"Pillow {PIL.__version__}"}


def codec_roundtrip(images: torch.Tensor, save_format: str, jpeg_quality: int = PIL_DEFAULT_JPEG_QUALITY
                    ) -> torch.Tensor:
    """float32 [N,3,H,W] in [0,1]: ``images`` (float [N,3,H,W] in [0,1], or uint8 as saved) written as
    ``save_format`` files in memory and decoded again, as a saved-then-scored output would be."""
    codec_settings(save_format, jpeg_quality)
    if images.ndim != 4 or images.shape[1] != 3:
        raise MetricInputError(f"expected RGB images [N,3,H,W], got shape {tuple(images.shape)}",
                               hint="give RGB images stacked as [N,3,H,W]")
    if images.dtype != torch.uint8:
        check_unit_range(images)
        images = (images.detach().cpu().float() * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    out = []
    for array in images.cpu().permute(0, 2, 3, 1).numpy():
        buffer = io.BytesIO()
        if save_format == "jpeg":
            Image.fromarray(array).save(buffer, format="JPEG", quality=int(jpeg_quality))
        else:
            Image.fromarray(array).save(buffer, format="PNG")
        buffer.seek(0)
        out.append(np.asarray(Image.open(buffer).convert("RGB")))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255.0
