"""Orchestration of ``bench run``: protocol → methods → metrics → tracking → files.

For each requested method: refuse it with the reason if the protocol cannot serve its capabilities; otherwise
build it at the chosen scale, ``fit`` (resuming from the last checkpoint of the same configuration), evaluate, and
record. A method that crashes or produces NaN gets a FAILED MLflow run and a row that says so, never a number. The
run's ``metrics.csv`` is written once, atomically, at the end; the whole run fails (non-zero exit) when any method
failed.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from bench import distributed
from bench.config import flatten, method_class, method_params
from bench.devices import Hardware, resolve_hardware
from bench.results import ResultRow, comparison_table, rows_frame, write_csv_atomic
from bench.run_checks import check_any_served, check_method_params
from bench.run_outputs import write_outputs
from bench.tracking import TRAINING_METRIC_PREFIX, Tracker
from core.columns import Column
from core.errors import BenchError
from core.hashing import settings_hash
from core.provenance import git_commit
from methods import METHODS, FitContext, Method, create_method
from methods.common.distributed import is_main, world_size
from protocols import PROTOCOLS, Protocol
from protocols.base import Workspace

log = logging.getLogger("bench")


@dataclass
class RunOutcome:
    rows: list[ResultRow]
    run_dir: Path
    run_id: str
    failed: bool
    metrics_csv: Path | None = None
    table: Any = None
    artifacts: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # label → the FINISHED run id it was skipped for
    worker: bool = False  # a rank > 0 of a torchrun launch: it trained with rank 0 and writes nothing


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_protocol(cfg: DictConfig) -> Protocol:
    protocol_cls = PROTOCOLS.get(cfg.protocol.name)
    return protocol_cls(
        settings=OmegaConf.to_container(cfg.protocol, resolve=True),  # type: ignore[arg-type]
        data=OmegaConf.to_container(cfg.data, resolve=True),  # type: ignore[arg-type]
        scale=OmegaConf.to_container(cfg.scale, resolve=True),  # type: ignore[arg-type]
        seed=int(cfg.seed),
        allow_uncalibrated=bool(cfg.allow_uncalibrated),
    )


def run_method_params(mcfg: DictConfig, cfg: DictConfig, settings: dict[str, Any] | None = None,
                      declared: dict[str, Any] | None = None, dataset: str | None = None) -> dict[str, Any]:
    """A method's parameters in this run: paper ⊕ the overlay for the protocol's dataset (``datasets.<dataset>``,
    ``dataset`` defaulting to ``settings["dataset"]``) ⊕ scale preset ⊕ override, then the protocol's facts
    (``settings``: ``Protocol.method_settings()``, e.g. ``input_nc``) for each key the method declares in
    ``declared`` (its ``Method.defaults``), and the run's ``allow_uncalibrated`` opt-in passed on to methods that
    load pretrained encoders (those that declare the parameter). The opt-in only ever widens: a method config that
    allows random weights keeps allowing them."""
    settings = settings or {}
    params = method_params(mcfg, str(cfg.scale.name), dataset if dataset is not None else settings.get("dataset"))
    for key, value in settings.items():
        if declared is not None and key in declared:
            params[key] = value  # a fact of the protocol's data: wins over every preset and override
    if bool(cfg.allow_uncalibrated) and "allow_uncalibrated" in params:
        params["allow_uncalibrated"] = True
    return params


class _MethodRun:
    """Everything about one method in one ``bench run``."""

    def __init__(self, label: str, mcfg: DictConfig, cfg: DictConfig, protocol: Protocol, common: dict[str, Any],
                 refusal: str | None = None):
        self.label, self.mcfg, self.cfg, self.protocol, self.common = label, mcfg, cfg, protocol, common
        self.method_class = method_class(label, mcfg)
        self.refusal = refusal  # why the protocol cannot evaluate this method (``run_checks.refusals``), or None

    def row(self, metric: str, translation: str, direction: str, status: str, note: str = "",
            value: float | None = None, std: float | None = None, n: int | None = None,
            calibrated: bool = True) -> ResultRow:
        return ResultRow(metric=metric, translation=translation, direction=direction, status=status, note=note,
                         value=value, std=std, n=n, method=self.label, method_class=self.method_class,
                         calibrated=calibrated, **self.common)

    def placeholder_rows(self, status: str, note: str) -> list[ResultRow]:
        """Rows with no number, one per metric column of the protocol, carrying the status and the reason."""
        rows = []
        for column in type(self.protocol).columns():
            rows.append(self.row(column.metric, column.translation, "", status, note=note,
                                 calibrated=self.protocol.calibrated))
        return rows


def method_config_key(mrun: _MethodRun) -> tuple[dict[str, Any], str]:
    """A served method's parameters in this run and its config key: the hash of method class, parameters, protocol
    hash and seed that names its checkpoint folder, and by which a grid skips a method already FINISHED."""
    params = run_method_params(mrun.mcfg, mrun.cfg, mrun.protocol.method_settings(),
                               METHODS.get(mrun.method_class).defaults)
    key = {"method": mrun.method_class, "params": params, "protocol": mrun.common["protocol_hash"],
           "seed": int(mrun.cfg.seed)}
    precision = str(mrun.cfg.get("precision", "fp32"))
    if precision != "fp32":  # a bf16 run neither resumes nor skips an fp32 one (fp32 keys are unchanged)
        key["precision"] = precision
    return params, settings_hash(key)


def finished_methods(mruns: list[_MethodRun], tracker: Tracker) -> dict[str, str]:
    """``{label: run id}`` of the served methods whose run of the same config key FINISHED in the store."""
    from bench.grid import finished_run

    done = {}
    for mrun in mruns:
        if mrun.refusal is None:
            run_id = finished_run(tracker, mrun.label, method_config_key(mrun)[1])
            if run_id:
                done[mrun.label] = run_id
    return done


Intermediate = Callable[[int, dict[Column, Any]], None]


def execute(cfg: DictConfig, parent_run_id: str | None = None, intermediate: Intermediate | None = None
            ) -> RunOutcome:
    """Run one protocol over the configured methods; see the module docstring.

    ``intermediate(step, values)``, when given, is called with the protocol's metric values at a quarter, half and
    three quarters of each method's training (``bench tune`` prunes with it; raising ``optuna.TrialPruned`` there
    stops the run).
    """
    no_recipe = check_method_params(cfg)  # a misspelt parameter stops the run here, before data or folders
    refused = check_any_served(cfg, no_recipe)  # so does a selection the protocol refuses entirely
    hardware = resolve_hardware(str(cfg.device), cfg.get("loader", {}).get("workers", "auto"),
                                cfg.get("loader", {}).get("pin_memory", "auto"),
                                str(cfg.get("precision", "fp32")))  # device=cuda without a GPU stops here
    hardware = replace(hardware, device=distributed.init(hardware.device))  # under torchrun: join the group
    if not is_main():  # ranks > 0 only train, with rank 0 (bench.distributed)
        distributed.worker(cfg, hardware)
        return RunOutcome(rows=[], run_dir=Path(cfg.paths.run_dir), run_id="", failed=False, worker=True)
    results = Path(cfg.paths.results)
    run_dir = Path(cfg.paths.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    scale = str(cfg.scale.name)

    protocol = build_protocol(cfg)
    provenance = protocol.prepare()
    protocol_hash = protocol.protocol_hash()
    log.info("protocol %s (hash %s) on %s", protocol.name, protocol_hash, provenance.description)

    tracker = Tracker(results, cfg.tracking.uri, str(cfg.tracking.experiment), bool(cfg.tracking.enabled))
    killed, elsewhere = tracker.reap_orphans("bench run")  # runs a killed attempt (SIGKILL, OOM) left RUNNING
    for line in killed + elsewhere:
        log.info("%s", line)
    common = {
        "protocol": protocol.name, "protocol_hash": protocol_hash, "scale": scale, "seed": int(cfg.seed),
        "data_source": provenance.source, "data_fingerprint": provenance.fingerprint,
        "run_name": str(cfg.run_name), "git_commit": git_commit(), "precision": hardware.precision,
        "processes": world_size(),
    }
    mruns = [_MethodRun(str(label), mcfg, cfg, protocol, common, refused[str(label)])
             for label, mcfg in cfg.methods.items()]
    skipped = finished_methods(mruns, tracker) if cfg.get("skip_finished") else {}
    trained = [m for m in mruns if m.label not in skipped and not m.refusal
               and METHODS.get(m.method_class).capabilities.training in ("paired", "unpaired")]
    distributed.broadcast_plan([m.label for m in trained],
                               {m.label: int(method_config_key(m)[0].get("batch_size", 1)) for m in trained})
    for label, done in skipped.items():
        log.info("%s: skipped, FINISHED in the store as run %s (seed %d, protocol hash %s, same config key)", label,
                 done, int(cfg.seed), protocol_hash)
    if skipped and all(m.label in skipped or m.refusal for m in mruns):
        log.info("nothing left to run for %s seed %d: no MLflow run started", protocol.name, int(cfg.seed))
        if not any(run_dir.iterdir()):
            run_dir.rmdir()
        return RunOutcome(rows=[], run_dir=run_dir, run_id="", failed=False, skipped=skipped)
    tags = {f"bench.{k}": v for k, v in common.items()} | {"bench.kind": "run",
                                                           "bench.calibrated": str(protocol.calibrated).lower()}
    run_id = tracker.start(str(cfg.run_name), tags, parent_id=parent_run_id)
    protocol.workspace = Workspace(results, Path(cfg.paths.checkpoints), str(cfg.device), bool(cfg.progress),
                                   tracker if tracker.enabled else None, run_id)
    tracker.log_params(run_id, {k: v for k, v in flatten(cfg).items() if not k.startswith("methods.")})
    tracker.log_params(run_id, {f"protocol_settings.{k}": v for k, v in flatten(protocol.settings()).items()})
    tracker.log_params(run_id, hardware.params())

    rows: list[ResultRow] = []
    samples: dict[str, dict[str, torch.Tensor]] = {}
    any_failed = False
    try:
        for mrun in (m for m in mruns if m.label not in skipped):
            label = mrun.label
            method_rows, method_samples, failed = _run_method(mrun, tracker, run_id, hardware, run_dir, intermediate)
            rows += method_rows
            any_failed |= failed
            if method_samples:
                samples[str(label)] = method_samples
        for label, result in protocol.reference_results().items():
            rows += _reference_rows(label, result.values, protocol, common)
        for rep in protocol.reported():
            rows.append(ResultRow(
                protocol=protocol.name, method=rep.method, metric=rep.metric, translation=rep.translation,
                value=rep.value, std=rep.std, n=None, direction="", protocol_hash="", calibrated=True,
                status="reported", source=rep.source, method_class=rep.method, note="published number"))
        artifacts = write_outputs(protocol, rows, samples, run_dir, hardware.describe())
        for path in artifacts.values():
            tracker.log_artifact(run_id, path)
    except BaseException as exc:
        stopped = _is_pruned(exc) or isinstance(exc, KeyboardInterrupt)
        tracker.set_tags(run_id, {"bench.status": "killed" if stopped else "failed"})
        tracker.finish(run_id, "KILLED" if stopped else "FAILED")
        raise
    tracker.set_tags(run_id, {"bench.status": "failed" if any_failed else "ok"})
    tracker.finish(run_id, "FAILED" if any_failed else "FINISHED")
    return RunOutcome(rows=rows, run_dir=run_dir, run_id=run_id, failed=any_failed,
                      metrics_csv=artifacts["metrics.csv"], table=comparison_table(rows), artifacts=artifacts,
                      skipped=skipped)


def _reference_rows(label: str, values: dict[Column, Any], protocol: Protocol, common: dict[str, Any]
                    ) -> list[ResultRow]:
    """Rows of a protocol's measured reference (e.g. ``real_data``): ours, under the run's protocol hash."""
    return [ResultRow(metric=Column(*column).metric, translation=Column(*column).translation,
                      direction=value.direction, status="ok", note="; ".join(value.warnings), value=value.value,
                      std=value.std, n=value.n, method=label, method_class=label,
                      calibrated=protocol.calibrated and value.calibrated, **common)
            for column, value in values.items()]


def _intermediate_hook(method: Method, protocol: Protocol, intermediate: Intermediate | None
                       ) -> Callable[[int, int], None] | None:
    if intermediate is None:
        return None

    def on_step(done: int, total: int) -> None:
        if done < total and done in {max(1, total * k // 4) for k in (1, 2, 3)}:
            key, protocol.run_key = protocol.run_key, f"{protocol.run_key}@{done}"
            try:
                values = protocol.evaluate(method).values
            finally:
                protocol.run_key = key
            method.train_mode()
            intermediate(done, values)

    return on_step


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line; a ``BenchError`` keeps its fix (``...; fix: <hint>``), other errors their first
    line (the traceback file holds the rest)."""
    lines = [line.strip() for line in f"{type(exc).__name__}: {exc}".splitlines() if line.strip()]
    if isinstance(exc, BenchError):
        return "; ".join(lines)
    return lines[0] if lines else type(exc).__name__


