"""`bench report` on a fixture MLflow store laid out like `bench run` writes it (tests/bench/fixtures/report_store)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bench.__main__ import main as cli
from bench.report import ReportOptions, build_report
from bench.report.aggregate import aggregate, apply_filters, select_runs
from core.errors import BenchError
from tests.bench.fixtures.report_store import (
    H1,
    H2,
    H3,
    REPORTED_SOURCE,
    SEED0,
    STALE_SHIFT,
    expected_mean,
    frame_of,
    shared_loaded,
    shared_report,
    shared_store,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return shared_store(tmp_path_factory)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return shared_report(tmp_path_factory)


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> pd.DataFrame:
    return shared_loaded(tmp_path_factory).rows


def view(rows: pd.DataFrame, select="latest", runs=None, uncertainty="std", **filters) -> pd.DataFrame:
    """What build_report aggregates, without re-reading MLflow."""
    return aggregate(select_runs(apply_filters(rows, **filters), select, runs), uncertainty, n_resamples=500)


def build(store, tmp_path, **options):
    return build_report(ReportOptions(out_dir=tmp_path / "report", tracking_uri=store["uri"],
                                      configs_dir=store["configs"], figures=False, **options))


def value(agg: pd.DataFrame, method: str, metric: str, translation: str, phash: str = H1) -> pd.Series:
    hit = agg[(agg["method"] == method) & (agg["metric"] == metric) & (agg["translation"] == translation)
              & (agg["protocol_hash"] == phash) & (agg["source"] == "ours")]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_two_protocol_hashes_are_separate_tables_and_never_merged(report):
    groups = {(g["protocol"], g["protocol_hash"]) for g in report.groups}
    assert groups == {("mnist_single", H1), ("mnist_single", H2), ("edges_shoes", H3)}
    assert any("2 different settings" in w for w in report.warnings)
    h1 = frame_of(report.out_dir / "tables" / f"mnist_single__{H1}.long.csv")
    h2 = frame_of(report.out_dir / "tables" / f"mnist_single__{H2}.long.csv")
    assert set(h1.loc[h1["source"] == "ours", "protocol_hash"]) == {H1}
    assert set(h2.loc[h2["source"] == "ours", "protocol_hash"]) == {H2}
    # H1's toy is the mean of its own two seeds only; H2's number (0.50, one uncalibrated cpu run) stays in H2
    assert value(report.aggregated, "toy", "ssim", "A→B").value == pytest.approx(expected_mean("toy", "ssim", "A→B"))
    assert value(report.aggregated, "toy", "ssim", "A→B", H2).value == pytest.approx(0.50)
    leaderboard = frame_of(report.out_dir / "tables" / "leaderboard.csv")
    assert {f"mnist_single [{H1}]", f"mnist_single [{H2}]", f"edges_shoes [{H3}]"} <= set(leaderboard.columns)


def test_seeds_are_aggregated_and_the_latest_run_per_configuration_wins(report):
    toy = value(report.aggregated, "toy", "ssim", "A→B")
    assert toy.seeds == 2 and toy.seed_list == "0,1" and toy.runs == "r2,r3"  # r1 (older seed-0 run) superseded
    assert toy["std"] == pytest.approx(math.sqrt(2) * 0.01)  # std over seeds of {0.60, 0.62}
    assert toy.err_kind == "σ over 2 seeds"
    table = frame_of(report.out_dir / "tables" / f"mnist_single__{H1}.csv").set_index("method")
    assert table.loc["toy [smoke]", "SSIM A→B"] == "0.610 ± 0.014"


def test_select_all_and_run_picking(rows):
    toy = value(view(rows, select="all"), "toy", "ssim", "A→B")
    stale = SEED0["toy"][3][("ssim", "A→B")] + STALE_SHIFT
    assert toy.seeds == 3 and toy.value == pytest.approx((stale + 0.60 + 0.62) / 3)
    assert toy.err_kind == "σ over 3 runs (2 seeds)"
    assert value(view(rows, runs=["r1"]), "toy", "ssim", "A→B").value == pytest.approx(stale)


def test_a_newer_run_without_results_does_not_hide_the_finished_one(rows):
    finished = value(view(rows), "toy", "ssim", "A→B")
    newer = rows[(rows["method"] == "toy") & (rows["run_name"] == "r3")].copy()
    newer = newer.iloc[:1].assign(run_name="r9", run_id="r9", run_start=newer["run_start"].max() + 1,
                                  metric="", translation="", value=float("nan"), status="killed")
    again = value(view(pd.concat([rows, newer], ignore_index=True)), "toy", "ssim", "A→B")
    assert again.value == pytest.approx(finished.value) and again.runs == finished.runs
    alone = view(newer)  # with nothing finished, the stopped run is what there is
    assert list(alone["status"]) == ["killed"]


def test_uncalibrated_smoke_failed_and_reported_rows_are_marked(report):
    tables = report.out_dir / "tables"
    h1_md = (tables / f"mnist_single__{H1}.md").read_text()
    h2_md = (tables / f"mnist_single__{H2}.md").read_text()
    assert "toy [smoke]" in h1_md and "toy [cpu, uncalibrated]" in h2_md
    h1 = frame_of(tables / f"mnist_single__{H1}.csv").set_index("method")
    assert h1.loc["broken [smoke]", "SSIM A→B"] == "FAILED" and "NaN" in h1.loc["broken [smoke]", "note"]
    assert h1.loc["pairedonly [smoke]", "PSNR A→B"] == "REFUSED"
    # a row that measured nothing states no calibration (issue 13: a FAILED row said "calibrated: yes")
    assert h1.loc["broken [smoke]", "calibrated"] == "n/a" and h1.loc["pairedonly [smoke]", "calibrated"] == "n/a"
    assert h1.loc["toy [smoke]", "calibrated"] == "yes"
    reported = f"EGSC-IT ({REPORTED_SOURCE})"
    assert h1.loc[reported, "SSIM A→B"] == "0.510 ± 0.020" and h1.loc[reported, "spread"] == "reported"
    # the paper's column order (its reported metrics first); our rows first, then the reported ones
    assert list(h1.columns[:3]) == ["SSIM A→B", "SSIM B→A", "PSNR A→B"]
    assert [m.endswith(")") for m in h1.index] == sorted(m.endswith(")") for m in h1.index)
    # the paper's rows appear in the tables of the settings whose runs logged them (H1's runs did, H2's did not)
    h2 = frame_of(tables / f"mnist_single__{H2}.csv")
    assert reported in h1.index and not h2["method"].str.contains("reported").any()
    html = (tables / f"mnist_single__{H2}.html").read_text()
    assert '<tr class="ours reduced uncalibrated">' in html and 'class="badge uncalibrated"' in html
    index = report.index.read_text()
    assert "UNCALIBRATED" in index and "SMOKE scale" in index and 'class="badge smoke"' in index


def test_rows_rebuilt_from_method_runs_when_metrics_csv_is_missing(report):
    toy = value(report.aggregated, "toy", "psnr", "A→B", H2)  # r4 logged no CSVs at all
    assert toy.value == pytest.approx(SEED0["toy"][3][("psnr", "A→B")] - 1.0)
    assert toy.direction == "higher" and not toy.calibrated and toy.scale == "cpu"


def test_training_curves_are_not_results_and_running_methods_say_so(report):
    assert not report.aggregated["metric"].str.startswith("train").any()
    table = (report.out_dir / "tables" / f"mnist_single__{H2}.md").read_text()
    line = next(row for row in table.splitlines() if row.startswith("| still_training"))
    assert line.count("RUNNING") >= 2 and "TRAIN" not in table


def test_ablation_deltas_against_the_full_method(report):
    frame = frame_of(report.out_dir / "tables" / "ablations.long.csv")
    paper = frame[frame["source"] == REPORTED_SOURCE]  # the paper's own ablation, beside ours
    assert paper[["variant", "full_method"]].values.tolist() == [["toy_no_cycle", "toy"]]
    assert float(paper["delta"].iloc[0]) == pytest.approx(-0.05)
    frame = frame[frame["source"] == "ours"].set_index(["variant", "metric", "translation"])
    # toy_no_cycle is declared in its method config, toy_no_mask by the run tag bench.variant_of
    assert set(frame.index.get_level_values(0)) == {"toy_no_cycle", "toy_no_mask"}
    cycle_ab = frame.loc[("toy_no_cycle", "ssim", "A→B")]
    assert float(cycle_ab["delta"]) == pytest.approx(-0.10) and str(cycle_ab["better"]) == "False"
    assert float(frame.loc[("toy_no_cycle", "ssim", "B→A"), "delta"]) == pytest.approx(0.02)
    assert str(frame.loc[("toy_no_mask", "psnr", "A→B"), "better"]) == "True"
    table = frame_of(report.out_dir / "tables" / f"ablation__mnist_single__{H1}.csv").set_index("method")
    assert table.loc["toy_no_cycle", "SSIM A→B"] == "0.510 (Δ -0.100 ▼)"
    assert table.loc[f"toy_no_cycle ({REPORTED_SOURCE})", "SSIM A→B"] == "0.650 (Δ -0.050 ▼)"
    assert (report.out_dir / "figures" / f"ablation__mnist_single__{H1}.png").stat().st_size > 1000


def test_leaderboard_ranks_per_protocol_setting(report):
    frame = frame_of(report.out_dir / "tables" / "leaderboard.long.csv")
    shoes = frame[frame["protocol"] == "edges_shoes"].set_index("method")["rank"].astype(int).to_dict()
    assert shoes == {"colour_transfer": 1, "toy": 2, "input_copy": 3}
    h1 = frame[frame["protocol_hash"] == H1].set_index("method")["rank"].astype(int)
    assert h1["toy"] == 1 and h1["input_copy"] == h1.max()
    assert "broken" not in h1  # failed methods are not ranked


def test_filters_by_protocol_method_and_scale(store, rows, tmp_path):
    shoes = build(store, tmp_path, protocol="edges_shoes")
    assert {g["protocol"] for g in shoes.groups} == {"edges_shoes"}
    toy = view(rows, method="toy")
    assert set(toy.loc[toy["source"] == "ours", "method"]) == {"toy", "toy_no_cycle", "toy_no_mask"}
    cpu = view(rows, scale="cpu")
    cpu = cpu[cpu["source"] == "ours"]
    assert set(zip(cpu["protocol"], cpu["protocol_hash"], strict=True)) == {("mnist_single", H2)}
    both = view(rows, protocol="edges_shoes,mnist_single", scale=["paper", "cpu"])
    assert set(both.loc[both["source"] == "ours", "protocol_hash"]) == {H2, H3}


def test_tuning_trials_stay_out_of_tables_but_the_study_is_shown(report, rows):
    assert value(report.aggregated, "toy", "ssim", "A→B").value < 0.9  # the trial logged 0.99
    index = report.index.read_text()
    assert "Study tune-mnist_single-toy-smoke" in index and "lambda_cycle=2.5" in index
    assert (report.out_dir / "figures" / "tune" / "tune-mnist_single-toy-smoke" / "history.png").exists()
    with_trials = view(rows, include_tuning=True)
    assert value(with_trials, "toy", "ssim", "A→B").value == pytest.approx((0.99 + 0.62) / 2)


def test_bootstrap_interval_over_seeds(rows):
    toy = value(view(rows, uncertainty="ci95"), "toy", "ssim", "A→B")
    assert 0.60 - 1e-9 <= toy.ci_low <= toy.value <= toy.ci_high <= 0.62 + 1e-9
    assert toy.err_kind == "95% CI (bootstrap over 2 seeds)"


def test_figures_and_index_links(report):
    out = report.out_dir
    for group in report.groups:
        assert (out / group["bar_chart"]).stat().st_size > 1000
    assert report.groups[1]["qualitative"] is not None  # mnist_single H1: run r2 logged images
    index = report.index.read_text()
    for path in out.glob("tables/*.csv"):
        if not path.name.endswith(".long.csv") and path.name != "aggregated.long.csv":
            assert f'href="tables/{path.name}"' in index
    assert index.count("<img ") >= 6


def test_clear_errors(store, tmp_path):
    with pytest.raises(BenchError, match="no MLflow store"):
        build_report(ReportOptions(out_dir=tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'absent.db'}"))
    with pytest.raises(BenchError, match="cannot read the MLflow store at"):  # a plain path is no store URI
        build_report(ReportOptions(out_dir=tmp_path, tracking_uri=str(tmp_path / "plain-folder")))
    with pytest.raises(BenchError, match="no results match") as err:
        build(store, tmp_path, protocol="nope")
    assert "mnist_single" in str(err.value)
    with pytest.raises(BenchError, match="unknown run selection"):
        build(store, tmp_path, select="best")


def test_cli(store, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cli-report"
    code = cli(["report", f"tracking.uri={store['uri']}", "out_dir=cli-report", f"configs_dir={store['configs']}",
                "protocol=edges_shoes,mnist_single", "scale=paper"])
    assert code == 0, capsys.readouterr()
    assert (out / "index.html").exists() and (out / f"tables/edges_shoes__{H3}.md").exists()
    assert not (out / f"tables/mnist_single__{H1}.md").exists()
    assert cli(["report", "no_such_option=1"]) == 2


def test_runs_used_says_calibrated_from_the_rows(report):
    import re

    runs = report.index.read_text().split('<table class="bench" id="runs">')[1].split("</table>")[0]
    cells = {row[0]: row for row in (re.findall(r"<td>(.*?)</td>", tr) for tr in runs.split("<tr>")) if row}
    assert cells["r4"][7] == "no" and cells["r2"][7] == "yes"  # r4's rows are uncalibrated, r2's calibrated
