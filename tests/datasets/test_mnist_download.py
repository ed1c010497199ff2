"""The real download code, served from a loopback HTTP server (no internet needed): mirror fallback, checksum
verification, and no half-downloaded file left behind."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import datasets.mnist as mnist
from core.errors import DataError
from core.hashing import file_sha256
from datasets.idx import write_idx


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", served
    server.shutdown()


def fixture_files(folder: Path) -> dict[str, tuple[str, str]]:
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "train_labels": np.arange(6, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
              "test_labels": np.arange(4, dtype=np.uint8)}
    files = {}
    for key, array in arrays.items():
        stem = mnist.MNIST_FILES[key][0]
        files[key] = (stem, file_sha256(write_idx(folder / f"{stem}.gz", array)))
    return files


def test_download_falls_back_to_the_next_mirror_and_verifies(mirror, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, served = mirror
    monkeypatch.setattr(mnist, "MNIST_FILES", fixture_files(served))
    monkeypatch.setattr(mnist, "MIRRORS", (url + "missing/", url))
    root = tmp_path / "mnist"
    fetched = mnist.download_mnist(root)
    assert len(fetched) == 4
    splits = mnist.load_mnist(root)  # checksums verified against the (patched) official list
    assert splits.train_images.shape == (6, 28, 28) and splits.source == "mnist"
    assert mnist.download_mnist(root) == []  # already present and verified: nothing fetched again


def test_download_rejects_a_file_with_the_wrong_checksum(mirror, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, served = mirror
    files = fixture_files(served)
    files["test_labels"] = (files["test_labels"][0], "0" * 64)
    monkeypatch.setattr(mnist, "MNIST_FILES", files)
    monkeypatch.setattr(mnist, "MIRRORS", (url,))
    root = tmp_path / "mnist"
    with pytest.raises(DataError, match="checksum mismatch"):
        mnist.download_mnist(root)
    assert not list(root.glob("t10k-labels*"))  # nothing half-written or unverified left behind
