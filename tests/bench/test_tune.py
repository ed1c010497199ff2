"""`bench tune` study mechanics with cheap objectives: failures, pruning, interruption and resume, stale trials,
outputs and the MLflow hierarchy."""

from __future__ import annotations

import math
import os
import signal
import time
from types import SimpleNamespace

import optuna
import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf
from optuna.trial import TrialState

from bench.tune.space import SearchSpace
from bench.tune.storage import open_storage, redact
from bench.tune.study import compose_tune, run_tune, sigterm_as_interrupt
from bench.tune.worker import ERROR, HEARTBEAT, RETRY_OF, budget_used, run_worker
from core.errors import BenchError
from tests.bench.fixtures.mlflow_store import experiment
from tests.bench.fixtures.tune_objectives import quadratic

optuna.logging.set_verbosity(optuna.logging.WARNING)


def tune_cfg(tmp_path, *overrides: str):
    return compose_tune([
        f"results={tmp_path}", "objective.metric=score", "objective.direction=maximize", "study_name=s",
        "search_space={x: {low: 0.0, high: 4.0}}", "plots=false", "tracking.enabled=false", "sampler.seed=0",
        "heartbeat_s=0.2", *overrides])[0]


def trials_of(tmp_path, name: str = "s") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'optuna.db'}").get_trials()


def test_search_space_validation():
    space = SearchSpace.from_config({"w": {"low": 0.1, "high": 10, "log": True},
                                     "k": {"low": 1, "high": 4, "int": True},
                                     "norm": {"choices": ["in", "bn"]}}, "m.yaml")
    assert space.names == ["w", "k", "norm"]
    assert SearchSpace.overrides("toy", {"w": 0.5, "norm": "in"}) == ["++methods.toy.override.w=0.5",
                                                                      "++methods.toy.override.norm='in'"]
    for bad, message in [({}, "declares no search_space"), ({"w": {"low": 1}}, "needs both low and high"),
                         ({"w": {"low": 2, "high": 1}}, "low < high"), ({"w": {"low": 0, "high": 1, "log": True}},
                                                                        "log range needs low > 0"),
                         ({"w": {"low": 0, "high": 1, "lo": 3}}, "unknown keys")]:
        with pytest.raises(BenchError, match=message):
            SearchSpace.from_config(bad, "m.yaml")


def test_nan_and_crashing_trials_are_failed_and_the_study_goes_on(tmp_path):
    def objective(params, ctx):
        if ctx.number == 1:
            return math.nan
        if ctx.number == 2:
            raise ValueError("boom")
        return quadratic(params, ctx)

    result = run_tune(tune_cfg(tmp_path, "n_trials=5"), objective)
    trials = trials_of(tmp_path)
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL,
                                         TrialState.COMPLETE, TrialState.COMPLETE]
    assert trials[1].user_attrs[ERROR] == "objective is nan"
    assert trials[2].user_attrs[ERROR] == "ValueError: boom"
    assert result.complete and result.counts["fail"] == 2 and result.best is not None


def test_pruning_on_intermediate_values(tmp_path):
    def objective(params, ctx):  # each trial is worse than the last at every step: the pruner stops them early
        for step in range(3):
            ctx.report(step, -float(ctx.number))
        return -float(ctx.number)

    run_tune(tune_cfg(tmp_path, "n_trials=5", "pruner.n_startup_trials=2"), objective)
    trials = trials_of(tmp_path)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED] * 3
    assert all(list(t.intermediate_values) == [0] for t in trials[2:])  # stopped at the first report


def test_interrupted_study_resumes_and_reruns_the_interrupted_trial(tmp_path):
    def interrupted_at_2(params, ctx):
        if ctx.number == 2:
            raise KeyboardInterrupt
        return quadratic(params, ctx)

    with pytest.raises(KeyboardInterrupt):
        run_tune(tune_cfg(tmp_path, "n_trials=5"), interrupted_at_2)
    trials = trials_of(tmp_path)
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL,
                                         TrialState.WAITING]
    assert trials[3].user_attrs[RETRY_OF] == 2

    result = run_tune(tune_cfg(tmp_path, "n_trials=5"), quadratic)  # same study name: resume
    trials = trials_of(tmp_path)
    assert len(trials) == 6 and budget_used(trials) == 5  # 5 trials + the interrupted one it replaced
    assert trials[3].params == trials[2].params and trials[3].state == TrialState.COMPLETE
    assert [t.number for t in trials if t.state == TrialState.COMPLETE] == [0, 1, 3, 4, 5]
    assert result.complete and result.counts["retried"] == 1


def test_trial_of_a_dead_worker_is_retried_once_its_heartbeat_is_stale(tmp_path):
    store = open_storage(None, tmp_path, "s")
    study = optuna.create_study(study_name="s", storage=store.storage, direction="maximize")
    space = SearchSpace.from_config({"x": {"low": 0.0, "high": 4.0}}, "test")
    alive = study.ask()  # another worker's trial, heartbeat fresh: must be left alone
    alive.suggest_float("x", 0.0, 4.0)
    alive.set_user_attr(HEARTBEAT, 1e12)
    dead = study.ask()  # a killed worker's trial: started, never finished, no heartbeat
    dead.suggest_float("x", 0.0, 4.0)
    summary = run_worker(study, quadratic, space, 4, store.lock, stale_after_s=0.0, heartbeat_s=0.2)
    trials = study.get_trials()
    assert summary.retried == [dead.number]
    assert trials[dead.number].state == TrialState.FAIL and trials[alive.number].state == TrialState.RUNNING
    retry = next(t for t in trials if t.user_attrs.get(RETRY_OF) == dead.number)
    assert retry.params == trials[dead.number].params and retry.state == TrialState.COMPLETE
    assert len(trials) == 5 and budget_used(trials) == 4 and summary.ran == 3


