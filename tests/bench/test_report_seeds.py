"""`bench report` over several seeds (bench/report/seeds.py): the mean-over-seeds table and the paired differences
against the reference rows, checked against a direct numpy computation on a synthetic 3-seed MLflow store."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bench.report import ReportOptions, build_report, load_store
from bench.report.seeds import distinct_resamples, interval_stats, paired_frame, per_seed, seed_frame
from tests.bench.fixtures.report_store import log_run

HASH = "h7ddddddddddd"
# Student t quantile 0.975 at 2 degrees of freedom, closed form for df = 2: (2p − 1)·√(2 / (4p(1 − p))) ≈ 4.3027
T_975_DF2 = 0.95 * math.sqrt(2 / (4 * 0.975 * 0.025))
# method → {(metric, translation): value per seed 0, 1, 2}; exemplar_copy and colour_transfer (deterministic rows)
# are run at seed 0 only, input_copy at all three seeds (paired seed by seed).
VALUES = {
    "good": {("ssim", "A→B"): [0.50, 0.56, 0.53], ("psnr", "A→B"): [14.0, 14.5, 13.8]},
    "meh": {("ssim", "A→B"): [0.38, 0.43, 0.41], ("psnr", "A→B"): [12.0, 12.5, 11.8]},
    "input_copy": {("ssim", "A→B"): [0.30, 0.31, 0.29], ("psnr", "A→B"): [11.0, 11.0, 11.0]},
    "exemplar_copy": {("ssim", "A→B"): [0.45], ("psnr", "A→B"): [12.2]},
    "colour_transfer": {("ssim", "A→B"): [0.40], ("psnr", "A→B"): [13.0]},
}


def _methods(seed: int) -> dict:
    return {label: (label, "ok", "", {column: v[seed] for column, v in values.items()})
            for label, values in VALUES.items() if len(next(iter(values.values()))) > seed}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("seeds-store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("bench", artifact_location=(root / "artifacts").as_uri())
    (root / "staging").mkdir()
    for seed in range(3):
        log_run(client, exp, root / "staging", name=f"s{seed}", start=1_000_000 * (seed + 1), protocol="toyproto",
                phash=HASH, scale="cpu", seed=seed, calibrated=True, methods=_methods(seed), reported=[])
    configs = root / "configs"
    (configs / "methods").mkdir(parents=True)
    options = ReportOptions(out_dir=root / "report", tracking_uri=uri, configs_dir=configs)
    store = load_store(options)
    ci95 = build_report(replace(options, out_dir=root / "ci95", uncertainty="ci95", figures=False), store)
    return {"std": build_report(options, store), "ci95": ci95}


@pytest.fixture(scope="module")
def report(reports):
    return reports["std"]


def direct(method: str, reference: str, column: tuple[str, str]) -> dict[str, float]:
    """The paired difference statistics computed here from scratch with numpy (2,000 resamples, generator seed 0)."""
    m, r = np.array(VALUES[method][column]), np.array(VALUES[reference][column])
    d = m - r  # a one-seed reference broadcasts against every seed of the method
    means = np.random.default_rng(0).choice(d, size=(2000, d.size), replace=True).mean(axis=1)
    half = T_975_DF2 * d.std(ddof=1) / math.sqrt(d.size)
    return {"mean": d.mean(), "boot_low": np.quantile(means, 0.025), "boot_high": np.quantile(means, 0.975),
            "t_low": d.mean() - half, "t_high": d.mean() + half}


def text_of(path) -> pd.DataFrame:
    """A rendered table as its cell texts."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def paired_long(report) -> pd.DataFrame:
    frame = pd.read_csv(report.out_dir / "tables" / f"paired__toyproto__{HASH}.long.csv")
    return frame.set_index(["method", "reference", "metric", "translation"])


@pytest.mark.parametrize(("method", "reference", "column"), [
    ("good", "colour_transfer", ("ssim", "A→B")), ("meh", "colour_transfer", ("psnr", "A→B")),
    ("meh", "exemplar_copy", ("ssim", "A→B")), ("good", "input_copy", ("psnr", "A→B")),
    ("meh", "input_copy", ("ssim", "A→B"))])
