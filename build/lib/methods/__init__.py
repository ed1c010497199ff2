"""Method registry. Each method lives in its own sub-package and registers itself with ``@METHODS.register``."""

from __future__ import annotations

from typing import Any

from core.registry import Registry
from methods.base import Capabilities, FitContext, Method

METHODS: Registry[type[Method]] = Registry("method", package="methods")


def create_method(name: str, **params: Any) -> Method:
    """Build a registered method from its parameters (timm's ``create_model``)."""
    return METHODS.get(name)(**params)


def list_methods() -> list[str]:
    return METHODS.names()


__all__ = ["METHODS", "Capabilities", "FitContext", "Method", "create_method", "list_methods"]
