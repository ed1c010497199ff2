"""A lock that serialises a step among processes on machines without a shared filesystem: ``AdvisoryLock``, a
database server's named lock (the file lock for one filesystem is ``core.locks.FileLock``). It is not re-entrant: a
process must not take the same lock twice.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import AbstractContextManager
from typing import Any

# database servers with a named lock of their own (SQLAlchemy URLs, optionally naming a driver: mysql+pymysql://)
SERVER_DB_URL = re.compile(r"^(postgresql|mysql)(\+\w+)?://")


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
