"""SEGIN's edges→photos protocol: sample counts, the stand-in's exact ground truth, real pix2pix folders, refusal
without metric weights, and the CLI run path. Most tests use cheap stand-in distances for FID/LPIPS (the protocol's
own plumbing is under test; the metrics have their own tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from bench.config import CONFIG_DIR, compose_run
from bench.runner import execute
from core import weights
from core.errors import BenchError, MissingWeightsError
from datasets.edges2objects import Edges2ObjectsSplit
from datasets.paired import to_tensor
from datasets.pix2pix_folder import write_pix2pix
from methods import create_method
from methods.base import Capabilities, Method
from metrics.base import Metric, MetricValue, PairedMetric, SetMetric
from metrics.fidelity import ExemplarFidelity
from metrics.ssim import SSIM
from protocols.edges2shoes import Edges2Shoes
from protocols.edges2shoes.protocol import Edges2Photos
from protocols.edges2shoes.sampling import build_plan, similar_group


class _L1(PairedMetric):
    name, direction = "lpips", "lower"

    def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return (fake - real).abs().flatten(1).mean(1).double()


class _L1Diversity(Metric):
    name, direction = "lpips_diversity", "higher"

    def __call__(self, groups: torch.Tensor) -> MetricValue:
        per_input = (groups[:, 1:] - groups[:, :-1]).abs().flatten(2).mean(2).mean(1)
        return MetricValue.from_samples(self.name, per_input, self.direction)


class _MeanGap(SetMetric):
    name, direction = "fid", "lower"

    def compute(self, fake: Any, real: Any) -> MetricValue:
        return MetricValue(self.name, float((fake.mean() - real.mean()).abs()), None, len(fake), self.direction)


def stub_metrics(self: Edges2Photos) -> None:
    self.metrics = {"fid": _MeanGap(), "lpips_ref": _L1(), "lpips_gt": _L1(), "lpips_div": _L1Diversity(),
                    "ssim": SSIM(), "exemplar_fidelity": ExemplarFidelity()}


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Edges2Photos, "build_metrics", stub_metrics)


def protocol(data: dict | None = None, scale: str = "smoke", **overrides: Any) -> Edges2Shoes:
    settings = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "protocol" / "edges2shoes.yaml"))
    settings["samples"][scale].update(overrides)  # type: ignore[index]
    return Edges2Shoes(settings=settings, data=data or {}, scale={"name": scale}, seed=0)  # type: ignore[arg-type]


def tiny_pix2pix(root: Path) -> Path:
    for split, n in (("train", 6), ("val", 8)):
        pairs = Edges2ObjectsSplit(n, 64, seed=7, split=split).all()
        write_pix2pix(root, split, pairs.a, pairs.b)
    return root


class _Oracle(Method):
    """Returns the exact translation by looking the images up in the protocol's test split."""

    capabilities = Capabilities(training="none", guidance="exemplar", directions="AB")

    def __init__(self, proto: Edges2Shoes) -> None:
        super().__init__()
        self.proto = proto

    def _index(self, images: torch.Tensor, bank: np.ndarray) -> list[int]:
        flat = torch.from_numpy(bank).permute(0, 3, 1, 2).float().flatten(1) / 255
        return [int((flat - img.flatten()).abs().sum(1).argmin()) for img in images]

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        c, e = self._index(content, self.proto.test_a), self._index(exemplar, self.proto.test_b)
        return to_tensor(self.proto.data.val.exact_translation(np.array(c), np.array(e)))


# -- sampling --------------------------------------------------------------------------------------------------------
def test_paper_counts() -> None:  # the grid reading of LPIPS(ref); the default pool: test_edges2shoes_fidelity.py
    plan = build_plan(200, {}, seed=0, ref_sampling="grid")
    assert plan.refs.shape == (200, 20) and len(plan.rows) == 200
    assert (plan.columns[:100] == 20).all() and (plan.columns[100:] == 10).all()
    assert (plan.ref_inputs, plan.refs_per_input, plan.diversity_inputs, plan.diversity_outputs) == (200, 10, 100, 20)
    assert all(plan.rows[r] not in plan.refs[r] and len(set(plan.refs[r])) == 20 for r in range(200))
    assert len(plan.similar_group) == 20 and len(plan.similar_rows) == 180  # inputs other than the 20 references
    assert not set(plan.similar_rows) & set(plan.similar_group) and len(plan.gt_inputs) == 200
    assert plan.counts()["translations"] == 100 * 20 + 100 * 10 + 180 * 20 + 200
    assert np.array_equal(build_plan(200, {}, seed=0, ref_sampling="grid").refs, plan.refs)
    assert not np.array_equal(build_plan(200, {}, seed=1).refs, plan.refs)


