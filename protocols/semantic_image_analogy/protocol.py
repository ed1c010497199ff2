"""Semantic Image Analogy's evaluation (Li et al., SIA, §4.2, Table 1) as the protocol ``semantic_image_analogy``;
every choice and its source: ``README.md`` here.

Cases (``data.py``): seeded pairs of COCO-Stuff images with the same class labels (``data.root=<folder>``), else of
the procedural ``scenes`` world (a stand-in, named so in every table; exact answers known). Per case a method gets
the target layout P' (one-hot) as content, the source image I as exemplar, the source layout P as
``exemplar_labels`` and, if it ``needs_target_image`` (Deep Image Analogy), the image behind P'.

Paired methods (SPADE, which SIA §4.3.3 compares with) train once, in the runner, on a training split with no case
image (``train_data``). Single-image methods (contract §1) are fit here once per case, each in its own workdir under the
runner's checkpoint folder (``<workdir>/cases/<case id>/``), whose ``output.png`` caches the case's output: a run
stopped between cases resumes at the first case without one. Columns: ``pixel_accuracy_<scorer>`` / ``miou_<scorer>``
(``scoring.py``) and, on the world, ``psnr_exact`` / ``ssim_exact`` / ``lpips_exact`` against the exact answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from core.columns import TRANSLATION_OF, Column
from core.errors import BenchError
from datasets.base import TrainData
from methods.base import Method
from metrics import create_metric
from metrics.base import MetricValue, companions
from protocols.base import DataProvenance, EvalResult, Offers, Protocol, ReportedRow
from protocols.kit import GroundTruthOracle, quantise, scale_counts, stand_in_sources
from protocols.labelled import LabelMapSet, PhotoSet, choose_source, content_encoding
from protocols.semantic_image_analogy.data import Cases, load_real, load_stand_in, train_real, train_stand_in
from protocols.semantic_image_analogy.figures import case_figure, write_study
from protocols.semantic_image_analogy.scoring import build_scorer, panoptic_available, scorer_names

log = logging.getLogger(__name__)
T = TRANSLATION_OF["AB"]
EXACT = ("psnr", "ssim", "lpips")
TABLE1 = "Semantic Image Analogy §4.2 Table 1"
# method: (average user rank ↓, pixel accuracy % ↑, mIoU % ↑)
_REPORTED = {"image_analogies": (2.26, 43.9, 44.0), "deep_image_analogy": (2.005, 41.9, 38.7),
             "sia": (1.735, 54.0, 45.7)}


def images(array: np.ndarray) -> torch.Tensor:
    """uint8 [N,S,S,3] → float32 [N,3,S,S] in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float() / 255.0


