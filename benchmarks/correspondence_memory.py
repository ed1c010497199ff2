"""Peak memory and time of CoCosNet's soft warp: the dense product (official code) vs ``soft_warp`` (ours), and
``scaled_dot_product_attention`` fed two ways, forward and forward+backward, at 64×64, 128×128 and 256×256 positions.

    OMP_NUM_THREADS=2 nice -n 5 python benchmarks/correspondence_memory.py            # the full table
    python benchmarks/correspondence_memory.py --sizes 64 --keys 256 --out /tmp/x.md   # a quick subset

Each measurement runs in a fresh subprocess (``--worker``), so no allocator cache or earlier peak is shared:
1. build the inputs: query and key [1, N, C] random centred unit vectors (N = M = side²), value [1, M, D] in [0,1)
   (D = 3: RGB; D = 3 + 151: RGB + an ADE20k one-hot exemplar mask warped in the same pass), the upstream gradient;
   run the method once on a 16×16 case (loads kernels, spawns threads);
2. baseline = the process's current resident set (``/proc/self/statm``);
3. run once (timed): forward under ``torch.no_grad()``, or forward + ``backward`` of ⟨out, g⟩ w.r.t. q, k and v;
4. peak = ``resource.getrusage(RUSAGE_SELF).ru_maxrss``; reported: peak − baseline, i.e. every page the run
   touched beyond its inputs (outputs and gradients included). Time: that one run (wall clock, perf_counter).

Methods: ``dense`` = softmax(q·kᵀ/τ)·v with the N×M matrix (the official ``torch.matmul`` path); ``ours`` =
``methods.common.correspondence.soft_warp`` (automatic block size); ``sdpa`` = ``F.scaled_dot_product_attention``
with scale 1/τ and V as is; ``sdpa_pad`` = the same with V zero-padded to the key width (its output sliced back).
Cases whose N×M matrix alone exceeds ``--max-dense-gb`` are not run for ``dense``/``sdpa`` (recorded with the size).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from methods.common.correspondence import soft_warp, soft_warp_dense

TEMPERATURE = 0.01
METHODS = ("dense", "ours", "sdpa", "sdpa_pad")


def run_method(name: str, q, k, v):  # type: ignore[no-untyped-def]
    if name == "dense":
        return soft_warp_dense(q, k, v, TEMPERATURE)
    if name == "ours":
        return soft_warp(q, k, v, TEMPERATURE)
    value = F.pad(v, (0, q.shape[-1] - v.shape[-1])) if name == "sdpa_pad" else v
    out = F.scaled_dot_product_attention(q[:, None], k[:, None], value[:, None], scale=1.0 / TEMPERATURE)[:, 0]
    return out[..., :v.shape[-1]]


def inputs(side: int, keys: int, values: int, grad: bool):  # type: ignore[no-untyped-def]
    gen = torch.Generator().manual_seed(side)
    q, k = (torch.randn(1, side * side, keys, generator=gen) for _ in range(2))
    q, k = (F.normalize(x - x.mean(-1, keepdim=True), dim=-1) for x in (q, k))
    v = torch.rand(1, side * side, values, generator=gen)
    g = torch.randn(1, side * side, values, generator=gen)
    return [x.requires_grad_(grad) for x in (q, k, v)], g


def worker(name: str, side: int, keys: int, values: int, mode: str) -> dict[str, float]:
    backward = mode == "fwd+bwd"

    def once(tensors, g) -> None:  # type: ignore[no-untyped-def]
        if backward:
            (run_method(name, *tensors) * g).sum().backward()
        else:
            with torch.no_grad():
                run_method(name, *tensors)

    once(*inputs(16, keys, values, backward))  # warm-up: kernels loaded, thread pool up
    tensors, g = inputs(side, keys, values, backward)
    baseline_kib = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    start = time.perf_counter()
    once(tensors, g)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_mb": (peak_kib - baseline_kib) / 1024, "seconds": seconds}


def measure(name: str, side: int, keys: int, values: int, mode: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", name, str(side), str(keys), str(values), mode]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"rc {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=5, metavar=("METHOD", "SIDE", "KEYS", "VALUES", "MODE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256], help="sides: N = M = side²")
    parser.add_argument("--keys", type=int, nargs="+", default=[256], help="key/query widths C")
    parser.add_argument("--wide-keys", type=int, default=2304,
                        help="official 3×3-patch width, run at --wide-sizes only (0: skip)")
    parser.add_argument("--wide-sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--values", type=int, nargs="+", default=[3, 3 + 151], help="value widths D")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--sdpa-sizes", type=int, nargs="+", default=[64, 128], help="sides at which sdpa runs")
    parser.add_argument("--max-dense-gb", type=float, default=4.0,
                        help="skip dense/sdpa where one N×M fp32 matrix exceeds this")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "correspondence_memory.md")
    args = parser.parse_args(argv)
    if args.worker:
        name, side, keys, values, mode = args.worker
        print(json.dumps(worker(name, int(side), int(keys), int(values), mode)))
        return 0

    cases = [(s, c) for c in args.keys for s in args.sizes]
    if args.wide_keys:
        cases += [(s, args.wide_keys) for s in args.wide_sizes]
    rows = ["| positions (N = M) | C | D | mode | method | peak above baseline | time | vs dense peak |",
            "|---|---|---|---|---|---|---|---|"]
    for side, keys in cases:
        matrix_gb = (side * side) ** 2 * 4 / 1e9
        for values in args.values:
            for mode in ("fwd", "fwd+bwd"):
                dense_peak = None
                for name in args.methods:
                    if name.startswith("sdpa") and (side not in args.sdpa_sizes or keys != args.keys[0]):
                        continue
                    label = f"| {side}×{side} = {side * side:,} | {keys} | {values} | {mode} | {name} |"
                    if name != "ours" and matrix_gb > args.max_dense_gb:
                        rows.append(f"{label} not run: one N×M fp32 matrix is {matrix_gb:.1f} GB | | |")
                        print(rows[-1], flush=True)
                        continue
                    r = measure(name, side, keys, values, mode)
                    if "error" in r:
                        rows.append(f"{label} failed: {r['error']} | | |")
                    else:
                        dense_peak = r["peak_mb"] if name == "dense" else dense_peak
                        ratio = f"{r['peak_mb'] / dense_peak:.3f}" if dense_peak and name != "dense" else ""
                        rows.append(f"{label} {r['peak_mb']:,.0f} MB | {r['seconds']:.2f} s | {ratio} |")
                    print(rows[-1], flush=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    header = (f"\n### {stamp}: cpu, τ = {TEMPERATURE}, batch 1\n\nCommand: `{' '.join(['python', *sys.argv])}` "
              f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, torch threads "
              f"{torch.get_num_threads()}).\nMachine: {platform.machine()}, {os.cpu_count()} CPUs, torch "
              f"{torch.__version__}, load average at the end {load:.1f}.\n\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        f.write(header + "\n".join(rows) + "\n")
    print(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
