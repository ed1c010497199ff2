"""A lock that serialises a step among processes on one filesystem: who creates a store's tables, who takes a
study's next trial, who trains a protocol's cached reference row.

``FileLock`` locks a file with ``fcntl.flock``: the kernel releases it when its process dies, so a killed process
never leaves it held. It is not re-entrant: a process must not take the same lock twice.
"""

from __future__ import annotations

import fcntl
import logging
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class FileLock(AbstractContextManager):
    """An exclusive lock on ``path`` (created with its folders when missing); blocks until it is free.

    When another process holds it, one INFO line says what this process waits for (``what``, else the path), so a
    run that waits on another run's reference row does not look hung.
    """

    def __init__(self, path: Path, what: str | None = None) -> None:
        self.path = Path(path)
        self.what = what or str(self.path)
        self._handle: Any = None

    def __enter__(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a")  # held open until __exit__
        try:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for %s: another process holds %s", self.what, self.path)
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
