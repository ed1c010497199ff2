"""Seconds per training iteration (and per predicted image) of the segmenter-training kit's architectures.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/segmenter_training_speed.py  # -> results/segmenter_training_speed.md
    python benchmarks/segmenter_training_speed.py --cases small:64x128:4 --iterations 5 --out /tmp/x.md

A case is ``arch:HxW:batch``. Each runs ``protocols.segmentation_training.train_segmenter`` itself (random backbone
weights, ``allow_uncalibrated``: the speed does not depend on their values; no checkpoints) on random uint8 images
and labels of 19 classes at that size, the whole image as the crop; an iteration is batch sampling, crop/flip, the
forward at the architecture's output stride, bilinear upsampling, cross-entropy, backward and the SGD step. The time
between consecutive ``on_step`` calls is recorded; the first ``--warmup`` iterations are dropped and the median of
the rest reported. Prediction: ``TrainedSegmenter.predict`` on ``batch`` images, median of 3 after one warm-up,
per image. On a shared machine the numbers are upper bounds; the load average before the run is recorded.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocols.segmentation_training import SegSchedule, train_segmenter

DEFAULT_CASES = ("small:64x128:1", "small:64x128:4", "deeplabv2_resnet101:256x512:1",
                 "deeplabv3_mobilenet_v3_large:256x512:2")


def parse(case: str) -> tuple[str, int, int, int]:
    arch, size, batch = case.split(":")
    h, w = size.split("x")
    return arch, int(h), int(w), int(batch)


def measure(case: str, iterations: int, warmup: int, device: str) -> tuple[float, float, int]:
    arch, h, w, batch = parse(case)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(max(batch, 2), h, w, 3), dtype=np.uint8)
    labels = rng.integers(0, 19, size=(max(batch, 2), h, w), dtype=np.uint8)
    stamps: list[float] = []
    schedule = SegSchedule(arch=arch, iterations=warmup + iterations, batch_size=batch, checkpoint_every=0)
    with tempfile.TemporaryDirectory() as tmp:
        stamps.append(time.perf_counter())
        trained = train_segmenter(images, labels, schedule=schedule, num_classes=19, seed=0,
                                  checkpoint_dir=Path(tmp), allow_uncalibrated=True, device=device, progress=False,
                                  on_step=lambda done: stamps.append(time.perf_counter()))
    steps = np.diff(stamps)[max(warmup, 1):]  # the first interval also holds the network's build
    trained.predict_batch = batch
    trained.predict(images[:batch])
    times = []
    for _ in range(3):
        start = time.perf_counter()
        trained.predict(images[:batch])
        times.append((time.perf_counter() - start) / batch)
    trainable = sum(p.numel() for p in trained.net.parameters() if p.requires_grad)
    return float(statistics.median(steps.tolist())), float(statistics.median(times)), trainable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES))
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "segmenter_training_speed.md")
    args = parser.parse_args()
    load = os.getloadavg()
    rows = []
    for case in args.cases:
        arch, h, w, batch = parse(case)
        step, predict, trainable = measure(case, args.iterations, args.warmup, args.device)
        rows.append(f"| {arch} | {h}×{w} | {batch} | {step:.3f} | {predict:.3f} | {trainable:,} |")
        print(rows[-1], flush=True)
    where = (torch.cuda.get_device_name() if args.device.startswith("cuda") else
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    lines = [f"# Segmenter training speed ({where}, python {platform.python_version()}, torch {torch.__version__}, "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})", "",
             f"`python benchmarks/segmenter_training_speed.py --cases {' '.join(args.cases)} --iterations "
             f"{args.iterations} --warmup {args.warmup} --device {args.device}`, {datetime.now(UTC):%Y-%m-%d %H:%M} "
             f"UTC, load average before the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min). "
             "Median over the timed iterations; 19 classes; whole-image crops.", "",
             "| arch | size | batch | s / iteration | s / predicted image | trainable parameters |",
             "|---|---|---|---|---|---|", *rows, ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
