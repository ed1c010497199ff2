"""``python -m bench run [overrides]``: train and evaluate methods under a protocol (Hydra config
``bench/configs/run.yaml``).

With no arguments: MNIST-Single on the offline digits at smoke scale with the reference methods.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from bench.config import CONFIG_DIR, RUN_GROUPS, check_override_keys, validate_overrides
from bench.results import check_writable

SUMMARY = "train and evaluate methods under a protocol; prints the comparison table and the metrics.csv path"
log = logging.getLogger("bench")
_exit_code = 0


@hydra.main(config_path=str(CONFIG_DIR), config_name="run", version_base=None)
def _hydra_main(cfg: DictConfig) -> None:
    global _exit_code
    from bench.results import FULL_OR_READ_ONLY, write_error
    from bench.runner import execute
    from core.errors import BenchError

    try:
        outcome = execute(cfg)
    except BenchError as exc:
        log.error("%s", exc)  # Hydra's logging writes it to the console and to the run's log file
        _exit_code = 2
        return
    except OSError as exc:  # the disk filled up (or went read-only) mid-run: no file of the run counts
        if exc.errno not in FULL_OR_READ_ONLY:
            raise
        log.error("%s", write_error(exc, Path(cfg.paths.results)))
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
    cfg = check_override_keys(argv)
    for option in ("paths.results", "paths.checkpoints"):  # read-only or full: stop here, before any training
        check_writable(Path(str(OmegaConf.select(cfg, option))), option)
    saved = sys.argv
    sys.argv = ["bench run", *argv]
    previous = _interrupt_on_sigterm()
    try:
        _hydra_main()
    except SystemExit as exc:  # Hydra exits on config errors after printing them
        return int(exc.code or 0) or 1 if exc.code not in (0, None) else 0
    except KeyboardInterrupt:
        log.error("interrupted: the MLflow runs are marked KILLED and no metrics.csv was written; rerun the same "
                  "command to resume from the last checkpoints")
        return 130
    finally:
        sys.argv = saved
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return _exit_code


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _interrupt_on_sigterm() -> Any:
    """A killed run (SIGTERM: `kill`, a scheduler, a session's end) unwinds like Ctrl-C, so its MLflow runs end as
    KILLED instead of staying RUNNING forever. Only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)
