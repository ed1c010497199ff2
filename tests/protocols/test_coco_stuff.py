"""MSCA's protocol ``coco_stuff_scenes``: label-histogram retrieval, the three tasks' exemplars and ground truths,
content encodings, refusals, stand-in naming, reported rows, and the real sample folder (skipped when
``../shared/data/coco_stuff_samples`` is absent). SIFT Flow and the colour correction are replaced by fakes here
(their own tests live with them); the registry-wide tests run the real ones."""

from __future__ import annotations

import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from bench.config import compose_run
from bench.runner import build_protocol
from methods import METHODS, create_method
from methods.base import Capabilities, Method
from metrics.cache import ArrayCache
from protocols import PROTOCOLS, Protocol
from protocols.coco_stuff import protocol as protocol_module
from protocols.coco_stuff.figures import alpha_correlation
from protocols.coco_stuff.reported import reported_rows
from protocols.coco_stuff.retrieval import histogram_intersection, label_histograms, retrieve, top_k
from protocols.labelled import content_encoding

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "coco_stuff_samples"
NAME = "coco_stuff_scenes"


class FakeMatcher:
    """Energy = mean absolute pixel difference (lower = more alike); records its calls."""

    calls: ClassVar[list[tuple[int, int]]] = []

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def __call__(self, source: np.ndarray, target: np.ndarray) -> float:
        FakeMatcher.calls.append((id(source), id(target)))
        return float(np.abs(source.astype(float) - target.astype(float)).mean())

    def settings(self) -> dict[str, Any]:
        return {"matcher": "fake"}


def fake_correct(content: np.ndarray, style: np.ndarray, method: str = "wct2", *, allow_uncalibrated: bool,
                 content_labels: Any = None, style_labels: Any = None) -> Any:
    """Half-way blend toward the style; uncalibrated, like the contract's substitute."""
    blended = ((content.astype(np.uint16) + style.astype(np.uint16)) // 2).astype(np.uint8)
    return types.SimpleNamespace(images=blended, method="fake_blend", calibrated=False, settings={"fake": True})


def install_fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_CACHE", tempfile.mkdtemp(prefix="bench-cache-"))  # no energies from other runs
    monkeypatch.setattr(protocol_module, "SiftFlowMatcher", FakeMatcher)
    module = types.ModuleType("protocols.colour_correction")
    module.colour_correct = fake_correct  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "protocols.colour_correction", module)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fakes(monkeypatch)


