"""Deep Image Analogy (methods/deep_image_analogy) on tiny images with a random VGG-19 (allow_uncalibrated)."""

from __future__ import annotations

import pytest
import torch
from scipy.sparse.linalg import spsolve

from core.errors import BenchError
from core.features.torchvision_nets import VGG19_RELU
from methods import METHODS, create_method
from methods.deep_image_analogy import DEFAULTS, official_size
from methods.deep_image_analogy.analogy import LEVELS, Network, Settings, magnitude_weight
from methods.deep_image_analogy.wls import edge_weights, system, wls_refine
from protocols.base import Offers

SMALL = {"allow_uncalibrated": True, "test_size": 32, "iterations": 1, "deconv_iters": 1}
OFFICIAL = "msracver/Deep-Image-Analogy@632b928 windows/deep_image_analogy/source/"
# parameter: (official value, where) — read from the official release, not from our code
PARAMETERS: dict[str, tuple[object, str]] = {
    "patch_sizes": ([3, 3, 3, 5, 5], "DeepAnalogy.cu:292-297 (sizes[0..4])"),
    "vote_patch": (3, "DeepAnalogy.cu:298, 636 (sizes[5], reconstruct_avg)"),
    "radii": ([None, 6, 6, 4, 4], "DeepAnalogy.cu:308-322 (range[0] = A's longer side / 16)"),
    "alphas": ([0.9, 0.8, 0.7, 0.2], "DeepAnalogy.cu:66 (weightLevel = 3), 275-279"),
    "weight_fn": ("step", "GeneralizedPatchMatch.cu:398-405 (fa = τ ≤ M ? weight : 0)"),
    "tau": (0.05, "GeneralizedPatchMatch.cu:398 (thre)"),
    "iterations": (10, "DeepAnalogy.cu:300 (params.iter)"),
    "deconv_iters": (100, "lbfgs.cu:68 (m_maxIter)"),
    "test_size": (None, "DeepAnalogy.cu:120-206 (sides 200-700, area <= 350000)"),
    "refine": ("wls", "DeepAnalogy.cu:649-677; README tips (photo to photo)"),
}


def images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, 24, 24, generator=torch.Generator().manual_seed(seed))


def test_output_shape_range_and_exemplar_dependence() -> None:
    method = create_method("deep_image_analogy", **SMALL)
    assert not method.calibrated
    content = torch.zeros(1, 20, 20, dtype=torch.long)  # layouts only give the output size
    target, ex1, ex2 = images(1, 0), images(1, 1), images(1, 2)
    out1 = method.translate(content, ex1, target_image=target)
    assert out1.shape == (1, 3, 20, 20) and out1.min() >= 0 and out1.max() <= 1
    assert torch.equal(out1, method.translate(content, ex1, target_image=target))
    assert (out1 - method.translate(content, ex2, target_image=target)).abs().max() > 1e-2


def test_output_is_made_of_the_exemplar_when_it_is_uniform() -> None:
    """A′ is voted from B′'s pixels: a uniform B′ gives a uniform A′ of its colour, whatever A is (before the WLS
    refinement, which puts A's detail back)."""
    method = create_method("deep_image_analogy", **SMALL, refine="none")
    exemplar = torch.full((1, 3, 24, 24), 0.25)
    out = method.translate(torch.zeros(1, 16, 16, dtype=torch.long), exemplar, target_image=images(1, 4))
    torch.testing.assert_close(out, torch.full((1, 3, 16, 16), 0.25))


def test_refuses_without_the_target_image() -> None:
    method = create_method("deep_image_analogy", **SMALL)
    with pytest.raises(BenchError, match="image behind the target layout"):
        method.translate(torch.zeros(1, 16, 16, dtype=torch.long), images(1, 1))
    caps = METHODS.get("deep_image_analogy").capabilities
    offers = Offers(training=frozenset({"single_image"}), label_maps=True, exemplar_labels=True, directions="AB")
    assert offers.refusal(caps) == "needs the image behind the target layout; this protocol has none"
    assert Offers(training=frozenset(), label_maps=True, exemplar_labels=True, target_image=True,
                  directions="AB").refusal(caps) is None


def test_blending_weight_follows_the_feature_magnitude() -> None:
    """M = min-max-normalised ‖F‖²; the official weight is α where M ≥ τ, else 0; the paper's is α·σ(κ(M − τ))."""
    features = torch.zeros(1, 2, 2)
    features[0] = torch.tensor([[1.0, 0.2], [0.25, 0.5]]).sqrt()  # ‖F‖² = 1, .2, .25, .5 → M = 1, 0, 1/16, 3/8
    step = magnitude_weight(features, alpha=0.6, kappa=300.0, tau=0.05)
    torch.testing.assert_close(step[0], torch.tensor([[0.6, 0.0], [0.6, 0.6]]))
    sigmoid = magnitude_weight(features, alpha=0.6, kappa=300.0, tau=0.05, fn="sigmoid")
    assert sigmoid[0, 0, 0] == pytest.approx(0.6) and sigmoid[0, 0, 1] < 1e-6
    assert sigmoid[0, 1, 0] == pytest.approx(0.6 / (1 + torch.exp(torch.tensor(-300 * (1 / 16 - 0.05)))).item())


