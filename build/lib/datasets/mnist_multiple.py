"""MNIST-Multiple, built as EGSC-IT builds it (``prepare_data_mnist_multiJitter_BW.py``; paper §4, A.1).

- Each image is a 4×4 grid of 28×28 cells (112×112) holding one digit of every class 0–9 in 10 random cells; the
  other 6 cells are background. Digits are binarised at 127.5.
- Domain A: black digits on white or white digits on black, p=0.5 each (per image).
- Domain B: the background is white or black (p=0.5); digit class c has hue c/10, saturation 0.5·U(0.6, 1.4) and
  value 0.5·U(0.6, 1.4) (a ±40% jitter drawn per digit), converted to 8-bit RGB.
- A and B images are drawn independently (different digit instances and layouts); test pairs are ``A[i] ↔ B[i]``.
- Ground truth: ``A2B[i]`` is A[i]'s digits and layout in B[i]'s class colours and background; ``B2A[i]`` is B[i]'s
  digits and layout in A[i]'s black/white scheme.

Differences from the official script (statistically equivalent data, not bit-identical): NumPy ``default_rng`` in
another draw order; each class's digit is drawn uniformly from that class directly, so every image has all ten
digits (the script scans 100/200 random indices and in rare cases, ≈0.03%, misses a class).

Images are rendered on demand from the compact description (digit indices, cells, colours), since a rendered 60k
split would take 2.3 GB per domain.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from matplotlib.colors import hsv_to_rgb
from torch.utils.data import Dataset

from core.hashing import array_fingerprint

GRID, CELL, N_CLASSES = 4, 28, 10
SIZE = GRID * CELL
JITTER = 0.4
BLACK = np.zeros(3, np.uint8)
WHITE = np.full(3, 255, np.uint8)


@dataclass
class MnistMultipleSplit:
    """One split. ``masks`` [M,28,28] bool are the binarised source digits; per image and class c: ``digits_*[i, c]``
    indexes the digit of class c in ``masks``, ``cells_*[i, c]`` is its grid cell (row-major 0–15). A: ``a_dark_fg``
    (black digit on white). B: ``b_colours`` [N,10,3] uint8 class colours and ``b_white_bg``."""

    masks: np.ndarray
    labels: np.ndarray
    digits_a: np.ndarray
    cells_a: np.ndarray
    a_dark_fg: np.ndarray
    digits_b: np.ndarray
    cells_b: np.ndarray
    b_colours: np.ndarray
    b_white_bg: np.ndarray

    def __len__(self) -> int:
        return len(self.digits_a)

    # -- colour schemes: foreground [n,10,3] and background [n,3] -----------------------------------------------
    def _scheme_a(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dark = self.a_dark_fg[idx][:, None]
        fg = np.where(dark, BLACK, WHITE)  # [n,3]
        bg = np.where(dark, WHITE, BLACK)
        return np.repeat(fg[:, None], N_CLASSES, axis=1), bg

    def _scheme_b(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.b_colours[idx], np.where(self.b_white_bg[idx][:, None], WHITE, BLACK)

    # -- rendered images, uint8 [n,112,112,3] ---------------------------------------------------------------------
    def a(self, idx: np.ndarray | slice | None = None) -> np.ndarray:
        idx = self._idx(idx)
        return render(self.masks, self.digits_a[idx], self.cells_a[idx], *self._scheme_a(idx))

    def b(self, idx: np.ndarray | slice | None = None) -> np.ndarray:
        idx = self._idx(idx)
        return render(self.masks, self.digits_b[idx], self.cells_b[idx], *self._scheme_b(idx))

    def gt_a2b(self, idx: np.ndarray | slice | None = None) -> np.ndarray:
        idx = self._idx(idx)
        return render(self.masks, self.digits_a[idx], self.cells_a[idx], *self._scheme_b(idx))

    def gt_b2a(self, idx: np.ndarray | slice | None = None) -> np.ndarray:
        idx = self._idx(idx)
        return render(self.masks, self.digits_b[idx], self.cells_b[idx], *self._scheme_a(idx))

    def _idx(self, idx: np.ndarray | slice | None) -> np.ndarray:
        if idx is None:
            return np.arange(len(self))
        if isinstance(idx, slice):
            return np.arange(len(self))[idx]
        return np.asarray(idx, dtype=np.int64).reshape(-1)

    def head(self, n: int | None) -> MnistMultipleSplit:
        if n is None or n >= len(self):
            return self
        shared = {"masks", "labels"}
        return MnistMultipleSplit(**{f.name: getattr(self, f.name) if f.name in shared else getattr(self, f.name)[:n]
                                     for f in fields(self)})

    def fingerprint(self) -> str:
        used = np.unique(np.concatenate([self.digits_a.ravel(), self.digits_b.ravel()]))
        return array_fingerprint(self.masks[used], self.digits_a, self.cells_a, self.a_dark_fg, self.digits_b,
                                 self.cells_b, self.b_colours, self.b_white_bg)


def render(masks: np.ndarray, digits: np.ndarray, cells: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """uint8 [n,112,112,3]: background ``bg`` [n,3] everywhere; in cell ``cells[i,c]`` the digit ``masks[digits[i,c]]``
    in colour ``fg[i,c]`` on ``bg``."""
    n = len(digits)
    grid = np.broadcast_to(bg[:, None, None, None, :], (n, GRID * GRID, CELL, CELL, 3)).copy()
    rows = np.arange(n)
    for c in range(digits.shape[1]):
        digit = masks[digits[:, c]][..., None]  # [n,28,28,1]
        grid[rows, cells[:, c]] = np.where(digit, fg[:, c, None, None, :], bg[:, None, None, :])
    return grid.reshape(n, GRID, GRID, CELL, CELL, 3).transpose(0, 1, 3, 2, 4, 5).reshape(n, SIZE, SIZE, 3)


def class_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """[n,10,3] uint8: hue c/10, saturation and value 0.5·U(1 − 0.4, 1 + 0.4), per image and class."""
    hue = np.broadcast_to(np.arange(N_CLASSES) / N_CLASSES, (n, N_CLASSES))
    sat = 0.5 * rng.uniform(1 - JITTER, 1 + JITTER, size=(n, N_CLASSES))
    val = 0.5 * rng.uniform(1 - JITTER, 1 + JITTER, size=(n, N_CLASSES))
    rgb = hsv_to_rgb(np.stack([hue, sat, val], axis=-1))
    return np.round(rgb * 255).astype(np.uint8)


def _layouts(labels: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per image, one random digit of every class and 10 distinct random cells."""
    digits = np.empty((n, N_CLASSES), np.int64)
    for c in range(N_CLASSES):
        pool = np.flatnonzero(labels == c)
        if len(pool) == 0:
            raise ValueError(f"MNIST-Multiple needs digits of every class; class {c} is absent")
        digits[:, c] = pool[rng.integers(0, len(pool), size=n)]
    cells = np.argsort(rng.random((n, GRID * GRID)), axis=1)[:, :N_CLASSES]
    return digits, cells