def _is_pruned(exc: BaseException) -> bool:
    from optuna import TrialPruned

    return isinstance(exc, TrialPruned)


def _run_method(mrun: _MethodRun, tracker: Tracker, parent_id: str, hardware: Hardware, run_dir: Path,
                intermediate: Intermediate | None = None) -> tuple[list[ResultRow], dict[str, torch.Tensor], bool]:
    cfg, protocol, label = mrun.cfg, mrun.protocol, mrun.label
    scale = str(cfg.scale.name)
    tags = {f"bench.{k}": v for k, v in mrun.common.items()}
    tags |= {"bench.kind": "method", "bench.method": label, "bench.method_class": mrun.method_class}
    if mrun.mcfg.get("variant_of"):
        tags["bench.variant_of"] = str(mrun.mcfg.variant_of)

    method_cls = METHODS.get(mrun.method_class)
    reason = mrun.refusal
    if reason:
        note = f"refused: {label} {reason}"
        log.warning("%s", note)
        child = tracker.start(label, tags | {"bench.status": "refused", "bench.refusal": reason}, parent_id)
        tracker.finish(child, "FINISHED")
        return mrun.placeholder_rows("refused", note), {}, False

    params, config_key = method_config_key(mrun)
    workdir = Path(cfg.paths.checkpoints) / protocol.name / label / config_key
    protocol.run_key = f"{label}-{config_key}"
    child = tracker.start(label, tags | {"bench.status": "running", "bench.config_key": config_key}, parent_id)
    precision = {"method.precision": str(cfg.precision)} if str(cfg.get("precision", "fp32")) != "fp32" else {}
    tracker.log_params(child, {f"method.{k}": v for k, v in flatten(params).items()} | {"method.name": label}
                       | precision)  # bf16 rows are their own configuration in reports
    log.info("%s: %s at scale %s (checkpoints in %s)", label, mrun.method_class, scale, workdir)
    try:
        seed_everything(int(cfg.seed))
        method = create_method(mrun.method_class, **params).to(hardware.device)
        tracker.log_params(child, {f"params_count.{k}": v for k, v in method.parameter_counts().items()})
        ctx = FitContext(workdir=workdir, seed=int(cfg.seed), device=hardware.device, progress=bool(cfg.progress),
                         loader_workers=hardware.loader_workers, pin_memory=hardware.pin_memory,
                         log_metrics=lambda step, values: tracker.log_metrics(
                             child, {f"{TRAINING_METRIC_PREFIX}{k}": v for k, v in values.items()}, step),
                         on_step=_intermediate_hook(method, protocol, intermediate))
        if method_cls.capabilities.training == "single_image":  # contract §1: the protocol fits once per case
            protocol.fit_context = ctx
        else:
            with distributed.training(hardware):
                method.fit(protocol.train_data(), ctx)
        result = protocol.evaluate(method)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (`bench run` turns it into this): stopped, not failed
        tracker.set_tags(child, {"bench.status": "killed"})
        tracker.finish(child, "KILLED")
        raise
    except Exception as exc:  # any failure of one method is recorded; the other methods still run
        if _is_pruned(exc):  # a tuning trial stopped by its pruner is not a failure of the method
            tracker.set_tags(child, {"bench.status": "pruned"})
            tracker.finish(child, "KILLED")
            raise
        message = one_line(exc)
        log.error("%s FAILED: %s", label, message)
        trace = run_dir / f"{label}.traceback.txt"
        trace.write_text(traceback.format_exc())
        tracker.log_artifact(child, trace)
        tracker.set_tags(child, {"bench.status": "failed", "bench.error": message})
        tracker.finish(child, "FAILED")
        return mrun.placeholder_rows("failed", f"failed: {message}"), {}, True

    calibrated = protocol.calibrated and method.calibrated
    rows = []
    metrics: dict[str, float] = {}
    for column, value in result.values.items():
        column = Column(*column)
        rows.append(mrun.row(column.metric, column.translation, value.direction, "ok", note="; ".join(value.warnings),
                             value=value.value, std=value.std, n=value.n, calibrated=calibrated and value.calibrated))
        key = column.key
        metrics |= {key: value.value, f"{key}.n": value.n}
        if value.std is not None:
            metrics[f"{key}.std"] = value.std
    try:
        tracker.log_metrics(child, metrics)
        rows_path = run_dir / "methods" / label / "rows.csv"
        write_csv_atomic(rows_frame(rows), rows_path)
        tracker.log_artifact(child, rows_path)
    except BaseException as exc:  # e.g. the disk filled up: the method run must neither stay RUNNING nor look done
        stopped = not isinstance(exc, Exception)
        tracker.set_tags(child, {"bench.status": "killed" if stopped else "failed", "bench.error": one_line(exc)})
        tracker.finish(child, "KILLED" if stopped else "FAILED")
        raise
    tracker.set_tags(child, {"bench.status": "ok", "bench.calibrated": str(calibrated).lower()})
    tracker.finish(child, "FINISHED")
    return rows, result.samples, False
