"""SinGAN's per-scale networks, its image pyramid and its WGAN-GP penalty (Shaham et al., ICCV 2019, §2 and
Fig. 5; official code tamarott/SinGAN, SinGAN/models.py, SinGAN/functions.py).

Images are in [-1, 1] here (the official ``functions.norm``); the method converts at its boundary.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def pyramid_sizes(height: int, width: int, scale_factor: float = 0.75, min_size: int = 25,
                  max_size: int = 250) -> list[tuple[int, int]]:
    """The (H, W) of every scale, coarsest first, for an image of ``height`` × ``width`` pixels.

    The official formula (``functions.adjust_scales2image`` + ``functions.creat_reals_pyramid``)::

        num_scales = ceil(log_sf(min_size / min(H, W))) + 1
        scale2stop = ceil(log_sf(min(max_size, max(H, W)) / max(H, W)))
        stop_scale = num_scales - scale2stop                  # the pyramid has stop_scale + 1 scales
        scale1     = min(max_size / max(H, W), 1)             # the finest scale: the image fitted into max_size
        sf         = (min_size / min(H1, W1)) ** (1 / stop_scale)   # the refined factor, H1 × W1 = finest size
        scale i    = imresize(finest, sf ** (stop_scale - i)), i = 0 .. stop_scale

    with imresize's output size ceil(scale · size) (``SinGAN/imresize.py``, MATLAB's rule). ``ValueError`` when the
    image is smaller than ``min_size`` (the pyramid would have < 1 scale).
    """
    if min(height, width) < min_size:
        raise ValueError(f"a {height}×{width} image is smaller than min_size={min_size}")
    num_scales = math.ceil(math.log(min_size / min(height, width), scale_factor)) + 1
    longest = max(height, width)
    scale2stop = math.ceil(math.log(min(max_size, longest) / longest, scale_factor))
    stop_scale = num_scales - scale2stop
    scale1 = min(max_size / longest, 1.0)
    h1, w1 = math.ceil(height * scale1), math.ceil(width * scale1)
    if stop_scale < 1:
        return [(h1, w1)]
    sf = (min_size / min(h1, w1)) ** (1.0 / stop_scale)
    return [(math.ceil(h1 * sf ** (stop_scale - i)), math.ceil(w1 * sf ** (stop_scale - i)))
            for i in range(stop_scale + 1)]


def refined_scale_factor(sizes: list[tuple[int, int]]) -> float:
    """The pyramid's actual ratio between consecutive scales (``opt.scale_factor`` after adjust_scales2image)."""
    return 1.0 if len(sizes) < 2 else (sizes[0][0] / sizes[-1][0]) ** (1.0 / (len(sizes) - 1))


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic, antialiased resize of [N,C,H,W] to ``size`` (stands in for the official MATLAB-style ``imresize``;
    resizing straight to the next scale's size replaces its resize-then-crop)."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=True)


def scale_width(scale: int, nfc: int, max_width: int = 128) -> int:
    """Channels at ``scale`` (0 = coarsest): ``nfc`` doubled every 4 scales, at most 128 (``training.train``)."""
    return min(nfc * 2 ** (scale // 4), max_width)


def _block(cin: int, cout: int) -> nn.Sequential:
    """conv 3×3 (no padding) + BatchNorm + LeakyReLU(0.2): ``models.ConvBlock``."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2))


def _trunk(width: int, num_layer: int) -> nn.Sequential:
    """head + (num_layer − 2) body blocks; with nfc = min_nfc every block is ``width`` → ``width``."""
    return nn.Sequential(_block(3, width), *[_block(width, width) for _ in range(num_layer - 2)])


def init_weights(module: nn.Module) -> None:
    """``models.weights_init``: conv weights N(0, 0.02), norm weights N(1, 0.02) and biases 0."""
    if isinstance(module, nn.Conv2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ScaleGenerator(nn.Module):
    """G_n: ``x̃_n = (x̃_{n+1}↑) + ψ_n(z_n + x̃_{n+1}↑)`` (paper Fig. 5; ``models.GeneratorConcatSkip2CleanAdd``).

    forward(noisy [N,3,H,W], prev [N,3,H,W]) → [N,3,H,W]: both inputs are zero-padded by num_layer pixels
    (``training.train_single_scale``'s ``m_noise``/``m_image``), the valid convolutions bring them back to H × W.
    """

    def __init__(self, width: int, num_layer: int = 5) -> None:
        super().__init__()
        self.pad = num_layer  # ((ker_size − 1) · num_layer) / 2 with 3×3 kernels
        self.body = _trunk(width, num_layer)
        self.tail = nn.Sequential(nn.Conv2d(width, 3, 3), nn.Tanh())

    def forward(self, noisy: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(F.pad(noisy, [self.pad] * 4))) + prev


class ScaleCritic(nn.Module):
    """D_n: a fully convolutional patch critic (``models.WDiscriminator``), [N,3,H,W] → [N,1,H−2L,W−2L] scores."""

    def __init__(self, width: int, num_layer: int = 5) -> None:
        super().__init__()
        self.body = _trunk(width, num_layer)
        self.tail = nn.Conv2d(width, 1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(x))


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, weight: float) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017) as ``functions.calc_gradient_penalty``: one uniform α for the whole batch,
    x̂ = α·real + (1−α)·fake, and ``weight · mean((‖∇_x̂ ΣD(x̂)‖₂ − 1)²)`` where the norm runs over the channel axis
    only (per pixel, as the official ``gradients.norm(2, dim=1)``), the mean over batch and pixels."""
    alpha = torch.rand(1, 1, 1, 1, device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    grads = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)[0]
    return ((grads.norm(2, dim=1) - 1) ** 2).mean() * weight
