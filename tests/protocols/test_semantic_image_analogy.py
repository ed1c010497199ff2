"""semantic_image_analogy: seeded same-label pair selection, the panoptic → COCO-Stuff class table on hand-built
panoptic outputs, the stand-in's naming, per-case single-image fits that resume between cases (and that the runner
leaves to the protocol), the Detectron2 adapter (where installed) and the real sample files (where present)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from bench.config import compose_run
from bench.runner import build_protocol, execute
from datasets.coco_stuff import COCO_STUFF_NAMES
from methods import METHODS
from methods.base import Capabilities, Method
from metrics.segmentation import IGNORE, confusion_matrix, scores_from_confusion
from metrics.segmenters import panoptic_to_semantic
from protocols.semantic_image_analogy import protocol as sia_protocol
from protocols.semantic_image_analogy.classes import PANOPTIC_STUFF, panoptic_mapping
from protocols.semantic_image_analogy.data import select_pairs
from protocols.semantic_image_analogy.protocol import SemanticImageAnalogy

SAMPLES = Path("/work/shared/data/coco_stuff_samples")
HAS_D2 = importlib.util.find_spec("detectron2") is not None
CS = COCO_STUFF_NAMES.index


def test_pairs_have_the_same_labels_use_each_image_once_and_follow_the_seed() -> None:
    sets = [frozenset(s) for s in ({1, 2}, {3}, {2, 1}, {1, 2}, {3}, {4, 5}, set(), set(), {1, 2, 9})]
    pairs = select_pairs(sets, 10, seed=0)
    assert len(pairs) == 2  # {1,2} ×3 gives one pair (no image twice), {3} ×2 one; empty sets never pair
    for s, t, jaccard in pairs:
        assert sets[s] == sets[t] and jaccard == 1.0
    used = [i for s, t, _ in pairs for i in (s, t)]
    assert len(used) == len(set(used))
    assert select_pairs(sets, 10, seed=0) == pairs
    draws = {tuple(select_pairs(sets, 1, seed=k)) for k in range(20)}
    assert len(draws) > 1  # the seed picks which pair (and which image is the source)
    relaxed = select_pairs(sets, 10, seed=0, min_jaccard=0.6)
    assert all(j >= 0.6 for _, _, j in relaxed) and len(relaxed) >= 2


def test_the_class_table_scores_hand_built_panoptic_outputs() -> None:
    mapping = panoptic_mapping()
    assert len(mapping.names) == 133 and mapping.names[0] == "person" and mapping.names[80] == "banner"
    stuff = {name: 80 + k for k, (name, _) in enumerate(PANOPTIC_STUFF)}
    # target (COCO-Stuff ids), one row per case: bush→tree-merged, clouds→sky-merged, car, metal (removed), hill
    target = torch.tensor([[CS("bush"), CS("clouds"), CS("car"), CS("metal"), CS("hill"), IGNORE]])
    # Detectron2's output: segment ids per pixel; stuff category ids are 1-based in the "separated" metadata
    panoptic = torch.tensor([[1, 2, 3, 4, 5, 0]])
    segments = [{"id": 1, "category_id": stuff["tree-merged"] - 80 + 1, "isthing": False},
                {"id": 2, "category_id": stuff["sky-other-merged"] - 80 + 1, "isthing": False},
                {"id": 3, "category_id": 2, "isthing": True},  # car is panoptic thing 2
                {"id": 4, "category_id": 0, "isthing": True},  # person, on an ignored (removed) class
                {"id": 5, "category_id": stuff["road"] - 80 + 1, "isthing": False}]  # hill predicted as road
    predicted = mapping.map_prediction(panoptic_to_semantic(panoptic, segments))
    hist = confusion_matrix(predicted, mapping.map_target(target), 133)
    scores = scores_from_confusion(hist)
    assert scores.pixels == 4 and scores.pixel_accuracy == pytest.approx(3 / 4)
    # IoU: tree 1, sky 1, car 1, mountain-merged 0 (FN), road 0 (FP) → mean over 5 classes with a union
    assert scores.miou == pytest.approx(3 / 5)
    assert mapping.map_target(torch.tensor([CS("skyscraper"), CS("mat")])).tolist() == [
        stuff["building-other-merged"], stuff["rug-merged"]]


@pytest.mark.skipif(not HAS_D2, reason="detectron2 is not installed (CI builds without it)")
def test_the_table_follows_detectron2s_class_order() -> None:
    from detectron2.data.datasets.builtin_meta import COCO_CATEGORIES

    names = [c["name"] for c in COCO_CATEGORIES if c["isthing"]] + [
        c["name"] for c in COCO_CATEGORIES if not c["isthing"]]
    assert panoptic_mapping().names == names


@pytest.mark.skipif(not HAS_D2, reason="detectron2 is not installed (CI builds without it)")
def test_detectron2_refuses_without_weights_and_runs_uncalibrated_with_random_ones() -> None:
    from core.errors import BenchError
    from metrics.segmenters import create_segmenter

    with pytest.raises(BenchError, match=r"model_final_cafdb1\.pkl"):
        create_segmenter("detectron2_panoptic", allow_uncalibrated=False, device="cpu")
    segmenter = create_segmenter("detectron2_panoptic", allow_uncalibrated=True, device="cpu")
    assert not segmenter.calibrated and len(segmenter.class_names) == 133
    predicted = segmenter.predict(torch.rand(1, 3, 24, 32))
    assert predicted.shape == (1, 24, 32) and predicted.dtype == torch.long
    assert int(predicted.min()) >= -1 and int(predicted.max()) < 133


@pytest.fixture
def no_scorers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave the segmenters out (seconds each on a CPU): these tests are about the cases, not the scores."""
    monkeypatch.setattr(sia_protocol, "scorer_names", lambda: [])


