"""SIA's networks (ddlee-cn/SemIA@875b2c73: semia/network.py blocks, semia/generator.py ``Encoder``/``Decoder``/
``FiLM``/``SemIAGenerator``, semia/discriminator.py ``FPSEDiscriminator``, semia/network.py ``DeeplabNetwork``).

Tensors are NCHW; images and colour layouts in [-1, 1] (one-hot layouts in {0, 1}); H and W multiples of 2**levels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm as sn


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, inplace=True)


class Residual(nn.Module):
    """``ResnetBlock``: x + (SN 1×1 → C/4, 3×3 (reflection pad), 1×1 → C), BN after each conv when ``bn``."""

    def __init__(self, dim: int, bias: bool = True, bn: bool = True) -> None:
        super().__init__()
        q = dim // 4
        layers: list[nn.Module] = [sn(nn.Conv2d(dim, q, 1, bias=bias))]
        layers += [nn.BatchNorm2d(q)] if bn else []
        layers += [_lrelu(), nn.ReflectionPad2d(1), sn(nn.Conv2d(q, q, 3, bias=bias))]
        layers += [nn.BatchNorm2d(q)] if bn else []
        layers += [_lrelu(), sn(nn.Conv2d(q, dim, 1, bias=bias))]
        layers += [nn.BatchNorm2d(dim)] if bn else []
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def conv_base(cin: int, cout: int, kernel: int = 3, pad: int = 1) -> nn.Sequential:
    """``ConvBaseBlock``: reflection pad, SN conv without bias, BN, LeakyReLU(0.2)."""
    return nn.Sequential(nn.ReflectionPad2d(pad), sn(nn.Conv2d(cin, cout, kernel, bias=False)),
                         nn.BatchNorm2d(cout), _lrelu())


class Down(nn.Module):
    """``DownConvBlock``: residual block, SN 3×3 + BN + LReLU, SN 4×4 stride 2 + BN + LReLU (halves H, W)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.res = Residual(cin)
        self.main = nn.Sequential(sn(nn.Conv2d(cin, cin, 3, 1, 1)), nn.BatchNorm2d(cin), _lrelu(),
                                  sn(nn.Conv2d(cin, cout, 4, 2, 1)), nn.BatchNorm2d(cout), _lrelu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(self.res(x))


class Up(nn.Module):
    """``UpConvBlock``: residual block, SN 3×3 to 2·cout + BN + LReLU, SN transposed 4×4 stride 2 + BN + LReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.res = Residual(cin)
        self.main = nn.Sequential(sn(nn.Conv2d(cin, cout * 2, 3, 1, 1)), nn.BatchNorm2d(cout * 2), _lrelu(),
                                  sn(nn.ConvTranspose2d(cout * 2, cout, 4, 2, 1)), nn.BatchNorm2d(cout), _lrelu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(self.res(x))


def modulate(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """SFT (``affine_transformation``): α·(x − μ)/σ + β with per-sample, per-channel μ and σ = sqrt(unbiased var
    + eps) over H·W (the released ``calc_mean_std``). All [N,C,H,W]."""
    flat = x.flatten(2)
    mean = flat.mean(2)[..., None, None]
    std = (flat.var(2) + eps).sqrt()[..., None, None]
    return alpha * (x - mean) / std + beta


class Encoder(nn.Module):
    """``Encoder``: 7×7 head to ``base``, ``levels`` down blocks doubling channels, a 3×3 tail to the code.
    ``forward(x, alphas, betas)`` → (code [N, base·2^L, H/2^L, W/2^L], the L features after each down block, after
    SFT when ``alphas`` are given)."""

    def __init__(self, in_nc: int, base: int, levels: int) -> None:
        super().__init__()
        self.head = conv_base(in_nc, base, 7, 3)
        self.down = nn.ModuleList(Down(base * 2 ** i, base * 2 ** (i + 1)) for i in range(levels))
        self.tail = conv_base(base * 2 ** levels, base * 2 ** levels)

    def forward(self, x: torch.Tensor, alphas: list[torch.Tensor] | None = None,
                betas: list[torch.Tensor] | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.head(x)
        feats = []
        for i, block in enumerate(self.down):
            x = block(x)
            if alphas is not None and betas is not None:
                x = modulate(x, alphas[i], betas[i])
            feats.append(x)
        return self.tail(x), feats


class Decoder(nn.Module):
    """``Decoder``: 3×3 head, ``levels`` up blocks halving channels (SFT before each), a 3×3 ``ConvBaseBlock`` tail
    to ``out_nc`` (BN + LeakyReLU, no tanh, as released)."""

    def __init__(self, base: int, levels: int, out_nc: int) -> None:
        super().__init__()
        top = base * 2 ** levels
        self.head = conv_base(top, top)
        self.up = nn.ModuleList(Up(base * 2 ** (levels - i), base * 2 ** (levels - i - 1)) for i in range(levels))
        self.tail = conv_base(base, out_nc)

    def forward(self, code: torch.Tensor, alphas: list[torch.Tensor], betas: list[torch.Tensor]) -> torch.Tensor:
        x = self.head(code)
        for i, block in enumerate(self.up):
            x = block(modulate(x, alphas[i], betas[i]))
        return self.tail(x)


class SFTBranch(nn.Module):
    """``FiLM`` (reverse=True): one bottleneck per level i (C = base·2^(i+1)): residual block without BN, SN 1×1
    to C/2, ReLU, SN 1×1 back to C. Maps the layout-feature ratios (α branch) or differences (β branch)."""

    def __init__(self, base: int, levels: int) -> None:
        super().__init__()
        self.levels = nn.ModuleList(
            nn.Sequential(Residual(c, bias=True, bn=False), sn(nn.Conv2d(c, c // 2, 1)), nn.ReLU(True),
                          sn(nn.Conv2d(c // 2, c, 1)))
            for c in (base * 2 ** (i + 1) for i in range(levels)))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        return [net(f) for net, f in zip(self.levels, feats, strict=True)]


class SIAGenerator(nn.Module):
    """``SemIAGenerator`` with E_use_FiLM = D_use_FiLM = True (no attention, no skips).

    ``forward(image, source_layout, target_layout)``: image [N,3,H,W] in [-1,1], layouts [N,cond_nc,H,W] →
    (image [N,3,H,W], unbounded, and [(α, β)] per level for the fixed-point loss). The shared layout encoder sees both
    layouts; α = SFT_α((f_t + 1e-14)/(f_s + 1e-14)), β = SFT_β(f_t − f_s) modulate the image encoder's levels in order
    and the decoder's in reverse order (paper §3.2, Eq. 2-3).
    """

    def __init__(self, cond_nc: int, base: int = 32, levels: int = 3, im_nc: int = 3) -> None:
        super().__init__()
        self.encoder_c = Encoder(cond_nc, base, levels)
        self.encoder_i = Encoder(im_nc, base, levels)
        self.decoder_i = Decoder(base, levels, im_nc)
        self.sft_alpha = SFTBranch(base, levels)
        self.sft_beta = SFTBranch(base, levels)

    def sft_params(self, source_layout: torch.Tensor, target_layout: torch.Tensor
                   ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(α per level, β per level) from the layout features; the encoder's tail output is unused, as released."""
        _, fs = self.encoder_c(source_layout)
        _, ft = self.encoder_c(target_layout)
        ratios = [(t + 1e-14) / (s + 1e-14) for s, t in zip(fs, ft, strict=True)]
        diffs = [t - s for s, t in zip(fs, ft, strict=True)]
        return self.sft_alpha(ratios), self.sft_beta(diffs)

    def forward(self, image: torch.Tensor, source_layout: torch.Tensor, target_layout: torch.Tensor
                ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        alphas, betas = self.sft_params(source_layout, target_layout)
        code, _ = self.encoder_i(image, alphas, betas)
        out = self.decoder_i(code, alphas[::-1], betas[::-1])
        return out, list(zip(alphas, betas, strict=True))


def _sn_in(conv: nn.Conv2d) -> nn.Sequential:
    """``get_norm_layer('spectralinstance')``: SN conv with its bias removed, InstanceNorm (no affine), LReLU."""
    conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False)
    return nn.Sequential(sn(conv), nn.InstanceNorm2d(conv.out_channels, affine=False), nn.LeakyReLU(0.2, True))


class FPSEDiscriminator(nn.Module):
    """``FPSEDiscriminator`` with ``no_seg_embed`` (unconditional), the layers its forward uses: three stride-2 3×3
    encoders, laterals at 1/4 and 1/8, a top-down sum, 3×3 heads and a shared 1×1 output.

    ``forward(images [N,3,H,W])`` → ([prediction at 1/4, at 1/8], [features at 1/4, at 1/8]) for LSGAN and feature
    matching. The released class also builds ``enc4``/``lat4``/``final4``, which its forward never uses (left out).
    """

    def __init__(self, nf: int = 64) -> None:
        super().__init__()
        self.enc1 = _sn_in(nn.Conv2d(3, nf, 3, 2, 1))
        self.enc2 = _sn_in(nn.Conv2d(nf, nf * 2, 3, 2, 1))
        self.enc3 = _sn_in(nn.Conv2d(nf * 2, nf * 4, 3, 2, 1))
        self.lat2 = _sn_in(nn.Conv2d(nf * 2, nf * 4, 1))
        self.lat3 = _sn_in(nn.Conv2d(nf * 4, nf * 4, 1))
        self.final2 = _sn_in(nn.Conv2d(nf * 4, nf * 2, 3, 1, 1))
        self.final3 = _sn_in(nn.Conv2d(nf * 4, nf * 2, 3, 1, 1))
        self.tf = nn.Conv2d(nf * 2, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        f12 = self.enc2(self.enc1(x))
        f13 = self.enc3(f12)
        f23 = self.lat3(f13)
        f22 = F.interpolate(f23, scale_factor=2, mode="bilinear", align_corners=True) + self.lat2(f12)
        return [self.tf(self.final2(f22)), self.tf(self.final3(f23))], [f12, f13]


class DeeplabAux(nn.Module):
    """``DeeplabNetwork``: ASPP on the image (1×1, 3×3 at dilations 8 and 16, global pooling; ReLU, no BN), 1×1
    projection + dropout 0.5, then 3×3 conv + BN + ReLU and a 1×1 conv to the layout's ``out_nc`` channels.
    [N,3,H,W] in [-1,1] → [N,out_nc,H,W] (a regression of the layout, trained with L1)."""

    def __init__(self, out_nc: int, nc: int = 128, rates: tuple[int, int] = (8, 16), im_nc: int = 3) -> None:
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Sequential(nn.Conv2d(im_nc, nc, 1, bias=False), nn.ReLU()),
            *(nn.Sequential(nn.Conv2d(im_nc, nc, 3, padding=r, dilation=r, bias=False), nn.ReLU()) for r in rates)])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(im_nc, nc, 1, bias=False), nn.ReLU())
        self.project = nn.Sequential(nn.Conv2d(4 * nc, nc, 1, bias=False), nn.ReLU(), nn.Dropout(0.5))
        self.tail = nn.Sequential(nn.Conv2d(nc, nc, 3, padding=1, bias=False), nn.BatchNorm2d(nc), nn.ReLU(),
                                  nn.Conv2d(nc, out_nc, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.interpolate(self.pool(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.tail(self.project(torch.cat([*(b(x) for b in self.branches), pooled], 1)))
