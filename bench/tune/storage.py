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

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.locks import SERVER_DB_URL, AdvisoryLock
from core.errors import BenchError
from core.locks import FileLock


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
    if SERVER_DB_URL.match(spec):
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
