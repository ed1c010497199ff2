"""Facts about the code that produced a number: git commit and whether the tree had uncommitted changes.

From a source checkout: the checkout's commit (``+dirty`` with uncommitted changes to tracked files). From an
installed wheel (no ``.git`` beside the packages, e.g. in site-packages): ``installed-<version>``, never the commit of
whatever repository happens to enclose the environment.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@cache
def git_commit() -> str:
    if not (REPO / ".git").exists():  # a file in worktrees, a folder in clones
        return f"installed-{_version()}"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("exemplar-bench")
    except PackageNotFoundError:
        return "unknown"
