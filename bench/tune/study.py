"""``bench tune``: open (or resume) a study, run this worker's trials, write the best parameters and the plots."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial, TrialState

from bench.tune import outputs
from bench.tune.objective import RunObjective, load_callable
from bench.tune.space import SearchSpace
from bench.tune.storage import open_storage
from bench.tune.tracking import StudyRuns
from bench.tune.worker import Objective, WorkerSummary, budget_used, run_worker
from core.errors import BenchError

log = logging.getLogger("bench.tune")
SETUP_ATTR = "bench.setup"


@dataclass
class Objectives:
    metric: str
    translation: str | None
    direction: str  # maximize | minimize

    @property
    def label(self) -> str:
        return f"{self.metric} {self.translation}" if self.translation else f"{self.metric} (mean over translations)"


@dataclass
class TuneResult:
    study_name: str
    storage: str
    summary: WorkerSummary
    counts: dict[str, int]
    best: FrozenTrial | None
    complete: bool
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    skipped_plots: dict[str, str] = field(default_factory=dict)
    parent_run_id: str = ""


# Keys that are also Hydra config groups of `bench run`: set after composing, never through Hydra (which would try
# to load the group into the tune config).
DIRECT = ("protocol", "method", "scale")


def compose_tune(argv: list[str]) -> tuple[DictConfig, list[str]]:
    """Split ``argv`` into the tune config (``bench/configs/tune.yaml`` + its overrides, and protocol/method/scale)
    and the overrides passed on to each trial's ``bench run`` (every key tune.yaml does not have)."""
    from bench.config import CONFIG_DIR
    from bench.report.config import as_list_override, compose_primary

    tune_keys = set(OmegaConf.load(CONFIG_DIR / "tune.yaml").keys())
    tune, direct, run = [], {}, []
    for arg in argv:
        key, sep, value = arg.partition("=")
        root = key.lstrip("+~").split(".")[0]
        if sep and key in DIRECT:
            direct[key] = value
        elif root in tune_keys:
            tune.append(as_list_override(arg) if sep and root != "search_space" else arg)
        else:
            run.append(arg)
    cfg = compose_primary("tune", tune)
    for key, value in direct.items():
        cfg[key] = value
    return cfg, run


def resolve_objective(cfg: DictConfig) -> Objectives:
    """The metric to optimise: ``objective.metric`` or the protocol's first metric; its direction from the metric
    registry unless ``objective.direction`` says otherwise."""
    metric = cfg.objective.metric
    translation = cfg.objective.translation or None
    if not metric:
        if cfg.objective.callable:
            raise BenchError("objective.metric is required with objective.callable (it names the study's objective)")
        from protocols import PROTOCOLS

        metric = PROTOCOLS.get(cfg.protocol).columns()[0].metric  # e.g. ssim of "ssim A→B"
    direction = cfg.objective.direction
    if not direction:
        from metrics import METRICS

        try:
            direction = {"higher": "maximize", "lower": "minimize"}[METRICS.get(metric).direction]
        except Exception as exc:
            raise BenchError(f"cannot tell whether {metric!r} should go up or down",
                             hint="pass objective.direction=maximize or minimize") from exc
    if direction not in {"maximize", "minimize"}:
        raise BenchError(f"objective.direction={direction!r}", hint="use maximize or minimize")
    return Objectives(str(metric), translation, str(direction))


def search_space(cfg: DictConfig) -> SearchSpace:
    if cfg.search_space:
        return SearchSpace.from_config(OmegaConf.to_container(cfg.search_space, resolve=True), "search_space=")
    if not cfg.method:
        raise BenchError("bench tune needs method=<name> (or search_space= with objective.callable=)")
    from bench.config import CONFIG_DIR, load_method_config

    spec = load_method_config(cfg.method).get("search_space")
    spec = OmegaConf.to_container(spec, resolve=True) if spec is not None else None
    return SearchSpace.from_config(spec, str(CONFIG_DIR / "methods" / f"{cfg.method}.yaml"))


def make_sampler(cfg: DictConfig, number: int | None) -> optuna.samplers.BaseSampler:
    seed = None if cfg.sampler.seed is None else int(cfg.sampler.seed) + (number or 0)
    if cfg.sampler.name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=int(cfg.sampler.n_startup_trials))
    if cfg.sampler.name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise BenchError(f"unknown sampler {cfg.sampler.name!r}", hint="use sampler.name=tpe or random")


def make_pruner(cfg: DictConfig) -> optuna.pruners.BasePruner:
    name = cfg.pruner.name
    if name in {None, "none"}:
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=int(cfg.pruner.n_startup_trials),
                                           n_warmup_steps=int(cfg.pruner.n_warmup_steps))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    raise BenchError(f"unknown pruner {name!r}", hint="use pruner.name=median, hyperband or none")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Batch schedulers stop jobs with SIGTERM: treat it like Ctrl-C so the running trial is queued again."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_setup(study: optuna.Study, setup: dict[str, Any]) -> None:
    """A study name is one experiment: resuming it with another protocol, method or objective is refused."""
    recorded = study.user_attrs.get(SETUP_ATTR)
    if recorded is None:
        study.set_user_attr(SETUP_ATTR, setup)
        return
    changed = {k: (recorded.get(k), v) for k, v in setup.items() if recorded.get(k) != v}
    if changed:
        detail = ", ".join(f"{k}: {old!r} → {new!r}" for k, (old, new) in changed.items())
        raise BenchError(f"study {study.study_name!r} exists with a different setup ({detail})",
                         hint="resume it with the same settings, or pass a new study_name=")


