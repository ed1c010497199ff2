"""Shared fixtures. Tests run on CPU with few threads (CI has 2 cores)."""

from __future__ import annotations

import os
from pathlib import Path

# OpenMP threads spin while waiting by default; on a shared 2-core machine that slows steps ~20× (set before torch).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
import torch

torch.set_num_threads(2)

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture
def shared_mnist() -> Path:
    """``../shared/data/mnist`` when it exists; the test is skipped (with the reason shown) otherwise."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"shared MNIST not found at {SHARED_MNIST} (only present beside the project checkout)")
    return SHARED_MNIST


SHARED_DATA = REPO.parent / "shared" / "data"


def _shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"shared samples not found at {path} (only present beside the project checkout)")
    return path


@pytest.fixture
def cocosnet_samples() -> Path:
    """``../shared/data/cocosnet_samples`` (real ADE20k, CelebA-HQ/CelebAMask-HQ, DeepFashion files, published
    exemplar lists); skipped with the reason when absent."""
    return _shared("cocosnet_samples")


@pytest.fixture
def coco_stuff_samples() -> Path:
    """``../shared/data/coco_stuff_samples`` (real COCO-Stuff 2017 images and label maps); skipped when absent."""
    return _shared("coco_stuff_samples")
