"""EGSC-IT step times at a scale's preset on 28×28 images, and the projected wall time of a full MNIST-Single run
(60k train / 10k test: stage 0 + stage 1 + translating 2×10k test images).

    python benchmarks/egscit_step_times.py --scale cpu --threads 2 [--variant egscit_no_perceptual]

A speed target lives here, never in a timed test. Because the machine is shared, the script also measures a
yardstick (VGG-19 to relu4_1, forward+backward, batch 16 at 32 px; ≈173 img/s on this machine when idle, the figure
issue 5 quotes) and scales the projection to an idle machine by the ratio. Record its output in
methods/egscit/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from statistics import median

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.config import load_method_config, method_params
from datasets.base import TensorImageSet, TrainData
from methods import create_method
from methods.egscit import paired_streams

IDLE_YARDSTICK = 173.0  # img/s, VGG-19 fwd+bwd at 32 px on this machine when idle (issue 5)


def yardstick_net() -> tuple[torch.nn.Module, torch.Tensor]:
    from torchvision.models import vgg19

    from core.features import VGG19_RELU

    body = vgg19(weights=None).features[: VGG19_RELU["relu4_1"] + 1]  # plain layout, random weights: speed only
    return body, torch.rand(16, 3, 32, 32, requires_grad=True)


def yardstick(body: torch.nn.Module, x: torch.Tensor, seconds: float = 2.0) -> float:
    """VGG-19 to relu4_1, forward+backward, img/s."""
    body(x).sum().backward()
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        body(x).sum().backward()
        n += 16
    return n / (time.perf_counter() - start)


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--variant", default="egscit", help="a config in bench/configs/methods/ (egscit or a variant)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stage0-iters", type=int, default=10)
    parser.add_argument("--stage1-iters", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="yardstick/measurement pairs (median)")
    parser.add_argument("--train", type=int, default=60000)
    parser.add_argument("--test", type=int, default=10000)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override preset parameters")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    params = method_params(load_method_config(args.variant), args.scale)
    params["allow_uncalibrated"] = True  # random VGG weights cost the same time
    for item in args.set:
        key, _, value = item.partition("=")
        params[key] = type(params[key])(value) if not isinstance(params[key], bool) else value == "true"
    label = args.variant + "".join(f" {item}" for item in args.set)
    torch.manual_seed(0)
    method = create_method("egscit", **params)
    g = torch.Generator().manual_seed(0)
    a, b = TensorImageSet(torch.rand(256, 3, 28, 28, generator=g)), TensorImageSet(torch.rand(256, 3, 28, 28,
                                                                                               generator=g))
    batches = paired_streams(TrainData(a, b, "unpaired"), int(params["batch_size"]), seed=0)
    load_before = os.getloadavg()[0]
    # Interleave the yardstick with each measurement so that both see the same load; project each measurement to
    # an idle machine by its own yardstick ratio and keep the median.
    body, x = yardstick_net()
    t0s, t1s, trs, refs = [], [], [], []
    method._set_stage(0)
    method._step0(batches, int(params["stage0_g_updates"]))  # warm-up
    for _ in range(args.repeats):
        refs.append(yardstick(body, x))
        t0s.append(timed(lambda: method._step0(batches, int(params["stage0_g_updates"])), args.stage0_iters))
    method._set_stage(1)
    method._step1(batches, int(params["g_updates"]))
    for _ in range(args.repeats):
        ref = yardstick(body, x)
        refs.append(ref)
        t1s.append(timed(lambda: method._step1(batches, int(params["g_updates"])), args.stage1_iters))
    method.eval_mode()
    images = torch.rand(256, 3, 28, 28, generator=g)
    for _ in range(args.repeats):
        refs.append(yardstick(body, x))
        trs.append(timed(lambda: method.translate(images, images.flip(0)), 1) / 256)
    n = args.repeats
    t0, t1, tr = median(t0s), median(t1s), median(trs)
    idle = lambda ts, rs: median([t * r / IDLE_YARDSTICK for t, r in zip(ts, rs, strict=True)])  # noqa: E731
    t0_idle, t1_idle, tr_idle = idle(t0s, refs[:n]), idle(t1s, refs[n:2 * n]), idle(trs, refs[2 * n:])
    iters = (params["stage0_steps"], params["steps"])
    total = iters[0] * t0 + iters[1] * t1 + 2 * args.test * tr
    total_idle = iters[0] * t0_idle + iters[1] * t1_idle + 2 * args.test * tr_idle
    print(f"| {label} | {args.scale} | {args.threads} | {load_before:.1f} | {median(refs):.0f} "
          f"| {t0:.3f} / {t0_idle:.3f} | {t1:.2f} / {t1_idle:.2f} | {tr * 1e3:.2f} / {tr_idle * 1e3:.2f} "
          f"| {iters[0]}+{iters[1]} | {total / 60:.1f} | {total_idle / 60:.1f} |")
    print("(columns: variant | scale | threads | load avg | yardstick img/s | stage-0 s/iter here / idle | stage-1 "
          "s/iter here / idle | translate ms/img here / idle | iterations | projected min here | projected min idle)")


if __name__ == "__main__":
    main()
