"""`pip install .` gives a working `bench` outside the checkout: the wheel carries every package and the Hydra configs.

The wheel is built from a copy of the sources and installed without dependencies into a fresh virtual environment,
which borrows this environment's third-party packages through a path entry (not this checkout: a plain path entry
does not run the editable install's finder). ``bench list`` and the default ``bench run`` then run from a folder
outside the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "core", "datasets", "metrics", "methods", "protocols")


def _run(*args: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", root / "dist",
         source, cwd=root)
    wheel = next((root / "dist").glob("exemplar_bench-*.whl"))
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=root)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel, cwd=root)
    site = Path(_run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=root).stdout.strip())
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_the_wheel_is_what_runs(installed: Path, tmp_path: Path) -> None:
    where = _run(installed / "bin" / "python", "-c", "import bench, core; print(bench.__file__, core.__file__)",
                 cwd=tmp_path).stdout
    assert str(REPO) not in where and str(installed) in where


def test_bench_list_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    out = _run(installed / "bin" / "bench", "list", "--no-counts", cwd=tmp_path).stdout
    assert "mnist_single" in out and "egscit_no_adain" in out and "edges2shoes" in out


@pytest.mark.slow
def test_the_default_run_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    _run(installed / "bin" / "bench", "run", "tracking.enabled=false", "progress=false", cwd=tmp_path)
    metrics = list((tmp_path / "results" / "runs").rglob("metrics.csv"))
    assert len(metrics) == 1
    text = metrics[0].read_text()
    assert "exemplar_copy" in text and "installed-" in text  # provenance names the installed version, no commit


def test_git_tracks_no_virtual_environment() -> None:
    """A tracked ``.venv`` (file, folder or symlink) replaces a clone's own environment: a committed ``.venv`` link
    broke the quick start in a fresh clone."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = _run("git", "ls-files", "-z", cwd=REPO).stdout.split("\0")
    venvs = [path for path in tracked if ".venv" in Path(path).parts]
    assert venvs == [], f"git tracks {venvs[:5]}: `git rm --cached -r .venv` and keep it in .gitignore"
