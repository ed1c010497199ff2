"""Faults with real processes: a `bench run` killed with SIGKILL mid-training, four `bench run`s writing one SQLite
MLflow store at once. (Two `bench tune` workers on one study: tests/bench/test_tune_workers.py.) In-process faults
(corrupt checkpoint, unwritable results folder, full disk): tests/bench/test_faults_inprocess.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient

from bench.owners import HOST_TAG, PID_TAG, REASON_TAG, owner_tags
from bench.report.build import ReportOptions, load_store

REPO = Path(__file__).resolve().parents[2]
SMALL = ["progress=false", "protocol.samples.smoke.train=64", "protocol.samples.smoke.test=32"]
STEPS, EVERY = 60, 10
CYCLEGAN = ["methods=[cyclegan]", f"+methods.cyclegan.override.steps={STEPS}",
            f"+methods.cyclegan.override.checkpoint_every={EVERY}", *SMALL]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same threads in every process: the same floating-point sums


@pytest.fixture
def bench_run() -> Iterator[Callable[..., subprocess.Popen]]:
    """Starts `python -m bench run <overrides>`; whatever still runs when the test ends (a failed assertion) is
    killed, so no process outlives its test."""
    started: list[subprocess.Popen] = []

    def start(*overrides: str) -> subprocess.Popen:
        started.append(subprocess.Popen([sys.executable, "-m", "bench", "run", *overrides], cwd=REPO, env=ENV,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    out = proc.communicate(timeout=timeout)[0]
    assert proc.returncode == 0, out
    return out


def ours(out: str) -> pd.DataFrame:
    """The metrics.csv rows of our method, from the path a `bench run` prints last."""
    frame = pd.read_csv(out.strip().splitlines()[-1])
    return frame[frame.source == "ours"].sort_values(["metric", "translation"]).reset_index(drop=True)


def runs_of(uri: str) -> list:
    client = MlflowClient(uri)
    return client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=1000)


def test_sigkill_mid_training_resumes_to_the_uninterrupted_result_and_the_killed_runs_end_killed(tmp_path, bench_run):
    results, uri = tmp_path / "results", f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}"
    killed = bench_run(*CYCLEGAN, f"paths.results={results}")
    straight = bench_run(*CYCLEGAN, f"paths.results={results}", f"paths.checkpoints={tmp_path / 'straight'}")
    deadline = time.monotonic() + 240
    while not list((results / "checkpoints").glob("**/last.pt")):  # the first periodic checkpoint
        assert killed.poll() is None, f"finished before its first checkpoint was seen:\n{killed.communicate()[0]}"
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    (checkpoint,) = (results / "checkpoints").glob("**/last.pt")
    step = torch.load(checkpoint, weights_only=False)["step"]
    assert 0 < step < STEPS and step % EVERY == 0, step  # killed mid-training, not after its last save
    stuck = [r for r in runs_of(uri) if r.data.tags.get(PID_TAG) == str(killed.pid)]
    assert len(stuck) == 2 and {r.info.status for r in stuck} == {"RUNNING"}  # parent + cyclegan, as SIGKILL left them

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("mnist_single").experiment_id
    elsewhere = client.create_run(experiment, run_name="on-another-host", tags={
        **owner_tags(), HOST_TAG: "another-host.example", "bench.kind": "method"}).info.run_id

    resumed = finish(bench_run(*CYCLEGAN, f"paths.results={results}"))
    assert f"resuming from step {step} of {STEPS} ({checkpoint})" in resumed
    assert "running elsewhere" in resumed and "another-host.example" in resumed
    reference = finish(straight)
    assert "resuming" not in reference
    got, want = ours(resumed), ours(reference)
    assert len(got) == 4 and (got.status == "ok").all()
    # bit for bit: a resumed run restores weights, optimisers, image pools, RNG states and the data order
    assert got[["metric", "translation", "value", "std"]].equals(want[["metric", "translation", "value", "std"]])
    nets = torch.load(checkpoint, weights_only=False)["state"]["nets"]
    (straight_ckpt,) = (tmp_path / "straight").glob("**/last.pt")
    for name, state in torch.load(straight_ckpt, weights_only=False)["state"]["nets"].items():
        assert all(torch.equal(nets[name][k], v) for k, v in state.items()), name

    by_id = {r.info.run_id: r for r in runs_of(uri)}
    for run in stuck:  # closed by the rerun, with the reason
        after = by_id[run.info.run_id]
        assert after.info.status == "KILLED" and after.data.tags["bench.status"] == "killed"
        assert f"pid {killed.pid} on {socket.gethostname()}" in after.data.tags[REASON_TAG]
        assert "by bench run" in after.data.tags[REASON_TAG]
    assert by_id[elsewhere].info.status == "RUNNING"  # never guessed about
    others = [r for r in by_id.values() if r.info.run_id != elsewhere and r.info.run_id not in {s.info.run_id
                                                                                                 for s in stuck}]
    assert len(others) == 4 and {r.info.status for r in others} == {"FINISHED"}  # rerun + straight: parent + child

    # `bench report` closes orphans too (here one made by hand: a run whose owner, the killed process, is gone)
    owner = {k: v for k, v in stuck[0].data.tags.items() if k.startswith("bench.owner.")}
    orphan = client.create_run(experiment, run_name="orphan", tags={**owner, "bench.kind": "method",
                                                                    "bench.status": "running"}).info.run_id
    store = load_store(ReportOptions(tracking_uri=uri, configs_dir=None))
    assert client.get_run(orphan).info.status == "KILLED"
    assert "by bench report" in client.get_run(orphan).data.tags[REASON_TAG]
    assert any("orphan" in n and "marked KILLED" in n for n in store.notes)
    assert any("another-host.example" in n and "running elsewhere" in n for n in store.notes)


def test_four_bench_runs_write_one_sqlite_store_at_once(tmp_path, bench_run):
    results = tmp_path / "results"
    procs = [bench_run("methods=[input_copy]", *SMALL, f"paths.results={results}", f"run_name=writer{i}")
             for i in range(4)]
    outs = [finish(p) for p in procs]
    assert all(out.strip().endswith("metrics.csv") for out in outs)
    runs = runs_of(f"sqlite:///{results / 'mlflow.db'}")
    parents = [r for r in runs if r.data.tags.get("bench.kind") == "run"]
    children = [r for r in runs if r.data.tags.get("bench.kind") == "method"]
    assert sorted(r.info.run_name for r in parents) == [f"writer{i}" for i in range(4)]  # each exactly once
    assert sorted(r.data.tags["mlflow.parentRunId"] for r in children) == sorted(r.info.run_id for r in parents)
    assert {r.info.status for r in runs} == {"FINISHED"} and len(runs) == 8  # none stuck RUNNING, none extra
    assert len({r.data.tags[PID_TAG] for r in parents}) == 4  # four owners, each its own process
    assert all(r.data.metrics["ssim.A2B"] == children[0].data.metrics["ssim.A2B"] for r in children)
