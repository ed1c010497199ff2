"""The shared GAN building blocks in ``methods.common``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.seeding import seeded
from methods.common.blocks import (
    AdaIN2d,
    ConvBlock,
    LayerNorm2d,
    ResBlock,
    assign_adain_params,
    num_adain_params,
)
from methods.common.discriminators import MultiScaleDiscriminator, PatchDiscriminator
from methods.common.images import ImagePool, to_signed, to_unit
from methods.common.init import init_weights
from methods.common.losses import GANLoss, feature_matching_loss, kl_normal, kl_unit_variance
from methods.common.schedules import linear_decay, step_decay


def test_patch_discriminator_is_the_70x70_patchgan() -> None:
    # pix2pix/CycleGAN's basic D (ndf 64, 3 layers, instance norm): 2,764,737 parameters, 1 logit per patch.
    d = PatchDiscriminator(3, 64, 3, norm="instance")
    assert sum(p.numel() for p in d.parameters()) == 2_764_737
    assert d(torch.rand(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_multiscale_discriminator_halves_the_input_per_scale() -> None:
    d = MultiScaleDiscriminator(lambda: PatchDiscriminator(3, 4, 2, norm="none"), 3)
    outs = d(torch.rand(2, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [14, 6, 2]
    feats = d(torch.rand(2, 3, 64, 64), return_features=True)
    assert len(feats) == 3 and feats[0][-1].shape == outs[0].shape


def test_adain_layer_uses_assigned_mean_and_std() -> None:
    net = nn.Sequential(ResBlock(4, norm="adain"), AdaIN2d(4))
    n = num_adain_params(net)
    assert n == 3 * 2 * 4
    params = torch.zeros(2, n)
    params[:, -8:-4] = 5.0  # the last layer's mean (bias) comes first, then its std (weight)
    params[:, -4:] = 0.0
    assign_adain_params(params, net)
    torch.testing.assert_close(net(torch.randn(2, 4, 6, 6)), torch.full((2, 4, 6, 6), 5.0))
    with pytest.raises(ValueError, match="AdaIN parameters"):
        assign_adain_params(torch.zeros(2, n + 1), net)
    with pytest.raises(RuntimeError, match="assign"):
        AdaIN2d(3)(torch.randn(1, 3, 4, 4))


def test_layer_norm_normalises_each_sample() -> None:
    norm = LayerNorm2d(3)
    nn.init.ones_(norm.gamma)
    out = norm(torch.randn(2, 3, 5, 5) * 4 + 2)
    torch.testing.assert_close(out.flatten(1).mean(1), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.flatten(1).std(1), torch.ones(2), atol=1e-3, rtol=0)


def test_conv_block_drops_bias_before_batch_norm() -> None:
    assert ConvBlock(3, 4, 3, norm="batch").conv.bias is None
    assert ConvBlock(3, 4, 3, norm="instance").conv.bias is not None


def test_gan_losses_on_known_predictions() -> None:
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    ls = GANLoss("lsgan")
    assert ls.discriminator(ones, zeros).item() == 0.0 and ls.generator(zeros).item() == 1.0
    assert ls([ones, zeros], True).item() == 1.0  # scales are summed
    hinge = GANLoss("hinge")
    assert hinge.discriminator(ones, -ones).item() == 0.0 and hinge.generator(ones).item() == -1.0
    vanilla = GANLoss("vanilla")
    assert vanilla(zeros, True).item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    with pytest.raises(ValueError, match="unknown GAN loss"):
        GANLoss("wgan")


def test_latent_losses() -> None:
    mu = torch.tensor([[1.0, -1.0]])
    assert kl_unit_variance(mu).item() == 1.0
    assert kl_normal(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0
    assert kl_normal(mu, torch.zeros(1, 2)).item() == pytest.approx(1.0)
    feats = [[torch.ones(1, 2), torch.ones(1, 1)]]
    assert feature_matching_loss(feats, [[torch.zeros(1, 2), torch.zeros(1, 1)]]).item() == 1.0


def test_schedules_count_steps() -> None:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = linear_decay(opt, constant_steps=2, decay_steps=3)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 0.75, 0.5, 0.25])
    opt2 = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched2 = step_decay(opt2, 2, 0.5)
    for _ in range(4):
        opt2.step()
        sched2.step()
    assert opt2.param_groups[0]["lr"] == 0.25


def test_init_weights_normal() -> None:
    net = init_weights(nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64)), "normal", 0.02)
    assert abs(net[0].weight.std().item() - 0.02) < 0.003 and net[0].bias.abs().sum() == 0


def test_image_pool_round_trip_and_range_conversion() -> None:
    pool = ImagePool(4, seed=1)
    pool.query(torch.rand(4, 3, 2, 2))
    restored = ImagePool(4, seed=99)
    restored.load_state_dict(pool.state_dict())
    batch = torch.rand(4, 3, 2, 2)
    torch.testing.assert_close(pool.query(batch), restored.query(batch))
    x = torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(to_unit(to_signed(x)), x)


def test_seeded_is_reproducible_and_restores_the_global_stream() -> None:
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    with seeded(5):
        first = torch.rand(1)
    with seeded(5):
        second = torch.rand(1)
    assert torch.equal(first, second)
    assert torch.equal(torch.rand(1), expected)