def built(*overrides: str) -> SemanticImageAnalogy:
    cfg = compose_run(["protocol=semantic_image_analogy", "scale=smoke", "device=cpu", *overrides])
    protocol = build_protocol(cfg)
    protocol.prepare()
    assert isinstance(protocol, SemanticImageAnalogy)
    return protocol


def test_the_world_is_named_a_stand_in_and_its_oracle_is_exact(no_scorers: None) -> None:
    protocol = built()
    assert protocol.provenance is not None and protocol.provenance.stand_in == "procedural stand-in, NOT coco_stuff"
    values = protocol.evaluate(protocol.oracle()).values  # type: ignore[arg-type]
    assert values[("ssim_exact", "A→B")].value == pytest.approx(1.0)
    assert values[("lpips_exact", "A→B")].value == pytest.approx(0.0, abs=1e-6)
    cases = protocol.data
    assert len(cases) == 2 and all(j >= 0.3 for _, _, j in cases.pairs)
    reported = {(r.method, r.metric): r.value for r in protocol.reported()}
    assert reported[("sia", "miou_panoptic")] == pytest.approx(0.457) and reported[("image_analogies",
                                                                                  "average_rank")] == 2.26


class _PerCase(Method):
    """A single-image method that remembers the source it was fit on; its fit can be made to fail once."""

    capabilities = Capabilities(training="single_image", guidance="exemplar", directions="AB",
                                needs_label_maps=True, needs_exemplar_labels=True)
    defaults: ClassVar[dict[str, Any]] = {"input_nc": 0}
    fits: ClassVar[list[tuple[str, Path]]] = []
    fail_on: ClassVar[str | None] = None

    def fit(self, data, ctx):  # type: ignore[no-untyped-def]
        case = data.meta["case"]
        assert data.kind == "single_image" and ctx.workdir.name == case
        assert data.a[0]["input"].shape == data.meta["target"]["input"].shape
        if case == _PerCase.fail_on:
            _PerCase.fail_on = None
            raise RuntimeError(f"killed at {case}")
        _PerCase.fits.append((case, ctx.workdir))
        self.source = data.b[0]["image"]

    def translate(self, content, exemplar, direction="AB", seed=0, exemplar_labels=None):  # type: ignore
        assert exemplar_labels is not None and exemplar_labels.shape == content.shape
        return self.source[None].flip(-1)


def test_single_image_fits_are_per_case_and_a_stopped_run_resumes_at_the_next_case(
        tmp_path: Path, no_scorers: None) -> None:
    from methods.base import FitContext

    protocol = built()
    names = protocol.data.names
    protocol.fit_context = FitContext(workdir=tmp_path / "run")
    _PerCase.fits, _PerCase.fail_on = [], names[1]
    with pytest.raises(RuntimeError, match="killed at"):
        protocol.evaluate(_PerCase())
    assert [c for c, _ in _PerCase.fits] == [names[0]]
    assert (tmp_path / "run" / "cases" / names[0] / "output.png").exists()
    out = protocol.evaluate(_PerCase()).samples["AB"]  # the rerun: case 0 from disk, case 1 fit
    assert [c for c, _ in _PerCase.fits] == names
    expected = protocol.data.pool.image_tensor(protocol.data.sources).flip(-1)
    assert torch.allclose(out, (expected * 255).round() / 255, atol=1e-6)
    protocol.evaluate(_PerCase())
    assert len(_PerCase.fits) == 2  # everything cached: nothing refit


class _NeedsTarget(Method):
    """Deep Image Analogy's kind (contract §2): training-free, returns the image behind the target layout."""

    capabilities = Capabilities(training="none", guidance="exemplar", directions="AB", needs_label_maps=True,
                                needs_exemplar_labels=True, needs_target_image=True)
    defaults: ClassVar[dict[str, Any]] = {"input_nc": 0}

    def translate(self, content, exemplar, direction="AB", seed=0, exemplar_labels=None,  # type: ignore
                  target_image=None):
        assert content.shape[1] == exemplar_labels.shape[1] > 3  # one-hot layouts
        return target_image


def test_a_method_that_needs_the_target_image_gets_it(no_scorers: None) -> None:
    protocol = built()
    assert protocol.refusal(_NeedsTarget) is None
    out = protocol.evaluate(_NeedsTarget()).samples["AB"]
    cases = protocol.data
    assert torch.equal(out, cases.pool.image_tensor(cases.targets))


