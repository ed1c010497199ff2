"""Who owns a run (``bench.owners``): this process, a process that ended, a reused pid, a zombie, another host."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from bench.owners import HOST_TAG, PID_TAG, START_ID_TAG, owner_gone, owner_tags

LINUX = Path("/proc/self/stat").exists()


def test_this_process_owns_its_runs_and_another_hosts_runs_are_not_guessed_about() -> None:
    tags = owner_tags()
    assert tags[PID_TAG] == str(os.getpid()) and owner_gone(tags) is False
    assert owner_gone({**tags, HOST_TAG: "another-host.example"}) is None
    assert owner_gone({}) is None  # a run from before owner tags


def test_an_ended_process_is_gone() -> None:
    done = subprocess.Popen(["true"])
    done.wait()
    assert owner_gone({**owner_tags(), PID_TAG: str(done.pid)}) is True


@pytest.mark.skipif(not LINUX, reason="start times and zombies are read from /proc")
def test_a_reused_pid_and_a_zombie_are_gone() -> None:
    assert owner_gone({**owner_tags(), START_ID_TAG: "another-boot:1"}) is True  # the pid now holds another process
    zombie = subprocess.Popen(["true"])  # exits at once; not collected until wait()
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert owner_gone({**owner_tags(), PID_TAG: str(zombie.pid)}) is True
    finally:
        zombie.wait()
