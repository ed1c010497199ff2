"""Fixtures for metric tests: an empty weights/cache environment (so no test sees real weights or writes to the
user's caches) and small deterministic images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


def isolate(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setenv("BENCH_WEIGHTS", str(root / "weights"))
    mp.setenv("TORCH_HOME", str(root / "torch"))
    mp.setenv("BENCH_CACHE", str(root / "cache"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate(monkeypatch, tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def module_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Module-wide isolation, for fixtures that build a network once per test file."""
    root = tmp_path_factory.mktemp("env")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, root)
        yield root


def random_images(n: int, size: int = 32, seed: int = 0, channels: int = 3) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


def smooth_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Blurred noise: more image-like than white noise (structure at several scales)."""
    x = random_images(n, size // 4, seed)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
