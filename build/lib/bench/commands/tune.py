"""``python -m bench tune protocol=<p> method=<m> n_trials=<N> [scale=..] [storage=..] [key=value ...]``: an Optuna
study over a method's loss weights (its config's ``search_space``), objective = a protocol metric. Start the same
command in several processes or machines with one ``storage=`` to share the study; run it again to resume."""

from __future__ import annotations

import logging
import sys

from bench.config import CONFIG_DIR

SUMMARY = "Optuna search over a method's loss weights (shared storage, pruning, resume); writes the best overrides"


def main(argv: list[str]) -> int:
    if any(a in {"-h", "--help"} for a in argv):
        print(__doc__.strip(), "\n\nOptions:\n")
        print((CONFIG_DIR / "tune.yaml").read_text())
        return 0
    from bench.tune.study import compose_tune, run_tune

    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    logging.getLogger("optuna").setLevel(logging.WARNING)
    cfg, run = compose_tune(argv)
    try:
        result = run_tune(cfg, run_overrides=run)
    except KeyboardInterrupt:
        print("interrupted: the running trial was queued again; run the same command to resume", file=sys.stderr)
        return 130
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items()) if v)
    print(f"study {result.study_name} ({result.storage}): {counts}"
          + ("" if result.complete else " — not complete yet (other workers, or resume it)"))
    if result.best is None:
        print("no complete trial yet: no best parameters", file=sys.stderr)
        return 1
    print(f"best trial #{result.best.number}: {result.best.value:.6g} with "
          + ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.best.params.items()))
    for name in ("best.yaml", "best_overrides.txt"):
        print(f"  {result.files[name]}")
    return 0
