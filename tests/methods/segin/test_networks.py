"""SEGIN networks: the non-local block is Eq. 3–4 exactly; shapes of both decoders; spectral norm in D."""

from __future__ import annotations

import math

import torch

from methods.segin.networks import N_INPUTS, NonLocalBlock, SeginGenerator, SpectralPatchDiscriminator


def test_non_local_block_equals_a_direct_computation_of_eq_3_and_4() -> None:
    torch.manual_seed(0)
    block = NonLocalBlock(4, inter=3).eval()
    torch.nn.init.normal_(block.out[1].weight)  # leave the identity initialisation so the output term is tested
    x = torch.randn(2, 4, 2, 3)
    with torch.no_grad():
        y, z = block.aggregate(x), block(x)
        theta, phi, g = block.theta(x), block.phi(x), block.g(x)
        out_y = block.out(y)
    for b in range(2):
        positions = [(i, j) for i in range(2) for j in range(3)]
        for (i1, j1) in positions:
            f = [math.exp(float(theta[b, :, i1, j1] @ phi[b, :, i2, j2])) for (i2, j2) in positions]  # Eq. 4
            c = sum(f)  # C(x)
            expected = sum(fk * g[b, :, i2, j2] for fk, (i2, j2) in zip(f, positions, strict=True)) / c  # Eq. 3
            assert torch.allclose(y[b, :, i1, j1], expected, atol=1e-5)
    assert torch.allclose(z, x + out_y, atol=1e-6)


def test_non_local_block_starts_as_identity() -> None:
    block = NonLocalBlock(8)
    x = torch.randn(2, 8, 4, 4)
    assert torch.allclose(block(x), x)


def test_generator_outputs_an_image_and_a_mask() -> None:
    net = SeginGenerator(ngf=4)
    image, seg = net(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    assert image.shape == (2, 3, 32, 32) and seg is not None and seg.shape == (2, 1, 32, 32)
    assert image.abs().max() <= 1 and seg.min() >= 0 and seg.max() <= 1
    assert sum(isinstance(m, NonLocalBlock) for m in net.bottleneck) == 3
    plain = SeginGenerator(ngf=4, non_local=False, multi_task=False)
    image, seg = plain(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))
    assert seg is None and image.shape == (1, 3, 16, 16)
    assert not any(isinstance(m, NonLocalBlock) for m in plain.modules()) and not hasattr(plain, "seg_decoder")


def test_discriminator_is_spectrally_normalised_and_conditional() -> None:
    d = SpectralPatchDiscriminator(6, ndf=4)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(m, "weight_orig") for m in convs)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert d(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)).shape[:2] == (2, 1)


def test_generator_takes_the_channels_of_every_input_it_is_fed() -> None:
    assert N_INPUTS == {"paper": ("x", "r", "w"), "x_w": ("x", "w")}
    net = SeginGenerator(9, ngf=4)
    assert net.encoder[0][0].in_channels == 9
    image, _ = net(*(torch.rand(1, 3, 16, 16) for _ in range(3)))
    assert image.shape == (1, 3, 16, 16)
