"""Protocol registry: one sub-package per paper protocol."""

from __future__ import annotations

from core.registry import Registry
from protocols.base import DataProvenance, EvalResult, Offers, Protocol, ReportedRow

PROTOCOLS: Registry[type[Protocol]] = Registry("protocol", package="protocols", attribute="name")

__all__ = ["PROTOCOLS", "DataProvenance", "EvalResult", "Offers", "Protocol", "ReportedRow"]
