from __future__ import annotations

import pytest

from core.errors import BenchError
from core.registry import Registry, UnknownNameError
from methods import METHODS
from metrics import METRICS
from protocols import PROTOCOLS


def test_register_get_and_names() -> None:
    reg: Registry[type] = Registry("widget")

    @reg.register("b")
    class B: ...

    @reg.register("a")
    class A: ...

    assert reg.get("a") is A and A.registry_name == "a"
    assert reg.names() == ["a", "b"]
    assert "b" in reg and "c" not in reg


def test_unknown_name_lists_valid_names() -> None:
    reg: Registry[type] = Registry("widget")
    reg.register("alpha")(type("Alpha", (), {}))
    with pytest.raises(UnknownNameError, match=r"unknown widget 'beta'; valid widgets: alpha"):
        reg.get("beta")


def test_registering_two_objects_under_one_name_fails() -> None:
    reg: Registry[type] = Registry("widget")
    reg.register("x")(type("X1", (), {}))
    with pytest.raises(BenchError, match="registered twice"):
        reg.register("x")(type("X2", (), {}))


def test_discovery_finds_the_shipped_entries() -> None:
    assert {"input_copy", "exemplar_copy", "colour_transfer"} <= set(METHODS.names())
    assert "mnist_single" in PROTOCOLS.names()
    assert {"ssim", "psnr"} <= set(METRICS.names())


def test_the_decorator_names_the_class_once() -> None:
    reg: Registry[type] = Registry("widget", attribute="name")

    @reg.register("gizmo")
    class Gizmo: ...

    assert Gizmo.name == "gizmo"  # type: ignore[attr-defined]
    with pytest.raises(BenchError, match="sets 'name' itself"):
        @reg.register("sprocket")
        class Sprocket:
            name = "sprocket"
