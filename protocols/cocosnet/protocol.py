"""CoCosNet's evaluation (Zhang et al., CVPR 2020, §4, Tables 1–4), shared by ``ade20k``, ``ade20k_outdoor``,
``celebahq_edge`` and ``deepfashion``; see ``protocols/cocosnet/README.md`` for every choice and its source.

Each test input is translated once, under one exemplar: on real data the first exemplar of the published
``*_ref_test.txt`` line (``PublishedPairs``), on a world the training image retrieved with the paper's query
(``retrieval.py``). Methods get ``translate(content, exemplar, direction="AB", seed=)`` with the conditioning
(``data.py``) and, if they declare ``needs_exemplar_labels``, ``exemplar_labels=`` (the exemplar's conditioning).

Columns (all A→B, conditioning → image): ``fid`` (KID beside it on small samples) and ``swd`` of the outputs
against the test images, after writing the outputs as JPEG or PNG (``fid.save_format``, default JPEG; issue #19);
semantic consistency (output vs ground truth); style relevance colour / texture (output vs exemplar, per class
present in both label maps where the data has labels); on a world, ``exemplar_fidelity_colour`` / ``_texture``,
``ssim_exact`` and ``lpips_exact`` against the exact translation (the input's layout in the exemplar's style).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from core.columns import TRANSLATION_OF, Column
from datasets.base import TrainData
from methods.base import Method
from metrics import create_metric
from metrics.base import MetricValue, companions
from protocols.base import DataProvenance, EvalResult, Offers, Protocol, ReportedRow
from protocols.cocosnet.data import ENCODINGS
from protocols.cocosnet.reported import reported_rows
from protocols.cocosnet.sources import LoadedData, load_real, load_stand_in
from protocols.figures import qualitative_grid
from protocols.kit import FidOutputs, Gathered, GroundTruthOracle, scale_counts, stand_in_sources, translate_all
from protocols.labelled import ConditionSet, PhotoSet, choose_source

T = TRANSLATION_OF["AB"]


class CoCosNetProtocol(Protocol):
    dataset: ClassVar[str] = ""  # the method recipe (contract §2): ade20k, celebahq_edge or deepfashion
    world: ClassVar[str] = ""  # the offline stand-in
    reader: ClassVar[str] = ""  # the real dataset (REAL_DATASETS)
    encoding: ClassVar[str] = "one_hot"
    train_lists: ClassVar[str] = "vgg"  # "vgg" (pool5 cosine top K) or "random" (faces)
    paper = "CoCosNet (Zhang et al., CVPR 2020) §4, Tables 1–4"
    primary = "fid A→B"  # Table 1 leads with FID
    offers = Offers(training=frozenset({"paired"}), label_maps=True, exemplar_labels=True, directions="AB")
    # worlds only: exemplar_fidelity (per-part colour/texture error vs the exact translation), SSIM and LPIPS vs it
    exact_metrics = ("exemplar_fidelity_colour", "exemplar_fidelity_texture", "ssim_exact", "lpips_exact")

    @classmethod
    def data_sources(cls) -> list[str]:
        return stand_in_sources(cls.world, cls.reader,
                                "data.root=<folder in the official layout>; test exemplars: the published pairs")

    @classmethod
    def columns(cls) -> list[Column]:
        return [Column(m, T) for m in ("fid", "swd", "semantic_consistency", "style_relevance_colour",
                                       "style_relevance_texture", *cls.exact_metrics)]

    @classmethod
    def refusal(cls, method_cls: type[Method]) -> str | None:
        """The content is a conditioning tensor, not an image: a method must ignore its content, take label maps
        (one-hot ones only unless it declares ``input_nc``), or declare ``input_nc``; then the usual offers."""
        caps, declared = method_cls.capabilities, method_cls.defaults or {}
        content = f"{cls.name}'s content is {ENCODINGS[cls.encoding].description}"
        if not caps.ignores_content and "input_nc" not in declared:
            if not caps.needs_label_maps:
                return (f"translates RGB images (its capabilities declare no label-map input and it has no input_nc "
                        f"parameter); {content}, not an image")
            if cls.encoding != "one_hot":
                return f"takes one-hot label maps as its content and has no input_nc parameter; {content}"
        return cls.offers.refusal(caps)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale, self.counts = scale_counts(self.name, self.scale_cfg, self.settings_cfg)
        self.batch_size = self.setting("batch_size", 16, int, 1)
        self.grid_rows = self.setting("grid_rows", 6, int, 1)
        self.fid_outputs, self.fid_settings = FidOutputs.split(dict(self.settings_cfg.get("fid", {})), default="jpeg")
        self.metrics: dict[str, Any] = {}
        self.loaded: LoadedData | None = None

    # -- data -----------------------------------------------------------------------------------------------------
    def prepare(self) -> DataProvenance:
        source = choose_source(self.name, self.data_cfg, self.reader, self.world)
        retrieval = {"k": self.setting("exemplar_list_k", 20, int, 1), "lists": self.train_lists,
                     "allow_uncalibrated": self.allow_uncalibrated, "seed": int(self.data_cfg.get("seed", 0))}
        if source == self.world:
            self.loaded = load_stand_in(self.world, self.encoding, self.counts, retrieval, self.dataset)
        else:
            self.loaded = load_real(self.reader, self.data_cfg, self.encoding, self.counts, retrieval, self.dataset,
                                    self.scale)
        ld = self.loaded
        self.build_metrics(labelled=len(ld.test.label_set) > 0, ignore=ld.test.label_set.ignore)
        self.provenance = DataProvenance(source=ld.source, fingerprint=ld.fingerprint, files=ld.files,
                                         description=ld.description,
                                         stand_in=f"procedural stand-in, NOT {self.reader}" if source == self.world
                                         else "")
        return self.provenance

    def build_metrics(self, labelled: bool, ignore: int | None) -> None:
        """The metrics from their config blocks; style relevance compares whole images where the data has no label
        maps (real DeepFashion). VGG/Inception/AlexNet refuse without their weights unless ``allow_uncalibrated``."""
        common = {"allow_uncalibrated": self.allow_uncalibrated, "seed": self.metric_seed}
        cfg = {k: dict(self.settings_cfg.get(k, {})) for k in ("swd", "semantic_consistency", "style_relevance",
                                                               "exemplar_fidelity", "ssim", "lpips")}
        style = {"ignore_index": ignore, **cfg["style_relevance"]} | ({} if labelled else {"regions": "whole_image"})
        lp = cfg["lpips"]
        self.metrics = {
            "fid": create_metric("fid", **self.fid_settings, **common),
            "swd": create_metric("swd", **cfg["swd"]),
            "semantic_consistency": create_metric("semantic_consistency", **cfg["semantic_consistency"], **common),
            "style_relevance": create_metric("style_relevance", **style, **common),
            "exemplar_fidelity": create_metric("exemplar_fidelity", **cfg["exemplar_fidelity"]),
            "ssim": create_metric("ssim", **cfg["ssim"]),
            "lpips": create_metric("lpips", reference="ground_truth", net=lp.get("net", "alex"),
                                   lpips_version=str(lp.get("version", "0.1")), **common),
        }

    @property
    def data(self) -> LoadedData:
        if self.loaded is None:
            raise RuntimeError("call prepare() first")
        return self.loaded

    def method_settings(self) -> dict[str, Any]:
        return {"input_nc": self.data.test.input_nc, "label_nc": self.data.label_nc,
                **self.data_free_method_settings()}

    @classmethod
    def data_free_method_settings(cls) -> dict[str, Any]:
        return {"dataset": cls.dataset}

    def train_data(self) -> TrainData:
        ld = self.data
        meta = {"name": self.name, "data_source": ld.source, "size": int(ld.train.images.shape[1]),
                **self.method_settings(), "exemplar_lists": ld.exemplar_lists,
                "note": "paired (conditioning i ↔ image i); exemplar_lists: training indices, nearest first"}
        if ld.same_person is not None:
            meta["same_person"] = ld.same_person
        return TrainData(a=ConditionSet(ld.train), b=PhotoSet(ld.train), kind="paired", meta=meta)

    @property
    def calibrated(self) -> bool:
        return all(m.calibrated for m in self.metrics.values()) and (self.loaded is None or self.loaded.calibrated)

    def sample_counts(self) -> dict[str, int]:
        ld = self.data
        return {"train": len(ld.train), "test": len(ld.test), "size": int(ld.test.images.shape[1]),
                "exemplar_list_k": int(ld.exemplar_lists.shape[1])}

    def metric_settings(self) -> dict[str, Any]:
        return {"fid_outputs": self.fid_outputs.settings(), "exemplars": self.data.exemplar_rule,
                "retrieval": self.data.retrieval_settings, **{name: m.settings() for name, m in self.metrics.items()}}

    # -- evaluation -----------------------------------------------------------------------------------------------
    def translate(self, method: Method) -> torch.Tensor:
        """uint8 [N,3,S,S]: every test input under its exemplar."""
        ld, rows = self.data, np.arange(len(self.data.test))
        return translate_all(method, Gathered(ld.test.inputs, rows), Gathered(ld.refs.image_tensor, rows), "AB",
                             self.batch_size, self.seed, uint8=True, name=method.registry_name,
                             exemplar_labels=Gathered(ld.refs.inputs, rows))

    def evaluate(self, method: Method) -> EvalResult:
        ld = self.data
        method.eval_mode()
        out8 = self.translate(method)
        out = out8.float() / 255.0
        real = ld.test.image_tensor(np.arange(len(ld.test)))
        exemplars = ld.refs.image_tensor(np.arange(len(ld.refs)))
        saved = self.fid_outputs(out8)
        note = (f"outputs written as {self.fid_outputs.save_format.upper()} before FID/SWD, as CoCosNet's test.py "
                "saves them and its evaluation reads them (issues #19, #25)")
        note += f"; {ld.exemplar_rule}"
        if not ld.calibrated:  # every number depends on which exemplars were retrieved, not only the VGG metrics'
            note += ("; uncalibrated: the test exemplars (and the training exemplar lists) were retrieved with a "
                     "random-weight VGG-19, not the ImageNet one")
        values: dict[Column, MetricValue] = {}
        fid = self.metrics["fid"](saved, real)
        for v in [fid, *companions(fid)]:
            values[Column(v.name, T)] = self._noted(v, note)
        values[Column("swd", T)] = self._noted(self.metrics["swd"](saved, real), note)
        values[Column("semantic_consistency", T)] = self._noted(self.metrics["semantic_consistency"](out, real),
                                                                ld.exemplar_rule)
        labelled = len(ld.test.label_set) > 0
        labels = torch.from_numpy(ld.test.labels).long() if labelled else None
        ref_labels = torch.from_numpy(ld.refs.labels).long() if labelled else None
        regions = "per class present in both label maps" if labelled else "whole images (the data has no labels)"
        if type(method).capabilities.guidance != "exemplar":  # §4: "We do not include Pix2pixHD as it does not ..."
            regions += ("; the method ignores the exemplar (Table 3 of the paper has no row for such a method: it "
                        "leaves out Pix2pixHD, and its SPADE row is SPADE with its image encoder, `spade_vae` here)")
        values.update(self._split(self.metrics["style_relevance"](out, exemplars, labels, ref_labels),
                                  f"{regions}; {ld.exemplar_rule}"))
        if ld.exact is not None:
            truth = torch.from_numpy(ld.exact).permute(0, 3, 1, 2).float() / 255.0
            exact_note = "vs the exact translation (the input's layout rendered in the exemplar's style)"
            values.update(self._split(self.metrics["exemplar_fidelity"](out, truth, labels),
                                      f"per part of the input label map; {exact_note}"))
            for name, metric in (("ssim_exact", "ssim"), ("lpips_exact", "lpips")):
                value = self.metrics[metric](out, truth)
                value.name = name
                values[Column(name, T)] = self._noted(value, exact_note)
        k = min(self.grid_rows, len(out))
        return EvalResult(values=values, samples={"AB": out[:k]})

    def oracle(self) -> Method | None:
        """On a world: the exact translation of every test input under its exemplar."""
        ld = self.data
        if ld.exact is None:
            return None
        rows = np.arange(len(ld.test))
        return GroundTruthOracle([(ld.test.inputs(rows), ld.refs.image_tensor(rows),
                                   torch.from_numpy(ld.exact).permute(0, 3, 1, 2).float() / 255.0)])

    def _split(self, value: MetricValue, note: str) -> dict[Column, MetricValue]:
        """A colour value and its texture companion as two columns of their own."""
        texture = companions(value)[0]
        value.extra.pop("companions", None)
        return {Column(v.name, T): self._noted(v, note) for v in (value, texture)}

    @staticmethod
    def _noted(value: MetricValue, note: str) -> MetricValue:
        if note and note not in value.warnings:
            value.warnings.insert(0, note)
        return value

    # -- reporting ------------------------------------------------------------------------------------------------
    def reported(self) -> list[ReportedRow]:
        source = self.provenance.source if self.provenance else ""
        caveat = "" if source.startswith(self.reader) else f"real {self.reader}; not comparable with rows on {source}"
        return reported_rows(self.name, caveat)

    def write_figures(self, samples: dict[str, dict[str, torch.Tensor]], out_dir: Path) -> list[Path]:
        if self.loaded is None:
            return []
        ld, k = self.loaded, min(self.grid_rows, len(self.loaded.test))
        rows = np.arange(k)
        content = torch.from_numpy(ld.test.label_set.colourise(ld.test.labels[:k].reshape(-1, ld.test.labels.shape[-1]))
                                   .reshape(k, *ld.test.labels.shape[1:], 3)).permute(0, 3, 1, 2).float() / 255.0 \
            if len(ld.test.label_set) else ld.test.inputs(rows)[:, :3]
        truth = (torch.from_numpy(ld.exact[:k]).permute(0, 3, 1, 2).float() / 255.0 if ld.exact is not None
                 else ld.test.image_tensor(rows))
        outputs = {m: s["AB"][:k] for m, s in samples.items() if "AB" in s}
        path = out_dir / "grid.png"
        label = f"{self.name} on {ld.source}" + (" (exact ground truth)" if ld.exact is not None else "")
        qualitative_grid({"conditioning→image": (content, ld.refs.image_tensor(rows), truth, outputs)}, path,
                         title=label)
        return [path]

