"""WCT²: photorealistic style transfer via wavelet transforms (Yoo, Uh, Chun, Kang, Ha, ICCV 2019; MSCA's [46]).

Our implementation of the official clovaai/WCT2 (``model.py``, ``transfer.py``, ``utils/core.py``, commit 22b16df),
written so that the official ``cat5`` checkpoints (``wave_encoder_cat5_l4.pth``, ``wave_decoder_cat5_l4.pth``) load
with ``strict=True``: same module names, shapes and order.

- Encoder: VGG-19 up to relu4_1 (a 1×1 ``conv0`` first, reflection-padded 3×3 convolutions) whose max-pooling is
  replaced by Haar wavelet pooling: LL goes on, the high-frequency bands LH, HL, HH are kept as skips (paper §3.1).
- Decoder (``cat5`` unpooling): the mirror image; each unpooling concatenates the four transposed-Haar outputs of
  (LL, LH, HL, HH) with the encoder's pre-pooling feature (5× channels), then a 3×3 convolution.
- ``transfer``: the official ``WCT2.transfer`` with ``transfer_at={encoder, skip, decoder}`` (its default): WCT after
  every encoder level, on every skip band, and before every decoder level whose style feature exists (levels 3, 2, 1;
  level 4 is skipped because the encoder already stylised it).
- ``wct``/``feature_wct``: the whitening-colouring transform of ``utils/core.py`` (from PhotoWCT): covariances
  regularised by ``+ eps·I`` (official: eps = 1), eigenvalues below 1e-5 dropped, output clamped to the content
  feature's range, blended with ``alpha`` (official default 1); with label maps, per label present in both maps with
  more than 10 pixels each and a size ratio below 100 (``compute_label_info``), other pixels keep their content
  feature. Label maps are resized to each feature's size by nearest neighbour.

Deviations, all numerical: eigendecompositions run in float64 (official: float32 ``torch.svd``); label maps are
resized with ``F.interpolate(mode="nearest")`` rather than PIL's NEAREST (sampling positions can differ by one pixel).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Haar analysis kernels [2, 2] of the official get_wav: L = (1, 1)/√2, H = (-1, 1)/√2, band XY = Xᵀ·Y.
_L = torch.tensor([1.0, 1.0]) / math.sqrt(2.0)
_H = torch.tensor([-1.0, 1.0]) / math.sqrt(2.0)
HAAR = {"LL": torch.outer(_L, _L), "LH": torch.outer(_L, _H), "HL": torch.outer(_H, _L), "HH": torch.outer(_H, _H)}
BANDS = ("LL", "LH", "HL", "HH")
TRANSFER_AT = ("encoder", "skip", "decoder")


def _haar_conv(channels: int, band: str, transpose: bool) -> nn.Module:
    """Depthwise stride-2 2×2 convolution (or its transpose) with a fixed Haar kernel; weight [C, 1, 2, 2]. It stays
    a (frozen) parameter because the official checkpoints store it as one."""
    kind = nn.ConvTranspose2d if transpose else nn.Conv2d
    conv = kind(channels, channels, kernel_size=2, stride=2, padding=0, bias=False, groups=channels)
    conv.weight = nn.Parameter(HAAR[band].expand(channels, 1, 2, 2).clone(), requires_grad=False)
    return conv


class HaarPool(nn.Module):
    """Wavelet pooling: [N, C, H, W] → four bands (LL, LH, HL, HH), each [N, C, H/2, W/2]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        for band in BANDS:
            self.add_module(band, _haar_conv(channels, band, transpose=False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self, band)(x) for band in BANDS)