def test_paired_differences_and_interval_endpoints_match_numpy(report, method, reference, column):
    row = paired_long(report).loc[(method, reference, *column)]
    expected = direct(method, reference, column)
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, abs=1e-12), key
    assert row["n_seeds"] == 3 and row["seeds"] == "0,1,2"
    # a percentile bootstrap of 3 values never leaves their range: the t-interval is the wider one here
    d = np.array(VALUES[method][column]) - np.array(VALUES[reference][column])
    assert d.min() - 1e-12 <= row["boot_low"] <= row["boot_high"] <= d.max() + 1e-12
    assert row["t_low"] < row["boot_low"] and row["t_high"] > row["boot_high"]


def test_pairing_is_stated_and_intervals_excluding_zero_are_marked(report):
    frame = paired_long(report)
    against = frame.xs("colour_transfer", level="reference")["pairing"]
    assert set(against[["good", "meh", "input_copy"]]) == {"reference has 1 seed (0): paired with every seed"}
    assert set(against["exemplar_copy"]) == {"by seed"}  # both deterministic rows ran seed 0 only
    assert set(frame.xs("input_copy", level="reference")["pairing"]) == {"by seed"}
    good = frame.loc[("good", "colour_transfer", "ssim", "A→B")]  # d = 0.10, 0.16, 0.13
    meh = frame.loc[("meh", "colour_transfer", "ssim", "A→B")]  # d = −0.02, 0.03, 0.01: straddles 0
    worse = frame.loc[("meh", "colour_transfer", "psnr", "A→B")]  # d = −1.0, −0.5, −1.2
    assert bool(good["boot_excludes_zero"]) and bool(good["t_excludes_zero"]) and bool(good["better"])
    assert not meh["boot_excludes_zero"] and not meh["t_excludes_zero"]
    assert bool(worse["boot_excludes_zero"]) and not worse["better"]
    # the references are also compared with each other (one seed each: a difference without interval)
    ct = frame.loc[("colour_transfer", "exemplar_copy", "ssim", "A→B")]
    assert ct["n_seeds"] == 1 and ct["mean"] == pytest.approx(-0.05) and math.isnan(ct["boot_low"])

    table = text_of(report.out_dir / "tables" / f"paired__toyproto__{HASH}.csv").set_index("method")
    cell = table.loc["good [cpu] − colour_transfer", "SSIM A→B"]
    e = direct("good", "colour_transfer", ("ssim", "A→B"))
    assert cell == (f"{e['mean']:+.3f} [{e['boot_low']:+.3f}, {e['boot_high']:+.3f}] ▲ · "
                    f"t [{e['t_low']:+.3f}, {e['t_high']:+.3f}] ▲")
    assert table.loc["meh [cpu] − colour_transfer", "PSNR A→B"].endswith(" ▼")
    assert "▲" not in table.loc["meh [cpu] − colour_transfer", "SSIM A→B"]
    assert "▼" not in table.loc["meh [cpu] − colour_transfer", "SSIM A→B"]
    # d = −0.07, −0.02, −0.04 against exemplar_copy: all below 0, so the bootstrap (which never leaves their range)
    # excludes 0; the t-interval does not
    crude = paired_long(report).loc[("meh", "exemplar_copy", "ssim", "A→B")]
    assert bool(crude["boot_excludes_zero"]) and not crude["t_excludes_zero"]
    cell = table.loc["meh [cpu] − exemplar_copy", "SSIM A→B"]
    assert cell.count("▼") == 1 and cell.index("▼") < cell.index("t [")
    assert table.loc["good [cpu] − colour_transfer", "n seeds"] == "3"
    assert table.loc["input_copy [cpu] − colour_transfer", "PSNR A→B"] == "-2.000 (all seeds equal) ▼"
    assert table.loc["colour_transfer [cpu] − exemplar_copy", "SSIM A→B"] == "-0.050"
    # rows grouped by reference in the configured order: exemplar_copy, colour_transfer, input_copy
    firsts = [label.rsplit(" − ", 1)[1] for label in table.index]
    assert firsts == sorted(firsts, key=["exemplar_copy", "colour_transfer", "input_copy"].index)
    md = (report.out_dir / "tables" / f"paired__toyproto__{HASH}.md").read_text()
    assert "**+0.130 [" in md and "95% CI (bootstrap over seeds)" in md and "10 distinct resamples" in md
    assert "t(0.975, n−1)" in md


