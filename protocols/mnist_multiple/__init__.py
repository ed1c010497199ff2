"""``mnist_multiple``: EGSC-IT's MNIST-Multiple protocol (paper §4 "Multi-digit translation", Table 5).

Each method trains on the unpaired train split, then translates the test split A→B and B→A with the paired exemplars
(content i ↔ exemplar i); SSIM against the exact ground truth (the content's digits and layout in the exemplar's
class colours and background, or in its black/white scheme), mean ± std over test images, as ``ssim`` (per-channel
RGB mean) and ``ssim_luma`` (BT.601 luma), like ``mnist_single``. Images are 112×112 and
rendered in chunks (a rendered 10k test split would take 1.5 GB per image kind). Figures: the qualitative grid and
the t-SNE of A→B translations vs real B test images (paper Fig. 6/13).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.columns import TRANSLATION_OF, Column
from datasets.base import TrainData
from datasets.mnist import load_digit_source
from datasets.mnist_multiple import GridImageSet, MnistMultipleSplit, build_mnist_multiple
from methods.base import Method
from metrics.base import MetricValue, describe
from protocols import PROTOCOLS
from protocols.base import DataProvenance, EvalResult, Offers, Protocol, ReportedRow
from protocols.figures import qualitative_grid
from protocols.kit import SSIM_COLOURS, Gathered, GroundTruthOracle, colour_ssims, translate_batches
from protocols.mnist_multiple.reported import REPORTED
from protocols.tsne import tsne_figure


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


@PROTOCOLS.register("mnist_multiple")
class MnistMultiple(Protocol):
    paper = "EGSC-IT (Ma et al., ICLR 2019) §4 multi-digit, Table 5"
    primary = "ssim A→B"  # Table 5's SSIM, first direction
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
        scale = self.scale_cfg.get("name", "smoke")
        self.ssims = colour_ssims(self.settings_cfg.get("ssim", {}), self.name)
        samples = dict(self.settings_cfg.get("samples", {})).get(scale, {})
        self.n_train: int | None = samples.get("train")
        self.n_test: int | None = samples.get("test")
        self.batch_size = self.setting("batch_size", 64, int, 1)
        self.grid_rows = self.setting("grid_rows", 3, int, 1)
        tsne = dict(self.settings_cfg.get("tsne", {}))
        self.tsne_samples = int(dict(tsne.get("samples", {})).get(scale, 300))
        self.tsne_options = {k: tsne[k] for k in ("pca_dims", "perplexity") if k in tsne}

    # -- data -----------------------------------------------------------------------------------------------------
    def prepare(self) -> DataProvenance:
        digits = load_digit_source(self.data_cfg, self.name)
        train, test = build_mnist_multiple(digits.train_images, digits.train_labels, digits.test_images,
                                           digits.test_labels, seed=int(self.data_cfg.get("seed", 0)))
        self.train, self.test = train.head(self.n_train), test.head(self.n_test)
        fingerprint = f"{self.train.fingerprint()[:8]}{self.test.fingerprint()[:8]}"
        self.provenance = DataProvenance(
            source=digits.source, fingerprint=fingerprint, files=digits.files,
            stand_in="scikit-learn's 8×8 digits, NOT MNIST" if digits.source == "digits" else "",
            description=f"MNIST-Multiple from {digits.source}: {len(self.train)} train pairs, {len(self.test)} test "
                        f"pairs (112×112), data seed {self.data_cfg.get('seed', 0)}",
        )
        return self.provenance

    def sample_counts(self) -> dict[str, int]:
        return {"train": len(self.train), "test": len(self.test)}

    def metric_settings(self) -> dict[str, Any]:
        return {column: metric.settings() for column, metric in self.ssims.items()}

    def train_data(self) -> TrainData:
        return TrainData(a=GridImageSet(self.train, "A"), b=GridImageSet(self.train, "B"), kind="unpaired",
                         meta={"name": "mnist_multiple", "size": 112})

    def test_split(self) -> MnistMultipleSplit:
        return self.test

    # -- evaluation ---------------------------------------------------------------------------------------------
    def _case(self, direction: str) -> tuple[Gathered, Gathered, Gathered]:
        """Content, exemplar and ground truth of every test pair, rendered per batch (a whole split won't fit)."""
        t, rows = self.test, np.arange(len(self.test))
        a, b = Gathered(lambda i: to_tensor(t.a(i)), rows), Gathered(lambda i: to_tensor(t.b(i)), rows)
        if direction == "AB":
            return a, b, Gathered(lambda i: to_tensor(t.gt_a2b(i)), rows)
        return b, a, Gathered(lambda i: to_tensor(t.gt_b2a(i)), rows)

    def oracle(self) -> Method:
        cases = (self._case(direction) for direction in TRANSLATION_OF)
        return GroundTruthOracle((content[:], exemplar[:], truth[:]) for content, exemplar, truth in cases)

    def evaluate(self, method: Method) -> EvalResult:
        method.eval_mode()
        values: dict[Column, MetricValue] = {}
        samples: dict[str, torch.Tensor] = {}
        keep = max(self.grid_rows, self.tsne_samples)
        for direction, translation in TRANSLATION_OF.items():
            content, exemplar, truth = self._case(direction)
            scores: dict[str, list[torch.Tensor]] = {column: [] for column in self.ssims}
            kept: list[torch.Tensor] = []
            for rows, fake in translate_batches(method, content, exemplar, direction, self.batch_size, self.seed):
                real = truth[rows]
                for column, metric in self.ssims.items():
                    scores[column].append(metric.per_image(fake, real))
                if sum(len(k) for k in kept) < keep:
                    kept.append(fake)
            for column, metric in self.ssims.items():
                value = MetricValue.from_samples(metric.name, torch.cat(scores[column]), metric.direction,
                                                 metric.calibrated)
                values[Column(column, translation)] = describe(value, metric)
            fakes = torch.cat(kept)
            samples[direction] = fakes[: self.grid_rows]
            if direction == "AB":
                samples["tsne_AB"] = fakes[: self.tsne_samples]
        return EvalResult(values=values, samples=samples)

    def reported(self) -> list[ReportedRow]:
        return list(REPORTED)

    def write_figures(self, samples: dict[str, dict[str, torch.Tensor]], out_dir: Path) -> list[Path]:
        k = self.grid_rows
        idx = np.arange(min(k, len(self.test)))
        a, b = to_tensor(self.test.a(idx)), to_tensor(self.test.b(idx))
        panels = {
            "A→B": (a, b, to_tensor(self.test.gt_a2b(idx)), {m: s["AB"] for m, s in samples.items() if "AB" in s}),
            "B→A": (b, a, to_tensor(self.test.gt_b2a(idx)), {m: s["BA"] for m, s in samples.items() if "BA" in s}),
        }
        source = self.provenance.source if self.provenance else ""
        paths = [qualitative_grid(panels, out_dir / "grid.png", title=f"MNIST-Multiple ({source})")]
        fakes = {m: s["tsne_AB"] for m, s in samples.items() if "tsne_AB" in s}
        if fakes:
            n = max(len(f) for f in fakes.values())
            real_b = to_tensor(self.test.b(np.arange(min(n, len(self.test)))))
            paths.append(tsne_figure(real_b, fakes, out_dir / "tsne.png", seed=self.seed,
                                     title=f"MNIST-Multiple A→B: translations vs real B ({source})",
                                     **self.tsne_options))
        return paths
