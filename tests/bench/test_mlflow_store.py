"""The MLflow store of ``bench run``: two processes creating it at once on a fresh folder both succeed and leave it
usable; a broken store is reported by file and cause with its fix, not as "check tracking.uri"."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.mlflow_store import schema_scripts, store_lock
from bench.tracking import Tracker
from core.errors import BenchError

REPO = Path(__file__).resolve().parents[2]

# One process of the race: open the store (creating it), then log a run; it starts only once both are ready, so
# the two creations overlap (without the lock, MLflow's migrations collide: duplicate tables, half-created store).
_STARTER = """
import sys, time
from pathlib import Path
from bench.tracking import Tracker
results, ready, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.005)
tracker = Tracker(results, experiment="race")
run = tracker.start(ready.name, {"bench.kind": "run"})
tracker.log_metrics(run, {"score": 1.0})
tracker.finish(run)
"""


def test_two_processes_create_a_fresh_store_at_once(tmp_path):
    results = tmp_path / "results"  # fresh: neither the folder nor mlflow.db exist yet
    go = tmp_path / "go"
    ready = [tmp_path / f"starter{i}" for i in range(2)]
    starters = [subprocess.Popen([sys.executable, "-c", _STARTER, str(results), str(r), str(go)], cwd=REPO,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in ready]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    logs = [s.communicate(timeout=240)[0] for s in starters]
    assert [s.returncode for s in starters] == [0, 0], "\n".join(logs)

    tracker = Tracker(results, experiment="race")  # usable afterwards: opens, reads and writes
    runs = tracker.client.search_runs([tracker.experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["starter0", "starter1"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert [r.data.metrics["score"] for r in runs] == [1.0, 1.0]
    assert tracker.start("after", {}) and len(tracker.client.search_experiments()) == 2  # "race" + MLflow's Default


def test_store_lock_is_a_file_beside_a_sqlite_store(tmp_path):
    lock = store_lock(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with lock:
        assert (tmp_path / "mlflow.db.bench.lock").exists()


@pytest.fixture(scope="module")
def sound_store(tmp_path_factory) -> Path:
    """A complete store of the installed MLflow, copied by each test that breaks it."""
    results = tmp_path_factory.mktemp("sound")
    Tracker(results)
    return results / "mlflow.db"


def _broken(sound_store: Path, tmp_path: Path, *statements: str) -> Path:
    db = tmp_path / "mlflow.db"
    shutil.copy(sound_store, db)
    con = sqlite3.connect(db)
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()
    return db


def _error(results: Path) -> str:
    with pytest.raises(BenchError) as info:
        Tracker(results)
    text = str(info.value)
    assert "check tracking.uri" not in text
    return text


def _previous_revision() -> str:
    scripts = schema_scripts()
    return scripts.get_revision(scripts.get_current_head()).down_revision


def test_half_created_store_names_the_file_and_the_fix(sound_store, tmp_path):
    # what a raced first creation leaves: an interrupted migration's temporary table, a table never created, the
    # schema version of a step in between
    db = _broken(sound_store, tmp_path, "CREATE TABLE _alembic_tmp_experiments (experiment_id INTEGER)",
                 "DROP TABLE workspaces", f"UPDATE alembic_version SET version_num='{_previous_revision()}'")
    text = _error(tmp_path)
    assert f"the MLflow store {db} is half-created" in text
    assert "_alembic_tmp_experiments" in text and "workspaces" in text and "it holds no runs" in text
    assert f"fix: move it aside: `mv {db} {db}.broken` and rerun" in text
    db.rename(f"{db}.broken")  # following the fix, the rerun (a new process: MLflow keeps its engines) works
    subprocess.run([sys.executable, "-c", f"from pathlib import Path; from bench.tracking import Tracker; "
                    f"Tracker(Path({str(tmp_path)!r}))"], cwd=REPO, check=True, capture_output=True, timeout=120)
    assert db.exists()


def test_store_without_schema_version_is_half_created(sound_store, tmp_path):
    db = _broken(sound_store, tmp_path, "DROP TABLE alembic_version")  # killed before its first migration
    text = _error(tmp_path)
    assert f"the MLflow store {db} is half-created" in text and "no schema version" in text
    assert f"`mv {db} {db}.broken`" in text


def test_file_that_is_not_a_database(tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"not a database\n" * 100)
    text = _error(tmp_path)
    assert f"the MLflow store {db} is not an SQLite database" in text
    assert f"`mv {db} {db}.broken`" in text


def test_older_schema_says_mlflow_db_upgrade(sound_store, tmp_path):
    old = _previous_revision()
    db = _broken(sound_store, tmp_path, f"UPDATE alembic_version SET version_num='{old}'")
    text = _error(tmp_path)
    assert f"the MLflow store {db} has an older schema (version {old};" in text
    assert f"`mlflow db upgrade sqlite:///{db}`" in text


def test_newer_schema_says_upgrade_mlflow(sound_store, tmp_path):
    db = _broken(sound_store, tmp_path, "UPDATE alembic_version SET version_num='fedcba987654'")
    text = _error(tmp_path)
    assert f"the MLflow store {db} was written by a newer MLflow (schema version fedcba987654" in text
    assert "pip install -U mlflow" in text


def test_other_failures_still_point_at_tracking_uri(tmp_path):
    with pytest.raises(BenchError, match=r"cannot open the MLflow store at nosuch://x: .*\n  fix: check tracking.uri"):
        Tracker(tmp_path, uri="nosuch://x")


def test_bench_report_names_a_broken_store_too(tmp_path):
    from bench.report.source import connect

    db = tmp_path / "mlflow.db"
    db.write_bytes(b"not a database\n" * 100)
    with pytest.raises(BenchError) as info:
        connect(f"sqlite:///{db}")
    text = str(info.value)
    assert f"the MLflow store {db} is not an SQLite database" in text and "check tracking.uri" not in text
