"""Read benchmark results out of an MLflow store (local SQLite file or a tracking server).

The store layout (written by ``bench run``, see ``bench/tracking.py``): one parent run per ``bench run``
(tag ``bench.kind=run``) that logs ``metrics.csv`` with every ``ResultRow`` of the run (reported rows included), and
one child run per method (``bench.kind=method``) with metrics ``<metric>.<translation>`` (+ ``.std``, ``.n``) and a
``rows.csv`` artifact. ``bench tune`` adds a parent per study (``bench.kind=tune``) whose trials are children.

We read ``metrics.csv`` of each parent (it is the complete record); a parent without it is rebuilt from its method
children (``rows.csv``, else their metrics and tags), so a partially logged run still shows what it has.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.mlflow_store import diagnose, sqlite_path, store_lock
from bench.results import COLUMNS
from bench.tracking import TRAINING_METRIC_PREFIX
from core.columns import Column
from core.errors import BenchError

RUN_COLUMNS = ["run_id", "run_start", "experiment", "variant_of", "tuning", "origin", "setting", "setting_params"]
STRING_COLUMNS = ["protocol", "method", "metric", "translation", "direction", "protocol_hash", "status", "source",
                  "note", "method_class", "scale", "data_source", "data_fingerprint", "run_name", "git_commit",
                  "precision"]


@dataclass
class RunInfo:
    run_id: str
    name: str
    experiment: str
    start_time: int  # ms since the epoch
    status: str
    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    parent_id: str | None = None
    children: list[RunInfo] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.tags.get("bench.kind", "")


def default_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else the harness default ``results/mlflow.db`` under the working directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path('results/mlflow.db').resolve()}"


def connect(uri: str | None):
    """An ``MlflowClient`` for ``uri``; refuses to create an empty SQLite store where the user expected results."""
    from mlflow.tracking import MlflowClient

    uri = uri or default_tracking_uri()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per file floods the log
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        if not path.exists():
            raise BenchError(f"no MLflow store at {path}",
                             hint="run `python -m bench run ...` first, or pass tracking.uri=<sqlite:///file or "
                                  "http://server>")
    try:
        with store_lock(uri):  # a `bench run` may be creating the store right now
            client = MlflowClient(tracking_uri=uri)
            client.search_experiments(max_results=1)  # a bad URI fails here, not deep inside the report
    except Exception as exc:  # MLflow raises many kinds (MlflowException, OSError, requests errors)
        path = sqlite_path(uri)
        broken = diagnose(path) if path is not None and path.is_file() else None
        if broken is not None:  # a corrupt / half-migrated / other-version store: name the file and the fix
            raise broken from exc
        raise BenchError(f"cannot read the MLflow store at {uri}: {str(exc).splitlines()[0].split('. ')[0]}",
                         hint="pass tracking.uri=sqlite:///<path to mlflow.db> or http://<server>") from exc
    return client


def load_runs(client, experiments: list[str] | None = None) -> list[RunInfo]:
    """Every active run of the named experiments (all experiments when none are named), linked parent → child."""
    from mlflow.entities import ViewType

    if experiments:
        found = [client.get_experiment_by_name(name) for name in experiments]
        missing = [name for name, exp in zip(experiments, found, strict=True) if exp is None]
        if missing:
            names = sorted(e.name for e in client.search_experiments())
            raise BenchError(f"unknown MLflow experiment(s) {missing}", hint=f"existing experiments: {names}")
    else:
        found = client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    exp_names = {e.experiment_id: e.name for e in found}
    runs: dict[str, RunInfo] = {}
    token = None
    while exp_names:
        page = client.search_runs(list(exp_names), run_view_type=ViewType.ACTIVE_ONLY, max_results=1000,
                                  page_token=token)
        for r in page:
            runs[r.info.run_id] = RunInfo(
                run_id=r.info.run_id, name=r.info.run_name or r.info.run_id, experiment=exp_names[r.info.experiment_id],
                start_time=int(r.info.start_time or 0), status=r.info.status, tags=dict(r.data.tags),
                metrics=dict(r.data.metrics), params=dict(r.data.params),
                parent_id=r.data.tags.get("mlflow.parentRunId"))
        token = page.token
        if not token:
            break
    for run in runs.values():
        if run.parent_id in runs:
            runs[run.parent_id].children.append(run)
    return sorted(runs.values(), key=lambda r: r.start_time)


def under_tuning(run: RunInfo, runs: dict[str, RunInfo]) -> bool:
    """True when the run descends from a ``bench tune`` study: trials stay out of leaderboards unless asked for."""
    seen: set[str] = set()
    parent = run.parent_id
    while parent and parent in runs and parent not in seen:
        seen.add(parent)
        if runs[parent].kind == "tune":
            return True
        parent = runs[parent].parent_id
    return False


def _download_csv(client, run_id: str, name: str, scratch: Path) -> pd.DataFrame | None:
    names = {a.path for a in client.list_artifacts(run_id)}
    if name not in names:
        return None
    local = client.download_artifacts(run_id, name, str(scratch / run_id))
    return pd.read_csv(local, keep_default_na=True)


def _rows_from_metrics(parent: RunInfo | None, child: RunInfo) -> pd.DataFrame:
    """Rebuild ``ResultRow``s from a method run's metrics and tags (used when no CSV was logged)."""
    tags = {**(parent.tags if parent else {}), **child.tags}
    base = {
        "protocol": tags.get("bench.protocol", ""), "method": tags.get("bench.method", child.name),
        "protocol_hash": tags.get("bench.protocol_hash", ""),
        "calibrated": tags.get("bench.calibrated", "true").lower() == "true",
        "status": tags.get("bench.status", "ok"), "source": "ours", "note": tags.get("bench.note", ""),
        "method_class": tags.get("bench.method_class", ""), "scale": tags.get("bench.scale", ""),
        "seed": int(tags["bench.seed"]) if tags.get("bench.seed", "").lstrip("-").isdigit() else None,
        "data_source": tags.get("bench.data_source", ""), "data_fingerprint": tags.get("bench.data_fingerprint", ""),
        "run_name": tags.get("bench.run_name", parent.name if parent else ""),
        "git_commit": tags.get("bench.git_commit", ""),
    }
    rows = []
    for key, value in child.metrics.items():
        if key.endswith((".std", ".n")) or "." not in key or key.startswith(TRAINING_METRIC_PREFIX):
            continue
        column = Column.from_key(key)  # MLflow keys cannot hold arrows: ``ssim.A2B`` is ``ssim A→B``
        n = child.metrics.get(f"{key}.n")
        rows.append({**base, "metric": column.metric, "translation": column.translation,
                     "value": value, "std": child.metrics.get(f"{key}.std"), "n": int(n) if n is not None else None,
                     "direction": ""})  # filled in by ``_fill_directions``
    if not rows:  # failed or refused: one row that carries the status and the reason
        rows.append({**base, "metric": "", "translation": "", "value": None, "std": None, "n": None, "direction": ""})
    return pd.DataFrame(rows)


