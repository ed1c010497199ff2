"""The Optuna loop of one ``bench tune`` worker (ask/tell, not Hydra's sweeper: that one is batch-synchronous, cannot
prune and cannot resume; see the harness notes §0 and §6).

Many workers may run this loop against one storage at the same time. The rules that keep the study exact:

- Budget: the study holds at most ``n_trials`` trials, counting every state (running, waiting, complete, pruned,
  failed) except trials that were interrupted and replaced by a retry. A worker counts and asks under the storage's
  lock, so two workers never both take the last slot.
- Failures: an exception or a NaN/inf objective marks the trial FAIL (its error in the ``bench.error`` user
  attribute); the study goes on. Pruned trials (intermediate values reported through ``TrialContext.report``) are
  PRUNED.
- Interruptions: Ctrl-C or SIGTERM marks the running trial FAIL and enqueues a retry with the same parameters
  (``bench.retry_of`` = its number), then stops the worker. A worker that died without a word (kill -9, lost node)
  stops sending heartbeats (``bench.heartbeat`` user attribute, every ``heartbeat_s``); the next worker to take a
  trial fails it and enqueues the retry once the heartbeat is older than ``stale_after_s``. Running ``bench tune``
  again with the same study name therefore resumes where the study stopped.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from bench.tune.space import SearchSpace

log = logging.getLogger("bench.tune")

RETRY_OF = "bench.retry_of"
HEARTBEAT = "bench.heartbeat"
ERROR = "bench.error"
WORKER = "bench.worker"
INTERRUPTED = "bench.interrupted"


class TrialContext:
    """What an objective gets besides the parameters: the trial number, a way to report intermediate values (which
    may prune the trial), the study's MLflow parent run, and a slot for the MLflow run the objective created."""

    def __init__(self, trial: optuna.Trial, parent_run_id: str | None = None) -> None:
        self.trial = trial
        self.number = trial.number
        self.parent_run_id = parent_run_id
        self.run_id: str | None = None
        self.intermediate: list[tuple[int, float]] = []

    def report(self, step: int, value: float) -> None:
        """Record an intermediate objective value; raises ``optuna.TrialPruned`` when the pruner says stop."""
        value = float(value)
        if not math.isfinite(value):
            return  # nothing to compare; a NaN final value fails the trial anyway
        self.intermediate.append((int(step), value))
        self.trial.report(value, int(step))
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} (intermediate value {value:.6g})")


Objective = Callable[[dict[str, Any], TrialContext], float]


class Hooks:
    """Called around each trial (MLflow logging); the default does nothing."""

    def trial_started(self, ctx: TrialContext, params: dict[str, Any]) -> None: ...

    def trial_finished(self, ctx: TrialContext, trial: FrozenTrial) -> None: ...


@dataclass
class WorkerSummary:
    finished: dict[str, int] = field(default_factory=dict)  # state name → trials this worker finished
    retried: list[int] = field(default_factory=list)  # stale trials of dead workers this worker re-enqueued
    interrupted: bool = False
    stopped_by: str = "budget"  # budget | timeout | max_trials | interrupt

    @property
    def ran(self) -> int:
        return sum(self.finished.values())


class _Heartbeat:
    def __init__(self, trial: optuna.Trial, interval: float) -> None:
        self.trial, self.interval = trial, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{trial.number}")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.trial.set_user_attr(HEARTBEAT, time.time())
            except Exception as exc:  # the storage hiccuped; the next beat retries
                log.debug("heartbeat of trial %d failed: %s", self.trial.number, exc)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()  # until the first beat, the trial's start time stands in for it
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def replaced_numbers(trials: list[FrozenTrial]) -> set[int]:
    return {int(t.user_attrs[RETRY_OF]) for t in trials if RETRY_OF in t.user_attrs}


def budget_used(trials: list[FrozenTrial]) -> int:
    """Trials that count towards ``n_trials``: all but those replaced by a retry."""
    replaced = replaced_numbers(trials)
    return sum(1 for t in trials if t.number not in replaced)


def retry_stale(study: optuna.Study, stale_after_s: float) -> list[int]:
    """Fail RUNNING trials whose heartbeat is older than ``stale_after_s`` and enqueue a retry of each. Call under
    the lock."""
    trials = study.get_trials(deepcopy=False)
    replaced = replaced_numbers(trials)
    now = time.time()
    retried = []
    for t in trials:
        if t.state != TrialState.RUNNING or t.number in replaced:
            continue
        beat = t.user_attrs.get(HEARTBEAT) or (t.datetime_start.timestamp() if t.datetime_start else now)
        if now - float(beat) <= stale_after_s:
            continue
        try:
            study.tell(t.number, state=TrialState.FAIL)
        except Exception as exc:  # finished meanwhile by its (slow, alive) worker
            log.info("trial %d was not stale after all: %s", t.number, exc)
            continue
        study.enqueue_trial(t.params, user_attrs={RETRY_OF: t.number})
        log.warning("trial %d: no heartbeat for %.0f s (worker %s gone?); failed it and queued a retry", t.number,
                    now - float(beat), t.user_attrs.get(WORKER, "?"))
        retried.append(t.number)
    return retried