@pytest.fixture(scope="module")
def stand_in() -> Iterator[Protocol]:
    """The protocol on the ``scenes`` stand-in (5 train, 3 test), prepared once with the fakes (only ``prepare``
    retrieves and corrects)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        install_fakes(monkeypatch)
        yield built()


def built(*extra: str, train: int = 5, test: int = 3) -> Protocol:
    cfg = compose_run([f"protocol={NAME}", "scale=smoke", "allow_uncalibrated=true", "device=cpu",
                       f"protocol.samples.smoke.train={train}", f"protocol.samples.smoke.test={test}", *extra])
    protocol = build_protocol(cfg)
    protocol.prepare()
    return protocol


def test_histogram_intersection_and_top_k_on_hand_built_maps() -> None:
    q = np.array([[[0, 0], [1, 255]]], np.uint8)  # class 0: 1/2, class 1: 1/4, unlabeled 1/4
    pool = np.array([[[0, 0], [1, 1]],  # 0: .5, 1: .5 → ∩ = .5 + .25 = .75
                     [[2, 2], [2, 2]],  # ∩ = 0
                     [[0, 0], [0, 0]],  # ∩ = .5
                     [[1, 0], [0, 255]]], np.uint8)  # 0: .5, 1: .25 → ∩ = .75 (ties with row 0)
    hq, hp = label_histograms(q, 3), label_histograms(pool, 3)
    assert hq.tolist() == [[0.5, 0.25, 0.0]]
    scores = histogram_intersection(hq, hp)
    assert scores[0].tolist() == pytest.approx([0.75, 0.0, 0.5, 0.75])
    assert top_k(scores, 3).tolist() == [[0, 3, 2]]  # ties by the lower index
    assert top_k(scores, 20).tolist() == [[0, 3, 2, 1]]  # k capped at the pool size
    assert top_k(scores, 2, exclude=np.array([[True, False, False, False]])).tolist() == [[3, 2]]
    rng = np.random.default_rng(0)  # top-20 of 30 random maps = the 20 largest intersections
    maps = rng.integers(0, 4, (30, 6, 6)).astype(np.uint8)
    s = histogram_intersection(label_histograms(maps[:1], 4), label_histograms(maps, 4))[0]
    chosen = top_k(s[None], 20)[0]
    assert len(set(chosen)) == 20 and s[chosen].min() >= np.delete(s, chosen).max()


def test_retrieval_takes_the_lowest_energy_among_the_candidates() -> None:
    labels = np.zeros((4, 4, 4), np.uint8)
    labels[3] = 1  # pool item 3 shares no class: never a candidate at k=3
    test_img = np.full((1, 4, 4, 3), 100, np.uint8)
    pool_img = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (0, 90, 200, 100)])
    found = retrieve(labels[:1], test_img, labels, pool_img, 2, 3,
                     lambda s, t: float(np.abs(s.astype(float) - t.astype(float)).mean()))
    assert found.candidates[0, :3].tolist() == [0, 1, 2] and found.best.tolist() == [1]
    assert found.energies.tolist() == [[100.0, 10.0, 100.0]]


def test_retrieval_energies_are_cached_by_content_and_matcher_settings(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (6, 8, 8)).astype(np.uint8)
    images = rng.integers(0, 256, (6, 8, 8, 3)).astype(np.uint8)
    calls: list[int] = []

    def energy(s: np.ndarray, t: np.ndarray) -> float:
        calls.append(1)
        return float(np.abs(s.astype(float) - t.astype(float)).mean())

    cache = ArrayCache("retrieval", root=tmp_path)
    first = retrieve(labels[:2], images[:2], labels[2:], images[2:], 3, 3, energy, cache=(cache, {"m": 1}))
    assert len(calls) == 6
    again = retrieve(labels[:2], images[:2], labels[2:], images[2:], 3, 3, energy, cache=(cache, {"m": 1}))
    assert len(calls) == 6 and np.array_equal(again.energies, first.energies)  # read back, not recomputed
    retrieve(labels[:2], images[:2], labels[2:], images[2:], 3, 3, energy, cache=(cache, {"m": 2}))
    assert len(calls) == 12  # another matcher setting: recomputed
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    retrieve(labels[:2], changed[:2], labels[2:], images[2:], 3, 3, energy, cache=(cache, {"m": 1}))
    assert len(calls) == 18  # another test image: recomputed


def test_the_tasks_exemplars_and_ground_truths(stand_in: Protocol) -> None:
    protocol = stand_in
    ld, tasks = protocol.data, protocol.tasks  # type: ignore[attr-defined]
    assert list(tasks) == ["retrieving", "mirroring", "duplicating"]
    assert np.array_equal(tasks["duplicating"].exemplars, ld.test.images)
    assert np.array_equal(tasks["duplicating"].truth, ld.test.images)
    assert np.array_equal(tasks["mirroring"].exemplars, ld.test.images[:, :, ::-1])  # exactly the flip
    assert np.array_equal(tasks["mirroring"].exemplar_labels, ld.test.labels[:, :, ::-1])
    assert np.array_equal(tasks["mirroring"].truth, ld.test.images)
    r = tasks["retrieving"]
    names = r.settings["retrieved"]
    rows = [ld.train.names.index(n) for n in names]
    assert all(n.startswith("scenes-train-") for n in names)  # the pool is the training split
    assert np.array_equal(r.exemplars, ld.train.images[rows]) and np.array_equal(r.exemplar_labels,
                                                                                  ld.train.labels[rows])
    assert np.array_equal(r.before, ld.test.images)
    assert np.array_equal(r.truth, fake_correct(ld.test.images, r.exemplars, allow_uncalibrated=True).images)
    tr, va = ld.worlds
    assert np.array_equal(r.exact[0], va.exact_translation(0, rows[0], exemplar_split=tr))
    assert not r.calibrated and "fake_blend" in r.warnings[0]


def test_scores_exact_columns_stand_in_naming_and_uncalibrated_correction(stand_in: Protocol) -> None:
    protocol = stand_in
    assert protocol.provenance.stand_in == "procedural stand-in, NOT coco_stuff"  # type: ignore[union-attr]
    assert all("not comparable" in r.source for r in protocol.reported())
    values = protocol.evaluate(create_method("exemplar_copy")).values
    duplicating = values[("psnr", "duplicating")]
    assert duplicating.value > 100 and duplicating.calibrated  # the exemplar is the ground truth
    assert values[("lpips", "duplicating")].value == pytest.approx(0.0, abs=1e-6)
    assert not values[("psnr", "retrieving")].calibrated  # the substitute's ground truth marks the task
    assert values[("psnr_exact", "retrieving")].calibrated  # the exact truth needs no correction
    oracle = protocol.evaluate(protocol.oracle()).values  # type: ignore[arg-type]
    for metric in ("lpips_exact", "style_loss_exact"):
        assert abs(oracle[(metric, "retrieving")].value) < 1e-9 < values[(metric, "retrieving")].value
    assert any("ground-truth label map, not a segmenter's" in w for w in values[("fid", "mirroring")].warnings)


class _OneHotNoChannels(Method):
    capabilities = Capabilities(training="paired", guidance="exemplar", directions="AB", needs_label_maps=True)

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return exemplar


class _SingleImage(Method):
    capabilities = Capabilities(training="single_image", guidance="exemplar", directions="AB")  # type: ignore[arg-type]


def test_encodings_refusals_and_training_data(stand_in: Protocol) -> None:
    cls = PROTOCOLS.get(NAME)
    assert {n: content_encoding(METHODS.get(n)) for n in ("spade_vae", "cocosnet", "egscit", "exemplar_copy")} == {
        "spade_vae": "one_hot", "cocosnet": "one_hot", "egscit": "colour", "exemplar_copy": "colour"}
    for name in ("spade_vae", "egscit", "exemplar_copy", "input_copy", "colour_transfer", "cocosnet", "munit"):
        assert cls.refusal(METHODS.get(name)) is None, name
    assert "neither an input_nc nor a label_nc" in cls.refusal(_OneHotNoChannels)  # type: ignore[operator]
    assert "single_image training data" in cls.refusal(_SingleImage)  # type: ignore[operator]
    protocol = stand_in
    assert protocol.method_settings() == {"input_nc": 17, "label_nc": 17, "dataset": "coco_stuff"}  # 16 + 1
    data = protocol.train_data()
    a, b = data.a[0], data.b[0]
    assert data.kind == "paired" and a["input"].shape == (17, 64, 64) and a["label_map"].dtype == torch.int64
    palette = protocol.data.train.label_set.palette  # type: ignore[attr-defined]
    y, x = 10, 20
    expected = torch.from_numpy(palette[int(a["label_map"][y, x])].astype(np.float32) / 255)
    assert a["image"].shape == (3, 64, 64) and torch.allclose(a["image"][:, y, x], expected)
    assert b["image"].shape == (3, 64, 64) and 0 <= float(b["image"].min()) <= float(b["image"].max()) <= 1


def test_reported_rows_are_the_papers_numbers() -> None:
    rows = {(r.method, r.metric, r.translation): r for r in reported_rows()}
    assert rows[("msca", "psnr", "retrieving")].value == 16.65
    assert rows[("ci2i", "fid", "mirroring")].value == 242.73
    assert rows[("msca_no_att", "style_loss", "duplicating")].value == 7.94e-3
    assert rows[("egscit", "lpips", "retrieving")].value == 0.581
    assert rows[("msca_gap", "user_preference", "")].value == 29.3
    assert "Table 2" in rows[("msca", "user_preference", "")].source
    assert len(rows) == 3 * 4 * 8 + 3


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/data/coco_stuff_samples is absent")
def test_real_samples_run_the_three_tasks(fakes: None) -> None:
    protocol = built(f"data.root={SAMPLES}", train=12, test=8)
    ld = protocol.data  # type: ignore[attr-defined]
    assert ld.source == "coco_stuff" and ld.worlds is None and protocol.oracle() is None
    assert ld.test.names == ["000000000785", "000000001268", "000000001490"]  # msca_outdoor keeps 3 of 8 val
    assert len(ld.train) == 3 and protocol.method_settings()["input_nc"] == 183  # 182 classes + don't-care
    assert set(protocol.tasks["retrieving"].settings["retrieved"]) <= set(ld.train.names)  # type: ignore[attr-defined]
    values = protocol.evaluate(create_method("exemplar_copy")).values
    assert {c for c in values if c[0] != "kid"} == set(PROTOCOLS.get(NAME).columns()[:12])  # no exact columns


class _Attending(Method):
    """Copies the exemplar; K = 3 attention maps over 8×8 (contract §6 shapes)."""

    capabilities = Capabilities(training="none", guidance="exemplar", directions="AB", needs_label_maps=True,
                                needs_exemplar_labels=True)
    defaults: ClassVar[dict[str, Any]] = {"input_nc": 17}

    def translate(self, content, exemplar, direction="AB", seed=0, exemplar_labels=None):  # type: ignore
        assert content.shape[1] == 17 and exemplar_labels is not None and exemplar_labels.shape[1] == 17
        return exemplar

    def attention_maps(self, content, exemplar, exemplar_labels, scale=0):  # type: ignore[no-untyped-def]
        n = len(content)
        alpha = torch.softmax(torch.randn(n, 3, 64), -1).reshape(n, 3, 8, 8)
        return {"alpha": alpha, "beta": torch.softmax(torch.randn(n, 3, 8, 8), 1), "gate": torch.rand(n, 3)}


def test_figures_per_task_and_the_attention_maps_of_methods_that_have_them(stand_in: Protocol, tmp_path: Path
                                                                           ) -> None:
    protocol = stand_in
    samples = protocol.evaluate(_Attending()).samples
    assert samples["attention_alpha"].shape == (2, 3, 8, 8) and samples["retrieving"].shape == (3, 3, 64, 64)
    plain = protocol.evaluate(create_method("exemplar_copy")).samples
    assert not any(k.startswith("attention_") for k in plain)
    paths = protocol.write_figures({"att": samples, "exemplar_copy": plain}, tmp_path)
    assert sorted(p.name for p in paths) == ["attention_att.png", "grid_duplicating.png", "grid_mirroring.png",
                                             "grid_retrieving.png", "retrieving_pairs.csv"]
    pairs = (tmp_path / "retrieving_pairs.csv").read_text().splitlines()
    assert [line.split(",")[1] for line in pairs[1:]] == protocol.tasks["retrieving"].settings["retrieved"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_alpha_correlation_is_the_mean_absolute_pearson_r_between_distinct_maps() -> None:
    g = torch.Generator().manual_seed(0)
    alpha = torch.rand(3, 4, 5, 6, generator=g)
    want = []
    for case in alpha.numpy():
        r = np.abs(np.corrcoef(case.reshape(4, -1)))
        want.append((r.sum() - 4) / 12)
    np.testing.assert_allclose(alpha_correlation(alpha), want, rtol=1e-10)
    one = torch.rand(1, 1, 5, 6, generator=g)
    collapsed = torch.cat([one, 3 * one + 1, 1 - one], 1)  # affine copies and an inverted one
    np.testing.assert_allclose(alpha_correlation(collapsed), [1.0], rtol=1e-12)
    quadrants = torch.zeros(1, 4, 4, 4)
    for k, (i, j) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        quadrants[0, k, i:i + 2, j:j + 2] = 0.25
    np.testing.assert_allclose(alpha_correlation(quadrants), [1 / 3], rtol=1e-12)  # disjoint regions: |r| = 1/3
    assert np.isnan(alpha_correlation(torch.ones(2, 1, 3, 3))).all()
