"""Where a study lives, and the lock that lets N workers share it without losing or adding trials.

``storage=``:
- empty: ``sqlite:///results/optuna.db`` (one machine);
- ``sqlite:///path.db``: any SQLite file;
- ``journal:/shared/path/study.log`` (or a path ending in ``.log``/``.journal``): Optuna's JournalStorage on a file,
  for workers on several machines with a shared filesystem and no database server;
- ``postgresql://user:pass@host/db`` / ``mysql+pymysql://...``: a database server (needs its driver installed).

Each worker holds the lock only to count the study's trials and take the next one (and to retry trials whose worker
died), so the study ends with exactly ``n_trials`` trials however many workers race for them. File storages lock a
file next to the storage (``fcntl.flock``: released by the kernel when a worker dies); server storages use the
database's advisory lock, or ``lock_file=`` on a shared filesystem.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BenchError


class FileLock(AbstractContextManager):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle: Any = None

    def __enter__(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a")  # held open until __exit__
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()


class AdvisoryLock(AbstractContextManager):
    """A database-wide named lock (PostgreSQL ``pg_advisory_lock``, MySQL ``GET_LOCK``) on its own connection."""

    def __init__(self, url: str, name: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.engine = create_engine(url, poolclass=NullPool)
        self.dialect = self.engine.dialect.name
        self.name = name
        self.key = int(hashlib.sha256(name.encode()).hexdigest()[:15], 16)  # fits a signed 64-bit key
        self._conn: Any = None

    def __enter__(self) -> AdvisoryLock:
        from sqlalchemy import text

        self._conn = self.engine.connect()
        if self.dialect == "postgresql":
            self._conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
        else:
            self._conn.execute(text("SELECT GET_LOCK(:n, -1)"), {"n": self.name[:64]})
        return self

    def __exit__(self, *exc: Any) -> None:
        from sqlalchemy import text

        try:
            if self.dialect == "postgresql":
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            else:
                self._conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": self.name[:64]})
        finally:
            self._conn.close()


@dataclass
class StudyStorage:
    storage: Any  # an Optuna storage object
    lock: AbstractContextManager
    description: str  # the location with any password removed (safe to log and tag)
    kind: str  # sqlite | journal | rdb


def redact(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def default_storage(results: Path) -> str:
    return f"sqlite:///{(Path(results) / 'optuna.db').resolve()}"


def open_storage(spec: str | None, results: Path, study_name: str, lock_file: str | None = None) -> StudyStorage:
    import optuna

    spec = (spec or "").strip() or default_storage(results)
    if spec.startswith("journal:") or spec.endswith((".log", ".journal")):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = Path(spec.removeprefix("journal:")).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(Path(lock_file or f"{path}.bench.lock"))
        with lock:
            storage = JournalStorage(JournalFileBackend(str(path)))
        return StudyStorage(storage, lock, f"journal:{path}", "journal")
    if spec.startswith("sqlite:///"):
        path = Path(spec.removeprefix("sqlite:///")).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(Path(lock_file or f"{path}.bench.lock"))
        with lock:  # workers starting together on a new file would race to create its tables
            # timeout: workers wait for each other's writes instead of failing with "database is locked"
            storage = optuna.storages.RDBStorage(f"sqlite:///{path}",
                                                 engine_kwargs={"connect_args": {"timeout": 120}})
        return StudyStorage(storage, lock, f"sqlite:///{path}", "sqlite")
    if re.match(r"^(postgresql|mysql)(\+\w+)?://", spec):
        try:
            lock = FileLock(Path(lock_file)) if lock_file else AdvisoryLock(spec, f"bench-tune:{study_name}")
            with lock:
                storage = optuna.storages.RDBStorage(spec)
        except Exception as exc:
            raise BenchError(f"cannot open the Optuna storage {redact(spec)}: {exc}",
                             hint="check the URL and that the database driver (psycopg2 / pymysql) is installed"
                             ) from exc
        return StudyStorage(storage, lock, redact(spec), "rdb")
    raise BenchError(f"unsupported Optuna storage {redact(spec)!r}",
                     hint="use sqlite:///file.db, journal:/path/study.log, or postgresql://user@host/db")
