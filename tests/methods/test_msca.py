"""MSCA: Eqs. 2 and 4–8 against direct per-element computations, the attention maps' normalisations and gates, the
paper's remark that K = 1 with constant α is global average pooling, the "w/o att" label attention, the patch
sampling of the self-supervised tasks, the attention pre-training and resume across it, and each Table 1 variant."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from core.errors import BenchError
from methods import create_method
from methods.base import FitContext
from methods.msca import MSCA
from methods.msca.attention import MSCAModule
from methods.msca.networks import SCALES, LabelPyramid
from methods.msca.tasks import make_tasks, patch_pair
from methods.training import CHECKPOINT_NAME
from protocols.coco_stuff.figures import alpha_correlation
from tests.methods.conftest import preset_params
from tests.methods.labelmap_data import label_maps, labelmap_train_data, one_hot

VARIANTS = ["msca", "msca_gap", "msca_no_att", "msca_no_fm", "msca_no_global"]
C = 3  # label channels of the tiny data


def tiny_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """F_x2 [2,3,3,4] (exemplar), F_c1 [2,2,2,3] (target), F_c2 [2,2,3,4] (exemplar), float64."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 3, 3, 4, generator=g, dtype=torch.float64),
            torch.randn(2, 2, 2, 3, generator=g, dtype=torch.float64),
            torch.randn(2, 2, 3, 4, generator=g, dtype=torch.float64))


def module(attention: str = "msca", masking: bool = True, k: int = 4) -> MSCAModule:
    torch.manual_seed(0)
    return MSCAModule(3, 2, k, 5, attention, masking, label_nc=C).double()


def test_eqs_4_to_8_match_a_per_element_computation() -> None:
    fx2, fc1, fc2 = tiny_inputs()
    net = module()
    out, maps = net(fx2, fc1, fc2)
    phi, psi = net.phi.weight[:, :, 0, 0], net.psi.weight[:, :, 0, 0]  # [K, N+M], [K, M]
    lin1, lin2 = net.mlp[0], net.mlp[2]
    for b in range(2):
        ex = torch.cat([fx2[b], fc2[b]]).flatten(1)  # [N+M, HW2]
        logits = [[sum(float(phi[k, c]) * float(ex[c, q]) for c in range(5)) for q in range(12)] for k in range(4)]
        alpha = [[math.exp(v) / sum(math.exp(u) for u in row) for v in row] for row in logits]  # Eq. 4
        v = [[sum(fx2[b].flatten(1)[n, q] * alpha[k][q] for q in range(12)) for k in range(4)]
             for n in range(3)]  # Eq. 5
        pooled = torch.cat([fc1[b].mean((1, 2)), fc2[b].mean((1, 2))])
        hidden = [max(0.0, float(sum(lin1.weight[j, i] * pooled[i] for i in range(4)) + lin1.bias[j]))
                  for j in range(5)]
        gate = [1 / (1 + math.exp(-(sum(lin2.weight[k, j] * hidden[j] for j in range(5)) + lin2.bias[k])))
                for k in range(4)]  # Eq. 6
        target = fc1[b].flatten(1)  # [M, HW1]
        for p in range(6):
            z = [float(sum(psi[k, m] * target[m, p] for m in range(2))) for k in range(4)]
            beta = [math.exp(u) / sum(math.exp(w) for w in z) for u in z]  # Eq. 7
            for n in range(3):  # Eq. 8
                want = sum(v[n][k] * gate[k] * beta[k] for k in range(4))
                assert float(out[b].flatten(1)[n, p]) == pytest.approx(float(want), rel=1e-9, abs=1e-12)
                assert float(maps["beta"][b].flatten(1)[:, p][0]) == pytest.approx(beta[0], rel=1e-9)
        assert maps["alpha"][b].flatten(1).tolist() == pytest.approx(
            [pytest.approx(row, rel=1e-9) for row in alpha])
        assert maps["gate"][b].tolist() == pytest.approx(gate, rel=1e-9)


