"""Issue 13 items 3–4 on SEGIN's edges→photos protocol: the FID reference set disjoint from the exemplars, the
paper's LPIPS(ref) sampling (200 pairs over a pool of 10 references), and the measured real-data row in both LPIPS
versions. FID and LPIPS run with random weights where the relation, not the value, is under test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from omegaconf import OmegaConf

from bench.config import CONFIG_DIR
from core.errors import BenchError
from datasets.paired import to_tensor
from methods import create_method
from metrics import create_metric
from protocols.edges2shoes import Edges2Shoes
from protocols.edges2shoes.protocol import Edges2Photos
from protocols.edges2shoes.sampling import build_plan
from tests.protocols.test_edges2shoes import stub_metrics


def protocol(fid: str | None = None, sampling: str | None = None, *, real_fid: bool = False,
             **counts: Any) -> Edges2Shoes:
    settings: Any = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "protocol" / "edges2shoes.yaml"))
    settings["samples"]["smoke"].update(counts)
    if fid is not None:
        settings["fid"]["reference"] = fid
    if sampling is not None:
        settings["lpips"]["ref_sampling"] = sampling
    proto = Edges2Shoes(settings=settings, data={}, scale={"name": "smoke"}, seed=0, allow_uncalibrated=True)
    proto.prepare()
    if real_fid:
        proto.metrics["fid"] = create_metric("fid", allow_uncalibrated=True, seed=0)
    return proto


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Edges2Photos, "build_metrics", stub_metrics)


# -- sampling (item 4) -------------------------------------------------------------------------------------------
def test_pool_sampling_is_200_pairs_over_10_references_and_grid_keeps_the_old_plan() -> None:
    pool, grid = build_plan(200, {}, seed=0), build_plan(200, {}, seed=0, ref_sampling="grid")
    assert len(pool.pool) == 10 and len(pool.pair_rows) == 200 and set(pool.pair_refs) == set(pool.pool)
    assert (pool.pair_refs != pool.pair_rows).all() and set(pool.pair_rows) == set(range(200))
    assert max(np.bincount(pool.pair_refs)) <= 22  # 20 inputs per reference, give or take own-ground-truth swaps
    assert len(grid.pair_rows) == 2000 and len(set(grid.pair_refs)) > 150  # the earlier reading: 2,000 over ~200
    assert np.array_equal(pool.refs, grid.refs) and np.array_equal(pool.rows, grid.rows)  # diversity unchanged
    assert (pool.columns[:100] == 20).all() and (pool.columns[100:] == 0).all()  # pool pairs are not on the grid
    assert pool.counts()["translations"] == 100 * 20 + 200 + 180 * 20 + 200
    assert grid.counts()["translations"] == 100 * 20 + 100 * 10 + 180 * 20 + 200
    # FID: one output per input, against the photos that are no exemplar of them
    assert len(pool.fid_pairs) == 200 and np.array_equal(pool.fid_real(200), np.setdiff1d(range(200), pool.pool))
    assert len(grid.fid_pairs) == 200 and not set(grid.fid_real(200)) & set(grid.pair_refs[grid.fid_pairs])


def test_a_pool_of_one_never_pairs_an_input_with_its_own_ground_truth() -> None:
    plan = build_plan(5, {"ref_inputs": 5, "refs_per_input": 1}, seed=0)
    assert len(plan.pool) == 1 and len(plan.pair_rows) == 4 and (plan.pair_refs != plan.pair_rows).all()
    with pytest.raises(ValueError, match="unknown LPIPS"):
        build_plan(5, {}, seed=0, ref_sampling="all")


@pytest.mark.parametrize(("key", "value", "hint"), [("fid", "exemplars", "fid.reference=disjoint"),
                                                     ("sampling", "random", "lpips.ref_sampling=pool")])
def test_unknown_settings_are_refused_with_the_fix(key: str, value: str, hint: str) -> None:
    with pytest.raises(BenchError, match="unknown") as err:
        protocol(**{key: value})
    assert hint in (err.value.hint or "")


def test_the_settings_enter_the_protocol_hash(stubbed: None) -> None:
    hashes = {protocol(fid, sampling).protocol_hash() for fid in ("disjoint", "exemplar_pool")
              for sampling in ("pool", "grid")}
    assert len(hashes) == 4


def test_lpips_ref_pool_counts_and_note(stubbed: None) -> None:
    proto = protocol()
    values = proto.evaluate(create_method("colour_transfer")).values
    assert values[("lpips_ref", "A→B")].n == 6 and values[("fid", "A→B")].n == 6  # 6 inputs, one output each
    assert values[("lpips_ref", "A→B")].warnings[0] == "smoke: pairs/refs 6/2 (paper 200/10)"
    assert "vs the 10 test photos that are no exemplar" in values[("fid", "A→B")].warnings[0]


# -- FID reference set (item 3) -----------------------------------------------------------------------------------
def test_exemplar_copy_no_longer_scores_fid_near_zero(stubbed: None) -> None:
    counts = {"val": 24, "ref_inputs": 24, "refs_per_input": 6, "diversity_inputs": 2, "similar_inputs": 0,
              "gt_inputs": 2}
    copy = create_method("exemplar_copy")
    literal = protocol("exemplar_pool", "grid", real_fid=True, **counts)
    old = literal.evaluate(copy).values[("fid", "A→B")]
    disjoint = protocol(real_fid=True, **counts).evaluate(copy).values[("fid", "A→B")]
    gt_copy = protocol(real_fid=True, **counts)  # the ground truth itself: the disjoint set is its distribution
    assert old.n == 24 * 6 and disjoint.n == 24
    assert old.value < 0.2 * disjoint.value, (old.value, disjoint.value)
    # the literal setting is the old definition: every grid output against all test photos
    plan = literal.plan
    assert plan is not None
    photos = to_tensor(literal.test_b)
    direct = literal.metrics["fid"](photos[plan.refs[:24, :6].reshape(-1)], photos)
    assert old.value == pytest.approx(direct.value, rel=1e-6)
    assert gt_copy.plan is not None and len(gt_copy.plan.fid_real(24)) == 18


# -- the measured real-data row, both LPIPS versions (item 4) ------------------------------------------------------
def test_real_data_row_is_the_diversity_of_random_real_pairs(stubbed: None) -> None:
    proto = protocol()
    real = proto.reference_results()["real_data"].values[("lpips_div", "A→B")]
    plan = proto.plan
    assert plan is not None
    photos = to_tensor(proto.test_b)[plan.refs[:4, :3]]
    expected = (photos[:, 1:] - photos[:, :-1]).abs().flatten(2).mean(2).mean(1).mean()
    assert real.value == pytest.approx(float(expected)) and real.n == 4
    assert "random pairs of real test photos" in " ".join(real.warnings)
    # exemplar_copy returns its references, so its diversity is exactly the real pairs'
    copy = proto.evaluate(create_method("exemplar_copy")).values[("lpips_div", "A→B")]
    assert copy.value == pytest.approx(real.value)


def test_both_lpips_versions_are_reported() -> None:
    proto = protocol()
    values = proto.reference_results()["real_data"].values
    v00, v01 = values[("lpips_div_v00", "A→B")], values[("lpips_div_v01", "A→B")]
    assert v00.value == values[("lpips_div", "A→B")].value  # the configured version, v0.0
    assert v00.value > 0 and v01.value > 0 and v00.value != pytest.approx(v01.value)
    assert v01.warnings[0].endswith("; LPIPS v0.1") and proto.metrics["lpips_div_other"].settings()[
        "lpips_version"] == "0.1" and proto.metrics["lpips_div"].settings()["lpips_version"] == "0.0"
    ours = proto.evaluate(create_method("exemplar_copy")).values
    assert ours[("lpips_div_v01", "A→B")].value == pytest.approx(v01.value)
    assert {c.label for c in Edges2Shoes.columns()} >= {"lpips_div_v00 A→B", "lpips_div_v01 A→B"}


# -- exemplar fidelity on the exact ground truth (issue 13, Fidelity 2) ----------------------------------------------
def test_the_fixed_style_geometry_oracle_keeps_ssim_exact_but_loses_the_fidelity_columns(stubbed: None) -> None:
    """The audit's hand case: the exact geometry in one fixed style scores high SSIM-exact (it measures geometry),
    but clearly worse than the exact translation on the per-part colour and texture columns."""
    proto = protocol(val=24, ref_inputs=24, refs_per_input=6)
    oracle_row = proto.reference_results()["geometry_oracle"].values
    exact = proto.evaluate(proto.oracle()).values  # the exact translation of every pair
    cols = ("ssim_exact", "exemplar_fidelity_colour", "exemplar_fidelity_texture")
    oracle, truth = ({c: v[(c, "A→B")].value for c in cols} for v in (oracle_row, exact))
    assert truth == {"ssim_exact": pytest.approx(1.0), "exemplar_fidelity_colour": 0.0,
                     "exemplar_fidelity_texture": 0.0}
    assert oracle["ssim_exact"] > 0.65  # geometry exact: SSIM-exact stays high (0.717 here, 0.818 in the audit)
    assert oracle["exemplar_fidelity_colour"] > 0.15 and oracle["exemplar_fidelity_texture"] > 0.01, oracle
    assert oracle_row[("exemplar_fidelity_colour", "A→B")].n == 24
    assert "fixed" in " ".join(oracle_row[("ssim_exact", "A→B")].warnings)


def test_the_fidelity_columns_enter_the_protocol_hash() -> None:
    proto = protocol()
    assert proto.metric_settings()["exemplar_fidelity"]["metric"] == "exemplar_fidelity"
    assert {c.label for c in Edges2Shoes.columns()} >= {"exemplar_fidelity_colour A→B",
                                                        "exemplar_fidelity_texture A→B"}


def test_no_oracle_row_without_exact_ground_truth(stubbed: None, tmp_path: Path) -> None:
    from tests.protocols.test_edges2shoes import tiny_pix2pix

    root = tiny_pix2pix(tmp_path / "edges2shoes")
    settings: Any = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "protocol" / "edges2shoes.yaml"))
    proto = Edges2Shoes(settings=settings, data={"root": str(root), "verify": False}, scale={"name": "smoke"}, seed=0)
    proto.prepare()
    assert set(proto.reference_results()) == {"real_data"}
