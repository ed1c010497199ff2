"""Dataset sources. A source turns a config (``data.root``, ``data.source``) into arrays plus provenance."""

from __future__ import annotations

from core.registry import Registry

DATA_SOURCES: Registry = Registry("data source", package="datasets")

__all__ = ["DATA_SOURCES"]
