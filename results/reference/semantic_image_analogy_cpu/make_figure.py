"""One figure for the `semantic_image_analogy` protocol at the `cpu` scale on the `scenes` stand-in: per case (row)
the source image, its layout, the target layout, one column per method, and the exact answer.

Each `bench run` draws `cases.png` with only the methods of that run, and the rows of the two tables come from
four runs (SPADE's under setting a97210b818aa, whose cases are the same: same data fingerprint). This script takes
every method's outputs from the `study/<case>/<method>.png` files of the run that the tables use (lossless PNGs of
the outputs as scored), rebuilds the cases (the same seeded pairs, checked against the data fingerprint that the
runs logged), and draws them with the protocol's own `case_figure`. Run from the repository root:

    python results/reference/semantic_image_analogy_cpu/make_figure.py runs=/work/run16/runs \\
        out=results/reference/semantic_image_analogy_cpu/cases.png

Building the 400-image pool takes under a minute on one core.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

from protocols.semantic_image_analogy.data import load_stand_in
from protocols.semantic_image_analogy.figures import case_figure, safe_label

FINGERPRINT = "6057e2d84609519c"  # data fingerprint of every run in table.md
# column order: the reference rows, then the methods; each with the run whose outputs table.md reports
RUNS = {
    "input_copy": "semantic_image_analogy-20261130-080437-61b1",
    "exemplar_copy": "semantic_image_analogy-20261130-080437-61b1",
    "colour_transfer": "semantic_image_analogy-20261130-080437-61b1",
    "image_analogies": "semantic_image_analogy-20261130-080437-61b1",
    "deep_image_analogy": "semantic_image_analogy-20261130-093642-a047",
    "singan": "semantic_image_analogy-20261130-080437-61b1",
    "sia": "semantic_image_analogy-20261130-105352-3430",
    "spade": "semantic_image_analogy-20261130-143423-a1d2",  # setting a97210b818aa: same cases (same fingerprint)
}


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv)
    runs = Path(args.get("runs", "/work/run16/runs"))
    out = Path(args.get("out", "results/reference/semantic_image_analogy_cpu/cases.png"))
    config = yaml.safe_load(Path("bench/configs/protocol/semantic_image_analogy.yaml").read_text())
    cases = load_stand_in("scenes", dict(config["samples"]["cpu"]), seed=0)
    if cases.fingerprint != FINGERPRINT:
        raise SystemExit(f"data fingerprint {cases.fingerprint} != {FINGERPRINT}: not the runs' cases")
    outputs: dict[str, torch.Tensor] = {}
    for method, run in RUNS.items():
        study = runs / run / "study"
        if not study.is_dir():
            print(f"skipped {method}: no {study}")
            continue
        frames = [np.array(Image.open(study / name / f"{safe_label(method)}.png").convert("RGB"))
                  for name in cases.names]
        outputs[method] = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255.0
    path = case_figure(cases, outputs, out, "semantic_image_analogy (cpu) on scenes, the procedural stand-in")
    print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
