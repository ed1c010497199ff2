"""What a study leaves on disk (``results/tune/<study>/``): the best parameters as ready-to-use config overrides,
a JSON summary, and Optuna's plots (matplotlib backend) as PNG files."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial, TrialState

from bench.tune.space import SearchSpace
from bench.tune.worker import ERROR, RETRY_OF

log = logging.getLogger("bench.tune")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)  # several workers may finalize at once: each file appears whole
    return path


def counts(study: optuna.Study) -> dict[str, int]:
    trials = study.get_trials(deepcopy=False)
    found: dict[str, int] = {}
    for t in trials:
        found[t.state.name.lower()] = found.get(t.state.name.lower(), 0) + 1
    found["retried"] = sum(1 for t in trials if RETRY_OF in t.user_attrs)
    return found


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def write_best(study: optuna.Study, best: FrozenTrial, method: str, objective: str, out_dir: Path
               ) -> dict[str, Path]:
    """``best.yaml``: a method config inheriting from ``method`` with the best weights (copy it to
    ``bench/configs/methods/<method>_tuned.yaml``); ``best_overrides.txt``: the same as ``bench run`` overrides."""
    header = (f"# Best trial #{best.number} of Optuna study '{study.study_name}': {objective} = {best.value:.6g} "
              f"({study.direction.name.lower()})\n")
    nested: dict[str, Any] = {}
    for name, value in best.params.items():  # ``losses.cycle`` → {losses: {cycle: ...}}
        *parents, leaf = name.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    yaml = (f"# @package methods.{method}_tuned\n{header}"
            f"# Use: cp this file bench/configs/methods/{method}_tuned.yaml && python -m bench run "
            f"'methods=[{method}_tuned]' ...\n"
            f"defaults:\n  - {method}@_here_\n  - _self_\n" + OmegaConf.to_yaml({"override": nested}))
    overrides = SearchSpace.overrides(method, best.params)
    text = (f"{header}# Use: python -m bench run 'methods=[{method}]' $(grep -v '^#' best_overrides.txt)\n"
            + "\n".join(overrides) + "\n")
    return {"best.yaml": _write(out_dir / "best.yaml", yaml),
            "best_overrides.txt": _write(out_dir / "best_overrides.txt", text)}


def write_summary(study: optuna.Study, info: dict[str, Any], out_dir: Path) -> Path:
    best = best_trial(study)
    trials = [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
               "error": t.user_attrs.get(ERROR), "retry_of": t.user_attrs.get(RETRY_OF),
               "intermediate": t.intermediate_values} for t in study.get_trials(deepcopy=False)]
    summary = {**info, "study": study.study_name, "direction": study.direction.name.lower(),
               "counts": counts(study), "best": None if best is None else
               {"number": best.number, "value": best.value, "params": best.params}, "trials": trials}
    return _write(out_dir / "study.json", json.dumps(summary, indent=2, default=str))


PLOTS = {
    "history": "plot_optimization_history",
    "importances": "plot_param_importances",
    "parallel_coordinate": "plot_parallel_coordinate",
}


def write_plots(study: optuna.Study, out_dir: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Optuna's matplotlib plots as PNGs; a plot that cannot be drawn yet (e.g. importances need two complete
    trials with different values) is skipped with the reason."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots

    written: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    for name, function in PLOTS.items():
        if len(complete) < (2 if name != "history" else 1):
            skipped[name] = f"needs more complete trials (has {len(complete)})"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna flags its matplotlib backend as experimental
                ax = getattr(optuna_plots, function)(study)
            figure = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
            path = out_dir / "plots" / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(path, dpi=90, bbox_inches="tight")
            plt.close(figure)
            written[name] = path
        except Exception as exc:  # e.g. importances on trials whose values are all equal
            skipped[name] = f"{type(exc).__name__}: {exc}"
            plt.close("all")
    for name, reason in skipped.items():
        log.info("plot %s skipped: %s", name, reason)
    return written, skipped
