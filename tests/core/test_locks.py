"""core.locks.FileLock: excludes a second holder, and says once what a blocked holder waits for."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from core.locks import FileLock


def test_a_second_holder_waits_and_says_what_for(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "sub" / "row.lock"
    order: list[str] = []

    def second() -> None:
        with FileLock(path, what="the source reference row"):
            order.append("second")

    caplog.set_level(logging.INFO, logger="core.locks")
    with FileLock(path):
        thread = threading.Thread(target=second)
        thread.start()
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
        order.append("first")
    thread.join(timeout=10)
    assert order == ["first", "second"]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [f"waiting for the source reference row: another process holds {path}"]


def test_a_free_lock_is_taken_without_a_message(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="core.locks")
    with FileLock(tmp_path / "free.lock") as lock:
        assert lock.path.exists()
    with FileLock(tmp_path / "free.lock"):  # released on exit: taken again at once
        pass
    assert caplog.records == []
