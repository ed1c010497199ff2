"""Grids of `bench run` jobs through Hydra's launchers (bench/grid.py): the job list a sweep expands to, the SLURM
launcher's options, real submitit_local jobs landing in one store, a failed job recorded FAILED, and a resubmitted
grid running only what did not finish."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.grid import job_overrides, split_multirun

REPO = Path(__file__).resolve().parents[2]
SMALL = ["progress=false", "protocol.samples.smoke.train=32", "protocol.samples.smoke.test=16"]


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def store_runs(results: Path) -> list[dict[str, str]]:
    """Every run of the store under ``results``: its status and bench tags, oldest first."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    ids = [e.experiment_id for e in client.search_experiments()]
    return [{"status": r.info.status, "run_id": r.info.run_id, **r.data.tags}
            for r in client.search_runs(ids, order_by=["attributes.start_time ASC"])]


def test_a_sweep_expands_to_one_job_per_combination_in_hydras_order() -> None:
    multirun, rest = split_multirun(["-m", "methods=[input_copy],[exemplar_copy,colour_transfer]", "seed=0,1",
                                     "scale=smoke"])
    assert multirun and rest[0].startswith("methods=")
    assert job_overrides(rest) == [
        ["methods=[input_copy]", "seed=0", "scale=smoke"], ["methods=[input_copy]", "seed=1", "scale=smoke"],
        ["methods=[exemplar_copy,colour_transfer]", "seed=0", "scale=smoke"],
        ["methods=[exemplar_copy,colour_transfer]", "seed=1", "scale=smoke"]]
    assert job_overrides(["methods=input_copy,exemplar_copy", "+x.y=1"]) == [
        ["methods=input_copy", "+x.y=1"], ["methods=exemplar_copy", "+x.y=1"]]
    assert split_multirun(["seed=1"]) == (False, ["seed=1"])


def test_the_slurm_launcher_composes_with_the_documented_options() -> None:
    """Cannot run here (no SLURM): only that `hydra/launcher=submitit_slurm` and its options compose."""
    from hydra import compose, initialize_config_dir

    from bench.config import CONFIG_DIR

    options = ["hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=1440", "hydra.launcher.gpus_per_node=8",
               "hydra.launcher.cpus_per_task=10", "hydra.launcher.mem_gb=256", "hydra.launcher.array_parallelism=16"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose(config_name="run", overrides=["hydra/launcher=submitit_slurm", *options],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.timeout_min, launcher.gpus_per_node, launcher.cpus_per_task,
            launcher.mem_gb, launcher.array_parallelism) == ("gpu", 1440, 8, 10, 256, 16)


def test_submitit_local_jobs_land_in_one_store(tmp_path: Path) -> None:
    out = bench("run", "-m", "hydra/launcher=submitit_local", "methods=[input_copy],[exemplar_copy]", "seed=0",
                f"paths.results={tmp_path}", *SMALL)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    runs = store_runs(tmp_path)
    parents = [r for r in runs if r.get("bench.kind") == "run"]
    methods = sorted(r["bench.method"] for r in runs if r.get("bench.kind") == "method")
    assert len(parents) == 2 and {r["status"] for r in parents} == {"FINISHED"}
    assert methods == ["exemplar_copy", "input_copy"]
    assert len({r["bench.run_name"] for r in parents}) == 2  # one run (and run folder) per job
    assert len(list(tmp_path.glob("grids/*/.submitit/*/*_result.pkl"))) == 2  # each job went through submitit


def test_a_failed_job_is_failed_in_the_store_and_a_resubmitted_grid_runs_only_what_is_missing(tmp_path: Path
                                                                                           ) -> None:
    empty = tmp_path / "no-mnist"
    empty.mkdir()
    grid = ["run", "-m", "methods=[input_copy]", f"data.root=null,{empty}", f"paths.results={tmp_path}", *SMALL]
    first = bench(*grid, "seed=0")
    assert first.returncode == 1
    assert "a job of the grid failed" in first.stderr
    runs = store_runs(tmp_path)
    failed = [r for r in runs if r["status"] == "FAILED"]
    assert len(failed) == 1 and "MNIST files missing" in failed[0]["bench.error"]
    assert failed[0]["bench.kind"] == "run" and failed[0]["bench.methods"] == "input_copy"
    finished = [r for r in runs if r.get("bench.kind") == "method" and r["status"] == "FINISHED"]
    assert [r["bench.seed"] for r in finished] == ["0"]

    again = bench(*grid, "seed=0,1")  # seed 0 finished: skipped; seed 1 is new; the failing job fails again
    assert again.returncode == 1
    log = again.stdout + again.stderr
    assert "input_copy: skipped, FINISHED in the store as run " + finished[0]["run_id"] in log
    runs = store_runs(tmp_path)
    done = [r for r in runs if r.get("bench.kind") == "method" and r["status"] == "FINISHED"]
    assert sorted(r["bench.seed"] for r in done) == ["0", "1"]  # no second seed-0 run
    assert sorted(r["bench.seed"] for r in runs if r["status"] == "FAILED") == ["0", "0", "1"]  # not finished: rerun
    assert sum(r.get("bench.kind") == "run" and r["bench.seed"] == "0" and r["status"] == "FINISHED"
               for r in runs) == 1