@pytest.mark.parametrize("attention", ["msca", "gap"])
def test_alpha_sums_to_one_over_space_beta_over_k_and_gates_lie_in_0_1(attention: str) -> None:
    maps = module(attention).maps(*tiny_inputs(1))
    k = 4 if attention == "msca" else 1
    assert maps["alpha"].shape == (2, k, 3, 4) and maps["beta"].shape == (2, k, 2, 3) and maps["gate"].shape == (2, k)
    torch.testing.assert_close(maps["alpha"].sum((2, 3)), torch.ones(2, k, dtype=torch.float64))
    torch.testing.assert_close(maps["beta"].sum(1), torch.ones(2, 2, 3, dtype=torch.float64))
    assert (maps["alpha"] >= 0).all() and (maps["beta"] >= 0).all()
    assert ((maps["gate"] > 0) & (maps["gate"] < 1)).all()


def test_k1_with_constant_alpha_is_global_average_pooling() -> None:
    fx2, fc1, fc2 = tiny_inputs(2)
    gap = fx2.mean((2, 3), keepdim=True).expand(-1, -1, 2, 3)
    net = module(masking=False, k=1)
    with torch.no_grad():
        net.phi.weight.zero_()  # constant logits: α = 1/(h·w); β = softmax over one map = 1
    torch.testing.assert_close(net(fx2, fc1, fc2)[0], gap)
    torch.testing.assert_close(module("gap", masking=False)(fx2, fc1, fc2)[0], gap)  # the msca_gap module


def test_label_attention_moves_features_between_regions_of_the_same_class() -> None:
    fx2, fc1, fc2 = tiny_inputs(3)
    c2 = one_hot(torch.tensor([[[0, 0, 1, 1]] * 3] * 2), C).double()  # exemplar: classes 0 and 1, no 2
    c1 = one_hot(torch.tensor([[[1, 2, 0]] * 2] * 2), C).double()  # target: classes 1, 2, 0 by column
    out, maps = module("labels", masking=False)(fx2, fc1, fc2, c1, c2)
    assert maps["alpha"].shape == (2, C, 3, 4) and maps["gate"].shape == (2, C)
    torch.testing.assert_close(maps["alpha"].sum((2, 3)), torch.tensor([[1.0, 1.0, 0.0]] * 2, dtype=torch.float64))
    mean0, mean1 = fx2[..., :2].mean((2, 3)), fx2[..., 2:].mean((2, 3))
    torch.testing.assert_close(out[..., 0], mean1[..., None].expand(-1, -1, 2))  # class 1 ← exemplar's class 1
    torch.testing.assert_close(out[..., 1], torch.zeros(2, 3, 2, dtype=torch.float64))  # class 2 is absent
    torch.testing.assert_close(out[..., 2], mean0[..., None].expand(-1, -1, 2))


def test_label_pyramid_is_eq_2_coarse_to_fine() -> None:
    torch.manual_seed(0)
    net = LabelPyramid(C, [2, 3, 2, 3, 2], slope=0.2)
    maps = [one_hot(label_maps(1, 32 >> i, C, seed=i), C) for i in range(SCALES)]
    out = net(maps)
    f = F.leaky_relu(F.conv2d(maps[4], net.convs[4].weight), 0.2)
    torch.testing.assert_close(out[4], f)
    for i in (3, 2, 1, 0):
        up = F.interpolate(f, scale_factor=2, mode="bilinear", align_corners=False)
        f = F.leaky_relu(F.conv2d(torch.cat([up, maps[i]], 1), net.convs[i].weight), 0.2)
        torch.testing.assert_close(out[i], f)


