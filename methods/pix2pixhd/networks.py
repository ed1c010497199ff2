"""pix2pixHD networks (Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation with Conditional GANs",
CVPR 2018, §3.2; NVIDIA/pix2pixHD ``models/networks.py``): the global generator G1, the local enhancer G2 around it,
the instance-boundary map (§3.3) and the multi-scale PatchGAN discriminator that returns its features (§3.2).

Layer order and widths follow the official classes so that the parameter counts equal theirs.
"""

from __future__ import annotations

import torch
from torch import nn

from methods.common.discriminators import MultiScaleDiscriminator, PatchDiscriminator


def instance_edges(instance: torch.Tensor) -> torch.Tensor:
    """§3.3 boundary map (official ``get_edges``): 1 where a pixel's instance id differs from a 4-neighbour's.

    instance: integer ids [N,H,W] or [N,1,H,W] → float [N,1,H,W] in {0, 1}.
    """
    t = instance.unsqueeze(1) if instance.dim() == 3 else instance
    edge = torch.zeros(t.shape, dtype=torch.bool, device=t.device)
    dx, dy = t[..., :, 1:] != t[..., :, :-1], t[..., 1:, :] != t[..., :-1, :]
    edge[..., :, 1:] |= dx
    edge[..., :, :-1] |= dx
    edge[..., 1:, :] |= dy
    edge[..., :-1, :] |= dy
    return edge.float()


class ResnetBlock(nn.Module):
    """x + [reflect-pad, 3×3 conv, IN, ReLU, reflect-pad, 3×3 conv, IN](x) (official ``ResnetBlock``, no dropout)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def _down(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.InstanceNorm2d(c_out), nn.ReLU(True)]


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1), nn.InstanceNorm2d(c_out),
            nn.ReLU(True)]


def _rgb_head(ngf: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]


class GlobalGenerator(nn.Module):
    """G1: reflect-pad 7×7 conv (ngf), ``n_downsampling`` stride-2 3×3 convs (×2 each), ``n_blocks`` residual
    blocks, as many transposed convs back, reflect-pad 7×7 conv to RGB, tanh; instance norm, ReLU.

    x [N, input_nc, H, W] (H, W multiples of 2^n_downsampling) → [N, 3, H, W] in [-1, 1].
    """

    def __init__(self, input_nc: int, ngf: int = 64, n_downsampling: int = 4, n_blocks: int = 9,
                 rgb_head: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), nn.InstanceNorm2d(ngf),
                                   nn.ReLU(True)]
        for i in range(n_downsampling):
            layers += _down(ngf * 2 ** i, ngf * 2 ** (i + 1))
        layers += [ResnetBlock(ngf * 2 ** n_downsampling) for _ in range(n_blocks)]
        for i in range(n_downsampling, 0, -1):
            layers += _up(ngf * 2 ** i, ngf * 2 ** (i - 1))
        if rgb_head:  # the local enhancer drops it and takes the last feature map
            layers += _rgb_head(ngf)
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LocalEnhancer(nn.Module):
    """G = {G1, G2} with one local enhancer (official ``LocalEnhancer``, ``n_local_enhancers`` 1): G1 (width 2·ngf,
    its RGB head removed) runs on the 2× average-pooled input; G2's front end (7×7 conv, stride-2 conv to 2·ngf)
    runs on the full input; their sum goes through ``n_blocks_local`` residual blocks, a transposed conv to ngf and
    the RGB head.

    x [N, input_nc, H, W] (multiples of 2^(n_downsample_global + 1)) → [N, 3, H, W] in [-1, 1].
    """

    def __init__(self, input_nc: int, ngf: int = 32, n_downsample_global: int = 4, n_blocks_global: int = 9,
                 n_blocks_local: int = 3) -> None:
        super().__init__()
        self.model = GlobalGenerator(input_nc, 2 * ngf, n_downsample_global, n_blocks_global, rgb_head=False).model
        self.model1_1 = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), nn.InstanceNorm2d(ngf),
                                      nn.ReLU(True), *_down(ngf, 2 * ngf))
        self.model1_2 = nn.Sequential(*[ResnetBlock(2 * ngf) for _ in range(n_blocks_local)], *_up(2 * ngf, ngf),
                                      *_rgb_head(ngf))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model1_2(self.model1_1(x) + self.model(self.downsample(x)))


def make_generator(kind: str, input_nc: int, ngf: int, n_downsample_global: int, n_blocks_global: int,
                   n_blocks_local: int) -> nn.Module:
    """``global`` (G1 alone) or ``local`` (G1 + G2); ValueError for another name."""
    if kind == "global":
        return GlobalGenerator(input_nc, ngf, n_downsample_global, n_blocks_global)
    if kind == "local":
        return LocalEnhancer(input_nc, ngf, n_downsample_global, n_blocks_global, n_blocks_local)
    raise ValueError(f"unknown pix2pixHD generator {kind!r}; use global or local")


def make_discriminator(input_nc: int, ndf: int = 64, n_layers: int = 3, num_d: int = 2) -> MultiScaleDiscriminator:
    """``num_d`` PatchGANs (k4, padding 2, instance norm, biased convs, widths doubling to 512; the last hidden layer
    stride 1) on the input and its 3×3 average-pooled halvings; call with ``return_features=True`` for the feature
    lists (logits last) that feature matching needs."""
    return MultiScaleDiscriminator(
        lambda: PatchDiscriminator(input_nc, ndf, n_layers, norm="instance", kernel=4, padding=2), num_d)
