"""Exported runs folders (`bench report export_runs=`, `runs_dir=`): the same tables without MLflow, exports
accumulate, bad folders are refused in one line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bench.__main__ import main as cli
from bench.report import ReportOptions, build_report
from bench.report.runs_folder import RUN_FILE
from core.errors import BenchError
from tests.bench.fixtures.report_store import H1, shared_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return shared_store(tmp_path_factory)


@pytest.fixture(scope="module")
def exported(store, tmp_path_factory):
    """The fixture store's default report, with its runs exported, and the same report rendered from the export."""
    root = tmp_path_factory.mktemp("runs-folder")
    common = {"configs_dir": store["configs"], "uncertainty": "ci95", "n_resamples": 200}
    from_store = build_report(ReportOptions(out_dir=root / "a", tracking_uri=store["uri"],
                                            export_runs=root / "runs", **common))
    from_folder = build_report(ReportOptions(out_dir=root / "b", runs_dir=root / "runs", **common))
    return root, from_store, from_folder


def _tables(report) -> dict[str, bytes]:
    tables = report.out_dir / "tables"
    return {p.name: p.read_bytes() for p in sorted(tables.glob("*")) if p.is_file()}


def test_a_report_from_the_exported_runs_equals_the_report_from_the_store(exported):
    _, a, b = exported
    assert a.groups and [g["table"] for g in a.groups] == [g["table"] for g in b.groups]
    pd.testing.assert_frame_equal(a.aggregated.reset_index(drop=True), b.aggregated.reset_index(drop=True))
    assert _tables(a) == _tables(b)  # every CSV/Markdown/HTML table byte for byte, paired over seeds included
    figures = sorted(p.relative_to(a.out_dir) for p in (a.out_dir / "figures").rglob("*.png"))
    assert figures and figures == sorted(p.relative_to(b.out_dir) for p in (b.out_dir / "figures").rglob("*.png"))
    assert any(g["qualitative"] for g in b.groups)  # image artifacts travel with the runs


def test_the_export_holds_each_run_record_and_its_artifacts_but_no_training_curves(exported):
    root, a, _ = exported
    records = [json.loads(p.read_text()) for p in (root / "runs").rglob(RUN_FILE)]
    parents = {r["name"] for r in records if r["tags"].get("bench.kind") == "run"}
    shown = {r.strip() for cell in a.aggregated["runs"].dropna() for r in str(cell).split(",") if r.strip()}
    assert shown and shown <= parents | {r["name"] for r in records}  # every run named in the tables was exported
    assert not parents & {"r1", "trial-0"}  # superseded runs and tuning trials are not behind the tables
    assert all((root / "runs" / name / "methods").is_dir() for name in parents)
    children = [r for r in records if r["tags"].get("bench.kind") == "method"]
    assert children and all(r["parent_id"] for r in children)
    assert not any(k.startswith("train.") for r in records for k in r["metrics"])
    index = (a.out_dir / "index.html").read_text()
    assert f"exported to {root / 'runs'}" in index


def test_exports_of_several_stores_accumulate_and_a_re_export_rewrites_in_place(store, tmp_path):
    common = {"configs_dir": store["configs"], "figures": False, "tracking_uri": store["uri"]}
    dest = tmp_path / "runs"
    build_report(ReportOptions(out_dir=tmp_path / "r1", runs=["r2"], export_runs=dest, **common))
    build_report(ReportOptions(out_dir=tmp_path / "r2", runs=["r3"], export_runs=dest, **common))
    build_report(ReportOptions(out_dir=tmp_path / "r3", runs=["r3"], export_runs=dest, **common))
    assert sorted(p.name for p in dest.iterdir()) == ["r2", "r3", "study-toy"]  # the study shown beside them
    both = build_report(ReportOptions(out_dir=tmp_path / "both", runs_dir=dest, configs_dir=store["configs"],
                                      figures=False))
    agg = both.aggregated
    seeds = agg[(agg["protocol_hash"] == H1) & (agg["source"] == "ours") & agg["value"].notna()]
    assert set(seeds["seeds"]) == {2}  # seed 0 from one export, seed 1 from the other: aggregated together


def test_bad_runs_folders_are_refused_in_one_line(store, tmp_path):
    with pytest.raises(BenchError, match="no runs folder at"):
        build_report(ReportOptions(out_dir=tmp_path / "o", runs_dir=tmp_path / "absent"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match="holds no exported runs"):
        build_report(ReportOptions(out_dir=tmp_path / "o", runs_dir=tmp_path / "empty"))
    (tmp_path / "bad" / "x").mkdir(parents=True)
    (tmp_path / "bad" / "x" / RUN_FILE).write_text("{not json")
    with pytest.raises(BenchError, match="is not a readable run record"):
        build_report(ReportOptions(out_dir=tmp_path / "o", runs_dir=tmp_path / "bad"))
    for dest in (tmp_path / "bad", tmp_path / "bad" / "sub", tmp_path):  # the same folder, inside it, around it
        with pytest.raises(BenchError, match="the runs would be read twice"):
            build_report(ReportOptions(out_dir=tmp_path / "o", runs_dir=tmp_path / "bad", export_runs=dest))
    (tmp_path / "a-file").write_text("notes")
    with pytest.raises(BenchError, match="is a file, not a folder"):
        build_report(ReportOptions(out_dir=tmp_path / "o", tracking_uri=store["uri"], configs_dir=store["configs"],
                                   figures=False, export_runs=tmp_path / "a-file"))
    assert (tmp_path / "a-file").read_text() == "notes"


def test_a_run_copied_twice_into_a_runs_folder_is_refused_not_counted_twice(exported, tmp_path):
    import shutil

    root, _, _ = exported
    shutil.copytree(root / "runs", tmp_path / "two" / "a")
    shutil.copytree(root / "runs", tmp_path / "two" / "b")
    with pytest.raises(BenchError, match=r"is in .* twice: .*a.* and .*b"):
        build_report(ReportOptions(out_dir=tmp_path / "o", runs_dir=tmp_path / "two"))


def test_cli(exported, tmp_path, capsys, monkeypatch):
    root, _, _ = exported
    monkeypatch.chdir(tmp_path)
    assert cli(["report", f"runs_dir={root / 'runs'}", "out_dir=out", "figures=false"]) == 0
    assert "runs folder" in (tmp_path / "out" / "index.html").read_text()
    capsys.readouterr()
    assert cli(["report", f"runs_dir={tmp_path / 'nowhere'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) <= 2 and "no runs folder at" in err[0] and "Traceback" not in "".join(err)
    assert cli(["report", f"runs_dirs={root / 'runs'}"]) == 2  # a typo names the option meant, not Hydra's `+key`
    err = capsys.readouterr().err
    assert "did you mean 'runs_dir'?" in err and "+runs_dirs" not in err


def test_the_cli_says_where_the_runs_went(store, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli(["report", f"tracking.uri={store['uri']}", "out_dir=out", "figures=false", "export_runs=exp",
                f"configs_dir={store['configs']}"]) == 0
    out = capsys.readouterr().out
    assert "run(s) exported to exp" in out and (tmp_path / "exp").is_dir()
