"""methods/common/paired.py and the shared SPADE training pieces of methods/common/spade_losses.py."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.errors import BenchError, NonFiniteError
from methods.common.paired import adam_pair, generated_image, labelmap_batch, labelmap_input, optimise
from methods.common.spade_losses import generator_losses, hinge_d, hinge_d_step, hinge_g, perceptual_net

P = {"beta1": 0.0, "beta2": 0.9, "steps": 4, "decay_steps": 2, "load_size": None, "crop_size": 8, "flip": False}


def test_adam_pair_holds_then_decays_both_rates() -> None:
    g, d = nn.Linear(2, 2), nn.Linear(2, 2)
    opt_g, opt_d, sched_g, sched_d = adam_pair(g.parameters(), d.parameters(), P, 1e-4, 4e-4, eps_g=1e-6)
    assert opt_g.defaults["betas"] == (0.0, 0.9) and opt_g.defaults["eps"] == 1e-6 and opt_d.defaults["eps"] == 1e-8
    rates = []
    for _ in range(4):
        rates.append((opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"]))
        opt_g.step(), opt_d.step(), sched_g.step(), sched_d.step()
    lr_g = [r[0] for r in rates]
    assert lr_g[:2] == [1e-4, 1e-4] and lr_g[3] < 1e-4 and lr_g == sorted(lr_g, reverse=True)
    assert all(abs(d_ - 4 * g_) < 1e-12 for g_, d_ in rates)


def test_optimise_steps_on_fresh_gradients() -> None:
    w = nn.Parameter(torch.tensor([1.0]))
    opt = torch.optim.SGD([w], lr=0.5)
    w.grad = torch.tensor([100.0])  # stale: must be cleared, not accumulated
    optimise(opt, (w * 2).sum())
    assert w.item() == 0.0  # 1 − 0.5·2


def test_labelmap_input_and_output() -> None:
    seg = torch.zeros(2, 3, 4, 6)
    seg[:, 1] = 1
    out, size = labelmap_input("m", "AB", seg, 8, torch.device("cpu"))
    assert out.shape == (2, 3, 8, 8) and size == (4, 6) and torch.equal(out[:, 1], torch.ones(2, 8, 8))
    with pytest.raises(BenchError, match="m maps label maps to images; it cannot translate BA"):
        labelmap_input("m", "BA", seg, 8, torch.device("cpu"))
    image = generated_image("m", torch.full((2, 3, 8, 8), -1.0), size)
    assert image.shape == (2, 3, 4, 6) and image.max() == 0
    with pytest.raises(NonFiniteError):
        generated_image("m", torch.full((1, 3, 8, 8), float("nan")), size)


def test_labelmap_batch_maps_images_to_signed_range_at_crop_size() -> None:
    seg, image = labelmap_batch(torch.ones(1, 2, 4, 4), torch.ones(1, 3, 4, 4), P, 0, 0, torch.device("cpu"))
    assert seg.shape == (1, 2, 8, 8) and image.shape == (1, 3, 8, 8) and torch.equal(image, torch.ones(1, 3, 8, 8))


class Critic(nn.Module):  # a one-scale "discriminator": [[features, logits]]
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 1, 1)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return [[x, self.conv(x)]]


@pytest.mark.parametrize("weight", [None, 0.5])
def test_hinge_d_step_records_weighted_losses_and_updates_d(weight: float | None) -> None:
    torch.manual_seed(0)
    D = Critic()
    seg, fake, real = torch.rand(2, 1, 4, 4), torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    expected_fake = hinge_d([[D(torch.cat([seg, fake], 1))[0][1]]], False) * (weight or 1.0)
    before = D.conv.weight.detach().clone()
    losses: dict[str, torch.Tensor] = {}
    hinge_d_step(D, torch.optim.SGD(D.parameters(), lr=0.1), seg, fake, real, losses, weight=weight)
    assert torch.allclose(losses["D_Fake"], expected_fake) and set(losses) == {"D_Fake", "D_real"}
    assert not torch.equal(before, D.conv.weight)


def test_perceptual_net_checks_vgg_input_and_is_off_without_weight() -> None:
    with pytest.raises(BenchError, match="vgg_input must be 'raw' or 'imagenet'"):
        perceptual_net({"vgg_input": "bgr", "lambda_vgg": 1.0, "allow_uncalibrated": True})
    assert perceptual_net({"vgg_input": "raw", "lambda_vgg": 0.0, "allow_uncalibrated": True}) is None


def test_generator_losses_keep_the_official_order_with_extra_terms() -> None:
    torch.manual_seed(0)
    D = Critic()
    seg, fake, real = torch.rand(2, 1, 4, 4), torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    losses = generator_losses(D, None, seg, fake, real, {"lambda_feat": 10.0}, {"KLD": torch.tensor(0.5)})
    assert list(losses) == ["GAN", "GAN_Feat", "KLD"]
    assert torch.allclose(losses["GAN"], hinge_g([[D(torch.cat([seg, fake], 1))[0][1]]]))
    expected_feat = 10.0 * torch.nn.functional.l1_loss(torch.cat([seg, fake], 1), torch.cat([seg, real], 1))
    assert torch.allclose(losses["GAN_Feat"], expected_feat)
