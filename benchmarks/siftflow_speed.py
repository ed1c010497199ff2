"""Seconds per image pair of ``methods.common.siftflow.sift_flow`` (release defaults) at 64, 128 and 256 px.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/siftflow_speed.py            # writes results/siftflow_speed.md
    python benchmarks/siftflow_speed.py --sizes 64 --repeats 1 --out /tmp/x.md  # a quick subset

Pairs: ``warp`` = a textured image (blurred noise) and the same image under a smooth warp of up to 3.5 px (the
unit test's case: most pixels settle early); ``scene`` = two real photographs of different scenes resized to the
size (the retrieving task's case), when ``--images`` names a folder of JPEGs (default: the COCO-Stuff samples),
else two unrelated textures. Each pair runs ``--repeats`` times after one warm-up; the median wall time is
reported, with the dense-SIFT share (both descriptors) timed separately. The load average before the run is recorded:
on a shared machine the numbers are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from methods.common.siftflow import dense_sift, sift_flow

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco_stuff_samples"


def texture(size: int, seed: int) -> np.ndarray:
    noise = cv2.GaussianBlur(np.random.default_rng(seed).random((size, size, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip((noise - noise.mean()) / noise.std() * 50 + 128, 0, 255).astype(np.uint8)


def pairs(size: int, images: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    source = texture(size, 0)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    u, v = 2.5 * np.sin(2 * np.pi * ys / size) + 1.0, 2.0 * np.cos(2 * np.pi * xs / size)
    out = {"warp": (source, cv2.remap(source, xs + u, ys + v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))}
    photos = sorted(images.rglob("*.jpg"))[:2] if images.is_dir() else []
    if len(photos) == 2:
        a, b = (cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (size, size),
                           interpolation=cv2.INTER_AREA) for p in photos)
        out["scene (2 COCO photos)"] = (a, b)
    else:
        out["scene (2 textures)"] = (texture(size, 1), texture(size, 2))
    return out


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=Path, default=SAMPLES)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "siftflow_speed.md")
    args = parser.parse_args()
    load = os.getloadavg()
    rows = []
    for size in args.sizes:
        for name, (source, target) in pairs(size, args.images).items():
            total = timed(lambda s=source, t=target: sift_flow(s, t), args.repeats)
            sift = timed(lambda s=source, t=target: (dense_sift(s), dense_sift(t)), args.repeats)
            result = sift_flow(source, target)
            rows.append(f"| {size} | {name} | {total:.2f} | {sift:.2f} | {result.data_energy:.1f} |")
            print(rows[-1], flush=True)
    lines = [f"# SIFT Flow speed ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"python {platform.python_version()}, OpenCV {cv2.__version__}, "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})", "",
             f"`python benchmarks/siftflow_speed.py --sizes {' '.join(map(str, args.sizes))} "
             f"--repeats {args.repeats}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average before the run "
             f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min). Release defaults (4 levels, "
             "60 + 3×30 BP iterations); median of the repeats after one warm-up.", "",
             "| size | pair | s / pair | of which dense SIFT (both) | data_energy |", "|---|---|---|---|---|",
             *rows, ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
