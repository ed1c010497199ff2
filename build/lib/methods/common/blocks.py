"""Convolution, normalisation, residual and AdaIN blocks (the vocabulary of the CycleGAN/UNIT/MUNIT generators).

Names follow the papers: ``ConvBlock`` = pad → conv → norm → activation (MUNIT's ``Conv2dBlock``, CycleGAN's
c7s1-k / dk layers), ``ResBlock`` = two 3×3 ConvBlocks with a skip (CycleGAN's Rk, MUNIT's ResBlock).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("none", "batch", "instance", "instance_affine", "layer", "adain")
ACTIVATIONS = ("none", "relu", "lrelu", "prelu", "selu", "tanh", "sigmoid")
PADS = ("zero", "reflect", "replicate")
Norm = Literal["batch", "instance", "none"]  # the pix2pix/BicycleGAN norms (``norm_layer``)


class LayerNorm2d(nn.Module):
    """MUNIT's layer norm: per-sample statistics over (C,H,W), then a per-channel affine (γ ~ U(0,1), β = 0)."""

    def __init__(self, channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.eps, self.affine = eps, affine
        if affine:
            self.gamma = nn.Parameter(torch.empty(channels).uniform_())
            self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        mean = flat.mean(1).view(-1, 1, 1, 1)
        std = flat.std(1).view(-1, 1, 1, 1)  # unbiased, as in MUNIT
        x = (x - mean) / (std + self.eps)
        if self.affine:
            x = x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)
        return x


