"""SIA: the SFT modulation against its formula, the patch loss's nearest-patch search, the iteration schedule, shapes,
the aux_grad switch, the augmentation's identity at strength 0 and the parameter counts of the released classes.
Per-case re-initialisation and resume are checked here; falling loss, exemplar use and an interrupted resume are checked
on a toy case by tests/methods/test_all_methods.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from core.errors import BenchError
from methods import create_method
from methods.base import FitContext
from methods.sia import SIA, palette
from methods.sia.augment import augment, identity_grid, tps_grid
from methods.sia.losses import nearest_patches, patch_loss
from methods.sia.networks import DeeplabAux, FPSEDiscriminator, SIAGenerator, modulate
from methods.training import CHECKPOINT_NAME
from tests.methods.conftest import preset_params, toy_single_image_data

# ddlee-cn/SemIA@875b2c73's SemIAGenerator / FPSEDiscriminator / DeeplabNetwork built with the released defaults
# (base_nc 32, D_base_nc 64, Aux_base_nc 128, cond_nc 3) by importing the released modules; D's count is less its
# enc4/lat4/final4 (1,605,632 parameters), which its forward never uses and which are not built here.
OFFICIAL = {"G": 5_511_686, "D": 2_664_257 - 1_605_632, "Aux": 221_315}


def smoke(**overrides: Any) -> SIA:
    return create_method("sia", **preset_params("sia", "smoke", **overrides))  # type: ignore[return-value]


def test_modulation_matches_the_formula() -> None:
    g = torch.Generator().manual_seed(0)
    x, a, b = (torch.randn(2, 3, 4, 5, generator=g) for _ in range(3))
    want = torch.empty_like(x)
    for n in range(2):
        for c in range(3):
            v = x[n, c]
            mean, var = v.sum() / v.numel(), ((v - v.mean()) ** 2).sum() / (v.numel() - 1)  # unbiased, as released
            want[n, c] = a[n, c] * (v - mean) / (var + 1e-5).sqrt() + b[n, c]
    torch.testing.assert_close(modulate(x, a, b), want)


def test_sft_branches_see_the_ratio_and_difference_of_layout_features() -> None:
    torch.manual_seed(0)
    gen = SIAGenerator(3, base=4, levels=3).eval()
    src, tgt = torch.randn(1, 3, 16, 16), torch.randn(1, 3, 16, 16)
    seen: dict[str, list[torch.Tensor]] = {}
    gen.sft_alpha.register_forward_hook(lambda _m, args, _o: seen.__setitem__("ratio", args[0]))
    gen.sft_beta.register_forward_hook(lambda _m, args, _o: seen.__setitem__("diff", args[0]))
    with torch.no_grad():
        alphas, betas = gen.sft_params(src, tgt)
        _, fs = gen.encoder_c(src)
        _, ft = gen.encoder_c(tgt)
    for s, t, r, d in zip(fs, ft, seen["ratio"], seen["diff"], strict=True):
        torch.testing.assert_close(r, (t + 1e-14) / (s + 1e-14))
        torch.testing.assert_close(d, t - s)
    assert [a.shape[1] for a in alphas] == [8, 16, 32] and [b.shape[-1] for b in betas] == [8, 4, 2]
    with torch.no_grad():  # the decoder gets the same parameters in reverse order
        x = torch.randn(1, 3, 16, 16)
        out, params = gen(x, src, tgt)
        code, _ = gen.encoder_i(x, alphas, betas)
        torch.testing.assert_close(out, gen.decoder_i(code, alphas[::-1], betas[::-1]))
    assert out.shape == (1, 3, 16, 16) and len(params) == 3


def test_discriminator_and_aux_shapes() -> None:
    preds, feats = FPSEDiscriminator(8)(torch.randn(2, 3, 32, 24))
    assert [p.shape for p in preds] == [(2, 1, 8, 6), (2, 1, 4, 3)]
    assert [f.shape for f in feats] == [(2, 16, 8, 6), (2, 32, 4, 3)]
    assert DeeplabAux(5, 8)(torch.randn(1, 3, 32, 24)).shape == (1, 5, 32, 24)


def test_nearest_patch_search_finds_the_copied_patch() -> None:
    source = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8) ** 1.5  # every 3×3 patch distinct
    patch = source[..., 2:5, 3:6].clone()
    corners = nearest_patches(source, patch)
    assert corners.shape == (5, 2) and corners[0].tolist() == [2, 3]
    # the released search leaves out the last row and column of corners (range(0, H - s))
    last = source[..., 5:8, 5:8].clone()
    assert [5, 5] not in nearest_patches(source, last).tolist()
    assert nearest_patches(source, last)[0].tolist() == [4, 4]


def test_patch_loss_is_zero_on_a_constant_image_and_positive_otherwise() -> None:
    flat = [torch.ones(1, 2, 8, 8), torch.ones(1, 2, 4, 4)]
    assert float(patch_loss(flat, [f.clone() for f in flat], torch.Generator().manual_seed(0))) == 0.0
    other = [f + 0.5 for f in flat]
    assert float(patch_loss(flat, other, torch.Generator().manual_seed(0))) == pytest.approx(0.5)


def test_iteration_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    method = smoke(g_steps=10)
    calls: list[tuple[str, int, bool]] = []
    monkeypatch.setattr(method, "_d_step", lambda *a: calls.append(("D", it, False)) or {})
    monkeypatch.setattr(method, "_aux_step", lambda *a: calls.append(("A", it, False)) or {})
    monkeypatch.setattr(method, "_g_step", lambda s, t, rec, g: calls.append(("G", it, rec)) or {})
    image, layout = torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16)
    for it in range(11):
        out = method.iteration(it, image, layout, torch.Generator().manual_seed(it))
        assert float(out["rec_iteration"]) == (it % 5 == 0)
    assert [it for it in range(11) if method.is_reconstruction(it)] == [0, 5, 10]
    for it in range(11):
        mine = [kind for kind, i, _ in calls if i == it]
        rec = it % 5 == 0
        assert mine == ["D"] + ["A"] * rec + ["G"] * 10 + ["D"]
        assert {r for kind, i, r in calls if i == it and kind == "G"} == {rec}


def test_lr_schedule_follows_the_released_decay() -> None:
    method = smoke(lr=0.01, stable_iter=10, niter_decay=20)
    for it, lr in ((0, 0.01), (11, 0.01), (12, 0.01 - 0.009 / 20), (31, 0.001)):
        method.set_lr(it)
        assert method.opt_g.param_groups[0]["lr"] == pytest.approx(lr / 2)
        assert method.opt_d.param_groups[0]["lr"] == pytest.approx(lr * 2)


@pytest.mark.parametrize("mode", ["paper", "official_code"])
def test_aux_grad_switch(mode: str) -> None:
    method = smoke(aux_grad=mode)
    image, layout = torch.rand(1, 3, 16, 16) * 2 - 1, method.encode_layout(torch.randint(0, 2, (1, 16, 16)))
    fake, _ = method.G(image, layout, layout.flip(-1))
    loss = method.aux_loss(fake, layout)
    assert float(loss.detach()) > 0
    if mode == "paper":
        loss.backward()
        grads = [p.grad for p in method.G.parameters() if p.grad is not None]
        assert grads and sum(float(g.abs().sum()) for g in grads) > 0
    else:  # a constant to G: no gradient can reach it
        assert not loss.requires_grad


def test_augmentation_is_the_identity_at_strength_zero_without_tps() -> None:
    image, layout = torch.rand(1, 3, 16, 24), torch.rand(1, 2, 16, 24).round()
    out = augment(image, layout, 0, 100, torch.Generator().manual_seed(0), use_tps=False)
    torch.testing.assert_close(out[0], image)
    assert torch.equal(out[1], layout)
    grid = identity_grid(4, 6)
    points = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [0.0, 0.0], [-1.0, 1.0], [1.0, 1.0]])
    torch.testing.assert_close(tps_grid(points, points, grid), grid, atol=1e-4, rtol=0)


def test_layout_encodings() -> None:
    ids = torch.tensor([[[0, 1], [2, 3]]])
    one_hot = torch.nn.functional.one_hot(ids, 4).permute(0, 3, 1, 2).float()
    method = smoke()
    torch.testing.assert_close(method.encode_layout(ids), method.encode_layout(one_hot))
    assert len({tuple(c.tolist()) for c in palette(40)}) == 40
    assert smoke(layout="onehot", label_nc=4).encode_layout(ids).equal(one_hot)


def test_bad_choice_is_refused() -> None:
    with pytest.raises(BenchError, match="aux_grad"):
        smoke(aux_grad="both")


def test_parameter_counts_match_the_released_classes() -> None:
    counts = {"G": SIAGenerator(3, 32, 3), "D": FPSEDiscriminator(64), "Aux": DeeplabAux(3, 128)}
    assert {k: sum(p.numel() for p in net.parameters()) for k, net in counts.items()} == OFFICIAL


def test_fit_reinitialises_per_case_and_resumes_within_one(tmp_path: Path) -> None:
    """A second case fitted by the same object starts from fresh weights (its history equals a fresh object's);
    a finished case's folder is resumed, not retrained (contract §1)."""
    data = toy_single_image_data(16, seed=3)
    method = smoke(steps=4)
    first = _fit(method, data, tmp_path / "case1")
    second = _fit(method, data, tmp_path / "case2")  # same object, new case folder: re-initialised
    assert len(second) == len(first) == 4
    for got, want in zip(second, first, strict=True):
        assert got == pytest.approx(want, rel=1e-5, abs=1e-7)
    weights = {k: v.clone() for k, v in method.G.state_dict().items()}
    assert _fit(smoke(steps=4), data, tmp_path / "case2") == second  # resumed from the finished checkpoint
    other = smoke(steps=4)
    other.load(tmp_path / "case2" / CHECKPOINT_NAME)
    assert all(torch.equal(v, other.G.state_dict()[k]) for k, v in weights.items())


def _fit(method: SIA, data: Any, workdir: Path) -> list[dict[str, float]]:
    method.fit(data, FitContext(workdir=workdir, seed=0, progress=False))
    return torch.load(workdir / CHECKPOINT_NAME, weights_only=False)["history"]
