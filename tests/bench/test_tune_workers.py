"""Two tune workers at once on one storage: the study ends with exactly the requested trials, none lost, none
duplicated. Processes through the CLI on the default SQLite storage (with MLflow), threads on a journal file."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from bench.tune.space import SearchSpace
from bench.tune.storage import open_storage
from bench.tune.worker import WORKER, run_worker
from tests.bench.fixtures.mlflow_store import experiment
from tests.bench.fixtures.tune_objectives import quadratic

REPO = Path(__file__).resolve().parents[2]
N_TRIALS = 6


def check_exact(trials: list[optuna.trial.FrozenTrial]) -> None:
    assert [t.number for t in trials] == list(range(N_TRIALS))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.params["x"] for t in trials}) == N_TRIALS  # no two trials sampled alike


def test_two_worker_processes_share_one_study(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    experiment(uri, "tune-test", tmp_path)  # the store exists before the workers start (as after any `bench run`)
    command = [sys.executable, "-m", "bench", "tune", "study_name=shared", f"n_trials={N_TRIALS}",
               f"results={tmp_path}", "objective.callable=tests.bench.fixtures.tune_objectives:quadratic",
               "objective.metric=score", "objective.direction=maximize", "search_space={x: {low: 0.0, high: 4.0}}",
               "sampler.seed=0", "plots=false", f"tracking.uri={uri}", "tracking.experiment=tune-test"]
    env = {**os.environ, "TUNE_BARRIER": str(barrier), "TUNE_WORKERS": "2", "TUNE_SLEEP": "0"}
    workers = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(2)]
    logs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(logs)

    # default storage: <results>/optuna.db
    trials = optuna.load_study(study_name="shared", storage=f"sqlite:///{tmp_path / 'optuna.db'}").get_trials()
    check_exact(trials)
    assert len({t.user_attrs[WORKER] for t in trials}) == 2  # both ran trials (they met at the barrier)
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("tune-test").experiment_id])
    parents = [r for r in runs if r.data.tags.get("bench.kind") == "tune"]
    children = [r for r in runs if r.data.tags.get("bench.kind") == "trial"]
    assert len(parents) == 1
    assert sorted(int(r.data.tags["bench.trial"]) for r in children) == list(range(N_TRIALS))
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}


def test_two_worker_threads_share_one_journal_study(tmp_path):
    space = SearchSpace.from_config({"x": {"low": 0.0, "high": 4.0}}, "test")
    meet = threading.Barrier(2, timeout=60)
    ran: dict[str, int] = {}
    errors: list[BaseException] = []

    def objective(params, ctx):
        name = threading.current_thread().name
        if name not in ran:
            meet.wait()  # both workers hold a running trial at the same moment
        ran[name] = ran.get(name, 0) + 1
        return quadratic(params, ctx)

    def worker() -> None:
        try:  # each worker opens the storage itself, as a separate process would
            store = open_storage(f"journal:{tmp_path / 'study.log'}", tmp_path, "shared")
            study = optuna.create_study(study_name="shared", storage=store.storage, direction="maximize",
                                        load_if_exists=True)
            run_worker(study, objective, space, N_TRIALS, store.lock, heartbeat_s=0.5,
                       sampler_factory=lambda n: optuna.samplers.RandomSampler(seed=n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    store = open_storage(f"journal:{tmp_path / 'study.log'}", tmp_path, "shared")
    check_exact(optuna.load_study(study_name="shared", storage=store.storage).get_trials())
    assert set(ran) == {"w0", "w1"} and sum(ran.values()) == N_TRIALS
