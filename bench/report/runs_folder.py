"""A folder of exported runs: the runs behind a report, portable without MLflow.

``bench report export_runs=<dir>`` writes every ``bench run`` whose rows the report shows (and its method runs) as
plain files; ``bench report runs_dir=<dir>`` renders the same tables from them. A reference folder can so ship the
runs it was rendered from, and runs made on different machines (a laptop, a GPU box, several days of CPU time)
are merged by exporting each store into one folder.

Layout (one folder per run; the loader finds runs by their ``run.json``, so the nesting is only for people)::

    <dir>/<run name>/run.json                     name, MLflow id, experiment, start, status, tags, params, metrics
    <dir>/<run name>/artifacts/metrics.csv …      the run's artifacts, as MLflow stored them
    <dir>/<run name>/methods/<method>/run.json    each method run, with ``parent_id`` naming the run above
    <dir>/<run name>/methods/<method>/artifacts/  rows.csv, images

Training curves (``train.*`` metrics) are not results and are left out; only a metric's last value is kept.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.report.source import RunInfo
from bench.tracking import TRAINING_METRIC_PREFIX
from core.errors import BenchError

RUN_FILE = "run.json"
ARTIFACTS = "artifacts"
FORMAT = 1


@dataclass(frozen=True)
class Artifact:
    """What ``MlflowClient.list_artifacts`` yields, for the report's readers."""

    path: str
    is_dir: bool


def _record(run: RunInfo) -> dict:
    return {"format": FORMAT, "run_id": run.run_id, "name": run.name, "experiment": run.experiment,
            "start_time": run.start_time, "status": run.status, "parent_id": run.parent_id, "tags": run.tags,
            "params": run.params,
            "metrics": {k: v for k, v in run.metrics.items() if not k.startswith(TRAINING_METRIC_PREFIX)}}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in name) or "run"


def export_runs(client, runs: list[RunInfo], dest: Path) -> list[Path]:
    """Write ``runs`` (``bench run`` parents or orphan method runs) and their method children under ``dest``.

    A run already in ``dest`` (same MLflow id) is rewritten in place (its ``run.json`` and its whole ``artifacts/``
    folder); other runs and files there are kept, so exports from several stores accumulate. Returns the written
    run folders. Raises ``BenchError`` when ``dest`` is a file or two different runs would share a folder name.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise BenchError(f"export_runs={dest} is a file, not a folder",
                         hint="pass a folder (new or holding earlier exports) to export_runs=")
    dest.mkdir(parents=True, exist_ok=True)
    existing = {rec["run_id"]: path.parent for path, rec in _records(dest)}
    written: list[Path] = []
    for run in runs:
        folder = existing.get(run.run_id, dest / _safe(run.tags.get("bench.run_name", run.name)))
        if folder.exists() and existing.get(run.run_id) != folder:
            raise BenchError(f"{folder} already holds another run than {run.run_id} ({run.name})",
                             hint="export into an empty folder, or remove that run folder first")
        written.append(_write(client, run, folder))
        for child in run.children:
            if child.kind == "method":
                _write(client, child, folder / "methods" / _safe(child.tags.get("bench.method", child.name)))
    return written


def _write(client, run: RunInfo, folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder / ARTIFACTS, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    if client.list_artifacts(run.run_id):
        client.download_artifacts(run.run_id, "", str(folder / ARTIFACTS))
    (folder / RUN_FILE).write_text(json.dumps(_record(run), indent=1, default=str) + "\n")
    return folder


def _records(root: Path) -> list[tuple[Path, dict]]:
    found = []
    for path in sorted(root.rglob(RUN_FILE)):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BenchError(f"{path} is not a readable run record: {exc}",
                             hint="re-export it with `bench report export_runs=<dir>`") from exc
        if not isinstance(record, dict) or "run_id" not in record:
            raise BenchError(f"{path} is not a run record (no run_id)",
                             hint="a runs folder holds only what `bench report export_runs=<dir>` wrote")
        found.append((path, record))
    return found


class FolderClient:
    """The part of ``MlflowClient`` the report uses (artifacts), over an exported runs folder."""

    def __init__(self, root: Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise BenchError(f"no runs folder at {self.root}",
                             hint="pass runs_dir=<a folder written by `bench report export_runs=<dir>`>")
        self.folders: dict[str, Path] = {}
        self.runs: list[RunInfo] = []
        for path, rec in _records(self.root):
            if rec["run_id"] in self.folders:  # a copied export would count every seed twice
                raise BenchError(f"run {rec['run_id']} is in {self.root} twice: {self.folders[rec['run_id']]} and "
                                 f"{path.parent}", hint="remove one copy (each run may appear once in a runs folder)")
            self.folders[rec["run_id"]] = path.parent
            self.runs.append(RunInfo(
                run_id=rec["run_id"], name=rec.get("name", rec["run_id"]), experiment=rec.get("experiment", ""),
                start_time=int(rec.get("start_time") or 0), status=rec.get("status", "FINISHED"),
                tags=dict(rec.get("tags", {})), metrics=dict(rec.get("metrics", {})),
                params=dict(rec.get("params", {})), parent_id=rec.get("parent_id")))
        if not self.runs:
            raise BenchError(f"{self.root} holds no exported runs ({RUN_FILE} files)",
                             hint="write one with `bench report export_runs=<dir>`")

    def load_runs(self) -> list[RunInfo]:
        """Every run, linked parent → child and sorted by start time, as ``source.load_runs`` returns them."""
        by_id = {r.run_id: r for r in self.runs}
        for run in self.runs:
            run.children.clear()
        for run in sorted(self.runs, key=lambda r: (-r.start_time, r.run_id)):  # MLflow's search order
            if run.parent_id in by_id:
                by_id[run.parent_id].children.append(run)
        return sorted(self.runs, key=lambda r: r.start_time)

    def _artifacts(self, run_id: str) -> Path:
        return self.folders[run_id] / ARTIFACTS

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[Artifact]:
        base = self._artifacts(run_id)
        where = base / path if path else base
        if not where.is_dir():
            return []
        return [Artifact(str(p.relative_to(base)), p.is_dir()) for p in sorted(where.iterdir())]

    def download_artifacts(self, run_id: str, path: str, dst_path: str) -> str:
        source = self._artifacts(run_id) / path
        target = Path(dst_path) / (Path(path).name if path else "")  # as MLflow: the artifact's name under dst
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        return str(target)