def build_split(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, n: int | None = None
                ) -> MnistMultipleSplit:
    """``n`` grid images (default: as many as source digits, like the official script) from one MNIST split."""
    n = len(images) if n is None else int(n)
    masks = images > 127.5
    digits_a, cells_a = _layouts(labels, n, rng)
    a_dark_fg = rng.random(n) < 0.5
    digits_b, cells_b = _layouts(labels, n, rng)
    b_colours = class_colours(rng, n)
    b_white_bg = rng.random(n) < 0.5
    return MnistMultipleSplit(masks, np.asarray(labels), digits_a, cells_a, a_dark_fg, digits_b, cells_b, b_colours,
                              b_white_bg)


def build_mnist_multiple(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                         test_labels: np.ndarray, seed: int = 0, n_train: int | None = None,
                         n_test: int | None = None) -> tuple[MnistMultipleSplit, MnistMultipleSplit]:
    rng = np.random.default_rng(seed)
    train = build_split(train_images, train_labels, rng, n_train)
    test = build_split(test_images, test_labels, rng, n_test)
    return train, test


class GridImageSet(Dataset):
    """One domain of a split as a dataset of [3,112,112] float images in [0,1], rendered on demand."""

    def __init__(self, split: MnistMultipleSplit, domain: str) -> None:
        if domain not in ("A", "B"):
            raise ValueError(f"domain must be A or B, got {domain!r}")
        self.split, self.domain = split, domain

    def __len__(self) -> int:
        return len(self.split)

    def _render(self, idx: np.ndarray) -> torch.Tensor:
        images = self.split.a(idx) if self.domain == "A" else self.split.b(idx)
        return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"image": self._render(np.array([index]))[0]}

    def get_batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"image": self._render(np.asarray(indices, dtype=np.int64))}
