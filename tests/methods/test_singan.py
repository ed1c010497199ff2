"""SinGAN: the official pyramid formula, the WGAN-GP penalty, the coarsest scale's reconstruction, the composite
injection of the editing mode and the per-scale resume."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from methods import create_method
from methods.base import FitContext
from methods.singan import SinGAN
from methods.singan.composite import composite
from methods.singan.networks import gradient_penalty, pyramid_sizes
from methods.training import CHECKPOINT_NAME
from tests.methods.conftest import preset_params, toy_single_image_data


def official_sizes(h: int, w: int, sf0: float, min_size: int, max_size: int) -> list[tuple[int, int]]:
    """Transcribed from tamarott/SinGAN SinGAN/functions.py ``adjust_scales2image`` + ``creat_reals_pyramid`` with
    SinGAN/imresize.py ``fix_scale_and_size`` (output = ceil(input · scale))."""
    num_scales = math.ceil(math.log(math.pow(min_size / min(h, w), 1), sf0)) + 1
    scale2stop = math.ceil(math.log(min([max_size, max([h, w])]) / max([h, w]), sf0))
    stop_scale = num_scales - scale2stop
    scale1 = min(max_size / max([h, w]), 1)
    h1, w1 = math.ceil(h * scale1), math.ceil(w * scale1)
    sf = math.pow(min_size / min(h1, w1), 1 / stop_scale)
    return [(math.ceil(h1 * math.pow(sf, stop_scale - i)), math.ceil(w1 * math.pow(sf, stop_scale - i)))
            for i in range(stop_scale + 1)]


@pytest.mark.parametrize("h,w", [(256, 256), (250, 375), (64, 64), (480, 640), (100, 37), (28, 28)])
def test_pyramid_sizes_follow_the_official_formula(h: int, w: int) -> None:
    assert pyramid_sizes(h, w, 0.75, 25, 250) == official_sizes(h, w, 0.75, 25, 250)


def test_pyramid_sizes_known_values() -> None:
    sizes = pyramid_sizes(256, 256)  # 10 scales; the float pow makes the coarsest ceil(25.000000000000014) = 26
    assert len(sizes) == 10 and sizes[0] == (26, 26) and sizes[-1] == (250, 250)
    assert pyramid_sizes(64, 64) == [(25, 25), (31, 31), (37, 37), (44, 44), (54, 54), (64, 64)]
    with pytest.raises(ValueError, match="smaller than min_size"):
        pyramid_sizes(20, 40)


def test_gradient_penalty_equals_the_closed_form_on_a_linear_critic() -> None:
    critic = nn.Conv2d(3, 1, 1)  # D(x) = w·x + b per pixel: ∇ₓ ΣD = w at every pixel, ‖w‖ over channels
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([0.3, -1.2, 0.5]).view(1, 3, 1, 1))
    real, fake = torch.rand(2, 3, 5, 6), torch.rand(2, 3, 5, 6)
    got = gradient_penalty(critic, real, fake, 0.1)
    want = 0.1 * (math.sqrt(0.3 ** 2 + 1.2 ** 2 + 0.5 ** 2) - 1) ** 2
    assert float(got.detach()) == pytest.approx(want, rel=1e-5)
    got.backward()  # create_graph: the penalty trains the critic
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def build(**overrides: Any) -> SinGAN:
    return create_method("singan", **preset_params("singan", "smoke", **overrides))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[SinGAN, list[dict[str, float]]]:
    method = build(niter=30)
    workdir = tmp_path_factory.mktemp("singan")
    method.fit(toy_single_image_data(28), FitContext(workdir=workdir, progress=False))
    return method, torch.load(workdir / CHECKPOINT_NAME, weights_only=False)["history"]


def test_reconstruction_loss_falls_at_the_coarsest_scale(fitted: Any) -> None:
    method, history = fitted
    rec = [row["rec"] for row in history if row["scale"] == 0]
    assert len(rec) == 30 and method.sizes == [(17, 17), (20, 20), (24, 24), (28, 28)]
    assert np.mean(rec[-5:]) < 0.5 * np.mean(rec[:5]), rec


def test_z_star_reconstructs_the_image_better_than_random_noise(fitted: Any) -> None:
    method, _ = fitted
    real = toy_single_image_data(28).b[0]["image"][None] * 2 - 1
    rec = torch.mean((method.generate(reconstruct=True) - real) ** 2)
    rand = [torch.mean((method.generate(reconstruct=False, seed=s) - real) ** 2) for s in range(3)]
    assert float(rec) < 0.5 * min(float(r) for r in rand), (rec, rand)
    assert method.amps[0] == 1.0 and all(0 < a < 1 for a in method.amps[1:])  # σ_n = 0.1 · RMSE


def test_composite_copies_a_pasted_object_from_its_source_location() -> None:
    source = np.random.default_rng(0).random((3, 12, 12)).astype(np.float32)
    src_ids = np.zeros((12, 12), int)
    src_ids[1:4, 1:4] = 1
    tgt_ids = src_ids.copy()
    tgt_ids[7:10, 6:9] = 1  # the object pasted again, shifted by (6, 5)
    out = composite(source, src_ids, tgt_ids)
    np.testing.assert_array_equal(out[:, 7:10, 6:9], source[:, 1:4, 1:4])
    unchanged = src_ids == tgt_ids
    np.testing.assert_array_equal(out[:, unchanged], source[:, unchanged])


def test_injection_changes_the_output_only_where_the_layout_changes(fitted: Any) -> None:
    method, _ = fitted
    data = toy_single_image_data(28)
    source, src_ids = data.b[0]["image"][None], data.a[0]["label_map"][None]
    same = method.translate(src_ids, source, seed=0, exemplar_labels=src_ids)
    torch.testing.assert_close(same, source.clamp(0, 1))  # an unchanged layout keeps the source image
    target = src_ids.clone()
    target[:, 2:8, 2:8] = 1 - target[:, 2:8, 2:8]
    edited = method.translate(target, source, seed=0, exemplar_labels=src_ids)
    diff = (edited - source).abs().amax(1)[0]
    assert diff[2:8, 2:8].mean() > 0.05  # the edited region is re-synthesised
    assert diff[14:, 14:].max() < 1e-6  # beyond the dilated, blurred mask the source stays (official blend)
    assert not torch.equal(edited, method.translate(target, source, seed=1, exemplar_labels=src_ids))


class _Stop(Exception):
    pass


def test_a_killed_case_resumes_at_the_scale_it_reached(tmp_path: Path) -> None:
    data = toy_single_image_data(28)
    straight = build(steps=8)  # 4 scales × 2 iterations; checkpoint_every=0: only the per-scale checkpoints
    straight.fit(data, FitContext(workdir=tmp_path / "straight", progress=False))
    workdir = tmp_path / "killed"

    def stop(step: int, values: dict[str, float]) -> None:
        if step > 4:  # killed during scale 2
            raise _Stop

    with pytest.raises(_Stop):
        build(steps=8).fit(data, FitContext(workdir=workdir, progress=False, log_metrics=stop))
    blob = torch.load(workdir / CHECKPOINT_NAME, weights_only=False)
    assert blob["step"] == 4 and blob["state"]["nets"]["pyramid"]["done"] == 2
    resumed = build(steps=8)
    resumed.fit(data, FitContext(workdir=workdir, progress=False))
    assert resumed.done == 4 and resumed.fitted
    src_ids = data.a[0]["label_map"][None]
    target = data.meta["target"]["input"][None]
    args = dict(seed=2, exemplar_labels=src_ids)
    torch.testing.assert_close(resumed.translate(target, data.b[0]["image"][None], **args),
                               straight.translate(target, data.b[0]["image"][None], **args), rtol=1e-4, atol=1e-5)
