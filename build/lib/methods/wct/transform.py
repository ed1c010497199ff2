"""The whitening and colouring transform (Li et al., NeurIPS 2017), as the official ``feature_wct``: centre the
features, drop eigenvalues below 1e-5, whiten the content with E_c D_c^{-1/2} E_cᵀ, colour with E_s D_s^{1/2} E_sᵀ
and add the style mean. Covariances are normalised by (H·W − 1).

The eigen-decomposition of f fᵀ/(n−1) is taken from the SVD of the centred feature matrix f (C×n): its left
singular vectors are the eigenvectors and S²/(n−1) the eigenvalues. That is exact and cheaper when n < C (deep
layers of small images), and it runs batched, in float64 for stability.
"""

from __future__ import annotations

import torch

EIG_EPS = 1e-5


def _eig(centred: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvectors [B,C,k] and eigenvalues [B,k] of the covariance of ``centred`` [B,C,n]."""
    n = centred.size(-1)
    u, s, _ = torch.linalg.svd(centred, full_matrices=False)
    return u, s.pow(2) / max(n - 1, 1)


def wct(content: torch.Tensor, style: torch.Tensor, eps: float = EIG_EPS) -> torch.Tensor:
    """Content features [B,C,H,W] re-coloured with the covariance and mean of style features [B,C,H',W']."""
    b, c, h, w = content.shape
    fc = content.reshape(b, c, -1).double()
    fs = style.reshape(b, c, -1).double()
    fc = fc - fc.mean(-1, keepdim=True)
    s_mean = fs.mean(-1, keepdim=True)
    fs = fs - s_mean

    u_c, e_c = _eig(fc)
    keep_c = e_c > eps
    d_c = torch.where(keep_c, e_c.clamp_min(eps).rsqrt(), torch.zeros_like(e_c))
    whitened = u_c @ (d_c.unsqueeze(-1) * (u_c.transpose(1, 2) @ fc))

    u_s, e_s = _eig(fs)
    d_s = torch.where(e_s > eps, e_s.clamp_min(0).sqrt(), torch.zeros_like(e_s))
    coloured = u_s @ (d_s.unsqueeze(-1) * (u_s.transpose(1, 2) @ whitened)) + s_mean
    return coloured.reshape(b, c, h, w).to(content.dtype)


def blend(stylised: torch.Tensor, content: torch.Tensor, alpha: float) -> torch.Tensor:
    """f = α·f_cs + (1 − α)·f_c: α controls the strength of the stylisation."""
    return alpha * stylised + (1.0 - alpha) * content
