"""The protocol kit's ``fid.save_format`` (CoCosNet issue #19): outputs round-tripped through JPEG before FID give
another FID than PNG on the same images, and the format is part of the settings a protocol hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.errors import BenchError
from core.hashing import settings_hash
from metrics import create_metric
from protocols.kit import FidOutputs


def images(n: int, seed: int) -> torch.Tensor:
    small = torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(small, size=(64, 64), mode="bicubic", align_corners=False).clamp(0, 1)


def test_jpeg_and_png_fid_differ_and_the_hash_records_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "c"))
    jpeg, rest = FidOutputs.split({"save_format": "jpeg", "dims": 64, "kid_subsets": 5})
    png, _ = FidOutputs.split({"save_format": "png"})
    assert rest == {"dims": 64, "kid_subsets": 5}
    fid = create_metric("fid", allow_uncalibrated=True, device="cpu", **rest)
    fake, real = images(8, 0), images(8, 1)
    fid_png, fid_jpeg = fid(png(fake), real).value, fid(jpeg(fake), real).value
    assert abs(fid_jpeg - fid_png) > 1e-3 * abs(fid_png), (fid_jpeg, fid_png)
    assert settings_hash({"fid": fid.settings(), "fid_outputs": jpeg.settings()}) != settings_hash(
        {"fid": fid.settings(), "fid_outputs": png.settings()})
    assert FidOutputs.split({}, default="jpeg")[0] == FidOutputs("jpeg", 75)  # a protocol's default
    assert FidOutputs.split({"jpeg_quality": 90}, default="jpeg")[0].settings()["jpeg_quality"] == 90


def test_an_unknown_format_is_refused_with_the_setting_to_use() -> None:
    with pytest.raises(BenchError, match="unknown save format") as err:
        FidOutputs.split({"save_format": "gif"})
    assert "fid.save_format" in str(err.value.hint)
