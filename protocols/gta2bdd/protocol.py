"""GTA5 → BDD100K segmentation transfer (EGSC-IT, Ma et al., ICLR 2019, §4 street view, Table 3); see
``protocols/gta2bdd/README.md`` for every choice and its source.

A method trains unpaired on A (GTA5) and B (BDD100K train) images; every A image is translated A→B under its
arbitrary, seeded B exemplar (``Domains.pairing``); a segmenter trained on (translations, A's labels) with the
protocol's fixed schedule is tested on B's test split: ``miou`` (19 classes, one confusion matrix over the split;
per-class IoU in the value's ``extra`` and ``per_class_iou.csv``) and ``gap_to_oracle`` = mIoU − Oracle mIoU
(Table 3's "mIoU Gap"). Reference rows (``reference_results``): ``source`` (segmenter on raw A), ``oracle``
(on B's labelled train split) and, on the world, ``exact_translation`` (on the exact B renderings of A's layouts
under the same exemplars).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from core.columns import TRANSLATION_OF, Column
from core.errors import BenchError
from core.hashing import settings_hash
from datasets.base import TrainData
from datasets.cityscapes import CITYSCAPES_19
from methods.base import Method
from metrics.base import MetricValue
from protocols.base import DataProvenance, EvalResult, Offers, Protocol, ReportedRow
from protocols.gta2bdd.data import WORLD, Domains, load_real, load_stand_in
from protocols.gta2bdd.figures import per_class_csv, prediction_grid, translation_grid
from protocols.gta2bdd.reported import reported_rows
from protocols.gta2bdd.segment import NUM_CLASSES, RowScores, Segmenters
from protocols.kit import Gathered, scale_counts, stand_in_sources, translate_batches

T = TRANSLATION_OF["AB"]
REAL = "gta5+bdd100k"
MIOU_RULE = ("mIoU over the 19 Cityscapes classes from one confusion matrix over the whole test split (classes "
             "with an empty union left out); gap_to_oracle = mIoU − the Oracle row's mIoU (EGSC-IT Table 3)")


class ImageSet(Dataset):
    """One domain's training images: ``{"image": float [3,H,W] in [0,1]}`` per item (``methods/common/unpaired``)."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"image": Domains.tensor(self.images, np.array([index]))[0]}


