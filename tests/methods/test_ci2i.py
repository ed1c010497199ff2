"""cI2I / cd-GAN specifics: sizes, the wiring of Fig. 2 and its dual losses, exemplar and content paths, training and
resume on a tiny set."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import BenchError
from methods import create_method
from methods.base import FitContext
from methods.ci2i import CI2I
from methods.ci2i.losses import dual_losses, dual_pass
from methods.common.images import to_signed, to_unit
from methods.training import CHECKPOINT_NAME
from tests.methods.conftest import preset_params, toy_domains, toy_train_data


def smoke(**overrides: object) -> CI2I:
    return create_method("ci2i", **preset_params("ci2i", "smoke", **overrides))  # type: ignore[return-value]


def test_paper_preset_sizes_and_parameter_counts() -> None:
    method = create_method("ci2i", **preset_params("ci2i", "paper"))
    # no official code exists: these are our layers (README), pinned so that a change is deliberate
    assert method.parameter_counts() == {"e_A": 8_150_792, "e_B": 8_150_792, "g_A": 6_367_747, "g_B": 6_367_747,
                                         "D_A": 2_764_737, "D_B": 2_764_737}
    independent, specific = method.nets["e_A"](torch.zeros(2, 3, 64, 64))
    assert independent.shape == (2, 256, 16, 16) and specific.shape == (2, 8)
    assert method.nets["g_B"](independent, specific).shape == (2, 3, 64, 64)
    method.check_image_size(28, 28)
    with pytest.raises(BenchError, match="30×30"):  # 30 → 15 → 7 → a 28×28 output
        method.check_image_size(30, 30)


def test_translation_is_the_target_generator_on_input_and_exemplar_features() -> None:
    method = smoke()
    a, b = toy_domains(3)
    n = method.nets
    with torch.no_grad():  # x_AB = g_B(x_A^i, x_B^s), x_BA = g_A(x_B^i, x_A^s)
        want_ab = to_unit(n["g_B"](n["e_A"](to_signed(a))[0], n["e_B"](to_signed(b))[1]))
        want_ba = to_unit(n["g_A"](n["e_B"](to_signed(b))[0], n["e_A"](to_signed(a))[1]))
    out_ab, out_ba = method.translate(a, b, "AB"), method.translate(b, a, "BA")
    assert out_ab.shape == out_ba.shape == (3, 3, 28, 28)
    torch.testing.assert_close(out_ab, want_ab)
    torch.testing.assert_close(out_ba, want_ba)
    one = method.translate(a, b[:1], "AB")  # one exemplar conditions the whole batch
    torch.testing.assert_close(one[1:], method.translate(a[1:], b[:1], "AB"))
    with pytest.raises(BenchError, match="needs an exemplar"):
        method.translate(a, None, "AB")
    with pytest.raises(BenchError, match="exemplar useless"):
        smoke(gen_norm="instance")


def test_exemplar_and_content_each_change_the_output() -> None:
    method = smoke()
    torch.manual_seed(0)
    method.init_weights()  # the initialisation ``fit`` starts from
    a, b = toy_domains(4, seed=3)
    base = method.translate(a[:2], b[:2], "AB")
    assert (base - method.translate(a[:2], b[2:], "AB")).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # exemplar
    assert (base - method.translate(a[2:], b[:2], "AB")).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # content


def test_dual_pass_follows_figure_2_and_the_losses_are_squared_errors() -> None:
    method = smoke()
    a, b = (to_signed(x) for x in toy_domains(2, seed=5))
    n = method.nets
    with torch.no_grad():
        p = method.forward_pass(a, b)
        i_a, s_a = n["e_A"](a)
        i_b, s_b = n["e_B"](b)
        x_ab, x_ba = n["g_B"](i_a, s_b), n["g_A"](i_b, s_a)
        i_a_hat, s_b_hat = n["e_B"](x_ab)
        i_b_hat, s_a_hat = n["e_A"](x_ba)
        # the reconstructions use the *original* specific features x_A^s, x_B^s (Fig. 2), not the re-encoded ones
        x_a_hat, x_b_hat = n["g_A"](i_a_hat, s_a), n["g_B"](i_b_hat, s_b)
        for got, want in ((p.x_ab, x_ab), (p.x_ba, x_ba), (p.i_a_hat, i_a_hat), (p.s_b_hat, s_b_hat),
                          (p.i_b_hat, i_b_hat), (p.s_a_hat, s_a_hat), (p.x_a_hat, x_a_hat), (p.x_b_hat, x_b_hat)):
            torch.testing.assert_close(got, want)
        assert not torch.allclose(p.x_a_hat, n["g_A"](i_a_hat, s_a_hat))  # the distinction above is not vacuous
        losses = dual_losses(p)
    torch.testing.assert_close(losses["dual_im"], ((x_a_hat - a) ** 2).mean() + ((x_b_hat - b) ** 2).mean())
    torch.testing.assert_close(losses["dual_di"], F.mse_loss(i_a_hat, i_a) + F.mse_loss(i_b_hat, i_b))
    torch.testing.assert_close(losses["dual_ds"], F.mse_loss(s_a_hat, s_a) + F.mse_loss(s_b_hat, s_b))


class _ShapeColourEncoder(nn.Module):
    """An ideal disentangler for images x = m·c (binary shape m, colour c ≠ 0): x^i = m, x^s = c."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = (x.abs().sum(1, keepdim=True) > 0).float()
        return mask, x.sum((2, 3)) / mask.sum((2, 3))


