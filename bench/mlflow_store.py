"""Opening the MLflow store of ``bench run`` / ``bench tune``: created under a lock, and failures named by cause.

MLflow creates and migrates a SQL store's tables on first open without any lock of its own, so two runs started at
once on a fresh results folder race: duplicate tables, a migration applied twice, and a store left half-created for
good. Creation therefore runs under the store's lock (``core.locks``, ``bench.locks``): a file next to a SQLite store
(``mlflow.db.bench.lock``), the server's named lock for a PostgreSQL/MySQL store; a tracking server (``http://``)
migrates its own store. When opening a local SQLite store fails, the file is inspected so that the error says what
is wrong with it (not a database, half-created, older or newer schema) and how to fix it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from bench.locks import SERVER_DB_URL, AdvisoryLock
from core.errors import BenchError
from core.locks import FileLock

SQLITE = "sqlite:///"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI; None for any other store."""
    return Path(uri.removeprefix(SQLITE)).resolve() if uri.startswith(SQLITE) else None


def store_lock(uri: str) -> AbstractContextManager:
    """The lock under which the store at ``uri`` is created; a no-op lock for stores that a server manages."""
    path = sqlite_path(uri)
    if path is not None:
        return FileLock(Path(f"{path}.bench.lock"))
    if SERVER_DB_URL.match(uri):
        return AdvisoryLock(uri, "bench-mlflow-store")
    return nullcontext()


def open_store(uri: str, experiment: str, artifact_location: str | None) -> tuple[Any, str]:
    """``(MlflowClient, experiment id)`` for ``uri``, creating the store and the experiment when missing, under the
    store's lock so that concurrent starts create each once.

    Raises BenchError naming the cause: for a SQLite store what is wrong with the file and how to repair it, else
    the store's own error (a bad URI, an unreachable server).
    """
    from mlflow.tracking import MlflowClient

    try:
        with store_lock(uri):
            client = MlflowClient(tracking_uri=uri)
            found = client.get_experiment_by_name(experiment)  # the first store access creates the tables
            if found is not None:
                return client, found.experiment_id
            return client, client.create_experiment(experiment, artifact_location=artifact_location)
    except Exception as exc:  # MLflow raises many kinds (MlflowException, SQLAlchemy errors, OSError, HTTP errors)
        path = sqlite_path(uri)
        known = diagnose(path) if path is not None and path.exists() else None
        if known is not None:
            raise known from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(f"cannot open the MLflow store at {uri}: {first}",
                         hint="check tracking.uri, or run with tracking.enabled=false") from exc


def diagnose(path: Path) -> BenchError | None:
    """What is wrong with the SQLite MLflow store ``path`` (an existing file), as an error with its fix; None when
    the file looks sound (the failure lies elsewhere)."""
    try:
        for check in _CHECKS:
            found = check(path)
            if found is not None:
                return found
    except (sqlite3.Error, OSError):  # unreadable even read-only: leave the store's own error to speak
        pass
    return None


def _move_aside(path: Path) -> str:
    return f"`mv {path} {path}.broken` and rerun (a fresh store is created; the moved file keeps any old runs)"


def _not_a_database(path: Path) -> BenchError | None:
    with open(path, "rb") as handle:
        header = handle.read(len(_SQLITE_MAGIC))
    problem = None if header == _SQLITE_MAGIC or not header else "is not an SQLite database"
    if problem is None:
        try:
            with _read_only(path) as con:
                verdict = con.execute("PRAGMA quick_check").fetchone()[0]
            problem = None if verdict == "ok" else f"is corrupt ({verdict})"
        except sqlite3.DatabaseError as exc:
            problem = f"is corrupt ({exc})"
    if problem is None:
        return None
    return BenchError(f"the MLflow store {path} {problem}", hint=f"move it aside: {_move_aside(path)}")


def _half_created(path: Path) -> BenchError | None:
    tables = _tables(path)
    if not tables:  # empty: MLflow creates it on open
        return None
    leftovers = sorted(t for t in tables if t.startswith("_alembic_tmp_"))
    revision = _revision(path)
    if not leftovers and revision is not None:  # a whole schema version: older or newer, see _other_schema
        return None
    missing = sorted(_expected_tables() - tables)
    detail = ", ".join(filter(None, [
        f"migration leftovers {_few(leftovers)}" if leftovers else "",
        f"{len(missing)} missing tables {_few(missing)}" if missing else "",
        f"schema version {revision}" if revision else "no schema version"]))
    runs = _count(path, "runs")
    held = "it holds no runs" if not runs else f"it holds {runs} run(s)"
    return BenchError(f"the MLflow store {path} is half-created: its first creation was interrupted or raced "
                      f"another process ({detail}); {held}", hint=f"move it aside: {_move_aside(path)}")


def _other_schema(path: Path) -> BenchError | None:
    import mlflow
    from alembic.util import CommandError

    revision = _revision(path)
    scripts = schema_scripts()
    head = scripts.get_current_head()
    if revision is None or revision == head:
        return None
    try:
        scripts.get_revision(revision)
    except CommandError:
        return BenchError(f"the MLflow store {path} was written by a newer MLflow (schema version {revision}, "
                          f"MLflow {mlflow.__version__} knows up to {head})",
                          hint="upgrade MLflow (`pip install -U mlflow`), or set paths.results= to a new folder")
    return BenchError(f"the MLflow store {path} has an older schema (version {revision}; MLflow "
                      f"{mlflow.__version__} expects {head})",
                      hint=f"back it up, then `mlflow db upgrade {SQLITE}{path}`; or {_move_aside(path)}")


def schema_scripts() -> Any:
    """The installed MLflow's schema migrations (an alembic ``ScriptDirectory``): which versions it knows."""
    import mlflow
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(mlflow.__file__).parent / "store" / "db_migrations"))


def _few(names: list[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


# tried in order: each returns the error for the first cause it recognises
_CHECKS: list[Callable[[Path], BenchError | None]] = [_not_a_database, _half_created, _other_schema]


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)  # never creates or changes the file
    try:
        yield con
    finally:
        con.close()


def _tables(path: Path) -> set[str]:
    with _read_only(path) as con:
        return {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _revision(path: Path) -> str | None:
    try:
        with _read_only(path) as con:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no alembic_version table
        return None
    return row[0] if row else None


def _count(path: Path, table: str) -> int:
    try:
        with _read_only(path) as con:
            return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _expected_tables() -> set[str]:
    """The tables of a complete store of the installed MLflow (importing its db utils registers every model)."""
    import mlflow.store.db.utils  # noqa: F401
    from mlflow.store.db.base_sql_model import Base

    return set(Base.metadata.tables)
