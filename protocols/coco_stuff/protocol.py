"""MSCA's evaluation (Zheng et al., ECCV 2020, §4, Table 1) as the protocol ``coco_stuff_scenes``; every choice and
its source: ``protocols/coco_stuff/README.md``.

Data: COCO-Stuff's ``msca_outdoor`` subset with ``data.root=<folder>`` (``data.py``), else the procedural ``scenes``
world (named as a stand-in in every table). Each test label map c₁ is translated once per task (``tasks.py``:
duplicating, mirroring, retrieving) under that task's exemplar x₂, with ``exemplar_labels=`` c̃₂ for methods that
declare ``needs_exemplar_labels``. Content: one-hot for label-map methods, colour-encoded otherwise (contract §3).

Columns, one per (metric, task), all against the task's ground truth: ``psnr``, ``lpips`` (VGG, v0.1: "the
linearly calibrated VGG model"), ``fid`` (outputs vs the task's ground-truth images; KID beside it on small samples)
and ``style_loss`` (Gatys' Gram loss, MSCA's [9]; reference set by ``style_loss.reference``). On a world the
retrieving task also gets ``psnr_exact``, ``lpips_exact`` and ``style_loss_exact`` against its exact ground truth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from core.columns import Column
from core.errors import BenchError
from datasets.base import TrainData
from methods.base import Method
from metrics import create_metric
from metrics.base import MetricValue, companions
from metrics.cache import ArrayCache
from protocols.base import DataProvenance, EvalResult, Offers, Protocol, ReportedRow
from protocols.coco_stuff import figures
from protocols.coco_stuff.data import ENCODED, SceneData, encode, load_real, load_stand_in
from protocols.coco_stuff.reported import reported_rows
from protocols.coco_stuff.retrieval import Retrieval, SiftFlowMatcher, pairing_table
from protocols.coco_stuff.tasks import (
    EXEMPLAR_PARSES,
    TASKS,
    Task,
    correction,
    duplicating,
    mirroring,
    retrieving,
)
from protocols.kit import FidOutputs, Gathered, GroundTruthOracle, scale_counts, stand_in_sources, translate_all
from protocols.labelled import LabelMapSet, PhotoSet, choose_source, content_encoding

PER_TASK = ("psnr", "lpips", "fid", "style_loss")  # Table 1's measures
EXACT = ("psnr", "lpips", "style_loss")  # against a world's exact retrieving ground truth
ATTENTION = "attention_"  # sample keys of the Fig. 6 maps


def images(array: np.ndarray) -> torch.Tensor:
    """uint8 [N,S,S,3] → float32 [N,3,S,S] in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float() / 255.0