@pytest.fixture
def per_case_method() -> Iterator[None]:
    METHODS.discover()
    METHODS.register("_per_case")(_PerCase)
    yield
    METHODS._entries.pop("_per_case")


def test_the_runner_leaves_single_image_fits_to_the_protocol(tmp_path: Path, no_scorers: None,
                                                             per_case_method: None) -> None:
    cfg = compose_run([f"paths.results={tmp_path}", "progress=false", "protocol=semantic_image_analogy",
                       "scale=smoke", "device=cpu"])
    OmegaConf.set_struct(cfg, False)
    cfg.methods = {"one": {"name": "_per_case", "params": {}, "presets": {"smoke": {}}},
                   "copy": {"name": "exemplar_copy", "params": {}, "presets": {"smoke": {}}}}
    _PerCase.fits, _PerCase.fail_on = [], None
    outcome = execute(cfg)
    assert not outcome.failed
    assert len(_PerCase.fits) == 2 and all(w.parent.name == "cases" for _, w in _PerCase.fits)
    frame = pd.read_csv(outcome.metrics_csv)
    assert (frame[frame.method == "one"].status == "ok").all()
    study = outcome.run_dir / "study"
    for case in study.iterdir():
        assert {p.name for p in case.iterdir()} == {"source.png", "target_layout.png", "one.png", "copy.png"}
    assert (outcome.run_dir / "cases.png").stat().st_size > 0


class _Paired(Method):
    """A paired label-map method (SPADE's kind): remembers what the runner trained it on; answers with the mean
    training image."""

    capabilities = Capabilities(training="paired", guidance="none", directions="AB", needs_label_maps=True)
    defaults: ClassVar[dict[str, Any]] = {"input_nc": 0}
    fitted: ClassVar[list[Any]] = []

    def fit(self, data, ctx):  # type: ignore[no-untyped-def]
        _Paired.fitted.append(data)
        self.mean = torch.stack([data.b[i]["image"] for i in range(len(data.b))]).mean(0)

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        assert content.shape[1] > 3  # one-hot layouts
        return self.mean[None].expand(content.shape[0], -1, -1, -1)


def test_paired_methods_train_once_on_pairs_without_a_case_image(tmp_path: Path, no_scorers: None) -> None:
    protocol = built()
    assert protocol.refusal(METHODS.get("spade")) is None  # SIA §4.3.3 compares with a trained SPADE
    data = protocol.train_data()
    cases = protocol.data
    assert data.kind == "paired" and len(data.a) == len(data.b) == 16  # samples.smoke.train
    item = data.a[0]
    assert item["input"].shape[0] == cases.label_nc and item["image"].shape[0] == 3  # one-hot and colour-encoded
    assert torch.equal(item["label_map"], torch.from_numpy(data.a.split.labels[0]).long())
    assert set(data.a.split.names).isdisjoint(cases.pool.names)  # world train items; the cases are val items
    assert protocol.sample_counts()["train"] == 16 and protocol.train_data() is data  # read once

    METHODS.discover()
    METHODS.register("_paired")(_Paired)
    try:
        cfg = compose_run([f"paths.results={tmp_path}", "progress=false", "protocol=semantic_image_analogy",
                           "scale=smoke", "device=cpu"])
        OmegaConf.set_struct(cfg, False)
        cfg.methods = {"paired": {"name": "_paired", "params": {}, "presets": {"smoke": {}}}}
        _Paired.fitted = []
        outcome = execute(cfg)
    finally:
        METHODS._entries.pop("_paired")
    assert not outcome.failed and len(_Paired.fitted) == 1 and _Paired.fitted[0].kind == "paired"
    frame = pd.read_csv(outcome.metrics_csv)
    rows = frame[frame.method == "paired"]
    assert (rows.status == "ok").all()
    assert rows.note.str.contains("trained on 16 label map ↔ image pairs: scenes train items 0–15").all()
    assert " train items" not in protocol.data.description  # the case pool is val items only


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} is absent")
def test_real_samples_train_paired_methods_without_the_case_images(no_scorers: None) -> None:
    protocol = built(f"data.root={SAMPLES}")
    data, cases = protocol.train_data(), protocol.data
    held = sum(split == "train" for split, _ in cases.held_out)  # case images drawn from the train split
    assert len(cases.held_out) == 2 * len(cases)
    assert data.kind == "paired" and len(data.a) == 13 - held  # the folder's 13 train images minus the cases'
    assert set(data.a.split.names).isdisjoint(cases.pool.names)
    assert f"coco_stuff train: the first {13 - held} images that are not a case image" in data.meta["note"]


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} is absent")
def test_real_samples_give_pairs_with_shared_labels(no_scorers: None) -> None:
    protocol = built(f"data.root={SAMPLES}")
    cases = protocol.data
    assert cases.source == "coco_stuff" and cases.exact is None and protocol.oracle() is None
    assert protocol.provenance is not None and protocol.provenance.stand_in == ""
    for (_, t, jaccard), labels in zip(cases.pairs, cases.scored, strict=True):
        assert jaccard >= 0.3 and np.array_equal(labels, cases.pool.labels[t])
    assert all(name.count("_to_") == 1 for name in cases.names)
