"""Exact soft correspondence (CoCosNet's warp) in memory linear in the number of positions.

CoCosNet (Zhang et al., CVPR 2020, §3.1, eq. 3–4; official ``models/networks/correspondence.py``,
``NoVGGCorrespondence.forward``) warps the exemplar with ``softmax(cos(x_i, y_j) / τ) · y`` over exemplar positions
j, τ = 0.01. That is attention with the cosine matrix as logits; the official code materialises the N×M matrix
(4096² per sample at 64×64; 65,536² = 17 GB fp32 at 256×256). ``soft_warp`` computes the same values and the same
gradients with a chunked kernel of its own (``_ChunkedSoftWarp``): it processes a block of query rows at a time,
each block holding whole rows of M logits, so the softmax of a block is exact without the online rescaling of
flash-attention; forward keeps only the output and one log-sum-exp per row, backward recomputes each block's
probabilities from them. Peak extra memory: two [B, rows, M] blocks plus the O((N+M)·(C+D)) inputs, outputs and
gradients. Why not ``torch.nn.functional.scaled_dot_product_attention``: on CPU it takes its non-materialising kernel
only for some shapes (a 3-d value fell back to the N×M path in the issue's measurement) and padding V to the key
width multiplies the P·V work by C/D; ``benchmarks/correspondence_memory.py`` records both.

Everything else CoCosNet needs from the same matrix: the cycle warp (``cycle_warp``, softmax over the other axis,
official ``f_div_C_v``), the warped exemplar mask in the same pass (``warp_exemplar`` concatenates the values), and
the match resolution (``match_size``/``warp_exemplar``, see ``warp_exemplar`` for where the resizing happens).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from core.errors import BenchError

# elements of one [B, rows, M] block (16 MiB in float32); backward holds two such blocks
CHUNK_ELEMENTS = 1 << 22
# match_resolution option → downsampling factor of the match grid relative to the image (CoCosNet: 1/4)
MATCH_FACTORS = {"1/4": 4, "1/2": 2, "full": 1}
# how the warped exemplar returns to image size: official nearest (default), bilinear (--warp_bilinear), or
# patch (--warp_patch, DeepFashion: each match position carries its factor×factor RGB patch)
UPSAMPLE_MODES = ("nearest", "bilinear", "patch")


def _check(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, temperature: float) -> None:
    if query.dim() != 3 or key.dim() != 3 or value.dim() != 3:
        raise ValueError(f"soft_warp needs query [B,N,C], key [B,M,C], value [B,M,D]; got shapes "
                         f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if query.shape[0] != key.shape[0] or key.shape[0] != value.shape[0]:
        raise ValueError(f"batch sizes differ: query {query.shape[0]}, key {key.shape[0]}, value {value.shape[0]}")
    if query.shape[2] != key.shape[2]:
        raise ValueError(f"query has {query.shape[2]} channels but key has {key.shape[2]}")
    if key.shape[1] != value.shape[1]:
        raise ValueError(f"key has {key.shape[1]} positions but value has {value.shape[1]}")
    if not float(temperature) > 0:
        raise BenchError(f"correspondence temperature must be > 0, got {temperature}",
                         hint="CoCosNet uses 0.01 (set temperature=0.01)")


def rows_per_chunk(batch: int, keys: int, chunk_size: int | None) -> int:
    """Query rows per block: ``chunk_size`` if given, else as many as keep a [batch, rows, keys] block within
    ``CHUNK_ELEMENTS`` (at least one row, so memory stays linear in ``keys`` however large)."""
    if chunk_size is not None:
        if int(chunk_size) < 1:
            raise BenchError(f"correspondence chunk_size must be >= 1, got {chunk_size}",
                             hint="leave it unset (null) to size blocks automatically")
        return int(chunk_size)
    return max(1, CHUNK_ELEMENTS // max(1, batch * keys))


class _ChunkedSoftWarp(torch.autograd.Function):
    """softmax(q·kᵀ / τ) · v, block by block over query rows; backward recomputes each block's probabilities."""

    @staticmethod
    def forward(ctx, query, key, value, temperature: float, rows: int):  # type: ignore[override]
        batch, n = query.shape[:2]
        out = value.new_empty(batch, n, value.shape[2])
        lse = query.new_empty(batch, n, 1)
        key_t = key.transpose(1, 2)
        for start in range(0, n, rows):
            block = slice(start, start + rows)
            logits = torch.bmm(query[:, block], key_t).div_(temperature)
            row_max = logits.amax(-1, keepdim=True)  # subtract the row max: τ = 0.01 makes logits reach ±100
            probs = logits.sub_(row_max).exp_()
            total = probs.sum(-1, keepdim=True)
            out[:, block] = torch.bmm(probs, value).div_(total)
            lse[:, block] = row_max + total.log()
            del logits, probs
        ctx.save_for_backward(query, key, value, out, lse)
        ctx.temperature, ctx.rows = temperature, rows
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        query, key, value, out, lse = ctx.saved_tensors
        temperature, rows = ctx.temperature, ctx.rows
        need_q, need_k, need_v = ctx.needs_input_grad[:3]
        grad_q = torch.empty_like(query) if need_q else None
        grad_k = torch.zeros_like(key) if need_k else None
        grad_v = torch.zeros_like(value) if need_v else None
        # d logits = P ∘ (dO·vᵀ − Σ_j P·(dO·vᵀ)) and Σ_j P_ij (dO·vᵀ)_ij = dO_i·O_i: no second pass over the rows
        delta = (grad_out * out).sum(-1, keepdim=True)
        key_t, value_t = key.transpose(1, 2), value.transpose(1, 2)
        for start in range(0, query.shape[1], rows):
            block = slice(start, start + rows)
            g = grad_out[:, block]
            probs = torch.bmm(query[:, block], key_t).div_(temperature).sub_(lse[:, block]).exp_()
            if need_v:
                grad_v.baddbmm_(probs.transpose(1, 2), g)
            if need_q or need_k:
                dlogits = probs.mul_(torch.bmm(g, value_t).sub_(delta[:, block])).div_(temperature)
                if need_q:
                    grad_q[:, block] = torch.bmm(dlogits, key)
                if need_k:
                    grad_k.baddbmm_(dlogits.transpose(1, 2), query[:, block])
            del probs
        return grad_q, grad_k, grad_v, None, None


