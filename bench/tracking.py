"""MLflow tracking: one parent run per ``bench run``, one child run per method.

By default the store is a local SQLite file ``<results>/mlflow.db`` with artifacts in ``<results>/mlartifacts`` (no
server needed; ``mlflow ui --backend-store-uri sqlite:///results/mlflow.db`` shows it). ``tracking.uri`` points at a
server instead. The store is created under a lock, so runs may start together on a fresh folder
(``bench.mlflow_store``). The client API is used directly (not MLflow's global "active run"), so runs nest
explicitly through the ``mlflow.parentRunId`` tag and a study (``bench tune``) can own many ``bench run`` parents.
Every run records its owner process (``bench.owners``), so that runs left RUNNING by a killed process can be found
and closed as KILLED (``Tracker.reap_orphans``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from bench.mlflow_store import open_store, sqlite_path
from bench.owners import owner_tags, reap_orphans

log = logging.getLogger(__name__)

# Training curves of a method run are logged as ``train.<loss>`` per step; they are not results, and the report
# leaves them out of its tables.
TRAINING_METRIC_PREFIX = "train."
PARENT_TAG = "mlflow.parentRunId"
_MAX_PARAM = 500  # characters kept of a parameter value


def default_uri(results: Path) -> str:
    return f"sqlite:///{results.resolve() / 'mlflow.db'}"


def artifact_root(uri: str, experiment: str) -> str | None:
    """Artifacts of a local SQLite store live beside the database (``mlartifacts/<experiment>``); a server decides
    its own (None), so nothing lands in a stray ``./mlruns``."""
    path = sqlite_path(uri)
    return None if path is None else (path.parent / "mlartifacts" / experiment).as_uri()


class Tracker:
    """Thin wrapper over ``MlflowClient``; ``enabled=False`` turns every call into a no-op."""

    def __init__(self, results: Path, uri: str | None = None, experiment: str = "bench", enabled: bool = True):
        self.enabled = enabled
        self.client: Any = None
        self.experiment_id = ""
        if not enabled:
            return
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        results.mkdir(parents=True, exist_ok=True)
        self.uri = uri or default_uri(results)
        # under the store's lock: runs started together on a fresh folder would race to create its tables
        self.client, self.experiment_id = open_store(self.uri, experiment, artifact_root(self.uri, experiment))

    def start(self, name: str, tags: dict[str, str], parent_id: str | None = None) -> str:
        if not self.enabled:
            return ""
        tags = owner_tags() | {k: str(v) for k, v in tags.items()}
        if parent_id:
            tags[PARENT_TAG] = parent_id
        return self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id

    def reap_orphans(self, by: str) -> tuple[list[str], list[str]]:
        """Close the store's runs whose owner process is gone as KILLED (``bench.owners.reap_orphans``); returns
        ``(killed, elsewhere)`` lines, both empty when tracking is off."""
        return reap_orphans(self.client, by) if self.enabled else ([], [])

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        if not self.enabled or not params:
            return
        from mlflow.entities import Param

        items = [Param(k[:250], str(v)[:_MAX_PARAM]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[start:start + 100])

    def log_metrics(self, run_id: str, values: dict[str, float], step: int = 0) -> None:
        if not self.enabled or not values:
            return
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in values.items()]
        for start in range(0, len(items), 500):
            self.client.log_batch(run_id, metrics=items[start:start + 500])

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        if self.enabled:
            for key, value in tags.items():
                self.client.set_tag(run_id, key, str(value)[:5000])

    def log_artifact(self, run_id: str, path: Path, subdir: str | None = None) -> None:
        if self.enabled and path.exists():
            self.client.log_artifact(run_id, str(path), artifact_path=subdir)

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        if self.enabled and run_id:
            self.client.set_terminated(run_id, status=status)