def test_smoke_counts_scale_down_and_are_capped_by_the_split() -> None:
    smoke = OmegaConf.load(CONFIG_DIR / "protocol" / "edges2shoes.yaml").samples.smoke
    plan = build_plan(int(smoke.val), dict(smoke), seed=0)
    assert plan.counts() == {"ref_inputs": 6, "refs_per_input": 2, "ref_pairs": 6, "diversity_inputs": 4,
                             "diversity_outputs": 3, "similar_inputs": 3, "similar_refs": 3, "gt_inputs": 6,
                             "translations": 4 * 3 + 6 + 3 * 3 + 6}  # 6 pool pairs apart from the 4×3 grid
    capped = build_plan(5, {"refs_per_input": 10, "diversity_outputs": 20, "similar_refs": 20}, seed=0)
    assert capped.refs.shape == (5, 4) and len(capped.similar_group) == 4 and len(capped.similar_rows) == 1
    with pytest.raises(ValueError):
        build_plan(1, {}, seed=0)


def test_similar_group_is_the_anchor_and_its_nearest_histograms() -> None:
    hist = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.8, 0.2], [0.1, 0.9]])
    rng = np.random.default_rng(0)
    group = similar_group(hist, 3, rng)
    anchor = group[0]
    dist = np.abs(hist - hist[anchor]).sum(1)
    assert set(group[1:]) == set(np.argsort(dist)[1:3])


# -- evaluation on the stand-in and on a pix2pix folder ------------------------------------------------------------
def test_stand_in_is_the_default_and_named(stubbed: None) -> None:
    proto = protocol()
    provenance = proto.prepare()
    assert provenance.source == "edges2objects" and "NOT edges2shoes" in provenance.description
    assert proto.sample_counts()["test"] == 12 and proto.sample_counts()["size"] == 64
    assert all("not comparable with rows on edges2objects" in r.source for r in proto.reported())
    assert {r.method for r in proto.reported()} >= {"segin", "munit", "bicyclegan", "pix2pix_noise", "segin_no_gan"}
    assert proto.train_data().kind == "paired" and "mask" in proto.train_data().b.get_batch([0])


def test_exact_ground_truth_scores_an_oracle_perfectly(stubbed: None) -> None:
    proto = protocol()
    proto.prepare()
    values = proto.evaluate(_Oracle(proto)).values
    assert values[("ssim_exact", "A→B")].value == pytest.approx(1.0)
    assert values[("lpips_exact", "A→B")].value == pytest.approx(0.0)
    assert values[("lpips_gt", "A→B")].value == pytest.approx(0.0)  # its own photo is the exact translation
    assert values[("lpips_ref", "A→B")].value > 0.01  # the reference's object has another shape
    assert values[("exemplar_fidelity_colour", "A→B")].value == 0.0
    assert values[("exemplar_fidelity_texture", "A→B")].value == 0.0
    copy = proto.evaluate(create_method("colour_transfer")).values
    assert copy[("ssim_exact", "A→B")].value < 0.95


def test_counts_and_notes_per_metric(stubbed: None) -> None:
    proto = protocol()
    proto.prepare()
    values = proto.evaluate(create_method("colour_transfer")).values
    n = {metric: v.n for (metric, _), v in values.items()}
    assert n == {"fid": 6, "lpips_ref": 6, "lpips_div": 4, "lpips_ref_similar": 9, "lpips_div_similar": 3,
                 "lpips_gt": 6, "ssim_exact": 6, "lpips_exact": 6, "exemplar_fidelity_colour": 6,
                 "exemplar_fidelity_texture": 6}
    assert values[("lpips_div", "A→B")].warnings[0] == "smoke: inputs×outputs 4×3 (paper 100×20)"
    assert values[("lpips_ref", "A→B")].warnings[0] == "smoke: pairs/refs 6/2 (paper 200/10)"
    unguided = proto.evaluate(create_method("input_copy")).values
    assert ("lpips_ref", "A→B") not in unguided and ("lpips_ref_similar", "A→B") not in unguided
    assert unguided[("lpips_div", "A→B")].value == 0.0 and "no exemplar" in unguided[("lpips_div", "A→B")].warnings[0]