def soft_warp(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, temperature: float,
              chunk_size: int | None = None) -> torch.Tensor:
    """``softmax(query · keyᵀ / temperature, dim=-1) · value`` without the N×M matrix.

    query [B,N,C], key [B,M,C] (CoCosNet: centred, L2-normalised feature vectors, so logits lie in ±1/τ), value
    [B,M,D] (any real values: RGB, one-hot masks, features) → [B,N,D], same dtype/device. Same values as
    ``soft_warp_dense`` and the same gradients w.r.t. all three inputs, within float32 round-off (tests); memory
    O(B·rows·M + (N+M)·(C+D)), where rows = ``chunk_size`` query rows per block (None: sized automatically, see
    ``rows_per_chunk``). Differentiable once (no double backward). ValueError on inconsistent shapes, BenchError on
    temperature ≤ 0 or chunk_size < 1.
    """
    _check(query, key, value, temperature)
    rows = rows_per_chunk(query.shape[0], key.shape[1], chunk_size)
    return _ChunkedSoftWarp.apply(query, key, value, float(temperature), rows)


def soft_warp_dense(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, temperature: float) -> torch.Tensor:
    """The reference product as the official code computes it: the [B,N,M] matrix, softmax over M, times value."""
    _check(query, key, value, temperature)
    return torch.softmax(torch.bmm(query, key.transpose(1, 2)) / temperature, dim=-1) @ value


def cycle_warp(query: torch.Tensor, key: torch.Tensor, warped: torch.Tensor, temperature: float,
               chunk_size: int | None = None) -> torch.Tensor:
    """Warp ``warped`` [B,N,D] (values on the query grid) back to the key grid → [B,M,D] with the transposed
    matrix, softmax over the N query positions: the official ``softmax(f.transpose(1, 2)) · y`` (warp cycle loss).
    The logits matrix of (key, query) is the transpose of that of (query, key), so this is ``soft_warp`` with the
    roles swapped; gradients flow into ``warped`` as in the official code (it is not detached there)."""
    return soft_warp(key, query, warped, temperature, chunk_size)


def match_size(image_hw: tuple[int, int], match_resolution: str) -> tuple[int, int]:
    """(H, W) of the image → (h, w) of the match grid for ``match_resolution`` in ``MATCH_FACTORS`` ("1/4" is the
    paper's and the official default). BenchError on an unknown option or a size the factor does not divide."""
    if match_resolution not in MATCH_FACTORS:
        raise BenchError(f"unknown match_resolution {match_resolution!r}",
                         hint=f"use one of {', '.join(MATCH_FACTORS)} (CoCosNet's paper matches at 1/4)")
    factor = MATCH_FACTORS[match_resolution]
    height, width = image_hw
    if height % factor or width % factor:
        raise BenchError(f"image size {height}×{width} is not divisible by {factor} (match_resolution "
                         f"{match_resolution})", hint=f"use a crop size that is a multiple of {factor}")
    return height // factor, width // factor


