"""Seconds per training step, training images per second, translated images per second and peak GPU memory of the
learned methods (paired or unpaired training) at a scale's preset, on synthetic data (two colour domains; label maps
with 4 classes for methods that need them), on the CPU or a GPU.

    python benchmarks/method_step_times.py --scale cpu --threads 1 adain wct pix2pix
    python benchmarks/method_step_times.py --all --scale paper --size 256 --device cuda --json out.json
    python benchmarks/method_step_times.py --data png --workers 0 4 --device cuda --scale paper --size 256 pix2pix

Prints a markdown table; record it under ``benchmarks/results/``. One fit of ``warmup + steps`` steps; a step's time
is the median of the last ``steps`` intervals between consecutive ``on_step`` calls (each after waiting for the GPU),
so set-up, cuDNN's algorithm search and allocator growth are left out; training images/s is the preset's batch size
(or ``--batch``) over it. Both wall-clock and CPU (process) time are shown: on a shared machine the wall clock mostly
measures the other users, while the CPU time of a single-threaded run is close to what an idle core needs. On a GPU
the wall clock is the measure, and the peak memory is ``torch.cuda.max_memory_allocated`` over the timed steps.
``--data png`` keeps the images as PNG bytes that every batch decodes again (what a real data set costs), to show what
loader worker processes (``--workers``, the harness's ``loader.workers``) buy. Methods that need pretrained weights
run with ``allow_uncalibrated=true`` (random weights cost the same time). A speed target lives here, never in a
timed test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from bench.config import load_method_config, method_params
from datasets.base import TensorImageSet, TrainData, collate
from methods import METHODS, FitContext, create_method, list_methods


class PngImageSet(Dataset):
    """Images kept as PNG bytes and decoded on every access, as a folder data set would be (``--data png``)."""

    def __init__(self, images: torch.Tensor, label_maps: torch.Tensor | None = None) -> None:
        self.png = []
        for image in images:
            buffer = io.BytesIO()
            Image.fromarray((image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(buffer, format="PNG")
            self.png.append(buffer.getvalue())
        self.label_maps = label_maps

    def __len__(self) -> int:
        return len(self.png)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        array = np.asarray(Image.open(io.BytesIO(self.png[index])).convert("RGB"), dtype=np.float32) / 255.0
        item = {"image": torch.from_numpy(array).permute(2, 0, 1)}
        if self.label_maps is not None:
            item["label_map"] = self.label_maps[index]
        return item

    def all_images(self) -> torch.Tensor:
        return collate([self[i] for i in range(len(self))])["image"]


def synthetic(n: int, size: int, label_maps: bool, png: bool = False
              ) -> tuple[Dataset, Dataset, torch.Tensor, torch.Tensor]:
    """(set A, set B, the contents to translate, B's images as exemplars)."""
    g = torch.Generator().manual_seed(0)
    labels = (torch.rand(n, size, size, generator=g) > 0.7).long() + (torch.rand(n, 1, 1, generator=g) > 0.5).long()
    palette = torch.rand(3, 3, generator=g)
    a = palette[labels].permute(0, 3, 1, 2).contiguous()
    b = 1.0 - a
    kind = PngImageSet if png else TensorImageSet
    maps = labels if label_maps else None
    return kind(a, label_maps=maps), kind(b), labels if label_maps else a, b


class Clock:
    """Wall-clock and CPU seconds of a block (waiting for the GPU first, when there is one)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def __enter__(self) -> Clock:
        self._sync()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sync()
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


@dataclass
class Row:
    method: str
    scale: str
    device: str
    data: str
    workers: int
    batch_size: int
    step_s: float
    step_cpu_s: float
    train_images_per_s: float
    translate_images_per_s: float
    peak_gib: float | None


def measure(name: str, scale: str, steps: int, images: int, size: int, device: torch.device, workers: int,
            png: bool, warmup: int = 3, batch_size: int | None = None) -> Row:
    cls = METHODS.get(name)
    params = method_params(load_method_config(name), scale)
    if "allow_uncalibrated" in params:
        params["allow_uncalibrated"] = True
    if batch_size:
        params["batch_size"] = batch_size
    a, b, content, exemplars = synthetic(max(64, images), size, cls.capabilities.needs_label_maps, png)
    labels = synthetic(max(64, images), size, True)[2]  # B's layouts are A's (B = 1 − A, pixel for pixel)
    kind = "paired" if cls.capabilities.training == "paired" else "unpaired"
    n = len(a)  # type: ignore[arg-type]
    # what the label-map protocols hand over: retrieval lists (CoCosNet), and at least the 3 classes drawn here
    meta = {"exemplar_lists": torch.stack([torch.arange(1, 5) + i for i in range(n)]) % n}
    one_hot = params.get("label_nc") == params.get("input_nc")
    for key in ("label_nc", "input_nc") if one_hot else ("label_nc",):
        if key in params and params[key] < 3:
            params[key] = 3
    data = TrainData(a, b, kind=kind, meta=meta)  # type: ignore[arg-type]
    method = create_method(name, **{**params, "steps": warmup + steps, "checkpoint_every": 0}).to(device)
    stamps: list[tuple[float, float]] = []

    def stamp(done: int, total: int) -> None:  # after every step: wait for the GPU, then read the clocks
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        stamps.append((time.perf_counter(), time.process_time()))
        if done == warmup and device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)

    ctx = FitContext(workdir=Path(tempfile.mkdtemp()), device=device, progress=False, loader_workers=workers,
                     pin_memory=device.type == "cuda", on_step=stamp)
    method.fit(data, ctx)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    timed = stamps[warmup - 1:]  # the steps after the warm-up (cuDNN's algorithm search, allocator growth)
    wall = [t1[0] - t0[0] for t0, t1 in itertools.pairwise(timed)]
    cpu = [t1[1] - t0[1] for t0, t1 in itertools.pairwise(timed)]
    with Clock(device) as translate:
        for i in range(0, images, 64):
            extra = {"exemplar_labels": labels[i:i + 64]} if cls.capabilities.needs_exemplar_labels else {}
            method.translate(content[i:i + 64], exemplars[i:i + 64], "AB", seed=0, **extra).cpu()
    step, step_cpu = statistics.median(wall), statistics.median(cpu)
    batch = int(params.get("batch_size", 1))
    return Row(name, scale, str(device), "png" if png else "tensor", workers, batch, step, step_cpu, batch / step,
               images / translate.wall, peak)


def vgg_reference(device: torch.device, seconds: float = 5.0) -> float:
    """VGG-19 (to relu4_1) forward+backward images/s at 32 px (wall): a yardstick for the machine's speed."""
    from core import features as registry

    features = registry.get("vgg19", upto="relu4_1", init="model", allow_uncalibrated=True).features.to(device)
    x = torch.rand(16, 3, 32, 32, requires_grad=True, device=device)
    features(x).sum().backward()
    n = 0
    with Clock(device) as clock:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            features(x).sum().backward()
            n += 16
    return n / clock.wall


def trainable() -> list[str]:
    """The methods this benchmark can time: paired or unpaired training (single-image methods fit per case)."""
    return [n for n in list_methods() if METHODS.get(n).capabilities.training in ("paired", "unpaired")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="*")
    parser.add_argument("--all", action="store_true", help="every method with paired or unpaired training")
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (median), after --warmup steps")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, help="override the preset's batch size (e.g. one GPU's share)")
    parser.add_argument("--skip", nargs="*", default=[], help="methods to leave out of --all")
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, nargs="+", default=[0], help="loader worker processes to compare")
    parser.add_argument("--data", choices=["tensor", "png"], default="tensor")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--no-yardstick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    names = [n for n in trainable() if n not in args.skip] if args.all else args.methods
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; scale {args.scale}, {args.size}×{args.size} {args.data} inputs, "
          f"device {device} ({gpu}), {args.threads} thread(s), load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores, {platform.machine()}, python {platform.python_version()}, torch {torch.__version__}"
          f"\n")
    if not args.no_yardstick:
        print(f"yardstick: VGG-19 relu4_1 forward+backward at 32 px: {vgg_reference(device):.0f} images/s wall\n")
    print("| method | loader workers | batch | s / training step (wall) | CPU s / step | training images / s | "
          "translated images / s | peak GPU GiB |\n|:--|--:|--:|--:|--:|--:|--:|--:|")
    rows = []
    for name in names:
        for workers in args.workers:
            try:
                row = measure(name, args.scale, args.steps, args.images, args.size, device, workers,
                              args.data == "png", args.warmup, args.batch)
            except Exception as exc:  # one method's failure is a row, not the end of the benchmark
                print(f"| {name} | {workers} | failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]} |",
                      flush=True)
                continue
            rows.append(row)
            peak = "" if row.peak_gib is None else f"{row.peak_gib:.2f}"
            print(f"| {name} | {workers} | {row.batch_size} | {row.step_s:.4f} | {row.step_cpu_s:.4f} | "
                  f"{row.train_images_per_s:.1f} | {row.translate_images_per_s:.1f} | {peak} |", flush=True)
            if args.json:
                args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
