"""Protocol interface: a paper's evaluation, encoded exactly.

A protocol builds its data (recording the source and a content fingerprint), offers training data to methods,
refuses methods whose declared capabilities it cannot serve, evaluates a trained method, and lists the rows the
paper reported so that they can be printed beside ours (labelled as reported). A protocol with exact ground truth
also supplies an oracle (``oracle()``) and names the columns scored against that truth (``exact_metrics``), so that
the contract test can check that a perfect translation gets the best score there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from core.columns import Column
from core.errors import BenchError
from core.hashing import settings_hash
from datasets.base import TrainData
from methods.base import Capabilities, FitContext, Method
from metrics.base import MetricValue


@dataclass(frozen=True)
class Offers:
    """What a protocol can give a method; compared against ``Method.capabilities``."""

    training: frozenset[str]
    label_maps: bool = False
    exemplar_labels: bool = False
    target_image: bool = False  # the image behind the target layout (``translate(..., target_image=)``)
    directions: Literal["both", "AB"] = "both"

    def refusal(self, caps: Capabilities) -> str | None:
        """The reason this protocol cannot evaluate a method with ``caps``, or None if it can."""
        if caps.training != "none" and caps.training not in self.training:
            offered = " or ".join(sorted(self.training)) or "no training data"
            return f"needs {caps.training} training data; this protocol offers {offered}"
        if caps.needs_label_maps and not self.label_maps:
            return "needs semantic label maps for its inputs; this protocol has none"
        if caps.needs_exemplar_labels and not self.exemplar_labels:
            return "needs the exemplar's label map; this protocol has none"
        if caps.needs_target_image and not self.target_image:
            return "needs the image behind the target layout; this protocol has none"
        if self.directions == "both" and caps.directions != "both":
            return "translates A→B only; this protocol evaluates both A→B and B→A"
        return None


@dataclass
class DataProvenance:
    """Where the data came from: a source name (e.g. ``mnist``, ``digits``, ``mnist-train-rebuilt``), a content
    fingerprint of what was built, and the files read with their sha256. ``stand_in``: for data that only stands
    in for the protocol's real dataset, a few words saying so (e.g. ``procedural stand-in, NOT ade20k``), printed
    in the table header beside the source; empty for the real data."""

    source: str
    fingerprint: str
    files: dict[str, str] = field(default_factory=dict)
    description: str = ""
    stand_in: str = ""


@dataclass
class EvalResult:
    """Metric values keyed by their column (e.g. ``Column("ssim", "A→B")``, equal to ``("ssim", "A→B")``), each
    carrying the settings and hash it was computed under (``metrics.base.describe``), plus a few outputs for the
    figures."""

    values: dict[Column, MetricValue]
    samples: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class ReportedRow:
    """A number published in a paper, never computed by us."""

    method: str
    metric: str
    translation: str
    value: float
    std: float | None
    source: str  # e.g. "EGSC-IT (ICLR 2019) Table 2"


@dataclass(frozen=True)
class Workspace:
    """Where a protocol keeps what it trains or caches itself (e.g. ``gta2bdd``'s segmenters), set by the runner
    as ``Protocol.workspace`` before any method runs; None outside a run (tests), where such a protocol keeps
    nothing on disk. ``tracker`` (a ``bench.tracking.Tracker``, None when tracking is off) and ``run_id`` (the run's
    MLflow id) let it open child runs of its own."""

    results: Path
    checkpoints: Path
    device: str = "cpu"
    progress: bool = True
    tracker: Any = None
    run_id: str = ""


class Protocol(ABC):
    name: ClassVar[str]  # set by ``@PROTOCOLS.register(name)``
    offers: ClassVar[Offers]
    paper: ClassVar[str] = ""
    # Metric names of the columns scored against exact ground truth: there ``oracle()`` scores the metric's ``best``
    exact_metrics: ClassVar[tuple[str, ...]] = ()
    # The one column (a ``columns()`` label) that stands for the protocol in the cross-protocol matrix (``bench report
    # matrix=true``): the paper's headline measure. Not a setting: it changes no number and is not in the hash.
    primary: ClassVar[str] = ""
    # Single-image methods (contract §1): the runner hands its FitContext here instead of calling ``fit``; a
    # protocol that offers ``single_image`` fits per test case, each in a folder under ``fit_context.workdir``
    fit_context: FitContext | None = None

    def __init__(self, settings: dict[str, Any], data: dict[str, Any], scale: dict[str, Any], seed: int = 0,
                 allow_uncalibrated: bool = False) -> None:
        self.settings_cfg = dict(settings)
        self.data_cfg = dict(data)
        self.scale_cfg = dict(scale)
        self.seed = seed
        self.allow_uncalibrated = allow_uncalibrated
        self.provenance: DataProvenance | None = None
        self.workspace: Workspace | None = None  # set by the runner (see ``Workspace``)
        # The runner's key of the method being trained or evaluated (row label + method config key, + ``@<step>``
        # for an intermediate evaluation): a protocol that trains per method row keys its checkpoints by it.
        self.run_key = ""

    @property
    def metric_seed(self) -> int:
        """Seed of the metrics' own randomness: KID subsets, SWD projections, and the random stand-in weights under
        ``allow_uncalibrated`` (``protocol.metric_seed``, default 0). Not the run's seed: a metric is one function
        for every training seed, so runs that differ only in seed share a protocol hash and aggregate (with the run
        seed, an uncalibrated LPIPS drew other random weights per seed and each seed became a setting of its own)."""
        return self.setting("metric_seed", 0, int, minimum=0, option="+protocol.metric_seed")

    def setting(self, key: str, default: Any, kind: type[int] | type[float], minimum: float | None = None,
                option: str | None = None) -> Any:
        """``protocol.<key>`` as ``kind`` (int or float), ``default`` when unset. Raises ``BenchError`` naming the
        key, the value and the fix when it is not a number of that kind or is below ``minimum``; ``option`` is how
        the fix spells the key (``+protocol.<key>`` for one that the protocol's config file does not list)."""
        raw = self.settings_cfg.get(key, default)
        name = option or f"protocol.{key}"
        try:
            if isinstance(raw, bool) or (kind is int and isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            value = kind(raw)
        except (TypeError, ValueError):
            raise BenchError(f"{name}={raw!r} is not {'an integer' if kind is int else 'a number'}",
                             hint=f"{name}=<{kind.__name__}> (default {default})") from None
        if minimum is not None and value < minimum:
            raise BenchError(f"{name}={raw!r} is below its minimum {minimum}",
                             hint=f"{name}=<{kind.__name__} ≥ {minimum}> (default {default})")
        return value

    # -- description (``bench list``) -------------------------------------------------------------------------
    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {"paper": cls.paper, "data_sources": cls.data_sources(), "metrics": cls.metric_names()}

    @classmethod
    @abstractmethod
    def data_sources(cls) -> list[str]:
        ...

    @classmethod
    @abstractmethod
    def columns(cls) -> list[Column]:
        """Every column ``evaluate`` may return, in table order."""

    @classmethod
    def metric_names(cls) -> list[str]:
        """The columns' labels, e.g. ``["ssim A→B", "ssim B→A"]``."""
        return [column.label for column in cls.columns()]

    @classmethod
    def primary_column(cls) -> Column:
        """``primary`` as a column; ValueError when it is not one of ``columns()`` (a protocol must declare it)."""
        column = Column.parse(cls.primary)
        if column not in cls.columns():
            raise ValueError(f"protocol {cls.name}: primary {cls.primary!r} is not one of {cls.metric_names()}")
        return column

    @classmethod
    def refusal(cls, method_cls: type[Method]) -> str | None:
        return cls.offers.refusal(method_cls.capabilities)

    # -- lifecycle ------------------------------------------------------------------------------------------------
    @abstractmethod
    def prepare(self) -> DataProvenance:
        """Load or build the data; must set and return ``self.provenance``."""

    @abstractmethod
    def train_data(self) -> TrainData:
        ...

    @abstractmethod
    def evaluate(self, method: Method) -> EvalResult:
        ...

    def oracle(self) -> Method | None:
        """After ``prepare()``: a method whose ``translate`` returns the exact ground truth of every translation
        ``evaluate`` asks for (see ``protocols.kit.GroundTruthOracle``), or None when the data has no exact ground
        truth. A test instrument: it may hold the test split's truths in memory."""
        return None

    def method_settings(self) -> dict[str, Any]:
        """After ``prepare()``: facts of the data every method that declares the parameter must use (e.g.
        ``{"input_nc": 151, "label_nc": 151, "dataset": "ade20k"}``). The runner sets each key the method declares
        in its ``defaults`` over every preset and override; ``dataset`` also selects the method config's
        ``datasets.<dataset>`` overlay. Default: ``data_free_method_settings()``."""
        return self.data_free_method_settings()

    @classmethod
    def data_free_method_settings(cls) -> dict[str, Any]:
        """The part of ``method_settings()`` known before any data is read (e.g. ``{"dataset": "ade20k"}``): what
        ``bench run`` and ``bench matrix`` check a method's parameters under before they build data, so that a
        method with no recipe for this protocol is refused up front (``NoRecipeError``). Default: none."""
        return {}

    def reported(self) -> list[ReportedRow]:
        return []

    def reference_results(self) -> dict[str, EvalResult]:
        """After ``prepare()``: rows measured on the data itself, not on a method (e.g. ``real_data``: the LPIPS
        diversity of random real pairs), keyed by row label. They are ours (this protocol's hash), not reported."""
        return {}

    def write_figures(self, samples: dict[str, dict[str, torch.Tensor]], out_dir: Path) -> list[Path]:
        """Qualitative figures from ``{method: samples}``; returns the files written."""
        return []

    # -- provenance ---------------------------------------------------------------------------------------------
    @property
    def calibrated(self) -> bool:
        """False if any metric runs with weights other than its published ones."""
        return True

    def settings(self) -> dict[str, Any]:
        """Everything that determines the numbers: protocol settings, sample counts, metric settings and data.

        The training seed is deliberately not part of it: runs that differ only in seed share a protocol hash, so
        reports can aggregate over seeds (the seed is its own column and tag)."""
        if self.provenance is None:
            raise RuntimeError("call prepare() before settings()")
        return {
            "protocol": self.name,
            # metric_seed=0 is the default: given or not, one setting (its hash from before the key existed)
            "settings": {k: v for k, v in self.settings_cfg.items() if not (k == "metric_seed" and v == 0)},
            "samples": self.sample_counts(),
            "metrics": self.metric_settings(),
            "data_source": self.provenance.source,
            "data_fingerprint": self.provenance.fingerprint,
        }

    def sample_counts(self) -> dict[str, int]:
        return {}

    def metric_settings(self) -> dict[str, Any]:
        return {}

    def protocol_hash(self) -> str:
        return settings_hash(self.settings())
