"""The masked spatial-channel attention (MSCA) module of one scale (Zheng et al., ECCV 2020, §3.2, Eqs. 4–8), and
the two ablations of Table 1 that replace its attention: global average pooling (``gap``) and the one-hot label maps
of the exemplar and the target (``labels``, "w/o att").

Shapes (per batch item b): exemplar image features F_x2 [B,N,h2,w2], label features F_c1 [B,M,h1,w1] (target) and
F_c2 [B,M,h2,w2] (exemplar). The module returns F_x1 [B,N,h1,w1] and its maps: α [B,K,h2,w2] (sums to one over
h2·w2 per k), β [B,K,h1,w1] (sums to one over K per pixel) and the feature-masking gates [B,K] in (0,1).

The paper's Eq. 6 writes Ṽ = Vᵀ ∘ g and Eq. 8 F_x1 = Ṽ βᵀ, whose transposes do not compose (Vᵀ is K×N, βᵀ is
HW×K); its text fixes the meaning: gate g_k scales the k-th aggregated vector. So, per element,
F_x1[n, p] = Σ_k V[n, k] · g_k · β[k, p] with V[n, k] = Σ_q F_x2[n, q] · α[k, q].
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

Attention = Literal["msca", "gap", "labels"]
ATTENTIONS: tuple[str, ...] = get_args(Attention)


def spatial_softmax(logits: torch.Tensor) -> torch.Tensor:
    """softmax_{2,3} of Eq. 4: [B,K,h,w] logits → attention maps summing to one over h·w for each (b, k)."""
    return logits.flatten(2).softmax(-1).view_as(logits)


def aggregate(fx2: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Eq. 5, V = F_x2 αᵀ: features [B,N,h,w] pooled by K maps [B,K,h,w] → V [B,N,K]."""
    return torch.bmm(fx2.flatten(2), alpha.flatten(2).transpose(1, 2))


def distribute(v: torch.Tensor, gate: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Eqs. 6 and 8: the gated vectors V·diag(g) [B,N,K] spread over the target by β [B,K,h,w] → [B,N,h,w]."""
    out = torch.bmm(v * gate.unsqueeze(1), beta.flatten(2))
    return out.view(v.size(0), v.size(1), *beta.shape[-2:])


def label_attention(maps: torch.Tensor) -> torch.Tensor:
    """"w/o att" spatial attention: the exemplar's one-hot label map [B,C,h,w] normalised over space per class, so
    V holds each class's mean feature; a class absent from the exemplar gets an all-zero map (its V is zero)."""
    mass = maps.flatten(2).sum(-1).clamp_min(1e-12)[..., None, None]
    return maps / mass


class MSCAModule(nn.Module):
    """MSCA at one scale (§3.2).

    - ``msca``: α = softmax_{2,3}(φ * [F_x2, F_c2]) (Eq. 4; φ a 1×1 conv N+M → K, no bias: a per-map constant
      cancels in the spatial softmax), β = softmax_1(ψ * F_c1) (Eq. 7; ψ a 1×1 conv M → K, no bias, as the
      paper's ψ ∈ R^{M·K}).
    - ``gap``: K = 1, α constant (1/(h·w)), β = 1: F_x1 is F_x2's global average at every pixel (the paper's remark).
    - ``labels``: K = the label channels C; α from the exemplar's one-hot map (:func:`label_attention`), β the
      target's one-hot map: features move only between regions of the same class.

    Feature masking (Eq. 6, ``masking``): g = sigmoid(mlp([gap(F_c1), gap(F_c2)])), a 2-layer MLP 2M → ``hidden``
    → K with a ReLU between (the Squeeze-and-Excitation form the paper cites); without it g = 1.
    """

    def __init__(self, x_channels: int, c_channels: int, k: int, hidden: int, attention: str = "msca",
                 masking: bool = True, label_nc: int | None = None) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"unknown attention {attention!r}; valid: {', '.join(ATTENTIONS)}")
        if attention == "labels" and label_nc is None:
            raise ValueError("label attention needs label_nc")
        self.attention, self.masking = attention, masking
        self.k = {"msca": k, "gap": 1, "labels": label_nc}[attention]
        if attention == "msca":
            self.phi = nn.Conv2d(x_channels + c_channels, k, 1, bias=False)
            self.psi = nn.Conv2d(c_channels, k, 1, bias=False)
        if masking:
            self.mlp = nn.Sequential(nn.Linear(2 * c_channels, hidden), nn.ReLU(), nn.Linear(hidden, self.k))

    def maps(self, fx2: torch.Tensor, fc1: torch.Tensor, fc2: torch.Tensor, c1: torch.Tensor | None = None,
             c2: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """{"alpha" [B,K,h2,w2], "beta" [B,K,h1,w1], "gate" [B,K]}; ``c1``/``c2`` are the one-hot label maps at
        this scale (needed by ``labels`` only)."""
        b = fx2.size(0)
        if self.attention == "msca":
            alpha = spatial_softmax(self.phi(torch.cat([fx2, fc2], 1)))  # Eq. 4
            beta = self.psi(fc1).softmax(1)  # Eq. 7
        elif self.attention == "gap":
            alpha = fx2.new_full((b, 1, *fx2.shape[-2:]), 1.0 / (fx2.size(-2) * fx2.size(-1)))
            beta = fc1.new_ones((b, 1, *fc1.shape[-2:]))
        else:
            if c1 is None or c2 is None:
                raise ValueError("label attention needs the one-hot label maps c1 and c2")
            alpha, beta = label_attention(c2), c1
        if self.masking:  # Eq. 6
            gate = torch.sigmoid(self.mlp(torch.cat([fc1.mean((2, 3)), fc2.mean((2, 3))], 1)))
        else:
            gate = fx2.new_ones(b, self.k)
        return {"alpha": alpha, "beta": beta, "gate": gate}

    def forward(self, fx2: torch.Tensor, fc1: torch.Tensor, fc2: torch.Tensor, c1: torch.Tensor | None = None,
                c2: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(F_x1 [B,N,h1,w1], :meth:`maps`)."""
        m = self.maps(fx2, fc1, fc2, c1, c2)
        return distribute(aggregate(fx2, m["alpha"]), m["gate"], m["beta"]), m


def resize_labels(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """c^(i) of Eqs. 2–3: a one-hot map [B,C,H,W] resized (nearest, as SPADE loads label maps) to ``size``."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps, size=size, mode="nearest")
