"""Faults a user meets, in process: a corrupt checkpoint, a results folder that cannot be written, a disk that fills
up mid-run. Each stops with one line naming the file and the fix, a non-zero exit, and nothing that looks like a
result (no FINISHED run, no row with a number). Real-process faults: tests/bench/test_faults.py."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pandas as pd
import pytest

import bench.run_outputs
from bench.__main__ import main as bench_main
from bench.results import write_csv_atomic
from bench.runner import execute
from tests.bench.test_runner import mlflow_runs, small_cfg, test_methods  # noqa: F401  (a fixture)

SMALL = ["progress=false", "protocol.samples.smoke.train=32", "protocol.samples.smoke.test=16"]


@pytest.mark.usefixtures("test_methods")
def test_a_truncated_checkpoint_fails_the_method_naming_the_file_and_the_fix(tmp_path, caplog):
    assert not execute(small_cfg(tmp_path, "tracking.enabled=false", methods={"learned": "_learned"})).failed
    (checkpoint,) = tmp_path.glob("checkpoints/**/last.pt")
    checkpoint.write_bytes(checkpoint.read_bytes()[:300])  # cut short: what no atomic write leaves, but a copy may
    with caplog.at_level(logging.ERROR, logger="bench"):
        outcome = execute(small_cfg(tmp_path, methods={"learned": "_learned"}))
    assert outcome.failed
    (line,) = [r.getMessage() for r in caplog.records if "FAILED" in r.getMessage()]
    assert f"CheckpointError: {checkpoint} is not a readable checkpoint" in line and "\n" not in line
    assert f"fix: delete it (`rm {checkpoint}`)" in line  # never a silent restart from step 0
    rows = pd.read_csv(outcome.metrics_csv)
    learned = rows[rows.method == "learned"]
    assert (learned.status == "failed").all() and learned.value.isna().all()
    runs = mlflow_runs(tmp_path).sort_values("start_time")
    assert list(runs[runs["tags.mlflow.runName"] == "learned"].status) == ["FAILED"]
    assert list(runs[runs["tags.bench.kind"] == "run"].status) == ["FAILED"]


@pytest.mark.parametrize("kind", ["file in the way", "read-only"])
def test_an_unwritable_results_folder_stops_before_the_run_with_one_line(kind, tmp_path, capsys):
    if kind == "file in the way":
        (tmp_path / "file").write_text("")
        results = tmp_path / "file" / "results"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes to read-only folders; a read-only mount was checked by hand (see the PR)")
        results = tmp_path / "results"
        results.mkdir(mode=0o555)
    code = bench_main(["run", "methods=[input_copy]", f"paths.results={results}", *SMALL])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    first, fix = err.strip().splitlines()
    assert first.startswith("error: cannot write ") and str(tmp_path) in first
    assert fix.strip().startswith("fix: ") and "paths.results=" in fix
    assert not (tmp_path / "results" / "mlflow.db").exists()


def test_a_disk_that_fills_up_mid_run_leaves_no_result_that_looks_complete(tmp_path, monkeypatch, capsys):
    def full(frame: pd.DataFrame, path: Path) -> Path:
        if path.name == "metrics.csv":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_csv_atomic(frame, path)

    monkeypatch.setattr(bench.run_outputs, "write_csv_atomic", full)
    code = bench_main(["run", "methods=[input_copy]", f"paths.results={tmp_path}", *SMALL])
    err = capsys.readouterr().err  # the run's log, the error included, goes to stderr
    assert code == 2 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if "cannot write" in x]
    assert "metrics.csv: the disk is full" in line
    assert not list(tmp_path.glob("runs/*/metrics.csv")) and not list(tmp_path.glob("runs/*/.metrics.csv.tmp*"))
    runs = mlflow_runs(tmp_path)
    assert list(runs[runs["tags.bench.kind"] == "run"].status) == ["FAILED"]
