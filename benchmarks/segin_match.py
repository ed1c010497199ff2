"""Time SEGIN's semantic match (paper §III-A, Eq. 1–2) per 256×256 image; the paper reports about 1 s per image
(two NVIDIA 2080Ti, translation network 0.03 s).

Measures, per input/reference pair at ``--size``: VGG-19 features up to the match layer for both images, the
chunked cosine argmax over all patch pairs (Eq. 1) and the patch warp (Eq. 2), after ``--warmup`` untimed runs.
The VGG weights do not change the cost, so a random VGG-19 is used when the ImageNet weights are absent.

    python benchmarks/segin_match.py                     # CPU, 256×256, relu3_1, 3×3 patches
    python benchmarks/segin_match.py --device cuda --out benchmarks/results/segin_match_cuda.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import features
from methods.segin.match import SemanticMatcher, correspondence, warp


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--layer", default="relu3_1")
    parser.add_argument("--patch", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=1, help="pairs matched together (time is reported per pair)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "segin_match_cpu.json")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    vgg = features.get("vgg19", upto=args.layer, init="model", allow_uncalibrated=True, device=device)
    calibrated = vgg.calibrated
    matcher = SemanticMatcher(vgg.features, args.layer, args.patch, args.chunk)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, 3, args.size, args.size, generator=gen).to(device)
    r = torch.rand(args.batch, 3, args.size, args.size, generator=gen).to(device)
    with torch.no_grad():
        fx, fr = matcher.features(torch.cat([x, r])).chunk(2)
        hw = (fx.shape[-2], fx.shape[-1])
        xi = correspondence(fx, fr, args.patch, args.chunk)
        stages = {
            "features (x and r)": lambda: matcher.features(torch.cat([x, r])),
            "correspondence (Eq. 1)": lambda: correspondence(fx, fr, args.patch, args.chunk),
            "warp (Eq. 2)": lambda: warp(r, xi, hw, args.patch),
            "total": lambda: matcher(x, r),
        }
        for fn in stages.values():
            timed(fn, device, args.warmup)
        results: dict[str, list[float]] = {name: [] for name in stages}
        for _ in range(args.repeats):  # interleaved rounds, so a change of machine load hits every stage alike
            for name, fn in stages.items():
                results[name] += timed(fn, device, 1)

    per_pair = {name: statistics.median(t) / args.batch for name, t in results.items()}
    record = {
        "benchmark": "segin semantic match per image pair",
        "size": args.size, "layer": args.layer, "patch": args.patch, "chunk": args.chunk, "batch": args.batch,
        "feature_map": list(hw), "patch_positions": hw[0] * hw[1],
        "repeats": args.repeats, "warmup": args.warmup,
        "seconds_per_pair_median": per_pair,
        "seconds_all_runs": results,
        "paper_seconds_per_image": 1.0,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or
        platform.machine(),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "vgg_calibrated": calibrated,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    for name, seconds in per_pair.items():
        print(f"{name:>24}: {seconds:.3f} s per {args.size}×{args.size} pair")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