def test_parameters_are_the_official_ones() -> None:
    for name, (value, where) in PARAMETERS.items():
        assert DEFAULTS[name] == value, f"{name}: official {value} ({OFFICIAL}{where}), ours {DEFAULTS[name]}"
    settings = Settings()  # the dataclass defaults agree with the method's
    assert list(settings.patch_sizes) == DEFAULTS["patch_sizes"] and list(settings.alphas) == DEFAULTS["alphas"]
    assert (settings.vote_patch, settings.deconv_iters, settings.iterations) == (3, 100, 10)
    assert LEVELS == ("relu5_1", "relu4_1", "relu3_1", "relu2_1", "relu1_1", "data")  # DeepAnalogy.cu:251-256


def test_official_size_limits() -> None:
    assert official_size(1000, 500) == (700, 350)  # a side over 700 → 700 (DeepAnalogy.cu:120-133)
    assert official_size(100, 150) == (200, 300)  # a side under 200 → 200 (135-149)
    assert official_size(690, 690) == (592, 592)  # area over 350 000 → scaled by √(350 000 / area) (181-187)
    assert official_size(480, 640) == (480, 640)
    with pytest.raises(BenchError, match="official size limits"):
        official_size(1000, 100)


def test_wls_solution_minimises_its_energy() -> None:
    """x = (I + L_w)⁻¹ b minimises Σ (x − b)² + Σ w (x_p − x_q)², w = 0.8 / (|Δgray| + 1e-4) (WLS.cpp), with the
    energy written out here term by term: its gradient at the sparse solve's x vanishes."""
    generator = torch.Generator().manual_seed(5)
    guide, b = torch.rand(3, 8, 8, generator=generator).double(), torch.rand(8, 8, generator=generator).double()
    gray = 0.299 * guide[0] + 0.587 * guide[1] + 0.114 * guide[2]
    wx = 0.8 / ((gray[:, 1:] - gray[:, :-1]).abs() + 1e-4)
    wy = 0.8 / ((gray[1:] - gray[:-1]).abs() + 1e-4)
    wx[-1], wy[:, -1] = 0, 0  # the official loop leaves the last row's w_x and the last column's w_y at 0
    for ours, direct in zip(edge_weights(guide.numpy()), (wx, wy), strict=True):
        torch.testing.assert_close(torch.from_numpy(ours), direct)
    solved = spsolve(system(guide.numpy()), b.numpy().ravel())
    x = torch.from_numpy(solved).reshape(8, 8).requires_grad_(True)
    energy = (x - b).pow(2).sum() + (wx * (x[:, 1:] - x[:, :-1]).pow(2)).sum() + (wy * (x[1:] - x[:-1]).pow(2)).sum()
    energy.backward()
    assert x.grad is not None and x.grad.abs().max() < 1e-7


def test_wls_refinement_keeps_a_colour_shift_and_the_photo() -> None:
    """A + WLS_A(A′) − WLS_A(A): the filter is linear and keeps constants, so A′ = A + c gives A + c, A′ = A gives A."""
    a = 0.2 + 0.5 * torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(6))
    shift = torch.tensor([0.1, -0.05, 0.2]).view(3, 1, 1)
    torch.testing.assert_close(wls_refine(a, a + shift), a + shift, rtol=0, atol=1e-6)
    torch.testing.assert_close(wls_refine(a, a), a, rtol=0, atol=1e-6)
    result = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(7))
    assert (wls_refine(a, result) - result).abs().max() > 1e-2  # it does change a foreign result


def test_refuses_a_size_relu5_1_cannot_take() -> None:
    with pytest.raises(BenchError, match="multiple of 16"):
        create_method("deep_image_analogy", **{**SMALL, "test_size": 40})


def test_network_cuts_chain_the_pyramid() -> None:
    """CNN_(L+2→L) of level L+2's features gives level L's (the two-level deconvolution's forward, Deconv.cpp:9),
    down to the image level ``data``."""
    method = create_method("deep_image_analogy", **SMALL)
    pyramid = method._pyramid(images(1, 8)[0, :, :16, :16])
    net = Network(method.vgg.features, VGG19_RELU)
    for level in range(len(LEVELS) - 2):
        with torch.no_grad():
            out = net.between(LEVELS[level + 2], LEVELS[level])(pyramid[level + 2][None])[0]
        torch.testing.assert_close(out, pyramid[level], rtol=1e-4, atol=1e-5)
