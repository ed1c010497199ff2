"""UNIT networks as in the NIPS 2017 paper code (``mingyuliutw/UNIT`` branch ``version_02``, ``COCOResGen2`` /
``COCOResGen`` and ``COCOMsDis`` / ``COCODis``).

Coupled VAE-GAN (paper §2, Fig. 1): per-domain encoders E_A, E_B whose *last* layers are one shared module, and
per-domain generators G_A, G_B whose *first* layers are one shared module, so both domains map to one latent space z.
The encoder outputs the posterior mean μ; q(z|x) = N(μ, I) (paper §2, "VAEs"), so a sample is z = μ + η, η ~ N(0, I).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methods.common.blocks import ConvBlock, ResBlock, UpConvBlock

LEAKY = "lrelu0.01"  # the official layers use nn.LeakyReLU() with PyTorch's default slope 0.01


def _res_stack(n: int, ch: int, dropout: float) -> nn.Sequential:
    # INSResBlock: 3×3 conv (zero pad) → IN → ReLU → 3×3 conv → IN (→ dropout), plus the skip
    return nn.Sequential(*[ResBlock(ch, norm="instance", act="relu", pad="zero", dropout=dropout, dropout_at="end")
                           for _ in range(n)])


class UnitGenerator(nn.Module):
    """Both encoders, the shared latent layers and both decoders.

    front: ``leaky`` = COCOResGen2 (LeakyReLU, no norm, outside the residual blocks; the street-scene/face configs),
    ``relu_in`` = COCOResGen (ReLU + instance norm after the first layer; the animal configs).
    """

    def __init__(self, ch: int = 64, n_down: int = 2, n_enc_res: int = 3, n_shared: int = 1, n_dec_res: int = 3,
                 front: str = "leaky", dropout: float = 0.0) -> None:
        super().__init__()
        if front not in ("leaky", "relu_in"):
            raise ValueError(f"front must be 'leaky' or 'relu_in', got {front!r}")
        norm, act = ("none", LEAKY) if front == "leaky" else ("instance", "relu")

        def encoder() -> nn.Sequential:
            layers: list[nn.Module] = [ConvBlock(3, ch, 7, 1, 3, act=LEAKY, pad="zero")]
            c = ch
            for _ in range(n_down):
                layers.append(ConvBlock(c, c * 2, 3, 2, 1, norm=norm, act=act, pad="zero"))
                c *= 2
            layers.append(_res_stack(n_enc_res, c, dropout))
            return nn.Sequential(*layers)

        latent = ch * 2**n_down

        def decoder() -> nn.Sequential:
            layers: list[nn.Module] = [_res_stack(n_dec_res, latent, dropout)]
            c = latent
            for _ in range(n_down):
                layers.append(UpConvBlock(c, c // 2, 3, mode="transpose", norm=norm, act=act))
                c //= 2
            layers += [nn.ConvTranspose2d(c, 3, 1, 1, 0), nn.Tanh()]
            return nn.Sequential(*layers)

        self.enc = nn.ModuleDict({"A": encoder(), "B": encoder()})
        self.enc_shared = _res_stack(n_shared, latent, dropout)  # last encoder layers, one copy for both domains
        self.dec_shared = _res_stack(n_shared, latent, dropout)  # first generator layers, one copy for both domains
        self.dec = nn.ModuleDict({"A": decoder(), "B": decoder()})
        self.latent_channels = latent

    def encode(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """Posterior mean μ = E_domain(x) in the shared latent space."""
        return self.enc_shared(self.enc[domain](x))

    def decode(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        return self.dec[domain](self.dec_shared(z))

    def shared_modules(self) -> dict[str, nn.Module]:
        return {"enc_shared": self.enc_shared, "dec_shared": self.dec_shared}


class BlurDownsample(nn.Module):
    """UNIT's multi-scale downsampler: 3×3 Gaussian blur ([1,2,1]/4 ⊗ [1,2,1]/4, OpenCV's ksize-3 kernel),
    replicate padding, then keep every second row and column."""

    def __init__(self) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0]) / 4
        self.register_buffer("kernel", (k[:, None] * k[None, :]).expand(3, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.kernel.to(x.dtype), groups=x.shape[1])
        return x[:, :, ::2, ::2]


class UnitDiscriminator(nn.Module):
    """``n_layers`` 3×3 stride-2 convs (ch, 2ch, 4ch, ...) with LeakyReLU(0.01) and no norm, then a 1×1 conv to one
    logit per position (COCODis / one scale of COCOMsDis)."""

    def __init__(self, ch: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, ch, 3, 2, 1, act=LEAKY, pad="zero")]
        c = ch
        for _ in range(1, n_layers):
            layers.append(ConvBlock(c, c * 2, 3, 2, 1, act=LEAKY, pad="zero"))
            c *= 2
        layers.append(nn.Conv2d(c, 1, 1, 1, 0))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
