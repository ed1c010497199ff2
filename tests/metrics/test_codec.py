"""The save-format round trip (CoCosNet issue #19: outputs saved as JPEG before FID): PNG is the 8-bit quantisation
of torchvision's ``save_image`` and nothing else, JPEG is Pillow's encoder at the given quality, checked against
Pillow called directly."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from metrics.base import MetricInputError
from metrics.codec import codec_roundtrip, codec_settings

from .conftest import smooth_images


def test_png_is_the_save_image_quantisation_and_jpeg_is_pillow_at_that_quality() -> None:
    images = smooth_images(2, size=32, seed=0)
    eight_bit = (images * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    assert torch.equal(codec_roundtrip(images, "png"), eight_bit.float() / 255)
    jpeg = codec_roundtrip(images, "jpeg", 75)
    buffer = io.BytesIO()
    Image.fromarray(eight_bit[1].permute(1, 2, 0).numpy()).save(buffer, format="JPEG")  # Pillow defaults
    buffer.seek(0)
    direct = torch.from_numpy(np.array(Image.open(buffer))).permute(2, 0, 1).float() / 255
    assert torch.equal(jpeg[1], direct)
    assert 0 < (jpeg - eight_bit.float() / 255).abs().mean() < 0.05  # lossy, but close
    assert not torch.equal(codec_roundtrip(images, "jpeg", 95), jpeg)
    assert torch.equal(codec_roundtrip(eight_bit, "jpeg"), jpeg)  # uint8 input is taken as saved


def test_settings_and_refusals() -> None:
    assert codec_settings("jpeg")["jpeg_quality"] == 75 and "jpeg_quality" not in codec_settings("png")
    with pytest.raises(MetricInputError, match="unknown save format") as err:
        codec_settings("webp")
    assert "fid.save_format=jpeg" in str(err.value.hint)
    with pytest.raises(MetricInputError, match=r"outside 1\.\.95"):
        codec_settings("jpeg", 100)
