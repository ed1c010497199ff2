"""``exemplar_fidelity``: per-region colour and texture error against the exact translation, checked against a direct
NumPy transcription of its definition, and the property it exists for: an output in one fixed style (the right
geometry, the exemplar ignored) cannot beat one that follows the exemplar."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metrics import create_metric

from .conftest import random_images


def direct(fake: np.ndarray, real: np.ndarray, labels: np.ndarray, mask: np.ndarray, min_pixels: int
           ) -> tuple[np.ndarray, np.ndarray]:
    colour, texture = [], []
    for f, r, lab, m in zip(fake, real, labels, mask, strict=True):
        c_err, t_err = [], []
        for c in np.unique(lab[m]):
            where = (lab == c) & m
            if where.sum() < min_pixels:
                continue
            pf, pr = f[:, where], r[:, where]  # [3,P]
            c_err.append(np.linalg.norm(pf.mean(1) - pr.mean(1)))
            t_err.append(np.abs(pf.std(1) - pr.std(1)).mean())
        colour.append(np.mean(c_err))
        texture.append(np.mean(t_err))
    return np.array(colour), np.array(texture)


def test_matches_a_direct_computation_on_a_tiny_case() -> None:
    metric = create_metric("exemplar_fidelity")
    fake, real = random_images(3, size=12, seed=1), random_images(3, size=12, seed=2)
    gen = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 4, (3, 12, 12), generator=gen)
    labels[2, :, :] = 0
    labels[2, 0, 0] = 3  # a one-pixel region: below min_region_pixels, left out
    mask = torch.rand(3, 12, 12, generator=gen) > 0.3
    scores = metric.per_image(fake, real, labels, mask)
    colour, texture = direct(fake.double().numpy(), real.double().numpy(), labels.numpy(), mask.numpy(), 4)
    np.testing.assert_allclose(scores["colour"].numpy(), colour, rtol=1e-9)
    np.testing.assert_allclose(scores["texture"].numpy(), texture, rtol=1e-9, atol=1e-12)
    value = metric(fake, real, labels, mask)
    assert value.name == "exemplar_fidelity_colour" and value.direction == "lower" and value.calibrated
    assert value.value == pytest.approx(colour.mean()) and value.extra["companions"][0].value == pytest.approx(
        texture.mean())
    assert metric(real, real, labels, mask).value == 0.0  # the exact translation scores 0
    # without labels and mask the whole image is one region
    whole = metric.per_image(fake, real)["colour"]
    np.testing.assert_allclose(whole.numpy(), np.linalg.norm(
        fake.double().mean((2, 3)).numpy() - real.double().mean((2, 3)).numpy(), axis=1), rtol=1e-9)


def parts(style: list[tuple[float, float, float]], stripes: list[bool]) -> torch.Tensor:
    """A 16×16 'object': two parts (left/right halves of rows 4..11) on a white background; a part with stripes
    alternates its colour with black every other column."""
    image = torch.ones(3, 16, 16)
    for k, (colour, striped) in enumerate(zip(style, stripes, strict=True)):
        region = image[:, 4:12, k * 8:(k + 1) * 8]
        region[:] = torch.tensor(colour)[:, None, None]
        if striped:
            region[:, :, ::2] = 0
    return image


def test_a_fixed_style_output_cannot_win() -> None:
    """Exact geometry in one fixed style (the audit's oracle) against exact translations under four exemplars: its
    colour and texture errors are large, an output that follows each exemplar (slightly off) scores far lower."""
    styles = [([(0.8, 0.1, 0.1), (0.1, 0.1, 0.8)], [False, True]), ([(0.2, 0.7, 0.2), (0.9, 0.9, 0.1)], [True, False]),
              ([(0.5, 0.3, 0.1), (0.1, 0.1, 0.1)], [False, False]), ([(0.9, 0.5, 0.7), (0.3, 0.6, 0.9)], [True, True])]
    exact = torch.stack([parts(*s) for s in styles])
    fixed = parts(*styles[0]).expand(4, -1, -1, -1)  # every exemplar rendered as the first one's style
    close = (exact * 0.95 + 0.02).clamp(0, 1)  # follows each exemplar, slightly off
    labels = torch.zeros(4, 16, 16, dtype=torch.long)
    labels[:, 4:12, :8], labels[:, 4:12, 8:] = 1, 2
    metric = create_metric("exemplar_fidelity")
    oracle, follower = metric(fixed, exact, labels, labels > 0), metric(close, exact, labels, labels > 0)
    assert oracle.value > 5 * follower.value and oracle.value > 0.3
    assert oracle.extra["companions"][0].value > 5 * follower.extra["companions"][0].value
    # ... while the fixed style is exact on the geometry (background white, parts where they belong)
    assert torch.equal((fixed < 1).any(1), (exact < 1).any(1))


def test_settings_describe_the_definition() -> None:
    metric = create_metric("exemplar_fidelity")
    assert metric.settings()["min_region_pixels"] == 4 and metric.settings()["reference"] == "exact translation"
    assert metric.settings_hash() != create_metric("exemplar_fidelity", min_region_pixels=9).settings_hash()