class SemanticImageAnalogy(Protocol):
    paper = "Semantic Image Analogy §4.2, Table 1 (pixel accuracy, mIoU by Detectron2 panoptic; user ranking)"
    primary = "miou_deeplabv3 A→B"  # Table 1's mIoU by the scorer every install has (panoptic needs detectron2)
    offers = Offers(training=frozenset({"single_image", "paired"}), label_maps=True, exemplar_labels=True,
                    directions="AB", target_image=True)  # paired: SPADE (SIA §4.3.3, Fig. 8)
    reader: ClassVar[str] = "coco_stuff"
    world: ClassVar[str] = "scenes"
    exact_metrics = ("ssim_exact", "lpips_exact")  # psnr_exact too, but PSNR has no finite best

    @classmethod
    def data_sources(cls) -> list[str]:
        return stand_in_sources(cls.world, cls.reader, "data.root=<folder in the official layout>")

    @classmethod
    def columns(cls) -> list[Column]:
        seg = [Column(f"{m}_{s}", T) for s in scorer_names() for m in ("pixel_accuracy", "miou")]
        return seg + [Column(f"{m}_exact", T) for m in EXACT]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale, self.counts = scale_counts(self.name, self.scale_cfg, self.settings_cfg)
        self.cases: Cases | None = None
        self.metrics: dict[str, Any] = {}
        self.source = ""
        self.training: TrainData | None = None  # the paired training split, read when a paired method asks
        self.training_note = ""  # what it holds, in every paired method's row notes

    # -- data -----------------------------------------------------------------------------------------------------
    def prepare(self) -> DataProvenance:
        source = self.source = choose_source(self.name, self.data_cfg, self.reader, self.world)
        seed = int(self.data_cfg.get("seed", 0))
        if source == self.world:
            self.cases = load_stand_in(self.world, self.counts, seed)
        else:
            self.cases = load_real(self.reader, self.data_cfg, dict(self.settings_cfg.get("reader", {})),
                                   self.counts, list(self.settings_cfg.get("pool_splits", ["val", "train"])), seed)
        common = {"allow_uncalibrated": self.allow_uncalibrated, "seed": self.metric_seed}
        scorers = dict(self.settings_cfg.get("scorers", {}))
        self.metrics = {s: build_scorer(s, dict(scorers.get(s, {})), self.allow_uncalibrated, self.metric_seed)
                        for s in scorer_names()}
        if self.cases.exact is not None:
            lp = dict(self.settings_cfg.get("lpips", {}))
            self.metrics |= {"psnr": create_metric("psnr"), "ssim": create_metric("ssim"),
                             "lpips": create_metric("lpips", net=lp.get("net", "alex"),
                                                    lpips_version=str(lp.get("version", "0.1")), **common)}
        c = self.cases
        missing = "" if panoptic_available() else ("; the paper's Detectron2 panoptic scores are absent: detectron2 "
                                                    "is not installed (pip install -e .[detectron2])")
        self.provenance = DataProvenance(source=c.source, fingerprint=c.fingerprint, files=c.files,
                                         description=f"{c.description}; {c.rule}{missing}",
                                         stand_in=f"procedural stand-in, NOT {self.reader}"
                                         if source == self.world else "")
        return self.provenance

    @property
    def data(self) -> Cases:
        if self.cases is None:
            raise RuntimeError("call prepare() first")
        return self.cases

    def method_settings(self) -> dict[str, Any]:
        c = self.data.label_nc
        return {"input_nc": c, "label_nc": c, "dataset": "coco_stuff"}

    def case_data(self, case: int) -> TrainData:
        """Contract §1: the source image and its layout (a), the target layout in ``meta``."""
        c = self.data
        s, t = int(c.sources[case]), int(c.targets[case])
        pool = c.pool
        a = [{"input": pool.inputs([s])[0], "label_map": torch.from_numpy(pool.labels[s]).long()}]
        b = [{"image": pool.image_tensor([s])[0]}]
        size = list(pool.labels.shape[1:])
        meta = {"target": {"input": pool.inputs([t])[0], "label_map": torch.from_numpy(pool.labels[t]).long()},
                "case": c.names[case], "input_nc": c.label_nc, "label_nc": c.label_nc, "size": size,
                "name": self.name, "data_source": c.source}
        return TrainData(a=a, b=b, kind="single_image", meta=meta)  # type: ignore[arg-type]

    def train_data(self) -> TrainData:
        """What a paired method trains on (SIA §4.3.3 compares with a SPADE trained on Flickr landscapes): label map ↔
        image pairs of a training split that holds no case image (``data.train_stand_in`` / ``data.train_real``;
        count ``samples.<scale>.train``), read on first use: runs of single-image methods never read it, since those
        are fit per case by ``evaluate`` (``case_data``), not by the runner."""
        if self.training is None:
            c, size, n = self.data, int(self.data.pool.labels.shape[1]), self.counts.get("train")
            seed = int(self.data_cfg.get("seed", 0))
            if self.source == self.world:
                split, sentence = train_stand_in(self.world, n, size, seed)
            else:
                split, sentence = train_real(self.reader, self.data_cfg, dict(self.settings_cfg.get("reader", {})), n,
                                             size, c.held_out, self.scale)
            meta = {"name": self.name, "data_source": c.source, "size": size, **self.method_settings(),
                    "note": f"paired (label map i ↔ image i): {sentence}; a[i]['image'] is the colour-encoded map"}
            self.training = TrainData(a=LabelMapSet(split), b=PhotoSet(split), kind="paired", meta=meta)
            self.training_note = f"trained on {len(split)} label map ↔ image pairs: {sentence}"
            log.info("%s: paired methods train on %d pairs: %s", self.name, len(split), sentence)
        return self.training

    def sample_counts(self) -> dict[str, int]:
        c = self.data
        train = self.counts.get("train")  # paired methods' training pairs (null: the whole train split)
        return {"cases": len(c), "pool": len(c.pool), "size": int(c.pool.labels.shape[1]),
                "train": "all" if train is None else int(train)}

    def metric_settings(self) -> dict[str, Any]:
        return {"pairs": self.data.rule, **{name: m.settings() for name, m in self.metrics.items()}}

    @property
    def calibrated(self) -> bool:
        return all(m.calibrated for m in self.metrics.values())

    # -- evaluation -----------------------------------------------------------------------------------------------
    def case_output(self, method: Method, case: int) -> torch.Tensor:
        """uint8 [3,S,S]: the method's answer for one case (single-image methods: fit first, cached on disk)."""
        caps, c = type(method).capabilities, self.data
        cache: Path | None = None
        if caps.training == "single_image":
            if self.fit_context is None:
                raise BenchError(f"{method.registry_name} trains per case but the protocol got no FitContext",
                                 hint="run it through `bench run` (the runner hands the protocol its context)")
            workdir = Path(self.fit_context.workdir) / "cases" / c.names[case]
            cache = workdir / "output.png"
            if cache.exists():
                return torch.from_numpy(np.array(Image.open(cache).convert("RGB"))).permute(2, 0, 1).contiguous()
            method.fit(self.case_data(case), replace(self.fit_context, workdir=workdir))
        method.eval_mode()
        s, t = [int(c.sources[case])], [int(c.targets[case])]
        device = method.device
        layout = self.layouts(type(method))
        extra = {}
        if caps.needs_exemplar_labels:
            extra["exemplar_labels"] = layout(s).to(device)
        if caps.needs_target_image:
            extra["target_image"] = c.pool.image_tensor(t).to(device)
        with torch.no_grad():
            out = method.translate(layout(t).to(device), c.pool.image_tensor(s).to(device), "AB", self.seed + case,
                                   **extra)
        expected = (1, 3, *c.pool.labels.shape[1:])
        if tuple(out.shape) != expected:
            raise BenchError(f"{method.registry_name} returned {tuple(out.shape)} (expected {expected})")
        out8 = quantise(out.float().cpu().clamp(0, 1))[0]
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(".tmp.png")
            Image.fromarray(out8.permute(1, 2, 0).numpy()).save(partial)
            partial.replace(cache)  # atomic: a killed run never leaves half an output
        return out8

    def layouts(self, method_cls: type[Method]) -> Callable[[list[int]], torch.Tensor]:
        """How a method gets layouts: one-hot [n,C,S,S] for label-map methods (``needs_label_maps`` or an
        ``input_nc`` parameter), else colour-encoded [n,3,S,S] in [0,1] in the label set's palette (as MSCA's)."""
        pool = self.data.pool
        if content_encoding(method_cls) == "one_hot":
            return pool.inputs
        return lambda rows: torch.from_numpy(pool.label_set.colourise(pool.labels[rows])).permute(0, 3, 1, 2) / 255.0

    def evaluate(self, method: Method) -> EvalResult:
        c = self.data
        out = torch.stack([self.case_output(method, k) for k in range(len(c))]).float() / 255.0
        values: dict[Column, MetricValue] = {}
        labels = torch.from_numpy(c.scored).long()
        for name in scorer_names():
            miou = self.metrics[name](out, labels)
            note = (f"{name} segmentation of the outputs vs the target layout (COCO-Stuff ids) through "
                    f"{self.metrics[name].mapping.source}; {c.rule}")
            accuracy = companions(miou)[0]
            miou.extra.pop("companions", None)
            for value, metric in ((accuracy, "pixel_accuracy"), (miou, "miou")):
                value.name = f"{metric}_{name}"
                value.warnings.insert(0, note)
                values[Column(value.name, T)] = value
        trained = [self.training_note] if type(method).capabilities.training == "paired" and self.training_note else []
        if c.exact is not None:
            truth = images(c.exact)
            for metric in EXACT:
                value = self.metrics[metric](out, truth)
                value.name = f"{metric}_exact"
                value.warnings.insert(0, "vs the exact answer (the target layout rendered in the source's style)")
                values[Column(value.name, T)] = value
        for value in values.values():
            value.warnings[:0] = trained
        return EvalResult(values=values, samples={"AB": out})

    def oracle(self) -> Method | None:
        """On the world: the exact answer of every case."""
        c = self.data
        if c.exact is None:
            return None
        content = self.layouts(GroundTruthOracle)(list(c.targets))  # what it is given: colour-encoded layouts
        return GroundTruthOracle([(content, c.pool.image_tensor(c.sources), images(c.exact))])

    # -- reporting ------------------------------------------------------------------------------------------------
    def reported(self) -> list[ReportedRow]:
        """Table 1: average user rank (↓), pixel accuracy and mIoU (↑) for IA, DIA and SIA on the paper's 10
        COCO-Stuff pairs. The table prints percent; the rows hold fractions (÷100), as our columns do."""
        source = self.provenance.source if self.provenance else ""
        caveat = "" if source.startswith(self.reader) else f"; real COCO-Stuff, not comparable with rows on {source}"
        rows = []
        for method, (rank, accuracy, miou) in _REPORTED.items():
            for metric, value in (("average_rank", rank), ("pixel_accuracy_panoptic", accuracy / 100),
                                  ("miou_panoptic", miou / 100)):
                rows.append(ReportedRow(method, metric, "" if metric == "average_rank" else T, value, None,
                                        f"reported: {TABLE1}{caveat}"))
        return rows

    def write_figures(self, samples: dict[str, dict[str, torch.Tensor]], out_dir: Path) -> list[Path]:
        if self.cases is None:
            return []
        outputs = {m: s["AB"] for m, s in samples.items() if "AB" in s}
        title = f"{self.name} on {self.cases.source}"
        return [case_figure(self.cases, outputs, out_dir / "cases.png", title),
                write_study(self.cases, outputs, out_dir / "study")]