def test_patch_pairs_do_not_overlap_when_they_fit_and_stay_inside() -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        (tp, lp), (tq, lq) = patch_pair(64, 32, g)
        assert all(0 <= v <= 32 for v in (tp, lp, tq, lq))
        assert abs(tp - tq) >= 32 or abs(lp - lq) >= 32
        (tp, lp), (tq, lq) = patch_pair(64, 48, g)  # 384 of 512, scaled: the two ends of one axis
        assert {tp, tq} == {0, 16} or {lp, lq} == {0, 16}
    with pytest.raises(ValueError, match="does not fit"):
        patch_pair(32, 48, g)


def test_tasks_crop_both_patches_from_one_image_and_add_the_global_one() -> None:
    maps = label_maps(2, 64, C)
    image = torch.rand(2, 3, 64, 64)
    batch = make_tasks(one_hot(maps, C), image, 64, 32, False, True, torch.Generator().manual_seed(0))
    assert batch.c1.shape == (4, C, 32, 32) and batch.x2.shape == (4, 3, 32, 32) and batch.n_cross == 2
    for i in range(2):  # every cross patch is a crop of item i
        for crop in (batch.target[i], batch.x2[i]):
            windows = image[i].unfold(1, 32, 1).unfold(2, 32, 1)  # [3, 33, 33, 32, 32]
            assert (windows - crop[:, None, None]).abs().amax((0, 3, 4)).min() == 0
    torch.testing.assert_close(batch.x2[2:], batch.target[2:])  # global: the image is its own exemplar
    assert batch.slices(0.5) == [(slice(0, 2), 1.0), (slice(2, 4), 0.5)]


def build(name: str = "msca", **overrides: Any) -> MSCA:
    params = {**preset_params(name, "smoke"), "input_nc": C, "label_nc": C, **overrides}
    return create_method("msca", **params)  # type: ignore[return-value]


def fit(method: MSCA, workdir: Path, log: Any = None) -> list[dict[str, float]]:
    data = labelmap_train_data(2, 32, C)
    method.fit(data, FitContext(workdir=workdir, seed=0, progress=False, log_metrics=log))
    return torch.load(workdir / CHECKPOINT_NAME, weights_only=False)["history"]


def test_pretraining_loss_falls_and_precedes_the_gan_iterations(tmp_path: Path) -> None:
    history = fit(build(pretrain_steps=12, steps=14, lr=1e-2), tmp_path)
    pre = [row["pretrain"] for row in history[:12]]
    assert sum(pre[-3:]) < 0.8 * sum(pre[:3]), pre
    assert set(history[12]) == {"step", "GAN", "GAN_Feat", "VGG", "D_Fake", "D_real"}


def test_the_patch_grows_after_late_epoch_only_with_the_global_task() -> None:
    method = build(pretrain_steps=3, late_epoch=2, batch_size=2)
    assert [method.patch_size_at(s, 4, 2) for s in (0, 3, 6, 7, 20)] == [32, 32, 32, 48, 48]
    assert build("msca_no_global", late_epoch=2).patch_size_at(20, 4, 2) == 32


class _Interrupt(Exception):
    pass


