"""Locks that serialise a step among processes: who creates a store's tables, who takes a study's next trial.

``FileLock`` locks a file (``fcntl.flock``: the kernel releases it when its process dies, so a killed worker never
leaves it held); ``AdvisoryLock`` is a database server's named lock, for processes on machines without a shared
filesystem. Neither is re-entrant: a process must not take the same lock twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

# database servers with a named lock of their own (SQLAlchemy URLs, optionally naming a driver: mysql+pymysql://)
SERVER_DB_URL = re.compile(r"^(postgresql|mysql)(\+\w+)?://")


class FileLock(AbstractContextManager):
    """An exclusive lock on ``path`` (created with its folders when missing); blocks until it is free."""

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
