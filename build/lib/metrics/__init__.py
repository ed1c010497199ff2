"""Metric registry: ``create_metric("ssim", **settings)``."""

from __future__ import annotations

from typing import Any

from core.registry import Registry
from metrics.base import Metric, MetricValue, PairedMetric

METRICS: Registry[type[Metric]] = Registry("metric", package="metrics", attribute="name")


def create_metric(name: str, **settings: Any) -> Metric:
    return METRICS.get(name)(**settings)


__all__ = ["METRICS", "Metric", "MetricValue", "PairedMetric", "create_metric"]
