"""Provenance: a checkout reports its commit; an installed copy reports its version, not an enclosing repo's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import provenance


def test_checkout_reports_its_commit() -> None:
    if not (provenance.REPO / ".git").exists():
        pytest.skip("not a git checkout")
    provenance.git_commit.cache_clear()
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", provenance.git_commit())


def test_installed_copy_reports_its_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(provenance, "REPO", site)
    provenance.git_commit.cache_clear()
    try:
        assert provenance.git_commit().startswith("installed-")
    finally:
        provenance.git_commit.cache_clear()
