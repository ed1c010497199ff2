"""MLflow for a study: one parent run per study (``bench.kind=tune``), shared by all its workers and reused on resume
(its id lives in the study's user attributes), and one child run per trial.

A trial that runs ``bench run`` already has its own run (the runner's parent, created under the study's run); we tag
it with the trial number and parameters. Other objectives get a ``bench.kind=trial`` child run made here. The parent
run carries the best value (metric ``best_value``), the best parameters (tags ``best.<name>``), trial counts
(metrics ``trials.<state>``) and, as artifacts, the override files and Optuna's plots.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import optuna
from mlflow.entities import Metric, Param, RunTag
from optuna.trial import FrozenTrial, TrialState

from bench.tracking import Tracker
from bench.tune.worker import ERROR, RETRY_OF, Hooks, TrialContext

log = logging.getLogger("bench.tune")
PARENT_ATTR = "bench.mlflow_parent_run_id"


class StudyRuns(Hooks):
    def __init__(self, tracker: Tracker, study: optuna.Study, tags: dict[str, str]) -> None:
        self.tracker, self.study, self.tags = tracker, study, tags
        self.parent_id = ""

    def ensure_parent(self) -> str:
        """The study's parent run: reuse the one recorded in the study (resume, other workers), else create it.
        Call under the study lock so that concurrent workers create one parent, not several."""
        if not self.tracker.enabled:
            return ""
        known = self.study.user_attrs.get(PARENT_ATTR)
        if known and self._exists(known):
            self.parent_id = known
            self.tracker.client.update_run(known, status="RUNNING")
        else:
            name = self.tags.get("bench.study", self.study.study_name)
            self.parent_id = self.tracker.start(name, {**self.tags, "bench.kind": "tune"})
            self.study.set_user_attr(PARENT_ATTR, self.parent_id)
        return self.parent_id

    def _exists(self, run_id: str) -> bool:
        try:
            return self.tracker.client.get_run(run_id).info.lifecycle_stage == "active"
        except Exception:  # recorded by a worker that used another MLflow store
            return False

    def trial_finished(self, ctx: TrialContext, trial: FrozenTrial) -> None:
        if not self.tracker.enabled:
            return
        tags = {"bench.study": self.study.study_name, "bench.trial": trial.number,
                "bench.trial_state": trial.state.name}
        if RETRY_OF in trial.user_attrs:
            tags["bench.retry_of"] = trial.user_attrs[RETRY_OF]
        if ERROR in trial.user_attrs:
            tags["bench.error"] = trial.user_attrs[ERROR]
        run_id = ctx.run_id
        if not run_id:  # the objective made no MLflow run of its own
            run_id = self.tracker.start(f"{self.study.study_name}-trial-{trial.number}",
                                        {**self.tags, **tags, "bench.kind": "trial"}, parent_id=self.parent_id)
        # one write for everything: SQLite stores are shared by all workers
        now = int(time.time() * 1000)
        metrics = [Metric("objective.intermediate", v, now, s) for s, v in sorted(trial.intermediate_values.items())]
        if trial.value is not None:
            metrics.append(Metric("objective", trial.value, now, 0))
        self.tracker.client.log_batch(
            run_id, metrics=metrics, params=[Param(f"trial.{k}", str(v)) for k, v in trial.params.items()],
            tags=[RunTag(k, str(v)) for k, v in tags.items()] if ctx.run_id else [])
        if not ctx.run_id:
            status = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED"}.get(trial.state, "FAILED")
            self.tracker.finish(run_id, status)

    def finalize(self, counts: dict[str, int], best: FrozenTrial | None, files: dict[str, Path],
                 complete: bool) -> None:
        if not self.tracker.enabled or not self.parent_id:
            return
        self.tracker.log_metrics(self.parent_id, {f"trials.{k}": v for k, v in counts.items()})
        if best is not None:
            self.tracker.log_metrics(self.parent_id, {"best_value": best.value})
            self.tracker.set_tags(self.parent_id, {"best.trial": best.number}
                                  | {f"best.{k}": v for k, v in best.params.items()})
        for name, path in files.items():
            self.tracker.log_artifact(self.parent_id, path, "plots" if name.startswith("plot:") else None)
        if complete:
            self.tracker.finish(self.parent_id, "FINISHED")
