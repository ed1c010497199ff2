"""pix2pix / pix2pix_noise: the U-Net's layout against the official one, the paper's test mode, the noise input."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from core.errors import BenchError
from datasets.base import TensorImageSet, TrainData
from methods import FitContext, create_method
from methods.common.discriminators import PatchDiscriminator
from methods.common.unet import UnetGenerator

TINY = {"ngf": 4, "ndf": 4, "num_downs": 5, "n_layers_d": 2, "batch_size": 2, "steps": 3, "decay_steps": 1,
        "load_size": None, "crop_size": None, "flip": False, "test_size": None, "checkpoint_every": 0}


def images(n: int = 4, size: int = 28, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_paper_networks_have_the_official_parameter_counts() -> None:
    # measured by building junyanz/pytorch-CycleGAN-and-pix2pix's unet_256 and basic D (BatchNorm) locally
    with torch.device("meta"):
        g = UnetGenerator(3, 3, num_downs=8, ngf=64, norm="batch", use_dropout=True)
        d = PatchDiscriminator(6, 64, 3, norm="batch")
    assert sum(p.numel() for p in g.parameters()) == 54_413_955
    assert sum(p.numel() for p in d.parameters()) == 2_768_705


@pytest.mark.parametrize(("num_downs", "dropouts"), [(8, 3), (7, 2), (5, 0)])
def test_dropout_sits_where_unet_256_and_unet_128_put_it(num_downs: int, dropouts: int) -> None:
    with torch.device("meta"):
        g = UnetGenerator(num_downs=num_downs, ngf=4)
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == dropouts


@pytest.mark.parametrize("size", [28, 30, 32])
def test_unet_pads_any_size_and_crops_back(size: int) -> None:
    g = UnetGenerator(num_downs=5, ngf=4).eval()
    assert g(torch.zeros(1, 3, size, size)).shape == (1, 3, size, size)


def test_paper_test_mode_uses_per_image_statistics_and_keeps_running_stats() -> None:
    method = create_method("pix2pix", **{**TINY, "num_downs": 6})  # 6 levels: one dropout level
    x = images(3)
    running = [m.running_mean.clone() for m in method.G.modules() if isinstance(m, nn.BatchNorm2d)]
    together = method.translate(x, None, seed=3)
    alone = method.translate(x[:1], None, seed=3)
    assert torch.allclose(together[:1], alone, atol=1e-6)  # batch statistics of one image, as at batch size 1
    after = [m.running_mean for m in method.G.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(running, after, strict=True))
    assert not torch.equal(method.translate(x, None, seed=4), together)  # test-time dropout follows the seed


def test_pix2pix_ignores_the_exemplar_and_noise_variant_follows_the_seed() -> None:
    x = images(2)
    plain = create_method("pix2pix", **{**TINY, "test_mode": "eval"})
    assert torch.equal(plain.translate(x, images(2, seed=1), seed=0), plain.translate(x, None, seed=5))
    noisy = create_method("pix2pix_noise", **{**TINY, "test_mode": "eval"})
    assert noisy.G.nz == 8
    first, again = noisy.translate(x, None, seed=0), noisy.translate(x, None, seed=0)
    assert torch.equal(first, again)
    assert not torch.allclose(first, noisy.translate(x, None, seed=1))


def test_refuses_unpaired_data_and_the_reverse_direction(tmp_path: Path) -> None:
    method = create_method("pix2pix", **TINY)
    data = TrainData(TensorImageSet(images()), TensorImageSet(images(seed=1)), kind="unpaired")
    with pytest.raises(BenchError, match="paired"):
        method.fit(data, FitContext(workdir=tmp_path, progress=False))
    with pytest.raises(BenchError, match="A→B only"):
        method.translate(images(1), None, direction="BA")
    with pytest.raises(BenchError, match="unknown pix2pix parameters"):
        create_method("pix2pix", lambda_L1=10)
