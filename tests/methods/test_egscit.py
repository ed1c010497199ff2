"""EGSC-IT: conditioning maths against hand computations, the two-stage training contract (frozen stage-0 encoders,
resume into the right stage), the ablation switches, and the per-dataset configs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from bench.config import CONFIG_DIR, compose_run, load_method_config, method_class, method_params
from core.errors import BenchError, MissingWeightsError
from core.weights import locate
from datasets.base import TensorImageSet, TrainData
from methods import create_method
from methods.base import FitContext
from methods.egscit import DEFAULTS, TABLE6_KEYS
from methods.egscit.conditioning import exemplar_adain, feature_mask

# A tiny, fast model: 16×16 images, 8 channels, no perceptual loss (no VGG) unless a test asks for it.
TINY = {"ngf": 8, "ndf": 8, "n_res": 1, "n_dis": 2, "batch_size": 4, "lr": 1e-3, "steps": 2, "stage0_steps": 2,
        "g_updates": 2, "perceptual": False, "checkpoint_every": 0, "log_every": 1, "augment": True}


@pytest.fixture(autouse=True)
def single_thread():  # type: ignore[no-untyped-def]
    """These networks are tiny: one thread is several times faster than two on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)  # as the runner does before building a method (weights are initialised from it)
    yield
    torch.set_num_threads(threads)


