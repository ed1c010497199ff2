"""BicycleGAN: the exemplar goes through E's mean; the latent regression updates G only; official sizes/reductions."""

from __future__ import annotations

import pytest
import torch

from core.errors import BenchError
from methods import create_method
from methods.bicyclegan import kl_divergence
from methods.bicyclegan.networks import ResNetEncoder
from methods.common.discriminators import MultiScalePatchDiscriminator
from methods.common.unet import UnetGenerator

TINY = {"ngf": 4, "nef": 4, "ndf": 4, "num_downs": 5, "e_blocks": 3, "n_layers_d": 2, "batch_size": 2,
        "steps": 2, "decay_steps": 1, "load_size": None, "crop_size": None, "test_size": None}


def images(n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_paper_networks_have_the_official_parameter_counts() -> None:
    # measured by building junyanz/BicycleGAN's define_G/E/D (edges2shoes options, 3 input channels) locally
    with torch.device("meta"):
        g = UnetGenerator(3, 3, 8, 64, "instance", True, nz=8, where_add="all", bias=True)
        e = ResNetEncoder(3, 8, 64, 5, "instance")
        d = MultiScalePatchDiscriminator(3, 64, 3, "instance", 2)
    counts = [sum(p.numel() for p in net.parameters()) for net in (g, e, d)]
    assert counts == [54_794_627, 2_590_032, 3_458_978]


def test_exemplar_is_encoded_through_the_encoder_mean() -> None:
    method = create_method("bicyclegan", **TINY)
    x, ex = images(2), images(2, seed=1)
    out = method.translate(x, ex, seed=0)
    with torch.no_grad():
        mu, _ = method.E(ex * 2 - 1)
        expected = ((method.G(x * 2 - 1, mu) + 1) / 2).clamp(0, 1)
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.equal(out, method.translate(x, ex, seed=7))  # the mean, not a sample: the seed plays no part
    assert not torch.allclose(method.translate(x, None, seed=0), method.translate(x, None, seed=1))


def test_latent_regression_updates_the_generator_but_not_the_encoder() -> None:
    zeros = {"lambda_gan": 0.0, "lambda_gan2": 0.0, "lambda_l1": 0.0, "lambda_kl": 0.0}
    method = create_method("bicyclegan", **TINY, **zeros, lambda_z=0.5)
    e_before = [p.clone() for p in method.E.parameters()]
    g_before = [p.clone() for p in method.G.parameters()]
    method._train_step(images(2) * 2 - 1, images(2, seed=1) * 2 - 1)
    assert all(torch.equal(a, b) for a, b in zip(e_before, method.E.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, method.G.parameters(), strict=True))


def test_kl_is_summed_like_the_official_code() -> None:
    mu, logvar = torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[0.0, 1.0], [0.5, 0.0]])
    manual = sum(-0.5 * (1 + lv - m**2 - torch.exp(lv)) for m, lv in zip(mu.flatten(), logvar.flatten(), strict=True))
    assert torch.isclose(kl_divergence(mu, logvar), manual)


def test_odd_batches_are_refused() -> None:
    with pytest.raises(BenchError, match="even batch_size"):
        create_method("bicyclegan", **{**TINY, "batch_size": 3})