def resize_features(features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[B,C,h,w] feature maps → [B,C,*size]: bilinear up (align_corners=False), area-average down, unchanged if
    equal. Meant for the projected match features *before* patch unfolding, centring and L2 normalisation (an
    interpolated unit vector is not a unit vector)."""
    if tuple(features.shape[-2:]) == tuple(size):
        return features
    if features.shape[-2] < size[0]:
        return F.interpolate(features, size=size, mode="bilinear", align_corners=False)
    return F.adaptive_avg_pool2d(features, size)


@dataclass
class Warp:
    """What ``warp_exemplar`` returns (f = image size / match grid size). ``image`` [B,3,H,W]: the warped exemplar
    at image size (the generator's conditioning). ``image_low``: the warped exemplar on the match grid, [B,3,h,w]
    (nearest/bilinear) or, in patch mode, the folded patches [B,3,H,W]; the cycle warp takes it back.
    ``exemplar_low``: the exemplar as the match grid sees it, same shape as ``image_low`` (the cycle loss target).
    ``mask_low`` [B,K,h,w]: the warped exemplar labels (mask loss), or None. ``cycle``: the cycle-warped exemplar,
    shaped like ``image_low``, or None."""

    image: torch.Tensor
    image_low: torch.Tensor
    exemplar_low: torch.Tensor
    mask_low: torch.Tensor | None = None
    cycle: torch.Tensor | None = None


def warp_exemplar(query: torch.Tensor, key: torch.Tensor, exemplar: torch.Tensor, temperature: float,
                  exemplar_labels: torch.Tensor | None = None, cycle: bool = False, upsample: str = "nearest",
                  chunk_size: int | None = None) -> Warp:
    """Warp the exemplar (and its labels, in the same pass) with the match of ``query`` against ``key``.

    query, key: [B,C,h,w] match features already on the match grid (h, w) = ``match_size(image, resolution)``,
    centred and L2-normalised along C (CoCosNet: 3×3-patch vectors, C = 2304). exemplar [B,3,H,W] (any range; the
    official code warps [-1,1] images), exemplar_labels [B,K,H,W] one-hot or None.

    Where the resizing happens (the official pipeline at f = H/h): the exemplar is average-pooled f× to the match
    grid (``avg_pool2d``), the labels nearest-downsampled, both warped together (values concatenated, one pass over
    the matrix), then the RGB is upsampled f× ``nearest`` (default) or ``bilinear`` (``--warp_bilinear``); in
    ``patch`` mode (``--warp_patch``) each position carries its f×f patch (``unfold``) and the warped patches are
    folded back, so nothing is interpolated. Features reach the match grid in the caller: compute them at their
    native resolution and ``resize_features`` them before unfolding/normalising. At ``full`` resolution (f = 1) the
    pooling and upsampling are identities. This keeps the adaptors of the official 1/4 network (same parameter
    counts) for every grid; the official ``--warp_stride 2`` reaches 1/2 instead by dropping the stride of the
    adaptors' 4th conv (a different network when ``adaptor_kernel`` is 4). Memory and time per grid size:
    ``benchmarks/results/correspondence_memory.md``. BenchError on an unknown ``upsample`` or an image the grid
    does not tile.
    """
    if upsample not in UPSAMPLE_MODES:
        raise BenchError(f"unknown warp upsampling {upsample!r}", hint=f"use one of {', '.join(UPSAMPLE_MODES)}")
    if query.shape != key.shape:
        raise ValueError(f"query and key maps must share one match grid, got {tuple(query.shape)} and "
                         f"{tuple(key.shape)}")
    batch, _, h, w = query.shape
    height, width = exemplar.shape[-2:]
    if height % h or width % w or height // h != width // w:
        raise BenchError(f"a {h}×{w} match grid does not tile a {height}×{width} exemplar",
                         hint="build the features on match_size(image size, match_resolution)")
    factor = height // h
    q, k = query.flatten(2).transpose(1, 2), key.flatten(2).transpose(1, 2)
    if upsample == "patch":
        low = F.unfold(exemplar, factor, stride=factor).transpose(1, 2)  # [B, h·w, 3·f²]
    else:
        low = F.avg_pool2d(exemplar, factor).flatten(2).transpose(1, 2)  # [B, h·w, 3]
    values = [low]
    if exemplar_labels is not None:
        values.append(F.interpolate(exemplar_labels, size=(h, w), mode="nearest").flatten(2).transpose(1, 2))
    warped = soft_warp(q, k, torch.cat(values, -1), temperature, chunk_size)
    image_low = warped[..., :low.shape[-1]]
    mask_low = None
    if exemplar_labels is not None:
        mask_low = warped[..., low.shape[-1]:].transpose(1, 2).reshape(batch, -1, h, w)

    def to_grid(x: torch.Tensor) -> torch.Tensor:  # [B, h·w, D] → image-shaped tensor
        if upsample == "patch":
            return F.fold(x.transpose(1, 2), (height, width), factor, stride=factor)
        return x.transpose(1, 2).reshape(batch, -1, h, w)

    grid = to_grid(image_low)
    if upsample == "patch" or factor == 1:
        image = grid
    else:
        image = F.interpolate(grid, scale_factor=factor, mode=upsample,
                              **({"align_corners": False} if upsample == "bilinear" else {}))
    back = to_grid(cycle_warp(q, k, image_low, temperature, chunk_size)) if cycle else None
    exemplar_low = exemplar if upsample == "patch" else to_grid(low)
    return Warp(image=image, image_low=grid, exemplar_low=exemplar_low, mask_low=mask_low, cycle=back)
