"""Who owns a RUNNING MLflow run, and closing the runs whose owner is gone.

A process killed without a chance to unwind (SIGKILL, the OOM killer, a lost node) leaves its MLflow runs RUNNING
forever. Every run ``bench.tracking.Tracker`` starts therefore records its owner as tags: the host name, the pid and
the process's start (``bench.owner.start``, UTC, for people; ``bench.owner.start_id``, ``<boot id>:<start in clock
ticks>`` from ``/proc``, to tell a reused pid from the owner). A rerun (``bench run``) and ``bench report`` call
``reap_orphans``: a RUNNING run owned by this host whose process is gone (no such pid, a zombie, or the pid now held
by a process that started at another time) is marked KILLED, with tags saying why and who found out. A run owned by
another host is never guessed about: it is left as is and named as "running elsewhere". Runs without owner tags
(written before they existed) and a study's parent run (``bench.kind=tune``, shared by all its workers, whichever
started it) are left alone.

Limits: two machines with the same host name would be taken for one; without ``/proc`` (macOS) a reused pid passes
for the owner, so a run stays RUNNING rather than being closed wrongly.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

HOST_TAG = "bench.owner.host"
PID_TAG = "bench.owner.pid"
START_TAG = "bench.owner.start"
START_ID_TAG = "bench.owner.start_id"
REASON_TAG = "bench.killed_reason"
STATUS_TAG = "bench.status"
SHARED_KINDS = {"tune"}  # parent runs that any worker of a study may hold


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first); None where there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_id(pid: int) -> str | None:
    """``<boot id>:<start time in clock ticks since boot>`` of process ``pid`` (Linux ``/proc``); None elsewhere or
    when there is no such process. Equal for one process whenever it is read; differs for a later process that
    reuses the pid, also after a reboot."""
    fields = _proc_stat(pid)
    return f"{_boot_id()}:{fields[19]}" if fields is not None and len(fields) > 19 else None


def _start_utc(pid: int) -> str:
    """The process's start as ``YYYY-MM-DDTHH:MM:SSZ`` (from ``/proc``; the current time where unavailable)."""
    stamp = time.time()
    fields = _proc_stat(pid)
    if fields is not None and len(fields) > 19:
        try:
            btime = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                         if line.startswith("btime "))
            stamp = btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        except (OSError, StopIteration, ValueError):
            pass
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def owner_tags() -> dict[str, str]:
    """Tags naming this process as a run's owner."""
    pid = os.getpid()
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), START_TAG: _start_utc(pid)}
    if (ident := start_id(pid)) is not None:
        tags[START_ID_TAG] = ident
    return tags


def owner_gone(tags: dict[str, str]) -> bool | None:
    """Whether the process named by owner ``tags`` has ended: True/False on this host, None when the run belongs to
    another host or carries no owner (nothing can be known from here)."""
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return None
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process holds the pid: alive, maybe not ours (start_id decides)
        pass
    fields = _proc_stat(pid)
    if fields is not None and fields[0] in {"Z", "X"}:  # killed, not yet collected by its parent
        return True
    if START_ID_TAG in tags and (now := start_id(pid)) is not None:
        return now != tags[START_ID_TAG]  # the pid was reused by a later process
    return False


def _running_runs(client: Any) -> list[Any]:
    from mlflow.entities import ViewType

    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    found, token = [], None
    while ids:
        page = client.search_runs(ids, filter_string="attributes.status = 'RUNNING'",
                                  run_view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
        found += list(page)
        token = page.token
        if not token:
            break
    return found


def reap_orphans(client: Any, by: str) -> tuple[list[str], list[str]]:
    """Mark RUNNING runs of the store whose owner process on this host is gone as KILLED (tags ``bench.status=killed``
    and ``bench.killed_reason``); ``by`` names who found out (e.g. ``bench run``). Returns ``(killed, elsewhere)``:
    one line per run closed, one per RUNNING run owned by another host (left as is) or that could not be closed
    (a store this process may only read)."""
    killed, elsewhere = [], []
    for run in _running_runs(client):
        tags = dict(run.data.tags)
        if tags.get("bench.kind") in SHARED_KINDS or HOST_TAG not in tags:
            continue
        name = f"{run.info.run_name or run.info.run_id} ({run.info.run_id})"
        owner = f"pid {tags.get(PID_TAG)} on {tags[HOST_TAG]} (started {tags.get(START_TAG, '?')})"
        gone = owner_gone(tags)
        if gone is None:
            elsewhere.append(f"run {name} is RUNNING on another host: {owner}; left as is (running elsewhere)")
        elif gone:
            reason = (f"its owner, {owner}, ended without closing it; marked KILLED by {by} (pid {os.getpid()}) "
                      f"at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
            try:
                client.set_tag(run.info.run_id, STATUS_TAG, "killed")
                client.set_tag(run.info.run_id, REASON_TAG, reason)
                client.set_terminated(run.info.run_id, status="KILLED")
            except Exception as exc:  # a store we may only read (a report on someone else's results): say so
                detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                elsewhere.append(f"run {name} is RUNNING but its owner, {owner}, is gone; it could not be marked "
                                 f"KILLED here ({detail})")
                continue
            killed.append(f"run {name}: {reason}")
    return killed, elsewhere
