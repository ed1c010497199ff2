"""SEGIN as a harness method: VGG refusal, capabilities, a falling loss on a tiny overfit, the exemplar steering the
output, the ablation variants, checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bench.config import load_method_config, method_class, method_params
from core import weights
from core.errors import BenchError, MissingWeightsError
from datasets.base import TrainData
from datasets.edges2objects import load_edges2objects
from datasets.paired import to_tensor
from methods import FitContext, create_method
from methods.segin import Segin

# Small enough for a loaded 2-core CI machine: 16×16 images, VGG up to relu2_1 for the match and L_F.
TINY = {"allow_uncalibrated": True, "image_size": 16, "ngf": 4, "ndf": 4, "d_layers": 1, "batch_size": 4,
        "log_every": 1, "checkpoint_every": 0, "match_chunk": 256, "match_layer": "relu2_1", "feature_layer": "relu2_1",
        "w_feature": 1e-3}
VARIANTS = ["segin_no_gan", "segin_no_recon", "segin_no_feature", "segin_no_tv", "segin_no_nonlocal",
            "segin_no_multitask", "segin_match_warp", "segin_match_random"]


@pytest.fixture(scope="module")
def data() -> TrainData:
    pairs = load_edges2objects(size=32, n_train=4, n_val=4)  # rendered at 32 (the minimum), trained at 16
    return TrainData(pairs.train.domain("A"), pairs.train.domain("B"), kind="paired")


def test_refuses_without_vgg_weights_unless_allowed() -> None:
    if weights.locate("vgg19") is not None:
        pytest.skip("VGG-19 weights are installed here")
    with pytest.raises(MissingWeightsError, match="vgg19"):
        create_method("segin", **{**TINY, "allow_uncalibrated": False})
    method = create_method("segin", **TINY)
    assert method.calibrated is False
    caps = Segin.capabilities
    assert (caps.training, caps.guidance, caps.directions) == ("paired", "exemplar", "AB")


def test_overfits_a_few_pairs_and_the_exemplar_steers_the_output(data: TrainData, tmp_path: Path) -> None:
    torch.manual_seed(0)
    # reconstruction and the multi-task terms only (the GAN and L_F terms run in the variant tests): cheap steps
    overfit = {**TINY, "steps": 15, "lr_g": 5e-3, "w_gan": 0.0, "w_feature": 0.0}
    method = create_method("segin", **overfit)
    method.fit(data, FitContext(tmp_path, progress=False))
    history = torch.load(tmp_path / "last.pt", weights_only=False)["history"]
    recon = [h["recon"] for h in history]
    assert len(recon) == 15 and np.mean(recon[-3:]) < 0.6 * np.mean(recon[:3])
    assert {"G", "recon", "seg", "seg_att", "tv"} <= set(history[-1])
    x = data.a.get_batch(torch.tensor([0, 0]))["image"]
    refs = data.b.get_batch(torch.tensor([1, 2]))["image"]
    out = method.translate(x, refs)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert (out[0] - out[1]).abs().mean() > 1e-3  # different exemplars, different outputs
    assert torch.equal(method.translate(x, refs), out)  # deterministic at test time
    path = tmp_path / "segin.pt"
    method.save(path)
    again = create_method("segin", **overfit)
    again.load(path)
    assert torch.allclose(again.translate(x, refs), out)


def test_translate_rejects_what_segin_cannot_do(data: TrainData) -> None:
    method = create_method("segin", **TINY)
    x = data.a.get_batch(torch.tensor([0]))["image"]
    with pytest.raises(BenchError, match="A→B"):
        method.translate(x, x, direction="BA")
    with pytest.raises(BenchError, match="exemplar"):
        method.translate(x, None)
    with pytest.raises(BenchError, match="multiple of 8"):
        create_method("segin", **{**TINY, "image_size": 30})
    with pytest.raises(BenchError, match="match_at_test"):
        create_method("segin", **TINY, match_at_test="sift")
    with pytest.raises(BenchError, match="unknown segin parameters"):
        create_method("segin", **TINY, w_style=1.0)
    unpaired = TrainData(data.a, data.b, kind="unpaired")
    with pytest.raises(BenchError, match="paired"):
        method.fit(unpaired, FitContext(Path("/nonexistent"), progress=False))


@pytest.mark.parametrize("variant", VARIANTS)
def test_ablation_variants_build_and_train_a_step(variant: str, data: TrainData) -> None:
    cfg = load_method_config(variant)
    assert method_class(variant, cfg) == "segin" and cfg.variant_of == "segin"
    params = method_params(cfg, "smoke")
    method = create_method("segin", **{**params, **{k: TINY[k] for k in ("image_size", "ngf", "ndf", "d_layers",
                                                                         "match_layer", "feature_layer")}})
    losses = method.train_step({"x": data.a.get_batch(torch.arange(2))["image"],
                                "y": data.b.get_batch(torch.arange(2))["image"]})  # no mask: derived
    expected_missing = {"segin_no_gan": {"gan", "D"}, "segin_no_recon": {"recon"}, "segin_no_feature": {"feature"},
                        "segin_no_tv": {"tv"}, "segin_no_multitask": {"seg", "seg_att"}}.get(variant, set())
    assert not expected_missing & set(losses)
    assert {"recon", "feature", "gan", "D", "seg", "seg_att", "tv"} - expected_missing <= set(losses)
    if variant == "segin_no_gan":
        assert "D" not in method.networks()
    if variant == "segin_no_nonlocal":
        assert not any(type(m).__name__ == "NonLocalBlock" for m in method.G.modules())
    x = data.a.get_batch(torch.tensor([0]))["image"]
    r = data.b.get_batch(torch.tensor([1]))["image"]
    assert method.translate(x, r).shape == x.shape


def test_warp_and_random_auxiliaries_differ_from_the_semantic_match() -> None:
    method = create_method("segin", **TINY)
    pairs = load_edges2objects(size=32, n_train=1, n_val=2).val.all()
    x, r = to_tensor(pairs.a[:1]), to_tensor(pairs.b[1:2])
    semantic = method.auxiliary(x, r, "semantic")
    plain = method.auxiliary(x, r, "warp")
    shuffled = method.auxiliary(x, r, "random")
    assert plain.shape == semantic.shape == shuffled.shape == r.shape
    assert (plain - semantic).abs().mean() > 1e-3 and (shuffled - semantic).abs().mean() > 1e-3
    # the plain warp puts the reference's object where the input's outline is
    inside = x.min(1).values < 0.5
    assert plain.min(1).values[inside].mean() < 0.9


def test_training_matches_are_cached_per_pair_and_equal_a_fresh_match(data: TrainData) -> None:
    method = create_method("segin", **TINY)
    x = torch.nn.functional.interpolate(data.a.get_batch(torch.arange(3))["image"], size=16, mode="bilinear")
    y = torch.nn.functional.interpolate(data.b.get_batch(torch.arange(3))["image"], size=16, mode="bilinear")
    fresh, hw = method.matcher.match(x, y)
    first, _ = method.training_match(x, y, torch.tensor([5, 6, 7]))
    assert torch.equal(first, fresh) and set(method._match_cache) == {5, 6, 7}
    again, hw2 = method.training_match(x[[2, 0]], y[[2, 0]], torch.tensor([7, 5]))
    assert hw2 == hw and torch.equal(again, fresh[[2, 0]])


@pytest.mark.parametrize("n_inputs, channels", [("paper", 9), ("x_w", 6)])
def test_n_inputs_switch_feeds_the_reference_to_n_only_under_paper(n_inputs: str, channels: int) -> None:
    method = create_method("segin", **TINY, n_inputs=n_inputs)
    assert method.G.encoder[0][0].in_channels == channels
    method.G.eval()
    torch.manual_seed(0)
    x, aux, r1, r2 = (torch.rand(1, 3, 16, 16) * 2 - 1 for _ in range(4))
    out1, _ = method.translate_net(x, r1, aux)
    out2, _ = method.translate_net(x, r2, aux)
    changed = (out1 - out2).abs().max().item()
    assert changed > 1e-4 if n_inputs == "paper" else changed == 0.0
    defaults = method_params(load_method_config("segin"), "cpu")
    assert (defaults["n_inputs"], defaults["train_reference"]) == ("paper", "warped")  # the paper (§III, §I)
    with pytest.raises(BenchError, match="n_inputs"):
        create_method("segin", **TINY, n_inputs="x_r")


@pytest.mark.parametrize("size, factor", [(64, 16.0), (256, 1.0)])
def test_feature_loss_is_rescaled_to_the_papers_image_size(size: int, factor: float) -> None:
    """At 64 px L_F is 16× the raw per-image sum (w2 keeps its 256-px weight); at 256 px it is the raw sum exactly."""
    params = {**TINY, "image_size": size, "w_gan": 0.0, "feature_layer": "relu1_1"}
    scaled, raw = create_method("segin", **params), create_method("segin", **params, feature_sum_size=None)
    torch.manual_seed(0)
    x, y, fake = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size), torch.rand(1, 3, size, size) * 2 - 1
    mask = torch.ones(1, 1, size, size)
    new = scaled.generator_terms(x, y, mask, fake, None)["feature"]
    old = raw.generator_terms(x, y, mask, fake, None)["feature"]
    assert torch.equal(new, old) if factor == 1.0 else new.item() == pytest.approx(factor * old.item(), rel=1e-6)
    with pytest.raises(BenchError, match="feature_sum_size"):
        create_method("segin", **TINY, feature_sum_size=0)


@pytest.mark.parametrize("reference", ["y", "warped"])
def test_training_feeds_n_the_chosen_reference(reference: str, data: TrainData,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    method = create_method("segin", **{**TINY, "train_reference": reference, "w_gan": 0.0, "w_feature": 0.0})
    seen: dict[str, torch.Tensor] = {}
    original = method.translate_net

    def spy(x: torch.Tensor, r: torch.Tensor, aux: torch.Tensor) -> Any:
        seen.update(r=r, aux=aux)
        return original(x, r, aux)

    monkeypatch.setattr(method, "translate_net", spy)
    batch = {"x": data.a.get_batch(torch.arange(2))["image"], "y": data.b.get_batch(torch.arange(2))["image"]}
    method.train_step(batch)
    y = torch.nn.functional.interpolate(batch["y"], size=16, mode="bilinear", antialias=True).clamp(0, 1) * 2 - 1
    assert torch.equal(seen["r"], seen["aux"]) if reference == "warped" else torch.allclose(seen["r"], y)
    assert not torch.allclose(seen["aux"], y)  # W(x, y) post-processed is not y itself
    with pytest.raises(BenchError, match="train_reference"):
        create_method("segin", **TINY, train_reference="r")