def test_resume_across_pretraining_and_skipped_generator_steps_matches_a_straight_run(tmp_path: Path) -> None:
    overrides = {"pretrain_steps": 4, "steps": 10, "checkpoint_every": 6, "g_every": 3}
    straight = fit(build(**overrides), tmp_path / "straight")
    workdir = tmp_path / "interrupted"

    def interrupt(step: int, values: dict[str, float]) -> None:
        if (workdir / CHECKPOINT_NAME).exists():
            raise _Interrupt(step)

    with pytest.raises(_Interrupt):
        fit(build(**overrides, log_every=1), workdir, interrupt)
    resumed_method = build(**overrides)
    resumed = fit(resumed_method, workdir)
    assert [r["step"] for r in resumed] == list(range(10))
    for got, want in zip(resumed, straight, strict=True):
        assert got == pytest.approx(want, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("name", VARIANTS)
def test_each_variant_trains_translates_and_reports_its_maps(name: str, tmp_path: Path) -> None:
    method = build(name, steps=2)
    fit(method, tmp_path)
    maps_in = label_maps(2, 24, C, seed=5)
    content, labels = one_hot(maps_in, C), one_hot(maps_in.flip(-1), C)
    exemplar = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    out = method.translate(content, exemplar, exemplar_labels=labels)
    assert out.shape == (2, 3, 24, 24) and out.min() >= 0 and out.max() <= 1
    other = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # two steps barely move the image, but another exemplar must change every scale's F_x1
        conds = [method.G.condition(method._vgg(method._inputs(content, x, labels)[1]),
                                    *method._inputs(content, x, labels)[::2])[0] for x in (exemplar, other)]
    for scale in range(SCALES):
        assert (conds[0][scale] - conds[1][scale]).abs().amax() > 1e-3 * conds[0][scale].abs().amax()
    k = {"msca_gap": 1, "msca_no_att": C}.get(name, 16)
    for scale in (1, 4):
        side = 32 >> scale
        maps = method.attention_maps(content, exemplar, labels, scale=scale)
        assert maps["alpha"].shape == (2, k, side, side) and maps["beta"].shape == (2, k, side, side)
        torch.testing.assert_close(maps["beta"].sum(1), torch.ones(2, side, side))
        present = maps["alpha"].sum((2, 3))
        assert torch.allclose(present, torch.ones_like(present)) or name == "msca_no_att"
        gate = maps["gate"]
        assert gate.shape == (2, k)
        assert torch.equal(gate, torch.ones(2, k)) if name in ("msca_gap", "msca_no_fm") else \
            bool(((gate > 0) & (gate < 1)).all())
    with pytest.raises(BenchError, match="scale"):
        method.attention_maps(content, exemplar, labels, scale=5)


def test_alignment_init_keeps_the_k_alpha_maps_apart_where_xavier_collapses_them(tmp_path: Path) -> None:
    """The collapse measured on the scenes stand-in (README "attention collapse"), on tiny data: under SPADE's
    xavier(0.02), 30 Adam steps at the paper's lr turn the K α maps into copies of one map; PyTorch's default init
    (the default, ``alignment_init: pytorch``) leaves them about as distinct as at initialisation."""
    maps_in = label_maps(2, 32, C, seed=5)
    content, labels = one_hot(maps_in, C), one_hot(maps_in.flip(-1), C)
    exemplar = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    spread = {}
    for init in ("pytorch", "xavier"):
        method = build(alignment_init=init, steps=30, lr=2e-4, pretrain_steps=0)
        fit(method, tmp_path / init)
        spread[init] = [float(alpha_correlation(method.attention_maps(content, exemplar, labels, scale=s)["alpha"])
                              .mean()) for s in range(3)]
    assert max(spread["pytorch"]) < 0.6 and sum(spread["xavier"]) / 3 > 0.7, spread


def test_refusals() -> None:
    with pytest.raises(BenchError, match="K needs 5"):
        build(K=[8, 16])
    with pytest.raises(BenchError, match="attention"):
        build(attention="nonlocal")
    with pytest.raises(BenchError, match="patch_size_late"):
        build(patch_size_late=128)
    method = build()
    with pytest.raises(BenchError, match="label map"):
        method.translate(one_hot(label_maps(1, 32, C), C), torch.rand(1, 3, 32, 32))


def test_vgg_layers_are_one_relu_of_each_block_and_a_deeper_choice_builds() -> None:
    with pytest.raises(BenchError, match="vgg_layers"):
        build(vgg_layers=["relu1_1", "relu1_2", "relu3_1", "relu4_1", "relu5_1"])
    method = build(vgg_layers=["relu1_2", "relu2_2", "relu3_4", "relu4_4", "relu5_4"])
    maps = label_maps(1, 32, C)
    out = method.translate(one_hot(maps, C), torch.rand(1, 3, 32, 32), exemplar_labels=one_hot(maps, C))
    assert out.shape == (1, 3, 32, 32)