def test_reads_a_pix2pix_folder(stubbed: None, tmp_path: Path) -> None:
    root = tiny_pix2pix(tmp_path / "edges2shoes")
    proto = protocol({"root": str(root), "verify": False}, val=None, train=None)
    provenance = proto.prepare()
    assert provenance.source == "edges2shoes" and str(root) in provenance.description
    assert proto.sample_counts()["test"] == 8 and proto.data.mask_source == "derived"
    values = proto.evaluate(create_method("colour_transfer")).values
    assert ("ssim_exact", "A→B") not in values and values[("lpips_ref", "A→B")].n == 6
    assert all("not comparable" not in r.source for r in proto.reported())
    with pytest.raises(BenchError, match="edges2handbags"):
        protocol({"root": str(root), "source": "edges2handbags"}).prepare()


def test_refuses_without_metric_weights_unless_allowed() -> None:
    if weights.locate("inception_fid") is not None or weights.locate("alexnet") is not None:
        pytest.skip("metric weights are installed here")
    with pytest.raises(MissingWeightsError):
        protocol().prepare()


# -- CLI run path (config composition, runner, files, MLflow) -------------------------------------------------------
def test_bench_run_names_the_data_source(stubbed: None, tmp_path: Path) -> None:
    import mlflow

    base = [f"paths.results={tmp_path / 'results'}", "progress=false", "protocol=edges2shoes",
            "methods=[colour_transfer,input_copy]", "scale=smoke"]
    outcome = execute(compose_run(base))
    frame = pd.read_csv(outcome.metrics_csv)
    ours = frame[frame.source == "ours"]
    assert not outcome.failed and (ours.data_source == "edges2objects").all() and (ours.status == "ok").all()
    real_data = ours[ours.method == "real_data"]  # measured by the protocol, under the run's hash
    assert list(real_data.metric) == ["lpips_div"] and (real_data.protocol_hash == ours.protocol_hash.iloc[0]).all()
    assert "data `edges2objects`" in (outcome.run_dir / "table.md").read_text()
    assert (outcome.run_dir / "grid.png").is_file()
    folder = tiny_pix2pix(tmp_path / "edges2shoes")
    real = execute(compose_run([*base, f"data.root={folder}", "data.verify=false"]))
    real_rows = pd.read_csv(real.metrics_csv)
    assert (real_rows[real_rows.source == "ours"].data_source == "edges2shoes").all()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True)
    assert set(runs["tags.bench.data_source"]) == {"edges2objects", "edges2shoes"}


class _Recorder(Method):
    """Exemplar-capable; records whether each call had an exemplar; output = a seed-dependent grey."""

    capabilities = Capabilities(training="none", guidance="exemplar", directions="AB")
    registry_name = "bicyclegan"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bool, int]] = []

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        self.calls.append((exemplar is not None, seed))
        return torch.full_like(content, (seed % 7) / 7) if exemplar is None else exemplar.clone()


def test_listed_methods_are_sampled_without_exemplars_except_for_lpips_gt(stubbed: None) -> None:
    proto = protocol()
    proto.prepare()
    method = _Recorder()
    values = proto.evaluate(method).values
    assert ("lpips_ref", "A→B") not in values and ("lpips_ref_similar", "A→B") not in values
    assert values[("lpips_div", "A→B")].value > 0  # different seeds, different outputs
    assert values[("lpips_gt", "A→B")].value == 0  # the ground truth was encoded (here: copied)
    with_exemplar = [seed for has, seed in method.calls if has]
    # 3 seed columns + 1 LPIPS(ref)/FID batch (seed, no exemplar) + 1 LPIPS(gt) batch
    assert len(with_exemplar) == 1 and len(method.calls) == 3 + 1 + 1