def run_tune(cfg: DictConfig, objective: Objective | None = None, run_overrides: list[str] | None = None
             ) -> TuneResult:
    space = search_space(cfg)
    goal = resolve_objective(cfg)
    scale = cfg.scale or None
    study_name = cfg.study_name or f"tune-{cfg.protocol}-{cfg.method}-{scale or 'default'}"
    n_trials = int(cfg.n_trials)
    if n_trials < 1:
        raise BenchError(f"n_trials={n_trials}", hint="ask for at least one trial")
    results = Path(cfg.results)
    out_dir = Path(cfg.out_dir or results / "tune") / study_name
    store = open_storage(cfg.storage, results, study_name, cfg.lock_file)
    with store.lock:
        study = optuna.create_study(study_name=study_name, storage=store.storage, direction=goal.direction,
                                    sampler=make_sampler(cfg, None), pruner=make_pruner(cfg), load_if_exists=True)
        if study.direction.name.lower() != goal.direction:
            raise BenchError(f"study {study_name!r} exists with direction {study.direction.name.lower()}",
                             hint="pass a new study_name=, or objective.direction to match")
        _check_setup(study, {"protocol": cfg.protocol, "method": cfg.method, "scale": scale, "metric": goal.metric,
                             "translation": goal.translation, "space": space.names})
    from bench.tracking import Tracker

    experiment = cfg.tracking.experiment or cfg.protocol or "bench-tune"
    # created under the MLflow store's own lock: workers starting together on a fresh store would race for its tables
    tracker = Tracker(results, cfg.tracking.uri, str(experiment), bool(cfg.tracking.enabled))
    tags = {"bench.study": study_name, "bench.protocol": cfg.protocol or "", "bench.method": cfg.method or "",
            "bench.scale": scale or "", "bench.objective": goal.label, "bench.direction": goal.direction,
            "bench.storage": store.description, "bench.search_space": ", ".join(space.names)}
    runs = StudyRuns(tracker, study, tags)
    with store.lock:
        parent = runs.ensure_parent()
    if objective is None:
        if cfg.objective.callable:
            objective = load_callable(str(cfg.objective.callable))
        else:
            if not cfg.protocol or not cfg.method:
                raise BenchError("bench tune needs protocol=<name> and method=<name>")
            run_overrides = [*(run_overrides or []), f"paths.results={results}",
                             f"tracking.experiment={experiment}", f"tracking.enabled={bool(cfg.tracking.enabled)}"]
            if cfg.tracking.uri:
                run_overrides.append(f"tracking.uri={cfg.tracking.uri}")
            objective = RunObjective(cfg.protocol, cfg.method, scale, goal.metric, goal.translation, study_name,
                                     run_overrides)
    log.info("study %s in %s: %s %s, %d trials, search space %s", study_name, store.description, goal.direction,
             goal.label, n_trials, space.names)
    sampler_factory = (lambda number: make_sampler(cfg, number)) if cfg.sampler.seed is not None else None
    summary = WorkerSummary(stopped_by="interrupt", interrupted=True)
    try:
        with sigterm_as_interrupt():
            summary = run_worker(study, objective, space, n_trials, store.lock, parent_run_id=parent, hooks=runs,
                                 heartbeat_s=float(cfg.heartbeat_s), stale_after_s=float(cfg.stale_after_s),
                                 timeout_s=cfg.timeout_s, max_trials=cfg.max_trials_per_worker,
                                 sampler_factory=sampler_factory)
    finally:  # interrupted or not, leave what the study has so far on disk and in MLflow
        result = _finalize(study, runs, cfg, space, goal, n_trials, out_dir, summary, store.description, parent)
    return result


def _finalize(study: optuna.Study, runs: StudyRuns, cfg: DictConfig, space: SearchSpace, goal: Objectives,
              n_trials: int, out_dir: Path, summary: WorkerSummary, storage: str, parent: str) -> TuneResult:
    trials = study.get_trials(deepcopy=False)
    unfinished = any(t.state in {TrialState.RUNNING, TrialState.WAITING} for t in trials)
    complete = budget_used(trials) >= n_trials and not unfinished
    best = outputs.best_trial(study)
    files: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    if best is not None:
        files |= outputs.write_best(study, best, str(cfg.method or "method"), goal.label, out_dir)
    files["study.json"] = outputs.write_summary(study, {"objective": goal.label, "n_trials": n_trials,
                                                       "search_space": space.names}, out_dir)
    if cfg.plots:
        plots, skipped = outputs.write_plots(study, out_dir)
        files |= {f"plot:{k}": v for k, v in plots.items()}
    counts = outputs.counts(study)
    try:
        runs.finalize(counts, best, files, complete)
    except Exception as exc:  # the study and its files are safe; only the MLflow copy is missing
        log.error("could not log the study to MLflow: %s", exc)
    return TuneResult(study.study_name, storage, summary, counts, best, complete, out_dir, files, skipped, parent)