def test_best_overrides_summary_and_plots(tmp_path):
    result = run_tune(tune_cfg(tmp_path, "n_trials=4", "plots=true", "method=toy"), quadratic)
    best = result.best
    yaml = OmegaConf.load(result.files["best.yaml"])
    assert list(yaml.defaults) == ["toy@_here_", "_self_"] and yaml.override.x == pytest.approx(best.params["x"])
    assert result.files["best.yaml"].read_text().startswith("# @package methods.toy_tuned\n")
    lines = [ln for ln in result.files["best_overrides.txt"].read_text().splitlines() if not ln.startswith("#")]
    assert lines == [f"++methods.toy.override.x={best.params['x']!r}"]
    for name in ("history", "importances", "parallel_coordinate"):
        assert result.files[f"plot:{name}"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.skipped_plots == {}


def test_study_and_trials_form_an_mlflow_hierarchy_reused_on_resume(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment(uri, "tune-test", tmp_path)
    cfg = tune_cfg(tmp_path, "n_trials=2", "tracking.enabled=true", f"tracking.uri={uri}",
                   "tracking.experiment=tune-test", "protocol=mnist_single", "method=toy")
    first = run_tune(cfg, quadratic)
    cfg.n_trials = 3
    second = run_tune(cfg, quadratic)
    assert first.parent_run_id and second.parent_run_id == first.parent_run_id
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("tune-test").experiment_id])
    parents = [r for r in runs if r.data.tags.get("bench.kind") == "tune"]
    trials = [r for r in runs if r.data.tags.get("bench.kind") == "trial"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(int(r.data.tags["bench.trial"]) for r in trials) == [0, 1, 2]
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {first.parent_run_id}
    parent = parents[0].data
    assert parent.metrics["best_value"] == pytest.approx(second.best.value)
    assert float(parent.tags["best.x"]) == pytest.approx(second.best.params["x"])
    assert parent.tags["bench.protocol"] == "mnist_single" and parent.tags["bench.direction"] == "maximize"


def test_resuming_with_another_setup_is_refused(tmp_path):
    run_tune(tune_cfg(tmp_path, "n_trials=1"), quadratic)
    with pytest.raises(BenchError, match="different setup"):
        run_tune(tune_cfg(tmp_path, "n_trials=2", "objective.metric=other"), quadratic)


def test_journal_storage_and_storage_errors(tmp_path):
    result = run_tune(tune_cfg(tmp_path, "n_trials=2", f"storage=journal:{tmp_path / 'study.log'}"), quadratic)
    assert result.complete and result.storage.startswith("journal:") and (tmp_path / "study.log").exists()
    assert redact("postgresql://bench:secret@db:5432/optuna") == "postgresql://bench:***@db:5432/optuna"
    with pytest.raises(BenchError, match="unsupported Optuna storage"):
        open_storage("redis://host", tmp_path, "s")


def test_sigterm_is_handled_like_ctrl_c():
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises as soon as the signal arrives


def test_run_objective_forwards_intermediate_values_when_the_runner_accepts_them(monkeypatch):
    """Pruning of `bench run` trials rides on a runner hook `execute(..., intermediate=fn)`; until the runner has
    it the objective calls execute without it."""
    import bench.config
    import bench.runner
    from bench.results import ResultRow
    from bench.tune.objective import RunObjective

    seen = {}

    rows = [ResultRow("p", "m", "ssim", t, v, None, 4, "higher", "h", True, "ok") for t, v in
            [("A→B", 0.2), ("B→A", 0.4)]]
    outcome = SimpleNamespace(run_id="r", rows=rows)

    def execute(cfg, parent_run_id=None, intermediate=None):
        seen["cfg"] = cfg
        intermediate(1, {("ssim", "A→B"): 0.1, ("ssim", "B→A"): 0.3, ("psnr", "A→B"): 9.0})
        return outcome

    monkeypatch.setattr(bench.config, "compose_run", lambda overrides: overrides)
    monkeypatch.setattr(bench.runner, "execute", execute)

    reports = []
    ctx = SimpleNamespace(number=3, parent_run_id="study", run_id=None,
                          report=lambda step, value: reports.append((step, value)))
    value = RunObjective("p", "m", "smoke", "ssim", None, "s", ["seed=1"])({"w": 0.5}, ctx)
    assert value == pytest.approx(0.3) and reports == [(1, pytest.approx(0.2))] and ctx.run_id == "r"
    assert seen["cfg"] == ["protocol=p", "methods=[m]", "run_name=s-t3", "scale=smoke", "seed=1",
                           "++methods.m.override.w=0.5"]
