"""Grids of ``bench run`` jobs through Hydra's launchers, and what lets a resubmitted grid run only what is missing.

``python -m bench run -m <sweeps>`` goes through Hydra's own sweeper: one job per combination of the swept options
(a Cartesian product, e.g. ``'methods=[input_copy],[exemplar_copy]' seed=0,1`` is 4 jobs). ``bench matrix`` hands
an explicit job list (only the compatible method × protocol cells) to the same launcher (``launch``). Launchers:
Hydra's ``basic`` one (the jobs one after another, in this process) or those of ``hydra-submitit-launcher``:
``submitit_local`` (one subprocess per job, all of a batch at once) and ``submitit_slurm`` (a SLURM job array).

Every job writes to the one MLflow store (``paths.results`` / ``tracking.uri``). Resume: with ``skip_finished`` (on
in a grid) a job skips each method whose run with the same config key is FINISHED with status ok in the store; the
key is the one ``bench.runner`` already names the checkpoint folder by (method class, parameters, protocol hash,
seed). A job that fails before its own run exists in the store (missing data, a bad parameter) gets a FAILED run
there naming the error (``record_failed_job``), so a failed job is never just absent.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from omegaconf import DictConfig

from core.errors import BenchError

log = logging.getLogger("bench")
MULTIRUN_FLAGS = ("-m", "--multirun")
LAUNCHERS = ("basic", "submitit_local", "submitit_slurm")


class JobFailed(Exception):
    """Raised by a grid job whose run failed: Hydra then counts the job as failed and the command exits non-zero."""


def split_multirun(argv: list[str]) -> tuple[bool, list[str]]:
    """(whether ``-m``/``--multirun`` is among ``argv``, ``argv`` without it)."""
    return any(a in MULTIRUN_FLAGS for a in argv), [a for a in argv if a not in MULTIRUN_FLAGS]


def job_overrides(overrides: list[str]) -> list[list[str]]:
    """The jobs a sweep expands to, in Hydra's order (the Cartesian product of every swept option), each a list of
    single-valued overrides; ``["seed=0,1", "scale=smoke"]`` → ``[["seed=0", "scale=smoke"], ["seed=1", ...]]``.
    A list-valued option sweeps over lists: ``methods=[a,b],[c]`` is two jobs. Raises ``BenchError`` for an
    override Hydra cannot parse."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    choices = []
    for text in overrides:
        if "=" not in text:  # a flag (--cfg job, ...): Hydra's business
            choices.append([text])
            continue
        try:
            override = parser.parse_override(text)
        except HydraException as exc:
            raise BenchError(f"cannot parse the override {text!r}: {str(exc).splitlines()[0]}",
                             hint="a sweep is key=a,b or key=[a],[b] for list-valued options such as methods") from None
        if override.is_sweep_override():
            key = override.get_key_element()
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            choices.append([text])
    return [list(job) for job in itertools.product(*choices)]


def in_grid() -> bool:
    """Whether this process runs a job of a Hydra multirun (``-m``, or ``launch``)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def finished_run(tracker: Any, label: str, config_key: str) -> str | None:
    """The id of the newest run of method row ``label`` with this config key that FINISHED with status ok in the
    tracker's experiment (the protocol's), or None; always None when tracking is off."""
    if not getattr(tracker, "enabled", False):
        return None
    found = tracker.client.search_runs(
        [tracker.experiment_id], max_results=1, order_by=["attributes.start_time DESC"],
        filter_string=(f"tags.`bench.config_key` = '{config_key}' and tags.`bench.method` = '{label}' and "
                       "tags.`bench.status` = 'ok' and attributes.status = 'FINISHED'"))
    return found[0].info.run_id if found else None


def record_failed_job(cfg: DictConfig, message: str) -> str | None:
    """A FAILED run in the store for a grid job that failed before its own run was created (tags: the protocol,
    scale, seed, methods and ``bench.error``); None when tracking is off, when the runner already recorded this
    run (a run of the same ``run_name`` exists) or when the store itself cannot be opened (then the job's log has
    the error)."""
    from pathlib import Path

    from bench.tracking import Tracker

    if not cfg.tracking.enabled:
        return None
    try:
        tracker = Tracker(Path(cfg.paths.results), cfg.tracking.uri, str(cfg.tracking.experiment))
        name = str(cfg.run_name)
        if tracker.client.search_runs([tracker.experiment_id], max_results=1,
                                      filter_string=f"tags.`bench.run_name` = '{name}'"):
            return None
        tags = {"bench.kind": "run", "bench.status": "failed", "bench.error": message[:5000],
                "bench.protocol": str(cfg.protocol.name), "bench.scale": str(cfg.scale.name),
                "bench.seed": int(cfg.seed), "bench.run_name": name, "bench.methods": ",".join(map(str, cfg.methods))}
        run_id = tracker.start(name, tags)
        tracker.finish(run_id, "FAILED")
    except Exception as exc:  # the store may be what failed (BenchError, MLflow and SQLAlchemy errors)
        log.error("could not record the failed job in the store: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return None
    log.info("recorded the failed job as FAILED run %s", run_id)
    return run_id


def launch(jobs: Sequence[Sequence[str]], launcher: str, task_function: Callable[[DictConfig], Any],
           overrides: Sequence[str] = (), config_name: str = "run") -> list[Any]:
    """Run ``jobs`` (each a list of overrides of ``bench/configs/<config_name>.yaml``) through a Hydra launcher, as
    Hydra's multirun does but with an explicit job list instead of a sweeper's product. ``overrides`` apply to the
    grid itself (e.g. ``hydra.launcher.partition=gpu``, ``paths.results=...``: the sweep folder lives under it).

    Returns Hydra's ``JobReturn`` per job (``.status``, ``.return_value``); raises ``BenchError`` for an unknown
    launcher."""
    from hydra._internal.callbacks import Callbacks
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins
    from hydra.types import HydraContext, RunMode

    from bench.config import CONFIG_DIR

    if launcher not in LAUNCHERS:
        raise BenchError(f"unknown launcher {launcher!r}; valid: {', '.join(LAUNCHERS)}",
                         hint="launcher=submitit_local or launcher=submitit_slurm need `pip install "
                              "hydra-submitit-launcher`")
    if not jobs:
        return []
    grid = [f"hydra/launcher={launcher}", "hydra.mode=MULTIRUN", *overrides]
    GlobalHydra.instance().clear()
    app = Hydra.create_main_hydra2("run", create_config_search_path(str(CONFIG_DIR)))
    try:
        cfg = app.compose_config(config_name, grid, run_mode=RunMode.MULTIRUN, with_log_configuration=True)
        context = HydraContext(config_loader=app.config_loader, callbacks=Callbacks(cfg))
        runner = Plugins.instance().instantiate_launcher(hydra_context=context, task_function=task_function,
                                                         config=cfg)
        # each job is composed from the grid's hydra overrides + its own; the grid's other overrides go with it
        common = [o for o in overrides if not o.startswith("hydra")]
        return list(runner.launch([[*common, *job] for job in jobs], initial_job_idx=0))
    finally:
        GlobalHydra.instance().clear()