def tiny_data(n: int = 8, size: int = 16, seed: int = 0) -> TrainData:
    """Domain A: grey squares on black; domain B: the same shapes in a random colour (a learnable colour task)."""
    g = torch.Generator().manual_seed(seed)
    masks = torch.zeros(n, 1, size, size)
    for i in range(n):
        top, left = torch.randint(0, size // 2, (2,), generator=g).tolist()
        masks[i, :, top:top + size // 2, left:left + size // 2] = 1
    colours = torch.rand(n, 3, 1, 1, generator=g)
    return TrainData(TensorImageSet(masks.expand(n, 3, size, size).clone()), TensorImageSet(masks * colours),
                     "unpaired")


def fit(method, workdir: Path, data: TrainData | None = None, log=None):  # type: ignore[no-untyped-def]
    method.fit(data or tiny_data(), FitContext(workdir=workdir, seed=0, progress=False, log_metrics=log))
    return method


# -- conditioning maths ---------------------------------------------------------------------------------------------
def test_exemplar_adain_matches_hand_computation_for_both_variants() -> None:
    content = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2)  # mean 2.5, population variance 1.25
    style_mean, style_var = torch.tensor(3.0).view(1, 1, 1, 1), torch.tensor(4.0).view(1, 1, 1, 1)
    paper = exemplar_adain(content, style_mean, style_var, "paper", eps=0.0)
    expected_paper = [2.0 * (x - 2.5) / math.sqrt(1.25) + 3.0 for x in (1, 2, 3, 4)]  # σ_ex·(x−μ)/σ + μ_ex
    assert paper.flatten().tolist() == pytest.approx(expected_paper, abs=1e-6)
    code = exemplar_adain(content, style_mean, style_var, "official_code", eps=0.0)
    expected_code = [3.0 * (x - 2.5) / 1.25 + 4.0 for x in (1, 2, 3, 4)]  # μ_ex·(x−μ)/σ² + σ²_ex
    assert code.flatten().tolist() == pytest.approx(expected_code, abs=1e-6)
    assert torch.equal(exemplar_adain(content, style_mean, style_var, "none"), content)
    with pytest.raises(ValueError, match="unknown adain"):
        exemplar_adain(content, style_mean, style_var, "textbook")


def test_feature_mask_lies_in_eta_to_one() -> None:
    f = torch.linspace(-60, 60, 241).view(1, 1, 1, -1)
    for eta in (0.0, 0.5, 0.9):
        mask = feature_mask(f, eta)
        assert mask.min().item() >= eta - 1e-7 and mask.max().item() <= 1.0  # float32 rounding of η
        assert mask.min().item() == pytest.approx(eta, abs=1e-6) and mask.max().item() == pytest.approx(1.0)
    assert torch.allclose(feature_mask(f, 0.5), torch.sigmoid(f) / 2 + 0.5)  # the official code's form
    assert feature_mask(torch.randn(2, 4, 3, 3), 0.5, size=(6, 6)).shape == (2, 4, 6, 6)


# -- training contract ----------------------------------------------------------------------------------------------
def test_stage1_leaves_the_frozen_stage0_weights_unchanged(tmp_path: Path) -> None:
    method = fit(create_method("egscit", **TINY), tmp_path)
    stage0 = torch.load(tmp_path / "stage0" / "last.pt", weights_only=False)["state"]["nets"]
    for name in ("vae_a", "vae_b"):  # their encoders are F_A, F_B in stage 1
        final = getattr(method, name).state_dict()
        assert all(torch.equal(final[k], stage0[name][k]) for k in final), f"{name} changed in stage 1"
    changed = [k for k, v in method.enc_a.state_dict().items() if not torch.equal(v, stage0["enc_a"][k])]
    assert changed, "stage 1 did not train the translator"
    assert (tmp_path / "last.pt").exists()  # stage 1 checkpoints at the workdir root


def test_translate_shapes_range_and_exemplar_dependence(tmp_path: Path) -> None:
    method = fit(create_method("egscit", **TINY), tmp_path)
    data = tiny_data()
    content = data.a.get_batch(torch.arange(4))["image"]
    exemplars = data.b.get_batch(torch.arange(4))["image"]
    for direction, (x, e) in {"AB": (content, exemplars), "BA": (exemplars, content)}.items():
        out = method.translate(x, e, direction=direction)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    a = method.translate(content, exemplars)
    b = method.translate(content, exemplars.flip(0))
    assert (a - b).abs().mean() > 1e-4, "the exemplar does not change the translation"
    assert torch.equal(a, method.translate(content, exemplars)), "translation is not deterministic"
    with pytest.raises(BenchError, match="needs an exemplar"):
        method.translate(content, None)


def test_without_adain_the_exemplar_is_ignored(tmp_path: Path) -> None:
    method = fit(create_method("egscit", **TINY, adain="none"), tmp_path)
    data = tiny_data()
    content, exemplars = data.a.get_batch(torch.arange(4))["image"], data.b.get_batch(torch.arange(4))["image"]
    assert torch.equal(method.translate(content, exemplars), method.translate(content, exemplars.flip(0)))


def test_losses_fall_on_a_tiny_overfit(tmp_path: Path) -> None:
    history: list[dict[str, float]] = []
    params = TINY | {"steps": 20, "stage0_steps": 12, "augment": False}
    fit(create_method("egscit", **params), tmp_path, log=lambda step, values: history.append(values))
    stage0 = [h["s0_recon"] for h in history if "s0_recon" in h]
    stage1 = [h["recon"] + h["cycle"] for h in history if "recon" in h]
    assert (len(stage0), len(stage1)) == (12, 20) and all(math.isfinite(v) for v in stage0 + stage1)
    assert sum(stage0[-3:]) < 0.99 * sum(stage0[:3]), stage0  # the VAE noise (σ=1) slows stage 0 early on
    assert sum(stage1[-3:]) < 0.9 * sum(stage1[:3]), stage1


def test_resumed_run_continues_in_stage1_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    params = TINY | {"steps": 4, "checkpoint_every": 2}
    reference = fit(create_method("egscit", **params), tmp_path / "uninterrupted")
    torch.manual_seed(0)

    class Crash(RuntimeError):
        pass

    def crash_in_stage1(step: int, values: dict[str, float]) -> None:
        if "recon" in values and step == 3:  # after stage 1's checkpoint at step 2
            raise Crash

    with pytest.raises(Crash):
        fit(create_method("egscit", **params), tmp_path / "resumed", log=crash_in_stage1)
    assert torch.load(tmp_path / "resumed" / "last.pt", weights_only=False)["step"] == 2
    torch.manual_seed(123)  # a fresh process: other initial weights, which the checkpoints must override
    resumed_steps: list[int] = []
    resumed = fit(create_method("egscit", **params), tmp_path / "resumed",
                  log=lambda step, values: resumed_steps.append(step))
    assert resumed_steps == [3, 4], "the resumed run should only redo stage-1 steps 3 and 4"
    for name, net in reference.networks().items():
        other = resumed.networks()[name].state_dict()
        assert all(torch.allclose(v, other[k], atol=1e-6) for k, v in net.state_dict().items()), name


# -- VGG and calibration ----------------------------------------------------------------------------------------------
def test_perceptual_loss_refuses_random_vgg_unless_allowed() -> None:
    if locate("vgg19") is None:
        with pytest.raises(MissingWeightsError, match="vgg19"):
            create_method("egscit", **TINY | {"perceptual": True})
    method = create_method("egscit", **TINY | {"perceptual": True, "allow_uncalibrated": True})
    assert method.vgg is not None and method.calibrated == (locate("vgg19") is not None)
    without = create_method("egscit", **TINY)
    assert without.vgg is None and without.calibrated is True


def test_a_training_step_with_the_perceptual_loss_is_finite(tmp_path: Path) -> None:
    history: list[dict[str, float]] = []
    params = TINY | {"perceptual": True, "allow_uncalibrated": True, "stage0_steps": 1, "steps": 1}
    fit(create_method("egscit", **params), tmp_path, log=lambda step, values: history.append(values))
    last = history[-1]
    assert {"content", "style"} <= set(last) and all(math.isfinite(last[k]) for k in ("content", "style"))


def test_bad_params_fail_with_a_hint() -> None:
    with pytest.raises(BenchError, match="unknown egscit parameters"):
        create_method("egscit", n_down=1, colour=3)
    with pytest.raises(BenchError, match="unknown adain"):
        create_method("egscit", **TINY, adain="textbook")
    with pytest.raises(BenchError, match="no Table-6 settings for dataset_preset 'edges2shoes'"):
        create_method("egscit", **TINY | {"dataset_preset": "edges2shoes", "n_down": None})


# -- configs ----------------------------------------------------------------------------------------------------------
def test_ablation_variants_inherit_egscit_and_flip_one_switch() -> None:
    base = method_params(load_method_config("egscit"), "smoke")
    switches = {"egscit_no_feature_mask": {"feature_mask": False}, "egscit_no_adain": {"adain": "none"},
                "egscit_no_perceptual": {"perceptual": False},
                "egscit_official_adain": {"adain": "official_code"}}  # the released code's conditioning (issue 13)
    for name, switch in switches.items():
        cfg = load_method_config(name)
        assert method_class(name, cfg) == "egscit" and cfg.variant_of == "egscit"
        assert method_params(cfg, "smoke") == base | switch
    for scale in ("cpu", "paper"):  # the official variant differs from egscit at every scale
        official = method_params(load_method_config("egscit_official_adain"), scale)
        assert official["adain"] == "official_code" != method_params(load_method_config("egscit"), scale)["adain"]
    run = compose_run(["methods=[egscit,egscit_no_feature_mask]"])
    assert list(run.methods) == ["egscit", "egscit_no_feature_mask"]
    assert method_params(run.methods.egscit_no_feature_mask, "smoke")["feature_mask"] is False


def test_table6_rows_follow_the_protocol() -> None:
    table = OmegaConf.load(CONFIG_DIR / "methods" / "egscit.yaml").table6
    assert {k: table.mnist_single[k] for k in table.mnist_single} == {
        k: DEFAULTS[k] for k in TABLE6_KEYS if k != "stage0_steps"}
    single = method_params(compose_run(["protocol=mnist_single", "methods=[egscit]"]).methods.egscit, "paper")
    assert single["dataset_preset"] == "mnist_single" and single["stage0_steps"] == 60000
    multi = method_params(compose_run(["protocol=mnist_multiple", "methods=[egscit_no_adain]"]).methods
                          .egscit_no_adain, "paper")
    assert (multi["dataset_preset"], multi["n_down"], multi["style_weight"], multi["content_weight"]) == (
        "mnist_multiple", 3, 1e4, 1e2)
    assert multi["adain"] == "none"
    street = method_params(compose_run(["protocol=gta2bdd", "methods=[egscit]"]).methods.egscit, "paper")
    assert {k: street[k] for k in table.gta_bdd} == dict(table.gta_bdd)  # the alias row `gta2bdd` = Table 6's GTA5↔BDD
    assert (street["n_down"], street["batch_size"], street["steps"]) == (3, 3, 22000)


@pytest.mark.parametrize("variant", ["egscit_no_feature_mask", "egscit_no_adain", "egscit_no_perceptual"])
def test_ablation_variants_fit_and_translate(variant: str, tmp_path: Path) -> None:
    """The registry-wide tests cover `egscit`; its ablations are configs, checked here at a shortened smoke preset."""
    params = method_params(load_method_config(variant), "smoke") | {"steps": 2, "stage0_steps": 1}
    method = fit(create_method("egscit", **params), tmp_path, data=tiny_data(size=28))
    data = tiny_data(size=28, seed=1)
    content, exemplars = data.a.get_batch(torch.arange(4))["image"], data.b.get_batch(torch.arange(4))["image"]
    for direction, (x, e) in {"AB": (content, exemplars), "BA": (exemplars, content)}.items():
        out = method.translate(x, e, direction=direction)
        assert out.shape == x.shape and torch.isfinite(out).all() and 0 <= out.min() <= out.max() <= 1
    other = method.translate(content, exemplars.flip(0))
    if variant == "egscit_no_adain":
        assert torch.equal(method.translate(content, exemplars), other)
    else:
        assert not torch.equal(method.translate(content, exemplars), other)
    assert (method.vgg is None) == (variant == "egscit_no_perceptual")
