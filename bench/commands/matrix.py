"""``python -m bench matrix [key=value ...]``: every method under every protocol that serves it, over N seeds, as one
grid of ``bench run`` jobs through a Hydra launcher; ``bench report matrix=true`` then renders it.

Options (every other ``key=value`` goes to each job as a ``bench run`` override, e.g. ``paths.results=``,
``tracking.uri=``, ``device=cuda``, ``hydra.launcher.partition=gpu``):

  scale=smoke          the scale of every job (smoke | cpu | paper)
  seeds=2              seeds 0..N-1, or a list: seeds=[0,3]
  launcher=basic       basic: the jobs one after another in this process; submitit_local: one subprocess per job,
                       `batch` at a time; submitit_slurm: one SLURM job array (hydra.launcher.* options)
  batch=null           jobs handed to the launcher at once (null: all; submitit_local: the CPU count)
  methods=[]           method configs (rows); empty: every method config that is not an ablation variant
  variants=false       with methods empty: add the ablation variants
  protocols=[]         protocols (columns); empty: all
  dry_run=false        print the cells and the refusals, run nothing

Cells the protocol refuses are recorded with the reason (``cells.csv``), never run. A job skips a method already
FINISHED in the store under the same config key, so rerunning the command runs only what is missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.errors import BenchError

SUMMARY = "every method × every compatible protocol × N seeds as one grid (bench report matrix=true renders it)"
OPTIONS = {"scale": "smoke", "seeds": "2", "launcher": "basic", "batch": "null", "methods": "[]",
           "variants": "false", "protocols": "[]", "dry_run": "false"}


def parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """(the matrix options, the overrides passed on to every job)."""
    options, passed = dict(OPTIONS), []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            raise BenchError(f"bench matrix takes key=value options, not {arg!r}",
                             hint="`python -m bench matrix --help` lists them")
        if key in OPTIONS:
            options[key] = value
        else:
            passed.append(arg)
    return options, passed


def main(argv: list[str]) -> int:
    from bench.commands.list import numbered_reasons
    from bench.commands.run import run_job
    from bench.config import RUN_GROUPS, check_override_keys, compose_run, validate_overrides
    from bench.grid import LAUNCHERS, launch
    from bench.matrix import default_methods, finish_plan, plan, record_plan
    from bench.options import typed

    if any(a in {"-h", "--help"} for a in argv):
        print(__doc__.strip())
        return 0
    options, passed = parse(argv)
    seeds_raw = options["seeds"]
    seeds = typed(seeds_raw, list[int], "seeds") if seeds_raw.strip().startswith("[") else list(
        range(typed(seeds_raw, int, "seeds")))
    launcher = typed(options["launcher"], str, "launcher")
    if launcher not in LAUNCHERS:
        raise BenchError(f"unknown launcher {launcher!r}; valid: {', '.join(LAUNCHERS)}")
    batch = typed(options["batch"], int | None, "batch")
    methods = typed(options["methods"], list[str], "methods") or (
        [] if typed(options["variants"], bool, "variants") else default_methods())
    the_plan = plan(methods, typed(options["protocols"], list[str], "protocols"), seeds, options["scale"])

    cells = the_plan.cells
    wide = cells.assign(cell=[("yes" if s == "run" else f"no: {r}") for s, r in zip(cells["status"], cells["reason"],
                                                                                       strict=True)])
    table, reasons = numbered_reasons(wide.pivot(index="method", columns="protocol", values="cell"))
    print(table.to_markdown())
    print("".join(f"\n- [{i}] {reason}" for i, reason in enumerate(reasons, 1)))
    served = int((cells["status"] == "run").sum())
    print(f"\n{served} cells to run × {len(seeds)} seed(s) = {len(the_plan.jobs)} jobs at scale {the_plan.scale} "
          f"({launcher} launcher); {len(cells) - served} cells refused (recorded with the reason, not run)")
    jobs_overrides = [[*passed, *job] for job in the_plan.jobs]
    for job in jobs_overrides:
        validate_overrides(job, RUN_GROUPS)
    if jobs_overrides:
        check_override_keys([o for o in jobs_overrides[0] if not o.startswith("hydra")])
    if typed(options["dry_run"], bool, "dry_run") or not the_plan.jobs:
        return 0

    cfg = compose_run([o for o in passed if not o.startswith("hydra")])
    results, uri, enabled = Path(cfg.paths.results), cfg.tracking.uri, bool(cfg.tracking.enabled)
    cells_csv, run_id = record_plan(the_plan, results, uri, enabled, launcher)
    print(f"plan: {cells_csv}")
    size = batch or ((os.cpu_count() or 1) if launcher == "submitit_local" else len(the_plan.jobs))
    failed: list[str] = []
    status = "KILLED"  # until the loop ends: an interrupt or a launcher error (a job process that crashed) stops it
    try:
        for start in range(0, len(the_plan.jobs), size):
            chunk = the_plan.jobs[start:start + size]
            for job, ret in zip(chunk, launch(chunk, launcher, run_job, overrides=passed), strict=True):
                if ret.status.name != "COMPLETED":
                    failed.append(" ".join(job))
        status = "FAILED" if failed else "FINISHED"
    finally:
        finish_plan(run_id, results, uri, enabled, len(failed), status)
    for job in failed:
        print(f"FAILED job: {job}", file=sys.stderr)
    print(f"{len(the_plan.jobs) - len(failed)} of {len(the_plan.jobs)} jobs ok; "
          "`python -m bench report matrix=true` renders the matrix" + (
              "; rerun the same command to run only what did not finish" if failed else ""))
    return 1 if failed else 0
