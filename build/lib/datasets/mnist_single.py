"""MNIST-Single, built as EGSC-IT builds it (``prepare_data_mnist_BW.py``; paper §4.1).

- Digits are binarised at 127.5.
- Domain A: black digit on white, or white on black, with p=0.5 each.
- Domain B: an ordered pair of distinct pure colours (fg, bg) from {R, G, B}: six combinations with p=1/6 each.
  In the training split, B digits 5–9 are always red on green (the paper's test of styles unseen for those digits);
  in the test split every digit gets a random combination.
- A and B are the same split under two independent shuffles (different digit instances); train pairs are fixed
  zips of the shuffles; test pairs are ``A[i] ↔ B[i]``.
- Ground truth: ``A2B[i]`` is A[i]'s digit in B[i]'s colours; ``B2A[i]`` is B[i]'s digit in A[i]'s scheme.

Everything is deterministic from the seed (NumPy ``default_rng``), so data are statistically equivalent to the
official set, not bit-identical (the official script is Python 2 and draws in another order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.hashing import array_fingerprint

BLACK, WHITE = (0, 0, 0), (255, 255, 255)
PURE = {"R": (255, 0, 0), "G": (0, 255, 0), "B": (0, 0, 255)}
B_COMBOS = (("R", "G"), ("G", "R"), ("R", "B"), ("B", "R"), ("G", "B"), ("B", "G"))  # (foreground, background)
RED_ON_GREEN = B_COMBOS.index(("R", "G"))
A_SCHEMES = ((BLACK, WHITE), (WHITE, BLACK))  # (foreground, background): black-on-white, white-on-black


@dataclass
class MnistSingleSplit:
    """One split. Masks are bool [N,28,28] digit shapes; schemes are uint8 [N,2,3] (foreground, background) RGB."""

    mask_a: np.ndarray
    mask_b: np.ndarray
    scheme_a: np.ndarray
    scheme_b: np.ndarray
    label_a: np.ndarray
    label_b: np.ndarray

    def __len__(self) -> int:
        return len(self.mask_a)

    @property
    def a(self) -> np.ndarray:
        return render(self.mask_a, self.scheme_a)

    @property
    def b(self) -> np.ndarray:
        return render(self.mask_b, self.scheme_b)

    @property
    def gt_a2b(self) -> np.ndarray:
        return render(self.mask_a, self.scheme_b)

    @property
    def gt_b2a(self) -> np.ndarray:
        return render(self.mask_b, self.scheme_a)

    def head(self, n: int | None) -> MnistSingleSplit:
        if n is None or n >= len(self):
            return self
        return MnistSingleSplit(*(getattr(self, f)[:n] for f in self.__dataclass_fields__))

    def fingerprint(self) -> str:
        return array_fingerprint(self.mask_a, self.mask_b, self.scheme_a, self.scheme_b, self.label_a, self.label_b)


def render(mask: np.ndarray, scheme: np.ndarray) -> np.ndarray:
    """uint8 [N,28,28,3]: foreground colour where the mask is set, background elsewhere."""
    return np.where(mask[..., None], scheme[:, None, None, 0, :], scheme[:, None, None, 1, :]).astype(np.uint8)


def build_split(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, train: bool) -> MnistSingleSplit:
    masks = images > 127.5
    n = len(images)
    a_scheme_index = (rng.random(n) >= 0.5).astype(np.int64)  # 0: black-on-white, 1: white-on-black
    b_combo = rng.integers(0, len(B_COMBOS), size=n)
    if train:
        b_combo = np.where(labels > 4, RED_ON_GREEN, b_combo)
    schemes_a = np.array(A_SCHEMES, dtype=np.uint8)[a_scheme_index]
    combos = np.array([[PURE[fg], PURE[bg]] for fg, bg in B_COMBOS], dtype=np.uint8)
    schemes_b = combos[b_combo]
    order_a, order_b = rng.permutation(n), rng.permutation(n)
    return MnistSingleSplit(masks[order_a], masks[order_b], schemes_a[order_a], schemes_b[order_b],
                            labels[order_a], labels[order_b])


def build_mnist_single(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                       test_labels: np.ndarray, seed: int = 0) -> tuple[MnistSingleSplit, MnistSingleSplit]:
    rng = np.random.default_rng(seed)
    train = build_split(train_images, train_labels, rng, train=True)
    test = build_split(test_images, test_labels, rng, train=False)
    return train, test