class AdaIN2d(nn.Module):
    """Adaptive instance norm whose per-sample scale/shift are assigned before each forward (from a style MLP).

    ``weight``/``bias`` are plain tensor attributes of shape [B*C] set by ``assign_adain_params``; they are not
    parameters of this module (the MLP that produces them owns the parameters).
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels, self.eps = channels, eps
        self.weight: torch.Tensor | None = None
        self.bias: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight is None or self.bias is None:
            raise RuntimeError("AdaIN2d: assign style parameters (assign_adain_params) before calling forward")
        b, c = x.shape[:2]
        out = F.instance_norm(x, eps=self.eps)
        return out * self.weight.view(b, c, 1, 1) + self.bias.view(b, c, 1, 1)


def num_adain_params(module: nn.Module) -> int:
    """How many numbers a style MLP must produce for every ``AdaIN2d`` inside ``module`` (2·C each)."""
    return sum(2 * m.channels for m in module.modules() if isinstance(m, AdaIN2d))


def assign_adain_params(params: torch.Tensor, module: nn.Module) -> None:
    """Split ``params`` [B, num_adain_params] into (mean=bias, std=weight) for each AdaIN2d in module order."""
    offset = 0
    for m in module.modules():
        if isinstance(m, AdaIN2d):
            c = m.channels
            m.bias = params[:, offset:offset + c].contiguous().view(-1)
            m.weight = params[:, offset + c:offset + 2 * c].contiguous().view(-1)
            offset += 2 * c
    if offset != params.shape[1]:
        raise ValueError(f"got {params.shape[1]} AdaIN parameters, the module needs {offset}")


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":  # CycleGAN/MUNIT: no affine, no running statistics
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "instance_affine":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if kind == "layer":
        return LayerNorm2d(channels)
    if kind == "adain":
        return AdaIN2d(channels)
    raise ValueError(f"unknown norm {kind!r}; valid: {', '.join(NORMS)}")


def norm_layer(kind: Norm, channels: int) -> nn.Module | None:
    """pix2pix/BicycleGAN's norms: BatchNorm (affine), affine-free InstanceNorm without running statistics, or
    ``None`` for no layer (callers drop it)."""
    if kind not in ("batch", "instance", "none"):
        raise ValueError(f"unknown norm {kind!r}; use batch, instance or none")
    return None if kind == "none" else make_norm(kind, channels)


def make_activation(kind: str) -> nn.Module:
    """``lrelu`` has slope 0.2 (pix2pix/MUNIT); ``lrelu<slope>`` another slope, e.g. ``lrelu0.01`` (PyTorch's default,
    which UNIT's code uses)."""
    if kind.startswith("lrelu") and len(kind) > len("lrelu"):
        return nn.LeakyReLU(float(kind[len("lrelu"):]), inplace=True)
    table = {"none": nn.Identity, "relu": lambda: nn.ReLU(inplace=True), "lrelu": lambda: nn.LeakyReLU(0.2, True),
             "prelu": nn.PReLU, "selu": lambda: nn.SELU(inplace=True), "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if kind not in table:
        raise ValueError(f"unknown activation {kind!r}; valid: {', '.join(ACTIVATIONS)}")
    return table[kind]()


def make_pad(kind: str, size: int) -> nn.Module:
    if kind == "zero":
        return nn.ZeroPad2d(size)
    if kind == "reflect":
        return nn.ReflectionPad2d(size)
    if kind == "replicate":
        return nn.ReplicationPad2d(size)
    raise ValueError(f"unknown padding {kind!r}; valid: {', '.join(PADS)}")


class ConvBlock(nn.Module):
    """pad → conv → norm → activation. ``bias=None`` drops the bias when a batch norm follows (pix2pix rule)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0, *,
                 norm: str = "none", act: str = "relu", pad: str = "zero", bias: bool | None = None,
                 spectral: bool = False) -> None:
        super().__init__()
        self.pad = make_pad(pad, padding) if padding else nn.Identity()
        conv = nn.Conv2d(in_ch, out_ch, kernel, stride, 0, bias=(norm != "batch") if bias is None else bias)
        self.conv = nn.utils.spectral_norm(conv) if spectral else conv
        self.norm = make_norm(norm, out_ch)
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.pad(x))))


class UpConvBlock(nn.Module):
    """2× upsampling block: ``mode="transpose"`` = 3×3 stride-2 transposed conv (CycleGAN's uk), ``mode="nearest"``
    = nearest upsample → ConvBlock (MUNIT's decoder, which avoids checkerboard artefacts)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, *, mode: str = "transpose", norm: str = "none",
                 act: str = "relu", pad: str = "zero", bias: bool | None = None) -> None:
        super().__init__()
        use_bias = (norm != "batch") if bias is None else bias
        if mode == "transpose":
            self.up: nn.Module = nn.ConvTranspose2d(in_ch, out_ch, kernel, stride=2, padding=kernel // 2,
                                                    output_padding=1, bias=use_bias)
            self.post = nn.Sequential(make_norm(norm, out_ch), make_activation(act))
        elif mode == "nearest":
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.post = ConvBlock(in_ch, out_ch, kernel, 1, kernel // 2, norm=norm, act=act, pad=pad, bias=bias)
        else:
            raise ValueError(f"unknown upsampling mode {mode!r}; valid: transpose, nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.up(x))


class ResBlock(nn.Module):
    """x + [ConvBlock(3×3, norm, act) → ConvBlock(3×3, norm, no activation)](x), with optional dropout either
    between the two convs (``dropout_at="middle"``, CycleGAN) or after the second (``"end"``, UNIT)."""

    def __init__(self, channels: int, *, norm: str = "instance", act: str = "relu", pad: str = "reflect",
                 dropout: float = 0.0, dropout_at: str = "middle", bias: bool | None = None) -> None:
        super().__init__()
        if dropout_at not in ("middle", "end"):
            raise ValueError(f"dropout_at must be 'middle' or 'end', got {dropout_at!r}")
        layers: list[nn.Module] = [ConvBlock(channels, channels, 3, 1, 1, norm=norm, act=act, pad=pad, bias=bias)]
        if dropout > 0 and dropout_at == "middle":
            layers.append(nn.Dropout(dropout))
        layers.append(ConvBlock(channels, channels, 3, 1, 1, norm=norm, act="none", pad=pad, bias=bias))
        if dropout > 0 and dropout_at == "end":
            layers.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResBlocks(nn.Sequential):
    def __init__(self, n: int, channels: int, **kwargs: object) -> None:
        super().__init__(*[ResBlock(channels, **kwargs) for _ in range(n)])  # type: ignore[arg-type]


class MLP(nn.Module):
    """``n_layers`` linear layers: in → hidden (norm, act) → ... → out (no norm, no activation)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, n_layers: int, *, act: str = "relu") -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError("MLP needs at least one layer")
        dims = [in_dim] + [hidden] * (n_layers - 1) + [out_dim]
        layers: list[nn.Module] = []
        for i in range(n_layers):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < n_layers - 1:
                layers.append(make_activation(act))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))