class _Painter(nn.Module):
    def forward(self, mask: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
        return mask * colour[:, :, None, None]


def test_ideal_disentangling_makes_every_dual_loss_vanish() -> None:
    # §3's premise: x_A = x_A^i ⊕ x_A^s. With encoders that split exactly and generators that recombine exactly,
    # x_AB carries x_A's shape in x_B's colour, and every reconstruction of Fig. 2 is exact.
    g = torch.Generator().manual_seed(0)
    masks = (torch.rand(4, 1, 8, 8, generator=g) > 0.5).float()
    masks[:, :, 0, 0] = 1  # never empty
    colours = torch.rand(4, 3, generator=g) + 0.1
    x_a, x_b = masks[:2] * colours[:2, :, None, None], masks[2:] * colours[2:, :, None, None]
    enc, gen = _ShapeColourEncoder(), _Painter()
    p = dual_pass(enc, enc, gen, gen, x_a, x_b)
    torch.testing.assert_close(p.x_ab, masks[:2] * colours[2:, :, None, None])
    torch.testing.assert_close(p.x_ba, masks[2:] * colours[:2, :, None, None])
    for name, value in dual_losses(p).items():
        assert value.item() == pytest.approx(0.0, abs=1e-12), name


def test_dual_losses_fall_on_a_tiny_set() -> None:
    method = smoke()
    a, b = (to_signed(x) for x in toy_domains(2, seed=7))
    history = [method.train_step(a, b) for _ in range(25)]
    total = [float(h["dual_im"] + h["dual_di"] + h["dual_ds"]) for h in history]
    assert sum(total[-5:]) / 5 < 0.6 * sum(total[:5]) / 5, total


class _Stop(Exception):
    pass


def test_resume_continues_the_interrupted_run(tmp_path: Path) -> None:
    data = toy_train_data(2)

    def run(workdir: Path, log: object = None) -> CI2I:
        method = smoke(steps=6, checkpoint_every=3)
        method.fit(data, FitContext(workdir=workdir, seed=1, progress=False, log_metrics=log))  # type: ignore[arg-type]
        return method

    def stop_after_checkpoint(step: int, values: dict[str, float]) -> None:
        if (tmp_path / "cut" / CHECKPOINT_NAME).exists():
            raise _Stop

    straight = run(tmp_path / "straight")
    with pytest.raises(_Stop):
        run(tmp_path / "cut", stop_after_checkpoint)
    resumed = run(tmp_path / "cut")
    a, b = toy_domains(2, seed=9)
    torch.testing.assert_close(resumed.translate(a, b, "AB"), straight.translate(a, b, "AB"))
    history = torch.load(tmp_path / "cut" / CHECKPOINT_NAME, weights_only=False)["history"]
    assert [r["step"] for r in history] == list(range(6))