class HaarUnpoolCat(nn.Module):
    """``cat5`` unpooling: bands [N, C, h, w] ×4 and the pre-pooling feature [N, C, 2h, 2w] → [N, 5C, 2h, 2w]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        for band in BANDS:
            self.add_module(band, _haar_conv(channels, band, transpose=True))

    def forward(self, bands: tuple[torch.Tensor, ...], original: torch.Tensor) -> torch.Tensor:
        return torch.cat([getattr(self, band)(b) for band, b in zip(BANDS, bands, strict=True)] + [original], dim=1)


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 0)  # padding is reflection, applied in forward


# Encoder levels (cat5): convolutions before the pooling, the pooling's index, convolutions after it.
_ENCODER_LEVELS: dict[int, tuple[tuple[str, ...], int | None, tuple[str, ...]]] = {
    1: ((), None, ("conv1_1",)),
    2: (("conv1_2",), 1, ("conv2_1",)),
    3: (("conv2_2",), 2, ("conv3_1",)),
    4: (("conv3_2", "conv3_3", "conv3_4"), 3, ("conv4_1",)),
}
# Decoder levels (cat5): convolutions before the unpooling, the unpooling's index, convolutions after it.
_DECODER_LEVELS: dict[int, tuple[tuple[str, ...], int | None, tuple[str, ...]]] = {
    4: (("conv4_1",), 3, ("conv3_4_2", "conv3_3", "conv3_2")),
    3: (("conv3_1",), 2, ("conv2_2_2",)),
    2: (("conv2_1",), 1, ("conv1_2_2",)),
    1: ((), None, ("conv1_1",)),  # the last convolution has no ReLU
}
Skips = dict[str, object]  # "pool{k}": [LH, HL, HH] tensors; "conv{k}_{j}": the pre-pooling feature


class WaveEncoder(nn.Module):
    """VGG-19 to relu4_1 with Haar pooling. Input RGB [N, 3, H, W] in [0, 1] (no ImageNet normalisation: ``conv0``
    learned it), H and W multiples of 8. Level outputs: 64 ch at H, 128 at H/2, 256 at H/4, 512 at H/8."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.relu = nn.ReLU(inplace=True)
        self.conv0 = nn.Conv2d(3, 3, 1, 1, 0)
        self.conv1_1, self.conv1_2, self.pool1 = _conv(3, 64), _conv(64, 64), HaarPool(64)
        self.conv2_1, self.conv2_2, self.pool2 = _conv(64, 128), _conv(128, 128), HaarPool(128)
        self.conv3_1 = _conv(128, 256)
        self.conv3_2, self.conv3_3, self.conv3_4 = _conv(256, 256), _conv(256, 256), _conv(256, 256)
        self.pool3 = HaarPool(256)
        self.conv4_1 = _conv(256, 512)

    def _relu_conv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.relu(getattr(self, name)(self.pad(x)))

    def encode(self, x: torch.Tensor, skips: Skips, level: int) -> torch.Tensor:
        """One level (1–4); fills ``skips`` with the pooled high-frequency bands and pre-pooling features."""
        before, pool, after = _ENCODER_LEVELS[level]
        if level == 1:
            x = self.conv0(x)
        for name in before:
            x = self._relu_conv(name, x)
        if pool is not None:
            skips[before[-1]] = x
            low, *high = getattr(self, f"pool{pool}")(x)
            skips[f"pool{pool}"] = high
            x = low
        for name in after:
            x = self._relu_conv(name, x)
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Skips]:
        skips: Skips = {}
        for level in (1, 2, 3, 4):
            x = self.encode(x, skips, level)
        return x, skips


