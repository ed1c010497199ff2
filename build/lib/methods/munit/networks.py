"""MUNIT networks (Huang, Liu, Belongie, Kautz, ECCV 2018, §3.2 and appendix B; official ``NVlabs/MUNIT``).

Per domain an auto-encoder ``AdaINGenerator``: a content encoder (strided convs + residual blocks, instance norm), a
style encoder (strided convs, global average pool, 1×1 conv to the style code; no normalisation, which would remove
the style), and a decoder whose residual blocks use AdaIN with parameters from an MLP of the style code, followed by
nearest-neighbour upsampling + 5×5 convs with layer norm. The discriminator is a multi-scale LSGAN critic.
"""

from __future__ import annotations

import torch
from torch import nn

from methods.common.blocks import MLP, ConvBlock, ResBlocks, UpConvBlock, assign_adain_params, num_adain_params
from methods.common.discriminators import MultiScaleDiscriminator


class StyleEncoder(nn.Module):
    """c7s1-dim, 2 × (4×4 stride-2 conv, doubling), (n_down − 2) × (4×4 stride-2 conv), global avg pool, 1×1 conv."""

    def __init__(self, dim: int = 64, style_dim: int = 8, n_down: int = 4, act: str = "relu", pad: str = "reflect"
                 ) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, dim, 7, 1, 3, act=act, pad=pad)]
        for _ in range(min(2, n_down)):
            layers.append(ConvBlock(dim, dim * 2, 4, 2, 1, act=act, pad=pad))
            dim *= 2
        for _ in range(n_down - 2):
            layers.append(ConvBlock(dim, dim, 4, 2, 1, act=act, pad=pad))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1, 1, 0)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)  # [B, style_dim, 1, 1]


class ContentEncoder(nn.Module):
    """c7s1-dim, n_down × (4×4 stride-2 conv, doubling), n_res residual blocks; instance norm throughout."""

    def __init__(self, dim: int = 64, n_down: int = 2, n_res: int = 4, act: str = "relu", pad: str = "reflect"
                 ) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, dim, 7, 1, 3, norm="instance", act=act, pad=pad)]
        for _ in range(n_down):
            layers.append(ConvBlock(dim, dim * 2, 4, 2, 1, norm="instance", act=act, pad=pad))
            dim *= 2
        layers.append(ResBlocks(n_res, dim, norm="instance", act=act, pad=pad))
        self.model = nn.Sequential(*layers)
        self.output_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Decoder(nn.Module):
    """n_res AdaIN residual blocks, n_up × (nearest 2× upsample, 5×5 conv, layer norm), c7s1-3 with tanh."""

    def __init__(self, dim: int, n_up: int = 2, n_res: int = 4, act: str = "relu", pad: str = "reflect") -> None:
        super().__init__()
        layers: list[nn.Module] = [ResBlocks(n_res, dim, norm="adain", act=act, pad=pad)]
        for _ in range(n_up):
            layers.append(UpConvBlock(dim, dim // 2, 5, mode="nearest", norm="layer", act=act, pad=pad))
            dim //= 2
        layers.append(ConvBlock(dim, 3, 7, 1, 3, act="tanh", pad=pad))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class AdaINGenerator(nn.Module):
    """One domain's auto-encoder: ``encode`` → (content, style), ``decode(content, style)`` → image."""

    def __init__(self, dim: int = 64, style_dim: int = 8, n_down: int = 2, n_res: int = 4, mlp_dim: int = 256,
                 mlp_layers: int = 3, style_n_down: int = 4, act: str = "relu", pad: str = "reflect") -> None:
        super().__init__()
        self.style_dim = style_dim
        self.enc_style = StyleEncoder(dim, style_dim, style_n_down, act, pad)
        self.enc_content = ContentEncoder(dim, n_down, n_res, act, pad)
        self.dec = Decoder(self.enc_content.output_dim, n_down, n_res, act, pad)
        self.mlp = MLP(style_dim, num_adain_params(self.dec), mlp_dim, mlp_layers, act=act)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.enc_content(x), self.enc_style(x)

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        assign_adain_params(self.mlp(style), self.dec)
        return self.dec(content)


class MunitDiscriminator(nn.Module):
    """One scale of MUNIT's ``MsImageDis``: n_layers 4×4 stride-2 convs (dim, 2·dim, ...) with LeakyReLU(0.2),
    reflection padding, no norm (the config's ``norm: none``), then a 1×1 conv to one logit per patch."""

    def __init__(self, dim: int = 64, n_layers: int = 4, norm: str = "none", act: str = "lrelu",
                 pad: str = "reflect") -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, dim, 4, 2, 1, act=act, pad=pad)]
        for _ in range(n_layers - 1):
            layers.append(ConvBlock(dim, dim * 2, 4, 2, 1, norm=norm, act=act, pad=pad))
            dim *= 2
        layers.append(nn.Conv2d(dim, 1, 1, 1, 0))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def munit_discriminator(dim: int, n_layers: int, num_scales: int, norm: str = "none") -> MultiScaleDiscriminator:
    return MultiScaleDiscriminator(lambda: MunitDiscriminator(dim, n_layers, norm), num_scales)
