"""World render speed: milliseconds per item for every registered world at several sizes, the time a `cpu`-scale
split (10k items) takes to build by rendering and by reading the disk cache, and the cache's size on disk.

    python benchmarks/world_render.py                                 # 64, 128, 256 px; 24 items each
    python benchmarks/world_render.py --sizes 256 --items 48 --out benchmarks/results/world_render.md

Timings are single-process medians of per-item wall time (image, label map, instances, keypoints and edges; the
optional conditioning inputs are timed separately), on whatever machine runs this: the recorded file names it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datasets.worlds import WORLDS, make_world
from datasets.worlds.base import WorldSplit
from datasets.worlds.cache import SHARD, CachedWorldSplit


def _median_ms(fn, n: int) -> float:
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--worlds", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    names = args.worlds or WORLDS.names()
    lines = [f"# World render speed ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"python {platform.python_version()}, one process)", "",
             f"`python benchmarks/world_render.py --sizes {' '.join(map(str, args.sizes))} --items {args.items}`", "",
             "| world | size | render ms/item | inputs ms/item | 10k items rendered | cached read ms/item | "
             "10k from cache | cache MB / 10k |", "|---|---|---|---|---|---|---|---|"]
    for name in names:
        world = make_world(name)
        for size in args.sizes:
            split = WorldSplit(world, args.items, size, seed=0)
            for i in range(args.items):
                split.record(i)  # sampling is timed in the 10k estimate below only through rendering
            render = _median_ms(split.item, args.items)
            with_inputs = WorldSplit(world, args.items, size, seed=0, with_inputs=True)
            inputs = (max(0.0, _median_ms(with_inputs.item, args.items) - render)
                      if with_inputs.item(0).extra else 0.0)
            with tempfile.TemporaryDirectory() as tmp:
                cached = CachedWorldSplit(world, SHARD, size, seed=0, cache_dir=tmp)
                cached.prepare(progress=False)
                read = _median_ms(cached.item, min(args.items, SHARD))
                mb = sum(p.stat().st_size for p in Path(tmp).rglob("*.npz")) / 1e6 * 10000 / SHARD
            row = (f"| {name} | {size} | {render:.1f} | {inputs:.1f} | {render * 10:.0f} s | {read:.2f} | "
                   f"{read * 10:.1f} s | {mb:.0f} |")
            print(row, flush=True)
            lines.append(row)
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