class GTA2BDD(Protocol):
    paper = "EGSC-IT (Ma et al., ICLR 2019) §4 street view, Table 3"
    primary = "miou A→B"  # Table 3
    offers = Offers(training=frozenset({"unpaired"}), directions="AB")
    reference_rows: ClassVar[tuple[str, ...]] = ("source", "exact_translation", "oracle")

    @classmethod
    def data_sources(cls) -> list[str]:
        return stand_in_sources(WORLD, "GTA5 → BDD100K", "data.root=<folder holding gta5/ and bdd100k/>")

    @classmethod
    def columns(cls) -> list[Column]:
        return [Column("miou", T), Column("gap_to_oracle", T)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale, self.counts = scale_counts(self.name, self.scale_cfg, self.settings_cfg)
        schedules = dict(self.settings_cfg.get("segmenter", {}))
        if self.scale not in schedules:
            raise BenchError(f"protocol {self.name} has no segmenter schedule for scale {self.scale!r}",
                             hint=f"add segmenter.{self.scale} to bench/configs/protocol/{self.name}.yaml")
        self.batch_size = self.setting("batch_size", 16, int, 1)
        self.grid_rows = self.setting("grid_rows", 4, int, 1)
        self.pairing_seed = self.setting("pairing_seed", 0, int, 0)
        self.segmenters = Segmenters(dict(schedules[self.scale]), self.seed, self.allow_uncalibrated, self.grid_rows)
        self.loaded: Domains | None = None
        self.uncalibrated_rows: set[str] = set()

    # -- data -----------------------------------------------------------------------------------------------------
    def prepare(self) -> DataProvenance:
        source = self.data_cfg.get("source") or (REAL if self.data_cfg.get("root") else WORLD)
        size = (int(self.counts["height"]), int(self.counts["width"]))
        if source == WORLD:
            self.loaded = load_stand_in(self.counts, size, int(self.data_cfg.get("seed", 0)), self.pairing_seed,
                                        self.setting("layout_shift", 0.5, float, 0))
        elif source == REAL:
            if not self.data_cfg.get("root"):
                raise BenchError(f"data.source={REAL} needs data.root", hint="data.root=<folder holding gta5/ and "
                                                                             "bdd100k/>")
            self.loaded = load_real(self.data_cfg["root"], self.counts, size, self.pairing_seed)
        else:
            raise BenchError(f"protocol {self.name} runs on {REAL} or the stand-in {WORLD}, not data.source={source}",
                             hint=f"data.source={REAL} with data.root=<folder>, or data.source={WORLD}")
        if not self.segmenters.check():
            self.uncalibrated_rows.add("segmenter")
        d = self.loaded
        self.provenance = DataProvenance(source=d.source, fingerprint=d.fingerprint, files=d.files,
                                         description=d.description,
                                         stand_in="procedural stand-in, NOT GTA5/BDD100K" if source == WORLD else "")
        return self.provenance

    @property
    def data(self) -> Domains:
        if self.loaded is None:
            raise RuntimeError("call prepare() first")
        return self.loaded

    def train_data(self) -> TrainData:
        d = self.data
        return TrainData(a=ImageSet(d.a_images), b=ImageSet(d.b_images), kind="unpaired",
                         meta={"name": self.name, "data_source": d.source, "size": list(d.size),
                               "note": "A: GTA5 (or the streets synthetic domain), B: BDD100K train (or photo); "
                                       "only A→B is evaluated"})

    def sample_counts(self) -> dict[str, int]:
        d = self.data
        return {"train_a": len(d.a_images), "train_b": len(d.b_images), "val": len(d.val_images),
                "height": d.size[0], "width": d.size[1]}

    def metric_settings(self) -> dict[str, Any]:
        return {"segmenter": self.segmenters.settings(), "num_classes": NUM_CLASSES, "miou": MIOU_RULE,
                "pairing": {"seed": self.pairing_seed, "sha256": self.data.pairing_sha256(),
                            "rule": "each A image under one B training image drawn uniformly with replacement"}}

    @property
    def calibrated(self) -> bool:
        return not self.uncalibrated_rows

    # -- rows -----------------------------------------------------------------------------------------------------
    def _score(self, key: str, images: np.ndarray, labels: np.ndarray) -> RowScores:
        d = self.data
        return self.segmenters.score(key, images, labels, d.val_images, d.val_labels, self.protocol_hash(),
                                     self.workspace)

    def _reference(self, row: str) -> RowScores:
        d = self.data
        sources = {"source": (d.a_images, d.a_labels), "oracle": (d.b_images, d.b_labels),
                   "exact_translation": (d.exact, d.a_labels)}
        images, labels = sources[row]
        if images is None:
            raise BenchError(f"{row} needs exact translations, which only the {WORLD} stand-in has")
        scores = self.segmenters.reference(row, self.protocol_hash(), self.workspace,
                                           lambda: self._score(f"{row}-seed{self.seed}", images, labels))
        if not scores.calibrated:
            self.uncalibrated_rows.add(row)
        return scores

    def translate(self, method: Method) -> np.ndarray:
        """uint8 [N_A,H,W,3]: every A image under its paired B exemplar."""
        d, rows = self.data, np.arange(len(self.data.a_images))
        out = np.empty_like(d.a_images)
        batches = translate_batches(method, Gathered(lambda r: Domains.tensor(d.a_images, r), rows),
                                    Gathered(lambda r: Domains.tensor(d.b_images, d.pairing[r]), rows), "AB",
                                    self.batch_size, self.seed, uint8=True, name=method.registry_name)
        for where, batch in batches:
            out[where] = batch.permute(0, 2, 3, 1).numpy()
        return out

    def _values(self, scores: RowScores, oracle: RowScores, note: str) -> dict[Column, MetricValue]:
        s, o = scores.scores, oracle.scores
        settings = {"protocol": self.name, **self.metric_settings()}
        extra = {"settings": settings, "protocol_hash": settings_hash(settings),
                 "per_class_iou": {c: (None if np.isnan(v) else float(v)) for c, v in zip(CITYSCAPES_19.classes, s.iou,
                                                                                      strict=True)},
                 "pixel_accuracy": s.pixel_accuracy}
        warnings = [note] + ([] if scores.calibrated else ["uncalibrated: the segmenter's backbone started from "
                                                           "random weights, not ImageNet"])
        n = len(self.data.val_images)
        return {Column("miou", T): MetricValue("miou", s.miou, None, n, "higher", scores.calibrated, list(warnings),
                                               dict(extra)),
                Column("gap_to_oracle", T): MetricValue("gap_to_oracle", s.miou - o.miou, None, n, "higher",
                                                        scores.calibrated and oracle.calibrated, list(warnings),
                                                        dict(extra))}

    def evaluate(self, method: Method) -> EvalResult:
        """Translate every A image, train this row's segmenter on the translations with A's labels, score it on the
        B test split (``miou``, ``gap_to_oracle``; the Oracle row is computed or read from the cache first).
        Samples: ``AB`` float [k,3,H,W] translations, ``prediction`` uint8 [k,H,W], ``confusion`` int64 [19,20]."""
        method.eval_mode()
        translations = self.translate(method)
        # in a run: the runner's row key (resumable); outside one (tests): the translations' content
        key = self.run_key or f"{method.registry_name}-{_sha(translations)}"
        scores = self._score(key, translations, self.data.a_labels)
        if not scores.calibrated:
            self.uncalibrated_rows.add(key)
        values = self._values(scores, self._reference("oracle"), MIOU_RULE)
        k = min(self.grid_rows, len(translations))
        samples = {"AB": Domains.tensor(translations, np.arange(k)),
                   "prediction": torch.from_numpy(scores.predictions[:k]),
                   "confusion": torch.from_numpy(scores.confusion)}
        return EvalResult(values=values, samples=samples)

    def reference_results(self) -> dict[str, EvalResult]:
        """``source``, ``exact_translation`` (world only) and ``oracle``: once per protocol hash and seed (cached)."""
        rows = [r for r in self.reference_rows if r != "exact_translation" or self.data.exact is not None]
        oracle = self._reference("oracle")
        out = {}
        for row in rows:
            scores = self._reference(row)
            out[row] = EvalResult(values=self._values(scores, oracle, f"{MIOU_RULE}; {ROW_NOTES[row]}"),
                                  samples={"prediction": torch.from_numpy(scores.predictions),
                                           "confusion": torch.from_numpy(scores.confusion)})
        return out

    # -- reporting ------------------------------------------------------------------------------------------------
    def reported(self) -> list[ReportedRow]:
        source = self.provenance.source if self.provenance else ""
        return reported_rows(T, "" if source == REAL else f"real GTA5/BDD100K, not {source}")

    def write_figures(self, samples: dict[str, dict[str, torch.Tensor]], out_dir: Path) -> list[Path]:
        if self.loaded is None:
            return []
        d, k = self.loaded, min(self.grid_rows, len(self.loaded.a_images))
        rows = {**{label: r.samples for label, r in self.reference_results().items()}, **samples}
        pairing = out_dir / "pairing.csv"
        pairing.parent.mkdir(parents=True, exist_ok=True)
        pairing.write_text("a_index,a_name,b_index,b_name\n" + "".join(
            f"{i},{d.a_names[i]},{j},{d.b_names[j]}\n" for i, j in enumerate(d.pairing)))
        on = f"{self.name} on {d.source}" + (" (procedural stand-in, NOT GTA5/BDD100K)" if d.exact is not None else "")
        exact = None if d.exact is None else Domains.tensor(d.exact, np.arange(k))
        return [translation_grid(d, k, exact, {m: s["AB"] for m, s in samples.items() if "AB" in s},
                                 out_dir / "translations.png", on),
                prediction_grid(d, {m: s["prediction"] for m, s in rows.items() if "prediction" in s},
                                out_dir / "predictions.png", on),
                per_class_csv({m: s["confusion"].numpy() for m, s in rows.items() if "confusion" in s},
                              out_dir / "per_class_iou.csv"),
                pairing]


ROW_NOTES = {
    "source": "Source: segmenter trained on the raw A images (no translation)",
    "exact_translation": "exact translation: segmenter trained on the exact B-domain renderings of A's layouts under "
                         "the same exemplars (world only: the upper bound of a translation)",
    "oracle": "Oracle: segmenter trained on B's own labelled training split",
}


def _sha(images: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]
