"""The cross-paper matrix: every method config under every protocol that serves it, over N seeds, as one grid.

The cells come from the compatibility table ``bench list`` prints (``bench.commands.list.compatibility_frame``): a
cell is run when the protocol serves the method (its capabilities, and a recipe of the method config for the
protocol's data, as ``bench run`` checks them), else recorded as refused with the reason. The plan is
written once per matrix as ``cells.csv`` (one line per method × protocol: ``status`` run or refused, ``reason``,
``seeds``), in the results folder and as the artifact of a ``bench.kind=matrix`` run in the MLflow store, where
``bench report matrix=true`` finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.results import write_csv_atomic
from core.errors import BenchError

MATRIX_EXPERIMENT = "matrix"  # the MLflow experiment of the plan runs (each job writes under its protocol's)
CELL_COLUMNS = ["protocol", "method", "status", "reason", "seeds"]


@dataclass
class Plan:
    cells: pd.DataFrame  # CELL_COLUMNS
    seeds: list[int]
    scale: str
    jobs: list[list[str]] = field(default_factory=list)  # one per run cell × seed: `bench run` overrides


def plan(methods: list[str], protocols: list[str], seeds: list[int], scale: str) -> Plan:
    """The matrix of ``methods`` × ``protocols`` (empty list: all of them) over ``seeds``: ``Plan.cells`` in table
    order (protocols, then methods as ``bench list`` orders them), and one job per run cell and seed
    (``protocol=P methods=[M] seed=S scale=...``). Raises ``BenchError`` for a name not in the table."""
    from bench.commands.list import compatibility_frame

    table = compatibility_frame(scale)  # rows: method configs; columns: protocols; cells "yes" / "no: <reason>"
    for kind, asked, known in (("method", methods, list(table.index)), ("protocol", protocols, list(table.columns))):
        unknown = [name for name in asked if name not in known]
        if unknown:
            raise BenchError(f"unknown {kind}(s) {', '.join(unknown)} for the matrix",
                             hint=f"valid: {', '.join(known)}")
    table = table.loc[methods or list(table.index), protocols or list(table.columns)]
    records, jobs = [], []
    for protocol in table.columns:
        for method, cell in table[protocol].items():
            served = cell == "yes"
            records.append({"protocol": protocol, "method": method, "status": "run" if served else "refused",
                            "reason": "" if served else str(cell).removeprefix("no: "),
                            "seeds": ",".join(map(str, seeds)) if served else ""})
            if served:
                jobs += [[f"protocol={protocol}", f"methods=[{method}]", f"seed={s}", f"scale={scale}"]
                         for s in seeds]
    return Plan(pd.DataFrame(records, columns=CELL_COLUMNS), list(seeds), scale, jobs)


def default_methods() -> list[str]:
    """Every method config that is not an ablation variant (``variant_of``): the rows of the matrix by default."""
    from bench.config import group_options, load_method_config

    return [name for name in group_options("methods") if not load_method_config(name).get("variant_of")]


def record_plan(the_plan: Plan, results: Path, uri: str | None, enabled: bool, launcher: str) -> tuple[Path, str]:
    """Write ``cells.csv`` under ``<results>/matrix/<stamp>/`` and, with tracking on, as the artifact of a new
    ``bench.kind=matrix`` run (left RUNNING until ``finish_plan``). Returns (the file, the run id or "")."""
    import time

    from bench.tracking import Tracker

    folder = results / "matrix" / time.strftime("%Y%m%d-%H%M%S")
    path = write_csv_atomic(the_plan.cells, folder / "cells.csv")
    tracker = Tracker(results, uri, MATRIX_EXPERIMENT, enabled)
    counts = the_plan.cells["status"].value_counts()
    run_id = tracker.start(f"matrix-{folder.name}", {
        "bench.kind": "matrix", "bench.scale": the_plan.scale, "bench.seeds": ",".join(map(str, the_plan.seeds)),
        "bench.launcher": launcher, "bench.cells_run": int(counts.get("run", 0)),
        "bench.cells_refused": int(counts.get("refused", 0)), "bench.jobs": len(the_plan.jobs)})
    tracker.log_artifact(run_id, path)
    return path, run_id


def finish_plan(run_id: str, results: Path, uri: str | None, enabled: bool, failed: int, status: str) -> None:
    """End the matrix run with ``status``: FINISHED when every job ended ok, FAILED when some failed (their own runs
    say why), KILLED when the grid was stopped."""
    from bench.tracking import Tracker

    if not run_id:
        return
    tracker = Tracker(results, uri, MATRIX_EXPERIMENT, enabled)
    tracker.set_tags(run_id, {"bench.jobs_failed": failed})
    tracker.finish(run_id, status)