def _normalise(frame: pd.DataFrame, run: RunInfo) -> pd.DataFrame:
    frame = frame.copy()
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    tag_defaults = {"protocol": "bench.protocol", "protocol_hash": "bench.protocol_hash", "scale": "bench.scale",
                    "data_source": "bench.data_source", "data_fingerprint": "bench.data_fingerprint",
                    "git_commit": "bench.git_commit", "run_name": "bench.run_name", "precision": "bench.precision"}
    for column in STRING_COLUMNS:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "").astype(str)
        if column in tag_defaults:  # older CSVs may lack a column the run's tags carry
            frame.loc[frame[column] == "", column] = run.tags.get(tag_defaults[column], "")
    frame.loc[frame["run_name"] == "", "run_name"] = run.name
    frame["calibrated"] = frame["calibrated"].map(
        lambda v: str(v).strip().lower() not in {"false", "0", "no"} if v is not None and v == v else True)
    for column in ["value", "std"]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["n"] = pd.to_numeric(frame["n"], errors="coerce").astype("Int64")
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce").astype("Int64")
    frame["processes"] = pd.to_numeric(frame["processes"], errors="coerce").astype("Int64")
    return frame


def _variant_of(label: str, method_class: str, tags: dict[str, str], configs_dir: Path | None,
                reported: bool = False) -> str:
    """The full method a variant row ablates: the run's ``bench.variant_of`` tag, else the method config's
    ``variant_of`` key. Our row whose label equals its registered class is the full method itself; a paper's
    reported ablation row is a variant when our config of the same label declares it one."""
    if not label or (label == method_class and not reported):
        return ""
    if tags.get("bench.variant_of"):
        return tags["bench.variant_of"]
    if configs_dir is not None:
        path = configs_dir / "methods" / f"{label}.yaml"
        if path.exists():
            from omegaconf import OmegaConf

            value = OmegaConf.load(path).get("variant_of")
            return str(value) if value else ""
    return ""


