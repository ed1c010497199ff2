"""Track how alike MSCA's K α maps are while it trains at the `cpu` preset on `coco_stuff_scenes` (the stand-in).

Every 50 steps (every 10 for the first 50), on the first 8 retrieving test cases: per scale, the mean |Pearson r|
between the K α maps (``alpha_correlation``), s₂/s₁ of the exemplar's compressed features F_x2 over space, s₂/s₁
of W_x, and the mean gate. Rows go to ``<out>.csv`` in the columns of ``attention_collapse.csv``. Uncalibrated
(random VGG-19), seed 0. Run from the repository root, e.g.:

    python results/reference/coco_stuff_scenes_cpu/track_attention.py out=/tmp/pytorch_nopre steps=300 \\
        alignment_init=pytorch pretrain_steps=0 [key_norm=true] [paths.results=...]

``key_norm=true`` instance-normalises F_x2 before φ (an experiment, not a parameter of the method). Takes about
1 s per step on one core, plus the retrieval energies once if ``paths.results`` has no cache (about 20 min).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

from bench.config import compose_run
from bench.runner import build_protocol, run_method_params, seed_everything
from methods import METHODS, FitContext, create_method
from methods.msca import attention
from protocols.coco_stuff.figures import alpha_correlation

COLUMNS = ["alignment_init", "pretrain_steps", "step", "scale", "alpha_corr", "fx2_s2_over_s1", "W_x_s2_over_s1",
           "gate_mean"]


def s2_over_s1(x: torch.Tensor) -> torch.Tensor:
    """[..., C, P] → s₂/s₁ of each matrix centred over P (1 = two equal directions, 0 = rank one)."""
    s = torch.linalg.svdvals(x - x.mean(-1, keepdim=True))
    return s[..., 1] / s[..., 0]


def key_normed_maps(self: attention.MSCAModule, fx2: torch.Tensor, fc1: torch.Tensor, fc2: torch.Tensor,
                    c1: torch.Tensor | None = None, c2: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Eqs. 4–7 with F_x2 instance-normalised inside φ only (the experiment of ``key_norm=true``)."""
    alpha = attention.spatial_softmax(self.phi(torch.cat([F.instance_norm(fx2), fc2], 1)))
    gate = torch.sigmoid(self.mlp(torch.cat([fc1.mean((2, 3)), fc2.mean((2, 3))], 1)))
    return {"alpha": alpha, "beta": self.psi(fc1).softmax(1), "gate": gate}


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv)
    out, steps = Path(args.pop("out")), int(args.pop("steps", 1200))
    if yaml.safe_load(args.pop("key_norm", "false")):
        attention.MSCAModule.maps = key_normed_maps  # type: ignore[method-assign]
    results = args.pop("paths.results", "results")
    cfg = compose_run(["protocol=coco_stuff_scenes", "scale=cpu", "methods=[msca]", "allow_uncalibrated=true",
                       f"paths.results={results}"])
    protocol = build_protocol(cfg)
    protocol.prepare()
    params = run_method_params(cfg.methods.msca, cfg, protocol.method_settings(), METHODS.get("msca").defaults)
    params |= {k: yaml.safe_load(v) for k, v in args.items()} | {"steps": steps, "checkpoint_every": 0}
    seed_everything(0)
    method = create_method("msca", **params)
    test, task = protocol.data.test, protocol.tasks["retrieving"]  # type: ignore[attr-defined]

    def one_hot(maps: object) -> torch.Tensor:
        return torch.stack([torch.from_numpy(test.label_set.one_hot(m, dont_care=True)) for m in maps]).float()

    content, labels = one_hot(test.labels[:8]), one_hot(task.exemplar_labels[:8])
    exemplar = torch.from_numpy(task.exemplars[:8]).permute(0, 3, 1, 2).float() / 255
    rows: list[list[object]] = []

    def record(done: int, total: int) -> None:
        if (done % 50 if done > 50 else done % 10) and done != total:
            return
        g = method.G  # type: ignore[attr-defined]
        with torch.no_grad():
            c1, x2, c2 = method._inputs(content, exemplar, labels)  # type: ignore[attr-defined]
            vgg = method._vgg(x2)  # type: ignore[attr-defined]
            _, maps = g.condition(vgg, c1, c2)
            for i, m in enumerate(maps):
                fx2 = g.compress[i](vgg[i]).flatten(2)
                rows.append([params["alignment_init"], params["pretrain_steps"], done, i,
                             round(float(alpha_correlation(m["alpha"]).mean()), 3),
                             round(float(s2_over_s1(fx2).mean()), 4),
                             round(float(s2_over_s1(g.compress[i].weight[:, :, 0, 0])), 4),
                             round(float(m["gate"].mean()), 3)])
        print(done, [r[4] for r in rows[-5:]], flush=True)
        method.train_mode()

    build = method._build  # type: ignore[attr-defined]

    def build_and_record(seed: int) -> None:  # the fit builds the networks: record step 0 right after
        build(seed)
        record(0, steps)

    method._build = build_and_record  # type: ignore[attr-defined]
    method.fit(protocol.train_data(), FitContext(workdir=out.with_suffix(".ckpt"), seed=0, progress=False,
                                                 on_step=record))
    with out.with_suffix(".csv").open("w", newline="") as f:
        csv.writer(f).writerows([COLUMNS, *rows])


if __name__ == "__main__":
    main(sys.argv[1:])