class CocoStuffScenes(Protocol):
    paper = "MSCA (Zheng et al., ECCV 2020) §4, Table 1"
    primary = "fid retrieving"  # Table 1's FID on the main (retrieving) task
    offers = Offers(training=frozenset({"paired", "unpaired"}), label_maps=True, exemplar_labels=True,
                    directions="AB")
    reader: ClassVar[str] = "coco_stuff"
    world: ClassVar[str] = "scenes"
    dataset: ClassVar[str] = "coco_stuff"  # the method recipe (contract §1: ``datasets.coco_stuff`` overlays)
    exact_metrics = ("lpips_exact", "style_loss_exact")  # psnr_exact too, but PSNR has no finite best

    @classmethod
    def data_sources(cls) -> list[str]:
        return stand_in_sources(cls.world, cls.reader, "data.root=<folder in the official layout>, subset "
                                                       "protocol.reader.subset (default msca_outdoor)")

    @classmethod
    def columns(cls) -> list[Column]:
        return ([Column(m, t) for t in TASKS for m in PER_TASK]
                + [Column(f"{m}_exact", "retrieving") for m in EXACT])

    @classmethod
    def refusal(cls, method_cls: type[Method]) -> str | None:
        """The offers (training paired or unpaired, label maps, exemplar labels, A→B), and a label-map method must be
        told the channel count C (an ``input_nc`` or ``label_nc`` parameter)."""
        reason = cls.offers.refusal(method_cls.capabilities)
        if reason:
            return reason
        declared = method_cls.defaults or {}
        if (content_encoding(method_cls) == "one_hot" and not method_cls.capabilities.ignores_content
                and not {"input_nc", "label_nc"} & set(declared)):
            return (f"takes one-hot label maps but has neither an input_nc nor a label_nc parameter; "
                    f"{cls.name}'s content is {ENCODED['one_hot']} with C set by the data")
        return None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale, self.counts = scale_counts(self.name, self.scale_cfg, self.settings_cfg)
        self.batch_size = self.setting("batch_size", 16, int, 1)
        self.grid_rows = self.setting("grid_rows", 4, int, 1)
        self.attention_cases = self.setting("attention_cases", 2, int, 0)
        self.fid_outputs, self.fid_settings = FidOutputs.split(dict(self.settings_cfg.get("fid", {})), default="png")
        self.exemplar_parse = str(self.settings_cfg.get("exemplar_parse", "ground_truth"))
        if self.exemplar_parse not in EXEMPLAR_PARSES:
            raise BenchError(f"exemplar_parse={self.exemplar_parse!r}: no such parse (MSCA's COCO-Stuff DeepLab-v2 is "
                             "not in the feature registry)", hint="protocol.exemplar_parse=ground_truth")
        self.metrics: dict[str, Any] = {}
        self.loaded: SceneData | None = None
        self.tasks: dict[str, Task] = {}
        self.retrieval: Retrieval | None = None

    # -- data -----------------------------------------------------------------------------------------------------
    def prepare(self) -> DataProvenance:
        source = choose_source(self.name, self.data_cfg, self.reader, self.world)
        seed = int(self.data_cfg.get("seed", 0))
        if source == self.world:
            self.loaded = load_stand_in(self.world, self.counts, seed)
        else:
            self.loaded = load_real(self.reader, self.data_cfg, dict(self.settings_cfg.get("reader", {})),
                                    self.counts, self.scale)
        self.build_metrics()
        self.tasks = self.build_tasks(self.loaded)
        ld = self.loaded
        stand_in = f"procedural stand-in, NOT {self.reader}" if source == self.world else ""
        self.provenance = DataProvenance(source=ld.source, fingerprint=ld.fingerprint, files=ld.files,
                                         description=f"{ld.description}; exemplar parse: "
                                                     f"{EXEMPLAR_PARSES[self.exemplar_parse]}", stand_in=stand_in)
        return self.provenance

    def build_tasks(self, data: SceneData) -> dict[str, Task]:
        cfg = dict(self.settings_cfg.get("retrieval", {}))
        matcher = SiftFlowMatcher(dict(cfg.get("sift_flow", {})))
        cc = dict(self.settings_cfg.get("colour_correction", {}))
        corrector = correction(str(cc.get("method", "wct2")), self.allow_uncalibrated, bool(cc.get("segment_wise")))
        task, self.retrieval = retrieving(data, int(cfg.get("k", 20)), matcher, matcher.settings(), corrector,
                                          cache=ArrayCache("retrieval"))
        built = {"retrieving": task, "mirroring": mirroring(data), "duplicating": duplicating(data)}
        return {name: built[name] for name in TASKS}

    def build_metrics(self) -> None:
        """PSNR, LPIPS (VGG v0.1 by default), FID and the Gram style loss; VGG/Inception refuse without their weights
        unless ``allow_uncalibrated``."""
        common = {"allow_uncalibrated": self.allow_uncalibrated, "seed": self.metric_seed}
        lp, style = dict(self.settings_cfg.get("lpips", {})), dict(self.settings_cfg.get("style_loss", {}))
        self.metrics = {
            "psnr": create_metric("psnr", **dict(self.settings_cfg.get("psnr", {}))),
            "lpips": create_metric("lpips", reference="ground_truth", net=lp.get("net", "vgg"),
                                   lpips_version=str(lp.get("version", "0.1")), **common),
            "fid": create_metric("fid", **self.fid_settings, **common),
            "style_loss": create_metric("style_loss", **{"reference": "ground_truth", **style}, **common),
        }

    @property
    def data(self) -> SceneData:
        if self.loaded is None:
            raise RuntimeError("call prepare() first")
        return self.loaded

    def method_settings(self) -> dict[str, Any]:
        c = self.data.label_nc
        return {"input_nc": c, "label_nc": c, **self.data_free_method_settings()}

    @classmethod
    def data_free_method_settings(cls) -> dict[str, Any]:
        return {"dataset": cls.dataset}

    def train_data(self) -> TrainData:
        ld = self.data
        meta = {"name": self.name, "data_source": ld.source, "size": int(ld.train.images.shape[1]),
                **self.method_settings(),
                "note": "paired (label map i ↔ image i); a[i]['image'] is the colour-encoded label map"}
        return TrainData(a=LabelMapSet(ld.train), b=PhotoSet(ld.train), kind="paired", meta=meta)

    @property
    def calibrated(self) -> bool:
        """The metrics' weights; an uncalibrated colour correction marks the retrieving values instead."""
        return all(m.calibrated for m in self.metrics.values())

    def sample_counts(self) -> dict[str, int]:
        ld = self.data
        return {"train": len(ld.train), "test": len(ld.test), "size": int(ld.test.images.shape[1])}

    def metric_settings(self) -> dict[str, Any]:
        return {"fid_outputs": self.fid_outputs.settings(), "exemplar_parse": EXEMPLAR_PARSES[self.exemplar_parse],
                "content": {k: v for k, v in ENCODED.items()},
                "tasks": {name: {"rule": t.rule, **t.settings} for name, t in self.tasks.items()},
                **{name: m.settings() for name, m in self.metrics.items()}}

    # -- evaluation -----------------------------------------------------------------------------------------------
    def translate(self, method: Method, task: Task) -> torch.Tensor:
        """uint8 [N,3,S,S]: every test label map under the task's exemplar."""
        test, rows = self.data.test, np.arange(len(self.data.test))
        encoding = content_encoding(type(method))
        return translate_all(method, Gathered(lambda r: encode(test, test.labels[r], encoding), rows),
                             Gathered(lambda r: images(task.exemplars[r]), rows), "AB", self.batch_size, self.seed,
                             uint8=True, name=f"{method.registry_name} {task.name}",
                             exemplar_labels=Gathered(lambda r: encode(test, task.exemplar_labels[r], "one_hot"),
                                                      rows))

    def evaluate(self, method: Method) -> EvalResult:
        method.eval_mode()
        values: dict[Column, MetricValue] = {}
        samples: dict[str, torch.Tensor] = {}
        note = ("exemplar parse c̃₂: " + EXEMPLAR_PARSES[self.exemplar_parse]
                + f"; content: {ENCODED[content_encoding(type(method))]}")
        for name, task in self.tasks.items():
            out8 = self.translate(method, task)
            out = out8.float() / 255.0
            truth = images(task.truth)
            ref = truth if self.metrics["style_loss"].reference == "ground_truth" else images(task.exemplars)
            task_note = "; ".join([task.rule, note, *task.warnings])
            fid = self.metrics["fid"](self.fid_outputs(out8), truth)
            measured = [self.metrics["psnr"](out, truth), self.metrics["lpips"](out, truth), fid, *companions(fid),
                        self.metrics["style_loss"](out, ref)]  # Table 1's order
            for value in measured:
                values[Column(value.name, name)] = self._noted(value, task_note, task.calibrated)
            if task.exact is not None:
                exact = images(task.exact)
                exact_note = f"vs the exact ground truth (the test layout rendered in the exemplar's style); {note}"
                for metric in EXACT:
                    value = self.metrics[metric](out, exact if metric != "style_loss" or ref is truth else ref)
                    value.name = f"{metric}_exact"
                    values[Column(value.name, name)] = self._noted(value, exact_note, True)
            samples[name] = out[: self.grid_rows]
        samples.update(self.attention(method))
        return EvalResult(values=values, samples=samples)

    def attention(self, method: Method) -> dict[str, torch.Tensor]:
        """Fig. 6: ``attention_maps`` (contract §6: ``alpha``, ``beta``, ``gate``) at scale 0 for the first
        ``attention_cases`` retrieving cases, as samples ``attention_<map>`` (so that ``write_figures`` gets them
        per run label); none for a method without ``attention_maps``."""
        if not hasattr(method, "attention_maps") or self.attention_cases < 1:
            return {}
        test, task = self.data.test, self.tasks["retrieving"]
        rows = np.arange(min(self.attention_cases, len(test)))
        device = method.device
        with torch.no_grad():
            maps = method.attention_maps(encode(test, test.labels[rows], "one_hot").to(device),  # type: ignore
                                         images(task.exemplars[rows]).to(device),
                                         encode(test, task.exemplar_labels[rows], "one_hot").to(device), scale=0)
        return {f"{ATTENTION}{k}": v.detach().float().cpu() for k, v in maps.items()}

    def oracle(self) -> Method | None:
        """On a world: each task's exact ground truth (retrieving: the exact translation, not the corrected one)."""
        if self.data.worlds is None:
            return None
        test = self.data.test
        content = encode(test, test.labels, "colour")
        return GroundTruthOracle([(content, images(t.exemplars), images(t.exact if t.exact is not None else t.truth))
                                  for t in self.tasks.values()])

    @staticmethod
    def _noted(value: MetricValue, note: str, calibrated: bool) -> MetricValue:
        if note and note not in value.warnings:
            value.warnings.insert(0, note)
        value.calibrated = value.calibrated and calibrated
        return value

    # -- reporting ------------------------------------------------------------------------------------------------
    def reported(self) -> list[ReportedRow]:
        source = self.provenance.source if self.provenance else ""
        caveat = "" if source.startswith(self.reader) else f"real COCO-Stuff; not comparable with rows on {source}"
        return reported_rows(caveat)

    def write_figures(self, samples: dict[str, dict[str, torch.Tensor]], out_dir: Path) -> list[Path]:
        if self.loaded is None:
            return []
        title = f"{self.name} on {self.loaded.source}"
        paths = [figures.task_grid(self.loaded, task, {m: s[name] for m, s in samples.items() if name in s},
                                   self.grid_rows, out_dir / f"grid_{name}.png", f"{title}: {name}")
                 for name, task in self.tasks.items()]
        if self.retrieval is not None:
            paths.append(pairing_table(self.retrieval, self.loaded.test.names, self.loaded.train.names,
                                       out_dir / "retrieving_pairs.csv"))
        for method, s in samples.items():
            maps = {k.removeprefix(ATTENTION): v for k, v in s.items() if k.startswith(ATTENTION)}
            if maps:
                paths.append(figures.attention_figure(self.loaded, self.tasks["retrieving"], maps,
                                                      out_dir / f"attention_{method}.png",
                                                      f"{title}: {method} (Fig. 6)"))
        return paths