def collect_rows(client, runs: list[RunInfo], configs_dir: Path | None = None, protocols: list[str] | None = None
                 ) -> pd.DataFrame:
    """All result rows of every ``bench run`` in ``runs`` (long format, ``ResultRow`` columns + run columns).
    ``protocols`` skips other protocols' runs before downloading anything (large stores)."""
    by_id = {r.run_id: r for r in runs}
    frames: list[pd.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        scratch = Path(tmp)
        for run in runs:
            if protocols and run.tags.get("bench.protocol") not in protocols:
                continue
            if run.kind == "run":
                frames += _rows_of_parent(client, run, scratch)
            elif run.kind == "method" and (run.parent_id not in by_id or by_id[run.parent_id].kind != "run"):
                frames.append(_tagged(_normalise(_child_rows(client, None, run, scratch), run), run, "rows.csv"))
    if not frames:
        return pd.DataFrame(columns=COLUMNS + RUN_COLUMNS)
    rows = _fill_directions(pd.concat(frames, ignore_index=True))
    rows["tuning"] = [under_tuning(by_id[i], by_id) for i in rows["run_id"]]
    child_tags: dict[tuple, dict[str, str]] = {}
    for r in runs:
        if r.kind == "method":  # keyed by the run the rows were read from: the parent, or the orphan child itself
            tags = {**r.tags, "_params": r.params}
            child_tags[(r.parent_id, r.tags.get("bench.method", ""))] = tags
            child_tags[(r.run_id, r.tags.get("bench.method", ""))] = tags
    params = [child_tags.get((rid, m), {}).get("_params", {}) if src == "ours" else {}
              for m, src, rid in zip(rows["method"], rows["source"], rows["run_id"], strict=True)]
    rows["setting"] = [method_setting(p) for p in params]
    rows["setting_params"] = [{k.removeprefix("method."): v for k, v in p.items() if k.startswith("method.")}
                              for p in params]
    rows["variant_of"] = [
        _variant_of(m, mc, child_tags.get((rid, m), {}) if src == "ours" else {}, configs_dir, src != "ours")
        for m, mc, src, rid in zip(rows["method"], rows["method_class"], rows["source"], rows["run_id"], strict=True)
    ]
    return rows


def method_setting(params: dict[str, str]) -> str:
    """Six hex digits naming a method run's parameters (its logged ``method.*`` params; the seed is not one), so
    runs of one label with different parameters are told apart; "" without params (no method run in the store)."""
    items = sorted((k, v) for k, v in params.items() if k.startswith("method."))
    if not items:
        return ""
    return hashlib.sha256(repr(items).encode()).hexdigest()[:6]


def _fill_directions(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows rebuilt from MLflow metrics lack the direction: take it from other rows of the same metric, else from
    the metric registry (imports torch, so only when needed); a metric unknown to both stays unranked."""
    missing = (rows["direction"] == "") & (rows["metric"] != "")
    if not missing.any():
        return rows
    known = rows[rows["direction"] != ""].drop_duplicates("metric").set_index("metric")["direction"].to_dict()
    for metric in set(rows.loc[missing, "metric"]) - set(known):
        try:
            from metrics import METRICS

            known[metric] = METRICS.get(metric).direction
        except Exception:  # not registered in this checkout: never guess a direction
            known[metric] = ""
    rows.loc[missing, "direction"] = rows.loc[missing, "metric"].map(known).fillna("")
    return rows


def _child_rows(client, parent: RunInfo | None, child: RunInfo, scratch: Path) -> pd.DataFrame:
    frame = _download_csv(client, child.run_id, "rows.csv", scratch)
    return frame if frame is not None else _rows_from_metrics(parent, child)


def _tagged(frame: pd.DataFrame, run: RunInfo, origin: str) -> pd.DataFrame:
    frame["run_id"] = run.run_id
    frame["run_start"] = run.start_time
    frame["experiment"] = run.experiment
    frame["origin"] = origin
    return frame


def _rows_of_parent(client, run: RunInfo, scratch: Path) -> list[pd.DataFrame]:
    frame = _download_csv(client, run.run_id, "metrics.csv", scratch)
    if frame is not None:
        return [_tagged(_normalise(frame, run), run, "metrics.csv")]
    children = [c for c in run.children if c.kind == "method"]
    return [_tagged(_normalise(_child_rows(client, run, c, scratch), run), run, "method runs") for c in children]


def list_images(client, run: RunInfo, limit: int = 32) -> list[tuple[RunInfo, str]]:
    """PNG artifacts of a run and its method children (recursively through artifact folders)."""
    found: list[tuple[RunInfo, str]] = []

    def walk(owner: RunInfo, path: str | None) -> None:
        for item in client.list_artifacts(owner.run_id, path):
            if len(found) >= limit:
                return
            if item.is_dir:
                walk(owner, item.path)
            elif item.path.lower().endswith(".png"):
                found.append((owner, item.path))

    walk(run, None)
    for child in run.children:
        walk(child, None)
    return found


def download(client, run_id: str, path: str, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    return Path(client.download_artifacts(run_id, path, str(dst)))
