"""Exemplar retrieval as CoCosNet's maintainers describe it, and the test-time query of the paper.

- Training lists (microsoft/CoCosNet issue #10): ImageNet VGG features "after the last max-pool, before the FC
  layers" (VGG-19 pool5: relu5_4 then a 2×2 max-pool, at the protocol's image size, flattened), other training
  images ranked by cosine similarity, the top K kept (column 0 the nearest = CoCosNet's "easy" exemplar, column K−1
  its "hard" one). Faces: "random exemplars are fine" (K random other images). DeepFashion: also the same-person
  pairs (issue #31: file names: same folder and item prefix; on the ``figures`` world, the reposed copies).
- Test exemplars on a world (§4: "we first train a plain translation network to generate natural images and use
  them to retrieve the exemplars"): instead of training a network, the query is the **class-mean rendering** of the
  test input's label map (every class painted in its mean training colour: what a plain network regresses to under
  an L2 loss from the classes alone, no learning, no shading); the exemplar is the training image whose pool5 feature
  is nearest to the query's (cosine). On real data the published ``*_ref_test.txt`` pairs are used instead.

VGG-19 comes from ``core.features`` (manifest ``vgg19``): without its weights it refuses unless
``allow_uncalibrated``, and then the lists are built with random weights and the protocol says ``uncalibrated``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core import features

RETRIEVAL_LAYER = "relu5_4"  # pool5 = max-pool of relu5_4: the last max-pool of VGG-19


class Retriever:
    """VGG-19 pool5 features of [N,3,H,W] images in [0,1] (H, W ≥ 32), L2-normalised, float64."""

    def __init__(self, allow_uncalibrated: bool = False, seed: int = 0, batch_size: int = 32) -> None:
        self.vgg = features.get("vgg19", upto=RETRIEVAL_LAYER, init="features", allow_uncalibrated=allow_uncalibrated,
                                seed=seed)
        self.batch_size = batch_size

    @property
    def calibrated(self) -> bool:
        return self.vgg.calibrated

    def settings(self) -> dict[str, object]:
        return {"features": "VGG-19 pool5 (relu5_4 + 2×2 max-pool), flattened", "similarity": "cosine",
                **self.vgg.settings()}

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                feat = self.vgg(images[start:start + self.batch_size].float(), [RETRIEVAL_LAYER])[RETRIEVAL_LAYER]
                out.append(F.normalize(F.max_pool2d(feat, 2).flatten(1).double(), dim=1))
        return torch.cat(out)


def ranked_lists(embeddings: torch.Tensor, k: int) -> np.ndarray:
    """int64 [N,K]: for each row, the K other rows of highest cosine similarity, nearest first (ties by index)."""
    n = len(embeddings)
    k = min(k, n - 1)
    sim = embeddings @ embeddings.T
    sim.fill_diagonal_(-np.inf)
    order = np.argsort(-sim.numpy(), axis=1, kind="stable")
    return order[:, :k].astype(np.int64)


def random_lists(n: int, k: int, seed: int) -> np.ndarray:
    """int64 [N,K]: K distinct random other rows per row (CoCosNet's faces: "random exemplars are fine")."""
    k = min(k, n - 1)
    rng = np.random.default_rng([int(seed), 2020, 10])
    out = np.empty((n, k), np.int64)
    for i in range(n):
        others = np.delete(np.arange(n), i)
        out[i] = rng.choice(others, size=k, replace=False)
    return out


def nearest(queries: torch.Tensor, candidates: torch.Tensor) -> np.ndarray:
    """int64 [Q]: the candidate of highest cosine similarity to each query (embeddings, ties by index)."""
    return np.argmax((queries @ candidates.T).numpy(), axis=1).astype(np.int64)


def class_means(images: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """float64 [n_classes+1, 3]: mean RGB (0..255) of each class id over ``images`` uint8 [N,S,S,3] with ``labels``
    uint8 [N,S,S]; the last row (ignored / unseen classes) is the mean of all pixels."""
    flat_labels = labels.reshape(-1).astype(np.int64)
    flat = images.reshape(-1, 3).astype(np.float64)
    ids = np.where(flat_labels < n_classes, flat_labels, n_classes)
    sums = np.zeros((n_classes + 1, 3))
    np.add.at(sums, ids, flat)
    counts = np.bincount(ids, minlength=n_classes + 1)[:, None]
    overall = flat.mean(0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), overall)


def class_mean_render(labels: np.ndarray, means: np.ndarray) -> torch.Tensor:
    """float32 [N,3,S,S] in [0,1]: each pixel of ``labels`` uint8 [N,S,S] painted in its class's mean colour."""
    n_classes = len(means) - 1
    ids = np.where(labels.astype(np.int64) < n_classes, labels, n_classes)
    return torch.from_numpy(means[ids] / 255.0).permute(0, 3, 1, 2).float()


def same_person(names: list[str]) -> np.ndarray:
    """int64 [N]: for DeepFashion list paths ``img/<g>/<cat>/<id>/<item>_<pose>_<view>.jpg``, another image of the
    same folder and item prefix (the next one in list order, cyclically), or −1 when there is none."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, name in enumerate(names):
        folder, _, file = name.rpartition("/")
        groups.setdefault((folder, file.split("_")[0]), []).append(i)
    out = np.full(len(names), -1, np.int64)
    for members in groups.values():
        if len(members) > 1:
            for j, i in enumerate(members):
                out[i] = members[(j + 1) % len(members)]
    return out
