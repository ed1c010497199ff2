"""``python -m bench run [overrides]``: train and evaluate methods under a protocol (Hydra config ``configs/run.yaml``).

With no arguments: MNIST-Single on the offline digits at smoke scale with the reference methods.
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from bench.config import CONFIG_DIR, RUN_GROUPS, validate_overrides

SUMMARY = "train and evaluate methods under a protocol; prints the comparison table and the metrics.csv path"
log = logging.getLogger("bench")
_exit_code = 0


@hydra.main(config_path=str(CONFIG_DIR), config_name="run", version_base=None)
def _hydra_main(cfg: DictConfig) -> None:
    global _exit_code
    from bench.errors import BenchError
    from bench.runner import execute

    try:
        outcome = execute(cfg)
    except BenchError as exc:
        log.error("%s", exc)  # Hydra's logging writes it to the console and to the run's log file
        _exit_code = 2
        return
    print()
    print(outcome.artifacts["table.md"].read_text())
    if outcome.failed:
        failed = sorted({r.method for r in outcome.rows if r.status == "failed"})
        print(f"FAILED methods: {', '.join(failed)} (tracebacks in {outcome.run_dir})", file=sys.stderr)
        _exit_code = 1
    print(outcome.metrics_csv)


def main(argv: list[str]) -> int:
    global _exit_code
    _exit_code = 0
    validate_overrides(argv, RUN_GROUPS)
    saved = sys.argv
    sys.argv = ["bench run", *argv]
    try:
        _hydra_main()
    except SystemExit as exc:  # Hydra exits on config errors after printing them
        return int(exc.code or 0) or 1 if exc.code not in (0, None) else 0
    finally:
        sys.argv = saved
    return _exit_code
