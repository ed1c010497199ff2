"""Open the report's index.html in headless Chromium: every table renders and every image loads.

Needs Debian's ``chromium`` (CI installs it); skipped with the reason shown when it is absent. The screenshot goes to
``$BENCH_CI_ARTIFACTS`` (default ``results/ci-artifacts/``) so CI can keep it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.bench.fixtures.report_store import shared_report

REPO = Path(__file__).resolve().parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("headless Chromium not found (install Debian's `chromium` package, or set $CHROMIUM)")
    return path


def browse(chromium: str, page: Path, profile: Path, *args: str) -> str:
    result = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def body_data(dom: str) -> dict[str, str]:
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))


def test_index_renders_with_all_tables_and_images(chromium, tmp_path_factory, tmp_path):
    report = shared_report(tmp_path_factory)
    dom = browse(chromium, report.index, tmp_path / "profile", "--dump-dom")
    data = body_data(dom)  # written by the page's own load handler (see bench/report/html.py)
    source = report.index.read_text()
    assert int(data["images-total"]) == source.count("<img ") >= 6
    assert data["images-broken"] == "0"
    # leaderboard + one table per protocol setting + ablations + the run list, all in the rendered DOM
    for group in report.groups:
        assert f'id="{group["table"]}"' in dom
    assert 'id="leaderboard"' in dom and 'id="runs"' in dom and "ablation__mnist_single" in dom
    assert dom.count('<table class="bench"') >= len(report.groups) + 3

    artifacts = Path(os.environ.get("BENCH_CI_ARTIFACTS", REPO / "results" / "ci-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "report-index.png"
    shot.unlink(missing_ok=True)
    browse(chromium, report.index, tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1280,3200",
           "--hide-scrollbars")
    with Image.open(shot) as image:
        assert image.size == (1280, 3200)
        low, high = image.convert("L").getextrema()
        assert high - low > 100  # not a blank page


def test_broken_images_are_detected(chromium, tmp_path_factory, tmp_path):
    """The check above can fail: the same page without its figures reports every image as broken."""
    report = shared_report(tmp_path_factory)
    moved = tmp_path / "index.html"
    shutil.copy(report.index, moved)
    data = body_data(browse(chromium, moved, tmp_path / "profile", "--dump-dom"))
    assert int(data["images-broken"]) == int(data["images-total"]) > 0
