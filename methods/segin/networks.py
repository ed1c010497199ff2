"""SEGIN's translation network N and discriminator D (paper §III-B2, §IV "General settings", Fig. 2).

- Encoder: 6 conv blocks (conv + BatchNorm + ReLU) shared by both tasks; input = the channel concatenation of the
  images named by ``N_INPUTS`` (the paper, §III: x, r and W(x, r); the ``x_w`` variant: x and W).
- Bottleneck: 3 embedded-Gaussian non-local blocks (Wang et al. 2018, Eq. 3–4) with residual blocks (two 3×3 convs)
  in between.
- Image decoder (sub-task 1): U-Net (skip connections from the encoder), up-sampling + 3×3 conv instead of
  deconvolution (checkerboard artefacts, Odena et al.), tanh output in [-1,1].
- Segmentation decoder (sub-task 2): transposed convolutions, sigmoid foreground probability.
- Discriminator: PatchGAN with spectral normalisation on every conv, conditioned on the input x.

The paper gives the block counts but not the kernel sizes, widths or where the encoder down-samples; the choices here
(three stride-2 blocks interleaved with stride-1 blocks, widths ngf·{1,2,2,4,4,8}) are ours and listed in README.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

# What N is fed, in channel order (3 channels each): x = input, r = reference, w = auxiliary image W(x, r).
# "Both x and r are then fed into N with auxiliary image W" (§III); x_w: the pre-issue-13 choice (Eq. 5: N(x, W)).
N_INPUTS: dict[str, tuple[str, ...]] = {"paper": ("x", "r", "w"), "x_w": ("x", "w")}


def conv_block(cin: int, cout: int, kernel: int, stride: int) -> nn.Sequential:
    pad = (kernel - stride + 1) // 2 if stride > 1 else kernel // 2
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, pad, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block: y_i = Σ_j softmax_j(θ(x_i)ᵀφ(x_j)) g(x_j) (Eq. 3 with Eq. 4 and
    C(x) = Σ_j e^{θ(x_i)ᵀφ(x_j)}), z = BN(W_z y) + x. W_z's BatchNorm starts at zero so the block starts as the
    identity (Wang et al. §4.1)."""

    def __init__(self, channels: int, inter: int | None = None) -> None:
        super().__init__()
        self.inter = inter or max(1, channels // 2)
        self.theta = nn.Conv2d(channels, self.inter, 1)
        self.phi = nn.Conv2d(channels, self.inter, 1)
        self.g = nn.Conv2d(channels, self.inter, 1)
        self.out = nn.Sequential(nn.Conv2d(self.inter, channels, 1), nn.BatchNorm2d(channels))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """[B, N, N] normalised affinities f(x_i, x_j)/C(x)."""
        theta = self.theta(x).flatten(2)  # [B, C', N]
        phi = self.phi(x).flatten(2)
        return torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)

    def aggregate(self, x: torch.Tensor) -> torch.Tensor:
        """y of Eq. 3, [B, C', H, W]."""
        b, _, h, w = x.shape
        g = self.g(x).flatten(2)  # [B, C', N]
        y = torch.bmm(self.attention(x), g.transpose(1, 2))  # [B, N, C']
        return y.transpose(1, 2).reshape(b, self.inter, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.out(self.aggregate(x))


class ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpConv(nn.Module):
    """Nearest up-sampling ×2, 3×3 conv, BN, ReLU (the paper's replacement for deconvolution)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = conv_block(cin, cout, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class SeginGenerator(nn.Module):
    """N(images…) → (image in [-1,1], foreground probability in [0,1] or None without the multi-task head).

    ``forward`` takes the [B,3,H,W] images in [-1,1] (H, W multiples of 8) whose channels sum to ``in_channels``."""

    DOWNSAMPLING = 8  # three stride-2 blocks: image sizes must be multiples of 8

    def __init__(self, in_channels: int = 6, ngf: int = 64, n_nonlocal: int = 3, non_local: bool = True,
                 multi_task: bool = True) -> None:
        super().__init__()
        c1, c2, c3, c4 = ngf, 2 * ngf, 4 * ngf, 8 * ngf
        self.encoder = nn.ModuleList([
            conv_block(in_channels, c1, 3, 1),  # H
            conv_block(c1, c2, 4, 2),  # H/2
            conv_block(c2, c2, 3, 1),
            conv_block(c2, c3, 4, 2),  # H/4
            conv_block(c3, c3, 3, 1),
            conv_block(c3, c4, 4, 2),  # H/8: the bottleneck
        ])
        middle: list[nn.Module] = []
        for k in range(n_nonlocal):
            middle.append(NonLocalBlock(c4) if non_local else nn.Identity())
            if k < n_nonlocal - 1:
                middle.append(ResBlock(c4))
        self.bottleneck = nn.Sequential(*middle)
        # U-Net image decoder: up, concatenate the encoder features of the same size, fuse.
        self.up = nn.ModuleList([UpConv(c4, c3), UpConv(c3, c2), UpConv(c2, c1)])
        self.fuse = nn.ModuleList([conv_block(2 * c3, c3, 3, 1), conv_block(2 * c2, c2, 3, 1),
                                   conv_block(2 * c1, c1, 3, 1)])
        self.to_image = nn.Conv2d(c1, 3, 3, 1, 1)
        self.multi_task = multi_task
        if multi_task:
            self.seg_decoder = nn.Sequential(
                nn.ConvTranspose2d(c4, c3, 4, 2, 1, bias=False), nn.BatchNorm2d(c3), nn.ReLU(inplace=True),
                nn.ConvTranspose2d(c3, c2, 4, 2, 1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
                nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(inplace=True),
                nn.Conv2d(c1, 1, 3, 1, 1))

    def forward(self, *images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = torch.cat(images, dim=1)
        skips = []
        for block in self.encoder:
            h = block(h)
            skips.append(h)
        h = self.bottleneck(h)
        bottleneck = h
        for up, fuse, skip in zip(self.up, self.fuse, (skips[4], skips[2], skips[0]), strict=True):
            h = fuse(torch.cat([up(h), skip], dim=1))
        image = torch.tanh(self.to_image(h))
        seg = torch.sigmoid(self.seg_decoder(bottleneck)) if self.multi_task else None
        return image, seg


class SpectralPatchDiscriminator(nn.Module):
    """70×70-style PatchGAN on concat(x, y) with spectral normalisation and LeakyReLU(0.2), no BatchNorm."""

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(in_channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        channels = ndf
        for k in range(1, n_layers + 1):
            nxt = ndf * min(2 ** k, 8)
            stride = 2 if k < n_layers else 1
            layers += [spectral_norm(nn.Conv2d(channels, nxt, 4, stride, 1)), nn.LeakyReLU(0.2, True)]
            channels = nxt
        layers.append(spectral_norm(nn.Conv2d(channels, 1, 4, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, y], dim=1))
