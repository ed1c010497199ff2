"""Seconds per training step and translated images per second of registered methods at a scale's preset, on
synthetic 28×28 data (two colour domains; label maps with 4 classes for methods that need them).

    python benchmarks/method_step_times.py --scale cpu --threads 1 adain wct pix2pix

Prints a markdown table; record it with the machine's load (shown) in the method READMEs. A speed target lives here,
never in a timed test. Methods that need pretrained weights run with ``allow_uncalibrated=true`` (the random weights
cost the same time).
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


def measure(name: str, scale: str, steps: int, images: int, size: int) -> tuple[float, float]:
    cls = METHODS.get(name)
    params = method_params(load_method_config(name), scale)
    if "allow_uncalibrated" in params:
        params["allow_uncalibrated"] = True
    needs_labels = cls.capabilities.needs_label_maps
    a, b, content = synthetic(max(64, images), size, needs_labels)
    kind = "paired" if cls.capabilities.training == "paired" else "unpaired"
    data = TrainData(a, b, kind=kind)  # type: ignore[arg-type]
    timings = []
    for n in (2, 2 + steps):  # the difference removes set-up and first-step costs
        method = create_method(name, **{**params, "steps": n, "checkpoint_every": 0})
        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            method.fit(data, FitContext(workdir=Path(workdir), progress=False))
            timings.append(time.perf_counter() - start)
    step_s = (timings[1] - timings[0]) / steps
    exemplar = b.all_images()[:images]
    start = time.perf_counter()
    for i in range(0, images, 64):
        method.translate(content[i:i + 64], exemplar[i:i + 64], "AB", seed=0)
    return step_s, images / (time.perf_counter() - start)


def vgg_reference(seconds: float = 5.0) -> float:
    """VGG-19 (to relu4_1) forward+backward images/s at 32 px: a yardstick for the machine's current speed."""
    from methods.adain.vgg import load_vgg19

    features, _ = load_vgg19(True, "relu4_1")
    x = torch.rand(16, 3, 32, 32, requires_grad=True)
    features(x).sum().backward()
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        features(x).sum().backward()
        n += 16
    return n / (time.perf_counter() - start)


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
    print(f"yardstick: VGG-19 relu4_1 forward+backward at 32 px: {vgg_reference():.0f} images/s\n")
    print("| method | s / training step | translated images / s |\n|:--|--:|--:|")
    for name in args.methods:
        step_s, rate = measure(name, args.scale, args.steps, args.images, args.size)
        print(f"| {name} | {step_s:.3f} | {rate:.1f} |", flush=True)


if __name__ == "__main__":
    main()
