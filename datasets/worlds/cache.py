"""A disk cache of rendered world items, so that a large split renders once per machine.

Items are stored in shards of ``SHARD`` consecutive indices (``images`` uint8 [S,H,W,3], ``labels`` uint8 [S,H,W],
``instances`` uint16 (int32 past 65,535 instances) [S,H,W] where the world has them, ``keypoints`` float32 [S,18,3]
where it has them), zlib-compressed (label and instance maps shrink ~10×, photos 2-3×; reading costs ~1.5 ms an item
at 256×256), under ``<data cache>/worlds/<key>/shard-<k>.npz``. The key holds the world's name, version and
settings, the seed, the split and the size, but not the split length: item ``i`` is the same whatever ``n``, so
splits of different lengths share shards. Shards are written to a temporary file and renamed (atomic on POSIX), so
an interrupted run never leaves a half-written shard that a later run would trust. Edge maps and conditioning inputs
are cheap and are recomputed from the cached label maps.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from core.hashing import settings_hash
from datasets.labelled import LabelledItem
from datasets.worlds.base import WorldSplit

SHARD = 64


class CachedWorldSplit(WorldSplit):
    """A ``WorldSplit`` whose items come from (and go into) the disk cache at ``cache_dir``.

    ``prepare()`` renders every missing shard with a progress bar; ``item`` renders a missing shard on demand.
    """

    def __init__(self, *args, cache_dir: str | Path, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        key = settings_hash({"world": self.name, "version": self.world.version, "settings": self.world.settings(),
                             "seed": self.seed, "split": self.split, "size": list(self.size)}, length=16)
        self.cache_root = Path(cache_dir).expanduser()
        self.cache_dir = self.cache_root / "worlds" / f"{self.name}-{self.split}-{key}"
        self._shard: tuple[int, dict[str, np.ndarray]] | None = None

    def shard_path(self, shard: int) -> Path:
        return self.cache_dir / f"shard-{shard:05d}.npz"

    def _render_shard(self, shard: int) -> dict[str, np.ndarray]:
        # A shard always holds SHARD items, past ``n`` if need be, so that splits of any length share it.
        full = WorldSplit(self.world, (shard + 1) * SHARD, self.size, self.seed, self.split)
        items = [WorldSplit.item(full, i) for i in range(shard * SHARD, (shard + 1) * SHARD)]
        arrays = {"images": np.stack([it.image for it in items]), "labels": np.stack([it.label for it in items])}
        if items[0].instance is not None:
            instances = np.stack([it.instance for it in items])
            arrays["instances"] = instances.astype(np.uint16 if instances.max() < 1 << 16 else np.int32)
        if items[0].keypoints is not None:
            arrays["keypoints"] = np.stack([it.keypoints for it in items]).astype(np.float32)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez_compressed(handle, **arrays)
            os.replace(tmp, self.shard_path(shard))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return arrays

    def _load_shard(self, shard: int) -> dict[str, np.ndarray]:
        if self._shard is not None and self._shard[0] == shard:
            return self._shard[1]
        path = self.shard_path(shard)
        if path.is_file():
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
        else:
            arrays = self._render_shard(shard)
        self._shard = (shard, arrays)
        return arrays

    def missing_shards(self) -> list[int]:
        return [s for s in range((self.n + SHARD - 1) // SHARD) if not self.shard_path(s).is_file()]

    def prepare(self, progress: bool = True, workers: int = 1) -> int:
        """Render every shard of the split that is not cached yet, in ``workers`` processes; returns how many were
        rendered."""
        missing = self.missing_shards()
        bar = tqdm(total=len(missing), desc=f"rendering {self.name} {self.split}", unit="shard", disable=not progress)
        # Workers get a small task (the world and the split's settings), not this split with its sampled records.
        tasks = [(self.world, self.size, self.seed, self.split, self.cache_root, shard) for shard in missing]
        if workers > 1 and len(missing) > 1:
            with ProcessPoolExecutor(max_workers=workers, initializer=_one_thread) as pool:
                for _ in pool.map(_render_task, tasks):
                    bar.update()
        else:
            for task in tasks:
                _render_task(task)
                bar.update()
        bar.close()
        return len(missing)

    def item(self, index: int) -> LabelledItem:
        if not 0 <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} items")
        arrays = self._load_shard(index // SHARD)
        j = index % SHARD
        rec = self.record(index)
        instance = arrays["instances"][j].astype(np.int32) if "instances" in arrays else None
        item = LabelledItem(name=f"{self.name}-{self.split}-{index:06d}", image=arrays["images"][j],
                            label=arrays["labels"][j], instance=instance,
                            keypoints=arrays["keypoints"][j] if "keypoints" in arrays else None)
        item.edges = self.world.edges(rec.layout, self.size, item.label, instance)
        if self.with_inputs:
            item.extra.update(self.world.inputs(rec.layout, self.size, item))
        return item


def _one_thread() -> None:
    # N workers × BLAS/OpenMP threads each oversubscribe the cores (measured: 2 workers ran slower than 1).
    threadpool_limits(1)


def _render_task(task: tuple) -> None:
    """Render one shard into the cache (a process-pool task; the arrays stay in the worker, the file is what counts)."""
    world, size, seed, split, root, shard = task
    CachedWorldSplit(world, (shard + 1) * SHARD, size, seed, split, cache_dir=root)._render_shard(shard)
