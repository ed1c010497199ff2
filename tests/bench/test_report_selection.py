"""`select=latest` across method settings and failed attempts, and the papers' rows once per protocol setting
(bench/report/aggregate.py::select_runs, tables.py::protocol_table), on small synthetic result frames."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.report.aggregate import aggregate, select_runs
from bench.report.source import method_setting
from bench.report.tables import leaderboard_frame, protocol_table

STAND_IN, REAL = "71a363f0b620", "ef06698b23ff"
PAPER = "reported: CoCosNet (CVPR 2020) Table 1"


def row(run: str, start: int, method: str = "cocosnet", value: float | None = 0.5, status: str = "ok",
        setting: str = "", params: dict | None = None, phash: str = STAND_IN, source: str = "ours",
        metric: str = "swd") -> dict:
    failed = status != "ok" and source == "ours"
    return {"protocol": "ade20k", "protocol_hash": phash, "method": method, "method_class": method.split("_")[0],
            "metric": "" if failed else metric, "translation": "" if failed else "A→B", "direction": "lower",
            "value": None if failed else value, "std": None, "n": 8, "calibrated": True, "status": status,
            "source": source, "note": f"{status}: boom" if failed else "", "scale": "smoke", "seed": 0,
            "data_source": "", "data_fingerprint": "", "run_name": run, "git_commit": "", "run_id": f"id-{run}",
            "run_start": start, "experiment": "bench", "variant_of": "", "tuning": False, "origin": "metrics.csv",
            "setting": setting, "setting_params": params or {}}


def frame(*rows: dict) -> pd.DataFrame:
    out = pd.DataFrame(list(rows))
    out["n"] = out["n"].astype("Int64")
    out["seed"] = out["seed"].astype("Int64")
    return out


def test_method_setting_names_the_method_params_only():
    a = method_setting({"method.match_resolution": "1/4", "method.name": "cocosnet", "params_count.G": "3"})
    b = method_setting({"method.match_resolution": "1/3", "method.name": "cocosnet", "params_count.G": "9"})
    assert len(a) == 6 and a != b
    assert a == method_setting({"method.name": "cocosnet", "method.match_resolution": "1/4"})  # order-free
    assert method_setting({}) == "" and method_setting({"params_count.G": "3"}) == ""


def test_a_failed_run_of_another_method_setting_does_not_shadow_the_successful_one():
    rows = frame(row("r1", 1, value=0.4, setting="aaaaaa", params={"match_resolution": "1/4"}),
                 row("r2", 2, status="failed", setting="bbbbbb", params={"match_resolution": "1/3"}),
                 row("r1", 1, method="exemplar_copy", value=0.9, setting="cccccc"))
    agg = aggregate(select_runs(rows), n_resamples=50)
    ok = agg[agg["method"] == "cocosnet #aaaaaa"].iloc[0]
    bad = agg[agg["method"] == "cocosnet #bbbbbb"].iloc[0]
    assert ok.status == "ok" and ok.value == pytest.approx(0.4) and ok.note == "method setting: match_resolution=1/4"
    assert bad.status == "failed" and bad.note == "method setting: match_resolution=1/3; failed: boom"
    assert "exemplar_copy" in set(agg["method"])  # one setting only: the plain label
    board = leaderboard_frame(agg)
    assert set(board["method"]) == {"cocosnet #aaaaaa", "exemplar_copy"}
    assert board.set_index("method").loc["cocosnet #aaaaaa", "rank"] == 1  # 0.4 < 0.9, lower is better


@pytest.mark.parametrize("status", ["failed", "killed", "refused"])
def test_a_newer_failed_attempt_of_one_setting_keeps_the_older_success_and_says_so(status):
    rows = frame(row("r1", 1, value=0.3, setting="aaaaaa"), row("r2", 2, value=0.35, setting="aaaaaa"),
                 row("r3", 3, status=status, setting="aaaaaa"))
    chosen = select_runs(rows)
    assert list(chosen["run_name"]) == ["r2"]  # the latest successful run, not r1, not r3
    assert chosen["note"].iloc[0] == f"a newer attempt ended {status} (run id-r3)"
    agg = aggregate(chosen, n_resamples=50)
    assert agg["value"].iloc[0] == pytest.approx(0.35) and agg["status"].iloc[0] == "ok"
    # with no success at all the newest settled attempt is what there is; the older failure is not mentioned
    alone = select_runs(frame(row("r1", 1, status="failed", setting="aaaaaa"),
                              row("r2", 2, status="failed", setting="aaaaaa")))
    assert list(alone["run_name"]) == ["r2"] and alone["note"].iloc[0] == "failed: boom"
    # select=all keeps every attempt (averaged or counted like seeds)
    assert len(select_runs(rows, "all")) == 3


def test_reported_rows_once_per_protocol_setting_with_that_settings_caveat_and_after_ours():
    caveat = f"{PAPER}; real ade20k; not comparable with rows on scenes"
    rows = frame(row("s1", 1, method="exemplar_copy", value=11.0),
                 row("s1", 1, method="spade", value=33.9, status="reported", source=caveat),
                 row("s2", 2, method="exemplar_copy", value=12.0),
                 row("s2", 2, method="spade", value=33.9, status="reported", source=caveat),
                 row("q1", 3, method="exemplar_copy", value=1.7, phash=REAL),
                 row("q1", 3, method="spade", value=33.9, status="reported", source=PAPER, phash=REAL),
                 row("q1", 3, method="cocosnet", value=26.4, status="reported", source=PAPER, phash=REAL))
    agg = aggregate(select_runs(rows), n_resamples=50)
    reported = agg[agg["source"] != "ours"]
    assert sorted(zip(reported["protocol_hash"], reported["method"], reported["source"], strict=True)) == [
        (STAND_IN, "spade", caveat), (REAL, "cocosnet", PAPER), (REAL, "spade", PAPER)]
    # a long source (the stand-in's caveat) is the row's first note, footnoted under Markdown/HTML tables
    stand_in = protocol_table(agg[agg["protocol_hash"] == STAND_IN], "ade20k", STAND_IN)
    assert stand_in.rows[1].extra["note"].startswith(caveat.replace("; ", ", "))
    for phash, labels in [(STAND_IN, ["exemplar_copy [smoke]", "spade (reported)"]),
                          (REAL, ["exemplar_copy [smoke]", f"cocosnet ({PAPER})", f"spade ({PAPER})"])]:
        part = agg[agg["protocol_hash"] == phash]
        table = protocol_table(part, "ade20k", phash)
        assert [r.label for r in table.rows] == labels  # ours first, then the papers' rows, each once
    assert agg.loc[(agg["source"] == "ours") & (agg["protocol_hash"] == STAND_IN), "value"].item() == 12.0