class WaveDecoder(nn.Module):
    """The ``cat5`` decoder: relu4_1 features [N, 512, H/8, W/8] and the encoder's skips → RGB [N, 3, H, W]
    (unclamped; the official code clamps to [0, 1] when saving)."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.relu = nn.ReLU(inplace=True)
        self.conv4_1 = _conv(512, 256)
        self.recon_block3 = HaarUnpoolCat(256)
        self.conv3_4_2 = _conv(256 * 5, 256)
        self.conv3_3, self.conv3_2, self.conv3_1 = _conv(256, 256), _conv(256, 256), _conv(256, 128)
        self.recon_block2 = HaarUnpoolCat(128)
        self.conv2_2_2, self.conv2_1 = _conv(128 * 5, 128), _conv(128, 64)
        self.recon_block1 = HaarUnpoolCat(64)
        self.conv1_2_2, self.conv1_1 = _conv(64 * 5, 64), _conv(64, 3)

    def decode(self, x: torch.Tensor, skips: Skips, level: int) -> torch.Tensor:
        """One level (4 → 1); level 1 is the final RGB convolution."""
        before, unpool, after = _DECODER_LEVELS[level]
        for name in before:
            x = self.relu(getattr(self, name)(self.pad(x)))
        if unpool is not None:
            high = skips[f"pool{unpool}"]
            original = skips[_ENCODER_LEVELS[unpool + 1][0][-1]]  # the encoder feature that was pooled
            x = getattr(self, f"recon_block{unpool}")((x, *high), original)  # type: ignore[misc]
        for name in after:
            x = getattr(self, name)(self.pad(x))
            x = x if name == "conv1_1" else self.relu(x)
        return x

    def forward(self, x: torch.Tensor, skips: Skips) -> torch.Tensor:
        for level in (4, 3, 2, 1):
            x = self.decode(x, skips, level)
        return x


# -- the whitening-colouring transform ---------------------------------------------------------------------------
def _covariance_eig(centred: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors of X Xᵀ/(n−1) + eps·I for centred X [C, n], in float64."""
    n = centred.shape[1]
    x = centred.double()
    cov = x @ x.T / (n - 1 if n > 1 else 1) + eps * torch.eye(x.shape[0], dtype=torch.float64, device=x.device)
    return torch.linalg.eigh(cov)


def wct(content: torch.Tensor, style: torch.Tensor, eps: float = 1.0, clamp: bool = True,
        rank_tol: float = 1e-5) -> torch.Tensor:
    """Whitening-colouring transform of features [C, n] toward features [C, m] (Li et al. 2017; official
    ``wct_core``): whiten the centred content with (Σc + eps·I)^(-1/2), colour with (Σs + eps·I)^(1/2), add the
    style mean, clamp to the content's [min, max] (``clamp``). With eps = 0, no clamping and a full-rank content,
    the output's mean and covariance equal the style's. Eigenvalues below ``rank_tol`` are dropped (official
    ``get_rank``). Returns [C, n] in the content's dtype."""
    lo, hi = content.min(), content.max()
    c_mean = content.double().mean(dim=1, keepdim=True)
    s_mean = style.double().mean(dim=1, keepdim=True)
    centred = content.double() - c_mean
    c_val, c_vec = _covariance_eig(centred, eps)
    s_val, s_vec = _covariance_eig(style.double() - s_mean, eps)
    keep_c, keep_s = c_val >= rank_tol, s_val >= rank_tol
    c_vec, c_val = c_vec[:, keep_c], c_val[keep_c]
    s_vec, s_val = s_vec[:, keep_s], s_val[keep_s]
    whitened = c_vec @ torch.diag(c_val.rsqrt()) @ c_vec.T @ centred
    out = s_vec @ torch.diag(s_val.sqrt()) @ s_vec.T @ whitened + s_mean
    out = out.to(content.dtype)
    return out.clamp(lo, hi) if clamp else out


def usable_labels(content_labels: np.ndarray, style_labels: np.ndarray) -> list[int]:
    """Labels transferred segment-wise (official ``compute_label_info``): present in both full-size maps [H, W]
    with more than 10 pixels each and a size ratio below 100."""
    found = []
    for label in np.unique(content_labels):
        c_size, s_size = int((content_labels == label).sum()), int((style_labels == label).sum())
        if c_size > 10 and s_size > 10 and c_size / s_size < 100 and s_size / c_size < 100:
            found.append(int(label))
    return found


