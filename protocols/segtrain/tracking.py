"""How the segmenter-training kit logs its curves: a ``log(step, values)`` callback or an MLflow child run
(``SegTracking``); see ``protocols.segmentation_training``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class TrackerLike(Protocol):
    """What ``SegTracking`` needs of ``bench.tracking.Tracker``."""

    def start(self, name: str, tags: dict[str, str], parent_id: str | None = None) -> str: ...
    def log_params(self, run_id: str, params: dict[str, Any]) -> None: ...
    def log_metrics(self, run_id: str, values: dict[str, float], step: int = 0) -> None: ...
    def finish(self, run_id: str, status: str = "FINISHED") -> None: ...


@dataclass
class SegTracking:
    """Log a segmenter's training into an MLflow child run of ``parent_id``."""

    tracker: TrackerLike
    parent_id: str
    tags: dict[str, str] = field(default_factory=dict)


Tracking = SegTracking | Callable[[int, dict[str, float]], None] | None


@dataclass
class _Log:
    metrics: Callable[[int, dict[str, float]], None]
    finish: Callable[[str], None]


def logger(tracking: Tracking, label: str, config: dict[str, Any]) -> _Log:
    """The ``metrics(step, values)`` / ``finish(status)`` pair for ``tracking`` (no-ops when None)."""
    if tracking is None:
        return _Log(lambda step, values: None, lambda status: None)
    if isinstance(tracking, SegTracking):
        tracker = tracking.tracker
        run = tracker.start(f"segmenter:{label}", {"bench.kind": "segmenter", **tracking.tags}, tracking.parent_id)
        tracker.log_params(run, {"segmenter.arch": config["arch"], "segmenter.seed": config["seed"],
                                 "segmenter.num_classes": config["num_classes"],
                                 **{f"segmenter.{k}": v for k, v in config["schedule"].items()}})
        return _Log(lambda step, values: tracker.log_metrics(run, values, step),
                    lambda status: tracker.finish(run, status))
    callback, prefix = tracking, f"segmenter.{label}."
    return _Log(lambda step, values: callback(step, {prefix + k: v for k, v in values.items()}), lambda status: None)
