"""The test cases of ``semantic_image_analogy``: seeded pairs of images with the same class labels (SIA §4.2.1),
one the source (image I, layout P) and the other the target layout P'; on the ``scenes`` world also the exact answer
(P' rendered in I's style). Images and labels go through the label-map kit (``protocols/labelled.py``: PIL bicubic
images, nearest labels, one-hot = classes + don't-care).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import DataError
from core.hashing import settings_hash
from datasets.coco_stuff import label_set, same_label_pairs
from datasets.real import REAL_DATASETS
from datasets.worlds import WorldSplit, load_world
from protocols.labelled import ONE_HOT, Split, read_split, train_split_or_val
from protocols.semantic_image_analogy.classes import world_to_coco_stuff


def select_pairs(sets: Sequence[frozenset[int]], n: int, seed: int, min_jaccard: float = 1.0
                 ) -> list[tuple[int, int, float]]:
    """Up to ``n`` pairs ``(source, target, jaccard)`` of items whose label sets match (``same_label_pairs``: equal
    sets at ``min_jaccard=1``, SIA's "same class labels"), drawn at random with ``seed`` ("We randomly select 10
    pairs"), no item in two pairs; which of the two is the source is drawn too. Order: the draw's."""
    candidates = same_label_pairs(sets, min_jaccard)
    rng = np.random.default_rng(seed)
    used: set[int] = set()
    chosen: list[tuple[int, int, float]] = []
    for k in rng.permutation(len(candidates)):
        i, j, jaccard = candidates[int(k)]
        if i in used or j in used:
            continue
        used |= {i, j}
        jaccard = round(jaccard, 6)
        chosen.append((i, j, jaccard) if rng.random() < 0.5 else (j, i, jaccard))
        if len(chosen) == n:
            break
    return chosen


@dataclass
class Cases:
    """``pool`` the items pairs were drawn from; ``pairs`` (source row, target row, Jaccard) into it; ``scored``
    uint8 [N,S,S] the target maps in COCO-Stuff ids (what the segmenters are scored against; 255 unlabeled);
    ``exact`` uint8 [N,S,S,3] (world) or None; ``names`` one case id per pair."""

    pool: Split
    pairs: list[tuple[int, int, float]]
    scored: np.ndarray
    exact: np.ndarray | None
    source: str
    fingerprint: str
    description: str
    rule: str
    files: dict[str, str] = field(default_factory=dict)
    held_out: frozenset[tuple[str, int]] = frozenset()  # real data: (split, row) of every case image

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def sources(self) -> np.ndarray:
        return np.array([s for s, _, _ in self.pairs], np.int64)

    @property
    def targets(self) -> np.ndarray:
        return np.array([t for _, t, _ in self.pairs], np.int64)

    @property
    def names(self) -> list[str]:
        return [f"{c:02d}_{self.pool.names[s]}_to_{self.pool.names[t]}" for c, (s, t, _) in enumerate(self.pairs)]

    @property
    def label_nc(self) -> int:
        return self.pool.input_nc


def _pairs(sets: Sequence[frozenset[int]], counts: dict[str, Any], seed: int, where: str
           ) -> tuple[list[tuple[int, int, float]], str]:
    n, min_jaccard = int(counts["cases"]), float(counts.get("min_jaccard", 1.0))
    pairs = select_pairs(sets, n, seed, min_jaccard)
    if not pairs:
        raise DataError(f"{where}: no two of the {len(sets)} pool images have label sets with Jaccard ≥ "
                        f"{min_jaccard}", hint="raise the pool (protocol.samples.<scale>.pool) or lower "
                                               "protocol.samples.<scale>.min_jaccard")
    same = "the same class labels" if min_jaccard >= 1 else f"label sets of Jaccard ≥ {min_jaccard} (relaxed)"
    rule = (f"{len(pairs)} of {n} pairs drawn with seed {seed} among the {len(sets)} pool images with {same} "
            f"(a class counts when it covers > {_fraction(counts):.0%} of the image), no image twice, "
            "source/target order drawn")
    return pairs, rule


def _fraction(counts: dict[str, Any]) -> float:
    return float(counts.get("min_fraction", 0.0))


def load_stand_in(world: str, counts: dict[str, Any], seed: int) -> Cases:
    """The world's val items 0..pool-1 at ``size`` (null pool: the real val split's size); exact answer = the
    target layout rendered in the source's style."""
    from datasets.worlds import WORLDS
    from datasets.worlds.scenes import REAL_NAMES

    size = int(counts["size"])
    pool_n = int(counts.get("pool") or WORLDS.get(world).default_counts["val"])  # null: the real val split's size
    data = load_world(world, n_train=1, n_val=pool_n, size=size, seed=seed)
    va = data.splits["val"]
    assert isinstance(va, WorldSplit)
    pool = read_split(va, range(pool_n), size, ONE_HOT)
    ignore = 255 if pool.label_set.ignore is None else pool.label_set.ignore
    pairs, rule = _pairs([label_set(x, _fraction(counts), ignore) for x in pool.labels], counts, seed, world)
    exact = np.stack([va.exact_translation(t, s) for s, t, _ in pairs])
    lut = world_to_coco_stuff(pool.label_set.classes, REAL_NAMES)
    scored = lut[pool.labels[[t for _, t, _ in pairs]]]
    fingerprint = settings_hash({"world": data.fingerprint, "pairs": pairs, "size": size}, length=16)
    description = "; ".join(p for p in data.description.split("; ") if " train items " not in p)  # the val pool only
    return Cases(pool, pairs, scored, exact, world, fingerprint, description, rule, dict(data.files))


def load_real(reader: str, data_cfg: dict[str, Any], reader_settings: dict[str, Any], counts: dict[str, Any],
              splits: Sequence[str], seed: int) -> Cases:
    """Pairs among the first ``pool`` items of the reader's ``splits`` (in that order; absent splits skipped), chosen
    on the full-size label maps (read alone); only the chosen images are read, at ``size``. Case k is pool rows
    2k (source) and 2k+1 (target)."""
    ds = REAL_DATASETS.get(reader)(data_cfg.get("root"), **reader_settings)
    size, pool_n = int(counts["size"]), int(counts["pool"]) if counts.get("pool") else None
    items: list[tuple[Any, int]] = []  # (split, row) of every pool image
    sets: list[frozenset[int]] = []
    for name in splits:
        try:
            split = ds.make_split(name)
        except DataError:
            continue
        rows = range(len(split) if pool_n is None else min(len(split), pool_n - len(items)))
        items += [(split, row) for row in rows]
        sets += [label_set(split.build_label(split.entries[row]), _fraction(counts)) for row in rows]
    if not items:
        raise DataError(f"{reader}: none of the splits {list(splits)} under {ds.root}",
                        hint="point data.root at a folder in the official COCO-Stuff layout")
    chosen, rule = _pairs(sets, counts, seed, reader)
    order = [i for s, t, _ in chosen for i in (s, t)]
    first = items[order[0]][0]
    pool = read_split(first, range(len(order)), size, ONE_HOT,
                      items=lambda k: items[order[k]][0].item(items[order[k]][1]))
    pairs = [(2 * k, 2 * k + 1, j) for k, (_, _, j) in enumerate(chosen)]
    scored = pool.labels[1::2]
    files = dict(sorted({k: v for split in {id(sp): sp for sp, _ in items}.values()
                         for k, v in split.files.items()}.items()))
    fingerprint = settings_hash({"reader": reader, "settings": ds.settings, "files": files, "pool": len(items),
                                 "pairs": chosen, "names": pool.names, "size": size}, length=16)
    description = f"{reader}: {len(pairs)} pairs from {len(items)} images of {ds.root} (real data)"
    held_out = frozenset((items[i][0].split, items[i][1]) for i in order)
    return Cases(pool, pairs, scored, None, reader, fingerprint, description, rule, files, held_out)


def train_stand_in(world: str, n: int | None, size: int, seed: int) -> tuple[Split, str]:
    """What a paired method trains on (SPADE, SIA §4.3.3): the world's train items 0..n−1 at ``size``
    (null: the real train split's size), disjoint from the val items the cases come from. Returns the split and a
    sentence for tables."""
    from datasets.worlds import WORLDS

    n = int(n or WORLDS.get(world).default_counts["train"])
    data = load_world(world, n_train=n, n_val=1, size=size, seed=seed)
    train = data.splits["train"]
    assert isinstance(train, WorldSplit)
    return read_split(train, range(n), size, ONE_HOT), f"{world} train items 0–{n - 1} (no case image among them)"


def train_real(reader: str, data_cfg: dict[str, Any], reader_settings: dict[str, Any], n: int | None, size: int,
               held_out: frozenset[tuple[str, int]], scale: str) -> tuple[Split, str]:
    """The first ``n`` images (null: all) of the reader's train split that are not a case image (``held_out``). A
    sample folder without a train split trains on its val split at ``scale=smoke`` only, and the sentence says so
    (``train_split_or_val``). Raises ``DataError`` when no image is left."""
    ds = REAL_DATASETS.get(reader)(data_cfg.get("root"), **reader_settings)
    split, source = train_split_or_val(ds, ds.make_split("val"), reader, scale,
                                       "point data.root at a folder with COCO-Stuff's train2017 images and maps")
    rows = [r for r in range(len(split)) if (split.split, r) not in held_out]
    rows = rows if n is None else rows[: int(n)]
    if not rows:
        raise DataError(f"{reader}: no {split.split} image is left to train on once the case images are held out",
                        hint="point data.root at a folder with more images, or use fewer cases")
    sentence = f"{source} {split.split}: the first {len(rows)} images that are not a case image"
    return read_split(split, rows, size, ONE_HOT), sentence