def _resize_labels(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(labels[None, None].float(), size=size, mode="nearest")[0, 0].long().flatten()


def feature_wct(content: torch.Tensor, style: torch.Tensor, content_labels: torch.Tensor | None = None,
                style_labels: torch.Tensor | None = None, labels: list[int] | None = None, alpha: float = 1.0,
                eps: float = 1.0, clamp: bool = True) -> torch.Tensor:
    """WCT of one feature map [1, C, h, w] toward [1, C, h', w'] (official ``feature_wct``). With label maps
    (int64 [H, W] each, full size) and the ``labels`` to transfer: per label, on the pixels of that label at this
    feature size when both maps have some; all other pixels keep the content feature. Output blended with the
    content by ``alpha``; ``eps`` and ``clamp`` as in ``wct``. Returns [1, C, h, w]."""
    c, h, w = content.shape[1:]
    flat_c, flat_s = content.reshape(c, -1), style.reshape(c, -1)
    if content_labels is None or style_labels is None or labels is None:
        out = wct(flat_c, flat_s, eps=eps, clamp=clamp)
    else:
        out = flat_c.clone()
        at_c = _resize_labels(content_labels, (h, w))
        at_s = _resize_labels(style_labels, tuple(style.shape[2:]))  # type: ignore[arg-type]
        for label in labels:
            where_c, where_s = at_c == label, at_s == label
            if where_c.any() and where_s.any():
                out[:, where_c] = wct(flat_c[:, where_c], flat_s[:, where_s], eps=eps, clamp=clamp)
    out = out.reshape_as(content)
    return alpha * out + (1 - alpha) * content


class WCT2(nn.Module):
    """Encoder + decoder and the official transfer. ``transfer_at`` ⊆ {encoder, skip, decoder} (default all)."""

    def __init__(self, transfer_at: tuple[str, ...] = TRANSFER_AT, alpha: float = 1.0, eps: float = 1.0) -> None:
        super().__init__()
        if not transfer_at or set(transfer_at) - set(TRANSFER_AT):
            raise ValueError(f"transfer_at must be a non-empty subset of {TRANSFER_AT}, got {transfer_at}")
        self.encoder, self.decoder = WaveEncoder(), WaveDecoder()
        self.transfer_at, self.alpha, self.eps = frozenset(transfer_at), alpha, eps

    def _style_features(self, style: torch.Tensor) -> tuple[dict[str, dict[int, torch.Tensor]], Skips]:
        """The style's encoder outputs per level, decoder inputs per level, and skips (official get_all_feature)."""
        skips: Skips = {}
        feats: dict[str, dict[int, torch.Tensor]] = {"encoder": {}, "decoder": {}}
        x = style
        for level in (1, 2, 3, 4):
            x = self.encoder.encode(x, skips, level)
            feats["encoder"][level] = x
        if "encoder" not in self.transfer_at:
            feats["decoder"][4] = x
        for level in (4, 3, 2):
            x = self.decoder.decode(x, skips, level)
            feats["decoder"][level - 1] = x
        return feats, skips

    @torch.no_grad()
    def transfer(self, content: torch.Tensor, style: torch.Tensor, content_labels: torch.Tensor | None = None,
                 style_labels: torch.Tensor | None = None) -> torch.Tensor:
        """Stylise one image: content RGB [1, 3, H, W] and style RGB [1, 3, H', W'] in [0, 1], H, W, H', W'
        multiples of 8; optional label maps int64 [H, W] and [H', W']. Returns RGB [1, 3, H, W] clamped to [0, 1]."""
        labels = None
        if content_labels is not None and style_labels is not None:
            labels = usable_labels(content_labels.cpu().numpy(), style_labels.cpu().numpy())

        def transform(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return feature_wct(x, y, content_labels, style_labels, labels, alpha=self.alpha, eps=self.eps)

        style_feats, style_skips = self._style_features(style)
        skips: Skips = {}
        x = content
        for level in (1, 2, 3, 4):
            x = self.encoder.encode(x, skips, level)
            if "encoder" in self.transfer_at:
                x = transform(x, style_feats["encoder"][level])
        if "skip" in self.transfer_at:
            for pool in ("pool1", "pool2", "pool3"):
                skips[pool] = [transform(x_band, y_band)
                               for x_band, y_band in zip(skips[pool], style_skips[pool], strict=True)]  # type: ignore
        for level in (4, 3, 2, 1):
            if "decoder" in self.transfer_at and level in style_feats["decoder"]:
                x = transform(x, style_feats["decoder"][level])
            x = self.decoder.decode(x, skips, level)
        return x.clamp(0, 1)
