"""``python -m bench run [overrides]``: train and evaluate methods under a protocol (Hydra config
``bench/configs/run.yaml``).

With no arguments: MNIST-Single on the offline digits at smoke scale with the reference methods.
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from bench.config import CONFIG_DIR, RUN_GROUPS, check_override_keys, validate_overrides
from bench.devices import resolve_hardware
from bench.distributed import launched, rank_from_env
from bench.grid import job_overrides, split_multirun
from bench.results import check_writable
from core.errors import BenchError

SUMMARY = "train and evaluate methods under a protocol; prints the comparison table and the metrics.csv path"
log = logging.getLogger("bench")
_exit_code = 0


def run_job(cfg: DictConfig) -> int:
    """One ``bench run``: execute, print the table and the ``metrics.csv`` path; the exit code (0 ok, 1 a method
    failed, 2 bad input). In a grid (``-m``, ``bench matrix``) the job skips methods already FINISHED in the store
    unless ``skip_finished=false``, records a failure before its run exists as a FAILED run, and raises
    ``JobFailed`` when it failed, so that the launcher counts it failed. Module-level: launchers that run jobs in
    other processes (submitit) pickle it by name."""
    global _exit_code
    from bench.distributed import shutdown
    from bench.grid import JobFailed, in_grid, record_failed_job
    from bench.results import FULL_OR_READ_ONLY, write_error
    from bench.runner import execute

    grid = in_grid()
    if grid and cfg.get("skip_finished") is None:
        cfg.skip_finished = True
    try:
        outcome = execute(cfg)
        if outcome.worker:
            return 0
    except BenchError as exc:
        log.error("%s", exc)  # Hydra's logging writes it to the console and to the run's log file
        _exit_code = 2
        if grid:
            record_failed_job(cfg, str(exc))
            raise JobFailed(str(exc).splitlines()[0]) from None
        return _exit_code
    except OSError as exc:  # the disk filled up (or went read-only) mid-run: no file of the run counts
        if exc.errno not in FULL_OR_READ_ONLY:
            if grid:
                record_failed_job(cfg, f"{type(exc).__name__}: {exc}".splitlines()[0])
            raise
        message = write_error(exc, Path(cfg.paths.results))
        log.error("%s", message)
        _exit_code = 2
        if grid:
            raise JobFailed(message.splitlines()[0]) from None
        return _exit_code
    except Exception as exc:
        if grid:
            record_failed_job(cfg, f"{type(exc).__name__}: {exc}".splitlines()[0])
        raise
    finally:
        shutdown()
    if not outcome.run_id and outcome.skipped:
        print(f"skipped (FINISHED in the store): {', '.join(sorted(outcome.skipped))}")
        return 0
    print()
    print(outcome.artifacts["table.md"].read_text())
    if outcome.failed:
        failed = sorted({r.method for r in outcome.rows if r.status == "failed"})
        message = f"FAILED methods: {', '.join(failed)} (tracebacks in {outcome.run_dir})"
        print(message, file=sys.stderr)
        _exit_code = 1
        if grid:
            raise JobFailed(message)
    print(outcome.metrics_csv)
    return _exit_code


_hydra_main = hydra.main(config_path=str(CONFIG_DIR), config_name="run", version_base=None)(run_job)


def main(argv: list[str]) -> int:
    global _exit_code
    _exit_code = 0
    if any(a in {"-h", "--help", "--hydra-help", "--info"} or a.startswith("--cfg") for a in argv):
        return _hydra_help(argv)  # Hydra's own flags: no job is composed or checked
    multirun, overrides = split_multirun(argv)
    if multirun and launched():
        raise BenchError("a grid (-m) cannot run under torchrun: every rank would launch the whole grid",
                         hint="run torchrun once per job, or give each grid job its GPUs through the launcher "
                              "(hydra.launcher.gpus_per_node=)")
    jobs = job_overrides(overrides) if multirun else [overrides]
    for job in jobs:  # names and method selections of every job, before anything is submitted
        validate_overrides(job, RUN_GROUPS)
    cfg = check_override_keys(jobs[0])  # one composition: the option keys are the same in every job
    resolve_hardware(str(cfg.device), OmegaConf.select(cfg, "loader.workers", default="auto"),
                     OmegaConf.select(cfg, "loader.pin_memory", default="auto"),
                     str(OmegaConf.select(cfg, "precision", default="fp32")))  # a bad device: before any folder
    for option in ("paths.results", "paths.checkpoints"):  # read-only or full: stop here, before any training
        check_writable(Path(str(OmegaConf.select(cfg, option))), option)
    saved, scratch = sys.argv, None
    if rank_from_env() > 0:  # a torchrun rank > 0 writes no run folder (rank 0 writes the run's): Hydra's goes to a
        scratch = tempfile.mkdtemp(prefix="bench-rank")  # scratch folder, removed when the rank ends (its warnings
        argv = [*argv, f"hydra.run.dir={scratch}", "hydra.output_subdir=null"]  # are on stderr)
    sys.argv = ["bench run", *argv]
    previous = _interrupt_on_sigterm()
    try:
        _hydra_main()
    except SystemExit as exc:  # Hydra exits on config errors, and after a grid with a failed job, printing them
        code = int(exc.code or 0) or 1 if exc.code not in (0, None) else 0
        if multirun and code:
            print("error: a job of the grid failed (above); each job's run, FAILED ones included, is in the MLflow "
                  "store; rerun the same command to run only what did not finish", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        if rank_from_env() == 0:  # rank 0 owns the MLflow runs; the others have nothing to report
            log.error("interrupted: the MLflow runs are marked KILLED and no metrics.csv was written; rerun the same "
                      "command to resume from the last checkpoints")
        return 130
    finally:
        sys.argv = saved
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return _exit_code


def _hydra_help(argv: list[str]) -> int:
    saved = sys.argv
    sys.argv = ["bench run", *argv]
    try:
        _hydra_main()
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else 1
    finally:
        sys.argv = saved
    return 0


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _interrupt_on_sigterm() -> Any:
    """A killed run (SIGTERM: `kill`, a scheduler, a session's end) unwinds like Ctrl-C, so its MLflow runs end as
    KILLED instead of staying RUNNING forever. Only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)
