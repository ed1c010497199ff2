"""Metric throughput: our FID/KID feature pipeline and LPIPS against the plain use of pytorch-fid and lpips, on the
same image files, side by side in one run.

    python benchmarks/metric_throughput.py                      # defaults: 64 images per set, 64×64 PNGs
    python benchmarks/metric_throughput.py --n 200 --size 128 --device cuda --out benchmarks/results/gpu.md

What is compared (whole-set evaluation, the way each tool is normally used):
- FID, reference: ``pytorch_fid.fid_score.calculate_activation_statistics`` on both folders (its DataLoader loop,
  batch 50) and ``calculate_frechet_distance`` (scipy ``sqrtm``), i.e. what ``calculate_fid_given_paths`` does.
- FID, ours: ``metrics.fid.FID`` on ``FolderImages`` of the same files: batched features, the real set's features
  read from the content-addressed cache after the first evaluation ("warm"), exact trace term without ``sqrtm``.
  The "cold" run (empty cache) is reported too.
- LPIPS, reference: the ``lpips_2dirs.py`` loop of PerceptualSimilarity: per file pair, load, ``im2tensor``,
  ``forward`` one pair at a time (PIL instead of cv2 for loading, since cv2 is not a dependency).
- LPIPS, ours: ``metrics.perceptual.LPIPS`` on batches read from the folders (``bench score``'s path).

No pretrained weights are available on the benchmark machine, so BOTH sides run with the same random weights (one
state dict loaded into both networks). Throughput does not depend on weight values; the printed values check that
both sides compute the same numbers. Timings are medians over ``--repeats`` interleaved runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import features
from metrics.fid import FID
from metrics.images import FolderImages, list_images, load_image
from metrics.perceptual import LPIPS


def write_images(folder: Path, n: int, size: int, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        base = rng.integers(0, 256, (max(size // 8, 2), max(size // 8, 2), 3)).astype(np.uint8)
        image = Image.fromarray(base).resize((size, size), Image.BICUBIC)
        paths.append(folder / f"{i:05d}.png")
        image.save(paths[-1])
    return paths


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def median_times(runs: dict[str, Callable[[], object]], repeats: int) -> tuple[dict[str, float], dict[str, object]]:
    times: dict[str, list[float]] = {k: [] for k in runs}
    results: dict[str, object] = {}
    for _ in range(repeats):
        for name, fn in runs.items():  # interleaved, so load changes hit both sides alike
            seconds, results[name] = timed(fn)
            times[name].append(seconds)
    return {k: statistics.median(v) for k, v in times.items()}, results


def fid_benchmark(fake: list[Path], real: list[Path], device: str, repeats: int, cache: Path) -> list[str]:
    from pytorch_fid.fid_score import calculate_activation_statistics, calculate_frechet_distance

    ours = FID(allow_uncalibrated=True, device=device, cache_dir=cache, batch_size=50)
    # pytorch-fid's InceptionV3 as pytorch-fid builds it (default memory layout), with our network's weights (the
    # registry's build behind ``ours``, before its channels-last copy)
    model = features.get("fid_inception", allow_uncalibrated=True, device=device).model
    workers = min(4, os.cpu_count() or 1)

    def reference() -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m1, s1 = calculate_activation_statistics(fake, model, 50, 2048, device, workers)
            m2, s2 = calculate_activation_statistics(real, model, 50, 2048, device, workers)
            return float(calculate_frechet_distance(m1, s1, m2, s2))

    def reference_features() -> np.ndarray:
        from pytorch_fid.fid_score import get_activations

        return get_activations(fake, model, 50, 2048, device, workers)

    cold = FID(extractor=ours.extractor, cache_dir=cache / "cold")  # same network, its own (emptied) cache

    def ours_cold() -> float:
        for entry in (cache / "cold").glob("inception/*.npz"):
            entry.unlink()
        real_set = FolderImages(real, 50)
        return cold.compute(FolderImages(fake, 50), real_set, real_hash=real_set.fingerprint()).value

    def ours_warm() -> float:
        real_set = FolderImages(real, 50)
        return ours.compute(FolderImages(fake, 50), real_set, real_hash=real_set.fingerprint()).value

    def ours_features() -> np.ndarray:
        return ours.extractor.features(FolderImages(fake, 50))

    ours_warm()  # fill the cache once (warm runs read the real set's features from it)
    times, results = median_times({"reference": reference, "ours_cold": ours_cold, "ours_warm": ours_warm,
                                   "reference_features": reference_features, "ours_features": ours_features},
                                  repeats)
    n = len(fake)
    feature_gap = float(np.abs(results["reference_features"] - results["ours_features"]).max())
    return [
        f"| FID features (generated set only) | {n / times['reference_features']:.2f} img/s | "
        f"{n / times['ours_features']:.2f} img/s | {times['reference_features'] / times['ours_features']:.2f}× | "
        f"max \\|Δfeature\\| {feature_gap:.1e} |",
        f"| FID whole set, cold cache ({n}+{len(real)} images) | {times['reference']:.2f} s | "
        f"{times['ours_cold']:.2f} s | {times['reference'] / times['ours_cold']:.2f}× | "
        f"FID {results['reference']:.6g} vs {results['ours_cold']:.6g} |",
        f"| FID whole set, warm cache (real features cached) | {times['reference']:.2f} s | "
        f"{times['ours_warm']:.2f} s | {times['reference'] / times['ours_warm']:.2f}× | "
        f"FID {results['reference']:.6g} vs {results['ours_warm']:.6g} |",
    ]


def lpips_benchmark(fake: list[Path], real: list[Path], device: str, repeats: int) -> list[str]:
    import lpips

    ours = LPIPS(net="alex", allow_uncalibrated=True, device=device, batch_size=32)
    loss_fn = ours.network.model  # the same lpips.LPIPS module (random trunk, package heads) for both sides

    def reference() -> float:
        total = 0.0
        for f, r in zip(fake, real, strict=True):
            img0 = lpips.im2tensor(np.asarray(Image.open(f).convert("RGB"))).to(device)
            img1 = lpips.im2tensor(np.asarray(Image.open(r).convert("RGB"))).to(device)
            with torch.no_grad():
                total += float(loss_fn.forward(img0, img1))
        return total / len(fake)

    def ours_run() -> float:
        fakes, reals = list_images(fake[0].parent), list_images(real[0].parent)
        scores = []
        for start in range(0, len(fakes), 256):
            names = sorted(fakes)[start:start + 256]
            a = torch.stack([load_image(fakes[k]) for k in names])
            b = torch.stack([load_image(reals[k]) for k in names])
            scores.append(ours.per_image(a, b))
        return float(torch.cat(scores).mean())

    times, results = median_times({"reference": reference, "ours": ours_run}, repeats)
    n = len(fake)
    return [f"| LPIPS alex, paired ({n} pairs) | {n / times['reference']:.1f} pairs/s | "
            f"{n / times['ours']:.1f} pairs/s | {times['reference'] / times['ours']:.2f}× | "
            f"mean {results['reference']:.6f} vs {results['ours']:.6f} |"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help="images per set")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--lpips-n", type=int, default=256, help="image pairs for LPIPS")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=None, help="append the markdown table to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["BENCH_WEIGHTS"] = str(root / "weights")  # no real weights: both sides use random ones
        fake = write_images(root / "fake", args.n, args.size, 1)
        real = write_images(root / "real", args.n, args.size, 2)
        lp_fake = write_images(root / "lp_fake", args.lpips_n, args.size, 3)
        lp_real = write_images(root / "lp_real", args.lpips_n, args.size, 4)
        rows = fid_benchmark(fake, real, args.device, args.repeats, root / "cache")
        rows += lpips_benchmark(lp_fake, lp_real, args.device, args.repeats)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    header = [
        f"### {time.strftime('%Y-%m-%d %H:%M')} — {args.device}, {args.n} images/set at {args.size}×{args.size} "
        f"(LPIPS {args.lpips_n} pairs), median of {args.repeats}",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads, load average at the end {load[0]}. "
        "Both sides use the same random weights (no pretrained weights here; throughput does not depend on them).",
        "",
        "| task | reference (plain pytorch-fid / lpips) | ours | speed-up | same numbers? |",
        "|---|---|---|---|---|",
    ]
    text = "\n".join(header + rows) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
