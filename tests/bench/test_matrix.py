"""The cross-paper matrix: its cells against `bench list`'s compatibility table on the registries (bench/matrix.py),
its rendering on a hand-built results frame against hand-computed numbers (bench/report/matrix.py), and one tiny
`bench matrix` → `bench report matrix=true` round trip through the store."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.matrix import default_methods, plan
from bench.report.matrix import RANKING, matrix_frame, render
from core.columns import Column

REPO = Path(__file__).resolve().parents[2]


def test_the_plan_is_the_compatibility_table_over_seeds() -> None:
    from bench.commands.list import compatibility_frame
    from bench.config import group_options, load_method_config

    table = compatibility_frame()
    the_plan = plan([], [], [0, 1], "smoke")
    cells = the_plan.cells.set_index(["method", "protocol"])
    assert len(cells) == table.size
    for protocol in table.columns:
        for method, cell in table[protocol].items():
            line = cells.loc[(method, protocol)]
            assert (line["status"] == "run") == (cell == "yes")
            assert line["reason"] == ("" if cell == "yes" else cell.removeprefix("no: "))
    # the smoke matrix's six failed jobs (results/reference/matrix_smoke/README.md) are refusals of the table (and of
    # the plan), for the ablation variants of the two methods too: no recipe for the protocol's data
    base = {n: str(load_method_config(n).get("variant_of") or n) for n in group_options("methods")}
    no_recipe = {(m, p) for p in table.columns for m, c in table[p].items()
                 if c.startswith("no: has no recipe for this protocol's data: ")}
    assert {(base[m], p) for m, p in no_recipe} == {("egscit", "edges2shoes"), ("egscit", "edges2handbags"),
                                                    ("cocosnet", "coco_stuff_scenes")}
    served = [(m, p) for p in table.columns for m, c in table[p].items() if c == "yes"]
    assert sorted(the_plan.jobs) == sorted([f"protocol={p}", f"methods=[{m}]", f"seed={s}", "scale=smoke"]
                                           for m, p in served for s in (0, 1))
    variants = {n for n in group_options("methods") if load_method_config(n).get("variant_of")}
    assert variants and set(default_methods()) == set(group_options("methods")) - variants


def _rows(protocol: str, method: str, metric: str, direction: str, values: list[float], seeds: list[int] | None = None,
          status: str = "ok", phash: str = "h", start: int = 10, note: str = "") -> list[dict]:
    seeds = list(range(len(values))) if seeds is None else seeds
    return [{"protocol": protocol, "protocol_hash": phash, "scale": "smoke", "method": method, "calibrated": True,
             "metric": metric, "translation": "A→B", "direction": direction, "seed": s, "value": v, "source": "ours",
             "status": status, "note": note, "run_start": start, "run_id": f"{method}{s}"}
            for s, v in zip(seeds, values, strict=True)]


@pytest.fixture
def hand_built() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = (_rows("p1", "a", "ssim", "higher", [0.5, 0.6, 0.7]) + _rows("p1", "b", "ssim", "higher", [0.4])
            + _rows("p1", "a", "ssim", "higher", [0.0], phash="old", start=1)  # an older setting: not shown
            + _rows("p1", "a", "lpips", "lower", [9.0])  # not the primary column
            + _rows("p1", "d", "", "", [math.nan], status="failed")
            + _rows("p2", "a", "fid", "lower", [10.0, 12.0]) + _rows("p2", "b", "fid", "lower", [11.0, 11.0])
            + _rows("p2", "c", "fid", "lower", [20.0, 22.0]))
    cells = pd.DataFrame([
        {"protocol": p, "method": m, "status": "refused" if (p, m) == ("p1", "c") else "run",
         "reason": "needs paired training data" if (p, m) == ("p1", "c") else "", "seeds": "0,1"}
        for p in ("p1", "p2") for m in ("a", "b", "c", "d")])
    return pd.DataFrame(rows), cells


def test_the_matrix_of_a_hand_built_frame(hand_built: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    rows, cells = hand_built
    matrix = matrix_frame(rows, {"p1": Column("ssim", "A→B"), "p2": Column("fid", "A→B")}, cells)
    cell = matrix.values.set_index(["protocol", "method"])
    # whole-seed bootstrap: with 3 seeds the extremes are drawn with probability 1/27 > 2.5%, with 2 seeds 1/4, so
    # the 95% interval is [min, max] of the seed values
    assert cell.loc[("p1", "a"), ["mean", "boot_low", "boot_high", "n_seeds"]].tolist() == pytest.approx(
        [0.6, 0.5, 0.7, 3])
    assert cell.loc[("p2", "a"), ["mean", "boot_low", "boot_high"]].tolist() == pytest.approx([11.0, 10.0, 12.0])
    assert cell.loc[("p1", "b"), "n_seeds"] == 1 and math.isnan(cell.loc[("p1", "b"), "boot_low"])
    assert [cell.loc[k, "status"] for k in [("p1", "c"), ("p1", "d"), ("p2", "d")]] == ["refused", "failed",
                                                                                         "missing"]
    assert "p1: results under 2 settings" in matrix.warnings[0]
    # ranks: p1 (higher better) a 1, b 2; p2 (lower better) a and b tie at 11 → 1.5 each, c 3
    ranks = matrix.ranks.set_index("method")
    assert ranks.loc["a", "mean_rank"] == pytest.approx(1.25) and ranks.loc["a", "cells"] == 2
    assert ranks.loc["b", "mean_rank"] == pytest.approx(1.75) and ranks.loc["b", "cells"] == 2
    assert ranks.loc["c", "mean_rank"] == 3 and ranks.loc["c", "cells"] == 1
    assert list(matrix.ranks["method"]) == ["a", "b", "c"] and "d" not in ranks.index

    wide, reasons, text = render(matrix)
    assert wide.loc["a", "p1 (SSIM A→B ↑)"] == "0.600 [0.500, 0.700]"
    assert wide.loc["b", "p1 (SSIM A→B ↑)"] == "0.400 (1 seed)"
    assert wide.loc["b", "p2 (FID A→B ↓)"] == "11.000 (seeds equal)"
    assert wide.loc["c", "p1 (SSIM A→B ↑)"] == "no [1]" and reasons == ["needs paired training data"]
    assert (wide.loc["d", "p1 (SSIM A→B ↑)"], wide.loc["d", "p2 (FID A→B ↓)"]) == ("FAILED", "—")
    assert (wide.loc["a", "mean rank"], wide.loc["a", "cells"], wide.loc["d", "mean rank"]) == ("1.25", 2, "—")
    assert RANKING in text and "- [1] needs paired training data" in text


def test_bench_matrix_then_report_renders_it(tmp_path: Path) -> None:
    def bench(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=300)

    out = bench("matrix", "protocols=[mnist_single]", "methods=[input_copy,sia]", "seeds=1", "progress=false",
                f"paths.results={tmp_path}", "protocol.samples.smoke.train=32", "protocol.samples.smoke.test=16")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "1 cells to run × 1 seed(s) = 1 jobs" in out.stdout and "1 of 1 jobs ok" in out.stdout
    report = bench("report", "matrix=true", f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
                   f"out_dir={tmp_path / 'report'}")
    assert report.returncode == 0, report.stderr[-3000:]
    wide = pd.read_csv(tmp_path / "report" / "matrix" / "matrix.csv", index_col="method")
    assert wide.loc["input_copy", "mnist_single (SSIM A→B ↑)"].endswith(" (1 seed)")  # SSIM needs no weights
    assert wide.loc["sia", "mnist_single (SSIM A→B ↑)"] == "no [1]"
    assert "needs single_image training data" in report.stdout