def next_trial(study: optuna.Study, n_trials: int) -> optuna.Trial | None:
    """The next trial to run (a waiting retry first), or None when the study holds ``n_trials``. Call under the
    lock."""
    trials = study.get_trials(deepcopy=False)
    waiting = any(t.state == TrialState.WAITING for t in trials)
    if budget_used(trials) >= n_trials and not waiting:
        return None
    return study.ask()


def run_worker(study: optuna.Study, objective: Objective, space: SearchSpace, n_trials: int,
               lock: AbstractContextManager, *, parent_run_id: str | None = None, hooks: Hooks | None = None,
               heartbeat_s: float = 10.0, stale_after_s: float = 60.0, timeout_s: float | None = None,
               max_trials: int | None = None, sampler_factory: Callable[[int], optuna.samplers.BaseSampler] | None
               = None) -> WorkerSummary:
    """Run trials until the study holds ``n_trials`` (or this worker's ``timeout_s``/``max_trials`` is reached).

    ``sampler_factory(trial_number)``, when given, makes a sampler per trial: a seeded study then samples the same
    parameters for a trial number whichever worker runs it, and parallel workers never share a random stream.
    """
    hooks = hooks or Hooks()
    summary = WorkerSummary()
    started = time.monotonic()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            summary.stopped_by = "timeout"
            break
        if max_trials is not None and summary.ran >= max_trials:
            summary.stopped_by = "max_trials"
            break
        with lock:
            summary.retried += retry_stale(study, stale_after_s)
            trial = next_trial(study, n_trials)
        if trial is None:
            break
        trial.set_user_attr(WORKER, worker)
        if sampler_factory is not None:
            study.sampler = sampler_factory(trial.number)
        ctx = TrialContext(trial, parent_run_id)
        try:
            with _Heartbeat(trial, heartbeat_s):
                state, value = _run_one(trial, objective, space, ctx, hooks)
        except (KeyboardInterrupt, SystemExit):
            _interrupted(study, trial, lock)
            summary.interrupted, summary.stopped_by = True, "interrupt"
            _safe(hooks.trial_finished, ctx, _frozen(study, trial.number))
            raise
        frozen = study.tell(trial, value, state=state) if state == TrialState.COMPLETE else study.tell(
            trial, state=state)
        summary.finished[state.name] = summary.finished.get(state.name, 0) + 1
        log.info("trial %d %s%s", trial.number, state.name, f": {value:.6g}" if value is not None else "")
        _safe(hooks.trial_finished, ctx, frozen)
    return summary


def _frozen(study: optuna.Study, number: int) -> FrozenTrial:
    return next(t for t in study.get_trials(deepcopy=False) if t.number == number)


def _safe(hook: Callable[..., None], *args: Any) -> None:
    """Logging a trial must not end the study: a failed hook is reported and the loop goes on."""
    try:
        hook(*args)
    except Exception as exc:
        log.error("%s failed: %s", getattr(hook, "__qualname__", hook), exc)


def _run_one(trial: optuna.Trial, objective: Objective, space: SearchSpace, ctx: TrialContext, hooks: Hooks
             ) -> tuple[TrialState, float | None]:
    try:
        params = space.suggest(trial)
        _safe(hooks.trial_started, ctx, params)
        value = float(objective(params, ctx))
    except optuna.TrialPruned as exc:
        trial.set_user_attr("bench.pruned", str(exc))
        return TrialState.PRUNED, None
    except Exception as exc:  # any failure of one trial is recorded; the study goes on
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:1000]
        log.warning("trial %d failed: %s", trial.number, message)
        trial.set_user_attr(ERROR, message)
        return TrialState.FAIL, None
    if not math.isfinite(value):
        trial.set_user_attr(ERROR, f"objective is {value}")
        log.warning("trial %d failed: objective is %s", trial.number, value)
        return TrialState.FAIL, None
    return TrialState.COMPLETE, value


def _interrupted(study: optuna.Study, trial: optuna.Trial, lock: AbstractContextManager) -> None:
    """Ctrl-C / SIGTERM during a trial: fail it and queue the same parameters again, so a resume re-runs it."""
    try:
        trial.set_user_attr(INTERRUPTED, True)
        with lock:
            study.tell(trial, state=TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
        log.warning("trial %d interrupted; queued a retry (run the same command to resume)", trial.number)
    except Exception as exc:  # the storage is gone too: the heartbeat rule retries it later
        log.error("could not record the interruption of trial %d: %s", trial.number, exc)
