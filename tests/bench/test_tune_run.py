"""`bench tune` through the real runner (MNIST-Single on the offline digits, smoke scale), then `bench report` of the
same store: trial runs nest under the study run, the trial's weight reaches the method, the objective is the
protocol metric, and the report keeps trials out of the tables unless asked."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from bench.report import ReportOptions, build_report
from bench.tune.study import compose_tune, run_tune
from core.errors import BenchError
from tests.bench.fixtures.mlflow_store import experiment

pytestmark = pytest.mark.slow


def test_tune_with_bench_run_trials_then_report(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment(uri, "mnist_single", tmp_path)  # the experiment `bench run` and the study use for this protocol
    # input_copy learns nothing: the fake weight must still arrive in the method's params, and every trial scores
    # the same SSIM (a flat objective is fine for checking the plumbing)
    cfg, run_overrides = compose_tune([
        "protocol=mnist_single", "method=input_copy", "scale=smoke", "n_trials=2", f"results={tmp_path}",
        f"tracking.uri={uri}", "search_space={fake_weight: {low: 0.1, high: 1.0}}", "sampler.seed=0",
        "plots=true", "progress=false"])
    assert run_overrides == ["progress=false"]
    result = run_tune(cfg, run_overrides=run_overrides)
    assert result.complete and result.counts["complete"] == 2

    client = MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    by_kind = {}
    for r in runs:
        by_kind.setdefault(r.data.tags.get("bench.kind"), []).append(r)
    (study,) = by_kind["tune"]
    trial_runs = sorted(by_kind["run"], key=lambda r: int(r.data.tags["bench.trial"]))
    assert [r.data.tags["mlflow.parentRunId"] for r in trial_runs] == [study.info.run_id] * 2
    assert [r.data.tags["bench.run_name"] for r in trial_runs] == [f"{result.study_name}-t0", f"{result.study_name}-t1"]
    for trial_run in trial_runs:
        weight = float(trial_run.data.params["trial.fake_weight"])
        (method_run,) = [r for r in by_kind["method"] if r.data.tags["mlflow.parentRunId"] == trial_run.info.run_id]
        assert float(method_run.data.params["method.fake_weight"]) == pytest.approx(weight)
        rows = pd.read_csv(tmp_path / "runs" / trial_run.data.tags["bench.run_name"] / "metrics.csv")
        ssim = rows[(rows["method"] == "input_copy") & (rows["metric"] == "ssim")]["value"]
        assert trial_run.data.metrics["objective"] == pytest.approx(ssim.mean())
    assert study.data.tags["bench.objective"] == "ssim (mean over translations)"
    assert set(study.data.tags) >= {"best.fake_weight", "best.trial"}

    options = dict(out_dir=tmp_path / "report", tracking_uri=uri, figures=False)
    with pytest.raises(BenchError, match="no results match"):  # the only runs are trials
        build_report(ReportOptions(**options))
    report = build_report(ReportOptions(**{**options, "figures": True}, include_tuning=True))
    index = report.index.read_text()
    assert f"Study {result.study_name}" in index
    assert f'src="figures/tune/{result.study_name}/history.png"' in index
    assert (report.out_dir / "figures" / "tune" / result.study_name / "history.png").exists()
    assert {g["protocol"] for g in report.groups} == {"mnist_single"}
