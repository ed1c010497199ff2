"""Objectives: a ``bench run`` of one method under one protocol (the default), or any ``module:function``."""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Iterable
from typing import Any

from bench.tune.space import SearchSpace
from bench.tune.worker import Objective, TrialContext
from core.columns import Column
from core.errors import BenchError


def load_callable(spec: str) -> Objective:
    """``package.module:function`` with signature ``(params: dict, ctx: TrialContext) -> float``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise BenchError(f"objective.callable={spec!r} is not of the form module:function",
                         hint="e.g. objective.callable=my_project.objectives:score")
    try:
        function = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise BenchError(f"cannot load objective {spec!r}: {exc}",
                         hint="run from the project root, or put the module on PYTHONPATH") from exc
    if not callable(function):
        raise BenchError(f"objective {spec!r} is not callable")
    return function


class TrialFailed(RuntimeError):
    """The run finished but the method failed or produced no objective value."""


def objective_value(rows: Iterable[Any], method: str, metric: str, translation: str | None) -> float:
    """Mean of our ``metric`` rows for ``method`` (one translation, or all of them)."""
    picked = [r for r in rows if r.source == "ours" and r.method == method and r.metric == metric
              and (not translation or r.translation == translation)]
    if not picked:
        raise TrialFailed(f"the run has no {metric} {translation or ''} row for {method}".replace("  ", " "))
    bad = [r for r in picked if r.status != "ok" or r.value is None]
    if bad:
        raise TrialFailed(f"{method} {bad[0].status}: {bad[0].note}".strip())
    value = sum(float(r.value) for r in picked) / len(picked)
    return value if math.isfinite(value) else float("nan")


class RunObjective:
    """Train and evaluate ``method`` under ``protocol`` with the trial's weights, through ``bench.runner.execute``.

    The run becomes a child of the study's MLflow run (its own method runs below it), lands in the same MLflow
    experiment and results folder as the study, and is named ``<study>-t<trial number>``.
    """

    def __init__(self, protocol: str, method: str, scale: str | None, metric: str, translation: str | None,
                 study_name: str, run_overrides: list[str]) -> None:
        self.protocol, self.method, self.scale = protocol, method, scale
        self.metric, self.translation = metric, translation
        self.study_name = study_name
        self.run_overrides = list(run_overrides)

    def overrides(self, params: dict[str, Any], number: int) -> list[str]:
        base = [f"protocol={self.protocol}", f"methods=[{self.method}]", f"run_name={self.study_name}-t{number}"]
        if self.scale:
            base.append(f"scale={self.scale}")
        return [*base, *self.run_overrides, *SearchSpace.overrides(self.method, params)]

    def pick(self, values: dict[Column, Any]) -> float:
        """The objective from intermediate ``{Column(metric, translation): MetricValue or float}``."""
        picked = [getattr(v, "value", v) for c, v in ((Column(*k), v) for k, v in values.items())
                  if c.metric == self.metric and (not self.translation or c.translation == self.translation)]
        return sum(picked) / len(picked) if picked else float("nan")

    def __call__(self, params: dict[str, Any], ctx: TrialContext) -> float:
        from bench.config import compose_run
        from bench.runner import execute

        cfg = compose_run(self.overrides(params, ctx.number))
        kwargs: dict[str, Any] = {}
        if "intermediate" in inspect.signature(execute).parameters:
            # pruning: a runner that evaluates during training calls this with {(metric, translation): value};
            # ctx.report raises optuna.TrialPruned, which the runner lets through (see the tune notes)
            kwargs["intermediate"] = lambda step, values: ctx.report(step, self.pick(values))
        outcome = execute(cfg, parent_run_id=ctx.parent_run_id or None, **kwargs)
        ctx.run_id = outcome.run_id or None
        return objective_value(outcome.rows, self.method, self.metric, self.translation)
