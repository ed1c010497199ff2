"""Seconds per training step and translated images per second of registered methods at a scale's preset, on
synthetic 28×28 data (two colour domains; label maps with 4 classes for methods that need them).

    python benchmarks/method_step_times.py --scale cpu --threads 1 adain wct pix2pix

Prints a markdown table; record it in the method READMEs. Both wall-clock and CPU (process) time are shown: on a
shared machine the wall clock mostly measures the other users, while the CPU time of a single-threaded run is close
to what an idle core needs. A speed target lives here, never in a timed test. Methods that need pretrained weights
run with ``allow_uncalibrated=true`` (random weights cost the same time).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.config import load_method_config, method_params
from datasets.base import TensorImageSet, TrainData
from methods import METHODS, FitContext, create_method


def synthetic(n: int, size: int, label_maps: bool) -> tuple[TensorImageSet, TensorImageSet, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    labels = (torch.rand(n, size, size, generator=g) > 0.7).long() + (torch.rand(n, 1, 1, generator=g) > 0.5).long()
    palette = torch.rand(3, 3, generator=g)
    a = palette[labels].permute(0, 3, 1, 2).contiguous()
    b = 1.0 - a
    if label_maps:
        return TensorImageSet(a, label_maps=labels), TensorImageSet(b), labels
    return TensorImageSet(a), TensorImageSet(b), a


class Clock:
    """Wall-clock and CPU seconds of a block."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def measure(name: str, scale: str, steps: int, images: int, size: int) -> tuple[Clock, Clock, Clock]:
    cls = METHODS.get(name)
    params = method_params(load_method_config(name), scale)
    if "allow_uncalibrated" in params:
        params["allow_uncalibrated"] = True
    needs_labels = cls.capabilities.needs_label_maps
    a, b, content = synthetic(max(64, images), size, needs_labels)
    kind = "paired" if cls.capabilities.training == "paired" else "unpaired"
    data = TrainData(a, b, kind=kind)  # type: ignore[arg-type]
    clocks = []
    for n in (2, 2 + steps):  # the difference removes set-up and first-step costs
        method = create_method(name, **{**params, "steps": n, "checkpoint_every": 0})
        with tempfile.TemporaryDirectory() as workdir, Clock() as clock:
            method.fit(data, FitContext(workdir=Path(workdir), progress=False))
        clocks.append(clock)
    exemplar = b.all_images()[:images]
    with Clock() as translate:
        for i in range(0, images, 64):
            method.translate(content[i:i + 64], exemplar[i:i + 64], "AB", seed=0)
    return clocks[0], clocks[1], translate


def vgg_reference(seconds: float = 5.0) -> tuple[float, float]:
    """VGG-19 (to relu4_1) forward+backward images/s at 32 px (wall, CPU): a yardstick for the machine's speed."""
    from core import features as registry

    features = registry.get("vgg19", upto="relu4_1", init="model", allow_uncalibrated=True).features
    x = torch.rand(16, 3, 32, 32, requires_grad=True)
    features(x).sum().backward()
    n = 0
    with Clock() as clock:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            features(x).sum().backward()
            n += 16
    return n / clock.wall, n / clock.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="+")
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"scale {args.scale}, {args.size}×{args.size} inputs, {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, torch {torch.__version__}\n")
    wall, cpu = vgg_reference()
    print(f"yardstick: VGG-19 relu4_1 forward+backward at 32 px: {wall:.0f} images/s wall, {cpu:.0f} per CPU second\n")
    print("| method | s / training step (wall) | CPU s / training step | translated images / s (wall) | "
          "images / CPU s |\n|:--|--:|--:|--:|--:|")
    for name in args.methods:
        short, long, translate = measure(name, args.scale, args.steps, args.images, args.size)
        print(f"| {name} | {(long.wall - short.wall) / args.steps:.3f} | {(long.cpu - short.cpu) / args.steps:.3f} | "
              f"{args.images / translate.wall:.1f} | {args.images / translate.cpu:.1f} |", flush=True)


if __name__ == "__main__":
    main()
