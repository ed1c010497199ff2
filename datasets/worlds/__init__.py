"""Procedural label-map worlds with exact ground truth (``scenes``, ``streets``, ``faces``, ``figures``).

``load_world(name, ...)`` returns the train/val splits of a registered world as ``LabelledData``; see
``datasets.worlds.base`` for the ``World`` interface and ``datasets.worlds.cache`` for the disk cache.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.hashing import settings_hash
from datasets.labelled import LabelledData
from datasets.worlds.base import WORLDS, Style, World, WorldSplit

__all__ = ["WORLDS", "Style", "World", "WorldSplit", "load_world"]


def make_world(name: str, **settings: Any) -> World:
    """The registered world ``name`` with its constructor ``settings``; ``DataError`` on an unknown name or
    setting."""
    if name not in WORLDS:
        raise DataError(f"unknown world {name!r}", hint=f"use one of {', '.join(WORLDS.names())}")
    cls = WORLDS.get(name)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        raise DataError(f"world {name} has no setting(s) {unknown}",
                        hint=f"its settings: {', '.join(accepted) or 'none'} (see its docstring)")
    try:
        return cls(**settings)
    except (TypeError, ValueError) as exc:
        raise DataError(f"world {name}: {exc}", hint="see the world's docstring for its settings") from None


def load_world(name: str, n_train: int | None = None, n_val: int | None = None, size: int | tuple[int, int] = 64,
               seed: int = 0, cache: str | Path | bool = False, with_inputs: bool = False,
               **settings: Any) -> LabelledData:
    """Train and val splits of world ``name`` (counts default to the real dataset's, ``World.default_counts``).

    cache: ``False`` renders on demand; ``True`` uses the data cache (``datasets.download.data_cache()``); a path
    uses that folder. Cached splits are ``CachedWorldSplit`` (call ``prepare()`` to render all shards up front).
    """
    from datasets.download import data_cache
    from datasets.worlds.cache import CachedWorldSplit

    world = make_world(name, **settings)
    counts = {"train": n_train or world.default_counts["train"], "val": n_val or world.default_counts["val"]}
    splits: dict[str, WorldSplit] = {}
    sides = (size,) if isinstance(size, int) else tuple(size)
    if len(sides) not in (1, 2) or not all(32 <= int(side) <= 1024 for side in sides):
        raise DataError(f"world size {size} must be S or (H, W) with 32..1024 pixels a side", hint="e.g. 256 or "
                        "(256, 512)")
    for split, n in counts.items():
        if cache:
            folder = data_cache() if cache is True else Path(cache)
            splits[split] = CachedWorldSplit(world, n, size, seed, split, with_inputs=with_inputs, cache_dir=folder)
        else:
            splits[split] = WorldSplit(world, n, size, seed, split, with_inputs=with_inputs)
    files = {split: s.fingerprint() for split, s in splits.items()}
    fingerprint = settings_hash({"generator": f"{name}-v{world.version}", "files": files}, length=16)
    described = "; ".join(s.description() for s in splits.values())
    return LabelledData(dict(splits), name, fingerprint, files, f"NOT real data: {described}")