def test_mean_over_seeds_table_has_both_intervals_and_the_seed_count(report):
    frame = text_of(report.out_dir / "tables" / f"seeds__toyproto__{HASH}.csv").set_index("method")
    values = np.array(VALUES["good"][("ssim", "A→B")])
    means = np.random.default_rng(0).choice(values, size=(2000, 3), replace=True).mean(axis=1)
    half = T_975_DF2 * values.std(ddof=1) / math.sqrt(3)
    lo, hi = np.quantile(means, [0.025, 0.975])
    m = values.mean()
    assert frame.loc["good [cpu]", "SSIM A→B"] == f"{m:.3f} [{lo:.3f}, {hi:.3f}] · t [{m - half:.3f}, {m + half:.3f}]"
    assert frame.loc["good [cpu]", "n seeds"] == "3" and frame.loc["good [cpu]", "seeds"] == "0,1,2"
    assert frame.loc["input_copy [cpu]", "PSNR A→B"] == "11.000 (all seeds equal)"
    exemplar = frame.loc["exemplar_copy [cpu]"]
    assert exemplar["SSIM A→B"] == "0.450" and exemplar["n seeds"] == "1"


def test_uncertainty_ci95_protocol_table_names_the_interval_and_the_seed_count(reports):
    table = text_of(reports["ci95"].out_dir / "tables" / f"toyproto__{HASH}.csv").set_index("method")
    values = np.array(VALUES["good"][("ssim", "A→B")])
    lo, hi = np.quantile(np.random.default_rng(0).choice(values, size=(2000, 3)).mean(axis=1), [0.025, 0.975])
    assert table.loc["good [cpu]", "SSIM A→B"] == f"{values.mean():.3f} [{lo:.3f}, {hi:.3f}]"
    assert table.loc["good [cpu]", "spread"] == "95% CI (bootstrap over 3 seeds)"
    assert table.loc["good [cpu]", "seeds"] == "3" and table.loc["exemplar_copy [cpu]", "seeds"] == "1"
    md = (reports["ci95"].out_dir / "tables" / f"toyproto__{HASH}.md").read_text()
    assert "95% CI (bootstrap over seeds)" in md and "distinct resamples: 10 for n seeds = 3" in md
    # the default (std) table keeps its caption: the interval note appears only where there are intervals
    assert "distinct resamples" not in (reports["std"].out_dir / "tables" / f"toyproto__{HASH}.md").read_text()


def test_the_index_lists_the_over_seeds_tables_and_the_figure(report):
    index = report.index.read_text()
    for name in (f"seeds__toyproto__{HASH}", f"paired__toyproto__{HASH}"):
        for ext in ("csv", "md", "html", "long.csv"):
            assert f'href="tables/{name}.{ext}"' in index
    figure = report.out_dir / "figures" / f"paired__toyproto__{HASH}.png"
    assert figure.stat().st_size > 1000 and f'src="figures/{figure.name}"' in index
    assert "over seeds (n seeds per row: 1, 3)" in index
    group = report.groups[0]
    assert group["paired_table"] == f"paired__toyproto__{HASH}" and group["paired_chart"] == f"figures/{figure.name}"


# -- the statistics on hand-made frames -------------------------------------------------------------------------------
def test_distinct_resamples_counts_multisets():
    for n in (2, 3, 4):
        multisets = {tuple(sorted(c)) for c in itertools.product(range(n), repeat=n)}
        assert distinct_resamples(n) == len(multisets)
    assert distinct_resamples(3) == 10


