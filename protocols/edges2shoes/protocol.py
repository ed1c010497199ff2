"""SEGIN's edges→photos protocol (Huang et al., IEEE TMM 2020, §IV-B, Tables I–II), shared by ``edges2shoes`` and
``edges2handbags``.

Data: pix2pix's edges2shoes / edges2handbags (``data.root``), or offline the procedural ``edges2objects`` stand-in
(the default when no ``data.root`` is given). The data source is recorded in every row and MLflow run; stand-in
numbers are never labelled as the real dataset's, and the papers' rows beside them say they are not comparable.

Metrics (all A→B, edges → photos; see ``sampling.py`` for who is translated under what):
- ``fid``: FID of one LPIPS(ref) translation per input against the test photos that are no exemplar of those
  translations (``fid.reference: disjoint``, default; lower is better; KID beside it when the sample is small).
  ``fid.reference: exemplar_pool`` is the literal reading: every LPIPS(ref) translation against all test photos,
  among which their exemplars (with ``lpips.ref_sampling: grid`` it reproduces the numbers before issue 13;
  ``exemplar_copy`` then scores FID ≈ 0).
- ``lpips_div``: LPIPS between consecutive outputs of the same input (K outputs → K−1 pairs, paper 100 × 19 pairs):
  under different references for exemplar-guided methods, under different seeds (no exemplar) for noise-guided and
  unguided ones (higher is more diverse).
- ``lpips_div_v00`` / ``lpips_div_v01``: ``lpips_div`` under LPIPS v0.0 and v0.1 (``lpips.both_versions: true``,
  one of them equal to ``lpips_div``): the paper does not name its version (see the config).
- ``lpips_ref``: LPIPS between each output and its reference (exemplar-guided methods only; lower is closer).
  ``lpips.ref_sampling: pool`` (default, the paper's "200 image pairs ... with 10 references") or ``grid`` (each
  input under 10 references of its own, 2,000 pairs); see ``sampling.py``.
- ``lpips_ref_similar`` / ``lpips_div_similar``: the same under a group of mutually similar references (does the
  method still tell them apart?).
- ``lpips_gt``: each test input translated under its own ground truth (or, for methods without exemplars, with
  seed 0), LPIPS against that ground truth (lower is better).
- Methods listed in ``sample_without_exemplar`` (default: ``bicyclegan``, as in the paper) are sampled with random
  codes (no exemplar, seeds) for FID and diversity even though they can encode an exemplar; they still encode the
  ground truth for LPIPS(gt) and get no LPIPS(ref) rows.
- The row ``real_data`` (``reference_results``): ``lpips_div`` (both versions) of random pairs of real test
  photos, measured here, beside the paper's real-data row (0.301 / 0.423).
- ``edges2objects`` only (``exact.py``): ``ssim_exact`` / ``lpips_exact``: each LPIPS(ref) translation against the
  exact translation (the input's object rendered in the reference's style) as whole images: they reward geometry;
  ``exemplar_fidelity_colour`` / ``exemplar_fidelity_texture``: per-part colour and texture error against the exact
  translation on the foreground, which an output ignoring the reference cannot win; and the reference row
  ``geometry_oracle``: the exact geometry rendered in one fixed style, scored on these four columns.

LPIPS is AlexNet-lin; version from the config (``0.0`` by default, see the config's note). Outputs are quantised to
8 bits (as saved images) before every metric.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from core.columns import TRANSLATION_OF, Column
from core.errors import BenchError
from datasets import DATA_SOURCES
from datasets.base import TrainData
from datasets.edges2objects import Edges2ObjectsSplit
from datasets.paired import PairedData, to_tensor
from methods.base import Method
from metrics import create_metric
from metrics.base import MetricValue, companions
from protocols.base import DataProvenance, EvalResult, Offers, Protocol, ReportedRow
from protocols.edges2shoes.exact import EXACT_METRICS, FIXED_STYLE, exact_scores, geometry_oracle, part_maps
from protocols.edges2shoes.reported import reported_rows
from protocols.edges2shoes.sampling import (
    PAPER_COUNTS,
    REF_SAMPLINGS,
    SamplingPlan,
    build_plan,
    colour_histograms,
)
from protocols.figures import qualitative_grid
from protocols.kit import Gathered, GroundTruthOracle, scale_counts, stand_in_sources, translate_all

STAND_IN = "edges2objects"
FID_REFERENCES = ("disjoint", "exemplar_pool")
OTHER_VERSION = {"0.0": "0.1", "0.1": "0.0"}
T = TRANSLATION_OF["AB"]  # the only translation: edges → photos


def unit(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 255.0


class Edges2Photos(Protocol):
    dataset: ClassVar[str] = ""
    paper = "SEGIN (Huang et al., IEEE TMM 2020) §IV-B, Tables I–II"
    primary = "fid A→B"  # Table I: quality (FID) beside diversity (LPIPS)
    offers = Offers(training=frozenset({"paired", "unpaired"}), directions="AB")
    exact_metrics = EXACT_METRICS  # edges2objects only

    @classmethod
    def data_sources(cls) -> list[str]:
        return stand_in_sources(STAND_IN, cls.dataset, "data.root=<pix2pix folder with train/ and val/>")

    @classmethod
    def columns(cls) -> list[Column]:
        return [Column(m, T) for m in ("fid", "lpips_div", "lpips_div_v00", "lpips_div_v01", "lpips_ref",
                                       "lpips_ref_similar", "lpips_div_similar", "lpips_gt", *cls.exact_metrics)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale, self.counts = scale_counts(self.name, self.scale_cfg, self.settings_cfg)
        self.batch_size = self.setting("batch_size", 32, int, 1)
        self.grid_rows = self.setting("grid_rows", 6, int, 1)
        self.sampled_without_exemplar = set(self.settings_cfg.get("sample_without_exemplar") or [])
        lp, fid = dict(self.settings_cfg.get("lpips", {})), dict(self.settings_cfg.get("fid", {}))
        self.ref_sampling = str(lp.get("ref_sampling", "pool"))
        if self.ref_sampling not in REF_SAMPLINGS:
            raise BenchError(f"unknown lpips.ref_sampling {self.ref_sampling!r}; valid: {', '.join(REF_SAMPLINGS)}",
                             hint="protocol.lpips.ref_sampling=pool (the paper: 200 pairs, 10 references) or grid")
        self.fid_reference = str(fid.get("reference", "disjoint"))
        if self.fid_reference not in FID_REFERENCES:
            raise BenchError(f"unknown fid.reference {self.fid_reference!r}; valid: {', '.join(FID_REFERENCES)}",
                             hint="protocol.fid.reference=disjoint (default) or exemplar_pool (the literal reading)")
        self.metrics: dict[str, Any] = {}
        self.plan: SamplingPlan | None = None

    # -- data -----------------------------------------------------------------------------------------------------
    def load_data(self) -> PairedData:
        source = self.data_cfg.get("source") or (self.dataset if self.data_cfg.get("root") else STAND_IN)
        if source not in (self.dataset, STAND_IN):
            raise BenchError(f"protocol {self.name} runs on {self.dataset} or the stand-in {STAND_IN}, "
                             f"not data.source={source}",
                             hint=f"use data.source={self.dataset} with data.root=<folder>, or data.source={STAND_IN}")
        return DATA_SOURCES.get(source)(
            root=self.data_cfg.get("root"), download=bool(self.data_cfg.get("download", False)),
            verify=bool(self.data_cfg.get("verify", True)), size=int(self.counts.get("size") or 256),
            n_train=self.counts.get("train"), n_val=self.counts.get("val"), seed=int(self.data_cfg.get("seed", 0)),
            masks_root=self.data_cfg.get("masks"))

    def prepare(self) -> DataProvenance:
        self.build_metrics()
        self.data = self.load_data()
        test = self.data.val.all()
        self.test_a, self.test_b, self.test_mask = test.a, test.b, test.mask
        self.plan = build_plan(len(self.data.val), self.counts, self.seed,
                               colour_histograms(self.test_b, self.test_mask), self.ref_sampling)
        self.provenance = DataProvenance(source=self.data.source, fingerprint=self.data.fingerprint,
                                         files=self.data.files, description=self.data.description,
                                         stand_in=f"procedural stand-in, NOT {self.dataset}"
                                         if self.data.source == STAND_IN else "")
        return self.provenance

    @property
    def exact(self) -> bool:
        return isinstance(self.data.val, Edges2ObjectsSplit)

    def oracle(self) -> Method | None:
        """On ``edges2objects``: the exact translation of every test input under every test photo (N² pairs)."""
        if not self.exact:
            return None
        n_inputs, n_photos = len(self.test_a), len(self.test_b)
        rows, refs = np.repeat(np.arange(n_inputs), n_photos), np.tile(np.arange(n_photos), n_inputs)
        truth = self.data.val.exact_translation(rows, refs)
        return GroundTruthOracle([(to_tensor(self.test_a[rows]), to_tensor(self.test_b[refs]), to_tensor(truth))])

    def train_data(self) -> TrainData:
        return TrainData(a=self.data.train.domain("A"), b=self.data.train.domain("B"), kind="paired",
                         meta={"name": self.name, "data_source": self.data.source, "size": self.data.val.size,
                               "masks": self.data.mask_source,
                               "note": "paired (input i ↔ photo i); unpaired methods may draw the domains "
                                       "independently"})

    # -- metrics --------------------------------------------------------------------------------------------------
    def build_metrics(self) -> None:
        """FID and LPIPS from the metrics registry; refuses (MissingWeightsError) without their weights unless
        ``allow_uncalibrated``."""
        lp = dict(self.settings_cfg.get("lpips", {}))
        common = {"allow_uncalibrated": self.allow_uncalibrated, "seed": self.metric_seed}
        version = str(lp.get("version", "0.0"))
        lpips_args = {"net": lp.get("net", "alex"), "lpips_version": version, **common}
        fid_args = {k: v for k, v in dict(self.settings_cfg.get("fid", {})).items() if k != "reference"}
        self.metrics = {
            "fid": create_metric("fid", **fid_args, **common),
            "lpips_ref": create_metric("lpips", reference="exemplar", **lpips_args),
            "lpips_gt": create_metric("lpips", reference="ground_truth", **lpips_args),
            "lpips_div": create_metric("lpips_diversity", pairs="consecutive", **lpips_args),
            "ssim": create_metric("ssim", **dict(self.settings_cfg.get("ssim", {}))),
            "exemplar_fidelity": create_metric("exemplar_fidelity"),
        }
        if lp.get("both_versions", True) and version in OTHER_VERSION:
            self.metrics["lpips_div_other"] = create_metric("lpips_diversity", pairs="consecutive",
                                                            **{**lpips_args, "lpips_version": OTHER_VERSION[version]})

    @property
    def calibrated(self) -> bool:
        return all(m.calibrated for m in self.metrics.values())

    def sample_counts(self) -> dict[str, int]:
        assert self.plan is not None
        return {"train": len(self.data.train), "test": len(self.data.val), "size": self.data.val.size,
                **self.plan.counts()}

    def metric_settings(self) -> dict[str, Any]:
        return {name: m.settings() for name, m in self.metrics.items()}

    def scale_note(self, what: str, counts: tuple[int, ...], paper: tuple[int, ...], sep: str = "×") -> str:
        if counts == paper:
            return ""
        return f"{self.scale}: {what} {sep.join(map(str, counts))} (paper {sep.join(map(str, paper))})"

    # -- translation ----------------------------------------------------------------------------------------------
    def translate(self, method: Method, content_idx: np.ndarray, exemplar_idx: np.ndarray | None, seed: int
                  ) -> torch.Tensor:
        """uint8 [N,3,H,W] translations of test inputs under test photos (or no exemplar), in batches."""
        contents = Gathered(lambda i: to_tensor(self.test_a[i]), content_idx)
        exemplars = None if exemplar_idx is None else Gathered(lambda i: to_tensor(self.test_b[i]), exemplar_idx)
        return translate_all(method, contents, exemplars, "AB", self.batch_size, seed, uint8=True,
                             name=method.registry_name)

    def evaluate(self, method: Method) -> EvalResult:
        assert self.plan is not None, "call prepare() first"
        plan, seed = self.plan, self.seed
        method.eval_mode()
        takes_exemplar = type(method).capabilities.guidance == "exemplar"
        # the paper samples BicycleGAN's random codes for FID/diversity (its encoder only for LPIPS(gt))
        guided = takes_exemplar and method.registry_name not in self.sampled_without_exemplar
        values: dict[Column, MetricValue] = {}

        # Ref/diversity grid: column k of row r = input rows[r] under reference refs[r, k] (or seed + k).
        n_rows, k_max = plan.refs.shape
        h, w = self.test_a.shape[1:3]
        grid = torch.zeros(n_rows, k_max, 3, h, w, dtype=torch.uint8)
        for k in range(k_max):
            rows = np.flatnonzero(plan.columns > k)
            if len(rows) == 0:
                continue
            refs = plan.refs[rows, k] if guided else None
            grid[rows, k] = self.translate(method, plan.rows[rows], refs, seed if guided else seed + k)

        ref_targets = plan.pair_refs
        if plan.ref_sampling == "grid":
            ref_block = grid[: plan.ref_inputs, : plan.refs_per_input].reshape(-1, 3, h, w)
            ref_note = self.scale_note("inputs×refs", (plan.ref_inputs, plan.refs_per_input), (200, 10))
        else:
            ref_block = self.translate(method, plan.pair_rows, ref_targets if guided else None, seed)
            ref_note = self.scale_note("pairs/refs", (len(plan.pair_rows), plan.refs_per_input), (200, 10), "/")
        real = to_tensor(self.test_b)
        values.update(self._fid(unit(ref_block), real, ref_note + ("" if guided else "; seeds, no exemplar")))
        if guided:
            values[Column("lpips_ref", T)] = self._noted(
                self.metrics["lpips_ref"](unit(ref_block), real[ref_targets]), ref_note)
        div_groups = unit(grid[: plan.diversity_inputs, : plan.diversity_outputs])
        div_note = self.scale_note("inputs×outputs", (plan.diversity_inputs, plan.diversity_outputs), (100, 20))
        values[Column("lpips_div", T)] = self._noted(self.metrics["lpips_div"](div_groups),
                                               div_note + ("" if guided else "; seeds, no exemplar"))
        values.update(self._both_versions(div_groups, values[Column("lpips_div", T)], div_note))
        if guided and len(plan.similar_rows):
            sim = torch.stack([self.translate(method, plan.similar_rows, np.full(len(plan.similar_rows), g), seed)
                               for g in plan.similar_group], dim=1)  # [S, G, 3, H, W]
            sim_note = self.scale_note("inputs×similar refs", (len(plan.similar_rows),
                                                                       len(plan.similar_group)), (200, 20))
            sim_note += "; similar refs picked automatically"
            sim_refs = real[plan.similar_group].unsqueeze(0).expand(len(plan.similar_rows), -1, -1, -1, -1)
            values[Column("lpips_ref_similar", T)] = self._noted(
                self._rename(self.metrics["lpips_ref"](unit(sim.reshape(-1, 3, h, w)), sim_refs.reshape(-1, 3, h, w)),
                             "lpips_ref_similar"), sim_note)
            values[Column("lpips_div_similar", T)] = self._noted(
                self._rename(self.metrics["lpips_div"](unit(sim)), "lpips_div_similar"), sim_note)

        gt_idx = plan.gt_inputs
        gt_out = self.translate(method, gt_idx, gt_idx if takes_exemplar else None, seed)
        gt_note = self.scale_note("test pairs", (len(gt_idx),), (200,))
        values[Column("lpips_gt", T)] = self._noted(self.metrics["lpips_gt"](unit(gt_out), real[gt_idx]),
                                              gt_note + ("" if takes_exemplar else "; no exemplar"))

        if self.exact:
            truth = torch.from_numpy(self.data.val.exact_translation(plan.pair_rows, ref_targets)).permute(0, 3, 1, 2)
            exact_note = ref_note + ("" if guided else "; outputs from seeds, truth from the planned references")
            scores = exact_scores(self.metrics, unit(ref_block), unit(truth),
                                  part_maps(self.data.val, plan.pair_rows), self._rename)
            values.update({Column(name, T): self._noted(v, exact_note) for name, v in scores.items()})

        samples = {"AB": unit(grid[: self.grid_rows, 0])}
        return EvalResult(values=values, samples=samples)

    def _fid(self, outputs: torch.Tensor, real: torch.Tensor, note: str) -> dict[Column, MetricValue]:
        """FID (and companions) of the LPIPS(ref) ``outputs`` [P,3,H,W] under ``fid.reference``."""
        assert self.plan is not None
        if self.fid_reference == "exemplar_pool":
            fid = self.metrics["fid"](outputs, real)
            note += "; fid.reference=exemplar_pool: every output vs all test photos, its exemplars among them"
        else:
            reals = self.plan.fid_real(len(real))
            fid = self.metrics["fid"](outputs[self.plan.fid_pairs], real[reals])
            note += f"; one output per input vs the {len(reals)} test photos that are no exemplar of them"
        return {Column(v.name, T): self._noted(v, note) for v in [fid, *companions(fid)]}

    def _both_versions(self, groups: torch.Tensor, configured: MetricValue, note: str) -> dict[Column, MetricValue]:
        """``lpips_div_v00`` and ``lpips_div_v01`` of ``groups`` [N,K,3,H,W]: ``configured`` (the ``lpips_div``
        value) under its version, the other version computed; none when ``lpips.both_versions`` is off."""
        metric = self.metrics.get("lpips_div_other")
        if metric is None:
            return {}
        version = str(self.settings_cfg.get("lpips", {}).get("version", "0.0"))
        out = {}
        same = copy.deepcopy(configured)
        same.warnings = [w for w in same.warnings if w != note.lstrip("; ")]  # the note comes back with the version
        for v, value in ((version, same), (OTHER_VERSION[version], metric(groups))):
            name = "lpips_div_v" + v.replace(".", "")
            out[Column(name, T)] = self._noted(self._rename(value, name), note + f"; LPIPS v{v}")
        return out

    def reference_results(self) -> dict[str, EvalResult]:
        """``real_data``: LPIPS diversity of random pairs of real test photos, in both LPIPS versions: row r of the
        diversity plan's references, consecutive pairs (distinct photos, never the input's own), as the methods'
        ``lpips_div``. The paper's real-data row (0.301 / 0.423) tells which version it used. On ``edges2objects`` also
        ``geometry_oracle``: the exact-ground-truth columns of the exact geometry in one fixed style (``exact.py``)."""
        assert self.plan is not None, "call prepare() first"
        plan = self.plan
        groups = to_tensor(self.test_b)[plan.refs[: plan.diversity_inputs, : plan.diversity_outputs]]
        note = self.scale_note("photos×pairs", (plan.diversity_inputs, plan.diversity_outputs - 1), (100, 19))
        note += "; random pairs of real test photos, measured here (no method)"
        values = {Column("lpips_div", T): self._noted(self.metrics["lpips_div"](groups), note)}
        values.update(self._both_versions(groups, values[Column("lpips_div", T)], note))
        rows = {"real_data": EvalResult(values=values)}
        if self.exact:  # the style-ignoring output the exact columns must not reward (issue 13, Fidelity 2)
            truth = torch.from_numpy(self.data.val.exact_translation(plan.pair_rows, plan.pair_refs))
            oracle = geometry_oracle(self.data.val, self.data.train, plan.pair_rows)
            scores = exact_scores(self.metrics, unit(oracle), unit(truth.permute(0, 3, 1, 2)),
                                  part_maps(self.data.val, plan.pair_rows), self._rename)
            note = f"the LPIPS(ref) pairs' input geometry rendered exactly in {FIXED_STYLE}; the reference ignored"
            rows["geometry_oracle"] = EvalResult(values={Column(n, T): self._noted(v, note) for n, v in scores.items()})
        return rows

    @staticmethod
    def _noted(value: MetricValue, note: str) -> MetricValue:
        if note and note not in value.warnings:
            value.warnings.insert(0, note.lstrip("; "))
        return value

    @staticmethod
    def _rename(value: MetricValue, name: str) -> MetricValue:
        value.name = name
        return value

    # -- reporting ------------------------------------------------------------------------------------------------
    def reported(self) -> list[ReportedRow]:
        source = self.provenance.source if self.provenance else ""
        caveat = "" if source == self.dataset else f"real {self.dataset}; not comparable with rows on {source}"
        return reported_rows(self.dataset, caveat)

    def write_figures(self, samples: dict[str, dict[str, torch.Tensor]], out_dir: Path) -> list[Path]:
        if self.plan is None:
            return []
        k = min(self.grid_rows, len(self.plan.rows))
        rows, refs = self.plan.rows[:k], self.plan.refs[:k, 0]
        content, exemplar = to_tensor(self.test_a[rows]), to_tensor(self.test_b[refs])
        truth = (to_tensor(self.data.val.exact_translation(rows, refs)) if self.exact else None)
        outputs = {m: s["AB"][:k] for m, s in samples.items() if "AB" in s}
        path = out_dir / "grid.png"
        label = f"{self.name} on {self.data.source}" + (" (exact ground truth)" if self.exact else "")
        qualitative_grid({"edges→photo": (content, exemplar, truth, outputs)}, path, title=label)
        return [path]


PAPER = PAPER_COUNTS  # re-exported for the protocol tests
