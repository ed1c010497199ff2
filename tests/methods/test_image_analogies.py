"""Image Analogies (methods/image_analogies): a trivial analogy is reproduced exactly; κ steers coherence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import BenchError
from methods import create_method
from methods.image_analogies.synthesis import Settings, prefer_coherence, synthesise

COLOURS = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.3, 0.9]])


def layouts() -> tuple[torch.Tensor, torch.Tensor]:
    """Rectangles of classes 1 and 2 on class 0, at least 3 px from each other and the border, so every 5×5
    window of B (edges, corners, padded border) also occurs in A."""
    a = torch.zeros(1, 20, 20, dtype=torch.long)
    a[:, 3:10, 3:12] = 1
    a[:, 12:17, 4:17] = 2
    b = torch.zeros(1, 20, 20, dtype=torch.long)
    b[:, 3:8, 9:17] = 2
    b[:, 11:17, 3:14] = 1
    return a, b


def colour_map(labels: torch.Tensor) -> torch.Tensor:
    return COLOURS[labels].permute(0, 3, 1, 2)


def test_reproduces_a_colour_map_analogy_exactly() -> None:
    """A′ = colours(A) ⇒ B′ = the same colours on B, pixel for pixel (one-hot inputs, as the protocol passes)."""
    a, b = layouts()
    method = create_method("image_analogies", levels=2, kappa=0.0, test_size=None)  # no coherence: best matches
    one_hot = torch.nn.functional.one_hot
    out = method.translate(one_hot(b, 3).permute(0, 3, 1, 2).float(), colour_map(a),
                           exemplar_labels=one_hot(a, 3).permute(0, 3, 1, 2).float())
    assert out.shape == (1, 3, 20, 20)
    torch.testing.assert_close(out, colour_map(b))


def test_kappa_decides_between_coherent_and_best_match() -> None:
    assert not prefer_coherence(d_app=1.0, d_coh=1.5, kappa=0.0, level=0)
    assert prefer_coherence(d_app=1.0, d_coh=1.5, kappa=1.0, level=0)
    assert not prefer_coherence(d_app=1.0, d_coh=1.5, kappa=1.0, level=2)  # 2^(l−L) weakens κ at coarse levels


def coherent_fraction(source: np.ndarray) -> float:
    """Share of pixels whose source continues their left neighbour's (s(q) = s(q − x̂) + x̂)."""
    step = source[:, 1:] - source[:, :-1]
    return float(((step[..., 0] == 0) & (step[..., 1] == 1)).mean())


def test_large_kappa_copies_coherent_runs() -> None:
    """A uniform layout over a noise texture: with κ = 0 the exact best match wins (scattered sources); a large κ
    keeps continuing neighbours' sources, so B′ becomes one contiguous copy of A′."""
    rng = np.random.default_rng(0)
    a = np.zeros((16, 16, 3), np.float32)
    a_prime = rng.random((16, 16, 3)).astype(np.float32)
    b = np.zeros((12, 12, 3), np.float32)
    fractions = [coherent_fraction(synthesise(a, a_prime, b, Settings(levels=1, kappa=k))[1]) for k in (0.0, 25.0)]
    assert fractions[0] < 0.9 and fractions[1] == 1.0, fractions  # κ = 25: B′ is one contiguous copy


def test_refuses_without_the_source_layout() -> None:
    a, b = layouts()
    with pytest.raises(BenchError, match="source image and its layout"):
        create_method("image_analogies", levels=2, test_size=None).translate(b, colour_map(a))
