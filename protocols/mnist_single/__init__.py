"""``mnist_single``: EGSC-IT's MNIST-Single protocol (paper §4.1, Table 2).

Each method trains on the unpaired train split, then translates the test split A→B and B→A with the paired
exemplars (content i ↔ exemplar i); SSIM against the exact ground truth (the content digit in the exemplar's
colours), reported as mean ± std over test images, twice: ``ssim`` (mean of per-channel RGB SSIMs, where a channel
constant in both images scores a free 1; the tables' SSIM before issue 13, and the columns the paper's rows are printed
in) and ``ssim_luma`` (SSIM of the BT.601 luma). The paper does not define its SSIM: neither is known to be its
definition (README, "SSIM", has the measured reference rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.columns import TRANSLATION_OF, Column
from datasets.base import TensorImageSet, TrainData
from datasets.mnist import load_digit_source
from datasets.mnist_single import MnistSingleSplit, build_mnist_single
from methods.base import Method
from protocols import PROTOCOLS
from protocols.base import DataProvenance, EvalResult, Offers, Protocol, ReportedRow
from protocols.figures import qualitative_grid
from protocols.kit import SSIM_COLOURS, GroundTruthOracle, colour_ssims, translate_all
from protocols.mnist_single.reported import REPORTED
from protocols.tsne import tsne_figure

# Translations per scale in the t-SNE figure (paper Fig. 5) when the protocol config has no `tsne` block
TSNE_SAMPLES = {"smoke": 48, "cpu": 300, "paper": 300}


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


@PROTOCOLS.register("mnist_single")
class MnistSingle(Protocol):
    paper = "EGSC-IT (Ma et al., ICLR 2019) §4.1, Table 2"
    primary = "ssim A→B"  # Table 2's SSIM, first direction
    offers = Offers(training=frozenset({"unpaired"}), directions="both")
    exact_metrics = tuple(SSIM_COLOURS)

    @classmethod
    def data_sources(cls) -> list[str]:
        return ["digits (scikit-learn, offline default)", "mnist (data.root=<IDX folder>)",
                "mnist-train-rebuilt (../shared/data/mnist)"]

    @classmethod
    def columns(cls) -> list[Column]:
        return [Column(m, t) for m in SSIM_COLOURS for t in TRANSLATION_OF.values()]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ssims = colour_ssims(self.settings_cfg.get("ssim", {}), self.name)
        samples = dict(self.settings_cfg.get("samples", {})).get(self.scale_cfg.get("name", "smoke"), {})
        self.n_train: int | None = samples.get("train")
        self.n_test: int | None = samples.get("test")
        self.batch_size = self.setting("batch_size", 256, int, 1)
        self.grid_rows = self.setting("grid_rows", 6, int, 1)
        tsne = dict(self.settings_cfg.get("tsne", {}))
        scale = self.scale_cfg.get("name", "smoke")
        self.tsne_samples = int(dict(tsne.get("samples", TSNE_SAMPLES)).get(scale, 300))
        self.tsne_options = {k: tsne[k] for k in ("pca_dims", "perplexity") if k in tsne}

    # -- data -----------------------------------------------------------------------------------------------------
    def prepare(self) -> DataProvenance:
        digits = load_digit_source(self.data_cfg, self.name)
        train, test = build_mnist_single(digits.train_images, digits.train_labels, digits.test_images,
                                         digits.test_labels, seed=int(self.data_cfg.get("seed", 0)))
        self.train, self.test = train.head(self.n_train), test.head(self.n_test)
        fingerprint = f"{self.train.fingerprint()[:8]}{self.test.fingerprint()[:8]}"
        self.provenance = DataProvenance(
            source=digits.source, fingerprint=fingerprint, files=digits.files,
            stand_in="scikit-learn's 8×8 digits, NOT MNIST" if digits.source == "digits" else "",
            description=f"MNIST-Single from {digits.source}: {len(self.train)} train pairs, {len(self.test)} test "
                        f"pairs, data seed {self.data_cfg.get('seed', 0)}",
        )
        return self.provenance

    def sample_counts(self) -> dict[str, int]:
        return {"train": len(self.train), "test": len(self.test)}

    def metric_settings(self) -> dict[str, Any]:
        return {column: metric.settings() for column, metric in self.ssims.items()}

    def train_data(self) -> TrainData:
        return TrainData(a=TensorImageSet(self.train.a, class_ids=self.train.label_a),
                         b=TensorImageSet(self.train.b, class_ids=self.train.label_b), kind="unpaired",
                         meta={"name": "mnist_single", "size": 28})

    def test_split(self) -> MnistSingleSplit:
        return self.test

    # -- evaluation ---------------------------------------------------------------------------------------------
    def cases(self) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Per direction: content, exemplar and exact translation of every test pair, float [N,3,28,28] in [0,1]."""
        a, b = _to_tensor(self.test.a), _to_tensor(self.test.b)
        return {"AB": (a, b, _to_tensor(self.test.gt_a2b)), "BA": (b, a, _to_tensor(self.test.gt_b2a))}

    def oracle(self) -> Method:
        return GroundTruthOracle(self.cases().values())

    def evaluate(self, method: Method) -> EvalResult:
        method.eval_mode()
        values, samples = {}, {}
        for direction, (content, exemplar, truth) in self.cases().items():
            fake = translate_all(method, content, exemplar, direction, self.batch_size, self.seed)
            for column, metric in self.ssims.items():
                values[Column(column, TRANSLATION_OF[direction])] = metric(fake, truth)
            samples[direction] = fake[: self.grid_rows]
            if direction == "AB":
                samples["tsne_AB"] = fake[: self.tsne_samples]
        return EvalResult(values=values, samples=samples)

    def reported(self) -> list[ReportedRow]:
        return list(REPORTED)

    def write_figures(self, samples: dict[str, dict[str, torch.Tensor]], out_dir: Path) -> list[Path]:
        k = self.grid_rows
        a, b = _to_tensor(self.test.a[:k]), _to_tensor(self.test.b[:k])
        panels = {
            "A→B": (a, b, _to_tensor(self.test.gt_a2b[:k]), {m: s["AB"] for m, s in samples.items() if "AB" in s}),
            "B→A": (b, a, _to_tensor(self.test.gt_b2a[:k]), {m: s["BA"] for m, s in samples.items() if "BA" in s}),
        }
        path = out_dir / "grid.png"
        qualitative_grid(panels, path, title=f"MNIST-Single ({self.provenance.source if self.provenance else ''})")
        paths = [path]
        fakes = {m: s["tsne_AB"] for m, s in samples.items() if "tsne_AB" in s}
        if fakes:  # paper Fig. 5: A→B translations vs the real B test images
            n = max(len(f) for f in fakes.values())
            paths.append(tsne_figure(_to_tensor(self.test.b[:n]), fakes, out_dir / "tsne.png", seed=self.seed,
                                     title=f"MNIST-Single A→B: translations vs real B "
                                           f"({self.provenance.source if self.provenance else ''})",
                                     **self.tsne_options))
        return paths