def test_interval_stats_one_value_and_zero_spread():
    one = interval_stats(np.array([0.3]))
    assert one["n_seeds"] == 1 and one["mean"] == 0.3 and math.isnan(one["boot_low"]) and math.isnan(one["t_high"])
    flat = interval_stats(np.array([0.3, 0.3, 0.3]))
    assert flat["boot_low"] == flat["boot_high"] == flat["t_low"] == flat["t_high"] == pytest.approx(0.3)


def _seeds(rows: list[tuple[str, int, float]], metric: str = "fid", direction: str = "lower") -> pd.DataFrame:
    return pd.DataFrame([{"protocol": "p", "protocol_hash": "h", "scale": "cpu", "method": m, "calibrated": True,
                          "metric": metric, "translation": "A→B", "direction": direction, "seed": s, "value": v}
                         for m, s, v in rows])


def test_lower_is_better_and_seeds_without_a_reference_run_are_left_out():
    seeds = _seeds([("m", 0, 10.0), ("m", 1, 11.0), ("m", 2, 12.0), ("input_copy", 0, 30.0), ("input_copy", 1, 32.0)])
    row = paired_frame(seeds).set_index("reference").loc["input_copy"]
    assert row["pairing"] == "by seed" and row["seeds"] == "0,1" and row["n_seeds"] == 2
    assert row["mean"] == pytest.approx(-20.5) and row["reference_mean"] == pytest.approx(31.0)
    assert bool(row["better"]) and bool(row["boot_excludes_zero"])  # lower FID than the reference: better
    assert "method seeds 2 have no reference run" in row["note"]
    stats = seed_frame(seeds).set_index("method")
    assert stats.loc["m", "n_seeds"] == 3 and stats.loc["m", "std"] == pytest.approx(1.0)
    assert list(paired_frame(seeds, references=["exemplar_copy"]).index) == []  # no such row: nothing paired


def test_repeated_runs_of_one_seed_are_averaged_before_pairing():
    rows = _seeds([("m", 0, 1.0), ("m", 0, 3.0), ("m", 1, 4.0)], metric="ssim", direction="higher")
    selected = rows.assign(source="ours", status="ok")
    seeds = per_seed(selected)
    assert seeds.set_index("seed")["value"].to_dict() == {0: 2.0, 1: 4.0}


def test_a_single_seed_setting_gets_no_over_seeds_block(tmp_path_factory):
    from tests.bench.fixtures.report_store import H1, H3, shared_report

    base = shared_report(tmp_path_factory)  # edges_shoes (H3) has one seed; mnist_single H1 has two
    shoes = next(g for g in base.groups if g["protocol_hash"] == H3)
    assert not {"seeds_table", "paired_table", "paired_chart"} & set(shoes)
    tables = base.out_dir / "tables"
    assert not [*tables.glob("seeds__edges_shoes*"), *tables.glob("paired__edges_shoes*")]
    assert {"seeds_table", "paired_table"} <= set(next(g for g in base.groups if g["protocol_hash"] == H1))


def test_seed_values_equal_up_to_float_noise_read_as_equal() -> None:
    """A deterministic row whose seeds differ in the last bits (float sums in another order) is "all seeds equal",
    not a zero-width interval; a real spread keeps its intervals."""
    import pandas as pd

    from bench.report.seeds import interval_text

    noise = pd.Series({"mean": 0.244, "std": 3e-17, "boot_low": 0.244, "boot_high": 0.244, "t_low": 0.244,
                       "t_high": 0.244})
    assert interval_text(noise, 3) == "0.244 (all seeds equal)"
    spread = noise.copy()
    spread[["std", "boot_low", "boot_high", "t_low", "t_high"]] = [1e-4, 0.2439, 0.2441, 0.2438, 0.2442]
    assert interval_text(spread, 3) == "0.244 [0.244, 0.244] · t [0.244, 0.244]"
